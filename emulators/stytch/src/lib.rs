//! Local Stytch emulator for gatehouse: B2B organizations/members, consumer users, sessions with
//! RS256 JWKS, Stytch-shaped errors, plus the `/__gatehouse/*` control API.

pub mod api;
pub mod control;
pub mod error;
pub mod state;
pub mod util;

use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use emulator_common::faults::{Front, front};

pub use state::{Config, Kind, ProjectConfig};
use state::{Inner, Project, Shared};

/// Build the in-memory state; one RSA key per project, generated in parallel.
pub fn build_state(config: &Config) -> Result<Shared, String> {
    let handles: Vec<_> = config
        .projects
        .iter()
        .map(|p| {
            let live = p.project_id.starts_with("project-live-");
            std::thread::spawn(move || emulator_common::keys::SigningKey::generate(live))
        })
        .collect();
    let mut projects = Vec::new();
    for (cfg, h) in config.projects.iter().zip(handles) {
        let key = h.join().map_err(|_| "key generation thread panicked".to_string())??;
        projects.push(Project {
            cfg: cfg.clone(),
            live: cfg.project_id.starts_with("project-live-"),
            keys: vec![key],
            orgs: vec![],
            users: vec![],
            sessions: vec![],
        });
    }
    Ok(Shared(Arc::new(Mutex::new(Inner { projects, faults: Default::default(), rate_limit: None, calls: Default::default(), org_seq: 0 }))))
}

pub fn router(state: Shared) -> Router {
    use api::*;
    Router::new()
        // B2B
        .route("/v1/b2b/organizations", post(org_create))
        .route("/v1/b2b/organizations/search", post(org_search))
        .route("/v1/b2b/organizations/{organization_id}", get(org_get).put(org_update).delete(org_delete))
        .route("/v1/b2b/organizations/{organization_id}/members", post(member_create))
        .route("/v1/b2b/organizations/{organization_id}/member", get(member_get))
        .route(
            "/v1/b2b/organizations/{organization_id}/members/{member_id}",
            axum::routing::put(member_update).delete(member_delete),
        )
        .route("/v1/b2b/sessions/authenticate", post(b2b_session_authenticate))
        .route("/v1/b2b/sessions/revoke", post(b2b_session_revoke))
        .route("/v1/b2b/sessions/jwks/{project_id}", get(jwks))
        // Consumer
        .route("/v1/users", post(user_create))
        .route("/v1/users/search", post(user_search))
        .route("/v1/users/{user_id}", get(user_get).put(user_update).delete(user_delete))
        .route("/v1/sessions/authenticate", post(session_authenticate))
        .route("/v1/sessions/revoke", post(session_revoke))
        .route("/v1/sessions/jwks/{project_id}", get(jwks))
        // control
        .route("/__gatehouse/sessions", post(control::mint_session))
        .route("/__gatehouse/keys/rotate", post(control::rotate_keys))
        .route("/__gatehouse/faults", post(control::add_fault).delete(control::clear_faults))
        .route(
            "/__gatehouse/rate_limit",
            get(control::rate_limit).post(control::set_rate_limit).delete(control::clear_rate_limit),
        )
        .route("/__gatehouse/calls", get(control::calls))
        .route("/__gatehouse/reset", post(control::reset))
        .route("/__gatehouse/state", get(control::dump_state))
        .fallback(|| async { error::ApiError::for_status(404).into_response() })
        .method_not_allowed_fallback(|| async { error::ApiError::for_status(405).into_response() })
        .layer(middleware::from_fn_with_state(state.clone(), count_and_fault))
        .with_state(state)
}

/// The management API the rate limit covers (not session authentication or the JWKS).
fn rate_limited_path(path: &str) -> bool {
    path.starts_with("/v1/b2b/organizations") || path.starts_with("/v1/users")
}

/// Counts every non-control request, applies matching faults (status or hang:
/// `emulator_common::faults::front`), then the optional per-project rate limit.
async fn count_and_fault(State(st): State<Shared>, req: Request, next: Next) -> Response {
    let req = match front(&st, req).await {
        Front::Control(req) => return next.run(req).await,
        Front::Api(req) => req,
        Front::Fault(status, error) => return control::fault_error(status, error).into_response(),
        Front::Refused(resp) => return resp,
    };
    if rate_limited_path(req.uri().path()) {
        let mut g = st.lock();
        // Unauthenticated requests are the handler's 401, not the limit's.
        if let Ok(project) = api::basic_auth(&g, req.headers())
            && let Some(limit) = g.rate_limit.as_mut()
            && !limit.admit(project, std::time::Instant::now())
        {
            return error::ApiError::for_status(429).into_response();
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
