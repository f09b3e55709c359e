//! A minimal AWS Lambda Runtime API (the 2018-06-01 protocol a `provided.al2023` bootstrap
//! speaks), so a test or benchmark can start a function binary as a fresh container, hand it
//! events, and time each phase: spawn → first `/next` poll (init done) → response posted.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{Notify, mpsc};

#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub response: Value,
    /// When the function asked for this event / posted its answer.
    pub delivered_at: Instant,
    pub answered_at: Instant,
}

struct Inner {
    queue: Mutex<VecDeque<(String, Value)>>,
    ready: Notify,
    first_poll: Mutex<Option<Instant>>,
    delivered: Mutex<std::collections::HashMap<String, Instant>>,
    done: mpsc::UnboundedSender<Invocation>,
    init_error: Mutex<Option<Value>>,
    /// The function timeout each event's deadline is computed from.
    timeout_ms: u128,
}

pub struct RuntimeApi {
    pub addr: std::net::SocketAddr,
    inner: Arc<Inner>,
    done: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn next(State(s): State<Arc<Inner>>) -> Response {
    s.first_poll.lock().unwrap().get_or_insert_with(Instant::now);
    loop {
        let item = s.queue.lock().unwrap().pop_front();
        if let Some((id, event)) = item {
            s.delivered.lock().unwrap().insert(id.clone(), Instant::now());
            let mut h = HeaderMap::new();
            h.insert("lambda-runtime-aws-request-id", HeaderValue::from_str(&id).unwrap());
            let deadline = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() + s.timeout_ms;
            h.insert("lambda-runtime-deadline-ms", HeaderValue::from_str(&deadline.to_string()).unwrap());
            h.insert("lambda-runtime-invoked-function-arn", HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:test"));
            h.insert("content-type", HeaderValue::from_static("application/json"));
            return (StatusCode::OK, h, event.to_string()).into_response();
        }
        s.ready.notified().await;
    }
}

async fn response(State(s): State<Arc<Inner>>, Path(id): Path<String>, body: String) -> StatusCode {
    let delivered_at = s.delivered.lock().unwrap().remove(&id).unwrap_or_else(Instant::now);
    let response = serde_json::from_str(&body).unwrap_or(Value::String(body));
    let _ = s.done.send(Invocation { request_id: id, response, delivered_at, answered_at: Instant::now() });
    StatusCode::ACCEPTED
}

async fn init_error(State(s): State<Arc<Inner>>, body: String) -> StatusCode {
    *s.init_error.lock().unwrap() = Some(serde_json::from_str(&body).unwrap_or(Value::String(body)));
    StatusCode::ACCEPTED
}

impl RuntimeApi {
    /// A Runtime API for a function with a 30 s timeout.
    pub async fn start() -> Self {
        Self::with_timeout(std::time::Duration::from_secs(30)).await
    }

    /// A Runtime API whose events carry a deadline `timeout` after delivery (the function's
    /// configured timeout: 300 s for reconcile in template.yaml).
    pub async fn with_timeout(timeout: std::time::Duration) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            queue: Mutex::new(VecDeque::new()),
            ready: Notify::new(),
            first_poll: Mutex::new(None),
            delivered: Mutex::new(Default::default()),
            done: tx,
            init_error: Mutex::new(None),
            timeout_ms: timeout.as_millis(),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(response))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RuntimeApi { addr, inner, done: tokio::sync::Mutex::new(rx), task }
    }

    /// Queues one event; returns its request id.
    pub fn push(&self, event: Value) -> String {
        let id = format!("req-{:016x}", fastrand::u64(..));
        self.inner.queue.lock().unwrap().push_back((id.clone(), event));
        self.inner.ready.notify_waiters();
        self.inner.ready.notify_one();
        id
    }

    /// Waits for the next answer.
    pub async fn answer(&self) -> Option<Invocation> {
        self.done.lock().await.recv().await
    }

    /// When the function first polled for an event: its init was complete.
    pub fn first_poll(&self) -> Option<Instant> {
        *self.inner.first_poll.lock().unwrap()
    }
}

/// A Lambda function URL event (payload format 2.0), as AWS sends it.
pub fn url_event(method: &str, path: &str, query: &str, headers: &[(&str, &str)], body: Option<&str>) -> Value {
    let mut h = serde_json::Map::new();
    for (k, v) in headers {
        h.insert(k.to_ascii_lowercase(), Value::String(v.to_string()));
    }
    serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": h,
        "requestContext": {
            "accountId": "anonymous", "apiId": "local", "domainName": "local.lambda-url.us-east-1.on.aws",
            "domainPrefix": "local", "requestId": format!("ctx-{:x}", fastrand::u64(..)), "routeKey": "$default", "stage": "$default",
            "time": "23/Nov/2026:10:00:00 +0000", "timeEpoch": 1_795_428_000_000u64,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "gatehouse-tests"}
        },
        "body": body,
        "isBase64Encoded": false
    })
}
