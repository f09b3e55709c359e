//! Descope management API client: users (custom attributes, roles, tenant membership), tenants,
//! user search. Every call goes through `http::retry` inside the caller's `Deadline`, so a 429
//! (`Retry-After` honoured) or a 5xx is retried while time is left.
//!
//! Descope's HTTP statuses are not documented; its error body `{errorCode, errorDescription,
//! errorMessage}` is, so errors are classified by `errorCode` (docs/descope.md):
//!
//! | errorCode / answer                             | IdpError                                        |
//! |------------------------------------------------|-------------------------------------------------|
//! | `E112102` (mgmt), `E062108` (auth): user not found | `TargetNotFound(user)`                       |
//! | `E011003` "Tenant '…' not found" on a tenant call | `TargetNotFound(tenant)`                      |
//! | `E130429` (any status; retried first)          | `Upstream(Status { status: 429, retry_after })` |
//! | HTTP 401/403 (Descope: `E011003`, bad key)     | `Unauthorized`                                  |
//! | `E011003` undefined custom attribute           | `Rejected("custom attribute `k` is not defined…")` |
//! | any other 4xx                                  | `Rejected("{errorCode} {errorDescription}: {errorMessage}")` |
//! | 5xx, timeouts, connection errors               | `Upstream(…)`                                   |
//!
//! The management key travels only in the `Authorization` header: never in a URL, an error or
//! a log line.

use std::time::Duration;

use serde_json::{Value, json};

use super::IdpError;
use crate::identity::{Target, TargetKind};

pub mod descope_model;
pub mod descope_records;
pub mod descope_secret;
pub mod descope_session;

/// Descope's web SDKs keep the session JWT in the `DS` cookie.
pub const SESSION_COOKIE: &str = "DS";
use crate::http::{self, Deadline, UpstreamError};
use descope_records::{DescopeTenant, DescopeUser, SyncRecord};
use descope_secret::DescopeSecret;

const SERVICE: &str = "descope";
/// The one user/tenant custom attribute holding gatehouse's ownership record (type text).
pub const SYNC_ATTR: &str = "gatehouseSync";

pub const USER_NOT_FOUND: &str = "E112102";
/// What the authentication APIs (and the node SDK's `errors.userNotFound`) call the same thing.
pub const AUTH_USER_NOT_FOUND: &str = "E062108";
pub const INVALID_REQUEST: &str = "E011003";
pub const RATE_LIMITED: &str = "E130429";

/// The Descope API base: `configured` (`DESCOPE_BASE_URL`, the local emulator) when set, else
/// `https://api.descope.com`, except that projects with ids of 32+ characters live in a region:
/// `https://api.{id[1..5]}.descope.com` (`Puse1…` → `api.use1.descope.com`).
///
/// Checked against @descope/core-js-sdk 2.71.0 (emulators/descope/sdk-test/node_modules/@descope/
/// core-js-sdk/dist/index.esm.js, sources `src/constants/index.ts` and `src/httpClient/urlBuilder.ts`
/// in its source map): `DEFAULT_BASE_API_URL = "https://api.<region>descope.com"` with
/// `region = projectId.slice(1, -27)`, i.e. empty for today's 28-character ids and `id[1..5]` for
/// the 32-character regional ones. (For other lengths the JS slice would differ; the Python and Go
/// SDKs use `len >= 32 → id[1:5]`, which is what this follows.)
pub fn base_url(configured: Option<&str>, project_id: &str) -> String {
    if let Some(c) = configured.map(str::trim).filter(|c| !c.is_empty()) {
        return c.trim_end_matches('/').to_string();
    }
    match project_id.get(1..5) {
        Some(region) if project_id.len() >= 32 && region.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            format!("https://api.{}.descope.com", region.to_ascii_lowercase())
        }
        _ => "https://api.descope.com".to_string(),
    }
}

