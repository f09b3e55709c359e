//! The running test stack (`scripts/stack.sh up test`) and helpers to drive it over real HTTP,
//! one module per service: stytch.rs, descope.rs, sanity.rs (the CMS and its webhooks),
//! functions.rs (the deployments' functions and fresh containers), aws.rs (moto).

mod aws;
mod descope;
mod functions;
mod sanity;
mod stytch;

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

pub use aws::*;
pub use functions::*;
pub use sanity::*;
pub use stytch::org_path;

pub struct Stack {
    env: HashMap<String, String>,
    pub http: reqwest::Client,
}

/// One of the test stack's three deployments, each its own set of functions (`cargo lambda
/// watch` instance): the Stytch B2B project, the Stytch consumer project, the Descope project.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deployment {
    B2b,
    Consumer,
    Descope,
}

pub use Deployment::{B2b, Consumer};

impl Deployment {
    /// Base URL of the deployment's functions (`…/lambda-url/<function>`,
    /// `…/2015-03-31/functions/<function>/invocations`).
    pub fn functions(self) -> &'static str {
        stack().var(match self {
            Deployment::B2b => "LAMBDA_URL",
            Deployment::Consumer => "LAMBDA_CONSUMER_URL",
            Deployment::Descope => "LAMBDA_DESCOPE_URL",
        })
    }

    /// The env its functions run with (scripts/stack.sh writes `.stack/test/<file>`).
    pub fn env_file(self) -> &'static str {
        match self {
            Deployment::B2b => "functions-b2b.env",
            Deployment::Consumer => "functions-consumer.env",
            Deployment::Descope => "functions-descope.env",
        }
    }
}

static STACK: OnceLock<Stack> = OnceLock::new();

/// The suite runs its tests concurrently against one stack. Every test scopes its data and its
/// injected faults to its own ids (`"match": <id>`), so tests run side by side under `shared()`.
/// The few that act on a whole project or dataset (reconcile scans every rule, turning webhooks
/// off, deleting a project-wide attribute definition, counting a project's JWKS fetches) take
/// `exclusive()`. main.rs's `every_test_takes_the_stack_lock` checks each test's first statement.
static STACK_LOCK: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Held by a test that touches only its own ids.
pub async fn shared() -> tokio::sync::RwLockReadGuard<'static, ()> {
    stack();
    STACK_LOCK.read().await
}

/// Held by a test that acts on a whole project or dataset: no other test runs meanwhile.
pub async fn exclusive() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    stack();
    STACK_LOCK.write().await
}

/// The running test stack. Without one, a plain `cargo test` skips the end-to-end suite with one
/// line and exits successfully; `make test` sets `GATEHOUSE_E2E=required`, so there a missing
/// stack fails instead of passing silently.
pub fn stack() -> &'static Stack {
    STACK.get_or_init(|| {
        let path = std::env::var("GATEHOUSE_STACK_ENV")
            .unwrap_or_else(|_| format!("{}/../.stack/test/stack.env", env!("CARGO_MANIFEST_DIR")));
        let skip = |why: String| -> ! {
            if std::env::var("GATEHOUSE_E2E").as_deref() == Ok("required") {
                panic!("{why}. GATEHOUSE_E2E=required but the test stack is not running (scripts/stack.sh up test)")
            }
            use std::io::Write as _;
            // Straight to stderr: libtest captures print!/eprintln! of a passing test.
            let _ = writeln!(
                std::io::stderr(),
                "e2e: skipped, {why} (`make test` starts the stack; or scripts/stack.sh up test, then cargo test)"
            );
            std::process::exit(0);
        };
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| skip(format!("no test stack at {path} ({e})")));
        let env: HashMap<String, String> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        // The env file outlives `scripts/stack.sh down`: only a stack that answers counts.
        let sanity = env.get("SANITY_URL").cloned().unwrap_or_default();
        let addr = sanity.split("://").nth(1).unwrap_or("").trim_end_matches('/');
        let answers = std::net::ToSocketAddrs::to_socket_addrs(addr)
            .ok()
            .and_then(|mut a| a.next())
            .is_some_and(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok());
        if !answers {
            skip(format!("the test stack of {path} does not answer at SANITY_URL={sanity:?} (stopped?)"));
        }
        // Every #[tokio::test] has its own runtime: pooled connections would outlive theirs.
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).pool_max_idle_per_host(0).build().unwrap();
        Stack { env, http }
    })
}

pub fn uid() -> String {
    format!("{:012x}", fastrand::u64(..) & 0xffff_ffff_ffff)
}

pub fn now_ms() -> i64 {
    gatehouse::log::now_ms()
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Stack {
    pub fn var(&self, k: &str) -> &str {
        self.env.get(k).map(String::as_str).unwrap_or_else(|| panic!("{k} missing from stack.env"))
    }

    pub async fn request_with(&self, req: reqwest::RequestBuilder) -> Resp {
        self.send(req).await
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let r = req.send().await.expect("request failed");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let bytes = r.bytes().await.unwrap();
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into())) };
        Resp { status, headers, body }
    }

    pub async fn request(&self, method: reqwest::Method, url: String, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.http.request(method, url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }
}

/// `GET /__gatehouse/calls` of either Rust emulator: how often `method path` was served.
fn calls(body: &Value, method: &str, path: &str) -> u64 {
    body["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["method"] == method && c["path"] == path)
        .map(|c| c["count"].as_u64().unwrap())
        .sum()
}
