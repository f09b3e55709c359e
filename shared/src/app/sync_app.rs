//! publish-sync and delete-cleanup: a signed Sanity delivery in, the provider converged to the
//! rule's published state out (`sync::Syncer`).

use std::sync::Arc;
use std::time::Instant;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value};

use super::request_log::RequestLog;
use super::{CMS, Core, InitError, MAX_BODY, error_body, json_response, request_id, with_rotation};
use crate::cms::{SignatureError, WebhookEvent, signature};
use crate::error::Error;
use crate::http::{self, Deadline};
use crate::log::now_ms;
use crate::secrets::Secrets;
use crate::sync::{Report, Syncer};

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
        let mut log = RequestLog::new(self.core.function, request_id(&req), Instant::now());
        let (result, calls) = http::counting(self.process(&req, &mut log.fields)).await;
        log.upstream_calls = calls;
        let (status, body, outcome) = match &result {
            Ok(report) => {
                let mut b = report.to_json();
                // The log line carries the same fields (its `outcome` is set by request_line).
                log.fields.extend(b.iter().filter(|(k, _)| *k != "outcome").map(|(k, v)| (k.clone(), v.clone())));
                b.insert("request_id".into(), log.request_id.clone().into());
                (report.outcome.status(), Value::Object(b), report.outcome.as_str())
            }
            Err(e) => {
                log.fields.insert("error".into(), e.to_string().into());
                (e.status(), error_body(e, &log.request_id), e.code())
            }
        };
        log.write(outcome, status);
        json_response(status, &body, &[])
    }

    async fn process(&self, req: &Request, log: &mut Map<String, Value>) -> Result<Report, Error> {
        if req.method() != Method::POST {
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
            // Maybe the webhook secret was rotated since we read it: one rate-limited re-read.
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
        // Sanity retries late (30 s) and only twice: a rate limit is waited out within the budget.
        let deadline = Deadline::after(self.core.cfg.timeouts.sync_budget).waiting_out_rate_limits();
        with_rotation!(self.core, secrets, |s| self.sync(&ev, s, deadline).await)
    }

    async fn sync(&self, ev: &WebhookEvent, secrets: Arc<Secrets>, deadline: Deadline) -> Result<Report, Error> {
        let cms = self.core.sanity(&secrets);
        let idp = self.core.idp(&secrets);
        let syncer = Syncer { cms: &cms, idp: &idp, dataset: &secrets.sanity.dataset, now_ms, model: self.core.model() };
        match self.kind {
            SyncKind::Publish => syncer.publish(ev, deadline).await,
            SyncKind::Delete => syncer.delete(ev, deadline).await,
        }
    }
}
