//! Stytch B2B organizations and consumer users: `trusted_metadata` is merged at the top level by
//! Stytch (a `null` value deletes a key), so writing `{sanity_access: …}` leaves every other key.

use serde_json::{Map, Value, json};

use serde::Deserialize;

use super::{Current, IdentityProvider, IdpError, NAMESPACE, RuleError, ScanPage, SyncedAccess};
use crate::config::Config;
use crate::http::{self, Deadline, UpstreamError};
use crate::identity::{Target, TargetKind};
use stytch_secret::{ProjectKind, StytchSecret};

pub mod stytch_model;
pub mod stytch_secret;
pub mod stytch_session;

/// The cookie Stytch's frontend SDKs keep the session JWT in.
pub const SESSION_COOKIE: &str = "stytch_session_jwt";

const SERVICE: &str = "stytch";
/// Stytch's documented limits for trusted_metadata.
pub const MAX_KEYS: usize = 20;
pub const MAX_BYTES: usize = 4096;
/// Stytch's largest search page.
const SCAN_PAGE: u32 = 1000;

#[derive(Clone)]
pub struct Stytch {
    http: reqwest::Client,
    base: String,
    secret: StytchSecret,
    request_timeout: std::time::Duration,
}

/// `https://test.stytch.com` for test projects, `https://api.stytch.com` for live ones, unless
/// `STYTCH_BASE_URL` points somewhere else (the local emulator).
pub fn base_url(cfg: &Config, secret: &StytchSecret) -> String {
    cfg.stytch_base_url.clone().unwrap_or_else(|| {
        if secret.environment() == "live" { "https://api.stytch.com".into() } else { "https://test.stytch.com".into() }
    })
}

/// `<prefix>-(test|live)-<uuid>` (crate::ids).
pub fn parse_id<'a>(id: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    crate::ids::stytch(id, prefix)
}

/// Just enough of the namespace to know its owner, even when the rest does not decode.
#[derive(Deserialize)]
struct Owned {
    source: Option<OwnedSource>,
}

#[derive(Deserialize)]
struct OwnedSource {
    #[serde(rename = "documentId")]
    document_id: Option<String>,
}

/// A target's `trusted_metadata` as the sync core sees it: gatehouse's namespace decoded, every
/// other key kept as it is.
pub fn current_of(mut metadata: Map<String, Value>) -> Current {
    let Some(ns) = metadata.remove(NAMESPACE).filter(|v| !v.is_null()) else {
        return Current { others: metadata, ..Current::default() };
    };
    let owner = serde_json::from_value::<Owned>(ns.clone()).ok().and_then(|o| o.source?.document_id).filter(|s| !s.is_empty());
    Current { present: true, owner, access: serde_json::from_value(ns).ok(), others: metadata }
}

impl Stytch {
    pub fn new(http: reqwest::Client, cfg: &Config, secret: StytchSecret) -> Self {
        Stytch { http, base: base_url(cfg, &secret), secret, request_timeout: cfg.timeouts.request }
    }

    pub fn project_id(&self) -> &str {
        &self.secret.project_id
    }

    fn path(&self, target: &Target) -> String {
        match target.kind {
            TargetKind::Organization => format!("{}/v1/b2b/organizations/{}", self.base, target.id),
            TargetKind::User => format!("{}/v1/users/{}", self.base, target.id),
        }
    }

    async fn call(&self, method: reqwest::Method, target: &Target, body: Option<&Value>, deadline: Deadline) -> Result<Value, IdpError> {
        self.call_url(method, &self.path(target), Some(target), body, deadline).await
    }

