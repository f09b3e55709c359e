//! The one line every invocation writes: an EMF record of metrics by function and outcome (an
//! HTTP request's `requests` and `latency_ms`, a reconcile run's counts), the rest as searchable
//! fields.

use std::time::Instant;

use serde_json::{Map, Value};

use crate::log::{metric_line, request_line};

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
        self.fields.insert("status".into(), status.into());
        if let Some(p) = self.path.take() {
            self.fields.insert("path".into(), p.chars().take(200).collect::<String>().into());
        }
        let ms = self.elapsed_ms();
        let (function, fields) = self.into_fields();
        request_line(function, outcome, ms, fields);
    }

    /// Writes the line for a run that is not an HTTP request (reconcile): its own metrics, plus
    /// `duration_ms`.
    pub fn write_run(self, outcome: &str, metrics: &[(&str, &str, Value)]) {
        let ms = Value::from((self.elapsed_ms() * 100.0).round() / 100.0);
        let mut all = metrics.to_vec();
        all.push(("duration_ms", "Milliseconds", ms));
        let (function, fields) = self.into_fields();
        metric_line(function, outcome, &all, fields);
    }

    fn elapsed_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1e3
    }

    /// The fields every line carries, whatever kind it is.
    fn into_fields(mut self) -> (&'static str, Map<String, Value>) {
        self.fields.insert("request_id".into(), self.request_id.into());
        self.fields.insert("upstream_calls".into(), self.upstream_calls.into());
        (self.function, self.fields)
    }
}
