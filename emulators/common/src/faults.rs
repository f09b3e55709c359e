//! Injected faults, as both emulators' control APIs take them:
//! `POST /__gatehouse/faults {method?, path, match?, status? | hang_ms?, count?, ...}`.
//!
//! `match` scopes a fault to requests whose query string or body contains that text (a test's
//! own user, organization or document id), so tests sharing a path such as "update a user's
//! custom attribute" do not see each other's faults; the Sanity emulator's faults take the same
//! field (emulators/sanity/server.js). The provider-specific part of a fault (the error it
//! answers with) is the emulator's `E`.

use serde_json::{Map, Value, json};

pub struct Fault<E> {
    /// Upper-case method, or `*` for any.
    pub method: String,
    /// Exact path, or a prefix ending in `*`.
    pub path: String,
    /// Text the request's query or body must contain (`match`).
    pub needle: Option<String>,
    pub status: Option<u16>,
    pub hang_ms: Option<u64>,
    pub remaining: u64,
    pub error: E,
}

/// What a matching fault does to one request.
pub struct Hit<E> {
    pub status: Option<u16>,
    pub hang_ms: Option<u64>,
    pub error: E,
}

impl<E> Hit<E> {
    /// Waits out the fault's hang, then gives the status and error to answer with; `None` lets
    /// the request go on to its handler (a hang-only fault).
    pub async fn apply(self) -> Option<(u16, E)> {
        if let Some(ms) = self.hang_ms {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
        self.status.map(|s| (s, self.error))
    }
}

impl<E> Fault<E> {
    /// The common fields of a `POST /__gatehouse/faults` body; `error` is the emulator's own.
    pub fn parse(body: &Map<String, Value>, error: E) -> Result<Fault<E>, &'static str> {
        let path = body.get("path").and_then(Value::as_str).filter(|p| !p.is_empty()).ok_or("path is required")?.to_string();
        let method = match body.get("method") {
            None | Some(Value::Null) => "*".to_string(),
            Some(v) => v.as_str().ok_or("method must be a string")?.to_ascii_uppercase(),
        };
        let needle = match body.get("match") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_str().filter(|s| !s.is_empty()).ok_or("match must be a non-empty string")?.to_string()),
        };
        let status = match body.get("status") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().filter(|s| (100..=599).contains(s)).ok_or("status must be an HTTP status code")? as u16),
        };
        let hang_ms = body.get("hang_ms").and_then(Value::as_u64);
        if status.is_none() && hang_ms.is_none() {
            return Err("status or hang_ms is required");
        }
        let remaining = body.get("count").and_then(Value::as_u64).unwrap_or(1);
        Ok(Fault { method, path, needle, status, hang_ms, remaining, error })
    }

    /// What the control API echoes back.
    pub fn echo(&self) -> Value {
        json!({
            "method": self.method, "path": self.path, "match": self.needle, "status": self.status,
            "hang_ms": self.hang_ms, "count": self.remaining,
        })
    }

    /// Whether the fault is still armed for `method path` (its `match` aside).
    fn targets(&self, method: &str, path: &str) -> bool {
        let m = self.method == "*" || self.method.eq_ignore_ascii_case(method);
        let p = match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => self.path == path,
        };
        self.remaining > 0 && m && p
    }

    /// Whether the fault applies to `method path` whose query and body are `text`.
    pub fn applies(&self, method: &str, path: &str, text: &str) -> bool {
        self.targets(method, path) && self.needle.as_deref().is_none_or(|n| text.contains(n))
    }
}

/// The active faults of one emulator.
pub struct Faults<E>(Vec<Fault<E>>);

impl<E> Default for Faults<E> {
    fn default() -> Self {
        Faults(Vec::new())
    }
}

impl<E: Clone> Faults<E> {
    pub fn add(&mut self, f: Fault<E>) -> usize {
        self.0.push(f);
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Fault<E>> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Removes the faults registered for exactly `path` (and `method` and `match`, when given),
    /// so parallel tests keep their own.
    pub fn clear_path(&mut self, method: Option<&str>, path: &str, needle: Option<&str>) {
        self.0.retain(|f| {
            let hit = f.path == path
                && method.is_none_or(|m| f.method.eq_ignore_ascii_case(m))
                && needle.is_none_or(|n| f.needle.as_deref() == Some(n));
            !hit
        });
    }

    /// Whether any fault on `method path` needs the request's body to decide.
    pub fn needs_body(&self, method: &str, path: &str) -> bool {
        self.0.iter().any(|f| f.needle.is_some() && f.targets(method, path))
    }

    /// The first fault that applies, counted down (and dropped once used up).
    pub fn take(&mut self, method: &str, path: &str, text: &str) -> Option<Hit<E>> {
        let hit = self.0.iter_mut().find(|f| f.applies(method, path, text)).map(|f| {
            f.remaining -= 1;
            Hit { status: f.status, hang_ms: f.hang_ms, error: f.error.clone() }
        });
        self.0.retain(|f| f.remaining > 0);
        hit
    }
}

/// The text a fault's `match` is checked against: the query string and, when `with_body` (some
/// fault on this path has a `match`), the body, which is read and put back for the handler.
pub async fn request_text(
    req: axum::extract::Request,
    with_body: bool,
) -> Result<(axum::extract::Request, String), axum::response::Response> {
    let query = req.uri().query().unwrap_or("").to_string();
    if !with_body {
        return Ok((req, query));
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20).await.map_err(|e| {
        use axum::response::IntoResponse as _;
        (axum::http::StatusCode::BAD_REQUEST, format!("request body: {e}")).into_response()
    })?;
    let text = format!("{query}\n{}", String::from_utf8_lossy(&bytes));
    Ok((axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes)), text))
}