    /// `target`: what a 404 means (that target is gone); `None` for calls not about one target.
    async fn call_url(&self, method: reqwest::Method, url: &str, target: Option<&Target>, body: Option<&Value>, deadline: Deadline) -> Result<Value, IdpError> {
        let res = http::retry(deadline, |left| {
            let mut req = self
                .http
                .request(method.clone(), url)
                .basic_auth(&self.secret.project_id, Some(&self.secret.secret));
            if let Some(b) = body {
                req = req.json(b);
            }
            http::attempt(SERVICE, req, left.min(self.request_timeout))
        })
        .await;
        match res {
            Ok((_, bytes)) => serde_json::from_slice(&bytes)
                .map_err(|e| IdpError::Upstream(UpstreamError::Decode { service: SERVICE, reason: e.to_string() })),
            Err(e) => Err(match (e.status(), target) {
                (Some(404), Some(t)) => IdpError::TargetNotFound(t.clone()),
                (Some(401) | Some(403), _) => IdpError::Unauthorized,
                (Some(400), _) => IdpError::Rejected(error_message(&e)),
                _ => IdpError::Upstream(e),
            }),
        }
    }
}

/// Stytch's `error_type: error_message` from an error body, for the 422 reason.
fn error_message(e: &UpstreamError) -> String {
    if let UpstreamError::Status { body, .. } = e
        && let Ok(v) = serde_json::from_str::<Value>(body) {
            let t = v["error_type"].as_str().unwrap_or("error");
            let m = v["error_message"].as_str().unwrap_or("");
            return format!("{t}: {m}");
        }
    e.to_string()
}

