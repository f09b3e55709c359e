//! `make bench`: what a Lambda user pays for, measured on this machine against the local stack
//! (`scripts/stack.sh up bench`: moto and the emulators; no cargo-lambda). The release function
//! binaries run as fresh containers under a Lambda Runtime API (`gatehouse_tests::runtime_api`),
//! and this process also serves them as function URLs on LAMBDA_PORT, where the Sanity emulator's
//! webhooks point. Prints a table and writes `target/bench/results.json`. Nothing is asserted.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_tests::runtime_api::{RuntimeApi, url_event};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::Mutex;

type Env = HashMap<String, String>;

fn stack_env(root: &str) -> Env {
    // BENCH_STACK: the stack.sh profile (scripts/check-package.sh runs its own, `package`).
    let profile = std::env::var("BENCH_STACK").unwrap_or_else(|_| "bench".into());
    let path = format!("{root}/.stack/{profile}/stack.env");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e} (run scripts/bench.sh)"));
    text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.trim().into(), v.trim().into())).collect()
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn summary(v: &mut [f64]) -> Value {
    json!({"n": v.len(), "min": pct(v, 0.0), "p50": pct(v, 0.5), "p90": pct(v, 0.9), "p99": pct(v, 0.99), "max": pct(v, 1.0)})
}

/// Peak resident set (VmHWM) of a process, in MB.
fn peak_rss_mb(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// CPU time (user + system) a process has used so far, in ms (/proc/<pid>/stat, clock ticks of 10 ms).
fn cpu_ms(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(f64::NAN);
    (tick(11) + tick(12)) * 10.0
}

/// One function container: the release binary under its own Runtime API.
struct Container {
    child: tokio::process::Child,
    api: RuntimeApi,
    spawned: Instant,
    /// `init_ms` from the function's "secrets loaded" line (config + both secret fetches).
    secrets_ms: Arc<std::sync::Mutex<Option<f64>>>,
    /// `authz_ms` of every request line (the decision's time as the function saw it).
    authz_ms: Arc<std::sync::Mutex<Vec<f64>>>,
}

impl Container {
    async fn start(b: &Bench, function: &str) -> Container {
        Container::start_with(b, function, &[]).await
    }

    /// `start`, with extra settings for this container (after BENCH_FN_ENV).
    async fn start_with(b: &Bench, function: &str, extra: &[(&str, &str)]) -> Container {
        // The timeouts template.yaml gives each function.
        let timeout = if function == "reconcile" { 300 } else { 25 };
        let api = RuntimeApi::with_timeout(Duration::from_secs(timeout)).await;
        let e = &b.env;
        // `{dir}/{function}` (target/release) or `{dir}/{function}/bootstrap` (scripts/package.sh),
        // started through BENCH_WRAPPER when set (`qemu-aarch64 -L /usr/aarch64-linux-gnu`).
        let packaged = format!("{}/{function}/bootstrap", b.bin_dir);
        let bin = if std::path::Path::new(&packaged).is_file() { packaged } else { format!("{}/{function}", b.bin_dir) };
        let mut cmd = match b.wrapper.split_first() {
            Some((prog, args)) => {
                let mut c = tokio::process::Command::new(prog);
                c.args(args).arg(&bin);
                c
            }
            None => tokio::process::Command::new(&bin),
        };
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_ENDPOINT_URL", &e["MOTO_URL"])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("STYTCH_SECRET_ARN", &e["STYTCH_B2B_SECRET_ARN"])
            .env("SANITY_SECRET_ARN", &e["SANITY_SECRET_ARN"])
            .env("INSFORGE_SECRET_ARN", &e["INSFORGE_SECRET_ARN"])
            .env("SANITY_API_HOST", &e["SANITY_URL"])
            .env("STYTCH_BASE_URL", &e["STYTCH_URL"])
            .env("CORS_ALLOWED_ORIGINS", "http://localhost:3000")
            .env("RECONCILE_PROVIDER_RATE", "2000")
            .env("RECONCILE_PROVIDER_BURST", "200")
            .env("RUST_LOG", "info")
            .env("LOCAL_CA_FILE", e.get("LOCAL_CA_FILE").map(String::as_str).unwrap_or(""))
            .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", function)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        // BENCH_FN_ENV="K=V,K=V": extra function settings for a comparison run (INIT_WARMUP=0).
        for kv in std::env::var("BENCH_FN_ENV").unwrap_or_default().split(',').filter(|s| !s.is_empty()) {
            if let Some((k, v)) = kv.split_once('=') {
                cmd.env(k, v);
            }
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let spawned = Instant::now();
        let mut child = cmd.spawn().expect("release binary (scripts/bench.sh builds it)");
        let secrets_ms = Arc::new(std::sync::Mutex::new(None));
        let out = child.stdout.take().unwrap();
        let slot = secrets_ms.clone();
        let authz_ms = Arc::new(std::sync::Mutex::new(Vec::new()));
        let authz_slot = authz_ms.clone();
        // Drain stdout (request lines) so the pipe never blocks; keep the init and authz figures.
        tokio::spawn(async move {
            let mut lines = BufReader::new(out).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                if l.contains("secrets loaded")
                    && let Some(v) = serde_json::from_str::<Value>(&l).ok().and_then(|v| v["fields"]["init_ms"].as_f64()) {
                        *slot.lock().unwrap() = Some(v);
                    }
                if l.contains("\"authz_ms\"")
                    && let Some(v) = serde_json::from_str::<Value>(&l).ok().and_then(|v| v["authz_ms"].as_f64()) {
                        authz_slot.lock().unwrap().push(v);
                    }
            }
        });
        Container { child, api, spawned, secrets_ms, authz_ms }
    }

    async fn invoke(&self, event: Value) -> (Value, Duration) {
        self.api.push(event);
        let inv = tokio::time::timeout(Duration::from_secs(300), self.api.answer()).await.expect("function answered").unwrap();
        (inv.response, inv.answered_at - inv.delivered_at)
    }

    fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }
}

