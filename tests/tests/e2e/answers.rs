//! docs/answers.md, row by row: for every documented answer of every function, a scenario makes
//! it happen against the running functions (the stack's, or a fresh container of the same
//! binary where a fault must not touch other tests) and the status and code are asserted. A row
//! without a scenario, or a scenario without a row, fails.
//!
//! Faults are scoped to each scenario's own ids (a Sanity fault `match`es the scenario's document
//! id or slug, a Stytch fault sits on the scenario's own organization), so these tests run
//! beside every other test and never clear anyone else's fault.

use std::future::Future;
use std::pin::Pin;

use futures_util::StreamExt;
use gatehouse_tests::runtime_api::url_event;
use serde_json::{Value, json};

use crate::common::*;

#[derive(Debug, Clone, PartialEq)]
struct Row {
    function: String,
    status: String,
    code: String,
}

/// The rows of docs/answers.md: `## <function>` sections, each with one table whose first two
/// cells are the status (or `errorType` / `detail`) and one code in backticks.
fn rows() -> Vec<Row> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/answers.md")).unwrap();
    let mut function = String::new();
    let mut out = Vec::new();
    for line in doc.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            function = h.trim().to_string();
            continue;
        }
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        if let Some(code) = cells.get(1).and_then(|c| c.strip_prefix('`')).and_then(|c| c.strip_suffix('`')) {
            assert!(!function.is_empty(), "a table row before any function heading: {line}");
            out.push(Row { function: function.clone(), status: cells[0].to_string(), code: code.to_string() });
        }
    }
    out
}

type Got = Pin<Box<dyn Future<Output = (String, String)> + Send>>;
type Scenario = fn() -> Got;

fn got(status: u16, code: &str) -> (String, String) {
    (status.to_string(), code.to_string())
}

/// What an HTTP answer says: the status and the `error` (or, for a 2xx, the `outcome`).
fn answer(r: &Resp) -> (String, String) {
    let code = r.body.get("error").or_else(|| r.body.get("outcome")).and_then(Value::as_str).unwrap_or("");
    (r.status.to_string(), code.to_string())
}

fn query_path() -> String {
    format!("/v2025-02-19/data/query/{}", stack().var("SANITY_DATASET"))
}

/// A Sanity query fault that only hits queries mentioning `needle` (never cleared: nothing else
/// mentions it).
async fn cms_fault(needle: &str, fault: Value) {
    let mut f = fault;
    f["match"] = needle.into();
    stack().sanity_fault("POST", &query_path(), f, 1000).await;
}

/// `fault` for a Sanity or Stytch failure mode: 400 → 502, 500 → 503, a hang → 504.
fn fault_for(status: &str) -> Value {
    match status {
        "502" => json!({"status": 400}),
        "503" => json!({"status": 500}),
        "504" => json!({"hang_ms": 4000}),
        other => panic!("no fault for {other}"),
    }
}

/// An organization owned by rule `owner` (written as publish-sync writes it), or empty.
async fn org_owned_by(owner: Option<&str>) -> String {
    let s = stack();
    match owner {
        None => s.create_org(json!({})).await,
        Some(o) => {
            s.create_org(json!({"sanity_access": {"plan": "pro", "source": {"documentId": o, "rev": "r0"}, "syncedAt": "2026-01-01T00:00:00.000Z"}})).await
        }
    }
}

// ---- publish-sync and delete-cleanup -------------------------------------------------------

async fn signed(function: &str, body: Value) -> (String, String) {
    answer(&stack().deliver_signed(function, B2b, &body).await)
}

/// A rule published without its webhook firing for this function (delivered by hand).
async fn published(id: &str, org: &str, extra: Value) {
    ensure_plans().await;
    let s = stack();
    s.mutate(json!([{ "createOrReplace": rule(id, Some(org), None, extra) }])).await;
    s.idle().await;
}

fn rid() -> String {
    format!("rule-answers-{}", uid())
}

/// The rule is not published; its `before()` target is in `owner`'s hands.
async fn unpublished_rule(function: &'static str, owner: Option<&'static str>) -> (String, String) {
    let id = rid();
    let owner = owner.map(|o| if o == "self" { id.clone() } else { format!("{o}-{}", uid()) });
    let org = org_owned_by(owner.as_deref()).await;
    let op = if function == "publish-sync" { "update" } else { "delete" };
    signed(function, event(&id, "r1", op, json!({"stytchOrganizationId": org}))).await
}

