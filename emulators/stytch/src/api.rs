//! The Stytch API surface: B2B organizations/members, consumer users, sessions, JWKS.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64STD;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use emulator_common::keys::{JwtError, verify_jwt};
use crate::state::{Inner, Kind, Obj, Org, Project, Session, Shared, str_field};
use crate::util::{now_unix, random_token, request_id, rfc3339, uuid_v4};

pub type ApiResult = Result<Response, ApiError>;

pub const METADATA_MAX_KEYS: usize = 20;
pub const METADATA_MAX_BYTES: usize = 4096;
pub const JWT_LIFETIME_S: i64 = 300;

// ---------------------------------------------------------------- helpers

pub fn ok(live: bool, body: Value) -> Response {
    let mut body = match body {
        Value::Object(m) => m,
        other => {
            let mut m = Map::new();
            m.insert("data".into(), other);
            m
        }
    };
    body.insert("request_id".into(), Value::String(request_id(live)));
    body.insert("status_code".into(), json!(200));
    axum::Json(Value::Object(body)).into_response()
}

/// Parse a JSON object body; an empty body is an empty object.
pub fn parse_body(body: &Bytes) -> Result<Obj, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad_request("The request body must be a JSON object.")),
        Err(e) => Err(ApiError::bad_request(format!("The request body is not valid JSON: {e}"))),
    }
}

/// The project named by the Basic auth header, if the credentials are right.
pub fn basic_auth(inner: &Inner, headers: &HeaderMap) -> Result<usize, ApiError> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(ApiError::unauthorized)?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
        .ok_or_else(ApiError::unauthorized)?;
    let decoded = B64STD.decode(encoded.trim()).map_err(|_| ApiError::unauthorized())?;
    let decoded = String::from_utf8(decoded).map_err(|_| ApiError::unauthorized())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(ApiError::unauthorized)?;
    let idx = inner.project_idx(id).ok_or_else(ApiError::unauthorized)?;
    // constant-time-ish comparison is pointless in an emulator, but cheap
    let expected = inner.projects[idx].cfg.secret.as_bytes();
    let given = secret.as_bytes();
    let same = expected.len() == given.len()
        && expected.iter().zip(given).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0;
    if !same {
        return Err(ApiError::unauthorized());
    }
    Ok(idx)
}

fn project_for<'a>(inner: &'a mut Inner, headers: &HeaderMap, kind: Kind) -> Result<&'a mut Project, ApiError> {
    let idx = basic_auth(inner, headers)?;
    let p = &mut inner.projects[idx];
    if p.cfg.kind != kind {
        return Err(match kind {
            Kind::B2b => ApiError::new(
                400,
                "invalid_b2b_endpoint",
                "This is a B2B endpoint, but the project is a Consumer project. Use the Consumer API.",
            ),
            Kind::Consumer => ApiError::new(
                400,
                "invalid_consumer_endpoint",
                "This is a Consumer endpoint, but the project is a B2B project. Use the B2B API.",
            ),
        });
    }
    Ok(p)
}

/// Top-level merge of a metadata patch into `target[field]`, then the 20-key / 4 KB limits.
pub fn apply_metadata(target: &mut Obj, field: &str, patch: Option<&Value>) -> Result<(), ApiError> {
    let Some(patch) = patch else { return Ok(()) };
    if patch.is_null() {
        return Ok(());
    }
    let Value::Object(patch) = patch else {
        return Err(ApiError::new(
            400,
            "metadata_invalid_format",
            format!("{field} must be a JSON object."),
        ));
    };
    let mut merged = match target.get(field) {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    for (k, v) in patch {
        if v.is_null() {
            merged.remove(k);
        } else {
            merged.insert(k.clone(), v.clone());
        }
    }
    if merged.len() > METADATA_MAX_KEYS {
        return Err(ApiError::new(
            400,
            "metadata_too_many_keys",
            format!("{field} may contain at most {METADATA_MAX_KEYS} top-level keys; it would have {}.", merged.len()),
        ));
    }
    let size = serde_json::to_string(&merged).map(|s| s.len()).unwrap_or(usize::MAX);
    if size > METADATA_MAX_BYTES {
        return Err(ApiError::new(
            400,
            "metadata_too_large",
            format!("{field} cannot exceed 4KB; it would be {size} bytes."),
        ));
    }
    target.insert(field.to_string(), Value::Object(merged));
    Ok(())
}

fn copy_fields(target: &mut Obj, body: &Obj, fields: &[&str]) {
    for f in fields {
        if let Some(v) = body.get(*f).filter(|v| !v.is_null()) {
            target.insert((*f).to_string(), v.clone());
        }
    }
}

fn valid_email(e: &str) -> bool {
    match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
                && !e.contains(char::is_whitespace)
        }
        None => false,
    }
}

// ---------------------------------------------------------------- organizations

