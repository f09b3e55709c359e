//! The one line every HTTP request writes (an EMF record: `requests` and `latency_ms` by function
//! and outcome, the rest as searchable fields).

use std::time::Instant;

use serde_json::{Map, Value};

use crate::log::request_line;

pub struct RequestLog {
    pub function: &'static str,
    pub request_id: String,
    pub started: Instant,
    /// Upstream HTTP calls the request made (`http::counting`).
    pub upstream_calls: u32,
    /// The request path, for functions that route on it (cut to 200 characters).
    pub path: Option<String>,
    /// What this kind of request adds: the sync report, the decision's audit, the error.
    pub fields: Map<String, Value>,
}

impl RequestLog {
    pub fn new(function: &'static str, request_id: String, started: Instant) -> Self {
        RequestLog { function, request_id, started, upstream_calls: 0, path: None, fields: Map::new() }
    }

    /// Writes the line for a request answered with `status`.
    pub fn write(mut self, outcome: &str, status: u16) {
        self.fields.insert("request_id".into(), self.request_id.into());
        self.fields.insert("status".into(), status.into());
        if let Some(p) = self.path {
            self.fields.insert("path".into(), p.chars().take(200).collect::<String>().into());
        }
        self.fields.insert("upstream_calls".into(), self.upstream_calls.into());
        request_line(self.function, outcome, self.started.elapsed().as_secs_f64() * 1e3, self.fields);
    }
}