/// What a call is about, so an error can name the missing target.
#[derive(Clone, Copy)]
enum About<'a> {
    User(&'a str),
    Tenant(&'a str),
    UserTenant(&'a str, &'a str),
    /// A custom attribute write: an undefined attribute gets a message naming it.
    Attribute(&'a str, &'a str),
    Nothing,
}

/// Descope's error body, read tolerantly (the body kept in `UpstreamError` may be cut short).
#[derive(Default, Debug)]
struct DescopeError {
    code: String,
    description: String,
    message: String,
}

fn string_field(body: &str, name: &str) -> String {
    // Fallback for a truncated body: `"name":"value"` (values without escaped quotes).
    let pat = format!("\"{name}\":\"");
    body.find(&pat)
        .and_then(|i| {
            let rest = &body[i + pat.len()..];
            rest.find('"').map(|j| rest[..j].to_string())
        })
        .unwrap_or_default()
}

fn parse_error(body: &str) -> DescopeError {
    match serde_json::from_str::<Value>(body) {
        Ok(v) => DescopeError {
            code: v["errorCode"].as_str().unwrap_or_default().to_string(),
            description: v["errorDescription"].as_str().unwrap_or_default().to_string(),
            message: v["errorMessage"].as_str().unwrap_or_default().to_string(),
        },
        Err(_) => DescopeError {
            code: string_field(body, "errorCode"),
            description: string_field(body, "errorDescription"),
            message: string_field(body, "errorMessage"),
        },
    }
}

fn user(id: &str) -> Target {
    Target { kind: TargetKind::User, id: id.to_string() }
}

fn tenant(id: &str) -> Target {
    Target { kind: TargetKind::Organization, id: id.to_string() }
}

fn mentions_missing_tenant(e: &DescopeError) -> bool {
    let m = format!("{} {}", e.description, e.message).to_ascii_lowercase();
    m.contains("tenant") && m.contains("not found")
}

fn mentions_undefined_attribute(e: &DescopeError) -> bool {
    let m = format!("{} {}", e.description, e.message).to_ascii_lowercase();
    m.contains("custom attribute") && (m.contains("not defined") || m.contains("not found") || m.contains("does not exist"))
}

/// Turns a failed call into the provider-neutral error (table in the module docs).
fn classify(e: UpstreamError, about: About<'_>) -> IdpError {
    let UpstreamError::Status { status, body, .. } = &e else {
        return IdpError::Upstream(e);
    };
    let status = *status;
    let d = parse_error(body);
    if d.code == RATE_LIMITED || status == 429 || status >= 500 {
        return IdpError::Upstream(e);
    }
    if d.code == USER_NOT_FOUND || d.code == AUTH_USER_NOT_FOUND {
        match about {
            About::User(u) | About::UserTenant(u, _) | About::Attribute(u, _) => return IdpError::TargetNotFound(user(u)),
            About::Tenant(_) | About::Nothing => {}
        }
    }
    if status == 401 || status == 403 {
        return IdpError::Unauthorized;
    }
    if d.code == INVALID_REQUEST {
        match about {
            About::Tenant(t) | About::UserTenant(_, t) if mentions_missing_tenant(&d) => return IdpError::TargetNotFound(tenant(t)),
            About::Attribute(_, key) if mentions_undefined_attribute(&d) => {
                return IdpError::Rejected(format!(
                    "custom attribute `{key}` is not defined in the Descope project: create it under Project → Users → Custom attributes (type text)"
                ));
            }
            _ => {}
        }
    }
    if (400..500).contains(&status) {
        let code = if d.code.is_empty() { format!("HTTP {status}") } else { d.code };
        let what = [d.description, d.message].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(": ");
        return IdpError::Rejected(if what.is_empty() { code } else { format!("{code} {what}") });
    }
    IdpError::Upstream(e)
}

/// Descope may answer `E130429` with a status other than 429 (statuses are undocumented): make
/// it a 429 so `http::retry` retries it and honours `Retry-After`.
fn normalise(e: UpstreamError) -> UpstreamError {
    match e {
        UpstreamError::Status { service, status, body, retry_after } if status != 429 && parse_error(&body).code == RATE_LIMITED => {
            UpstreamError::Status { service, status: 429, body, retry_after }
        }
        other => other,
    }
}

fn decode(reason: impl Into<String>) -> IdpError {
    IdpError::Upstream(UpstreamError::Decode { service: SERVICE, reason: reason.into() })
}

#[derive(Clone)]
pub struct Descope {
    http: reqwest::Client,
    base: String,
    secret: DescopeSecret,
    /// Upper bound of one attempt (the deadline bounds them all).
    request_timeout: Duration,
}

impl std::fmt::Debug for Descope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Descope").field("base", &self.base).field("project_id", &self.secret.project_id).finish_non_exhaustive()
    }
}

impl Descope {
    /// `base`: from [`base_url`].
    pub fn new(http: reqwest::Client, base: String, secret: DescopeSecret, request_timeout: Duration) -> Self {
        Descope { http, base: base.trim_end_matches('/').to_string(), secret, request_timeout }
    }