const ORG_SETTABLE: &[&str] = &[
    "organization_name",
    "organization_logo_url",
    "organization_external_id",
    "sso_default_connection_id",
    "sso_jit_provisioning",
    "sso_jit_provisioning_allowed_connections",
    "email_allowed_domains",
    "email_jit_provisioning",
    "email_invites",
    "auth_methods",
    "allowed_auth_methods",
    "mfa_policy",
    "rbac_email_implicit_role_assignments",
    "mfa_methods",
    "allowed_mfa_methods",
    "oauth_tenant_jit_provisioning",
    "allowed_oauth_tenants",
    "claimed_email_domains",
    "first_party_connected_apps_allowed_type",
    "allowed_first_party_connected_apps",
    "third_party_connected_apps_allowed_type",
    "allowed_third_party_connected_apps",
];

fn valid_slug(s: &str) -> bool {
    (2..=128).contains(&s.chars().count())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
}

fn slugify(name: &str) -> String {
    let mut s: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let s = s.trim_matches('-').to_string();
    if s.len() < 2 { format!("org-{s}") } else { s.chars().take(100).collect() }
}

fn check_slug(p: &Project, slug: &str, except_id: Option<&str>) -> Result<(), ApiError> {
    if !valid_slug(slug) {
        return Err(ApiError::new(
            400,
            "invalid_organization_slug",
            "The organization_slug must be between 2 and 128 characters and contain only alphanumerics and - . _ ~",
        ));
    }
    let taken = p.orgs.iter().any(|o| {
        str_field(&o.data, "organization_slug") == slug
            && Some(str_field(&o.data, "organization_id")) != except_id
    });
    if taken {
        return Err(ApiError::new(
            400,
            "organization_slug_already_used",
            "The provided organization_slug is already used in another organization.",
        ));
    }
    Ok(())
}

pub async fn org_create(State(st): State<Shared>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let mut g = st.lock();
    let seq = g.org_seq + 1;
    let p = project_for(&mut g, &headers, Kind::B2b)?;
    let name = body.get("organization_name").and_then(Value::as_str).unwrap_or("").trim().to_string();
    if name.is_empty() {
        return Err(ApiError::new(400, "organization_name_missing", "organization_name is a required field."));
    }
    let slug = match body.get("organization_slug").and_then(Value::as_str) {
        Some(s) => s.to_string(),
        None => {
            let base = slugify(&name);
            let mut s = base.clone();
            let mut n = 1;
            while p.orgs.iter().any(|o| str_field(&o.data, "organization_slug") == s) {
                n += 1;
                s = format!("{base}-{n}");
            }
            s
        }
    };
    check_slug(p, &slug, None)?;
    let now = rfc3339(now_unix());
    let mut org = json!({
        "organization_id": format!("organization-{}-{}", p.env(), uuid_v4()),
        "organization_name": name,
        "organization_slug": slug,
        "organization_logo_url": "",
        "organization_external_id": "",
        "sso_jit_provisioning": "NOT_ALLOWED",
        "sso_jit_provisioning_allowed_connections": [],
        "sso_active_connections": [],
        "sso_default_connection_id": null,
        "scim_active_connection": null,
        "email_allowed_domains": [],
        "email_jit_provisioning": "NOT_ALLOWED",
        "email_invites": "ALL_ALLOWED",
        "auth_methods": "ALL_ALLOWED",
        "allowed_auth_methods": [],
        "mfa_policy": "OPTIONAL",
        "rbac_email_implicit_role_assignments": [],
        "mfa_methods": "ALL_ALLOWED",
        "allowed_mfa_methods": [],
        "oauth_tenant_jit_provisioning": "NOT_ALLOWED",
        "allowed_oauth_tenants": {},
        "claimed_email_domains": [],
        "first_party_connected_apps_allowed_type": "ALL_ALLOWED",
        "allowed_first_party_connected_apps": [],
        "third_party_connected_apps_allowed_type": "ALL_ALLOWED",
        "allowed_third_party_connected_apps": [],
        "custom_roles": [],
        "trusted_metadata": {},
        "created_at": now,
        "updated_at": now,
    });
    let Value::Object(ref mut data) = org else { unreachable!() };
    copy_fields(data, &body, ORG_SETTABLE);
    data.insert("organization_name".into(), Value::String(name));
    apply_metadata(data, "trusted_metadata", body.get("trusted_metadata"))?;
    let data = data.clone();
    let live = p.live;
    p.orgs.push(Org { seq, data: data.clone(), members: vec![] });
    g.org_seq = seq;
    Ok(ok(live, json!({ "organization": data })))
}

pub async fn org_get(State(st): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let mut g = st.lock();
    let p = project_for(&mut g, &headers, Kind::B2b)?;
    let i = p.find_org(&id).ok_or_else(ApiError::org_not_found)?;
    Ok(ok(p.live, json!({ "organization": p.orgs[i].data })))
}