struct Bench {
    /// Where the function binaries are (`BENCH_BIN_DIR`, default target/release).
    bin_dir: String,
    /// BENCH_WRAPPER, split on whitespace: the command the binaries are started through.
    wrapper: Vec<String>,
    env: Env,
    http: reqwest::Client,
}

impl Bench {
    fn url(&self, k: &str) -> &str {
        &self.env[k]
    }

    async fn stytch(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut r = self.http.request(method, format!("{}{path}", self.url("STYTCH_URL"))).basic_auth(&self.env["B2B_PROJECT"], Some(&self.env["STYTCH_SECRET"]));
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().await.unwrap().json().await.unwrap()
    }

    async fn mutate(&self, mutations: Value) -> Value {
        let url = format!("{}/v2025-02-19/data/mutate/production?returnIds=true", self.url("SANITY_URL"));
        self.http.post(url).bearer_auth(&self.env["SANITY_WRITE_TOKEN"]).json(&json!({"mutations": mutations})).send().await.unwrap().json().await.unwrap()
    }

    async fn idle(&self) {
        self.http.get(format!("{}/__gatehouse/idle?timeout_ms=25000", self.url("SANITY_URL"))).send().await.unwrap();
    }

    /// Calls an emulator has served whose path contains `part` (control calls are not counted).
    async fn calls(&self, service: &str, part: &str) -> u64 {
        let url = format!("{}/__gatehouse/calls", self.url(service));
        let v: Value = self.http.get(url).send().await.unwrap().json().await.unwrap();
        v["calls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["path"].as_str().is_some_and(|p| p.contains(part)))
            .filter_map(|c| c["count"].as_u64())
            .sum()
    }

    /// (GROQ queries, Stytch API calls) so far.
    async fn counters(&self) -> (u64, u64) {
        (self.calls("SANITY_URL", "/data/query/").await, self.calls("STYTCH_URL", "/v1/").await)
    }

    fn sign(&self, body: &str) -> String {
        gatehouse::cms::signature::header(&self.env["WEBHOOK_SECRET"], gatehouse::log::now_ms(), body.as_bytes())
    }

    fn delivery(&self, function: &str, body: &Value) -> Value {
        let text = body.to_string();
        let sig = self.sign(&text);
        url_event("POST", &format!("/lambda-url/{function}/"), "", &[("content-type", "application/json"), ("sanity-webhook-signature", &sig)], Some(&text))
    }

    async fn mint(&self, org: &str, member: &str) -> String {
        let v: Value = self
            .http
            .post(format!("{}/__gatehouse/sessions", self.url("STYTCH_URL")))
            .json(&json!({"organization_id": org, "member_id": member, "ttl_s": 3600}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["session_jwt"].as_str().unwrap().to_string()
    }
}

/// The fixture every measurement uses: a plan, an org with a member, a synced rule, a gated page.
struct Fixture {
    org: String,
    rule: String,
    slug: String,
    session: String,
}

async fn fixture(b: &Bench) -> Fixture {
    let n = format!("{:08x}", fastrand::u32(..));
    let org = b.stytch(reqwest::Method::POST, "/v1/b2b/organizations", Some(json!({"organization_name": format!("Bench {n}"), "organization_slug": format!("bench-{n}")}))).await;
    let org = org["organization"]["organization_id"].as_str().unwrap().to_string();
    let m = b.stytch(reqwest::Method::POST, &format!("/v1/b2b/organizations/{org}/members"), Some(json!({"email_address": format!("bench-{n}@example.com")}))).await;
    let member = m["member"]["member_id"].as_str().unwrap().to_string();
    let rule = format!("rule-bench-{n}");
    let slug = format!("bench-report-{n}");
    b.mutate(json!([
        {"createOrReplace": {"_id": "plan-pro", "_type": "plan", "title": "Pro", "slug": {"current": "pro"}}},
        {"create": {"_id": rule, "_type": "accessRule", "title": "Bench", "stytchOrganizationId": org,
                    "plan": {"_type": "reference", "_ref": "plan-pro"}, "region": "eu",
                    "allowedContentTypes": ["report"], "gatedRoutes": [{"_key": "k", "path": format!("/bench/{n}")}], "requiresMfa": false}},
        {"create": {"_id": format!("report-{n}"), "_type": "report", "title": "Q3", "slug": {"current": slug},
                    "requiredPlans": ["pro"], "regions": ["eu"], "body": "numbers"}}
    ]))
    .await;
    // The webhook goes to the front below; wait for it and check the org got its access.
    b.idle().await;
    let session = b.mint(&org, &member).await;
    Fixture { org, rule, slug, session }
}

// ---- function URLs for the webhooks --------------------------------------------------------

#[derive(Clone)]
struct Front {
    containers: Arc<HashMap<&'static str, Arc<Mutex<Container>>>>,
}

async fn front(State(f): State<Front>, Path((function, rest)): Path<(String, String)>, method: axum::http::Method, headers: HeaderMap, body: Bytes) -> Response {
    let Some(c) = f.containers.get(function.as_str()) else { return StatusCode::NOT_FOUND.into_response() };
    let hs: Vec<(String, String)> = headers.iter().filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string()))).collect();
    let hs: Vec<(&str, &str)> = hs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let text = String::from_utf8_lossy(&body).into_owned();
    let ev = url_event(method.as_str(), &format!("/{rest}"), "", &hs, Some(&text));
    // One container serves one request at a time, as in Lambda.
    let (resp, _) = c.lock().await.invoke(ev).await;
    let status = StatusCode::from_u16(resp["statusCode"].as_u64().unwrap_or(502) as u16).unwrap_or(StatusCode::BAD_GATEWAY);
    (status, resp["body"].as_str().unwrap_or("").to_string()).into_response()
}

