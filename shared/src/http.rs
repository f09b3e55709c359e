//! Outbound HTTP policy: one client per container (rustls, connect and request timeouts), bounded
//! exponential backoff with full jitter inside a total budget, and per-request call counting for
//! the request log line.

use std::cell::Cell;
use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::{RequestBuilder, StatusCode};

use crate::config::Timeouts;

/// Attempts per call, whatever the budget: a provider that fails 4 times in a row is down.
/// A rate limit (429) under a `Deadline::waiting_out_rate_limits` is retried for as long as the
/// budget allows instead: giving up only moves the retry to Sanity, which stalls that webhook's
/// queue 30 s, tries twice more and then drops the delivery (BENCHMARKS.md "Bulk publish").
const MAX_ATTEMPTS: u32 = 4;
const BACKOFF_BASE: Duration = Duration::from_millis(100);
const BACKOFF_CAP: Duration = Duration::from_secs(2);
/// Error bodies are kept for logs only, and short.
const ERROR_BODY_LIMIT: usize = 300;

#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    #[error("{service} did not answer in time")]
    Timeout { service: &'static str },
    #[error("{service} unreachable: {reason}")]
    Connect { service: &'static str, reason: String },
    #[error("{service} answered HTTP {status}: {body}")]
    Status { service: &'static str, status: u16, body: String, retry_after: Option<Duration> },
    #[error("{service} answered a body gatehouse could not read: {reason}")]
    Decode { service: &'static str, reason: String },
}

impl UpstreamError {
    /// Safe to try again: nothing was applied (timeouts of idempotent calls included).
    pub fn retryable(&self) -> bool {
        match self {
            UpstreamError::Timeout { .. } | UpstreamError::Connect { .. } => true,
            UpstreamError::Status { status, .. } => *status == 429 || *status >= 500,
            UpstreamError::Decode { .. } => false,
        }
    }

    /// The provider asked to slow down (429).
    pub fn rate_limited(&self) -> bool {
        self.status() == Some(429)
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            UpstreamError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            UpstreamError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub fn from_reqwest(service: &'static str, e: reqwest::Error) -> Self {
        if e.is_timeout() {
            UpstreamError::Timeout { service }
        } else if e.is_decode() || e.is_body() {
            UpstreamError::Decode { service, reason: e.to_string() }
        } else {
            // Never echo the URL: it can carry query parameters.
            UpstreamError::Connect { service, reason: e.without_url().to_string() }
        }
    }
}

/// The point in time a whole operation must finish by, and whether a provider's rate limit is
/// waited out until then (the sync functions and reconcile, whose callers retry late or never)
/// or answered after `MAX_ATTEMPTS` like any failure (a reader in a browser is waiting, and
/// gated-content's Lambda timeout is shorter than its budget: template.yaml).
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    at: Instant,
    wait_out_rate_limits: bool,
}

impl Deadline {
    pub fn after(d: Duration) -> Self {
        Deadline { at: Instant::now() + d, wait_out_rate_limits: false }
    }
    pub fn at(i: Instant) -> Self {
        Deadline { at: i, wait_out_rate_limits: false }
    }
    /// The same deadline, waiting out 429s until it.
    pub fn waiting_out_rate_limits(self) -> Self {
        Deadline { wait_out_rate_limits: true, ..self }
    }
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }
    /// The earlier of two deadlines; it waits out rate limits only if both do.
    pub fn min(self, other: Deadline) -> Self {
        Deadline { at: self.at.min(other.at), wait_out_rate_limits: self.wait_out_rate_limits && other.wait_out_rate_limits }
    }
}

/// The container's HTTP client (rustls, connect and request timeouts, pooled keep-alive).
///
/// Trust: the Mozilla roots compiled in (webpki-root-certs), plus `extra_root_pem` (the local
/// stack's CA, LOCAL_CA_FILE). Not the platform store: rustls-platform-verifier reads
/// /etc/ssl/certs file by file (292 files here) at the first handshake, which cost ~30 ms of every
/// cold start (BENCHMARKS.md); Stytch, Sanity and Descope all chain to public roots.
pub fn client(t: &Timeouts, extra_root_pem: Option<&[u8]>) -> Result<reqwest::Client, String> {
    install_crypto();
    let mut roots: Vec<reqwest::Certificate> =
        webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().filter_map(|c| reqwest::Certificate::from_der(c).ok()).collect();
    if let Some(pem) = extra_root_pem {
        let extra = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| e.to_string())?;
        if extra.is_empty() {
            return Err("no PEM certificate found".into());
        }
        roots.extend(extra);
    }
    reqwest::Client::builder()
        .tls_certs_only(roots)
        .connect_timeout(t.connect)
        .timeout(t.request)
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
}

/// ring as the process's rustls provider (reqwest reads it; shared/Cargo.toml gives reqwest none
/// of its own). ring draws randomness from getrandom(2): nothing to seed, unlike aws-lc's DRBG
/// (BENCHMARKS.md "crypto provider"). The AWS SDK's client is built on ring explicitly (secrets.rs).
pub fn install_crypto() {
    // Err = a provider is already installed (a second call): nothing to do.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

tokio::task_local! {
    static CALLS: Cell<u32>;
}

/// Runs `f`, counting the outbound HTTP attempts it makes (for the request log line).
pub async fn counting<F: Future>(f: F) -> (F::Output, u32) {
    CALLS
        .scope(Cell::new(0), async move {
            let out = f.await;
            (out, CALLS.with(|c| c.get()))
        })
        .await
}

/// One attempt: send, read the whole body, turn non-2xx into `UpstreamError::Status`.
pub async fn attempt(
    service: &'static str,
    req: RequestBuilder,
    per_attempt: Duration,
) -> Result<(StatusCode, bytes::Bytes), UpstreamError> {
    let _ = CALLS.try_with(|c| c.set(c.get() + 1));
    let resp = req.timeout(per_attempt).send().await.map_err(|e| UpstreamError::from_reqwest(service, e))?;
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = resp.bytes().await.map_err(|e| UpstreamError::from_reqwest(service, e))?;
    if status.is_success() {
        Ok((status, body))
    } else {
        let mut text = String::from_utf8_lossy(&body).into_owned();
        text.truncate(text.floor_char_boundary(ERROR_BODY_LIMIT));
        Err(UpstreamError::Status { service, status: status.as_u16(), body: text, retry_after })
    }
}

/// Runs `op` until it succeeds, fails for good, or the deadline leaves no room for another try.
/// `op` gets the time left for its attempt.
pub async fn retry<T, F, Fut>(deadline: Deadline, mut op: F) -> Result<T, UpstreamError>
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Result<T, UpstreamError>>,
{
    let mut attempt_no = 0;
    loop {
        attempt_no += 1;
        let left = deadline.remaining();
        let err = match op(left.max(Duration::from_millis(1))).await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        if !err.retryable() || (attempt_no >= MAX_ATTEMPTS && !(err.rate_limited() && deadline.wait_out_rate_limits)) {
            return Err(err);
        }
        let wait = err.retry_after().unwrap_or_else(|| backoff(attempt_no));
        // Only retry when the wait still leaves time for a real attempt.
        if wait + Duration::from_millis(50) >= deadline.remaining() {
            return Err(err);
        }
        tracing::debug!(error = %err, attempt = attempt_no, wait_ms = wait.as_millis() as u64, "retrying");
        tokio::time::sleep(wait).await;
    }
}

/// Full jitter: uniform in [0, min(cap, base * 2^(n-1))], never below 10 ms.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE.saturating_mul(1 << (attempt - 1).min(10)).min(BACKOFF_CAP);
    let ms = fastrand::u64(10..=ceiling.as_millis().max(10) as u64);
    Duration::from_millis(ms)
}

/// Opens (and TLS-handshakes) a pooled connection during init so the first request does not pay
/// for it. Failures are logged, never fatal.
pub async fn warm(client: &reqwest::Client, url: &str) {
    if let Err(e) = client.head(url).timeout(Duration::from_secs(2)).send().await {
        tracing::warn!(error = %e.without_url(), "connection warm-up failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(s: u16) -> UpstreamError {
        UpstreamError::Status { service: "t", status: s, body: String::new(), retry_after: None }
    }

    #[tokio::test]
    async fn retries_transient_errors_then_succeeds() {
        let mut n = 0;
        let out = retry(Deadline::after(Duration::from_secs(5)), |_| {
            n += 1;
            let r = if n < 3 { Err(status(429)) } else { Ok(n) };
            async move { r }
        })
        .await;
        assert_eq!(out.unwrap(), 3);
    }

    #[tokio::test]
    async fn does_not_retry_client_errors() {
        let mut n = 0;
        let out: Result<(), _> = retry(Deadline::after(Duration::from_secs(5)), |_| {
            n += 1;
            async { Err(status(400)) }
        })
        .await;
        assert_eq!(out.unwrap_err().status(), Some(400));
        assert_eq!(n, 1);
    }

    #[tokio::test]
    async fn stops_at_max_attempts_and_within_budget() {
        let mut n = 0;
        let out: Result<(), _> = retry(Deadline::after(Duration::from_secs(30)), |_| {
            n += 1;
            async { Err(status(500)) }
        })
        .await;
        assert_eq!(out.unwrap_err().status(), Some(500));
        assert_eq!(n, MAX_ATTEMPTS);
        // A budget too small for any backoff means exactly one attempt.
        let mut m = 0;
        let _: Result<(), _> = retry(Deadline::after(Duration::from_millis(5)), |_| {
            m += 1;
            async { Err(status(503)) }
        })
        .await;
        assert_eq!(m, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_limit_is_waited_out_past_max_attempts() {
        let mut n = 0;
        let out = retry(Deadline::after(Duration::from_secs(20)).waiting_out_rate_limits(), |_| {
            n += 1;
            let r = if n <= 10 { Err(status(429)) } else { Ok(n) };
            async move { r }
        })
        .await;
        assert_eq!(out.unwrap(), 11);
        // Other retryable failures still stop at MAX_ATTEMPTS (stops_at_max_attempts_…).
    }

    #[tokio::test(start_paused = true)]
    async fn a_reader_s_deadline_answers_a_rate_limit_after_max_attempts() {
        let mut n = 0;
        let out: Result<(), _> = retry(Deadline::after(Duration::from_secs(20)), |_| {
            n += 1;
            async { Err(status(429)) }
        })
        .await;
        assert!(out.unwrap_err().rate_limited());
        assert_eq!(n, MAX_ATTEMPTS);
        let both = Deadline::after(Duration::from_secs(20)).waiting_out_rate_limits().min(Deadline::after(Duration::from_secs(20)));
        assert!(!both.wait_out_rate_limits);
    }

    #[tokio::test]
    async fn a_rate_limit_that_outlasts_the_budget_is_answered_in_time() {
        let started = Instant::now();
        let deadline = Deadline::after(Duration::from_millis(400)).waiting_out_rate_limits();
        let out: Result<(), _> = retry(deadline, |_| async { Err(status(429)) }).await;
        assert!(out.unwrap_err().rate_limited());
        assert!(started.elapsed() < Duration::from_millis(400), "{:?}", started.elapsed());
    }

    #[test]
    fn client_trusts_compiled_in_roots_plus_an_explicit_local_ca() {
        let t = Timeouts {
            connect: Duration::from_secs(1),
            request: Duration::from_secs(1),
            sync_budget: Duration::from_secs(1),
            init_budget: Duration::from_secs(1),
        };
        assert!(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() > 100);
        assert!(client(&t, None).is_ok());
        let ca = include_bytes!("../../tests/fixtures/local-ca.pem");
        assert!(client(&t, Some(ca)).is_ok());
        assert!(client(&t, Some(b"not a certificate")).is_err());
    }

    #[test]
    fn backoff_is_bounded() {
        for a in 1..20 {
            assert!(backoff(a) <= BACKOFF_CAP);
        }
    }
}