pub async fn org_update(
    State(st): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body = parse_body(&body)?;
    let mut g = st.lock();
    let p = project_for(&mut g, &headers, Kind::B2b)?;
    let i = p.find_org(&id).ok_or_else(ApiError::org_not_found)?;
    let mut data = p.orgs[i].data.clone();
    if body.get("organization_name").and_then(Value::as_str).is_some_and(|n| n.trim().is_empty()) {
        return Err(ApiError::new(400, "organization_name_missing", "organization_name cannot be empty."));
    }
    if let Some(slug) = body.get("organization_slug").and_then(Value::as_str) {
        let own_id = str_field(&data, "organization_id").to_string();
        check_slug(p, slug, Some(&own_id))?;
        data.insert("organization_slug".into(), Value::String(slug.to_string()));
    }
    copy_fields(&mut data, &body, ORG_SETTABLE);
    apply_metadata(&mut data, "trusted_metadata", body.get("trusted_metadata"))?;
    data.insert("updated_at".into(), Value::String(rfc3339(now_unix())));
    p.orgs[i].data = data.clone();
    // members carry their organization's id only; nothing to refresh
    Ok(ok(p.live, json!({ "organization": data })))
}

pub async fn org_delete(State(st): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let mut g = st.lock();
    let p = project_for(&mut g, &headers, Kind::B2b)?;
    let i = p.find_org(&id).ok_or_else(ApiError::org_not_found)?;
    let org = p.orgs.remove(i);
    let org_id = str_field(&org.data, "organization_id").to_string();
    p.sessions.retain(|s| s.organization_id.as_deref() != Some(org_id.as_str()));
    Ok(ok(p.live, json!({ "organization_id": org_id })))
}

fn search_matches(org: &Org, query: &Value) -> Result<bool, ApiError> {
    let Some(q) = query.as_object() else { return Ok(true) };
    let operator = q.get("operator").and_then(Value::as_str).unwrap_or("AND").to_ascii_uppercase();
    let operands = match q.get("operands") {
        Some(Value::Array(a)) => a,
        _ => return Ok(true),
    };
    if operands.is_empty() {
        return Ok(true);
    }
    let mut results = Vec::new();
    for op in operands {
        let name = op.get("filter_name").and_then(Value::as_str).ok_or_else(|| {
            ApiError::new(400, "organization_search_missing_filter_name", "Each operand needs a filter_name.")
        })?;
        let value = op.get("filter_value").ok_or_else(|| {
            ApiError::new(400, "organization_search_missing_filter_value", "Each operand needs a filter_value.")
        })?;
        let list = || -> Result<Vec<&str>, ApiError> {
            value.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).ok_or_else(|| {
                ApiError::new(400, "organization_search_expected_array_of_strings", format!("{name} expects an array of strings."))
            })
        };
        let text = || -> Result<String, ApiError> {
            value.as_str().map(str::to_lowercase).ok_or_else(|| {
                ApiError::new(400, "organization_search_expected_string", format!("{name} expects a string."))
            })
        };
        let d = &org.data;
        let r = match name {
            "organization_ids" => list()?.contains(&str_field(d, "organization_id")),
            "organization_slugs" => list()?.contains(&str_field(d, "organization_slug")),
            "organization_name_fuzzy" => str_field(d, "organization_name").to_lowercase().contains(&text()?),
            "organization_slug_fuzzy" => str_field(d, "organization_slug").to_lowercase().contains(&text()?),
            "member_emails" => {
                let l = list()?;
                org.members.iter().any(|m| l.iter().any(|e| e.eq_ignore_ascii_case(str_field(m, "email_address"))))
            }
            "allowed_domains" => {
                let l = list()?;
                d.get("email_allowed_domains")
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().filter_map(Value::as_str).any(|x| l.contains(&x)))
            }
            other => {
                return Err(ApiError::new(
                    400,
                    "organization_search_filter_name_not_recognized",
                    format!("The filter_name {other:?} is not supported by the emulator."),
                ));
            }
        };
        results.push(r);
    }
    Ok(if operator == "OR" { results.iter().any(|x| *x) } else { results.iter().all(|x| *x) })
}

fn encode_cursor(seq: u64) -> String {
    B64STD.encode(format!("org-seq:{seq}"))
}

fn decode_cursor(c: &str) -> Option<u64> {
    let raw = B64STD.decode(c).ok()?;
    String::from_utf8(raw).ok()?.strip_prefix("org-seq:")?.parse().ok()
}

/// Both search endpoints: 100 results by default, at most 1000 per page.
fn search_limit(body: &Obj) -> Result<usize, ApiError> {
    match body.get("limit") {
        None | Some(Value::Null) => Ok(100),
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Ok(n.min(1000) as usize),
            _ => Err(ApiError::bad_request("limit must be an integer between 1 and 1000.")),
        },
    }
}

pub async fn org_search(State(st): State<Shared>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let mut g = st.lock();
    let p = project_for(&mut g, &headers, Kind::B2b)?;
    let limit = search_limit(&body)?;
    let after = match body.get("cursor").and_then(Value::as_str) {
        None | Some("") => 0,
        Some(c) => decode_cursor(c).ok_or_else(|| ApiError::bad_request("The cursor is invalid."))?,
    };
    let query = body.get("query").cloned().unwrap_or(Value::Null);
    let mut matching = Vec::new();
    for o in &p.orgs {
        if search_matches(o, &query)? {
            matching.push(o);
        }
    }
    let total = matching.len();
    let page: Vec<&Org> = matching.iter().copied().filter(|o| o.seq > after).take(limit).collect();
    let next_cursor = match page.last() {
        Some(last) if matching.iter().any(|o| o.seq > last.seq) => Value::String(encode_cursor(last.seq)),
        _ => Value::Null,
    };
    let orgs: Vec<&Obj> = page.iter().map(|o| &o.data).collect();
    Ok(ok(
        p.live,
        json!({ "organizations": orgs, "results_metadata": { "total": total, "next_cursor": next_cursor } }),
    ))
}

