//! The Descope API surface: management (users, tenants, roles, custom attributes), JWKS, refresh.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::session::{self, SessionSpec};
use crate::state::{Inner, Shared};
use crate::store::RoleOp;
use crate::util::{now_unix, opt_str_list, parse_body, str_field, strings};

pub type ApiResult = Result<Response, ApiError>;

pub fn json_response(v: Value) -> Response {
    axum::Json(v).into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).map(str::trim)
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `Authorization: Bearer <projectId>:<managementKey>`.
pub fn check_mgmt_auth(inner: &Inner, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = bearer(headers).ok_or_else(ApiError::unauthorized)?;
    let (pid, key) = token.split_once(':').ok_or_else(ApiError::unauthorized)?;
    if !same(pid, &inner.cfg.project_id) || !same(key, &inner.cfg.management_key) {
        return Err(ApiError::unauthorized());
    }
    Ok(())
}

/// Lock, authenticate the management key, run `f`, answer its JSON.
fn mgmt(st: &Shared, headers: &HeaderMap, f: impl FnOnce(&mut Inner) -> Result<Value, ApiError>) -> ApiResult {
    let mut g = st.lock();
    check_mgmt_auth(&g, headers)?;
    Ok(json_response(f(&mut g)?))
}

fn mgmt_post(
    st: &Shared,
    headers: &HeaderMap,
    body: &Bytes,
    f: impl FnOnce(&mut Inner, &crate::state::Obj) -> Result<Value, ApiError>,
) -> ApiResult {
    let mut g = st.lock();
    check_mgmt_auth(&g, headers)?;
    let body = parse_body(body)?;
    Ok(json_response(f(&mut g, &body)?))
}

// ---------------------------------------------------------------- users

pub async fn user_create(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| Ok(json!({"user": g.store.create_user(body, false)?})))
}

pub async fn user_create_test(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| Ok(json!({"user": g.store.create_user(body, true)?})))
}

pub async fn user_delete(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| {
        g.store.delete_user(body)?;
        Ok(json!({}))
    })
}

/// `GET /v1/mgmt/user?loginId=…` (a login id or a user id) or `?userId=…`.
pub async fn user_load(State(st): State<Shared>, h: HeaderMap, Query(q): Query<HashMap<String, String>>) -> ApiResult {
    mgmt(&st, &h, |g| {
        let id = q
            .get("loginId")
            .filter(|s| !s.is_empty())
            .or_else(|| q.get("userId").filter(|s| !s.is_empty()))
            .ok_or_else(|| ApiError::missing("Missing argument: loginId"))?;
        let i = g.store.user_idx(id)?;
        Ok(json!({"user": g.store.render_user(&g.store.users[i])}))
    })
}

/// `POST /v1/mgmt/users/load` `{userIds}` → `{users}` (unknown ids are skipped).
pub async fn users_load(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| {
        let ids = opt_str_list(body, "userIds")?.unwrap_or_default();
        let users: Vec<Value> = ids
            .iter()
            .filter_map(|id| g.store.users.iter().find(|u| str_field(u, "userId") == id))
            .map(|u| g.store.render_user(u))
            .collect();
        Ok(json!({"users": users}))
    })
}

pub async fn user_update_custom_attribute(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| Ok(json!({"user": g.store.update_custom_attribute(body)?})))
}

pub async fn user_update_status(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| Ok(json!({"user": g.store.update_status(body)?})))
}

pub async fn user_role_set(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| Ok(json!({"user": g.store.update_roles(body, RoleOp::Set)?})))
}

pub async fn user_role_add(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| Ok(json!({"user": g.store.update_roles(body, RoleOp::Add)?})))
}

pub async fn user_role_remove(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| Ok(json!({"user": g.store.update_roles(body, RoleOp::Remove)?})))
}

pub async fn user_tenant_add(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| Ok(json!({"user": g.store.update_tenant_membership(body, true)?})))
}

pub async fn user_tenant_remove(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| Ok(json!({"user": g.store.update_tenant_membership(body, false)?})))
}

pub async fn user_search(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| {
        let (users, total) = g.store.search_users(body, false)?;
        Ok(json!({"users": users, "total": total}))
    })
}

pub async fn user_search_test(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| {
        let (users, total) = g.store.search_users(body, true)?;
        Ok(json!({"users": users, "total": total}))
    })
}

// ---------------------------------------------------------------- custom attribute definitions

pub async fn custom_attributes(State(st): State<Shared>, h: HeaderMap) -> ApiResult {
    mgmt(&st, &h, |g| Ok(json!({"data": g.store.user_attrs})))
}

pub async fn custom_attributes_create(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| {
        let attrs = match body.get("attributes") {
            Some(Value::Array(a)) if !a.is_empty() => a.clone(),
            _ => return Err(ApiError::missing("Missing argument: attributes")),
        };
        g.store.create_attrs(false, &attrs)?;
        Ok(json!({"data": g.store.user_attrs}))
    })
}

pub async fn custom_attributes_delete(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| {
        let names = opt_str_list(body, "names")?.unwrap_or_default();
        if names.is_empty() {
            return Err(ApiError::missing("Missing argument: names"));
        }
        g.store.delete_attrs(&names);
        Ok(json!({"data": g.store.user_attrs}))
    })
}

