//! Test-only control API under `/__gatehouse/` (names shared with the other emulators).

use axum::body::Bytes;
use axum::extract::State;
use serde_json::{Value, json};

use emulator_common::faults::Fault;

use crate::api::{ApiResult, json_response};
use crate::error::ApiError;
use crate::session::{self, REFRESH_TTL_S, SessionSpec};
use crate::state::{FaultError, RateWindow, Shared};
use crate::store::Store;
use crate::util::{now_unix, opt_bool, opt_i64, opt_str, opt_str_list, parse_body, str_field};

pub const DEFAULT_TTL_S: i64 = 300;

/// `POST /__gatehouse/sessions`
pub async fn mint_session(State(st): State<Shared>, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let g = st.lock();
    let id = match (opt_str(&body, "login_id")?, opt_str(&body, "user_id")?) {
        (Some(l), _) if !l.is_empty() => l,
        (_, Some(u)) if !u.is_empty() => u,
        _ => return Err(ApiError::missing("Pass login_id or user_id of an existing user")),
    };
    let i = g.store.user_idx(&id)?;
    let amr = match (opt_str_list(&body, "authentication_factors")?, opt_str_list(&body, "amr")?) {
        (Some(a), _) if !a.is_empty() => a,
        (_, Some(a)) if !a.is_empty() => a,
        (None, None) => vec![],
        _ => return Err(ApiError::bad_request("authentication_factors / amr must be a non-empty array of strings")),
    };
    let tenant = match opt_str(&body, "tenant")? {
        Some(t) if !t.is_empty() => Some(t),
        _ => opt_str(&body, "dct")?.filter(|t| !t.is_empty()),
    };
    let spec = SessionSpec {
        amr,
        roles: opt_str_list(&body, "roles")?,
        permissions: opt_str_list(&body, "permissions")?,
        tenants: body.get("tenants").filter(|v| !v.is_null()).cloned(),
        dct: tenant,
        dct_only: opt_bool(&body, "dct_only")?.unwrap_or(false),
        ttl_s: opt_i64(&body, "ttl_s")?.unwrap_or(DEFAULT_TTL_S),
        iat_offset_s: opt_i64(&body, "iat_offset_s")?.unwrap_or(0),
        aud: body.get("aud").filter(|v| !v.is_null()).cloned(),
    };
    let user = &g.store.users[i];
    let (mut claims, exp) = session::session_claims(&g, user, &spec)?;
    // Test-only: override top-level claims (null removes), still signed with the real key.
    if let (Some(Value::Object(over)), Value::Object(c)) = (body.get("override_claims"), &mut claims) {
        for (k, v) in over {
            if v.is_null() {
                c.remove(k);
            } else {
                c.insert(k.clone(), v.clone());
            }
        }
    }
    let jwt = session::sign(&g, &claims)?;
    let mut out = json!({
        "session_jwt": jwt,
        // Descope has no opaque session token: the session JWT is the `DS` cookie's value.
        "session_token": jwt,
        "expires_at": exp,
        "user_id": str_field(user, "userId"),
        "project_id": g.cfg.project_id,
        "kid": g.current_key().kid,
    });
    if opt_bool(&body, "refresh")?.unwrap_or(false) {
        let ttl = opt_i64(&body, "refresh_ttl_s")?.unwrap_or(REFRESH_TTL_S);
        let (rc, rexp) = session::refresh_claims(&g, user, &spec, ttl);
        out["refresh_jwt"] = json!(session::sign(&g, &rc)?);
        out["refresh_expires_at"] = json!(rexp);
    }
    Ok(json_response(out))
}

/// `POST /__gatehouse/keys/rotate` `{remove_previous?}`
pub async fn rotate_keys(State(st): State<Shared>, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let remove_previous = opt_bool(&body, "remove_previous")?.unwrap_or(false);
    // generate outside the lock
    let key = crate::new_signing_key().map_err(|e| ApiError::new(500, crate::error::INTERNAL, e))?;
    let mut g = st.lock();
    let kid = key.kid.clone();
    if remove_previous {
        g.keys.clear();
    }
    g.keys.push(key);
    Ok(json_response(json!({ "kid": kid, "kids": g.keys.iter().map(|k| k.kid.clone()).collect::<Vec<_>>() })))
}