    pub fn project_id(&self) -> &str {
        &self.secret.project_id
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn call(&self, method: reqwest::Method, path_and_query: &str, body: Option<&Value>, about: About<'_>, deadline: Deadline) -> Result<Value, IdpError> {
        let url = format!("{}{path_and_query}", self.base);
        let mut auth = reqwest::header::HeaderValue::try_from(format!("Bearer {}:{}", self.secret.project_id, self.secret.management_key))
            .map_err(|_| IdpError::Rejected("the Descope management key is not a valid header value".into()))?;
        // Kept out of any debug output of the request.
        auth.set_sensitive(true);
        let res = http::retry(deadline, |left| {
            let mut req = self
                .http
                .request(method.clone(), &url)
                .header(reqwest::header::AUTHORIZATION, auth.clone())
                .header("x-descope-project-id", &self.secret.project_id);
            if let Some(b) = body {
                req = req.json(b);
            }
            let per_attempt = left.min(self.request_timeout);
            async move { http::attempt(SERVICE, req, per_attempt).await.map_err(normalise) }
        })
        .await;
        match res {
            // Some answers (tenant update) are empty or `{}`.
            Ok((_, bytes)) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(Value::Null),
            Ok((_, bytes)) => serde_json::from_slice(&bytes).map_err(|e| decode(e.to_string())),
            Err(e) => Err(classify(e, about)),
        }
    }

    async fn post(&self, path: &str, body: &Value, about: About<'_>, deadline: Deadline) -> Result<Value, IdpError> {
        self.call(reqwest::Method::POST, path, Some(body), about, deadline).await
    }

    fn user_of(v: Value) -> Result<Value, IdpError> {
        match v {
            Value::Object(mut m) => match m.remove("user") {
                Some(u @ Value::Object(_)) => Ok(u),
                _ => Err(decode("answer has no user object")),
            },
            _ => Err(decode("answer is not a JSON object")),
        }
    }

    /// `GET /v1/mgmt/user?loginId=…` (a login id or a user id) → the `user` object.
    pub async fn load_user(&self, login_id: &str, deadline: Deadline) -> Result<Value, IdpError> {
        let q: String = form_urlencoded::Serializer::new(String::new()).append_pair("loginId", login_id).finish();
        let v = self.call(reqwest::Method::GET, &format!("/v1/mgmt/user?{q}"), None, About::User(login_id), deadline).await?;
        Self::user_of(v)
    }

    /// `POST /v1/mgmt/user/update/customAttribute`; `Value::Null` removes the attribute. The
    /// attribute must be defined in the project first. Answers the updated user.
    pub async fn update_custom_attribute(&self, login_id: &str, key: &str, value: Value, deadline: Deadline) -> Result<Value, IdpError> {
        let body = json!({"loginId": login_id, "attributeKey": key, "attributeValue": value});
        let v = self.post("/v1/mgmt/user/update/customAttribute", &body, About::Attribute(login_id, key), deadline).await?;
        Self::user_of(v)
    }

    fn roles_body(login_id: &str, roles: &[String], tenant_id: Option<&str>) -> Value {
        let mut body = json!({"loginId": login_id, "roleNames": roles});
        if let Some(t) = tenant_id {
            body["tenantId"] = t.into();
        }
        body
    }

    fn about_roles<'a>(login_id: &'a str, tenant_id: Option<&'a str>) -> About<'a> {
        match tenant_id {
            Some(t) => About::UserTenant(login_id, t),
            None => About::User(login_id),
        }
    }

    /// `POST /v2/mgmt/user/update/role/add` (v2): project-level roles, or the tenant's with
    /// `tenant_id`. Answers the updated user.
    pub async fn add_roles(&self, login_id: &str, roles: &[String], tenant_id: Option<&str>, deadline: Deadline) -> Result<Value, IdpError> {
        let body = Self::roles_body(login_id, roles, tenant_id);
        let v = self.post("/v2/mgmt/user/update/role/add", &body, Self::about_roles(login_id, tenant_id), deadline).await?;
        Self::user_of(v)
    }

    /// `POST /v1/mgmt/user/update/role/remove`. Answers the updated user.
    pub async fn remove_roles(&self, login_id: &str, roles: &[String], tenant_id: Option<&str>, deadline: Deadline) -> Result<Value, IdpError> {
        let body = Self::roles_body(login_id, roles, tenant_id);
        let v = self.post("/v1/mgmt/user/update/role/remove", &body, Self::about_roles(login_id, tenant_id), deadline).await?;
        Self::user_of(v)
    }

    /// `POST /v1/mgmt/user/update/tenant/add`. Answers the updated user.
    pub async fn add_tenant(&self, login_id: &str, tenant_id: &str, deadline: Deadline) -> Result<Value, IdpError> {
        let body = json!({"loginId": login_id, "tenantId": tenant_id});
        let v = self.post("/v1/mgmt/user/update/tenant/add", &body, About::UserTenant(login_id, tenant_id), deadline).await?;
        Self::user_of(v)
    }

    /// `POST /v1/mgmt/user/update/tenant/remove`. Answers the updated user.
    pub async fn remove_tenant(&self, login_id: &str, tenant_id: &str, deadline: Deadline) -> Result<Value, IdpError> {
        let body = json!({"loginId": login_id, "tenantId": tenant_id});
        let v = self.post("/v1/mgmt/user/update/tenant/remove", &body, About::UserTenant(login_id, tenant_id), deadline).await?;
        Self::user_of(v)
    }

    /// `GET /v1/mgmt/tenant?id=…` → the tenant object (Descope does not wrap it).
    pub async fn load_tenant(&self, id: &str, deadline: Deadline) -> Result<Value, IdpError> {
        let q: String = form_urlencoded::Serializer::new(String::new()).append_pair("id", id).finish();
        match self.call(reqwest::Method::GET, &format!("/v1/mgmt/tenant?{q}"), None, About::Tenant(id), deadline).await? {
            t @ Value::Object(_) if t.get("id").is_some() => Ok(t),
            _ => Err(decode("tenant answer has no id")),
        }
    }

    /// `POST /v1/mgmt/tenant/update` with the whole tenant `{id, name, selfProvisioningDomains,
    /// customAttributes, enforceSSO, disabled, …}`.
    ///
    /// Descope OVERWRITES every field: anything left out (domains, custom attributes, SSO
    /// enforcement, …) is cleared. Callers must read-modify-write: `load_tenant`, change the one
    /// field, send the whole object back (read-only fields such as `createdTime` are ignored).
    pub async fn update_tenant(&self, tenant: &Value, deadline: Deadline) -> Result<(), IdpError> {
        let id = tenant.get("id").and_then(Value::as_str).filter(|s| !s.is_empty());
        let id = id.ok_or_else(|| IdpError::Rejected("tenant update needs the tenant's id".into()))?;
        if tenant.get("name").and_then(Value::as_str).is_none_or(str::is_empty) {
            // Without a name Descope refuses; never send a partial object by mistake.
            return Err(IdpError::Rejected(format!("tenant update for {id} needs the whole tenant (name missing): read-modify-write")));
        }
        self.post("/v1/mgmt/tenant/update", tenant, About::Tenant(id), deadline).await.map(drop)
    }

    /// `POST /v2/mgmt/user/search` `{page, limit}` (page from 0) → that page's users and the total.
    pub async fn search_users(&self, page: u32, limit: u32, deadline: Deadline) -> Result<(Vec<Value>, u64), IdpError> {
        let v = self.post("/v2/mgmt/user/search", &json!({"page": page, "limit": limit}), About::Nothing, deadline).await?;
        let users = v.get("users").and_then(Value::as_array).cloned().ok_or_else(|| decode("search answer has no users list"))?;
        let total = v.get("total").and_then(Value::as_u64).unwrap_or(users.len() as u64);
        Ok((users, total))
    }

    /// `GET /v1/mgmt/tenant/all` → every tenant.
    pub async fn load_all_tenants(&self, deadline: Deadline) -> Result<Vec<Value>, IdpError> {
        let v = self.call(reqwest::Method::GET, "/v1/mgmt/tenant/all", None, About::Nothing, deadline).await?;
        v.get("tenants").and_then(Value::as_array).cloned().ok_or_else(|| decode("answer has no tenants list"))
    }
}

// ---------------------------------------------------------------------------------------------
// The identity provider behind the sync core and the gate.

/// The custom attributes gatehouse writes beside the record (text, on users and tenants).
pub const PLAN_ATTR: &str = "plan";
pub const REGION_ATTR: &str = "region";
/// Users per page of the reconciler's scan.
const SCAN_PAGE: u32 = 100;

fn str_attr(a: &serde_json::Map<String, Value>, k: &str) -> Option<String> {
    a.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(String::from)
}

/// Reads an answer's user or tenant into its type (a shape we cannot read is Descope's fault).
fn typed<T: serde::de::DeserializeOwned>(v: &Value, what: &str) -> Result<T, IdpError> {
    T::deserialize(v).map_err(|e| decode(format!("{what}: {e}")))
}

/// A target's attributes as the sync core sees them, from `plan`, `region` and the record. The
/// roles are those the profile grants *and* the user still holds, so a managed role removed by
/// hand reads as drift and is assigned again.
fn current_of(a: &serde_json::Map<String, Value>, held_roles: Option<&[String]>) -> super::Current {
    let record = a.get(SYNC_ATTR).and_then(SyncRecord::from_attr);
    let (plan, region) = (str_attr(a, PLAN_ATTR), str_attr(a, REGION_ATTR));
    let mut others = a.clone();
    for k in [SYNC_ATTR, PLAN_ATTR, REGION_ATTR] {
        others.remove(k);
    }
    let Some(r) = record else {
        // Set by hand, without a record: present, but nobody owns it (the first rule may take it over).
        return super::Current { present: plan.is_some() || region.is_some(), owner: None, access: None, others };
    };
    let mut roles: Vec<String> = r.roles.iter().filter(|x| held_roles.is_none_or(|h| h.contains(x))).cloned().collect();
    roles.sort();
    let access = super::SyncedAccess {
        plan,
        plan_title: r.plan_title,
        region,
        allowed_content_types: Vec::new(),
        gated_routes: Vec::new(),
        requires_mfa: r.requires_mfa,
        roles,
        tenant_id: r.tenant_id,
        source: super::Source { document_id: r.document_id.clone(), rev: r.rev },
        synced_at: r.synced_at.unwrap_or_default(),
    };
    super::Current { present: true, owner: Some(r.document_id), access: Some(access), others }
}

fn user_current(u: &DescopeUser) -> super::Current {
    let scope = DescopeUser::record(u).and_then(|r| r.tenant_id);
    let (h, _) = u.held(scope.as_deref());
    current_of(&u.custom_attributes, Some(&h))
}

fn opt(v: &Option<String>) -> Value {
    v.clone().map_or(Value::Null, Value::String)
}

impl Descope {
    /// `GET /v1/mgmt/user/customattributes`: refuses a write before anything is written when
    /// the project lacks one of the attributes gatehouse needs (attributes are written one call
    /// each, so a failure on the second would leave the first changed).
    async fn require_attributes(&self, deadline: Deadline) -> Result<(), IdpError> {
        let v = self.call(reqwest::Method::GET, "/v1/mgmt/user/customattributes", None, About::Nothing, deadline).await?;
        let defined: Vec<&str> = v.get("data").and_then(Value::as_array).map(|a| a.iter().filter_map(|x| x.get("name")?.as_str()).collect()).unwrap_or_default();
        match [SYNC_ATTR, PLAN_ATTR, REGION_ATTR].into_iter().find(|k| !defined.contains(k)) {
            None => Ok(()),
            Some(k) => Err(IdpError::Rejected(format!(
                "custom attribute `{k}` is not defined in the Descope project: create it under Project → Users → Custom attributes (type text)"
            ))),
        }
    }

