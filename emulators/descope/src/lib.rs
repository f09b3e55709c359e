//! Local Descope emulator for gatehouse: management API (users, tenants, roles, custom
//! attributes), RS256 JWKS, session/refresh JWTs with Descope's claim layout, Descope-shaped
//! errors and rate limiting, plus the `/__gatehouse/*` control API.

pub mod api;
pub mod control;
pub mod error;
pub mod session;
pub mod state;
pub mod store;
pub mod util;

use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use emulator_common::faults::{Front, front};
use serde_json::{Map, Value};
use emulator_common::keys::SigningKey;

pub use state::Config;
use state::{Inner, RateWindow, Shared};
use store::Store;

/// A fresh RS256 key with a Descope-style key id (`SK…`).
pub fn new_signing_key() -> Result<SigningKey, String> {
    let mut k = SigningKey::generate(false)?;
    k.kid = util::descope_id("SK2");
    Ok(k)
}

/// The JWKS entry Descope publishes: `{alg, e, kid, kty, n, use}`.
pub fn jwk(k: &SigningKey) -> Value {
    let full = k.jwk();
    let mut out = Map::new();
    for f in ["alg", "e", "kid", "kty", "n", "use"] {
        if let Some(v) = full.get(f) {
            out.insert(f.into(), v.clone());
        }
    }
    Value::Object(out)
}

/// Build the in-memory state (one RSA key, the seed applied).
pub fn build_state(config: &Config) -> Result<Shared, String> {
    let key = new_signing_key()?;
    let mut store = Store::default();
    if let Some(seed) = &config.seed {
        store.apply_seed(seed)?;
    }
    Ok(Shared(Arc::new(Mutex::new(Inner {
        cfg: config.clone(),
        keys: vec![key],
        store,
        faults: Default::default(),
        calls: Default::default(),
        rate: RateWindow::default(),
    }))))
}

pub fn router(state: Shared) -> Router {
    use api::*;
    Router::new()
        // users
        .route("/v1/mgmt/user", get(user_load))
        .route("/v1/mgmt/user/create", post(user_create))
        .route("/v1/mgmt/user/create/test", post(user_create_test))
        .route("/v1/mgmt/user/delete", post(user_delete))
        .route("/v1/mgmt/users/load", post(users_load))
        .route("/v1/mgmt/user/update/customAttribute", post(user_update_custom_attribute))
        .route("/v1/mgmt/user/update/status", post(user_update_status))
        .route("/v1/mgmt/user/update/role/set", post(user_role_set))
        .route("/v2/mgmt/user/update/role/add", post(user_role_add))
        .route("/v1/mgmt/user/update/role/remove", post(user_role_remove))
        .route("/v1/mgmt/user/update/tenant/add", post(user_tenant_add))
        .route("/v1/mgmt/user/update/tenant/remove", post(user_tenant_remove))
        .route("/v2/mgmt/user/search", post(user_search))
        .route("/v2/mgmt/user/search/test", post(user_search_test))
        .route("/v1/mgmt/user/customattributes", get(custom_attributes))
        .route("/v1/mgmt/user/customattribute/create", post(custom_attributes_create))
        .route("/v1/mgmt/user/customattribute/delete", post(custom_attributes_delete))
        // tenants
        .route("/v1/mgmt/tenant", get(tenant_load))
        .route("/v1/mgmt/tenant/create", post(tenant_create))
        .route("/v1/mgmt/tenant/update", post(tenant_update))
        .route("/v1/mgmt/tenant/delete", post(tenant_delete))
        .route("/v1/mgmt/tenant/all", get(tenant_all))
        .route("/v1/mgmt/tenant/search", post(tenant_search))
        // roles
        .route("/v1/mgmt/role/create", post(role_create))
        .route("/v1/mgmt/role/delete", post(role_delete))
        .route("/v1/mgmt/role/all", get(role_all))
        .route("/v1/mgmt/role/search", post(role_search))
        // misc
        .route("/v1/mgmt/license", get(license))
        .route("/v2/keys/{project_id}", get(jwks))
        .route("/v1/auth/refresh", post(auth_refresh))
        // control
        .route("/__gatehouse/sessions", post(control::mint_session))
        .route("/__gatehouse/keys/rotate", post(control::rotate_keys))
        .route("/__gatehouse/faults", post(control::add_fault).delete(control::clear_faults))
        .route("/__gatehouse/calls", get(control::calls))
        .route("/__gatehouse/reset", post(control::reset))
        .route("/__gatehouse/seed", post(control::seed))
        .route("/__gatehouse/state", get(control::dump_state))
        .fallback(|| async { error::ApiError::for_status(404).into_response() })
        .method_not_allowed_fallback(|| async { error::ApiError::for_status(405).into_response() })
        .layer(middleware::from_fn_with_state(state.clone(), count_fault_limit))
        .with_state(state)
}

fn rate_limited_path(path: &str) -> bool {
    path.starts_with("/v1/mgmt/user") || path.starts_with("/v2/mgmt/user")
}

/// Counts every non-control request, applies matching faults (status or hang:
/// `emulator_common::faults::front`), then the optional built-in rate limit.
async fn count_fault_limit(State(st): State<Shared>, req: Request, next: Next) -> Response {
    let req = match front(&st, req).await {
        Front::Control(req) => return next.run(req).await,
        Front::Api(req) => req,
        Front::Fault(status, error) => return control::fault_error(status, &error).into_response(),
        Front::Refused(resp) => return resp,
    };
    if rate_limited_path(req.uri().path()) {
        let mut g = st.lock();
        if let Some((limit, window)) = g.cfg.rate_limit {
            let now = util::now_unix();
            let window = window as i64;
            if now < g.rate.blocked_until {
                let wait = (g.rate.blocked_until - now) as u64;
                return error::ApiError::rate_limited(wait).into_response();
            }
            if now - g.rate.started >= window {
                g.rate.started = now;
                g.rate.count = 0;
            }
            g.rate.count += 1;
            if g.rate.count > limit {
                g.rate.blocked_until = now + window;
                return error::ApiError::rate_limited(window as u64).into_response();
            }
        }
    }
    next.run(req).await
}

/// Serve until the process ends (tests spawn this on an ephemeral port).
pub async fn serve(listener: tokio::net::TcpListener, config: Config) -> std::io::Result<()> {
    serve_with_shutdown(listener, config, std::future::pending()).await
}

pub async fn serve_with_shutdown(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = build_state(&config).map_err(std::io::Error::other)?;
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}