/// `POST /__gatehouse/faults` `{method?, path, match?, status | hang_ms, count?, retry_after?,
/// error_code?, error_message?}` (emulators/common/src/faults.rs)
pub async fn add_fault(State(st): State<Shared>, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let error = FaultError {
        retry_after: body.get("retry_after").and_then(Value::as_u64),
        error_code: opt_str(&body, "error_code")?,
        error_message: opt_str(&body, "error_message")?,
    };
    let retry_after = error.retry_after;
    let fault = Fault::parse(&body, error).map_err(ApiError::bad_request)?;
    let mut echo = fault.echo();
    echo["retry_after"] = retry_after.into();
    let mut g = st.lock();
    let active = g.faults.add(fault);
    Ok(json_response(json!({ "fault": echo, "active_faults": active })))
}

/// `DELETE /__gatehouse/faults` clears every fault, or with a body `{method?, path, match?}` only
/// those.
pub async fn clear_faults(State(st): State<Shared>, body: Bytes) -> ApiResult {
    let mut g = st.lock();
    if body.iter().all(u8::is_ascii_whitespace) {
        g.faults.clear();
    } else {
        let body = parse_body(&body)?;
        let path = opt_str(&body, "path")?.ok_or_else(|| ApiError::bad_request("path is required"))?;
        let method = opt_str(&body, "method")?;
        g.faults.clear_path(method.as_deref(), &path, opt_str(&body, "match")?.as_deref());
    }
    Ok(json_response(json!({ "active_faults": g.faults.len() })))
}

/// The error a status fault answers with.
pub fn fault_error(status: u16, f: &FaultError) -> ApiError {
    let mut e = ApiError::for_status(status);
    if status == 429 {
        e.retry_after = Some(f.retry_after.unwrap_or(60));
    }
    if let Some(c) = &f.error_code {
        e.description = crate::error::description_for(c).to_string();
        e.code = c.clone();
    }
    if let Some(m) = &f.error_message {
        e.message = m.clone();
    }
    e
}

/// `GET /__gatehouse/calls`
pub async fn calls(State(st): State<Shared>) -> ApiResult {
    Ok(json_response(st.lock().calls.to_json()))
}

/// `POST /__gatehouse/reset`: back to the seeded state; faults, counters and the rate-limit
/// window cleared; keys stay.
pub async fn reset(State(st): State<Shared>) -> ApiResult {
    let mut g = st.lock();
    let mut store = Store::default();
    if let Some(seed) = &g.cfg.seed {
        store.apply_seed(seed).map_err(ApiError::invalid)?;
    }
    g.store = store;
    g.faults.clear();
    g.calls.clear();
    g.rate = RateWindow::default();
    Ok(json_response(json!({ "reset": true })))
}

/// `POST /__gatehouse/seed`: apply a seed document on top of the current state (all or nothing).
pub async fn seed(State(st): State<Shared>, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let mut g = st.lock();
    // validate against a copy so a failing entry changes nothing
    let mut copy = g.store.clone();
    copy.apply_seed(&Value::Object(body)).map_err(ApiError::invalid)?;
    g.store = copy;
    let users: Vec<Value> = g
        .store
        .users
        .iter()
        .map(|u| json!({"userId": str_field(u, "userId"), "loginIds": u.get("loginIds")}))
        .collect();
    let tenants: Vec<Value> = g.store.tenants.iter().map(|t| json!({"id": str_field(t, "id"), "name": str_field(t, "name")})).collect();
    Ok(json_response(json!({ "users": users, "tenants": tenants })))
}

/// `GET /__gatehouse/state`
pub async fn dump_state(State(st): State<Shared>) -> ApiResult {
    let g = st.lock();
    let s = &g.store;
    let faults: Vec<Value> = g
        .faults
        .iter()
        .map(|f| json!({"method": f.method, "path": f.path, "status": f.status, "hang_ms": f.hang_ms, "remaining": f.remaining}))
        .collect();
    Ok(json_response(json!({
        "project_id": g.cfg.project_id,
        "issuer": g.cfg.issuer,
        "kids": g.keys.iter().map(|k| k.kid.clone()).collect::<Vec<_>>(),
        "current_kid": g.current_key().kid,
        "users": s.users.iter().map(|u| s.render_user(u)).collect::<Vec<_>>(),
        "tenants": s.tenants,
        "roles": s.roles,
        "customAttributes": s.user_attrs,
        "tenantCustomAttributes": s.tenant_attrs,
        "faults": faults,
        "rate_limit": g.cfg.rate_limit.map(|(n, w)| json!({"requests": n, "window_s": w})),
        "now": now_unix(),
    })))
}
