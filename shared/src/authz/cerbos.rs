//! The Cerbos PDP over its HTTP JSON API (`AUTHZ=cerbos`): CheckResources for one document,
//! PlanResources for a list page. Plain reqwest + serde: no gRPC stack, no protoc. Locally the
//! PDP listens on TCP; on Lambda the official extension serves `unix:/tmp/cerbos.http.sock`.
//!
//! Fail closed: a transport error, a timeout, a non-200 or an answer that is not exactly the
//! decision asked for is an error (503 to the caller), never a silent deny and never an allow.

use std::time::Duration;

use serde_json::{Value, json};

use super::model::{Decision, Principal, ResourceAttr};
use super::plan::{self, GroqFilter};
use super::{Audit, AuthzError, CONTENT, RESOURCE_KIND};
use crate::config::CerbosEndpoint;
use crate::http::Deadline;

const POLICY_VERSION: &str = "default";
/// Error bodies are kept for logs only, and short.
const BODY_LIMIT: usize = 300;

pub struct Cerbos {
    http: reqwest::Client,
    base: String,
    timeout: Duration,
}

impl Cerbos {
    /// `shared` is the container's client (reused for TCP); a unix socket needs its own.
    pub fn new(endpoint: &CerbosEndpoint, timeout: Duration, shared: &reqwest::Client) -> Result<Self, String> {
        let (http, base) = match endpoint {
            CerbosEndpoint::Tcp(url) => (shared.clone(), url.clone()),
            CerbosEndpoint::Unix(path) => {
                let c = reqwest::Client::builder()
                    .unix_socket(path.as_str())
                    // Plain HTTP over the socket: no roots to load.
                    .tls_certs_only(Vec::<reqwest::Certificate>::new())
                    .timeout(timeout)
                    .pool_idle_timeout(Duration::from_secs(60))
                    .build()
                    .map_err(|e| e.to_string())?;
                (c, "http://localhost".to_string())
            }
        };
        Ok(Cerbos { http, base, timeout })
    }