    async fn write_user(&self, login_id: &str, access: &super::SyncedAccess, deadline: Deadline) -> Result<(), IdpError> {
        let (user, defined) = tokio::join!(self.load_user(login_id, deadline), self.require_attributes(deadline));
        let user: DescopeUser = typed(&user?, "user")?;
        defined?;
        let old = user.record();
        let scope = access.tenant_id.as_deref();
        // 1. Moved to another scope (tenant ↔ tenant ↔ project): take back what gatehouse added
        //    in the old one first. Idempotent (only roles still held), so a retry is safe.
        let mut kept_added: Vec<String> = Vec::new();
        if let Some(o) = &old {
            let (old_held, _) = user.held(o.tenant_id.as_deref());
            if o.tenant_id.as_deref() == scope {
                kept_added = o.added.iter().filter(|r| access.roles.contains(r)).cloned().collect();
            } else {
                let back: Vec<String> = o.added.iter().filter(|r| old_held.contains(r)).cloned().collect();
                if !back.is_empty() {
                    self.remove_roles(login_id, &back, o.tenant_id.as_deref(), deadline).await?;
                }
            }
        }
        let (now_held, member) = user.held(scope);
        let to_add: Vec<String> = access.roles.iter().filter(|r| !now_held.contains(r)).cloned().collect();
        let mut added = kept_added;
        added.extend(to_add.iter().cloned());
        added.sort();
        added.dedup();
        // Roles gatehouse added earlier in this scope that the profile no longer grants.
        let gone: Vec<String> = match old.as_ref().filter(|o| o.tenant_id.as_deref() == scope) {
            Some(o) => o.added.iter().filter(|r| !access.roles.contains(r) && now_held.contains(r)).cloned().collect(),
            None => Vec::new(),
        };
        let record = |rev: &str, added: &[String]| SyncRecord {
            document_id: access.source.document_id.clone(),
            rev: rev.into(),
            roles: access.roles.clone(),
            tenant_id: access.tenant_id.clone(),
            added: added.to_vec(),
            requires_mfa: access.requires_mfa,
            plan_title: access.plan_title.clone(),
            synced_at: Some(access.synced_at.clone()),
            login_id: Some(login_id.to_string()),
        };
        // 2. Intent first: once roles are assigned, a crash must not leave them (or the ones still
        //    to be taken back) looking hand-granted.
        if !to_add.is_empty() {
            let mut pending = added.clone();
            pending.extend(gone.iter().cloned());
            self.update_custom_attribute(login_id, SYNC_ATTR, record("pending", &pending).to_attr().into(), deadline).await?;
        }
        // 3. Tenant membership, then the roles.
        if let (Some(t), false) = (scope, member) {
            self.add_tenant(login_id, t, deadline).await?;
        }
        if !to_add.is_empty() {
            self.add_roles(login_id, &to_add, scope, deadline).await?;
        }
        // 4. Take back what the profile no longer grants.
        if !gone.is_empty() {
            self.remove_roles(login_id, &gone, scope, deadline).await?;
        }
        // 5. Plan, region, and the record last: it is what says the write is complete.
        self.update_custom_attribute(login_id, PLAN_ATTR, opt(&access.plan), deadline).await?;
        self.update_custom_attribute(login_id, REGION_ATTR, opt(&access.region), deadline).await?;
        self.update_custom_attribute(login_id, SYNC_ATTR, record(&access.source.rev, &added).to_attr().into(), deadline).await?;
        Ok(())
    }