// ---------------------------------------------------------------- tenants

pub async fn tenant_create(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| Ok(json!({"id": g.store.create_tenant(body)?})))
}

pub async fn tenant_update(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| {
        g.store.update_tenant(body)?;
        Ok(json!({}))
    })
}

pub async fn tenant_delete(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| {
        g.store.delete_tenant(body)?;
        Ok(json!({}))
    })
}

/// `GET /v1/mgmt/tenant?id=…` → the tenant object itself (not wrapped).
pub async fn tenant_load(State(st): State<Shared>, h: HeaderMap, Query(q): Query<HashMap<String, String>>) -> ApiResult {
    mgmt(&st, &h, |g| {
        let id = q.get("id").filter(|s| !s.is_empty()).ok_or_else(|| ApiError::missing("Missing argument: id"))?;
        let i = g.store.tenant_idx(id)?;
        Ok(g.store.render_tenant(&g.store.tenants[i]))
    })
}

pub async fn tenant_all(State(st): State<Shared>, h: HeaderMap) -> ApiResult {
    mgmt(&st, &h, |g| {
        let tenants: Vec<Value> = g.store.tenants.iter().map(|t| g.store.render_tenant(t)).collect();
        Ok(json!({"tenants": tenants}))
    })
}

pub async fn tenant_search(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| Ok(json!({"tenants": g.store.search_tenants(body)?})))
}

// ---------------------------------------------------------------- roles

pub async fn role_create(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| {
        g.store.create_role(body)?;
        Ok(json!({}))
    })
}

pub async fn role_delete(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| {
        g.store.delete_role(body)?;
        Ok(json!({}))
    })
}

pub async fn role_all(State(st): State<Shared>, h: HeaderMap) -> ApiResult {
    mgmt(&st, &h, |g| Ok(json!({"roles": g.store.roles})))
}

pub async fn role_search(State(st): State<Shared>, h: HeaderMap, b: Bytes) -> ApiResult {
    mgmt_post(&st, &h, &b, |g, body| Ok(json!({"roles": g.store.search_roles(body)?})))
}

// ---------------------------------------------------------------- misc

/// `GET /v1/mgmt/license`: the SDK's fire-and-forget handshake at construction. An empty tier
/// keeps the SDK from sending `x-descope-license`.
pub async fn license(State(st): State<Shared>, h: HeaderMap) -> ApiResult {
    mgmt(&st, &h, |_| Ok(json!({"rateLimitTier": ""})))
}

/// `GET /v2/keys/{projectId}` → `{keys: [{alg, e, kid, kty, n, use}]}` (no auth).
pub async fn jwks(State(st): State<Shared>, Path(project_id): Path<String>) -> ApiResult {
    let g = st.lock();
    if project_id != g.cfg.project_id {
        return Err(ApiError::invalid(format!("Project '{project_id}' not found")));
    }
    let keys: Vec<Value> = g.keys.iter().map(crate::jwk).collect();
    Ok(json_response(json!({"keys": keys})))
}

/// `POST /v1/auth/refresh` with `Authorization: Bearer <projectId>:<refreshJwt>`: a fresh session
/// JWT for the refresh token's user (roles/tenants as stored now), same refresh JWT back.
pub async fn auth_refresh(State(st): State<Shared>, h: HeaderMap) -> ApiResult {
    let g = st.lock();
    let refresh_err = || ApiError::new(401, crate::error::INVALID_REQUEST, "Invalid refresh token");
    let token = bearer(&h).ok_or_else(refresh_err)?;
    let (pid, jwt) = token.split_once(':').ok_or_else(refresh_err)?;
    if pid != g.cfg.project_id {
        return Err(refresh_err());
    }
    let claims = emulator_common::keys::verify_jwt(jwt, &g.keys).map_err(|_| refresh_err())?;
    if claims.get("drn").and_then(Value::as_str) != Some("DSR")
        || claims.get("exp").and_then(Value::as_i64).unwrap_or(0) <= now_unix()
    {
        return Err(refresh_err());
    }
    let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
    let i = g.store.user_idx(sub)?;
    let user = &g.store.users[i];
    if str_field(user, "status") != "enabled" {
        return Err(refresh_err());
    }
    let spec = SessionSpec {
        amr: strings(claims.get("amr")),
        dct: claims.get("dct").and_then(Value::as_str).map(String::from),
        ttl_s: crate::control::DEFAULT_TTL_S,
        ..Default::default()
    };
    let (c, exp) = session::session_claims(&g, user, &spec)?;
    let session_jwt = session::sign(&g, &c)?;
    let refresh_exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    Ok(json_response(json!({
        "sessionJwt": session_jwt,
        "refreshJwt": jwt,
        "cookieDomain": "",
        "cookiePath": "/",
        "cookieMaxAge": (refresh_exp - now_unix()).max(0),
        "cookieExpiration": refresh_exp,
        "sessionExpiration": exp,
        "user": g.store.render_user(user),
        "firstSeen": false,
        "claims": c,
    })))
}