    /// Polls `/_cerbos/health` until it answers SERVING or `budget` runs out (at init: the Lambda
    /// extension starts with the function, and a local PDP may still be loading policies).
    pub async fn wait_serving(&self, budget: Duration) -> Result<Duration, AuthzError> {
        let started = std::time::Instant::now();
        let deadline = Deadline::after(budget);
        loop {
            let r = self.http.get(format!("{}/_cerbos/health", self.base)).timeout(self.timeout.min(deadline.remaining())).send().await;
            let last = match r {
                Ok(r) if r.status().is_success() => match r.json::<Value>().await {
                    Ok(v) if v["status"] == "SERVING" => return Ok(started.elapsed()),
                    Ok(v) => AuthzError::Garbage(format!("health: {v}")),
                    Err(e) => AuthzError::Garbage(e.to_string()),
                },
                Ok(r) => AuthzError::Status { status: r.status().as_u16(), body: String::new() },
                Err(e) => AuthzError::from_reqwest(e),
            };
            if deadline.remaining() < Duration::from_millis(25) {
                return Err(last);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn post(&self, path: &str, body: &Value, deadline: Deadline) -> Result<Value, AuthzError> {
        let timeout = self.timeout.min(deadline.remaining());
        if timeout.is_zero() {
            return Err(AuthzError::Timeout);
        }
        let r = self.http.post(format!("{}{path}", self.base)).json(body).timeout(timeout).send().await.map_err(AuthzError::from_reqwest)?;
        let status = r.status().as_u16();
        let bytes = r.bytes().await.map_err(AuthzError::from_reqwest)?;
        if status != 200 {
            let body = String::from_utf8_lossy(&bytes).chars().take(BODY_LIMIT).collect();
            return Err(AuthzError::Status { status, body });
        }
        serde_json::from_slice(&bytes).map_err(|e| AuthzError::Garbage(format!("{path}: {e}")))
    }

    pub async fn check(&self, request_id: &str, p: &Principal, id: &str, r: &ResourceAttr, deadline: Deadline) -> Result<(Decision, Audit), AuthzError> {
        let body = check_request(request_id, p, id, r);
        let resp = self.post("/api/check/resources", &body, deadline).await?;
        read_check(&resp, request_id, id)
    }

    pub async fn plan(&self, request_id: &str, p: &Principal, deadline: Deadline) -> Result<(GroqFilter, Audit), AuthzError> {
        let body = plan_request(request_id, p);
        let resp = self.post("/api/plan/resources", &body, deadline).await?;
        read_plan(&resp, request_id)
    }
}

fn principal_json(p: &Principal) -> Value {
    json!({"id": p.id, "roles": p.roles, "attr": p.attr, "policyVersion": POLICY_VERSION})
}

pub fn check_request(request_id: &str, p: &Principal, id: &str, r: &ResourceAttr) -> Value {
    json!({
        "requestId": request_id,
        "includeMeta": true,
        "principal": principal_json(p),
        "resources": [{
            "actions": ["read", "discover"],
            "resource": {"kind": RESOURCE_KIND, "id": id, "attr": r, "policyVersion": POLICY_VERSION},
        }],
    })
}

pub fn plan_request(request_id: &str, p: &Principal) -> Value {
    json!({
        "requestId": request_id,
        "includeMeta": true,
        "action": "list",
        "principal": principal_json(p),
        "resource": {"kind": RESOURCE_KIND, "attr": {}, "policyVersion": POLICY_VERSION},
    })
}

fn garbage(what: impl Into<String>) -> AuthzError {
    AuthzError::Garbage(what.into())
}

fn effect(v: &Value, action: &str) -> Result<bool, AuthzError> {
    match v["actions"][action].as_str() {
        Some("EFFECT_ALLOW") => Ok(true),
        Some("EFFECT_DENY") => Ok(false),
        other => Err(garbage(format!("effect of {action}: {other:?}"))),
    }
}

/// The one decision asked for, or an error: the answer must be about this request, this
/// document and both actions.
pub fn read_check(resp: &Value, request_id: &str, id: &str) -> Result<(Decision, Audit), AuthzError> {
    if resp["requestId"] != request_id {
        return Err(garbage(format!("answer for request {} instead of {request_id}", resp["requestId"])));
    }
    let results = resp["results"].as_array().ok_or_else(|| garbage("no results"))?;
    let [result] = results.as_slice() else { return Err(garbage(format!("{} results for 1 resource", results.len()))) };
    if result["resource"]["id"] != id || result["resource"]["kind"] != RESOURCE_KIND {
        return Err(garbage(format!("result for {} instead of {id}", result["resource"])));
    }
    let decision = Decision { read: effect(result, "read")?, discover: effect(result, "discover")? };
    let audit = Audit {
        request_id: Some(request_id.to_string()),
        call_id: resp["cerbosCallId"].as_str().map(String::from),
        policy: result["meta"]["actions"]["read"]["matchedPolicy"].as_str().map(String::from),
        filter: None,
    };
    Ok((decision, audit))
}

pub fn read_plan(resp: &Value, request_id: &str) -> Result<(GroqFilter, Audit), AuthzError> {
    if resp["requestId"] != request_id {
        return Err(garbage(format!("answer for request {} instead of {request_id}", resp["requestId"])));
    }
    if resp["action"] != "list" || resp["resourceKind"] != RESOURCE_KIND {
        return Err(garbage(format!("plan for {} {} instead of list {RESOURCE_KIND}", resp["action"], resp["resourceKind"])));
    }
    let filter = plan::translate(&resp["filter"], CONTENT)?;
    let audit = Audit {
        request_id: Some(request_id.to_string()),
        call_id: resp["cerbosCallId"].as_str().map(String::from),
        policy: None,
        filter: resp["filter"]["kind"].as_str().map(String::from),
    };
    Ok((filter, audit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok_check() -> Value {
        json!({"requestId": "r1", "cerbosCallId": "c1", "results": [{
            "resource": {"id": "doc-1", "kind": "content"},
            "actions": {"read": "EFFECT_DENY", "discover": "EFFECT_ALLOW"},
            "meta": {"actions": {"read": {"matchedPolicy": "resource.content.vdefault"}}}}]})
    }

    #[test]
    fn a_check_answer_must_be_exactly_the_decision_asked_for() {
        let (d, a) = read_check(&ok_check(), "r1", "doc-1").unwrap();
        assert_eq!(d, Decision { read: false, discover: true });
        assert_eq!(a.policy.as_deref(), Some("resource.content.vdefault"));
        assert_eq!(a.call_id.as_deref(), Some("c1"));
        let mut bad: Vec<Value> = Vec::new();
        for (path, v) in [
            ("/requestId", json!("r2")),
            ("/results/0/resource/id", json!("doc-2")),
            ("/results/0/resource/kind", json!("other")),
            ("/results/0/actions/read", json!("EFFECT_MAYBE")),
            ("/results/0/actions/read", json!(true)),
            ("/results/0/actions/discover", Value::Null),
            ("/results", json!([])),
            ("/results", json!("x")),
        ] {
            let mut r = ok_check();
            *r.pointer_mut(path).unwrap() = v;
            bad.push(r);
        }
        let mut two = ok_check();
        let first = two["results"][0].clone();
        two["results"].as_array_mut().unwrap().push(first);
        bad.push(two);
        bad.push(json!({}));
        bad.push(json!([]));
        for r in bad {
            assert!(matches!(read_check(&r, "r1", "doc-1"), Err(AuthzError::Garbage(_))), "{r}");
        }
    }

    #[test]
    fn a_plan_answer_is_translated_or_refused() {
        let ok = json!({"requestId": "r1", "action": "list", "resourceKind": "content",
                        "filter": {"kind": "KIND_CONDITIONAL", "condition": {"expression": {"operator": "eq",
                          "operands": [{"variable": "request.resource.attr.type"}, {"value": "report"}]}}}});
        let (f, a) = read_plan(&ok, "r1").unwrap();
        assert_eq!(f.groq, "_type == $p0");
        assert_eq!(a.filter.as_deref(), Some("KIND_CONDITIONAL"));
        for (path, v) in [
            ("/requestId", json!("r0")),
            ("/action", json!("read")),
            ("/resourceKind", json!("secret")),
            ("/filter/kind", json!("KIND_MAYBE")),
            ("/filter/condition/expression/operands/0/variable", json!("request.resource.attr.body")),
            ("/filter/condition/expression/operator", json!("matches")),
        ] {
            let mut r = ok.clone();
            *r.pointer_mut(path).unwrap() = v;
            assert!(read_plan(&r, "r1").is_err(), "{r}");
        }
    }
}