async fn front_root(s: State<Front>, Path(function): Path<String>, m: axum::http::Method, h: HeaderMap, b: Bytes) -> Response {
    front(s, Path((function, String::new())), m, h, b).await
}

// ---- measurements ----------------------------------------------------------------------------

async fn cold_starts(b: &Bench, fx: &Fixture, runs: usize) -> Value {
    let mut out = serde_json::Map::new();
    let unchanged = json!({"_id": fx.rule, "_type": "accessRule", "_rev": "x", "operation": "update",
                           "before": {"stytchOrganizationId": fx.org}, "dataset": "production"});
    let gone = json!({"_id": format!("{}-gone", fx.rule), "_type": "accessRule", "_rev": "x", "operation": "delete",
                      "before": {"stytchOrganizationId": fx.org}, "dataset": "production"});
    let bearer = format!("Bearer {}", fx.session);
    for function in ["publish-sync", "delete-cleanup", "gated-content", "token-exchange", "reconcile"] {
        let (mut init, mut secrets, mut first, mut total, mut rss) = (vec![], vec![], vec![], vec![], vec![]);
        for _ in 0..runs {
            let event = match function {
                "publish-sync" => b.delivery("publish-sync", &unchanged),
                "delete-cleanup" => b.delivery("delete-cleanup", &gone),
                "gated-content" => url_event("GET", &format!("/content/{}", fx.slug), "", &[("authorization", &bearer)], None),
                "token-exchange" => url_event("POST", "/token", "", &[("authorization", &bearer)], None),
                _ => json!({"dryRun": true}),
            };
            let c = Container::start(b, function).await;
            c.api.push(event);
            let inv = tokio::time::timeout(Duration::from_secs(30), c.api.answer()).await.expect("answer").unwrap();
            let ready = c.api.first_poll().unwrap();
            init.push(ms(ready - c.spawned));
            first.push(ms(inv.answered_at - inv.delivered_at));
            total.push(ms(inv.answered_at - c.spawned));
            rss.push(peak_rss_mb(c.pid()));
            if let Some(s) = *c.secrets_ms.lock().unwrap() {
                secrets.push(s);
            }
            let status = inv.response["statusCode"].as_u64().unwrap_or(200);
            assert!(status < 500, "{function} cold start answered {}", inv.response);
        }
        out.insert(
            function.into(),
            json!({"init_ms": summary(&mut init), "secrets_loaded_ms": summary(&mut secrets), "first_request_ms": summary(&mut first),
                   "spawn_to_first_response_ms": summary(&mut total), "peak_rss_mb": summary(&mut rss)}),
        );
    }
    Value::Object(out)
}

async fn gated_reads(b: &Bench, fx: &Fixture) -> Value {
    let bearer = format!("Bearer {}", fx.session);
    let ev = || url_event("GET", &format!("/content/{}", fx.slug), "", &[("authorization", &bearer)], None);
    // Concurrency 1: one warm container, 1,000 sequential reads.
    let c = Container::start(b, "gated-content").await;
    let (r, _) = c.invoke(ev()).await;
    assert_eq!(r["statusCode"], 200, "{r}");
    let mut lat = Vec::new();
    let cpu0 = cpu_ms(c.pid());
    let started = Instant::now();
    for _ in 0..1000 {
        let (_, d) = c.invoke(ev()).await;
        lat.push(ms(d));
    }
    let rps1 = 1000.0 / started.elapsed().as_secs_f64();
    // The function's own CPU (user + system) per warm read: what opt-level trades against size.
    let cpu_per_read_ms = (cpu_ms(c.pid()) - cpu0) / 1000.0;
    let rss = peak_rss_mb(c.pid());
    // Concurrency 16: Lambda gives each concurrent request its own container.
    let mut pool = Vec::new();
    for _ in 0..16 {
        let c = Container::start(b, "gated-content").await;
        c.invoke(ev()).await;
        pool.push(c);
    }
    let started = Instant::now();
    let per = 100;
    let mut tasks = Vec::new();
    for c in pool {
        let e = ev();
        tasks.push(tokio::spawn(async move {
            let mut l = Vec::new();
            for _ in 0..per {
                let (_, d) = c.invoke(e.clone()).await;
                l.push(ms(d));
            }
            l
        }));
    }
    let mut lat16 = Vec::new();
    for t in tasks {
        lat16.extend(t.await.unwrap());
    }
    let rps16 = lat16.len() as f64 / started.elapsed().as_secs_f64();
    json!({"c1": {"latency_ms": summary(&mut lat), "rps": rps1, "peak_rss_mb_after_1000": rss, "cpu_ms_per_read": cpu_per_read_ms},
           "c16": {"latency_ms": summary(&mut lat16), "rps": rps16}})
}

