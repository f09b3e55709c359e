//! Test-only control API under `/__gatehouse/` (names fixed by the design).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::api::{ApiResult, basic_auth, member_role_ids, new_session, parse_body, session_claims};
use crate::error::ApiError;
use emulator_common::faults::Fault;
use emulator_common::keys::SigningKey;
use crate::state::{FaultError, Kind, Obj, Project, RateLimit, Shared, str_field};
use crate::util::{now_unix, rfc3339};

fn plain(v: Value) -> Response {
    axum::Json(v).into_response()
}

/// Map a short factor name to Stytch's `{type, delivery_method}`.
fn factor(name: &str, email: &str, email_id: &str, at: &str) -> Result<Value, ApiError> {
    let (t, d) = match name {
        "email_otp" | "otp_email" => ("otp", "email"),
        "sms_otp" | "otp_sms" => ("otp", "sms"),
        "whatsapp_otp" => ("otp", "whatsapp"),
        "magic_link" | "email_magic_link" => ("magic_link", "email"),
        "totp" => ("totp", "authenticator_app"),
        "password" => ("password", "knowledge"),
        "recovery_code" | "recovery_codes" => ("recovery_codes", "recovery_code"),
        "webauthn" | "passkey" => ("webauthn", "webauthn_registration"),
        "sso" | "sso_saml" | "saml" => ("sso", "sso_saml"),
        "sso_oidc" | "oidc" => ("sso", "sso_oidc"),
        "impersonated" => ("impersonated", "impersonation"),
        "trusted_auth_token" => ("trusted_auth_token", "trusted_token_exchange"),
        other => match other.strip_prefix("oauth_") {
            Some(provider) if !provider.is_empty() => ("oauth", other),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "unknown authentication factor {other:?} (email_otp, sms_otp, magic_link, totp, password, recovery_code, webauthn, sso, sso_oidc, oauth_<provider>)"
                )));
            }
        },
    };
    let mut f = json!({
        "type": t,
        "delivery_method": d,
        "last_authenticated_at": at,
        "created_at": at,
        "updated_at": at,
    });
    if d == "email" {
        f["email_factor"] = json!({ "email_id": email_id, "email_address": email });
    }
    Ok(f)
}

fn i64_field(body: &Obj, k: &str) -> Result<Option<i64>, ApiError> {
    match body.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| ApiError::bad_request(format!("{k} must be an integer"))),
    }
}