async fn unsigned(function: &str) -> (String, String) {
    let body = event("rule-unsigned", "r", "create", Value::Null).to_string();
    answer(&stack().deliver(function, B2b, &body, None).await)
}

async fn get_sync(function: &str) -> (String, String) {
    let s = stack();
    answer(&s.request(reqwest::Method::GET, format!("{}/", s.function_url(function, B2b)), &[]).await)
}

async fn too_large(function: &str) -> (String, String) {
    let big = format!(r#"{{"_id":"r","_type":"accessRule","pad":"{}"}}"#, "x".repeat(1024 * 1024));
    let s = stack();
    answer(&s.deliver(function, B2b, &big, Some(&s.sign(&big))).await)
}

async fn not_json(function: &str) -> (String, String) {
    let s = stack();
    let body = "this is not json";
    answer(&s.deliver(function, B2b, body, Some(&s.sign(body))).await)
}

async fn other_type(function: &str) -> (String, String) {
    signed(function, json!({"_id": "post-1", "_type": "post", "before": null})).await
}

async fn draft(function: &str) -> (String, String) {
    signed(function, event(&format!("drafts.{}", rid()), "r", "update", json!({"stytchOrganizationId": null}))).await
}

/// A Content Lake failure while the sync function reads the rule.
async fn sync_cms_fails(function: &'static str, status: &'static str) -> (String, String) {
    let id = rid();
    cms_fault(&id, fault_for(status)).await;
    let op = if function == "publish-sync" { "update" } else { "delete" };
    let org = org_owned_by(None).await;
    signed(function, event(&id, "r1", op, json!({"stytchOrganizationId": org}))).await
}

/// A provider failure on the rule's own organization (its read, then its write).
async fn sync_provider_fails(function: &'static str, status: &'static str) -> (String, String) {
    let s = stack();
    let id = rid();
    let org = org_owned_by(Some(&id)).await;
    if function == "publish-sync" {
        published(&id, &org, json!({})).await;
    }
    let fault = if status == "502" { json!({"status": 401}) } else { fault_for(status) };
    for method in ["GET", "PUT"] {
        s.stytch_fault(method, &org_path(&org), fault.clone(), 1000).await;
    }
    let op = if function == "publish-sync" { "update" } else { "delete" };
    let a = signed(function, event(&id, "r1", op, json!({"stytchOrganizationId": org}))).await;
    for method in ["GET", "PUT"] {
        s.clear_stytch_fault(method, &org_path(&org)).await;
    }
    a
}

fn sync_scenarios() -> Vec<(&'static str, Scenario)> {
    vec![
        ("publish-sync 200 synced", || {
            Box::pin(async {
                // The consumer deployment: no webhook of the stack races the delivery by hand.
                ensure_plans().await;
                let s = stack();
                let (id, user) = (rid(), s.create_user().await);
                s.mutate(json!([{ "createOrReplace": rule(&id, None, Some(&user), json!({})) }])).await;
                answer(&s.deliver_signed("publish-sync", Consumer, &event(&id, "r1", "create", Value::Null)).await)
            })
        }),
        ("publish-sync 200 unchanged", || {
            Box::pin(async {
                let (id, org) = (rid(), org_owned_by(None).await);
                published(&id, &org, json!({})).await;
                signed("publish-sync", event(&id, "r1", "update", json!({"stytchOrganizationId": org}))).await
            })
        }),
        ("publish-sync 200 skipped", || Box::pin(draft("publish-sync"))),
        ("publish-sync 200 cleared", || Box::pin(unpublished_rule("publish-sync", Some("self")))),
        ("publish-sync 200 already_clear", || Box::pin(unpublished_rule("publish-sync", None))),
        ("publish-sync 200 not_owned", || Box::pin(unpublished_rule("publish-sync", Some("rule-other")))),
        ("publish-sync 400 bad_request", || Box::pin(not_json("publish-sync"))),
        ("publish-sync 401 invalid_signature", || Box::pin(unsigned("publish-sync"))),
        ("publish-sync 405 method_not_allowed", || Box::pin(get_sync("publish-sync"))),
        ("publish-sync 409 conflict", || {
            Box::pin(async {
                let id = rid();
                let org = org_owned_by(Some(&format!("rule-other-{}", uid()))).await;
                stack().mutate(json!([{ "createOrReplace": rule(&id, Some(&org), None, json!({})) }])).await;
                ensure_plans().await;
                signed("publish-sync", event(&id, "r1", "create", Value::Null)).await
            })
        }),
        ("publish-sync 413 payload_too_large", || Box::pin(too_large("publish-sync"))),
        ("publish-sync 422 unsupported_type", || Box::pin(other_type("publish-sync"))),
        ("publish-sync 422 invalid_rule", || {
            Box::pin(async {
                let id = rid();
                stack().mutate(json!([{ "createOrReplace": rule(&id, Some("org-123"), None, json!({})) }])).await;
                signed("publish-sync", event(&id, "r1", "create", Value::Null)).await
            })
        }),
        ("publish-sync 422 target_not_found", || {
            Box::pin(async {
                let id = rid();
                let gone = "organization-test-00000000-0000-4000-8000-000000000000";
                stack().mutate(json!([{ "createOrReplace": rule(&id, Some(gone), None, json!({})) }])).await;
                signed("publish-sync", event(&id, "r1", "create", Value::Null)).await
            })
        }),
        ("publish-sync 502 cms_unavailable", || Box::pin(sync_cms_fails("publish-sync", "502"))),
        ("publish-sync 503 cms_unavailable", || Box::pin(sync_cms_fails("publish-sync", "503"))),
        ("publish-sync 504 cms_unavailable", || Box::pin(sync_cms_fails("publish-sync", "504"))),
        ("publish-sync 502 provider_unavailable", || Box::pin(sync_provider_fails("publish-sync", "502"))),
        ("publish-sync 503 provider_unavailable", || Box::pin(sync_provider_fails("publish-sync", "503"))),
        ("publish-sync 504 provider_unavailable", || Box::pin(sync_provider_fails("publish-sync", "504"))),
        ("delete-cleanup 200 cleared", || Box::pin(unpublished_rule("delete-cleanup", Some("self")))),
        ("delete-cleanup 200 already_clear", || Box::pin(unpublished_rule("delete-cleanup", None))),
        ("delete-cleanup 200 not_owned", || Box::pin(unpublished_rule("delete-cleanup", Some("rule-other")))),
        ("delete-cleanup 200 stale", || {
            Box::pin(async {
                let (id, org) = (rid(), org_owned_by(None).await);
                published(&id, &org, json!({})).await;
                signed("delete-cleanup", event(&id, "r1", "delete", json!({"stytchOrganizationId": org}))).await
            })
        }),
        ("delete-cleanup 200 skipped", || Box::pin(draft("delete-cleanup"))),
        ("delete-cleanup 400 bad_request", || {
            Box::pin(async {
                let mut body = event(&rid(), "r1", "delete", Value::Null);
                body.as_object_mut().unwrap().remove("before");
                signed("delete-cleanup", body).await
            })
        }),
        ("delete-cleanup 401 invalid_signature", || Box::pin(unsigned("delete-cleanup"))),
        ("delete-cleanup 405 method_not_allowed", || Box::pin(get_sync("delete-cleanup"))),
        ("delete-cleanup 413 payload_too_large", || Box::pin(too_large("delete-cleanup"))),
        ("delete-cleanup 422 unsupported_type", || Box::pin(other_type("delete-cleanup"))),
        ("delete-cleanup 422 invalid_rule", || {
            Box::pin(async {
                let mut body = event(&rid(), "r1", "delete", json!({"stytchOrganizationId": null}));
                body["dataset"] = "staging".into();
                signed("delete-cleanup", body).await
            })
        }),
        ("delete-cleanup 502 cms_unavailable", || Box::pin(sync_cms_fails("delete-cleanup", "502"))),
        ("delete-cleanup 503 cms_unavailable", || Box::pin(sync_cms_fails("delete-cleanup", "503"))),
        ("delete-cleanup 504 cms_unavailable", || Box::pin(sync_cms_fails("delete-cleanup", "504"))),
        ("delete-cleanup 502 provider_unavailable", || Box::pin(sync_provider_fails("delete-cleanup", "502"))),
        ("delete-cleanup 503 provider_unavailable", || Box::pin(sync_provider_fails("delete-cleanup", "503"))),
        ("delete-cleanup 504 provider_unavailable", || Box::pin(sync_provider_fails("delete-cleanup", "504"))),
    ]
}

// ---- gated-content and token-exchange --------------------------------------------------------

const ALLOWED_ORIGIN: &str = "http://localhost:3000";

/// A public document with a slug of its own. The slug differs from the id: list pages carry
/// ids in their cursor parameter, and a fault matching the slug must only ever hit this read.
async fn public_doc() -> String {
    let u = uid();
    let slug = format!("answers-slug-{u}");
    let doc = json!({"_id": format!("answers-public-{u}"), "_type": "article", "title": "public", "slug": {"current": slug}, "body": "hello"});
    stack().mutate(json!([{ "createOrReplace": doc }])).await;
    slug
}

/// A member of a fresh organization whose rule grants Pro articles (`mfa`: and requires MFA),
/// and a Pro article's slug.
async fn member_with_access(mfa: bool) -> (String, String, String) {
    ensure_plans().await;
    let s = stack();
    let org = s.create_org(json!({})).await;
    let member = s.create_member(&org, &[]).await;
    let id = rid();
    published(&id, &org, json!({"requiresMfa": mfa})).await;
    let slug = format!("answers-pro-{}", uid());
    let doc = json!({"_id": slug, "_type": "article", "title": "pro", "slug": {"current": slug}, "requiredPlans": ["pro"], "body": "pro"});
    s.mutate(json!([{ "createOrReplace": doc }])).await;
    let token = s.mint(json!({"organization_id": org, "member_id": member, "authentication_factors": ["email_otp"]})).await;
    (org, token, slug)
}

async fn read(path: &str, token: Option<&str>) -> Resp {
    stack().get(B2b, path, token, &[]).await
}

/// A 2xx's code is its log outcome; the body must be what that outcome serves.
fn served(r: &Resp) -> (String, String) {
    let ok = r.status == 200 && (r.body.get("document").is_some() || r.body.get("documents").is_some());
    got(r.status, if ok { "served" } else { "?" })
}

async fn preflight(url: String, origin: &str) -> (String, String) {
    let r = stack().request(reqwest::Method::OPTIONS, url, &[("origin", origin), ("access-control-request-method", "GET")]).await;
    if r.status == 204 {
        let cors = r.headers.get("access-control-allow-origin").is_some_and(|v| v == origin);
        return got(204, if cors { "preflight" } else { "?" });
    }
    answer(&r)
}

async fn gate_cms_fails(status: &'static str) -> (String, String) {
    let slug = public_doc().await;
    cms_fault(&slug, fault_for(status)).await;
    answer(&read(&format!("/content/{slug}"), None).await)
}

async fn gate_provider_fails(status: &'static str) -> (String, String) {
    let (org, token, slug) = member_with_access(false).await;
    let s = stack();
    let fault = if status == "502" { json!({"status": 401}) } else { fault_for(status) };
    s.stytch_fault("GET", &org_path(&org), fault, 1000).await;
    let a = answer(&read(&format!("/content/{slug}"), Some(&token)).await);
    s.clear_stytch_fault("GET", &org_path(&org)).await;
    a
}

/// A fresh container of `bin` with `env` over the stack's, asked once.
async fn in_container(bin: &str, env: &[(&str, &str)], event: Value) -> Value {
    let (api, _child) = container(bin, B2b, env).await;
    invoke(&api, event).await
}

fn container_answer(r: &Value) -> (String, String) {
    let status = r["statusCode"].as_u64().unwrap_or(0) as u16;
    let body: Value = r["body"].as_str().and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
    got(status, body["error"].as_str().unwrap_or(""))
}

/// The provider's JWKS is unreachable from this container since its cold start.
const NO_PROVIDER: (&str, &str) = ("STYTCH_BASE_URL", "http://127.0.0.1:9");

async fn session_token() -> String {
    let s = stack();
    let org = s.create_org(json!({})).await;
    let member = s.create_member(&org, &[]).await;
    s.mint(json!({"organization_id": org, "member_id": member})).await
}

fn token_url(path: &str) -> String {
    format!("{}{path}", stack().function_url("token-exchange", B2b))
}

fn browser_scenarios() -> Vec<(&'static str, Scenario)> {
    vec![
        ("gated-content 200 served", || Box::pin(async { served(&read(&format!("/content/{}", public_doc().await), None).await) })),
        ("gated-content 204 preflight", || Box::pin(preflight(format!("{}/content/x", stack().function_url("gated-content", B2b)), ALLOWED_ORIGIN))),
        ("gated-content 400 bad_request", || Box::pin(async { answer(&read("/content?type=secrets", None).await) })),
        ("gated-content 401 invalid_token", || Box::pin(async { answer(&read("/content/anything", Some("not.a.jwt")).await) })),
        ("gated-content 403 mfa_required", || {
            Box::pin(async {
                let (_, token, slug) = member_with_access(true).await;
                answer(&read(&format!("/content/{slug}"), Some(&token)).await)
            })
        }),
        ("gated-content 403 origin_not_allowed", || Box::pin(preflight(format!("{}/content/x", stack().function_url("gated-content", B2b)), "https://evil.example"))),
        ("gated-content 404 not_found", || {
            Box::pin(async {
                // Another organization's member asks for a document it may not read.
                let (_, _, slug) = member_with_access(false).await;
                answer(&read(&format!("/content/{slug}"), Some(&session_token().await)).await)
            })
        }),
        ("gated-content 405 method_not_allowed", || {
            Box::pin(async {
                let s = stack();
                answer(&s.request(reqwest::Method::POST, format!("{}/content/x", s.function_url("gated-content", B2b)), &[]).await)
            })
        }),
        ("gated-content 502 cms_unavailable", || Box::pin(gate_cms_fails("502"))),
        ("gated-content 503 cms_unavailable", || Box::pin(gate_cms_fails("503"))),
        ("gated-content 504 cms_unavailable", || Box::pin(gate_cms_fails("504"))),
        ("gated-content 502 provider_unavailable", || Box::pin(gate_provider_fails("502"))),
        ("gated-content 503 provider_unavailable", || Box::pin(gate_provider_fails("503"))),
        ("gated-content 504 provider_unavailable", || Box::pin(gate_provider_fails("504"))),
        ("gated-content 503 session_keys_unavailable", || {
            Box::pin(async {
                let auth = format!("Bearer {}", session_token().await);
                let ev = url_event("GET", "/content/anything", "", &[("authorization", &auth)], None);
                container_answer(&in_container("gated-content", &[NO_PROVIDER], ev).await)
            })
        }),
        ("gated-content 503 authz_unavailable", || {
            Box::pin(async {
                let ev = url_event("GET", &format!("/content/{}", public_doc().await), "", &[], None);
                let env = [("AUTHZ", "cerbos"), ("CERBOS_URL", "http://127.0.0.1:9"), ("INIT_WARMUP", "0")];
                container_answer(&in_container("gated-content", &env, ev).await)
            })
        }),
        ("token-exchange 200 minted", || {
            Box::pin(async {
                let s = stack();
                let auth = format!("Bearer {}", session_token().await);
                let r = s.request(reqwest::Method::POST, token_url("/token"), &[("authorization", &auth)]).await;
                let ok = r.status == 200 && r.body["token_type"] == "Bearer" && r.body["access_token"].is_string();
                got(r.status, if ok { "minted" } else { "?" })
            })
        }),
        ("token-exchange 204 preflight", || Box::pin(preflight(token_url("/token"), ALLOWED_ORIGIN))),
        ("token-exchange 401 invalid_token", || Box::pin(async { answer(&stack().request(reqwest::Method::POST, token_url("/token"), &[]).await) })),
        ("token-exchange 403 origin_not_allowed", || Box::pin(preflight(token_url("/token"), "https://evil.example"))),
        ("token-exchange 404 not_found", || Box::pin(async { answer(&stack().request(reqwest::Method::POST, token_url("/elsewhere"), &[]).await) })),
        ("token-exchange 405 method_not_allowed", || Box::pin(async { answer(&stack().request(reqwest::Method::GET, token_url("/token"), &[]).await) })),
        ("token-exchange 413 payload_too_large", || {
            Box::pin(async {
                let s = stack();
                answer(&s.request_with(s.http.post(token_url("/token")).body("x".repeat(17 * 1024))).await)
            })
        }),
        ("token-exchange 503 session_keys_unavailable", || {
            Box::pin(async {
                let auth = format!("Bearer {}", session_token().await);
                let ev = url_event("POST", "/token", "", &[("authorization", &auth)], None);
                container_answer(&in_container("token-exchange", &[NO_PROVIDER], ev).await)
            })
        }),
    ]
}

// ---- reconcile ---------------------------------------------------------------------------------

/// A fault set up once the scenario's dataset exists.
enum Fault {
    None,
    /// Stytch GET on this path answers 500.
    StytchGet(String),
    /// Queries on the scenario's dataset that mention this text answer 500.
    Query(String),
}

/// A reconcile container reading its rules from a dataset of its own (only this scenario's
/// rules are published there).
async fn reconcile_alone(rules: Vec<Value>, input: Value, fault: Fault) -> Value {
    let s = stack();
    let dataset = format!("answers{}", uid());
    let secret = json!({
        "project_id": s.var("SANITY_PROJECT"), "dataset": dataset,
        "read_token": s.var("SANITY_WRITE_TOKEN"), "webhook_secret": s.var("WEBHOOK_SECRET")
    });
    let arn = put_secret(&format!("answers-sanity-{}", uid()), &secret.to_string()).await;
    if !rules.is_empty() {
        let url = format!("{}/v2025-02-19/data/mutate/{dataset}", s.var("SANITY_URL"));
        let mutations: Vec<Value> = rules.into_iter().map(|r| json!({"createOrReplace": r})).collect();
        let r = s.request_with(s.http.post(url).bearer_auth(s.var("SANITY_WRITE_TOKEN")).json(&json!({"mutations": mutations}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    match &fault {
        Fault::None => {}
        Fault::StytchGet(path) => s.stytch_fault("GET", path, json!({"status": 500}), 1000).await,
        Fault::Query(needle) => {
            let q = format!("/v2025-02-19/data/query/{dataset}");
            s.sanity_fault("POST", &q, json!({"status": 500, "match": needle}), 1000).await;
        }
    }
    let (api, _child) = container("reconcile", B2b, &[("SANITY_SECRET_ARN", &arn)]).await;
    let report = invoke(&api, input).await;
    if let Fault::StytchGet(path) = &fault {
        s.clear_stytch_fault("GET", path).await;
    }
    report
}

/// The `error` code of `doc`'s error detail in a report.
fn detail_code(report: &Value, doc: &str) -> (String, String) {
    let d = report["details"].as_array().and_then(|ds| ds.iter().find(|d| d["documentId"] == doc && d["action"] == "error"));
    ("detail".into(), d.and_then(|d| d["error"].as_str()).unwrap_or("").to_string())
}

/// Ids that sort before every other test's rules and orphans, so they lead the report's details.
fn first_id() -> String {
    format!("0answers-{}", uid())
}

fn reconcile_scenarios() -> Vec<(&'static str, Scenario)> {
    vec![
        ("reconcile errorType bad_request", || {
            Box::pin(async {
                let r = stack().reconcile(B2b, json!({"dryrun": true})).await;
                ("errorType".into(), r.body["errorType"].as_str().unwrap_or("").to_string())
            })
        }),
        ("reconcile errorType cms_unavailable", || {
            Box::pin(async {
                let (api, _child) = container("reconcile", B2b, &[("SANITY_API_HOST", "http://127.0.0.1:9")]).await;
                let r = invoke(&api, json!({"dryRun": true})).await;
                ("errorType".into(), r["errorType"].as_str().unwrap_or("").to_string())
            })
        }),
        ("reconcile detail invalid_rule", || {
            Box::pin(async {
                let id = first_id();
                let r = reconcile_alone(vec![rule(&id, Some("org-123"), None, json!({}))], json!({"dryRun": true}), Fault::None).await;
                detail_code(&r, &id)
            })
        }),
        ("reconcile detail target_not_found", || {
            Box::pin(async {
                let id = first_id();
                let gone = "organization-test-00000000-0000-4000-8000-00000000a0a0";
                let r = reconcile_alone(vec![rule(&id, Some(gone), None, json!({}))], json!({"dryRun": true}), Fault::None).await;
                detail_code(&r, &id)
            })
        }),
        ("reconcile detail provider_unavailable", || {
            Box::pin(async {
                // A target the scan did not see is read one by one; that read fails.
                let id = first_id();
                let unseen = format!("organization-test-00000000-0000-4000-8000-{}", uid());
                let rules = vec![rule(&id, Some(&unseen), None, json!({}))];
                let r = reconcile_alone(rules, json!({"dryRun": true}), Fault::StytchGet(org_path(&unseen))).await;
                detail_code(&r, &id)
            })
        }),
        ("reconcile detail cms_unavailable", || {
            Box::pin(async {
                // A real run, but only over this scenario's rule: the cursor skips every id
                // before it, and nothing in the provider is owned by an id after it.
                let u = uid();
                let id = format!("zzzzzzzz-answers-{u}-a");
                let org = org_owned_by(None).await;
                let rules = vec![rule(&id, Some(&org), None, json!({}))];
                let cursor = format!("zzzzzzzz-answers-{u}-");
                let r = reconcile_alone(rules, json!({"cursor": cursor}), Fault::Query(id.clone())).await;
                assert_eq!(stack().org_metadata(&org).await, json!({}), "nothing written: {r}");
                detail_code(&r, &id)
            })
        }),
        ("reconcile detail budget_exhausted", || {
            Box::pin(async {
                let r = reconcile_alone(vec![rule(&first_id(), None, None, json!({}))], json!({"dryRun": true, "budgetMs": 2000}), Fault::None).await;
                detail_code(&r, "*")
            })
        }),
    ]
}

fn all_scenarios() -> Vec<(&'static str, Scenario)> {
    let mut v = sync_scenarios();
    v.extend(browser_scenarios());
    v.extend(reconcile_scenarios());
    v
}

fn key(r: &Row) -> String {
    format!("{} {} {}", r.function, r.status, r.code)
}

#[test]
fn every_documented_row_has_a_scenario_and_every_scenario_a_row() {
    let rows = rows();
    assert!(rows.len() >= 60, "only {} rows parsed from docs/answers.md", rows.len());
    let scenarios: Vec<&str> = all_scenarios().iter().map(|(k, _)| *k).collect();
    let keys: Vec<String> = rows.iter().map(key).collect();
    let unscripted: Vec<&String> = keys.iter().filter(|k| !scenarios.contains(&k.as_str())).collect();
    let undocumented: Vec<&&str> = scenarios.iter().filter(|s| !keys.iter().any(|k| k == *s)).collect();
    assert!(unscripted.is_empty(), "rows of docs/answers.md no scenario makes happen: {unscripted:?}");
    assert!(undocumented.is_empty(), "scenarios for answers docs/answers.md does not document: {undocumented:?}");
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), keys.len(), "a row appears twice");
}

/// Runs the scenarios of the rows of `functions`, all at once, and reports every mismatch.
async fn run(functions: &[&str]) {
    let scenarios = all_scenarios();
    let rows: Vec<Row> = rows().into_iter().filter(|r| functions.contains(&r.function.as_str())).collect();
    assert!(!rows.is_empty());
    let runs = rows.iter().map(|r| {
        let scenario = scenarios.iter().find(|(k, _)| *k == key(r)).map(|(_, f)| *f);
        async move {
            let Some(f) = scenario else { return Some(format!("{}: no scenario", key(r))) };
            let (status, code) = tokio::spawn(f()).await.unwrap_or_else(|e| ("panic".into(), e.to_string()));
            (status != r.status || code != r.code).then(|| format!("{}: got {status} {code}", key(r)))
        }
    });
    // A few at a time: the emulators are shared with every other test.
    let wrong: Vec<String> = futures_util::stream::iter(runs).buffer_unordered(4)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .collect();
    assert!(wrong.is_empty(), "answers differ from docs/answers.md:\n{}", wrong.join("\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_functions_answer_as_documented() {
    let _stack = shared().await;
    run(&["publish-sync", "delete-cleanup"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn browser_functions_answer_as_documented() {
    let _stack = shared().await;
    run(&["gated-content", "token-exchange"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reconcile_answers_as_documented() {
    let _stack = shared().await;
    run(&["reconcile"]).await;
}
