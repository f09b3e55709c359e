//! The Stytch emulator: organizations, members, users, sessions, faults, call counters.

use serde_json::{Value, json};

use super::*;

/// A B2B organization's management API path (the one its reads, writes and faults name).
pub fn org_path(org: &str) -> String {
    format!("/v1/b2b/organizations/{org}")
}

impl Stack {
    /// A management call to the Stytch project of `d` (B2b or Consumer).
    fn stytch(&self, method: reqwest::Method, path: &str, d: Deployment) -> reqwest::RequestBuilder {
        let project = match d {
            Deployment::B2b => self.var("B2B_PROJECT"),
            Deployment::Consumer => self.var("CONSUMER_PROJECT"),
            Deployment::Descope => panic!("the Descope deployment has no Stytch project"),
        };
        self.http
            .request(method, format!("{}{path}", self.var("STYTCH_URL")))
            .basic_auth(project, Some(self.var("STYTCH_SECRET")))
    }

    pub async fn create_org(&self, trusted_metadata: Value) -> String {
        let n = uid();
        let r = self
            .send(self.stytch(reqwest::Method::POST, "/v1/b2b/organizations", Deployment::B2b).json(&json!({
                "organization_name": format!("Org {n}"), "organization_slug": format!("org-{n}"),
                "trusted_metadata": trusted_metadata
            })))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["organization"]["organization_id"].as_str().unwrap().to_string()
    }

    pub async fn create_member(&self, org: &str, roles: &[&str]) -> String {
        let r = self
            .send(self.stytch(reqwest::Method::POST, &format!("{}/members", org_path(org)), Deployment::B2b).json(&json!({
                "email_address": format!("m{}@example.com", uid()), "roles": roles
            })))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["member"]["member_id"].as_str().unwrap().to_string()
    }

    pub async fn create_user(&self) -> String {
        let r = self
            .send(self.stytch(reqwest::Method::POST, "/v1/users", Deployment::Consumer).json(&json!({"email": format!("u{}@example.com", uid())})))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["user_id"].as_str().unwrap().to_string()
    }

    pub async fn delete_org(&self, org: &str) {
        let r = self.send(self.stytch(reqwest::Method::DELETE, &org_path(org), Deployment::B2b)).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    /// The organization's trusted_metadata.
    pub async fn org_metadata(&self, org: &str) -> Value {
        let r = self.send(self.stytch(reqwest::Method::GET, &org_path(org), Deployment::B2b)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["organization"]["trusted_metadata"].clone()
    }

    pub async fn set_org_metadata(&self, org: &str, metadata: Value) {
        let r = self
            .send(self.stytch(reqwest::Method::PUT, &org_path(org), Deployment::B2b).json(&json!({"trusted_metadata": metadata})))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    pub async fn user_metadata(&self, user: &str) -> Value {
        let r = self.send(self.stytch(reqwest::Method::GET, &format!("/v1/users/{user}"), Deployment::Consumer)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["trusted_metadata"].clone()
    }

    /// Calls the Stytch emulator has served for `method path`.
    pub async fn stytch_calls(&self, method: &str, path: &str) -> u64 {
        calls(&self.send(self.http.get(format!("{}/__gatehouse/calls", self.var("STYTCH_URL")))).await.body, method, path)
    }

    pub async fn org_writes(&self, org: &str) -> u64 {
        self.stytch_calls("PUT", &org_path(org)).await
    }

    pub async fn stytch_fault(&self, method: &str, path: &str, fault: Value, count: u32) {
        let mut body = json!({"method": method, "path": path, "count": count});
        body.as_object_mut().unwrap().extend(fault.as_object().unwrap().clone());
        let r = self.send(self.http.post(format!("{}/__gatehouse/faults", self.var("STYTCH_URL"))).json(&body)).await;
        assert!(r.status < 300, "{}", r.body);
    }

    /// Removes the faults on one method + path (other tests' faults stay).
    pub async fn clear_stytch_fault(&self, method: &str, path: &str) {
        let r = self
            .send(self.http.delete(format!("{}/__gatehouse/faults", self.var("STYTCH_URL"))).json(&json!({"method": method, "path": path})))
            .await;
        assert!(r.status < 300, "{}", r.body);
    }

    /// A session JWT minted by the emulator (B2B: org + member; consumer: user).
    pub async fn mint(&self, body: Value) -> String {
        let r = self.send(self.http.post(format!("{}/__gatehouse/sessions", self.var("STYTCH_URL"))).json(&body)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["session_jwt"].as_str().unwrap().to_string()
    }

    /// Writes (PUT) the Stytch emulator has served on any organization or user so far.
    pub async fn stytch_writes(&self) -> u64 {
        let r = self.send(self.http.get(format!("{}/__gatehouse/calls", self.var("STYTCH_URL")))).await;
        r.body["calls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["method"] == "PUT")
            .filter(|c| c["path"].as_str().is_some_and(|p| p.starts_with("/v1/b2b/organizations/") || p.starts_with("/v1/users/")))
            .map(|c| c["count"].as_u64().unwrap())
            .sum()
    }
}

/// A rate limit on the Stytch emulator's management API (per project, fixed windows) until the
/// guard drops, even if the test panics. Only under `exclusive()`: every test's calls count.
pub struct StytchRateLimit {
    stytch: String,
}

impl Stack {
    pub async fn stytch_rate_limit(&self, requests: u32, per_ms: u64) -> StytchRateLimit {
        let url = format!("{}/__gatehouse/rate_limit", self.var("STYTCH_URL"));
        let r = self.send(self.http.post(url).json(&json!({"requests": requests, "per_ms": per_ms}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        StytchRateLimit { stytch: self.var("STYTCH_URL").to_string() }
    }

    /// `{requests, per_ms, allowed, limited}` of the active limit.
    pub async fn stytch_rate_limit_stats(&self) -> Value {
        self.send(self.http.get(format!("{}/__gatehouse/rate_limit", self.var("STYTCH_URL")))).await.body
    }
}

impl Drop for StytchRateLimit {
    fn drop(&mut self) {
        // Drop cannot await: remove it from a thread with its own runtime.
        let url = format!("{}/__gatehouse/rate_limit", self.stytch);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async { reqwest::Client::new().delete(url).send().await.map(|r| r.status().is_success()) })
        })
        .join()
        .map(|r| assert!(matches!(r, Ok(true)), "removing the Stytch rate limit failed"))
        .expect("removing the Stytch rate limit panicked");
    }
}