/// `POST /__gatehouse/sessions`
pub async fn mint_session(State(st): State<Shared>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let mut g = st.lock();
    let member_id = body.get("member_id").and_then(Value::as_str).map(String::from);
    let user_id = body.get("user_id").and_then(Value::as_str).map(String::from);
    let org_ref = body.get("organization_id").and_then(Value::as_str).map(String::from);

    // which project: explicit project_id > Basic auth > the project owning the member/user
    let pidx = if let Some(pid) = body.get("project_id").and_then(Value::as_str) {
        g.project_idx(pid)
            .ok_or_else(|| ApiError::new(404, "project_not_found", format!("No project {pid} in STYTCH_PROJECTS.")))?
    } else if headers.contains_key(axum::http::header::AUTHORIZATION) {
        basic_auth(&g, &headers)?
    } else {
        let owner = g.projects.iter().position(|p| match (&member_id, &user_id) {
            (Some(m), _) => p.orgs.iter().any(|o| o.members.iter().any(|x| str_field(x, "member_id") == m)),
            (None, Some(u)) => p.find_user(u).is_some(),
            _ => false,
        });
        match owner {
            Some(i) => i,
            None if member_id.is_some() => return Err(ApiError::member_not_found()),
            None if user_id.is_some() => return Err(ApiError::user_not_found()),
            None => return Err(ApiError::bad_request("Pass {organization_id, member_id} or {user_id}.")),
        }
    };

    let ttl = i64_field(&body, "ttl_s")?.unwrap_or(300);
    let iat_off = i64_field(&body, "iat_offset_s")?.unwrap_or(0);
    let nbf_off = i64_field(&body, "nbf_offset_s")?.unwrap_or(iat_off);
    let now = now_unix();
    let iat = now + iat_off;
    let nbf = now + nbf_off;
    let exp = iat + ttl;
    let at = rfc3339(iat);
    let explicit_roles: Option<Vec<String>> = match body.get("roles") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => Some(a.iter().filter_map(Value::as_str).map(String::from).collect()),
        Some(_) => return Err(ApiError::bad_request("roles must be an array of strings")),
    };
    let factor_names: Vec<Value> = match body.get("authentication_factors") {
        None | Some(Value::Null) => vec![json!("email_otp")],
        Some(Value::Array(a)) if !a.is_empty() => a.clone(),
        Some(_) => return Err(ApiError::bad_request("authentication_factors must be a non-empty array")),
    };

    let p: &mut Project = &mut g.projects[pidx];
    let (subject, org_id, email, email_id, default_roles) = match p.cfg.kind {
        Kind::B2b => {
            let Some(mid) = member_id else {
                return Err(ApiError::new(
                    400,
                    "invalid_b2b_endpoint",
                    format!("{} is a B2B project: pass organization_id and member_id.", p.cfg.project_id),
                ));
            };
            let oi = match &org_ref {
                Some(o) => p.find_org(o).ok_or_else(ApiError::org_not_found)?,
                None => p
                    .orgs
                    .iter()
                    .position(|o| o.members.iter().any(|m| str_field(m, "member_id") == mid))
                    .ok_or_else(ApiError::member_not_found)?,
            };
            let m = p.orgs[oi]
                .members
                .iter()
                .find(|m| str_field(m, "member_id") == mid)
                .ok_or_else(ApiError::member_not_found)?;
            (
                mid.clone(),
                Some(str_field(&p.orgs[oi].data, "organization_id").to_string()),
                str_field(m, "email_address").to_string(),
                String::new(),
                member_role_ids(m),
            )
        }
        Kind::Consumer => {
            let Some(uid) = user_id else {
                return Err(ApiError::new(
                    400,
                    "invalid_consumer_endpoint",
                    format!("{} is a consumer project: pass user_id.", p.cfg.project_id),
                ));
            };
            let ui = p.find_user(&uid).ok_or_else(ApiError::user_not_found)?;
            let u = &p.users[ui];
            let first_email = u.get("emails").and_then(|e| e.get(0)).cloned().unwrap_or(Value::Null);
            let mut roles = vec!["stytch_user".to_string()];
            if let Some(a) = u.get("roles").and_then(Value::as_array) {
                roles.extend(a.iter().filter_map(Value::as_str).map(String::from).filter(|r| r != "stytch_user"));
            }
            (
                uid.clone(),
                None,
                first_email["email"].as_str().unwrap_or("").to_string(),
                first_email["email_id"].as_str().unwrap_or("").to_string(),
                roles,
            )
        }
    };
    let mut factors = Vec::new();
    for f in &factor_names {
        match f {
            Value::String(name) => factors.push(factor(name, &email, &email_id, &at)?),
            Value::Object(_) => factors.push(f.clone()),
            _ => return Err(ApiError::bad_request("authentication_factors entries must be strings or objects")),
        }
    }
    let roles = explicit_roles.unwrap_or(default_roles);
    let mut session = new_session(p, &subject, org_id, factors, roles, iat, exp);
    if let Some(Value::Object(cc)) = body.get("custom_claims") {
        session.custom_claims = cc.clone();
    }
    let mut claims = session_claims(p, &session, iat, nbf, exp);
    // Test-only: override top-level claims (e.g. a wrong `aud` or `iss`), still signed with the
    // project's real key, so verifiers can be tested claim by claim.
    if let (Some(Value::Object(over)), Value::Object(c)) = (body.get("override_claims"), &mut claims) {
        for (k, v) in over {
            if v.is_null() { c.remove(k); } else { c.insert(k.clone(), v.clone()); }
        }
    }
    let key = p.current_key();
    let jwt = key.sign_jwt(&claims).map_err(|e| ApiError::new(500, "internal_server_error", e))?;
    let out = json!({
        "session_jwt": jwt,
        "session_token": session.token,
        "expires_at": rfc3339(exp),
        "session_id": session.id,
        "project_id": p.cfg.project_id,
        "kid": key.kid,
    });
    p.sessions.push(session);
    Ok(plain(out))
}

/// `POST /__gatehouse/keys/rotate` `{project_id?, remove_previous?}`
pub async fn rotate_keys(State(st): State<Shared>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let remove_previous = body.get("remove_previous").and_then(Value::as_bool).unwrap_or(false);
    let targets: Vec<usize> = {
        let g = st.lock();
        if let Some(pid) = body.get("project_id").and_then(Value::as_str) {
            vec![g.project_idx(pid).ok_or_else(|| ApiError::new(404, "project_not_found", "Project could not be found."))?]
        } else if headers.contains_key(axum::http::header::AUTHORIZATION) {
            vec![basic_auth(&g, &headers)?]
        } else {
            (0..g.projects.len()).collect()
        }
    };
    // generate outside the lock
    let mut new_keys = Vec::new();
    for &i in &targets {
        let live = st.lock().projects[i].live;
        new_keys.push((i, SigningKey::generate(live).map_err(|e| ApiError::new(500, "internal_server_error", e))?));
    }
    let mut g = st.lock();
    let mut out = Vec::new();
    for (i, key) in new_keys {
        let p = &mut g.projects[i];
        out.push(json!({ "project_id": p.cfg.project_id, "kid": key.kid }));
        if remove_previous {
            p.keys.clear();
        }
        p.keys.push(key);
    }
    let kid = out.first().map(|v| v["kid"].clone()).unwrap_or(Value::Null);
    Ok(plain(json!({ "kid": kid, "keys": out })))
}