// ---------------------------------------------------------------- members

pub fn member_roles(explicit: &[String]) -> Vec<Value> {
    let source = json!([{ "type": "direct_assignment", "details": {} }]);
    let mut out = vec![json!({ "role_id": "stytch_member", "sources": source })];
    for r in explicit {
        if r != "stytch_member" && !out.iter().any(|x| x["role_id"] == r.as_str()) {
            out.push(json!({ "role_id": r, "sources": source }));
        }
    }
    out
}

pub fn member_role_ids(member: &Obj) -> Vec<String> {
    member
        .get("roles")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|r| r.get("role_id").and_then(Value::as_str).map(String::from)).collect())
        .unwrap_or_default()
}

fn string_list(v: Option<&Value>, field: &str) -> Result<Option<Vec<String>>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map(String::from).ok_or_else(|| ApiError::bad_request(format!("{field} must be an array of strings."))))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(ApiError::bad_request(format!("{field} must be an array of strings."))),
    }
}

const MEMBER_SETTABLE: &[&str] =
    &["name", "is_breakglass", "mfa_phone_number", "mfa_enrolled", "default_mfa_method", "external_id"];

pub async fn member_create(
    State(st): State<Shared>,
    headers: HeaderMap,
    Path(org_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body = parse_body(&body)?;
    let mut g = st.lock();
    let p = project_for(&mut g, &headers, Kind::B2b)?;
    let i = p.find_org(&org_id).ok_or_else(ApiError::org_not_found)?;
    let email = body.get("email_address").and_then(Value::as_str).unwrap_or("").trim().to_string();
    if !valid_email(&email) {
        return Err(ApiError::new(400, "invalid_email", "email_address must be a valid email address."));
    }
    if p.orgs[i].members.iter().any(|m| str_field(m, "email_address").eq_ignore_ascii_case(&email)) {
        return Err(ApiError::new(
            400,
            "duplicate_member_email",
            "A member with the specified email already exists for this organization.",
        ));
    }
    let roles = string_list(body.get("roles"), "roles")?.unwrap_or_default();
    let now = rfc3339(now_unix());
    let pending = body.get("create_member_as_pending").and_then(Value::as_bool).unwrap_or(false);
    let org_data = p.orgs[i].data.clone();
    let mut member = json!({
        "organization_id": str_field(&org_data, "organization_id"),
        "member_id": format!("member-{}-{}", p.env(), uuid_v4()),
        "email_address": email.to_lowercase(),
        "status": if pending { "pending" } else { "active" },
        "name": "",
        "sso_registrations": [],
        "is_breakglass": false,
        "member_password_id": "",
        "oauth_registrations": [],
        "email_address_verified": false,
        "mfa_phone_number_verified": false,
        "is_admin": roles.iter().any(|r| r == "stytch_admin"),
        "totp_registration_id": "",
        "retired_email_addresses": [],
        "is_locked": false,
        "mfa_enrolled": false,
        "mfa_phone_number": "",
        "default_mfa_method": "",
        "roles": member_roles(&roles),
        "trusted_metadata": {},
        "untrusted_metadata": {},
        "created_at": now,
        "updated_at": now,
        "scim_registration": null,
        "external_id": "",
    });
    let Value::Object(ref mut m) = member else { unreachable!() };
    copy_fields(m, &body, MEMBER_SETTABLE);
    apply_metadata(m, "trusted_metadata", body.get("trusted_metadata"))?;
    apply_metadata(m, "untrusted_metadata", body.get("untrusted_metadata"))?;
    let m = m.clone();
    p.orgs[i].members.push(m.clone());
    Ok(ok(p.live, json!({ "member_id": m["member_id"], "member": m, "organization": org_data })))
}

pub async fn member_get(
    State(st): State<Shared>,
    headers: HeaderMap,
    Path(org_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let mut g = st.lock();
    let p = project_for(&mut g, &headers, Kind::B2b)?;
    let i = p.find_org(&org_id).ok_or_else(ApiError::org_not_found)?;
    let org = &p.orgs[i];
    let member = match (q.get("member_id"), q.get("email_address")) {
        (Some(id), _) => org.members.iter().find(|m| str_field(m, "member_id") == id),
        (None, Some(e)) => org.members.iter().find(|m| str_field(m, "email_address").eq_ignore_ascii_case(e)),
        (None, None) => {
            return Err(ApiError::new(400, "invalid_member_get_fields", "Pass member_id or email_address."));
        }
    }
    .ok_or_else(ApiError::member_not_found)?;
    Ok(ok(p.live, json!({ "member_id": member["member_id"], "member": member, "organization": org.data })))
}

pub async fn member_update(
    State(st): State<Shared>,
    headers: HeaderMap,
    Path((org_id, member_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = parse_body(&body)?;
    let mut g = st.lock();
    let p = project_for(&mut g, &headers, Kind::B2b)?;
    let i = p.find_org(&org_id).ok_or_else(ApiError::org_not_found)?;
    let j = p.orgs[i]
        .members
        .iter()
        .position(|m| str_field(m, "member_id") == member_id)
        .ok_or_else(ApiError::member_not_found)?;
    let mut m = p.orgs[i].members[j].clone();
    copy_fields(&mut m, &body, MEMBER_SETTABLE);
    if let Some(email) = body.get("email_address").and_then(Value::as_str) {
        if !valid_email(email) {
            return Err(ApiError::new(400, "invalid_email", "email_address must be a valid email address."));
        }
        m.insert("email_address".into(), Value::String(email.to_lowercase()));
    }
    if let Some(roles) = string_list(body.get("roles"), "roles")? {
        m.insert("is_admin".into(), Value::Bool(roles.iter().any(|r| r == "stytch_admin")));
        m.insert("roles".into(), Value::Array(member_roles(&roles)));
    }
    apply_metadata(&mut m, "trusted_metadata", body.get("trusted_metadata"))?;
    apply_metadata(&mut m, "untrusted_metadata", body.get("untrusted_metadata"))?;
    m.insert("updated_at".into(), Value::String(rfc3339(now_unix())));
    p.orgs[i].members[j] = m.clone();
    Ok(ok(p.live, json!({ "member_id": member_id, "member": m, "organization": p.orgs[i].data })))
}

pub async fn member_delete(
    State(st): State<Shared>,
    headers: HeaderMap,
    Path((org_id, member_id)): Path<(String, String)>,
) -> ApiResult {
    let mut g = st.lock();
    let p = project_for(&mut g, &headers, Kind::B2b)?;
    let i = p.find_org(&org_id).ok_or_else(ApiError::org_not_found)?;
    let j = p.orgs[i]
        .members
        .iter()
        .position(|m| str_field(m, "member_id") == member_id)
        .ok_or_else(ApiError::member_not_found)?;
    p.orgs[i].members.remove(j);
    p.sessions.retain(|s| s.subject != member_id);
    Ok(ok(p.live, json!({ "member_id": member_id })))
}

// ---------------------------------------------------------------- consumer users

fn user_name(v: Option<&Value>) -> Result<Option<Obj>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let mut m = Map::new();
            m.insert("first_name".into(), Value::String(s.clone()));
            Ok(Some(m))
        }
        Some(Value::Object(o)) => Ok(Some(o.clone())),
        Some(_) => Err(ApiError::bad_request("name must be an object {first_name, middle_name, last_name}.")),
    }
}

fn user_flat(u: &Obj) -> Value {
    Value::Object(u.clone())
}

pub async fn user_create(State(st): State<Shared>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let mut g = st.lock();
    let p = project_for(&mut g, &headers, Kind::Consumer)?;
    let email = body.get("email").and_then(Value::as_str).map(|s| s.trim().to_lowercase());
    let phone = body.get("phone_number").and_then(Value::as_str).map(String::from);
    if email.is_none() && phone.is_none() {
        return Err(ApiError::new(
            400,
            "invalid_create_user_request",
            "Users must be created with an email or a phone_number.",
        ));
    }
    let mut emails = vec![];
    let mut email_id = String::new();
    if let Some(e) = &email {
        if !valid_email(e) {
            return Err(ApiError::new(400, "invalid_email", "email must be a valid email address."));
        }
        let dup = p.users.iter().any(|u| {
            u.get("emails").and_then(Value::as_array).is_some_and(|a| a.iter().any(|x| x["email"] == e.as_str()))
        });
        if dup {
            return Err(ApiError::new(400, "duplicate_email", "A user with the specified email already exists for this project."));
        }
        email_id = format!("email-{}-{}", p.env(), uuid_v4());
        emails.push(json!({ "email_id": email_id, "email": e, "verified": false }));
    }
    let mut phone_numbers = vec![];
    let mut phone_id = String::new();
    if let Some(ph) = &phone {
        phone_id = format!("phone-number-{}-{}", p.env(), uuid_v4());
        phone_numbers.push(json!({ "phone_id": phone_id, "phone_number": ph, "verified": false }));
    }
    let mut name = json!({ "first_name": "", "middle_name": "", "last_name": "" });
    if let (Some(n), Value::Object(target)) = (user_name(body.get("name"))?, &mut name) {
        for (k, v) in n {
            target.insert(k, v);
        }
    }
    let pending = body.get("create_user_as_pending").and_then(Value::as_bool).unwrap_or(false);
    let roles = string_list(body.get("roles"), "roles")?.unwrap_or_default();
    let mut user = json!({
        "user_id": format!("user-{}-{}", p.env(), uuid_v4()),
        "emails": emails,
        "status": if pending { "pending" } else { "active" },
        "phone_numbers": phone_numbers,
        "webauthn_registrations": [],
        "providers": [],
        "totps": [],
        "crypto_wallets": [],
        "biometric_registrations": [],
        "is_locked": false,
        "roles": roles,
        "name": name,
        "created_at": rfc3339(now_unix()),
        "password": null,
        "trusted_metadata": {},
        "untrusted_metadata": {},
        "external_id": body.get("external_id").and_then(Value::as_str).unwrap_or(""),
        "lock_created_at": null,
        "lock_expires_at": null,
    });
    let Value::Object(ref mut u) = user else { unreachable!() };
    apply_metadata(u, "trusted_metadata", body.get("trusted_metadata"))?;
    apply_metadata(u, "untrusted_metadata", body.get("untrusted_metadata"))?;
    let u = u.clone();
    p.users.push(u.clone());
    Ok(ok(
        p.live,
        json!({
            "user_id": u["user_id"],
            "email_id": email_id,
            "status": u["status"],
            "phone_id": phone_id,
            "user": u,
        }),
    ))
}

pub async fn user_get(State(st): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let mut g = st.lock();
    let p = project_for(&mut g, &headers, Kind::Consumer)?;
    let i = p.find_user(&id).ok_or_else(ApiError::user_not_found)?;
    Ok(ok(p.live, user_flat(&p.users[i])))
}

/// `POST /v1/users/search`: users ordered by id, cursor = the last id of the previous page, so a
/// user deleted between pages does not shift the next one. Filters: `user_ids`, `status`.
pub async fn user_search(State(st): State<Shared>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let mut g = st.lock();
    let p = project_for(&mut g, &headers, Kind::Consumer)?;
    let limit = search_limit(&body)?;
    let after = match body.get("cursor").and_then(Value::as_str) {
        None | Some("") => None,
        Some(c) => Some(
            B64STD
                .decode(c)
                .ok()
                .and_then(|raw| String::from_utf8(raw).ok())
                .and_then(|s| s.strip_prefix("user-after:").map(String::from))
                .ok_or_else(|| ApiError::bad_request("The cursor is invalid."))?,
        ),
    };
    let query = body.get("query").cloned().unwrap_or(Value::Null);
    let operator = query.get("operator").and_then(Value::as_str).unwrap_or("AND").to_ascii_uppercase();
    let operands = query.get("operands").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut matching: Vec<&Obj> = Vec::new();
    for u in &p.users {
        let mut results = Vec::new();
        for op in &operands {
            let name = op.get("filter_name").and_then(Value::as_str).unwrap_or("");
            let value = op.get("filter_value").unwrap_or(&Value::Null);
            results.push(match name {
                "user_ids" => value.as_array().is_some_and(|a| a.iter().any(|x| x.as_str() == Some(str_field(u, "user_id")))),
                "status" => value.as_str() == Some(str_field(u, "status")),
                other => {
                    return Err(ApiError::new(
                        400,
                        "search_filter_name_not_recognized",
                        format!("The filter_name {other:?} is not supported by the emulator."),
                    ));
                }
            });
        }
        let hit = results.is_empty() || if operator == "OR" { results.iter().any(|x| *x) } else { results.iter().all(|x| *x) };
        if hit {
            matching.push(u);
        }
    }
    matching.sort_by(|a, b| str_field(a, "user_id").cmp(str_field(b, "user_id")));
    let total = matching.len();
    let start = after.map_or(0, |a| matching.partition_point(|u| str_field(u, "user_id") <= a.as_str()));
    let page: Vec<&Obj> = matching[start..].iter().take(limit).copied().collect();
    let next_cursor = match page.last() {
        Some(last) if start + page.len() < total => Value::String(B64STD.encode(format!("user-after:{}", str_field(last, "user_id")))),
        _ => Value::Null,
    };
    Ok(ok(p.live, json!({ "results": page, "results_metadata": { "total": total, "next_cursor": next_cursor } })))
}

pub async fn user_update(
    State(st): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body = parse_body(&body)?;
    let mut g = st.lock();
    let p = project_for(&mut g, &headers, Kind::Consumer)?;
    let i = p.find_user(&id).ok_or_else(ApiError::user_not_found)?;
    let mut u = p.users[i].clone();
    if let Some(n) = user_name(body.get("name"))? {
        let mut name = match u.get("name") {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        for (k, v) in n {
            name.insert(k, v);
        }
        u.insert("name".into(), Value::Object(name));
    }
    if let Some(roles) = string_list(body.get("roles"), "roles")? {
        u.insert("roles".into(), json!(roles));
    }
    copy_fields(&mut u, &body, &["external_id"]);
    apply_metadata(&mut u, "trusted_metadata", body.get("trusted_metadata"))?;
    apply_metadata(&mut u, "untrusted_metadata", body.get("untrusted_metadata"))?;
    p.users[i] = u.clone();
    Ok(ok(
        p.live,
        json!({
            "user_id": u["user_id"],
            "emails": u["emails"],
            "phone_numbers": u["phone_numbers"],
            "crypto_wallets": u["crypto_wallets"],
            "user": u,
        }),
    ))
}

pub async fn user_delete(State(st): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let mut g = st.lock();
    let p = project_for(&mut g, &headers, Kind::Consumer)?;
    let i = p.find_user(&id).ok_or_else(ApiError::user_not_found)?;
    p.users.remove(i);
    p.sessions.retain(|s| s.subject != id);
    Ok(ok(p.live, json!({ "user_id": id })))
}

// ---------------------------------------------------------------- sessions

pub fn session_claims(p: &Project, s: &Session, iat: i64, nbf: i64, exp: i64) -> Value {
    let mut claims = Map::new();
    for (k, v) in &s.custom_claims {
        claims.insert(k.clone(), v.clone());
    }
    claims.insert("aud".into(), json!([p.cfg.project_id]));
    claims.insert("exp".into(), json!(exp));
    claims.insert("iat".into(), json!(iat));
    claims.insert("iss".into(), json!(format!("stytch.com/{}", p.cfg.project_id)));
    claims.insert("nbf".into(), json!(nbf));
    claims.insert("sub".into(), json!(s.subject));
    claims.insert(
        "https://stytch.com/session".into(),
        json!({
            "id": s.id,
            "started_at": rfc3339(s.started_at),
            "last_accessed_at": rfc3339(s.last_accessed_at),
            "expires_at": rfc3339(s.expires_at),
            "attributes": { "ip_address": "", "user_agent": "" },
            "authentication_factors": s.factors,
            "roles": s.roles,
        }),
    );
    if let Some(org_id) = &s.organization_id {
        let slug = p
            .find_org(org_id)
            .map(|i| str_field(&p.orgs[i].data, "organization_slug").to_string())
            .unwrap_or_default();
        claims.insert("https://stytch.com/organization".into(), json!({ "organization_id": org_id, "slug": slug }));
    }
    Value::Object(claims)
}

fn member_session_obj(p: &Project, s: &Session) -> Value {
    let org_id = s.organization_id.clone().unwrap_or_default();
    let slug = p.find_org(&org_id).map(|i| str_field(&p.orgs[i].data, "organization_slug").to_string());
    json!({
        "member_session_id": s.id,
        "member_id": s.subject,
        "started_at": rfc3339(s.started_at),
        "last_accessed_at": rfc3339(s.last_accessed_at),
        "expires_at": rfc3339(s.expires_at),
        "authentication_factors": s.factors,
        "organization_id": org_id,
        "roles": s.roles,
        "organization_slug": slug.unwrap_or_default(),
        "custom_claims": s.custom_claims,
    })
}

fn user_session_obj(s: &Session) -> Value {
    json!({
        "session_id": s.id,
        "user_id": s.subject,
        "authentication_factors": s.factors,
        "roles": s.roles,
        "started_at": rfc3339(s.started_at),
        "last_accessed_at": rfc3339(s.last_accessed_at),
        "expires_at": rfc3339(s.expires_at),
        "attributes": { "ip_address": "", "user_agent": "" },
        "custom_claims": s.custom_claims,
    })
}

/// Find the live session named by `session_token` or `session_jwt`; drops expired sessions.
fn locate_session(p: &mut Project, body: &Obj) -> Result<usize, ApiError> {
    let token = body.get("session_token").and_then(Value::as_str).filter(|s| !s.is_empty());
    let jwt = body.get("session_jwt").and_then(Value::as_str).filter(|s| !s.is_empty());
    let now = now_unix();
    p.sessions.retain(|s| s.expires_at > now);
    match (token, jwt) {
        (Some(_), Some(_)) => Err(ApiError::new(
            400,
            "too_many_session_arguments",
            "Pass either session_token or session_jwt, not both.",
        )),
        (None, None) => Err(ApiError::new(400, "no_session_arguments", "Pass session_token or session_jwt.")),
        (Some(t), None) => p.sessions.iter().position(|s| s.token == t).ok_or_else(ApiError::session_not_found),
        (None, Some(j)) => {
            let claims = verify_jwt(j, &p.keys).map_err(|e| match e {
                JwtError::Malformed => ApiError::new(400, "unable_to_parse_session_jwt", "The session_jwt could not be parsed."),
                JwtError::UnknownKey | JwtError::BadSignature => ApiError::session_not_found(),
            })?;
            let pid = &p.cfg.project_id;
            let aud_ok = match &claims["aud"] {
                Value::Array(a) => a.iter().any(|x| x == pid.as_str()),
                Value::String(s) => s == pid,
                _ => false,
            };
            if !aud_ok {
                return Err(ApiError::new(400, "jwt_invalid_audience", "The session_jwt has an invalid audience."));
            }
            if claims["iss"] != format!("stytch.com/{pid}").as_str() {
                return Err(ApiError::new(400, "jwt_invalid_issuer", "The session_jwt has an invalid issuer."));
            }
            let sid = claims["https://stytch.com/session"]["id"].as_str().unwrap_or("");
            p.sessions.iter().position(|s| s.id == sid).ok_or_else(ApiError::session_not_found)
        }
    }
}

fn touch_session(p: &mut Project, idx: usize, body: &Obj) -> Result<String, ApiError> {
    let now = now_unix();
    if let Some(v) = body.get("session_duration_minutes").filter(|v| !v.is_null()) {
        let m = v.as_i64().filter(|m| (5..=527_040).contains(m)).ok_or_else(|| {
            ApiError::new(400, "invalid_session_duration_minutes", "session_duration_minutes must be between 5 and 527040.")
        })?;
        p.sessions[idx].expires_at = now + m * 60;
    }
    if let Some(Value::Object(cc)) = body.get("session_custom_claims") {
        for (k, v) in cc {
            if v.is_null() {
                p.sessions[idx].custom_claims.remove(k);
            } else {
                p.sessions[idx].custom_claims.insert(k.clone(), v.clone());
            }
        }
    }
    p.sessions[idx].last_accessed_at = now;
    let exp = (now + JWT_LIFETIME_S).min(p.sessions[idx].expires_at);
    let claims = session_claims(p, &p.sessions[idx], now, now, exp);
    p.current_key().sign_jwt(&claims).map_err(|e| ApiError::new(500, "internal_server_error", e))
}

pub async fn b2b_session_authenticate(State(st): State<Shared>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let mut g = st.lock();
    let p = project_for(&mut g, &headers, Kind::B2b)?;
    let idx = locate_session(p, &body)?;
    let org_id = p.sessions[idx].organization_id.clone().unwrap_or_default();
    let oi = p.find_org(&org_id).ok_or_else(ApiError::session_not_found)?;
    let member = p.orgs[oi]
        .members
        .iter()
        .find(|m| str_field(m, "member_id") == p.sessions[idx].subject)
        .cloned()
        .ok_or_else(ApiError::session_not_found)?;
    let jwt = touch_session(p, idx, &body)?;
    let s = &p.sessions[idx];
    Ok(ok(
        p.live,
        json!({
            "member_id": s.subject,
            "member_session": member_session_obj(p, s),
            "session_token": s.token,
            "session_jwt": jwt,
            "member": member,
            "organization": p.orgs[oi].data,
        }),
    ))
}

pub async fn session_authenticate(State(st): State<Shared>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let mut g = st.lock();
    let p = project_for(&mut g, &headers, Kind::Consumer)?;
    let idx = locate_session(p, &body)?;
    let ui = p.find_user(&p.sessions[idx].subject).ok_or_else(ApiError::session_not_found)?;
    let user = p.users[ui].clone();
    let jwt = touch_session(p, idx, &body)?;
    let s = &p.sessions[idx];
    Ok(ok(
        p.live,
        json!({
            "session": user_session_obj(s),
            "session_token": s.token,
            "session_jwt": jwt,
            "user": user,
        }),
    ))
}

async fn revoke(st: Shared, headers: HeaderMap, body: Bytes, kind: Kind) -> ApiResult {
    let body = parse_body(&body)?;
    let mut g = st.lock();
    let p = project_for(&mut g, &headers, kind)?;
    let id_field = if kind == Kind::B2b { "member_session_id" } else { "session_id" };
    if let Some(id) = body.get(id_field).and_then(Value::as_str) {
        let i = p.sessions.iter().position(|s| s.id == id).ok_or_else(ApiError::session_not_found)?;
        p.sessions.remove(i);
    } else if let Some(member_id) = body.get("member_id").and_then(Value::as_str).filter(|_| kind == Kind::B2b) {
        p.sessions.retain(|s| s.subject != member_id);
    } else {
        let i = locate_session(p, &body)
            .map_err(|e| if e.error_type == "no_session_arguments" { ApiError::new(400, "no_session_revoke_arguments", "Nothing to revoke.") } else { e })?;
        p.sessions.remove(i);
    }
    Ok(ok(p.live, json!({})))
}

pub async fn b2b_session_revoke(State(st): State<Shared>, headers: HeaderMap, body: Bytes) -> ApiResult {
    revoke(st, headers, body, Kind::B2b).await
}

pub async fn session_revoke(State(st): State<Shared>, headers: HeaderMap, body: Bytes) -> ApiResult {
    revoke(st, headers, body, Kind::Consumer).await
}

/// `GET /v1/{b2b/}sessions/jwks/{project_id}` — no authentication, like Stytch.
pub async fn jwks(State(st): State<Shared>, Path(project_id): Path<String>) -> ApiResult {
    let g = st.lock();
    let i = g
        .project_idx(&project_id)
        .ok_or_else(|| ApiError::new(404, "project_not_found", "Project could not be found."))?;
    let p = &g.projects[i];
    let keys: Vec<Value> = p.keys.iter().rev().map(|k| k.jwk()).collect();
    Ok(ok(p.live, json!({ "keys": keys })))
}

pub fn new_session(
    p: &Project,
    subject: &str,
    organization_id: Option<String>,
    factors: Vec<Value>,
    roles: Vec<String>,
    started_at: i64,
    expires_at: i64,
) -> Session {
    let id = match organization_id {
        Some(_) => format!("member-session-{}-{}", p.env(), uuid_v4()),
        None => format!("session-{}-{}", p.env(), uuid_v4()),
    };
    Session {
        id,
        token: random_token(44),
        subject: subject.to_string(),
        organization_id,
        started_at,
        last_accessed_at: started_at,
        expires_at,
        factors,
        roles,
        custom_claims: Map::new(),
    }
}
