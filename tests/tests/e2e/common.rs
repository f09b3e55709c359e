//! The running test stack (`scripts/stack.sh up test`) and helpers to drive it over real HTTP.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};

pub struct Stack {
    env: HashMap<String, String>,
    pub http: reqwest::Client,
}

static STACK: OnceLock<Stack> = OnceLock::new();

/// Tests that inject faults on paths every test uses (the Sanity query path) take the write side;
/// everything else takes the read side.
pub static SHARED_PATHS: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

pub fn stack() -> &'static Stack {
    STACK.get_or_init(|| {
        let path = std::env::var("GATEHOUSE_STACK_ENV")
            .unwrap_or_else(|_| format!("{}/../.stack/test/stack.env", env!("CARGO_MANIFEST_DIR")));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}. Start the stack first: scripts/stack.sh up test (make test does)"));
        let env = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
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

    // ---- Stytch emulator -------------------------------------------------------------------

    fn stytch(&self, method: reqwest::Method, path: &str, consumer: bool) -> reqwest::RequestBuilder {
        let project = if consumer { self.var("CONSUMER_PROJECT") } else { self.var("B2B_PROJECT") };
        self.http
            .request(method, format!("{}{path}", self.var("STYTCH_URL")))
            .basic_auth(project, Some(self.var("STYTCH_SECRET")))
    }

    pub async fn create_org(&self, trusted_metadata: Value) -> String {
        let n = uid();
        let r = self
            .send(self.stytch(reqwest::Method::POST, "/v1/b2b/organizations", false).json(&json!({
                "organization_name": format!("Org {n}"), "organization_slug": format!("org-{n}"),
                "trusted_metadata": trusted_metadata
            })))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["organization"]["organization_id"].as_str().unwrap().to_string()
    }

    pub async fn create_member(&self, org: &str, roles: &[&str]) -> String {
        let r = self
            .send(self.stytch(reqwest::Method::POST, &format!("/v1/b2b/organizations/{org}/members"), false).json(&json!({
                "email_address": format!("m{}@example.com", uid()), "roles": roles
            })))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["member"]["member_id"].as_str().unwrap().to_string()
    }

    pub async fn create_user(&self) -> String {
        let r = self
            .send(self.stytch(reqwest::Method::POST, "/v1/users", true).json(&json!({"email": format!("u{}@example.com", uid())})))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["user_id"].as_str().unwrap().to_string()
    }

    pub async fn delete_org(&self, org: &str) {
        let r = self.send(self.stytch(reqwest::Method::DELETE, &format!("/v1/b2b/organizations/{org}"), false)).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    /// The organization's trusted_metadata.
    pub async fn org_metadata(&self, org: &str) -> Value {
        let r = self.send(self.stytch(reqwest::Method::GET, &format!("/v1/b2b/organizations/{org}"), false)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["organization"]["trusted_metadata"].clone()
    }

    pub async fn set_org_metadata(&self, org: &str, metadata: Value) {
        let r = self
            .send(self.stytch(reqwest::Method::PUT, &format!("/v1/b2b/organizations/{org}"), false).json(&json!({"trusted_metadata": metadata})))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    pub async fn user_metadata(&self, user: &str) -> Value {
        let r = self.send(self.stytch(reqwest::Method::GET, &format!("/v1/users/{user}"), true)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["trusted_metadata"].clone()
    }

    /// Calls the Stytch emulator has served for `method path`.
    pub async fn stytch_calls(&self, method: &str, path: &str) -> u64 {
        calls(&self.send(self.http.get(format!("{}/__gatehouse/calls", self.var("STYTCH_URL")))).await.body, method, path)
    }

    pub async fn org_writes(&self, org: &str) -> u64 {
        self.stytch_calls("PUT", &format!("/v1/b2b/organizations/{org}")).await
    }

    pub async fn stytch_fault(&self, method: &str, path: &str, fault: Value, count: u32) {
        let mut body = json!({"method": method, "path": path, "count": count});
        body.as_object_mut().unwrap().extend(fault.as_object().unwrap().clone());
        let r = self.send(self.http.post(format!("{}/__gatehouse/faults", self.var("STYTCH_URL"))).json(&body)).await;
        assert!(r.status < 300, "{}", r.body);
    }

    /// Removes the faults on one method + path (other tests' faults stay).
    pub async fn clear_stytch_fault(&self, method: &str, path: &str) {
        let r = self
            .send(self.http.delete(format!("{}/__gatehouse/faults", self.var("STYTCH_URL"))).json(&json!({"method": method, "path": path})))
            .await;
        assert!(r.status < 300, "{}", r.body);
    }

    /// A session JWT minted by the emulator (B2B: org + member; consumer: user).
    pub async fn mint(&self, body: Value) -> String {
        let r = self.send(self.http.post(format!("{}/__gatehouse/sessions", self.var("STYTCH_URL"))).json(&body)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["session_jwt"].as_str().unwrap().to_string()
    }

    // ---- Descope emulator ------------------------------------------------------------------

    /// A Descope management call (`Authorization: Bearer <project>:<management key>`).
    pub async fn descope(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.var("DESCOPE_URL")))
            .bearer_auth(format!("{}:{}", self.var("DESCOPE_PROJECT"), self.var("DESCOPE_MANAGEMENT_KEY")));
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    async fn descope_ok(&self, path: &str, body: Value) -> Value {
        let r = self.descope(reqwest::Method::POST, path, Some(body)).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        r.body
    }

    /// A tenant with a name and a self-provisioning domain (returns its id).
    pub async fn create_tenant(&self) -> String {
        let n = uid();
        let r = self.descope_ok("/v1/mgmt/tenant/create", json!({"name": format!("Tenant {n}"), "selfProvisioningDomains": [format!("t{n}.example")]})).await;
        r["id"].as_str().unwrap().to_string()
    }

    /// A user with a login id (returned) and project-level roles granted by hand.
    pub async fn create_descope_user(&self, roles: &[&str]) -> String {
        let login = format!("u{}@example.com", uid());
        self.descope_ok("/v1/mgmt/user/create", json!({"loginId": login, "email": login, "roleNames": roles})).await;
        login
    }

    pub async fn descope_user(&self, login: &str) -> Value {
        let r = self.descope(reqwest::Method::GET, &format!("/v1/mgmt/user?loginId={}", login.replace('@', "%40")), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["user"].clone()
    }

    pub async fn descope_tenant(&self, id: &str) -> Value {
        let r = self.descope(reqwest::Method::GET, &format!("/v1/mgmt/tenant?id={id}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    /// Grants roles by hand (in a tenant when given), as an administrator would in the console.
    pub async fn descope_grant(&self, login: &str, roles: &[&str], tenant: Option<&str>) {
        let mut b = json!({"loginId": login, "roleNames": roles});
        if let Some(t) = tenant {
            self.descope_ok("/v1/mgmt/user/update/tenant/add", json!({"loginId": login, "tenantId": t})).await;
            b["tenantId"] = t.into();
        }
        self.descope_ok("/v2/mgmt/user/update/role/add", b).await;
    }

    /// A Descope session (or, with `"refresh": true`, also a refresh token) from the emulator.
    pub async fn descope_mint(&self, body: Value) -> Value {
        let r = self.send(self.http.post(format!("{}/__gatehouse/sessions", self.var("DESCOPE_URL"))).json(&body)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    pub async fn descope_fault(&self, method: &str, path: &str, fault: Value, count: u32) {
        let mut body = json!({"method": method, "path": path, "count": count});
        body.as_object_mut().unwrap().extend(fault.as_object().unwrap().clone());
        let r = self.send(self.http.post(format!("{}/__gatehouse/faults", self.var("DESCOPE_URL"))).json(&body)).await;
        assert!(r.status < 300, "{}", r.body);
    }

    pub async fn clear_descope_fault(&self, method: &str, path: &str) {
        let r = self
            .send(self.http.delete(format!("{}/__gatehouse/faults", self.var("DESCOPE_URL"))).json(&json!({"method": method, "path": path})))
            .await;
        assert!(r.status < 300, "{}", r.body);
    }

    pub async fn descope_calls(&self, method: &str, path: &str) -> u64 {
        calls(&self.send(self.http.get(format!("{}/__gatehouse/calls", self.var("DESCOPE_URL")))).await.body, method, path)
    }

    // ---- Sanity emulator -------------------------------------------------------------------

    pub async fn mutate(&self, mutations: Value) -> Value {
        let url = format!(
            "{}/v2025-02-19/data/mutate/{}?returnIds=true&returnDocuments=true",
            self.var("SANITY_URL"),
            self.var("SANITY_DATASET")
        );
        let r = self.send(self.http.post(url).bearer_auth(self.var("SANITY_WRITE_TOKEN")).json(&json!({"mutations": mutations}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    /// Waits until every webhook delivery queued so far has finished.
    pub async fn idle(&self) {
        let r = self.send(self.http.get(format!("{}/__gatehouse/idle?timeout_ms=25000", self.var("SANITY_URL")))).await;
        assert_eq!(r.status, 200, "webhook queue did not drain: {}", r.body);
    }

    /// Final delivery attempts for a document, oldest first.
    pub async fn deliveries(&self, doc: &str) -> Vec<Value> {
        let r = self.send(self.http.get(format!("{}/__gatehouse/deliveries", self.var("SANITY_URL")))).await;
        r.body["deliveries"].as_array().unwrap().iter().filter(|d| d["documentId"] == doc).cloned().collect()
    }

    /// Redelivers delivery `seq` of the stack's webhook for `function` (`publish-sync`,
    /// `delete-cleanup`, registered by scripts/sanity-webhooks as `gatehouse-<function>`), or of
    /// the webhook with that id.
    pub async fn redeliver(&self, function: &str, seq: u64) -> Value {
        let hooks = self.send(self.http.get(format!("{}/__gatehouse/webhooks", self.var("SANITY_URL")))).await;
        let name = format!("gatehouse-{function}");
        let id = hooks.body["webhooks"]
            .as_array()
            .and_then(|hs| hs.iter().find(|h| h["name"] == name.as_str() || h["id"] == function))
            .and_then(|h| h["id"].as_str())
            .unwrap_or_else(|| panic!("no webhook named {name}: {}", hooks.body))
            .to_string();
        let r = self
            .send(self.http.post(format!("{}/__gatehouse/webhooks/{id}/redeliver", self.var("SANITY_URL"))).json(&json!({"seq": seq})))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["delivery"].clone()
    }

    pub async fn sanity_fault(&self, method: &str, path: &str, fault: Value, count: u32) {
        let mut body = json!({"method": method, "path": path, "count": count});
        body.as_object_mut().unwrap().extend(fault.as_object().unwrap().clone());
        let r = self.send(self.http.post(format!("{}/__gatehouse/faults", self.var("SANITY_URL"))).json(&body)).await;
        assert!(r.status < 300, "{}", r.body);
    }

    pub async fn clear_sanity_faults(&self) {
        let r = self.send(self.http.delete(format!("{}/__gatehouse/faults", self.var("SANITY_URL")))).await;
        assert!(r.status < 300, "{}", r.body);
    }

    // ---- the functions ---------------------------------------------------------------------

    pub fn function_url(&self, function: &str, consumer: bool) -> String {
        let base = if consumer { self.var("LAMBDA_CONSUMER_URL") } else { self.var("LAMBDA_URL") };
        format!("{base}/lambda-url/{function}")
    }

    /// A webhook delivery signed like Sanity signs it.
    pub fn sign(&self, body: &str) -> String {
        gatehouse::cms::signature::header(self.var("WEBHOOK_SECRET"), now_ms(), body.as_bytes())
    }

    pub async fn deliver(&self, function: &str, consumer: bool, body: &str, signature: Option<&str>) -> Resp {
        self.deliver_to(&self.function_url(function, consumer), body, signature).await
    }

    /// A webhook delivery to a function URL (`…/lambda-url/<function>`) of any deployment.
    pub async fn deliver_to(&self, function_url: &str, body: &str, signature: Option<&str>) -> Resp {
        let mut req = self.http.post(format!("{function_url}/")).header("content-type", "application/json").body(body.to_string());
        if let Some(s) = signature {
            req = req.header("sanity-webhook-signature", s);
        }
        self.send(req).await
    }

    pub async fn deliver_signed(&self, function: &str, consumer: bool, body: &Value) -> Resp {
        let text = body.to_string();
        self.deliver(function, consumer, &text, Some(&self.sign(&text))).await
    }

    pub async fn get(&self, consumer: bool, path_and_query: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Resp {
        self.get_from(&self.function_url("gated-content", consumer), path_and_query, token, headers).await
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

    pub async fn request(&self, method: reqwest::Method, url: String, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.http.request(method, url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }
}

impl Stack {
    /// Invokes the reconcile function through the local Lambda Runtime API (what `cargo lambda
    /// invoke reconcile` does). A failed invocation answers 500 with `{errorType, errorMessage}`.
    pub async fn reconcile(&self, consumer: bool, input: Value) -> Resp {
        let base = if consumer { self.var("LAMBDA_CONSUMER_URL") } else { self.var("LAMBDA_URL") };
        self.send(self.http.post(format!("{base}/2015-03-31/functions/reconcile/invocations")).json(&input)).await
    }

    /// Writes (PUT) the Stytch emulator has served on any organization or user so far.
    pub async fn stytch_writes(&self) -> u64 {
        let r = self.send(self.http.get(format!("{}/__gatehouse/calls", self.var("STYTCH_URL")))).await;
        r.body["calls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["method"] == "PUT")
            .filter(|c| c["path"].as_str().is_some_and(|p| p.starts_with("/v1/b2b/organizations/") || p.starts_with("/v1/users/")))
            .map(|c| c["count"].as_u64().unwrap())
            .sum()
    }

    /// Turns the Sanity emulator's webhooks off (like a function URL that is down) until the
    /// guard drops, even if the test panics. Hold `SHARED_PATHS.write()` meanwhile.
    pub async fn webhooks_off(&self) -> WebhooksOff {
        set_webhooks(&self.http, self.var("SANITY_URL"), false).await;
        WebhooksOff { sanity: self.var("SANITY_URL").to_string() }
    }
}

async fn set_webhooks(http: &reqwest::Client, sanity: &str, enabled: bool) {
    let r = http.get(format!("{sanity}/__gatehouse/webhooks")).send().await.unwrap();
    let mut hooks: Value = r.json().await.unwrap();
    for h in hooks["webhooks"].as_array_mut().unwrap() {
        h["enabled"] = enabled.into();
    }
    let r = http.put(format!("{sanity}/__gatehouse/webhooks")).json(&hooks["webhooks"]).send().await.unwrap();
    assert!(r.status().is_success());
}

pub struct WebhooksOff {
    sanity: String,
}

impl Drop for WebhooksOff {
    fn drop(&mut self) {
        // Drop cannot await: turn them back on from a thread with its own runtime.
        let sanity = self.sanity.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let http = reqwest::Client::new();
                set_webhooks(&http, &sanity, true).await;
            })
        })
        .join()
        .expect("re-enabling the webhooks failed");
    }
}

fn calls(body: &Value, method: &str, path: &str) -> u64 {
    body["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["method"] == method && c["path"] == path)
        .map(|c| c["count"].as_u64().unwrap())
        .sum()
}

/// A rule document as editors write it.
pub fn rule(id: &str, org: Option<&str>, user: Option<&str>, extra: Value) -> Value {
    let mut d = json!({
        "_id": id, "_type": "accessRule", "title": format!("Rule {id}"),
        "plan": {"_type": "reference", "_ref": "plan-pro"}, "region": "eu",
        "allowedContentTypes": ["article", "report"],
        "gatedRoutes": [{"_key": "k1", "path": "/reports/q3"}], "requiresMfa": false
    });
    if let Some(o) = org {
        d["stytchOrganizationId"] = o.into();
    }
    if let Some(u) = user {
        d["stytchUserId"] = u.into();
    }
    d.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    d
}

/// The plans every test may reference (idempotent): Stytch rules use `plan`, Descope profiles
/// `accessPlan`; and the Descope roles as `accessRole`s (`role-<key>`).
pub async fn ensure_plans() {
    static DONE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    DONE.get_or_init(|| async {
        let mut m = vec![
            json!({"createOrReplace": {"_id": "plan-pro", "_type": "plan", "title": "Pro", "slug": {"current": "pro"}}}),
            json!({"createOrReplace": {"_id": "plan-free", "_type": "plan", "title": "Free", "slug": {"current": "free"}}}),
            json!({"createOrReplace": {"_id": "aplan-pro", "_type": "accessPlan", "title": "Pro", "planSlug": {"current": "pro"}}}),
            json!({"createOrReplace": {"_id": "aplan-free", "_type": "accessPlan", "title": "Free", "planSlug": {"current": "free"}}}),
        ];
        for key in ["reader", "editor", "analyst"] {
            m.push(json!({"createOrReplace": {"_id": format!("role-{key}"), "_type": "accessRole", "title": key, "descopeRoleKey": key}}));
        }
        stack().mutate(Value::Array(m)).await;
    })
    .await;
}

/// The webhook body Sanity sends for a rule (the documented projection).
pub fn event(id: &str, rev: &str, op: &str, before: Value) -> Value {
    json!({"_id": id, "_type": "accessRule", "_rev": rev, "operation": op, "before": before, "dataset": "production"})
}

/// A published, synced rule whose organization's `sanity_access.region` was then edited by hand:
/// any accepted delivery for the rule writes it back, a refused one must leave it. Returns
/// (org, rule id, org writes so far).
pub async fn synced_then_hand_edited(extra_patch: Option<Value>) -> (String, String, u64) {
    ensure_plans().await;
    let s = stack();
    let org = s.create_org(json!({})).await;
    let id = format!("rule-{}", uid());
    s.mutate(json!([{ "create": rule(&id, Some(&org), None, json!({})) }])).await;
    s.idle().await;
    if let Some(set) = extra_patch {
        s.mutate(json!([{ "patch": { "id": id, "set": set } }])).await;
        s.idle().await;
    }
    let mut access = s.org_metadata(&org).await["sanity_access"].clone();
    access["region"] = "hand-edited".into();
    s.set_org_metadata(&org, json!({"sanity_access": access})).await;
    let writes = s.org_writes(&org).await;
    (org, id, writes)
}

/// A function started as a fresh container with the stack's env (B2B or consumer project) plus
/// `env`, driven through its own Runtime API; killed when the child is dropped.
pub async fn container(bin: &str, consumer: bool, env: &[(&str, &str)]) -> (gatehouse_tests::runtime_api::RuntimeApi, tokio::process::Child) {
    container_logging(bin, consumer, env, None).await
}

/// `container`, with the function's stdout (its request and metric lines) written to `stdout`.
pub async fn container_logging(
    bin: &str,
    consumer: bool,
    env: &[(&str, &str)],
    stdout: Option<&std::path::Path>,
) -> (gatehouse_tests::runtime_api::RuntimeApi, tokio::process::Child) {
    container_of(bin, if consumer { "functions-consumer.env" } else { "functions-b2b.env" }, env, stdout).await
}

/// A fresh container with the env of one deployment (`functions-{b2b,consumer,descope}.env`).
pub async fn container_of(
    bin: &str,
    file: &str,
    env: &[(&str, &str)],
    stdout: Option<&std::path::Path>,
) -> (gatehouse_tests::runtime_api::RuntimeApi, tokio::process::Child) {
    let api = gatehouse_tests::runtime_api::RuntimeApi::start().await;
    let mut cmd = tokio::process::Command::new(format!("{}/../target/debug/{bin}", env!("CARGO_MANIFEST_DIR")));
    let fns = std::fs::read_to_string(format!("{}/../.stack/test/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
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
            None => std::process::Stdio::null(),
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

/// Stores a secret in moto through its JSON API (the same wire protocol the AWS SDK speaks).
pub async fn put_secret(name: &str, value: &str) -> String {
    let s = stack();
    let r = s
        .http
        .post(format!("{}/", s.var("MOTO_URL")))
        .header("x-amz-target", "secretsmanager.CreateSecret")
        .header("content-type", "application/x-amz-json-1.1")
        .header("authorization", "AWS4-HMAC-SHA256 Credential=test/20261123/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=x")
        .body(json!({"Name": name, "SecretString": value}).to_string())
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    v["ARN"].as_str().unwrap_or_else(|| panic!("moto: {v}")).to_string()
}
