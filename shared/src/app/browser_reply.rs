//! How a browser-facing function (gated-content, token-exchange) reads a request and answers:
//! never cached, CORS from the allow-list when the function answers CORS itself, 401s with
//! `WWW-Authenticate`, one request line.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::Value;

use super::request_log::RequestLog;
use super::{error_body, json_response};
use crate::config::Config;
use crate::error::Error;
use crate::gate::{GateRequest, cors_headers};

pub(super) struct BrowserReply {
    /// Methods a preflight may allow.
    pub methods: &'static str,
    /// The outcome logged for a 200.
    pub served: &'static str,
}

impl BrowserReply {
    pub fn send(&self, cfg: &Config, greq: &GateRequest, mut log: RequestLog, result: Result<Value, Error>) -> Response<Body> {
        let cors_here = cfg.cors_in_function;
        let preflight = greq.method == Method::OPTIONS;
        let mut headers: Vec<(&str, String)> = vec![
            ("cache-control", "private, no-store".into()),
            ("vary", if cors_here { "Authorization, Cookie, Origin" } else { "Authorization, Cookie" }.into()),
        ];
        let cors = if cors_here { cors_headers(greq.origin.as_deref(), &cfg.cors_allowed_origins, preflight, self.methods) } else { None };
        if let Some(h) = &cors {
            headers.extend(h.iter().map(|(k, v)| (*k, v.clone())));
        }
        let rid = log.request_id.clone();
        let (status, body, outcome) = match result {
            // A preflight from an origin not on the list gets no CORS headers and a 403.
            Ok(_) if preflight && cors.is_none() => {
                let e = Error::OriginNotAllowed;
                (e.status(), error_body(&e, &rid), e.code())
            }
            Ok(_) if preflight => (204, Value::Null, "preflight"),
            Ok(v) => (200, v, self.served),
            Err(e) => {
                if e.status() == 401 {
                    headers.push(("www-authenticate", r#"Bearer error="invalid_token""#.into()));
                }
                log.fields.insert("error".into(), e.to_string().into());
                (e.status(), error_body(&e, &rid), e.code())
            }
        };
        log.path = Some(greq.path.clone());
        log.write(outcome, status);
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

/// The parts of the request the gate and token-exchange look at.
pub(super) fn gate_request(req: &Request) -> GateRequest {
    // A header that is present but not text becomes an empty value, which the session parser
    // refuses (401), rather than vanishing and turning the caller anonymous.
    let header = |name: &str| req.headers().get(name).map(|v| v.to_str().unwrap_or("").to_string());
    GateRequest {
        method: req.method().clone(),
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
