//! Per-container setup (config, secrets, clients, warm connections) and the request adapters the
//! function binaries call. Init failures end the process with one line naming what is missing.

use std::sync::Arc;
use std::time::Instant;

use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Map, Value, json};

use crate::cms::{SanityClient, SignatureError, WebhookEvent, signature};
use crate::authz::AnyAuthorizer;
use crate::config::{Config, ConfigError, IdpKind};
use crate::error::Error;
use crate::exchange;
use crate::gate::descope::{DescopeVerifier, descope_jwks_url};
use crate::gate::session::{self, AnyVerifier, Jwks, Verifier, stytch_jwks_url};
use crate::gate::{Gate, GateRequest, cors_headers};
use crate::http::{self, Deadline};
use crate::idp::descope::{self, Descope};
use crate::idp::stytch::{self, Stytch};
use crate::idp::{AnyProvider, IdpError};
use crate::log::{metric_line, now_ms, request_line};
use crate::ratelimit::{Throttled, TokenBucket};
use crate::reconcile::{Input, Reconciler, RunReport, Settings};
use crate::secrets::{IdpSecret, Needs, SecretStore, Secrets, SecretsError};
use crate::sync::{Model, Report, Syncer};

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
        match &s.idp {
            IdpSecret::Stytch(st) => AnyProvider::Stytch(Stytch::new(self.http.clone(), &self.cfg, st.clone())),
            IdpSecret::Descope(d) => AnyProvider::Descope(Descope::new(self.http.clone(), self.idp_base(s), d.clone(), self.cfg.timeouts.request)),
        }
    }

    fn idp_base(&self, s: &Secrets) -> String {
        match &s.idp {
            IdpSecret::Stytch(st) => stytch::base_url(&self.cfg, st),
            IdpSecret::Descope(d) => descope::base_url(self.cfg.descope_base_url.as_deref(), &d.project_id),
        }
    }

    /// Verifies the project's session JWTs against its JWKS (keys not loaded yet).
    fn session_verifier(&self) -> AnyVerifier {
        let s = self.secrets.current();
        let base = self.idp_base(&s);
        let jwks = |url: String| Jwks::new(self.http.clone(), url, self.cfg.jwks_refetch_min, self.cfg.jwks_max_age, self.cfg.timeouts.request);
        match &s.idp {
            IdpSecret::Stytch(st) => AnyVerifier::Stytch(Verifier::new(
                jwks(stytch_jwks_url(&base, &st.project_id, st.kind)),
                st.project_id.clone(),
                st.kind,
                &self.cfg.stytch_issuers,
            )),
            IdpSecret::Descope(d) => AnyVerifier::Descope(DescopeVerifier::new(jwks(descope_jwks_url(&base, &d.project_id)), d.project_id.clone())),
        }
    }

    /// Opens the connections the first request will use while init still has a full CPU
    /// (skipped with INIT_WARMUP=0, to measure what it saves).
    async fn warm(&self) {
        if !self.cfg.init_warmup {
            return;
        }
        let s = self.secrets.current();
        let sanity = self.sanity(&s);
        let idp_base = self.idp_base(&s);
        tokio::join!(http::warm(&self.http, sanity.origin()), http::warm(&self.http, &idp_base));
    }

    /// Which documents the sync functions serve.
    fn model(&self) -> Model {
        match self.cfg.idp {
            IdpKind::Stytch => Model::Stytch,
            IdpKind::Descope => Model::Descope,
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

// ---------------------------------------------------------------------------------------------
// publish-sync and delete-cleanup

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncKind {
    Publish,
    Delete,
}

pub struct SyncApp {
    core: Core,
    kind: SyncKind,
}

impl SyncApp {
    pub async fn init(function: &'static str, kind: SyncKind) -> Result<Self, InitError> {
        let core = Core::init(function, CMS).await?;
        core.warm().await;
        Ok(SyncApp { core, kind })
    }

    pub async fn handle(&self, req: Request) -> Response<Body> {
        let started = Instant::now();
        let rid = request_id(&req);
        let mut log = Map::new();
        let (result, calls) = http::counting(self.process(&req, &mut log)).await;
        let (status, body, outcome) = match &result {
            Ok(report) => {
                let mut b = report.to_json();
                // The log line carries the same fields (its `outcome` is set by request_line).
                log.extend(b.iter().filter(|(k, _)| *k != "outcome").map(|(k, v)| (k.clone(), v.clone())));
                b.insert("request_id".into(), rid.clone().into());
                (report.outcome.status(), Value::Object(b), report.outcome.as_str())
            }
            Err(e) => {
                log.insert("error".into(), e.to_string().into());
                (e.status(), error_body(e, &rid), e.code())
            }
        };
        log.insert("request_id".into(), rid.into());
        log.insert("status".into(), status.into());
        log.insert("upstream_calls".into(), calls.into());
        request_line(self.core.function, outcome, started.elapsed().as_secs_f64() * 1e3, log);
        json_response(status, &body, &[])
    }

    async fn process(&self, req: &Request, log: &mut Map<String, Value>) -> Result<Report, Error> {
        if req.method() != lambda_http::http::Method::POST {
            return Err(Error::MethodNotAllowed);
        }
        let body: &[u8] = req.body().as_ref();
        if body.len() > MAX_BODY {
            return Err(Error::PayloadTooLarge { limit: MAX_BODY });
        }
        // These headers are not signed: logs only.
        for h in ["idempotency-key", "sanity-operation", "sanity-webhook-id"] {
            if let Some(v) = req.headers().get(h).and_then(|v| v.to_str().ok()) {
                log.insert(h.replace('-', "_"), v.chars().take(100).collect::<String>().into());
            }
        }
        let header = match req.headers().get("sanity-webhook-signature") {
            None => None,
            Some(v) => Some(v.to_str().map_err(|_| SignatureError::Malformed)?),
        };
        let mut secrets = self.core.secrets.fresh().await;
        let now = now_ms();
        match signature::verify(header, body, &secrets.sanity.webhook_secrets(), now) {
            Ok(()) => {}
            // Maybe the secret was rotated since we read it: one rate-limited re-read.
            Err(SignatureError::Mismatch) => match self.core.secrets.force_reread().await {
                Some(s) => {
                    signature::verify(header, body, &s.sanity.webhook_secrets(), now)?;
                    secrets = s;
                }
                None => return Err(SignatureError::Mismatch.into()),
            },
            Err(e) => return Err(e.into()),
        }
        let ev = WebhookEvent::parse(body)?;
        log.insert("document_id".into(), ev.id.clone().into());
        if let Some(op) = &ev.operation {
            log.insert("operation".into(), op.clone().into());
        }
        let deadline = Deadline::after(self.core.cfg.timeouts.sync_budget);
        match self.sync(&ev, &secrets, deadline).await {
            Err(Error::Idp(IdpError::Unauthorized)) => match self.core.secrets.force_reread().await {
                Some(s) => self.sync(&ev, &s, deadline).await,
                None => Err(Error::Idp(IdpError::Unauthorized)),
            },
            other => other,
        }
    }

    async fn sync(&self, ev: &WebhookEvent, secrets: &Arc<Secrets>, deadline: Deadline) -> Result<Report, Error> {
        let cms = self.core.sanity(secrets);
        let idp = self.core.idp(secrets);
        let syncer = Syncer { cms: &cms, idp: &idp, dataset: &secrets.sanity.dataset, now_ms, model: self.core.model() };
        match self.kind {
            SyncKind::Publish => syncer.publish(ev, deadline).await,
            SyncKind::Delete => syncer.delete(ev, deadline).await,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// gated-content

pub struct GateApp {
    core: Core,
    gate: Gate<AnyProvider>,
}

impl GateApp {
    pub async fn init(function: &'static str) -> Result<Self, InitError> {
        let core = Core::init(function, CMS).await?;
        let verifier = core.session_verifier();
        let authz = AnyAuthorizer::from_config(&core.cfg, &core.http).map_err(InitError::Http)?;
        // Load the keys, warm the connections and wait for the PDP (the Lambda extension starts
        // beside the function) while init still has a full CPU; a failure here is logged, and
        // the first request tries again (and answers 503 if the PDP is still not there).
        if core.cfg.init_warmup {
            let pdp = async {
                if let AnyAuthorizer::Cerbos(c) = &authz {
                    match c.wait_serving(core.cfg.timeouts.init_budget / 2).await {
                        Ok(t) => tracing::info!(wait_ms = t.as_secs_f64() * 1e3, "Cerbos PDP serving"),
                        Err(e) => tracing::warn!(error = %e, "Cerbos PDP not serving at init"),
                    }
                }
            };
            let (keys, (), ()) = tokio::join!(verifier.jwks().refresh(), core.warm(), pdp);
            if let Err(e) = keys {
                tracing::warn!(error = %e, "JWKS not loaded at init");
            }
        }
        let gate = Gate::new(verifier, &core.cfg, authz);
        Ok(GateApp { core, gate })
    }

    pub async fn handle(&self, req: Request) -> Response<Body> {
        let started = Instant::now();
        let rid = request_id(&req);
        let greq = gate_request(&req);
        let secrets = self.core.secrets.fresh().await;
        let cms = self.core.sanity(&secrets);
        let idp = self.core.idp(&secrets);
        let deadline = Deadline::after(self.core.cfg.timeouts.sync_budget);
        let mut log = Map::new();
        let (mut result, mut calls) = http::counting(self.gate.read(&idp, &cms, &greq, &rid, deadline, &mut log)).await;
        // Stytch refused our credentials: maybe rotated. One rate-limited re-read, one retry.
        if matches!(result, Err(Error::Idp(IdpError::Unauthorized)))
            && let Some(s) = self.core.secrets.force_reread().await {
                let idp = self.core.idp(&s);
                let (r, c) = http::counting(self.gate.read(&idp, &cms, &greq, &rid, deadline, &mut log)).await;
                (result, calls) = (r, calls + c);
            }

        let reply = BrowserReply { function: self.core.function, methods: "GET", served: "served" };
        reply.send(&self.core.cfg, &greq, &rid, started, result, calls, log)
    }
}

/// How a browser-facing function (gated-content, token-exchange) answers: never cached, CORS
/// from the allow-list when the function answers CORS itself, 401s with `WWW-Authenticate`,
/// one request line.
struct BrowserReply {
    function: &'static str,
    /// Methods a preflight may allow.
    methods: &'static str,
    /// The outcome logged for a 200.
    served: &'static str,
}

impl BrowserReply {
    #[allow(clippy::too_many_arguments)]
    fn send(&self, cfg: &Config, greq: &GateRequest, rid: &str, started: Instant, result: Result<Value, Error>, calls: u32, mut log: Map<String, Value>) -> Response<Body> {
        let cors_here = cfg.cors_in_function;
        let preflight = greq.method == "OPTIONS";
        let mut headers: Vec<(&str, String)> = vec![
            ("cache-control", "private, no-store".into()),
            ("vary", if cors_here { "Authorization, Cookie, Origin" } else { "Authorization, Cookie" }.into()),
        ];
        let cors = if cors_here { cors_headers(greq.origin.as_deref(), &cfg.cors_allowed_origins, preflight, self.methods) } else { None };
        if let Some(h) = &cors {
            headers.extend(h.iter().map(|(k, v)| (*k, v.clone())));
        }
        let (status, body, outcome) = match result {
            // A preflight from an origin not on the list gets no CORS headers and a 403.
            Ok(_) if preflight && cors.is_none() => {
                let e = Error::OriginNotAllowed;
                (e.status(), error_body(&e, rid), e.code())
            }
            Ok(_) if preflight => (204, Value::Null, "preflight"),
            Ok(v) => (200, v, self.served),
            Err(e) => {
                if e.status() == 401 {
                    headers.push(("www-authenticate", r#"Bearer error="invalid_token""#.into()));
                }
                log.insert("error".into(), e.to_string().into());
                (e.status(), error_body(&e, rid), e.code())
            }
        };
        log.insert("request_id".into(), rid.into());
        log.insert("status".into(), status.into());
        log.insert("path".into(), greq.path.chars().take(200).collect::<String>().into());
        log.insert("upstream_calls".into(), calls.into());
        request_line(self.function, outcome, started.elapsed().as_secs_f64() * 1e3, log);
        if status == 204 {
            let mut b = Response::builder().status(204);
            for (k, v) in &headers {
                b = b.header(*k, v);
            }
            return b.body(Body::Empty).unwrap_or_else(|_| Response::new(Body::Empty));
        }
        json_response(status, &body, &headers)
    }
}

fn gate_request(req: &Request) -> GateRequest {
    // A header that is present but not text becomes an empty value, which the session parser
    // refuses (401), rather than vanishing and turning the caller anonymous.
    let header = |name: &str| req.headers().get(name).map(|v| v.to_str().unwrap_or("").to_string());
    GateRequest {
        method: req.method().as_str().to_string(),
        path: req.uri().path().to_string(),
        query: req
            .uri()
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default(),
        authorization: header("authorization"),
        cookie: header("cookie"),
        origin: header("origin"),
    }
}

// ---------------------------------------------------------------------------------------------
// token-exchange

/// Where token-exchange answers (the function URL's path).
pub const TOKEN_PATH: &str = "/token";
const INSFORGE: Needs = Needs { sanity: false, insforge: true };

pub struct TokenApp {
    core: Core,
    verifier: AnyVerifier,
    /// The InsForge secret as init read it: every re-read of a function that needs it carries
    /// it too, so this only stands in for a type that could say so.
    insforge: crate::secrets::InsForgeSecret,
}

impl TokenApp {
    pub async fn init(function: &'static str) -> Result<Self, InitError> {
        let core = Core::init(function, INSFORGE).await?;
        let insforge = core.secrets.current().insforge.clone().ok_or(ConfigError::Missing("INSFORGE_SECRET_ARN"))?;
        let verifier = core.session_verifier();
        // The JWKS fetch doubles as the connection warm-up (token-exchange calls nothing else).
        if core.cfg.init_warmup
            && let Err(e) = verifier.jwks().refresh().await {
                tracing::warn!(error = %e, "JWKS not loaded at init");
            }
        Ok(TokenApp { core, verifier, insforge })
    }

    pub async fn handle(&self, req: Request) -> Response<Body> {
        let started = Instant::now();
        let rid = request_id(&req);
        let greq = gate_request(&req);
        let (result, calls) = http::counting(self.exchange(&req, &greq)).await;
        let reply = BrowserReply { function: self.core.function, methods: "POST", served: "minted" };
        reply.send(&self.core.cfg, &greq, &rid, started, result, calls, Map::new())
    }

    async fn exchange(&self, req: &Request, greq: &GateRequest) -> Result<Value, Error> {
        if greq.path != TOKEN_PATH {
            return Err(Error::NotFound);
        }
        match greq.method.as_str() {
            "OPTIONS" => return Ok(Value::Null),
            "POST" => {}
            _ => return Err(Error::MethodNotAllowed),
        }
        // The request body carries nothing; a large one is refused before any work.
        if req.body().len() > 16 * 1024 {
            return Err(Error::PayloadTooLarge { limit: 16 * 1024 });
        }
        let token = session::credentials(greq.authorization.as_deref(), greq.cookie.as_deref(), self.verifier.cookie())?
            .ok_or(session::SessionError::Missing)?;
        let session = self.verifier.verify(token).await?;
        let secrets = self.core.secrets.fresh().await;
        let insforge = secrets.insforge.as_ref().unwrap_or(&self.insforge);
        let minted = exchange::mint(&session, insforge, now_ms() / 1000)?;
        Ok(json!({ "access_token": minted.token, "token_type": "Bearer", "expires_at": minted.expires_at }))
    }
}

// ---------------------------------------------------------------------------------------------
// reconcile

/// Time kept back from the Lambda deadline to return the report and log it.
const RECONCILE_MARGIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Time until the Lambda deadline. Lambda sends epoch milliseconds; cargo-lambda's local runtime
/// sends the timeout itself (600000), which as an epoch would lie in 1970: read such a value as
/// a duration, so a local run gets its 10 minutes instead of none.
fn time_left(deadline_ms: u64, now_ms: u64) -> std::time::Duration {
    const YEAR_2020_MS: u64 = 1_577_836_800_000;
    let ms = if deadline_ms < YEAR_2020_MS { deadline_ms } else { deadline_ms.saturating_sub(now_ms) };
    std::time::Duration::from_millis(ms)
}

pub struct ReconcileApp {
    core: Core,
    bucket: TokenBucket,
}

impl ReconcileApp {
    pub async fn init(function: &'static str) -> Result<Self, InitError> {
        let core = Core::init(function, CMS).await?;
        let r = &core.cfg.reconcile;
        let bucket = TokenBucket::new(f64::from(r.provider_rate), r.provider_burst);
        Ok(ReconcileApp { core, bucket })
    }

    /// One invocation. `deadline_ms`: the Lambda deadline (epoch ms). A bad input or an
    /// unreadable Content Lake fails the invocation (so Lambda's error metric and EventBridge's
    /// retry see it); per-rule problems are counted in the report instead.
    pub async fn handle(&self, payload: Value, deadline_ms: u64, request_id: &str) -> Result<Value, Error> {
        let started = Instant::now();
        let (result, calls) = match Input::parse(payload) {
            Ok(input) => {
                let mut budget = time_left(deadline_ms, now_ms().max(0) as u64).saturating_sub(RECONCILE_MARGIN);
                if let Some(ms) = input.budget_ms {
                    budget = budget.min(std::time::Duration::from_millis(ms));
                }
                http::counting(self.run(&input, Deadline::after(budget))).await
            }
            Err(e) => (Err(e), 0),
        };
        let mut log = Map::new();
        log.insert("request_id".into(), request_id.into());
        log.insert("upstream_calls".into(), calls.into());
        let ms = json!((started.elapsed().as_secs_f64() * 1e5).round() / 100.0);
        match result {
            Ok(report) => {
                let outcome = if report.dry_run { "dry_run" } else if report.cursor.is_some() { "partial" } else { "complete" };
                if let Some(c) = &report.cursor {
                    log.insert("cursor".into(), c.clone().into());
                }
                log.insert("details".into(), serde_json::to_value(&report.details).unwrap_or_default());
                let count = |n: u64| Value::from(n);
                metric_line(
                    self.core.function,
                    outcome,
                    &[
                        ("checked", "Count", count(report.checked)),
                        ("changed", "Count", count(report.changed)),
                        ("cleared", "Count", count(report.cleared)),
                        ("conflicts", "Count", count(report.conflicts)),
                        ("errors", "Count", count(report.errors)),
                        ("duration_ms", "Milliseconds", ms),
                    ],
                    log,
                );
                Ok(serde_json::to_value(&report).unwrap_or_default())
            }
            Err(e) => {
                log.insert("error".into(), e.to_string().into());
                metric_line(self.core.function, e.code(), &[("failed", "Count", 1.into()), ("duration_ms", "Milliseconds", ms)], log);
                Err(e)
            }
        }
    }

    async fn run(&self, input: &Input, deadline: Deadline) -> Result<RunReport, Error> {
        let secrets = self.core.secrets.fresh().await;
        let cms = self.core.sanity(&secrets);
        let provider = self.core.idp(&secrets);
        let idp = Throttled { inner: &provider, bucket: &self.bucket };
        let syncer = Syncer { cms: &cms, idp: &idp, dataset: &secrets.sanity.dataset, now_ms, model: self.core.model() };
        let settings = Settings { concurrency: self.core.cfg.reconcile.concurrency, item_budget: self.core.cfg.timeouts.sync_budget };
        Reconciler { syncer, settings }.run(input, deadline).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_is_epoch_ms_or_a_local_timeout() {
        let now = 1_795_442_059_811;
        assert_eq!(time_left(now + 5_000, now).as_millis(), 5_000);
        assert_eq!(time_left(now - 1, now).as_millis(), 0);
        assert_eq!(time_left(600_000, now).as_millis(), 600_000);
    }
}
