//! Per-container setup (config, secrets, clients, warm connections) and the request adapters the
//! function binaries call, one file per kind of function. Init failures end the process with one
//! line naming what is missing.

use std::sync::Arc;
use std::time::Instant;

use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Value, json};

use crate::cms::SanityClient;
use crate::config::{Config, ConfigError};
use crate::error::Error;
use crate::http;
use crate::providers::{AnyProvider, ContentModel, IdpError};
use crate::secret_fields::SecretsError;
use crate::secrets::{Needs, SecretStore, Secrets};

mod browser_reply;
mod gate_app;
mod reconcile_app;
mod request_log;
mod sync_app;
mod token_app;

pub use gate_app::GateApp;
pub use reconcile_app::ReconcileApp;
pub use sync_app::{SyncApp, SyncKind};
pub use token_app::{TOKEN_PATH, TokenApp};

/// Bodies larger than this are refused before anything else (Sanity documents are far smaller).
pub const MAX_BODY: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error("init took longer than INIT_BUDGET_MS ({0} ms)")]
    Timeout(u128),
    #[error("HTTP client: {0}")]
    Http(String),
}

/// Exits with one clear line (no panic trace, no secret value) when init fails.
pub fn exit_on_error<T>(r: Result<T, InitError>) -> T {
    r.unwrap_or_else(|e| {
        eprintln!("gatehouse init failed: {e}");
        std::process::exit(1)
    })
}

/// The local stack's CA (LOCAL_CA_FILE), read and parsed at init so a bad path fails the cold
/// start with one line instead of every request.
fn local_ca(cfg: &Config) -> Result<Option<Vec<u8>>, InitError> {
    let Some(path) = &cfg.local_ca_file else { return Ok(None) };
    let pem = std::fs::read(path).map_err(|e| InitError::Config(ConfigError::Invalid { name: "LOCAL_CA_FILE", reason: format!("{path}: {e}") }))?;
    Ok(Some(pem))
}

/// The secrets of the functions that read the Content Lake.
const CMS: Needs = Needs { sanity: true, insforge: false };

/// `with_rotation!(core, secrets, |s| attempt)`: runs `attempt` (an expression awaiting one try
/// with the secrets `s`) and, when `Core::rotated` says so, once more with re-read secrets. A
/// macro rather than a function taking an async closure: the attempts borrow the request's log
/// mutably, and an async closure's future cannot be proven `Send` for lambda_http's runtime.
macro_rules! with_rotation {
    ($core:expr, $secrets:expr, |$s:ident| $attempt:expr) => {{
        let $s = $secrets;
        let first = $attempt;
        match $core.rotated(&first).await {
            Some($s) => $attempt,
            None => first,
        }
    }};
}
pub(crate) use with_rotation;

/// What every function shares: config, secrets, one HTTP client.
pub struct Core {
    pub cfg: Config,
    pub secrets: SecretStore,
    pub http: reqwest::Client,
    pub function: &'static str,
}

impl Core {
    pub async fn init(function: &'static str, needs: Needs) -> Result<Self, InitError> {
        crate::log::init_tracing();
        let started = Instant::now();
        let cfg = Config::from_env()?;
        if needs.sanity && cfg.sanity_secret_arn.is_none() {
            return Err(ConfigError::Missing("SANITY_SECRET_ARN").into());
        }
        if needs.insforge && cfg.insforge_secret_arn.is_none() {
            return Err(ConfigError::Missing("INSFORGE_SECRET_ARN").into());
        }
        let budget = cfg.timeouts.init_budget;
        let secrets = tokio::time::timeout(budget, SecretStore::load(&cfg, needs))
            .await
            .map_err(|_| InitError::Timeout(budget.as_millis()))??;
        let ca = local_ca(&cfg)?;
        let http = http::client(&cfg.timeouts, ca.as_deref()).map_err(|reason| match &cfg.local_ca_file {
            Some(path) => InitError::Config(ConfigError::Invalid { name: "LOCAL_CA_FILE", reason: format!("{path}: {reason}") }),
            None => InitError::Http(reason),
        })?;
        tracing::info!(function, init_ms = started.elapsed().as_secs_f64() * 1e3, "secrets loaded");
        Ok(Core { cfg, secrets, http, function })
    }

    fn sanity(&self, s: &Secrets) -> SanityClient {
        SanityClient::new(self.http.clone(), &self.cfg, &s.sanity)
    }

    /// The identity provider (`IDP`) with the secrets as they are now.
    fn idp(&self, s: &Secrets) -> AnyProvider {
        s.idp.client(&self.http, &self.cfg)
    }

    /// Which documents the sync functions serve.
    fn model(&self) -> &'static ContentModel {
        self.secrets.current().idp.model()
    }

    /// Opens the connections the first request will use while init still has a full CPU
    /// (skipped with INIT_WARMUP=0, to measure what it saves).
    async fn warm(&self) {
        if !self.cfg.init_warmup {
            return;
        }
        let s = self.secrets.current();
        let sanity = self.sanity(&s);
        let idp_base = s.idp.base_url(&self.cfg);
        tokio::join!(http::warm(&self.http, sanity.origin()), http::warm(&self.http, &idp_base));
    }

    /// The secrets to run an attempt again with: after the provider refused gatehouse's
    /// credentials (maybe they were rotated), one rate-limited re-read; otherwise, or when the
    /// re-read is not allowed yet, none and the first answer stands. Used through
    /// `with_rotation!`.
    async fn rotated<T>(&self, attempt: &Result<T, Error>) -> Option<Arc<Secrets>> {
        match attempt {
            Err(Error::Idp(IdpError::Unauthorized)) => self.secrets.force_reread().await,
            _ => None,
        }
    }
}

fn request_id(req: &Request) -> String {
    req.lambda_context_ref()
        .map(|c| c.request_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| format!("local-{:016x}", fastrand::u64(..)))
}

fn json_response(status: u16, body: &Value, headers: &[(&str, String)]) -> Response<Body> {
    let mut b = Response::builder().status(status).header("content-type", "application/json");
    for (k, v) in headers {
        b = b.header(*k, v);
    }
    b.body(Body::from(body.to_string())).unwrap_or_else(|_| Response::new(Body::Empty))
}

/// The error body every function answers with.
fn error_body(e: &Error, request_id: &str) -> Value {
    let outcome = if e.status() >= 500 { "failed" } else { "rejected" };
    json!({ "outcome": outcome, "error": e.code(), "reason": e.public_message(), "request_id": request_id })
}
