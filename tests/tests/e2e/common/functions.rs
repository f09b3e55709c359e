//! The functions of each deployment: webhook deliveries, gated reads, reconcile invocations, and
//! fresh containers under their own Runtime API; the Cerbos PDP they ask.

use std::time::Duration;

use serde_json::Value;

use super::*;

impl Stack {
    pub fn function_url(&self, function: &str, d: Deployment) -> String {
        format!("{}/lambda-url/{function}", d.functions())
    }

    /// A webhook delivery signed like Sanity signs it.
    pub fn sign(&self, body: &str) -> String {
        gatehouse::cms::signature::header(self.var("WEBHOOK_SECRET"), now_ms(), body.as_bytes())
    }

    pub async fn deliver(&self, function: &str, d: Deployment, body: &str, signature: Option<&str>) -> Resp {
        self.deliver_to(&self.function_url(function, d), body, signature).await
    }

    /// A webhook delivery to a function URL (`…/lambda-url/<function>`) of any deployment.
    pub async fn deliver_to(&self, function_url: &str, body: &str, signature: Option<&str>) -> Resp {
        let mut req = self.http.post(format!("{function_url}/")).header("content-type", "application/json").body(body.to_string());
        if let Some(s) = signature {
            req = req.header("sanity-webhook-signature", s);
        }
        self.send(req).await
    }

    pub async fn deliver_signed(&self, function: &str, d: Deployment, body: &Value) -> Resp {
        let text = body.to_string();
        self.deliver(function, d, &text, Some(&self.sign(&text))).await
    }

    pub async fn get(&self, d: Deployment, path_and_query: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Resp {
        self.get_from(&self.function_url("gated-content", d), path_and_query, token, headers).await
    }

    /// A gated read from a gated-content function URL of any deployment.
    pub async fn get_from(&self, gated_url: &str, path_and_query: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.http.get(format!("{gated_url}{path_and_query}"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    /// Invokes the reconcile function through the local Lambda Runtime API (what `cargo lambda
    /// invoke reconcile` does). A failed invocation answers 500 with `{errorType, errorMessage}`.
    pub async fn reconcile(&self, d: Deployment, input: Value) -> Resp {
        self.send(self.http.post(format!("{}/2015-03-31/functions/reconcile/invocations", d.functions())).json(&input)).await
    }
}

/// A function started as a fresh container with the env of deployment `d` plus
/// `env`, driven through its own Runtime API; killed when the child is dropped.
pub async fn container(bin: &str, d: Deployment, env: &[(&str, &str)]) -> (gatehouse_tests::runtime_api::RuntimeApi, tokio::process::Child) {
    container_logging(bin, d, env, None).await
}

/// `container`, with the function's stdout (its request and metric lines) written to `stdout`
/// (default: appended to `.stack/test/containers.log`).
pub async fn container_logging(
    bin: &str,
    d: Deployment,
    env: &[(&str, &str)],
    stdout: Option<&std::path::Path>,
) -> (gatehouse_tests::runtime_api::RuntimeApi, tokio::process::Child) {
    stack(); // the env files below exist only while the stack runs
    let api = gatehouse_tests::runtime_api::RuntimeApi::start().await;
    let mut cmd = tokio::process::Command::new(format!("{}/../target/debug/{bin}", env!("CARGO_MANIFEST_DIR")));
    let fns = std::fs::read_to_string(format!("{}/../.stack/test/{}", env!("CARGO_MANIFEST_DIR"), d.env_file())).unwrap();
    for line in fns.lines().filter_map(|l| l.split_once('=')) {
        cmd.env(line.0, line.1);
    }
    cmd.env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", bin)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("RUST_LOG", "warn")
        .stdout(match stdout {
            Some(p) => std::process::Stdio::from(std::fs::File::create(p).unwrap()),
            // Every other container's lines join the stack's logs, so scripts/check_alarm_metrics.py
            // sees the answers only containers produce (a cold start without JWKS, a PDP that is down).
            None => std::process::Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(format!("{}/../.stack/test/containers.log", env!("CARGO_MANIFEST_DIR")))
                    .unwrap(),
            ),
        })
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    (api, cmd.spawn().unwrap())
}

pub async fn invoke(api: &gatehouse_tests::runtime_api::RuntimeApi, event: Value) -> Value {
    api.push(event);
    tokio::time::timeout(Duration::from_secs(20), api.answer()).await.expect("function answered").unwrap().response
}

/// The test stack's Cerbos PDP (scripts/stack.sh starts it with policies/).
pub fn cerbos_url() -> String {
    std::env::var("CERBOS_URL").unwrap_or_else(|_| stack().var("CERBOS_URL").to_string())
}