impl IdentityProvider for Stytch {
    /// Stytch's own search cursor.
    type Cursor = String;
    fn name(&self) -> &'static str {
        "stytch"
    }

    fn serves(&self, kind: TargetKind) -> bool {
        matches!((kind, self.secret.kind), (TargetKind::Organization, ProjectKind::B2b) | (TargetKind::User, ProjectKind::Consumer))
    }

    fn validate_target(&self, target: &Target) -> Result<(), RuleError> {
        let (prefix, needs, field) = match target.kind {
            TargetKind::Organization => ("organization", ProjectKind::B2b, "stytchOrganizationId"),
            TargetKind::User => ("user", ProjectKind::Consumer, "stytchUserId"),
        };
        let (env, _) = parse_id(&target.id, prefix)
            .ok_or_else(|| RuleError(format!("{field} must look like {prefix}-test-<uuid> or {prefix}-live-<uuid>")))?;
        if self.secret.kind != needs {
            let kind = if self.secret.kind == ProjectKind::B2b { "B2B" } else { "consumer" };
            return Err(RuleError(format!("{field} is set but the Stytch project is a {kind} project")));
        }
        if env != self.secret.environment() {
            return Err(RuleError(format!(
                "{field} is a {env} id but the Stytch project is a {} project",
                self.secret.environment()
            )));
        }
        Ok(())
    }

    fn check_fits(&self, current: &Current, access: &SyncedAccess) -> Result<(), RuleError> {
        let mut merged = current.others.clone();
        merged.insert(NAMESPACE.into(), serde_json::to_value(access).unwrap_or(Value::Null));
        if merged.len() > MAX_KEYS {
            return Err(RuleError(format!("trusted_metadata would have {} top-level keys; Stytch allows {MAX_KEYS}", merged.len())));
        }
        let size = serde_json::to_vec(&merged).map(|v| v.len()).unwrap_or(usize::MAX);
        if size > MAX_BYTES {
            return Err(RuleError(format!("trusted_metadata would be {size} bytes; Stytch allows {MAX_BYTES}")));
        }
        Ok(())
    }

    async fn read(&self, target: &Target, deadline: Deadline) -> Result<Current, IdpError> {
        let v = self.call(reqwest::Method::GET, target, None, deadline).await?;
        // B2B wraps the org; the consumer user's fields are at the top level.
        let meta = match target.kind {
            TargetKind::Organization => &v["organization"]["trusted_metadata"],
            TargetKind::User => &v["trusted_metadata"],
        };
        Ok(current_of(meta.as_object().cloned().unwrap_or_else(Map::new)))
    }

    async fn write(&self, target: &Target, access: &SyncedAccess, deadline: Deadline) -> Result<(), IdpError> {
        let body = json!({ "trusted_metadata": { NAMESPACE: access } });
        self.call(reqwest::Method::PUT, target, Some(&body), deadline).await.map(drop)
    }

    async fn clear(&self, target: &Target, deadline: Deadline) -> Result<(), IdpError> {
        let body = json!({ "trusted_metadata": { NAMESPACE: Value::Null } });
        self.call(reqwest::Method::PUT, target, Some(&body), deadline).await.map(drop)
    }

    /// B2B: `organizations/search`; consumer: `users/search`. Both unfiltered (Stytch cannot
    /// filter by metadata), 1000 per page, Stytch's cursor.
    async fn scan(&self, cursor: Option<&String>, deadline: Deadline) -> Result<ScanPage<String>, IdpError> {
        let (path, list, id_field, kind) = match self.secret.kind {
            ProjectKind::B2b => ("/v1/b2b/organizations/search", "organizations", "organization_id", TargetKind::Organization),
            ProjectKind::Consumer => ("/v1/users/search", "results", "user_id", TargetKind::User),
        };
        let mut body = json!({ "limit": SCAN_PAGE });
        if let Some(c) = cursor {
            body["cursor"] = c.as_str().into();
        }
        let v = self.call_url(reqwest::Method::POST, &format!("{}{path}", self.base), None, Some(&body), deadline).await?;
        let decode = |reason: &str| IdpError::Upstream(UpstreamError::Decode { service: SERVICE, reason: reason.into() });
        let items = v[list].as_array().ok_or_else(|| decode("search answer has no result list"))?;
        let mut targets = Vec::with_capacity(items.len());
        for item in items {
            let id = item[id_field].as_str().ok_or_else(|| decode("search result without an id"))?;
            let meta = item["trusted_metadata"].as_object().cloned().unwrap_or_default();
            targets.push((Target { kind, id: id.to_string() }, current_of(meta)));
        }
        let next_cursor = v["results_metadata"]["next_cursor"].as_str().filter(|c| !c.is_empty()).map(String::from);
        Ok(ScanPage { targets, next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn owner_comes_only_from_source_document_id() {
        let c = current_of(
            json!({"sanity_access": {"source": {"documentId": "rule-1", "rev": "r"}}, "billing": 1}).as_object().unwrap().clone(),
        );
        assert_eq!(c.owner.as_deref(), Some("rule-1"));
        assert_eq!(c.others.len(), 1);
        let c = current_of(json!({"sanity_access": {"plan": "x"}}).as_object().unwrap().clone());
        assert_eq!(c.owner.as_deref(), None);
        assert!(c.present && c.access.is_none());
        let c = current_of(json!({"sanity_access": null}).as_object().unwrap().clone());
        assert!(!c.present);
    }


    #[test]
    fn ids_must_be_prefix_env_uuid() {
        assert_eq!(
            parse_id("organization-test-07971b06-ac8b-4cdb-9c15-63b17e653931", "organization"),
            Some(("test", "07971b06-ac8b-4cdb-9c15-63b17e653931"))
        );
        assert!(parse_id("user-live-07971b06-ac8b-4cdb-9c15-63b17e653931", "user").is_some());
        for bad in [
            "organization-test-07971b06-ac8b-4cdb-9c15-63b17e65393",
            "organization-prod-07971b06-ac8b-4cdb-9c15-63b17e653931",
            "organization-test-07971B06-ac8b-4cdb-9c15-63b17e653931",
            "organization-test-07971b06-ac8b-4cdb-9c15-63b17e653931/../x",
            "user-test-07971b06-ac8b-4cdb-9c15-63b17e653931",
            "",
        ] {
            assert!(parse_id(bad, "organization").is_none(), "{bad}");
        }
    }
}