    async fn clear_user(&self, login_id: &str, deadline: Deadline) -> Result<(), IdpError> {
        let user: DescopeUser = typed(&self.load_user(login_id, deadline).await?, "user")?;
        if let Some(o) = user.record() {
            let (h, _) = user.held(o.tenant_id.as_deref());
            let back: Vec<String> = o.added.iter().filter(|r| h.contains(r)).cloned().collect();
            if !back.is_empty() {
                self.remove_roles(login_id, &back, o.tenant_id.as_deref(), deadline).await?;
            }
        }
        // The record goes last, so a retry still knows which roles to take back.
        for k in [PLAN_ATTR, REGION_ATTR, SYNC_ATTR] {
            self.update_custom_attribute(login_id, k, Value::Null, deadline).await?;
        }
        Ok(())
    }

    /// Tenants: read-modify-write of the whole tenant (Descope's update overwrites every field,
    /// so name, domains and other attributes are sent back exactly as read).
    async fn modify_tenant(&self, id: &str, set: &[(&str, Value)], deadline: Deadline) -> Result<(), IdpError> {
        let mut tenant = self.load_tenant(id, deadline).await?;
        let mut a = typed::<DescopeTenant>(&tenant, "tenant")?.custom_attributes;
        for (k, v) in set {
            if v.is_null() {
                a.remove(*k);
            } else {
                a.insert((*k).to_string(), v.clone());
            }
        }
        tenant["customAttributes"] = Value::Object(a);
        self.update_tenant(&tenant, deadline).await
    }
}

/// Where a Descope scan resumes: a page of users, then the tenants (all in one call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescopeCursor {
    Users(u32),
    Tenants,
}

impl super::IdentityProvider for Descope {
    type Cursor = DescopeCursor;
    fn name(&self) -> &'static str {
        "descope"
    }

    fn serves(&self, _: TargetKind) -> bool {
        true
    }

    fn validate_target(&self, target: &Target) -> Result<(), super::RuleError> {
        let id = target.id.as_str();
        let what = if target.kind == TargetKind::User { "descopeLoginId" } else { "tenantId" };
        if !crate::ids::descope(id) {
            return Err(super::RuleError(format!("{what} {id:?} is not a Descope login id or tenant id")));
        }
        Ok(())
    }

    fn check_fits(&self, _: &super::Current, _: &super::SyncedAccess) -> Result<(), super::RuleError> {
        Ok(())
    }

    async fn read(&self, target: &Target, deadline: Deadline) -> Result<super::Current, IdpError> {
        match target.kind {
            TargetKind::User => Ok(user_current(&typed(&self.load_user(&target.id, deadline).await?, "user")?)),
            TargetKind::Organization => {
                let t: DescopeTenant = typed(&self.load_tenant(&target.id, deadline).await?, "tenant")?;
                Ok(current_of(&t.custom_attributes, None))
            }
        }
    }

    async fn write(&self, target: &Target, access: &super::SyncedAccess, deadline: Deadline) -> Result<(), IdpError> {
        match target.kind {
            TargetKind::User => self.write_user(&target.id, access, deadline).await,
            TargetKind::Organization => {
                let record = SyncRecord {
                    document_id: access.source.document_id.clone(),
                    rev: access.source.rev.clone(),
                    requires_mfa: access.requires_mfa,
                    plan_title: access.plan_title.clone(),
                    synced_at: Some(access.synced_at.clone()),
                    ..Default::default()
                };
                let set = [(PLAN_ATTR, opt(&access.plan)), (REGION_ATTR, opt(&access.region)), (SYNC_ATTR, record.to_attr().into())];
                self.modify_tenant(&target.id, &set, deadline).await
            }
        }
    }

    async fn clear(&self, target: &Target, deadline: Deadline) -> Result<(), IdpError> {
        match target.kind {
            TargetKind::User => self.clear_user(&target.id, deadline).await,
            TargetKind::Organization => {
                let set = [(PLAN_ATTR, Value::Null), (REGION_ATTR, Value::Null), (SYNC_ATTR, Value::Null)];
                self.modify_tenant(&target.id, &set, deadline).await
            }
        }
    }

    /// Users page by page, then every tenant in one call. A user is keyed by the login id its
    /// record names (what its profile wrote), else its first login id.
    async fn scan(&self, cursor: Option<&DescopeCursor>, deadline: Deadline) -> Result<super::ScanPage<DescopeCursor>, IdpError> {
        let page = match cursor {
            None => 0,
            Some(DescopeCursor::Users(n)) => *n,
            Some(DescopeCursor::Tenants) => {
                let tenants: Vec<DescopeTenant> = typed(&Value::Array(self.load_all_tenants(deadline).await?), "tenants")?;
                let targets = tenants
                    .into_iter()
                    .map(|t| (Target { kind: TargetKind::Organization, id: t.id }, current_of(&t.custom_attributes, None)))
                    .collect();
                return Ok(super::ScanPage { targets, next_cursor: None });
            }
        };
        let (users, total) = self.search_users(page, SCAN_PAGE, deadline).await?;
        let users: Vec<DescopeUser> = typed(&Value::Array(users), "users")?;
        let mut targets = Vec::new();
        for u in &users {
            let Some(id) = u.record().and_then(|r| r.login_id).or_else(|| u.login_ids.first().cloned()) else { continue };
            targets.push((Target { kind: TargetKind::User, id }, user_current(u)));
        }
        let seen = u64::from(page + 1) * u64::from(SCAN_PAGE);
        let next = if !users.is_empty() && seen < total { DescopeCursor::Users(page + 1) } else { DescopeCursor::Tenants };
        Ok(super::ScanPage { targets, next_cursor: Some(next) })
    }

    fn access_target(&self, session: &crate::session::Session) -> Target {
        // A member's access lives on their user (their profile's plan/region already fall back to
        // the tenant's in the sync), whatever tenant the session is in.
        Target { kind: TargetKind::User, id: session.subject.clone() }
    }

    fn grants_all_types(&self) -> bool {
        true
    }
}