/// An emulator's faults and call counter, reached under its own lock.
pub trait Recorded<E> {
    fn with_faults<R>(&self, f: impl FnOnce(&mut Faults<E>, &mut crate::calls::Calls) -> R) -> R;
}

/// Where the front both emulators' middleware share sends a request.
pub enum Front<E> {
    /// A control-API request (`/__gatehouse/…`): not counted, never faulted.
    Control(axum::extract::Request),
    /// An API request that was counted and that no fault stopped (the emulator's rate limit and
    /// handler come next).
    Api(axum::extract::Request),
    /// A fault answers with this status and the emulator's error.
    Fault(u16, E),
    /// The body a fault's `match` needed could not be read.
    Refused(axum::response::Response),
}

/// Counts every API request and applies the first fault that matches it (waiting out a hang).
pub async fn front<E: Clone, S: Recorded<E>>(st: &S, req: axum::extract::Request) -> Front<E> {
    let path = req.uri().path().to_string();
    if path.starts_with("/__gatehouse/") {
        return Front::Control(req);
    }
    let method = req.method().as_str().to_string();
    // One short lock for each step: none may be held across an await.
    let with_body = st.with_faults(|faults, _| faults.needs_body(&method, &path));
    let (req, text) = match request_text(req, with_body).await {
        Ok(r) => r,
        Err(resp) => return Front::Refused(resp),
    };
    let hit = st.with_faults(|faults, calls| {
        calls.record(&method, &path);
        faults.take(&method, &path, &text)
    });
    match hit {
        Some(hit) => match hit.apply().await {
            Some((status, error)) => Front::Fault(status, error),
            None => Front::Api(req),
        },
        None => Front::Api(req),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(body: Value) -> Result<Fault<()>, &'static str> {
        Fault::parse(body.as_object().unwrap(), ())
    }

    #[test]
    fn parses_and_refuses_bad_bodies() {
        let f = fault(json!({"path": "/v1/x*", "method": "post", "status": 500, "count": 2})).unwrap();
        assert_eq!((f.method.as_str(), f.remaining, f.status), ("POST", 2, Some(500)));
        assert_eq!(fault(json!({"status": 500})).err(), Some("path is required"));
        assert_eq!(fault(json!({"path": "/x"})).err(), Some("status or hang_ms is required"));
        assert_eq!(fault(json!({"path": "/x", "status": 99})).err(), Some("status must be an HTTP status code"));
        assert_eq!(fault(json!({"path": "/x", "status": 500, "match": ""})).err(), Some("match must be a non-empty string"));
    }

    #[test]
    fn matches_method_path_prefix_and_needle() {
        let mut fs = Faults::default();
        fs.add(fault(json!({"path": "/v1/users/*", "method": "PUT", "status": 429, "match": "user-a", "count": 1})).unwrap());
        assert!(fs.needs_body("PUT", "/v1/users/x"));
        assert!(!fs.needs_body("GET", "/v1/users/x"));
        assert!(fs.take("PUT", "/v1/users/x", r#"{"id":"user-b"}"#).is_none(), "another test's id");
        assert!(fs.take("GET", "/v1/users/x", "user-a").is_none(), "another method");
        assert!(fs.take("PUT", "/v1/orgs/x", "user-a").is_none(), "another path");
        assert_eq!(fs.take("PUT", "/v1/users/x", r#"{"id":"user-a"}"#).map(|h| h.status), Some(Some(429)));
        assert!(fs.is_empty(), "used up");
    }

    #[test]
    fn clear_path_keeps_other_faults() {
        let mut fs = Faults::default();
        fs.add(fault(json!({"path": "/a", "status": 500, "count": 5})).unwrap());
        fs.add(fault(json!({"path": "/b", "method": "GET", "status": 500, "count": 5})).unwrap());
        fs.add(fault(json!({"path": "/b", "status": 500, "match": "mine"})).unwrap());
        fs.clear_path(Some("POST"), "/b", None);
        assert_eq!(fs.len(), 3, "method differs");
        fs.clear_path(None, "/b", Some("mine"));
        assert_eq!(fs.len(), 2, "only the fault scoped to `mine`");
        fs.clear_path(None, "/b", None);
        assert_eq!(fs.len(), 1);
        assert!(fs.take("DELETE", "/a", "").is_some());
    }
}