/// `POST /__gatehouse/faults` `{method?, path, match?, status | hang_ms, count?, error_type?,
/// error_message?}` (emulators/common/src/faults.rs)
pub async fn add_fault(State(st): State<Shared>, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let error = FaultError {
        error_type: body.get("error_type").and_then(Value::as_str).map(String::from),
        error_message: body.get("error_message").and_then(Value::as_str).map(String::from),
    };
    let fault = Fault::parse(&body, error).map_err(ApiError::bad_request)?;
    let echo = fault.echo();
    let mut g = st.lock();
    let active = g.faults.add(fault);
    Ok(plain(json!({ "fault": echo, "active_faults": active })))
}

/// `DELETE /__gatehouse/faults` clears every fault, or with a body `{method?, path, match?}` only
/// the faults registered for exactly those (so parallel tests keep their own).
pub async fn clear_faults(State(st): State<Shared>, body: Bytes) -> ApiResult {
    let mut g = st.lock();
    if body.is_empty() {
        g.faults.clear();
    } else {
        let body = parse_body(&body)?;
        let path = body.get("path").and_then(Value::as_str).ok_or_else(|| ApiError::bad_request("path is required"))?;
        let method = body.get("method").and_then(Value::as_str);
        g.faults.clear_path(method, path, body.get("match").and_then(Value::as_str));
    }
    Ok(plain(json!({ "active_faults": g.faults.len() })))
}

/// `POST /__gatehouse/rate_limit` `{requests, per_ms}`: from now on each project gets at most
/// `requests` management calls per `per_ms` window; the rest answer 429 `too_many_requests`.
pub async fn set_rate_limit(State(st): State<Shared>, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let positive = |k: &str| {
        body.get(k).and_then(Value::as_u64).filter(|n| *n > 0).ok_or_else(|| ApiError::bad_request(format!("{k} must be a positive integer")))
    };
    let requests = u32::try_from(positive("requests")?).map_err(|_| ApiError::bad_request("requests is too large"))?;
    let per_ms = positive("per_ms")?;
    st.lock().rate_limit = Some(RateLimit {
        requests,
        per: std::time::Duration::from_millis(per_ms),
        windows: Default::default(),
        limited: 0,
        allowed: 0,
    });
    Ok(plain(json!({ "requests": requests, "per_ms": per_ms })))
}

/// `GET /__gatehouse/rate_limit`: the limit and what it did (`null` when none is set).
pub async fn rate_limit(State(st): State<Shared>) -> ApiResult {
    let g = st.lock();
    Ok(plain(match &g.rate_limit {
        Some(l) => json!({
            "requests": l.requests, "per_ms": l.per.as_millis() as u64, "allowed": l.allowed, "limited": l.limited,
        }),
        None => Value::Null,
    }))
}

/// `DELETE /__gatehouse/rate_limit`: no limit; answers what the removed one did.
pub async fn clear_rate_limit(State(st): State<Shared>) -> ApiResult {
    let old = st.lock().rate_limit.take();
    Ok(plain(json!({ "allowed": old.as_ref().map(|l| l.allowed), "limited": old.as_ref().map(|l| l.limited) })))
}

/// `GET /__gatehouse/calls`
pub async fn calls(State(st): State<Shared>) -> ApiResult {
    Ok(plain(st.lock().calls.to_json()))
}

/// `POST /__gatehouse/reset`
pub async fn reset(State(st): State<Shared>) -> ApiResult {
    let mut g = st.lock();
    for p in &mut g.projects {
        p.orgs.clear();
        p.users.clear();
        p.sessions.clear();
    }
    g.faults.clear();
    g.rate_limit = None;
    g.calls.clear();
    Ok(plain(json!({ "reset": true })))
}

/// `GET /__gatehouse/state`
pub async fn dump_state(State(st): State<Shared>) -> ApiResult {
    let g = st.lock();
    let projects: Vec<Value> = g
        .projects
        .iter()
        .map(|p| {
            let orgs: Vec<Value> = p
                .orgs
                .iter()
                .map(|o| {
                    let mut d: Map<String, Value> = o.data.clone();
                    d.insert("members".into(), json!(o.members));
                    Value::Object(d)
                })
                .collect();
            json!({
                "project_id": p.cfg.project_id,
                "kind": p.cfg.kind.as_str(),
                "kids": p.keys.iter().map(|k| k.kid.clone()).collect::<Vec<_>>(),
                "current_kid": p.current_key().kid,
                "organizations": orgs,
                "users": p.users,
                "active_sessions": p.sessions.iter().filter(|s| s.expires_at > now_unix()).count(),
            })
        })
        .collect();
    let faults: Vec<Value> = g
        .faults
        .iter()
        .map(|f| json!({"method": f.method, "path": f.path, "status": f.status, "hang_ms": f.hang_ms, "remaining": f.remaining}))
        .collect();
    Ok(plain(json!({ "projects": projects, "faults": faults })))
}

/// The error a status fault answers with.
pub fn fault_error(status: u16, f: FaultError) -> ApiError {
    let mut e = ApiError::for_status(status);
    if let Some(t) = f.error_type {
        e.error_type = t;
    }
    if let Some(m) = f.error_message {
        e.message = m;
    }
    e
}