/// The Descope emulator in process, seeded (unit tests of the client and the verifier).
#[cfg(test)]
pub(crate) async fn test_emulator(project_id: &str, key: &str, seed: Value) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut cfg = descope_emulator::Config::new(project_id, key);
    cfg.seed = Some(seed);
    tokio::spawn(descope_emulator::serve(listener, cfg));
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    const PID: &str = "P2gatehousetest0000000000000000x";
    const KEY: &str = "K2test-management-key";
    const ACME: &str = "T2acme000000000000000000000000";
    const ADA: &str = "U2ada0000000000000000000000000";

    fn seed() -> Value {
        json!({
            "customAttributes": [
                {"name": SYNC_ATTR, "type": 1}, {"name": "plan", "type": 1}, {"name": "region", "type": 1}
            ],
            "tenantCustomAttributes": [{"name": SYNC_ATTR, "type": 1}, {"name": "plan", "type": 1}],
            "tenants": [
                {"id": ACME, "name": "Acme", "selfProvisioningDomains": ["acme.example"], "customAttributes": {"plan": "pro"}},
                {"id": "T2beta000000000000000000000000", "name": "Beta"}
            ],
            "roles": [
                {"name": "reader"}, {"name": "editor"},
                {"name": "acme-admin", "tenantId": ACME}
            ],
            "users": [
                {"loginId": "ada@acme.example", "userId": ADA, "email": "ada@acme.example",
                 "roleNames": ["reader"], "userTenants": [{"tenantId": ACME, "roleNames": ["acme-admin"]}],
                 "customAttributes": {"plan": "pro"}},
                {"loginId": "bob@example.com"},
                {"loginId": "cy@example.com"}
            ]
        })
    }

    struct Emu {
        base: String,
        http: reqwest::Client,
    }

    impl Emu {
        async fn start() -> Emu {
            Emu { base: crate::providers::descope::test_emulator(PID, KEY, seed()).await, http: reqwest::Client::new() }
        }

        fn client(&self, key: &str) -> Descope {
            let secret = DescopeSecret { project_id: PID.into(), management_key: key.into() };
            Descope::new(self.http.clone(), base_url(Some(&self.base), PID), secret, Duration::from_secs(2))
        }

        async fn control(&self, path: &str, body: Value) -> Value {
            let r = self.http.post(format!("{}/__gatehouse/{path}", self.base)).json(&body).send().await.unwrap();
            assert!(r.status().is_success());
            r.json().await.unwrap()
        }

        async fn calls(&self, method: &str, path: &str) -> u64 {
            let v: Value = self.http.get(format!("{}/__gatehouse/calls", self.base)).send().await.unwrap().json().await.unwrap();
            v["calls"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["method"] == method && c["path"] == path)
                .and_then(|c| c["count"].as_u64())
                .unwrap_or(0)
        }
    }

    fn soon() -> Deadline {
        Deadline::after(Duration::from_secs(5))
    }

    fn tenant_roles(user: &Value, t: &str) -> Vec<String> {
        user["userTenants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["tenantId"] == t)
            .map(|x| x["roleNames"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn base_url_follows_the_sdk_rule() {
        assert_eq!(base_url(None, "P2abcdefghijklmnopqrstuvwxyz12"), "https://api.descope.com");
        assert_eq!(base_url(None, "Puse1abcdefghijklmnopqrstuvwxyz1"), "https://api.use1.descope.com");
        assert_eq!(base_url(None, "Peuc1abcdefghijklmnopqrstuvwxyz1234"), "https://api.euc1.descope.com");
        assert_eq!(base_url(Some("http://127.0.0.1:4300/"), "Puse1abcdefghijklmnopqrstuvwxyz1"), "http://127.0.0.1:4300");
        assert_eq!(base_url(Some(" "), "P2abc"), "https://api.descope.com");
    }

    #[test]
    fn sync_record_is_compact_camel_case_json() {
        let r = SyncRecord { document_id: "rule-1".into(), rev: "r9".into(), roles: strs(&["reader"]), tenant_id: Some(ACME.into()), ..Default::default() };
        let s = r.to_attr();
        assert_eq!(s, format!(r#"{{"documentId":"rule-1","rev":"r9","roles":["reader"],"tenantId":"{ACME}"}}"#));
        assert_eq!(SyncRecord::from_attr(&Value::String(s)), Some(r.clone()));
        assert_eq!(SyncRecord::from_attr(&json!({"documentId": "rule-1", "rev": "r9", "roles": ["reader"], "tenantId": ACME})), Some(r));
        let bare = SyncRecord::from_attr(&json!(r#"{"documentId":"d","rev":"1"}"#)).unwrap();
        assert_eq!((bare.roles.len(), bare.tenant_id), (0, None));
        for bad in [json!(null), json!(3), json!("not json"), json!(r#"{"documentId":"","rev":"1"}"#), json!(r#"{"rev":"1"}"#)] {
            assert_eq!(SyncRecord::from_attr(&bad), None, "{bad}");
        }
    }

    #[test]
    fn error_bodies_are_read_even_when_cut_short() {
        let d = parse_error(r#"{"errorCode":"E112102","errorDescription":"User not found","errorMessage":"User not fou"#);
        assert_eq!((d.code.as_str(), d.description.as_str()), ("E112102", "User not found"));
        let e = UpstreamError::Status { service: SERVICE, status: 400, body: r#"{"errorCode":"E130429"}"#.into(), retry_after: None };
        assert_eq!(normalise(e).status(), Some(429));
        let e = UpstreamError::Status { service: SERVICE, status: 400, body: r#"{"errorCode":"E011004","errorDescription":"Invalid arguments","errorMessage":"limit"}"#.into(), retry_after: None };
        assert!(matches!(classify(e, About::Nothing), IdpError::Rejected(m) if m == "E011004 Invalid arguments: limit"));
    }

    #[tokio::test]
    async fn every_method_round_trips_against_the_emulator() {
        let emu = Emu::start().await;
        let d = emu.client(KEY);

        // load_user by login id and by user id.
        let u = d.load_user("ada@acme.example", soon()).await.unwrap();
        assert_eq!(u["userId"], ADA);
        assert_eq!(u["customAttributes"]["plan"], "pro");
        assert_eq!(d.load_user(ADA, soon()).await.unwrap()["userId"], ADA);

        // custom attribute: write the ownership record, read it back, remove it.
        let rec = SyncRecord { document_id: "rule-1".into(), rev: "r1".into(), roles: strs(&["editor"]), tenant_id: None, ..Default::default() };
        let u = d.update_custom_attribute(ADA, SYNC_ATTR, rec.to_attr().into(), soon()).await.unwrap();
        assert_eq!(SyncRecord::from_attr(&u["customAttributes"][SYNC_ATTR]), Some(rec.clone()));
        let u = d.load_user("ada@acme.example", soon()).await.unwrap();
        assert_eq!(SyncRecord::from_attr(&u["customAttributes"][SYNC_ATTR]), Some(rec));
        assert_eq!(u["customAttributes"]["plan"], "pro", "other attributes untouched");
        let u = d.update_custom_attribute(ADA, SYNC_ATTR, Value::Null, soon()).await.unwrap();
        assert!(u["customAttributes"].get(SYNC_ATTR).is_none());

        // project-level roles
        let u = d.add_roles(ADA, &strs(&["editor"]), None, soon()).await.unwrap();
        let mut roles: Vec<String> = serde_json::from_value(u["roleNames"].clone()).unwrap();
        roles.sort();
        assert_eq!(roles, strs(&["editor", "reader"]));
        let u = d.remove_roles(ADA, &strs(&["editor"]), None, soon()).await.unwrap();
        assert_eq!(u["roleNames"], json!(["reader"]));

        // tenant roles
        let u = d.add_roles(ADA, &strs(&["reader"]), Some(ACME), soon()).await.unwrap();
        assert_eq!(tenant_roles(&u, ACME), strs(&["acme-admin", "reader"]));
        let u = d.remove_roles(ADA, &strs(&["acme-admin"]), Some(ACME), soon()).await.unwrap();
        assert_eq!(tenant_roles(&u, ACME), strs(&["reader"]));

        // tenant membership
        let beta = "T2beta000000000000000000000000";
        let u = d.add_tenant("bob@example.com", beta, soon()).await.unwrap();
        assert!(u["userTenants"].as_array().unwrap().iter().any(|t| t["tenantId"] == beta));
        let u = d.remove_tenant("bob@example.com", beta, soon()).await.unwrap();
        assert!(!u["userTenants"].as_array().unwrap().iter().any(|t| t["tenantId"] == beta));

        // tenants
        let t = d.load_tenant(ACME, soon()).await.unwrap();
        assert_eq!(t["name"], "Acme");
        let all = d.load_all_tenants(soon()).await.unwrap();
        assert_eq!(all.len(), 2);

        // search, paged
        let (page0, total) = d.search_users(0, 2, soon()).await.unwrap();
        assert_eq!((page0.len(), total), (2, 3));
        let (page1, _) = d.search_users(1, 2, soon()).await.unwrap();
        assert_eq!(page1.len(), 1);
        let mut ids: Vec<&str> = page0.iter().chain(&page1).map(|u| u["userId"].as_str().unwrap()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 3);
    }

    #[tokio::test]
    async fn tenant_update_overwrites_so_callers_read_modify_write() {
        let emu = Emu::start().await;
        let d = emu.client(KEY);
        let rec = SyncRecord { document_id: "rule-2".into(), rev: "r1".into(), roles: vec![], tenant_id: Some(ACME.into()), ..Default::default() };

        // Read-modify-write keeps name, domains and the other attribute.
        let mut t = d.load_tenant(ACME, soon()).await.unwrap();
        t["customAttributes"][SYNC_ATTR] = rec.to_attr().into();
        d.update_tenant(&t, soon()).await.unwrap();
        let after = d.load_tenant(ACME, soon()).await.unwrap();
        assert_eq!(after["name"], "Acme");
        assert_eq!(after["selfProvisioningDomains"], json!(["acme.example"]));
        assert_eq!(after["customAttributes"]["plan"], "pro");
        assert_eq!(SyncRecord::from_attr(&after["customAttributes"][SYNC_ATTR]), Some(rec));

        // A partial body (what a careless caller would send) clears everything it left out.
        d.update_tenant(&json!({"id": ACME, "name": "Acme", "customAttributes": {"plan": "pro"}}), soon()).await.unwrap();
        let clobbered = d.load_tenant(ACME, soon()).await.unwrap();
        assert_eq!(clobbered["selfProvisioningDomains"], json!([]));
        assert!(clobbered["customAttributes"].get(SYNC_ATTR).is_none());
        // Without a name we refuse before calling.
        assert!(matches!(d.update_tenant(&json!({"id": ACME}), soon()).await, Err(IdpError::Rejected(_))));
    }

    #[tokio::test]
    async fn descope_errors_are_classified_by_error_code() {
        let emu = Emu::start().await;
        let d = emu.client(KEY);

        // Undefined attribute: Rejected, naming it and saying how to fix it.
        let e = d.update_custom_attribute(ADA, "nosuchattr", "x".into(), soon()).await.unwrap_err();
        let IdpError::Rejected(m) = &e else { panic!("{e:?}") };
        assert!(m.contains("`nosuchattr`") && m.contains("Custom attributes"), "{m}");
        // Wrong type for a defined attribute: Rejected with Descope's code.
        let e = d.update_custom_attribute(ADA, "plan", json!(5), soon()).await.unwrap_err();
        assert!(matches!(&e, IdpError::Rejected(m) if m.starts_with("E011003")), "{e:?}");

        // Unknown user / tenant.
        let e = d.load_user("nobody@example.com", soon()).await.unwrap_err();
        assert!(matches!(&e, IdpError::TargetNotFound(t) if t.id == "nobody@example.com" && t.kind == TargetKind::User), "{e:?}");
        let e = d.update_custom_attribute("nobody@example.com", SYNC_ATTR, "x".into(), soon()).await.unwrap_err();
        assert!(matches!(e, IdpError::TargetNotFound(_)));
        let e = d.load_tenant("T2nope", soon()).await.unwrap_err();
        assert!(matches!(&e, IdpError::TargetNotFound(t) if t.id == "T2nope" && t.kind == TargetKind::Organization), "{e:?}");
        let e = d.add_tenant(ADA, "T2nope", soon()).await.unwrap_err();
        assert!(matches!(&e, IdpError::TargetNotFound(t) if t.id == "T2nope"), "{e:?}");
        let e = d.add_roles(ADA, &strs(&["nosuchrole"]), None, soon()).await.unwrap_err();
        assert!(matches!(e, IdpError::Rejected(_)), "{e:?}");

        // Bad management key: Unauthorized, and the key is nowhere in the error.
        let bad = emu.client("K2wrong-VERYSECRET");
        let e = bad.load_user(ADA, soon()).await.unwrap_err();
        assert!(matches!(e, IdpError::Unauthorized), "{e:?}");
        assert!(!format!("{e} {e:?} {bad:?}").contains("VERYSECRET"));

        // 5xx that persists: Upstream.
        emu.control("faults", json!({"path": "/v1/mgmt/tenant/all", "status": 503, "count": 10})).await;
        let e = d.load_all_tenants(Deadline::after(Duration::from_millis(300))).await.unwrap_err();
        assert!(matches!(&e, IdpError::Upstream(u) if u.status() == Some(503)), "{e:?}");
    }

    #[tokio::test]
    async fn rate_limits_are_retried_within_the_deadline() {
        let emu = Emu::start().await;
        let d = emu.client(KEY);

        // Two 429s with Retry-After: 1, then success: one call, three attempts, ~2 s.
        emu.control("faults", json!({"method": "GET", "path": "/v1/mgmt/user", "status": 429, "retry_after": 1, "count": 2})).await;
        let started = std::time::Instant::now();
        let u = d.load_user(ADA, Deadline::after(Duration::from_secs(5))).await.unwrap();
        assert_eq!(u["userId"], ADA);
        assert!(started.elapsed() >= Duration::from_secs(2), "Retry-After honoured");
        assert_eq!(emu.calls("GET", "/v1/mgmt/user").await, 3);

        // Rate limited for good (Retry-After 60) with a 1 s deadline: one attempt, Upstream 429.
        emu.control("faults", json!({"path": "/v2/mgmt/user/search", "status": 429, "count": 100})).await;
        let started = std::time::Instant::now();
        let e = d.search_users(0, 10, Deadline::after(Duration::from_secs(1))).await.unwrap_err();
        let IdpError::Upstream(UpstreamError::Status { status, retry_after, .. }) = &e else { panic!("{e:?}") };
        assert_eq!((*status, *retry_after), (429, Some(Duration::from_secs(60))));
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(emu.calls("POST", "/v2/mgmt/user/search").await, 1);

        // E130429 under another status is still a rate limit (retried, then 429).
        emu.control(
            "faults",
            json!({"path": "/v1/mgmt/tenant/all", "status": 400, "error_code": "E130429", "count": 1}),
        )
        .await;
        assert_eq!(d.load_all_tenants(Deadline::after(Duration::from_secs(5))).await.unwrap().len(), 2);
        assert_eq!(emu.calls("GET", "/v1/mgmt/tenant/all").await, 2);
    }
}
