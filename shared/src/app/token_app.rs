//! token-exchange: a provider session in, a short-lived InsForge token out (`exchange`).

use std::time::Instant;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use super::browser_reply::{BrowserReply, gate_request};
use super::request_log::RequestLog;
use super::{Core, InitError, request_id};
use crate::config::ConfigError;
use crate::error::Error;
use crate::exchange;
use crate::gate::GateRequest;
use crate::http;
use crate::log::now_ms;
use crate::providers::AnyVerifier;
use crate::secrets::{InsForgeSecret, Needs};
use crate::session::{self, SessionError};

/// Where token-exchange answers (the function URL's path).
pub const TOKEN_PATH: &str = "/token";
const INSFORGE: Needs = Needs { sanity: false, insforge: true };
/// The request body carries nothing; a large one is refused before any work.
const MAX_TOKEN_BODY: usize = 16 * 1024;

pub struct TokenApp {
    core: Core,
    verifier: AnyVerifier,
    /// The InsForge secret as init read it: every re-read of a function that needs it carries
    /// it too, so this only stands in for a type that could say so.
    insforge: InsForgeSecret,
}

impl TokenApp {
    pub async fn init(function: &'static str) -> Result<Self, InitError> {
        let core = Core::init(function, INSFORGE).await?;
        let insforge = core.secrets.current().insforge.clone().ok_or(ConfigError::Missing("INSFORGE_SECRET_ARN"))?;
        let verifier = core.secrets.current().idp.verifier(&core.http, &core.cfg);
        // The JWKS fetch doubles as the connection warm-up (token-exchange calls nothing else).
        if core.cfg.init_warmup
            && let Err(e) = verifier.jwks().refresh().await {
                tracing::warn!(error = %e, "JWKS not loaded at init");
            }
        Ok(TokenApp { core, verifier, insforge })
    }

    pub async fn handle(&self, req: Request) -> Response<Body> {
        let mut log = RequestLog::new(self.core.function, request_id(&req), Instant::now());
        let greq = gate_request(&req);
        let (result, calls) = http::counting(self.exchange(&req, &greq)).await;
        log.upstream_calls = calls;
        let reply = BrowserReply { methods: "POST", served: "minted" };
        reply.send(&self.core.cfg, &greq, log, result)
    }

    async fn exchange(&self, req: &Request, greq: &GateRequest) -> Result<Value, Error> {
        if greq.path != TOKEN_PATH {
            return Err(Error::NotFound);
        }
        match greq.method {
            Method::OPTIONS => return Ok(Value::Null),
            Method::POST => {}
            _ => return Err(Error::MethodNotAllowed),
        }
        if req.body().len() > MAX_TOKEN_BODY {
            return Err(Error::PayloadTooLarge { limit: MAX_TOKEN_BODY });
        }
        let token = session::credentials(greq.authorization.as_deref(), greq.cookie.as_deref(), self.verifier.cookie())?
            .ok_or(SessionError::Missing)?;
        let session = self.verifier.verify(token).await?;
        let secrets = self.core.secrets.fresh().await;
        let insforge = secrets.insforge.as_ref().unwrap_or(&self.insforge);
        let minted = exchange::mint(&session, insforge, now_ms() / 1000)?;
        Ok(json!({ "access_token": minted.token, "token_type": "Bearer", "expires_at": minted.expires_at }))
    }
}
