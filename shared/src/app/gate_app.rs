//! gated-content: a session and a content request in, only what the session may read out
//! (`gate::Gate`).

use std::time::Instant;

use lambda_http::{Body, Request, Response};

use super::browser_reply::{BrowserReply, gate_request};
use super::request_log::RequestLog;
use super::{CMS, Core, InitError, request_id, with_rotation};
use crate::authz::AnyAuthorizer;
use crate::gate::Gate;
use crate::http::{self, Deadline};

pub struct GateApp {
    core: Core,
    gate: Gate,
}

impl GateApp {
    pub async fn init(function: &'static str) -> Result<Self, InitError> {
        let core = Core::init(function, CMS).await?;
        let verifier = core.secrets.current().idp.verifier(&core.http, &core.cfg);
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
        let mut log = RequestLog::new(self.core.function, request_id(&req), Instant::now());
        let greq = gate_request(&req);
        let secrets = self.core.secrets.fresh().await;
        let cms = self.core.sanity(&secrets);
        let deadline = Deadline::after(self.core.cfg.timeouts.sync_budget);
        let read = async {
            with_rotation!(self.core, secrets, |s| self.gate.read(&self.core.idp(&s), &cms, &greq, &log.request_id, deadline, &mut log.fields).await)
        };
        let (result, calls) = http::counting(read).await;
        log.upstream_calls = calls;
        let reply = BrowserReply { methods: "GET", served: "served" };
        reply.send(&self.core.cfg, &greq, log, result)
    }
}