/// Where a gated read's time goes: JWT verification (in process, keys cached), the access
/// lookup (cached, and a Stytch round trip when not), and the GROQ round trip.
async fn breakdown(b: &Bench, fx: &Fixture) -> Value {
    use gatehouse::jwks::Jwks;
    use gatehouse::providers::stytch::stytch_session::{StytchVerifier as Verifier, stytch_jwks_url};
    use gatehouse::providers::stytch::stytch_secret::ProjectKind;
    let project = b.env["B2B_PROJECT"].clone();
    let jwks = Jwks::new(b.http.clone(), stytch_jwks_url(b.url("STYTCH_URL"), &project, ProjectKind::B2b), Duration::from_secs(30), Duration::from_secs(3600), Duration::from_secs(2));
    let v = Verifier::new(jwks, project, ProjectKind::B2b, &[]);
    v.verify(&fx.session).await.unwrap();
    let mut jwt = Vec::new();
    for _ in 0..5000 {
        let t = Instant::now();
        v.verify(&fx.session).await.unwrap();
        jwt.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let mut access = Vec::new();
    for _ in 0..500 {
        let t = Instant::now();
        b.stytch(reqwest::Method::GET, &format!("/v1/b2b/organizations/{}", fx.org), None).await;
        access.push(ms(t.elapsed()));
    }
    // The gated read's own query and parameters (the document with its policy attributes).
    let mut params = serde_json::Map::new();
    params.insert("contentTypes".into(), json!(["article", "doc", "report"]));
    params.insert("key".into(), json!(fx.slug));
    let mut body = serde_json::Map::new();
    body.insert("query".into(), json!(gatehouse::gate::query::one(false)));
    body.insert("params".into(), Value::Object(params));
    let url = format!("{}/v2025-02-19/data/query/production?perspective=published", b.url("SANITY_URL"));
    let mut groq = Vec::new();
    for _ in 0..500 {
        let t = Instant::now();
        let r: Value = b.http.post(&url).bearer_auth("sk-local-read").json(&body).send().await.unwrap().json().await.unwrap();
        assert!(r["result"].is_object(), "{r}");
        groq.push(ms(t.elapsed()));
    }
    json!({"jwt_verify_ms": summary(&mut jwt), "access_lookup_uncached_ms": summary(&mut access), "groq_round_trip_ms": summary(&mut groq)})
}

/// Gated reads decided by the built-in rules vs the Cerbos PDP (the stack's, over loopback TCP;
/// on Lambda the extension answers on a unix socket): one document (CheckResources) and a list
/// page (PlanResources → GROQ filter), warm, sequential. Then the PDP calls alone, as the
/// function makes them, for the PDP's share, and the built-in decision in process.
async fn authz_compare(b: &Bench, fx: &Fixture) -> Value {
    use gatehouse::authz::{builtin, cerbos, model};
    let bearer = format!("Bearer {}", fx.session);
    let one = url_event("GET", &format!("/content/{}", fx.slug), "", &[("authorization", &bearer)], None);
    let list = url_event("GET", "/content", "type=report&limit=20", &[("authorization", &bearer)], None);
    let pdp = b.env.get("CERBOS_URL").cloned().expect("CERBOS_URL in stack.env (scripts/stack.sh starts the PDP)");
    let mut out = serde_json::Map::new();
    for (name, env) in [("builtin", vec![("AUTHZ", "builtin")]), ("cerbos", vec![("AUTHZ", "cerbos"), ("CERBOS_URL", pdp.as_str())])] {
        let c = Container::start_with(b, "gated-content", &env).await;
        let mut row = serde_json::Map::new();
        for (what, ev, n) in [("read_one", &one, 1000), ("read_list", &list, 500)] {
            let (r, _) = c.invoke(ev.clone()).await;
            assert_eq!(r["statusCode"], 200, "{name} {what}: {r}");
            tokio::time::sleep(Duration::from_millis(50)).await;
            c.authz_ms.lock().unwrap().clear();
            let mut lat = Vec::new();
            for _ in 0..n {
                let (_, d) = c.invoke(ev.clone()).await;
                lat.push(ms(d));
            }
            row.insert(format!("{what}_ms"), summary(&mut lat));
            // The decision as the function timed it (its request lines).
            tokio::time::sleep(Duration::from_millis(50)).await;
            let mut inside = std::mem::take(&mut *c.authz_ms.lock().unwrap());
            row.insert(format!("{what}_authz_ms"), summary(&mut inside));
        }
        row.insert("peak_rss_mb".into(), json!(peak_rss_mb(c.pid())));
        out.insert(name.into(), Value::Object(row));
    }
    // The PDP alone: the requests gated-content sends for this session and document.
    let session = {
        use gatehouse::jwks::Jwks;
        use gatehouse::providers::stytch::stytch_session::{StytchVerifier as Verifier, stytch_jwks_url};
        use gatehouse::providers::stytch::stytch_secret::ProjectKind;
        let project = b.env["B2B_PROJECT"].clone();
        let jwks = Jwks::new(b.http.clone(), stytch_jwks_url(b.url("STYTCH_URL"), &project, ProjectKind::B2b), Duration::from_secs(30), Duration::from_secs(3600), Duration::from_secs(2));
        Verifier::new(jwks, project, ProjectKind::B2b, &[]).verify(&fx.session).await.unwrap()
    };
    let org = b.stytch(reqwest::Method::GET, &format!("/v1/b2b/organizations/{}", fx.org), None).await;
    let synced: gatehouse::providers::SyncedAccess = serde_json::from_value(org["organization"]["trusted_metadata"]["sanity_access"].clone()).unwrap();
    let p = model::principal(Some(&session), Some(&synced), &gatehouse::authz::staff::Staff::default());
    let r = model::ResourceAttr {
        doc_type: "report".into(),
        required_plans: vec!["pro".into()],
        required_roles: vec![],
        regions: vec!["eu".into()],
        route: String::new(),
        route_gated: false,
        organization_id: String::new(),
    };
    let mut pdp_calls = serde_json::Map::new();
    for (what, path, body) in [
        ("check_ms", "/api/check/resources", cerbos::check_request("bench", &p, "report-x", &r)),
        ("plan_ms", "/api/plan/resources", cerbos::plan_request("bench", &p)),
    ] {
        let mut lat = Vec::new();
        for i in 0..1001 {
            let t = Instant::now();
            let resp = b.http.post(format!("{pdp}{path}")).json(&body).send().await.unwrap();
            assert_eq!(resp.status(), 200);
            let _ = resp.bytes().await;
            if i > 0 {
                lat.push(ms(t.elapsed()));
            }
        }
        pdp_calls.insert(what.into(), summary(&mut lat));
    }
    out.insert("pdp_direct".into(), Value::Object(pdp_calls));
    // The built-in rules in process.
    let n = 200_000u32;
    let t = Instant::now();
    let mut allowed = 0u32;
    for _ in 0..n {
        allowed += u32::from(std::hint::black_box(model::builtin_decision(std::hint::black_box(&p), std::hint::black_box(&r))).read);
    }
    let decide_ns = t.elapsed().as_nanos() as f64 / f64::from(n);
    assert_eq!(allowed, n);
    let t = Instant::now();
    for _ in 0..n / 10 {
        std::hint::black_box(builtin::list_filter(std::hint::black_box(&p)));
    }
    let filter_ns = t.elapsed().as_nanos() as f64 / f64::from(n / 10);
    out.insert("builtin_in_process_ns".into(), json!({"check": decide_ns, "list_filter": filter_ns}));
    Value::Object(out)
}

async fn publish_latency(b: &Bench, fx: &Fixture, n: usize) -> Value {
    let mut lat = Vec::new();
    for i in 0..n {
        let region = format!("r{i}");
        let t = Instant::now();
        b.mutate(json!([{"patch": {"id": fx.rule, "set": {"region": region}}}])).await;
        loop {
            let o = b.stytch(reqwest::Method::GET, &format!("/v1/b2b/organizations/{}", fx.org), None).await;
            if o["organization"]["trusted_metadata"]["sanity_access"]["region"] == region.as_str() {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(10), "publish {i} did not arrive");
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        lat.push(ms(t.elapsed()));
    }
    b.mutate(json!([{"patch": {"id": fx.rule, "set": {"region": "eu"}}}])).await;
    b.idle().await;
    json!({"mutation_to_stytch_ms": summary(&mut lat)})
}

/// `publish`: the webhook target's container, locked only for the direct delivery (the
/// webhook-driven steps go through the front, which locks it too).
async fn upstream_calls(b: &Bench, fx: &Fixture, publish: &Mutex<Container>) -> Value {
    let mut out = serde_json::Map::new();
    let mut measure = |name: &str, (s0, t0): (u64, u64), (s1, t1): (u64, u64)| {
        out.insert(name.into(), json!({"groq": s1 - s0, "stytch": t1 - t0}));
    };
    let event = |rev: &str, op: &str, before: Value| json!({"_id": fx.rule, "_type": "accessRule", "_rev": rev, "operation": op, "before": before, "dataset": "production"});
    // Changed: a direct delivery after editing the rule with the webhooks' front bypassed is not
    // possible, so count the webhook-driven sync of one edit end to end.
    let c0 = b.counters().await;
    b.mutate(json!([{"patch": {"id": fx.rule, "set": {"region": "us"}}}])).await;
    b.idle().await;
    measure("sync_changed_rule", c0, b.counters().await);
    let c0 = b.counters().await;
    publish.lock().await.invoke(b.delivery("publish-sync", &event("x", "update", json!({"stytchOrganizationId": fx.org})))).await;
    measure("sync_unchanged_rule", c0, b.counters().await);
    // Re-point to a new org, then delete.
    let o = b.stytch(reqwest::Method::POST, "/v1/b2b/organizations", Some(json!({"organization_name": "Bench 2", "organization_slug": format!("bench2-{:08x}", fastrand::u32(..))}))).await;
    let org2 = o["organization"]["organization_id"].as_str().unwrap().to_string();
    let c0 = b.counters().await;
    b.mutate(json!([{"patch": {"id": fx.rule, "set": {"stytchOrganizationId": org2}}}])).await;
    b.idle().await;
    measure("re_point", c0, b.counters().await);
    let c0 = b.counters().await;
    b.mutate(json!([{"delete": {"id": fx.rule}}])).await;
    b.idle().await;
    measure("delete", c0, b.counters().await);
    // Gated reads: a fresh container (cold access cache), then the same container again.
    let bearer = format!("Bearer {}", fx.session);
    let ev = url_event("GET", &format!("/content/{}", fx.slug), "", &[("authorization", &bearer)], None);
    let c = Container::start(b, "gated-content").await;
    tokio::time::sleep(Duration::from_millis(300)).await; // init (JWKS load) is not the read's
    let c0 = b.counters().await;
    c.invoke(ev.clone()).await;
    measure("gated_read_cold_cache", c0, b.counters().await);
    let c0 = b.counters().await;
    c.invoke(ev).await;
    measure("gated_read_warm_cache", c0, b.counters().await);
    Value::Object(out)
}

async fn reconcile_runs(b: &Bench, n: usize) -> Value {
    // n orgs with synced rules (written as publish-sync writes them), then 0 % and 10 % drift.
    let mut orgs = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(32) {
        let mut tasks = Vec::new();
        for _ in chunk {
            let (http, url, p, s) = (b.http.clone(), b.url("STYTCH_URL").to_string(), b.env["B2B_PROJECT"].clone(), b.env["STYTCH_SECRET"].clone());
            tasks.push(tokio::spawn(async move {
                let n = format!("{:012x}", fastrand::u64(..) & 0xffff_ffff_ffff);
                let v: Value = http
                    .post(format!("{url}/v1/b2b/organizations"))
                    .basic_auth(p, Some(s))
                    .json(&json!({"organization_name": format!("R {n}"), "organization_slug": format!("r-{n}")}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                v["organization"]["organization_id"].as_str().unwrap().to_string()
            }));
        }
        for t in tasks {
            orgs.push(t.await.unwrap());
        }
    }
    // Webhooks off: the rules below are published "while the function URL is down", so the
    // first run syncs all of them; late webhook retries cannot blur the call counts either.
    let hooks_url = format!("{}/__gatehouse/webhooks", b.url("SANITY_URL"));
    let mut hooks: Value = b.http.get(&hooks_url).send().await.unwrap().json().await.unwrap();
    for h in hooks["webhooks"].as_array_mut().unwrap() {
        h["enabled"] = false.into();
    }
    b.http.put(&hooks_url).json(&hooks["webhooks"]).send().await.unwrap();
    b.idle().await;
    let tag = format!("{:06x}", fastrand::u32(..) & 0xffffff);
    for (ci, chunk) in orgs.chunks(500).enumerate() {
        let muts: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, o)| json!({"create": {"_id": format!("rule-rec-bench-{tag}-{:05}", ci * 500 + i), "_type": "accessRule", "stytchOrganizationId": o,
                                          "plan": {"_type": "reference", "_ref": "plan-pro"}, "region": "eu", "allowedContentTypes": ["report"]}}))
            .collect();
        b.mutate(Value::Array(muts)).await;
    }
    let c = Container::start(b, "reconcile").await;
    let mut out = serde_json::Map::new();
    let c0 = b.counters().await;
    let t = Instant::now();
    let (first, _) = c.invoke(json!({})).await;
    let wall = ms(t.elapsed());
    let c1 = b.counters().await;
    out.insert(
        "drift_100".into(),
        json!({"rules": n, "drifted": n, "wall_ms": wall, "changed": first["changed"], "groq_calls": c1.0 - c0.0, "stytch_calls": c1.1 - c0.1}),
    );
    for (name, drift) in [("drift_0", 0usize), ("drift_10", n / 10)] {
        for o in orgs.iter().take(drift) {
            let meta = b.stytch(reqwest::Method::GET, &format!("/v1/b2b/organizations/{o}"), None).await;
            let mut a = meta["organization"]["trusted_metadata"]["sanity_access"].clone();
            a["region"] = "hand-edited".into();
            b.stytch(reqwest::Method::PUT, &format!("/v1/b2b/organizations/{o}"), Some(json!({"trusted_metadata": {"sanity_access": a}}))).await;
        }
        let c0 = b.counters().await;
        let t = Instant::now();
        let (r, _) = c.invoke(json!({})).await;
        let wall = ms(t.elapsed());
        let c1 = b.counters().await;
        out.insert(
            name.into(),
            json!({"rules": n, "drifted": drift, "wall_ms": wall, "changed": r["changed"], "groq_calls": c1.0 - c0.0, "stytch_calls": c1.1 - c0.1}),
        );
    }
    Value::Object(out)
}

/// `BENCH_ONLY=smoke` (scripts/check-package.sh): the scenario every build must pass, here for
/// the packaged arm64 binaries under qemu. `fixture` already published a rule through the
/// publish-sync container (webhook → function URL → Stytch); the rest is one container each.
/// Any failure panics, so the process exits non-zero.
async fn smoke(b: &Bench, fx: &Fixture) {
    let t = Instant::now();
    let step = |what: &str| println!("smoke: {what} ok ({:.0} ms)", ms(t.elapsed()));
    let meta = b.stytch(reqwest::Method::GET, &format!("/v1/b2b/organizations/{}", fx.org), None).await;
    let access = &meta["organization"]["trusted_metadata"]["sanity_access"];
    assert_eq!(access["plan"], "pro", "publish not synced to Stytch: {meta}");
    assert_eq!(access["source"]["documentId"], fx.rule.as_str(), "{access}");
    step("publish-sync: publish synced to the Stytch organization");

    // Another organization with a member of its own: the document is not theirs.
    let n = format!("{:08x}", fastrand::u32(..));
    let other = b.stytch(reqwest::Method::POST, "/v1/b2b/organizations", Some(json!({"organization_name": format!("Other {n}"), "organization_slug": format!("other-{n}")}))).await;
    let other = other["organization"]["organization_id"].as_str().unwrap().to_string();
    let m = b.stytch(reqwest::Method::POST, &format!("/v1/b2b/organizations/{other}/members"), Some(json!({"email_address": format!("other-{n}@example.com")}))).await;
    let outsider = b.mint(&other, m["member"]["member_id"].as_str().unwrap()).await;
    let read = |session: &str| url_event("GET", &format!("/content/{}", fx.slug), "", &[("authorization", &format!("Bearer {session}"))], None);
    let c = Container::start(b, "gated-content").await;
    let (r, _) = c.invoke(read(&fx.session)).await;
    assert_eq!(r["statusCode"], 200, "member read: {r}");
    let (r, _) = c.invoke(read(&outsider)).await;
    assert_eq!(r["statusCode"], 404, "other organization's read: {r}");
    step("gated-content: 200 for the member, 404 for another organization");

    let c = Container::start(b, "token-exchange").await;
    let (r, _) = c.invoke(url_event("POST", "/token", "", &[("authorization", &format!("Bearer {}", fx.session))], None)).await;
    assert_eq!(r["statusCode"], 200, "token-exchange: {r}");
    let body: Value = serde_json::from_str(r["body"].as_str().unwrap_or("")).unwrap_or_default();
    assert!(body["access_token"].as_str().is_some_and(|t| t.split('.').count() == 3), "no token: {r}");
    step("token-exchange: 200 with a token");

    let c = Container::start(b, "reconcile").await;
    let (r, _) = c.invoke(json!({"dryRun": true})).await;
    assert_eq!(r["dryRun"], true, "reconcile dry run: {r}");
    assert!(r["changed"].is_number(), "reconcile report: {r}");
    step("reconcile: dry run report");
    println!("smoke: all passed ({} binaries from {})", if b.wrapper.is_empty() { "native" } else { b.wrapper[0].as_str() }, b.bin_dir);
}

fn sizes(root: &str) -> Value {
    let mut out = serde_json::Map::new();
    for f in ["publish-sync", "delete-cleanup", "gated-content", "token-exchange", "reconcile"] {
        let bin = format!("{root}/target/release/{f}");
        let zip = format!("{root}/target/bench/{f}.zip");
        let size = std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0);
        let zsize = std::fs::metadata(&zip).map(|m| m.len()).unwrap_or(0);
        out.insert(f.into(), json!({"binary_mb": size as f64 / 1e6, "zip_mb": zsize as f64 / 1e6}));
    }
    Value::Object(out)
}

fn table(r: &Value) {
    let f = |v: &Value| v.as_f64().map_or("-".to_string(), |x| format!("{x:.2}"));
    println!("\n== cold start (release, {} runs each; ms; RSS MB)", r["cold_start"]["publish-sync"]["init_ms"]["n"]);
    println!("{:<16} {:>20} {:>20} {:>18} {:>20} {:>10}", "function", "init min/p50/p90", "secrets p50", "first req p50/p90", "spawn→response p50", "peak RSS");
    for (k, v) in r["cold_start"].as_object().unwrap() {
        println!(
            "{:<16} {:>20} {:>20} {:>18} {:>20} {:>10}",
            k,
            format!("{}/{}/{}", f(&v["init_ms"]["min"]), f(&v["init_ms"]["p50"]), f(&v["init_ms"]["p90"])),
            f(&v["secrets_loaded_ms"]["p50"]),
            format!("{}/{}", f(&v["first_request_ms"]["p50"]), f(&v["first_request_ms"]["p90"])),
            f(&v["spawn_to_first_response_ms"]["p50"]),
            f(&v["peak_rss_mb"]["max"])
        );
    }
    let g = &r["gated_read"];
    println!("\n== gated read (warm)");
    println!("c=1 : p50 {} ms  p99 {} ms  {:.0} req/s  peak RSS after 1,000: {} MB  function CPU {} ms/read", f(&g["c1"]["latency_ms"]["p50"]), f(&g["c1"]["latency_ms"]["p99"]), g["c1"]["rps"].as_f64().unwrap_or(0.0), f(&g["c1"]["peak_rss_mb_after_1000"]), f(&g["c1"]["cpu_ms_per_read"]));
    println!("c=16: p50 {} ms  p99 {} ms  {:.0} req/s (16 containers, 2 cores)", f(&g["c16"]["latency_ms"]["p50"]), f(&g["c16"]["latency_ms"]["p99"]), g["c16"]["rps"].as_f64().unwrap_or(0.0));
    let bd = &r["breakdown"];
    println!(
        "share: JWT verify p50 {} / p99 {} ms; access lookup (Stytch, uncached) p50 {} ms; GROQ round trip p50 {} / p99 {} ms",
        f(&bd["jwt_verify_ms"]["p50"]),
        f(&bd["jwt_verify_ms"]["p99"]),
        f(&bd["access_lookup_uncached_ms"]["p50"]),
        f(&bd["groq_round_trip_ms"]["p50"]),
        f(&bd["groq_round_trip_ms"]["p99"])
    );
    println!("overhead excluding GROQ (read p50 - GROQ p50): {:.2} ms", g["c1"]["latency_ms"]["p50"].as_f64().unwrap_or(0.0) - bd["groq_round_trip_ms"]["p50"].as_f64().unwrap_or(0.0));
    table_authz(&r["authz"]);
    let p = &r["publish"]["mutation_to_stytch_ms"];
    println!("\n== publish: Sanity mutation → Stytch updated (webhook → publish-sync): p50 {} ms  p90 {} ms  (n={})", f(&p["p50"]), f(&p["p90"]), p["n"]);
    println!("\n== upstream calls per operation (emulator counters)");
    for (k, v) in r["upstream_calls"].as_object().unwrap() {
        println!("{k:<24} GROQ {:>3}  Stytch {:>3}", v["groq"], v["stytch"]);
    }
    println!("\n== reconcile");
    for (k, v) in r["reconcile"].as_object().unwrap() {
        println!("{k:<9} {} rules, {} drifted: {} ms, changed {}, GROQ {}, Stytch {}", v["rules"], v["drifted"], f(&v["wall_ms"]), v["changed"], v["groq_calls"], v["stytch_calls"]);
    }
    println!("\n== package size (x86_64 release; zip = bootstrap deflated, as cargo lambda packs it)");
    for (k, v) in r["sizes"].as_object().unwrap() {
        println!("{k:<16} binary {} MB  zip {} MB", f(&v["binary_mb"]), f(&v["zip_mb"]));
    }
}

fn table_authz(a: &Value) {
    let f = |v: &Value| v.as_f64().map_or("-".to_string(), |x| format!("{x:.2}"));
    println!("\n== gated read by authorizer (warm, sequential; ms)");
    println!("{:<10} {:>22} {:>22}", "AUTHZ", "one doc p50/p99", "list page p50/p99");
    for k in ["builtin", "cerbos"] {
        let v = &a[k];
        println!(
            "{k:<10} {:>22} {:>22}",
            format!("{}/{}", f(&v["read_one_ms"]["p50"]), f(&v["read_one_ms"]["p99"])),
            format!("{}/{}", f(&v["read_list_ms"]["p50"]), f(&v["read_list_ms"]["p99"]))
        );
    }
    let d = &a["pdp_direct"];
    let share = |call: &str, read: &str| {
        let c = d[call]["p50"].as_f64().unwrap_or(0.0);
        let r = a["cerbos"][read]["p50"].as_f64().unwrap_or(f64::NAN);
        format!("{:.0}%", 100.0 * c / r)
    };
    for k in ["builtin", "cerbos"] {
        let v = &a[k];
        println!(
            "{k:<10} decision inside the function: one doc p50 {} / p99 {} ms, list p50 {} / p99 {} ms",
            f(&v["read_one_authz_ms"]["p50"]), f(&v["read_one_authz_ms"]["p99"]),
            f(&v["read_list_authz_ms"]["p50"]), f(&v["read_list_authz_ms"]["p99"])
        );
    }
    println!(
        "PDP alone (loopback HTTP, keep-alive): CheckResources p50 {} / p99 {} ms ({} of a Cerbos one-doc read); PlanResources p50 {} / p99 {} ms ({} of a list read)",
        f(&d["check_ms"]["p50"]), f(&d["check_ms"]["p99"]), share("check_ms", "read_one_ms"),
        f(&d["plan_ms"]["p50"]), f(&d["plan_ms"]["p99"]), share("plan_ms", "read_list_ms")
    );
    println!("built-in, in process: decision {:.0} ns, list filter {:.0} ns", a["builtin_in_process_ns"]["check"].as_f64().unwrap_or(0.0), a["builtin_in_process_ns"]["list_filter"].as_f64().unwrap_or(0.0));
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let root = std::env::var("GATEHOUSE_ROOT").unwrap_or_else(|_| format!("{}/..", env!("CARGO_MANIFEST_DIR")));
    let runs: usize = std::env::var("BENCH_COLD_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    let publishes: usize = std::env::var("BENCH_PUBLISHES").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let rules: usize = std::env::var("BENCH_RECONCILE_RULES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let env = stack_env(&root);
    let mut hb = reqwest::Client::builder().pool_max_idle_per_host(32);
    if let Some(ca) = env.get("LOCAL_CA_FILE").filter(|p| !p.is_empty()) {
        hb = hb.add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap());
    }
    let http = hb.build().unwrap();
    let bin_dir = std::env::var("BENCH_BIN_DIR").unwrap_or_else(|_| format!("{root}/target/release"));
    let only_cold = std::env::var("BENCH_ONLY").is_ok_and(|v| v == "cold");
    let wrapper = std::env::var("BENCH_WRAPPER").unwrap_or_default().split_whitespace().map(String::from).collect();
    let b = Bench { bin_dir, wrapper, env, http };

    // The webhook targets: one warm container each, behind function-URL paths.
    let publish = Arc::new(Mutex::new(Container::start(&b, "publish-sync").await));
    let delete = Arc::new(Mutex::new(Container::start(&b, "delete-cleanup").await));
    let mut map: HashMap<&'static str, Arc<Mutex<Container>>> = HashMap::new();
    map.insert("publish-sync", publish.clone());
    map.insert("delete-cleanup", delete.clone());
    let app = Router::new()
        .route("/lambda-url/{function}/", axum::routing::any(front_root))
        .route("/lambda-url/{function}/{*rest}", axum::routing::any(front))
        .with_state(Front { containers: Arc::new(map) });
    let port: u16 = b.env["LAMBDA_URL"].rsplit(':').next().unwrap().parse().unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("LAMBDA_PORT free");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let fx = fixture(&b).await;
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "smoke") {
        smoke(&b, &fx).await;
        return;
    }
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "gated") {
        // Warm gated reads alone (a build-profile comparison: latency and CPU per read).
        let g = gated_reads(&b, &fx).await;
        let label = std::env::var("BENCH_LABEL").unwrap_or_else(|_| "gated".into());
        let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
        println!(
            "{label:<10} gated read c=1 p50 {:.3} ms p99 {:.3} ms, {:.0} req/s, function CPU {:.3} ms/read; c=16 p50 {:.2} ms, {:.0} req/s",
            f(&g["c1"]["latency_ms"]["p50"]), f(&g["c1"]["latency_ms"]["p99"]), f(&g["c1"]["rps"]), f(&g["c1"]["cpu_ms_per_read"]),
            f(&g["c16"]["latency_ms"]["p50"]), f(&g["c16"]["rps"])
        );
        return;
    }
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "authz") {
        // Built-in vs Cerbos alone (scripts/bench.sh with BENCH_ONLY=authz, on a quiet machine).
        let authz = authz_compare(&b, &fx).await;
        table_authz(&authz);
        return;
    }
    eprintln!("bench: cold starts ({runs} per function)…");
    let cold = cold_starts(&b, &fx, runs).await;
    if only_cold {
        // A build-profile comparison: cold start and size of the binaries in BENCH_BIN_DIR.
        let label = std::env::var("BENCH_LABEL").unwrap_or_else(|_| "profile".into());
        let out = json!({"label": label, "cold_start": cold});
        std::fs::create_dir_all(format!("{root}/target/bench")).unwrap();
        std::fs::write(format!("{root}/target/bench/cold-{label}.json"), serde_json::to_string_pretty(&out).unwrap()).unwrap();
        for (k, v) in out["cold_start"].as_object().unwrap() {
            println!("{label:<10} {k:<16} init p50 {:.2} ms  spawn→response p50 {:.2} ms  peak RSS {:.1} MB", v["init_ms"]["p50"].as_f64().unwrap_or(0.0), v["spawn_to_first_response_ms"]["p50"].as_f64().unwrap_or(0.0), v["peak_rss_mb"]["max"].as_f64().unwrap_or(0.0));
        }
        return;
    }
    eprintln!("bench: gated reads…");
    let gated = gated_reads(&b, &fx).await;
    let bd = breakdown(&b, &fx).await;
    eprintln!("bench: built-in vs Cerbos…");
    let authz = authz_compare(&b, &fx).await;
    eprintln!("bench: publish latency ({publishes})…");
    let publish_lat = publish_latency(&b, &fx, publishes).await;
    eprintln!("bench: upstream calls…");
    let calls = upstream_calls(&b, &fx, &publish).await;
    eprintln!("bench: reconcile ({rules} rules)…");
    let rec = reconcile_runs(&b, rules).await;
    let results = json!({
        "date": gatehouse::log::rfc3339(gatehouse::log::now_ms()),
        "machine": std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|c| c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())),
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "emulators_tls": b.env.get("LOCAL_CA_FILE").is_some_and(|p| !p.is_empty()),
        "cold_start": cold, "gated_read": gated, "breakdown": bd, "authz": authz, "publish": publish_lat,
        "upstream_calls": calls, "reconcile": rec, "sizes": sizes(&root),
    });
    std::fs::create_dir_all(format!("{root}/target/bench")).unwrap();
    std::fs::write(format!("{root}/target/bench/results.json"), serde_json::to_string_pretty(&results).unwrap()).unwrap();
    table(&results);
    println!("\n(written to target/bench/results.json)");
}
