//! The Descope emulator: tenants, users, roles, sessions, faults, call counters.

use serde_json::{Value, json};

use super::*;

impl Stack {
    /// A Descope management call (`Authorization: Bearer <project>:<management key>`).
    pub async fn descope(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.var("DESCOPE_URL")))
            .bearer_auth(format!("{}:{}", self.var("DESCOPE_PROJECT"), self.var("DESCOPE_MANAGEMENT_KEY")));
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    async fn descope_ok(&self, path: &str, body: Value) -> Value {
        let r = self.descope(reqwest::Method::POST, path, Some(body)).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        r.body
    }

    /// A tenant with a name and a self-provisioning domain (returns its id).
    pub async fn create_tenant(&self) -> String {
        let n = uid();
        let r = self.descope_ok("/v1/mgmt/tenant/create", json!({"name": format!("Tenant {n}"), "selfProvisioningDomains": [format!("t{n}.example")]})).await;
        r["id"].as_str().unwrap().to_string()
    }

    /// A user with a login id (returned) and project-level roles granted by hand.
    pub async fn create_descope_user(&self, roles: &[&str]) -> String {
        let login = format!("u{}@example.com", uid());
        self.descope_ok("/v1/mgmt/user/create", json!({"loginId": login, "email": login, "roleNames": roles})).await;
        login
    }

    pub async fn descope_user(&self, login: &str) -> Value {
        let r = self.descope(reqwest::Method::GET, &format!("/v1/mgmt/user?loginId={}", login.replace('@', "%40")), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["user"].clone()
    }

    pub async fn descope_tenant(&self, id: &str) -> Value {
        let r = self.descope(reqwest::Method::GET, &format!("/v1/mgmt/tenant?id={id}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    /// Grants roles by hand (in a tenant when given), as an administrator would in the console.
    pub async fn descope_grant(&self, login: &str, roles: &[&str], tenant: Option<&str>) {
        let mut b = json!({"loginId": login, "roleNames": roles});
        if let Some(t) = tenant {
            self.descope_ok("/v1/mgmt/user/update/tenant/add", json!({"loginId": login, "tenantId": t})).await;
            b["tenantId"] = t.into();
        }
        self.descope_ok("/v2/mgmt/user/update/role/add", b).await;
    }

    /// A Descope session (or, with `"refresh": true`, also a refresh token) from the emulator.
    pub async fn descope_mint(&self, body: Value) -> Value {
        let r = self.send(self.http.post(format!("{}/__gatehouse/sessions", self.var("DESCOPE_URL"))).json(&body)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    pub async fn descope_fault(&self, method: &str, path: &str, fault: Value, count: u32) {
        let mut body = json!({"method": method, "path": path, "count": count});
        body.as_object_mut().unwrap().extend(fault.as_object().unwrap().clone());
        let r = self.send(self.http.post(format!("{}/__gatehouse/faults", self.var("DESCOPE_URL"))).json(&body)).await;
        assert!(r.status < 300, "{}", r.body);
    }

    /// Removes the faults on one method + path scoped to `needle` (the `match` they were added
    /// with: a test's own login id), so other tests' faults on the same path stay.
    pub async fn clear_descope_fault(&self, method: &str, path: &str, needle: &str) {
        let body = json!({"method": method, "path": path, "match": needle});
        let r = self.send(self.http.delete(format!("{}/__gatehouse/faults", self.var("DESCOPE_URL"))).json(&body)).await;
        assert!(r.status < 300, "{}", r.body);
    }

    pub async fn descope_calls(&self, method: &str, path: &str) -> u64 {
        calls(&self.send(self.http.get(format!("{}/__gatehouse/calls", self.var("DESCOPE_URL")))).await.body, method, path)
    }
}
