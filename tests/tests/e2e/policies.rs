//! Cerbos policies deciding gated reads (issue #11): gated-content started as fresh containers
//! with `AUTHZ=builtin` and `AUTHZ=cerbos` (the real PDP, policies/), sessions from the Stytch
//! emulator, access synced by publish-sync, documents in the Sanity emulator. Every scenario runs
//! against both authorizers and must give the same answer. Then what only Cerbos has: a policy
//! edited while the function runs (unix socket, as on Lambda), and a PDP that is killed, hangs or
//! answers garbage (503, never an allow).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gatehouse_tests::runtime_api::{RuntimeApi, url_event};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::OnceCell;

use crate::common::*;

struct World {
    tag: String,
    org_a: String,
    org_b: String,
    org_c: String,
    a_member: String,
    a_admin: String,
    b_member: String,
    b_staff: String,
    c_member: String,
}

static WORLD: OnceCell<World> = OnceCell::const_new();

/// Org A: plan pro, region eu, articles and reports. Org B: plan free, region us, articles only;
/// one of its members is gatehouse staff. Org C: like A, but its rule requires MFA.
async fn world() -> &'static World {
    WORLD
        .get_or_init(|| async {
            ensure_plans().await;
            let s = stack();
            let tag = uid();
            let (org_a, org_b, org_c) = (s.create_org(json!({})).await, s.create_org(json!({})).await, s.create_org(json!({})).await);
            let a_member = s.create_member(&org_a, &[]).await;
            let a_admin = s.create_member(&org_a, &["stytch_admin"]).await;
            let b_member = s.create_member(&org_b, &[]).await;
            // Staff: the role in the stack's configured staff organization (PLATFORM_ORGANIZATION_IDS).
            let b_staff = s.create_member(s.var("STAFF_ORG"), &["gatehouse_platform_admin"]).await;
            let c_member = s.create_member(&org_c, &[]).await;
            let doc = |name: &str, ty: &str, extra: Value| {
                let mut d = json!({"_id": format!("pol-{name}-{tag}"), "_type": ty, "title": name, "slug": {"current": format!("pol-{name}-{tag}")}, "body": format!("body of {name}")});
                d.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
                json!({"createOrReplace": d})
            };
            s.mutate(json!([
                doc("pub", "article", json!({})),
                doc("pub-report", "report", json!({})),
                doc("tenant-a", "report", json!({"organizationId": org_a})),
                doc("pro-report", "report", json!({"requiredPlans": ["pro"]})),
                doc("admins", "report", json!({"requiredRoles": ["stytch_admin"]})),
                doc("eu", "article", json!({"regions": ["eu"]})),
                doc("mfa", "report", json!({"organizationId": org_c})),
            ]))
            .await;
            s.mutate(json!([
                {"createOrReplace": rule(&format!("rule-pa-{tag}"), Some(&org_a), None, json!({"gatedRoutes": []}))},
                {"createOrReplace": rule(&format!("rule-pb-{tag}"), Some(&org_b), None, json!({"plan": {"_type": "reference", "_ref": "plan-free"}, "region": "us", "allowedContentTypes": ["article"], "gatedRoutes": []}))},
                {"createOrReplace": rule(&format!("rule-pc-{tag}"), Some(&org_c), None, json!({"requiresMfa": true, "gatedRoutes": []}))},
            ]))
            .await;
            s.idle().await;
            for org in [&org_a, &org_b, &org_c] {
                assert!(s.org_metadata(org).await["sanity_access"].is_object(), "rule for {org} synced");
            }
            World { tag, org_a, org_b, org_c, a_member, a_admin, b_member, b_staff, c_member }
        })
        .await
}

#[derive(Clone, Copy, Debug)]
enum Who {
    Anonymous,
    AMember,
    AAdmin,
    BMember,
    Staff,
    CMember,
    CMemberMfa,
}

async fn token(w: &World, who: Who) -> Option<String> {
    let (org, member, factors): (&str, &str, &[&str]) = match who {
        Who::Anonymous => return None,
        Who::AMember => (&w.org_a, &w.a_member, &["email_otp"]),
        Who::AAdmin => (&w.org_a, &w.a_admin, &["email_otp"]),
        Who::BMember => (&w.org_b, &w.b_member, &["email_otp"]),
        Who::Staff => (stack().var("STAFF_ORG"), &w.b_staff, &["email_otp"]),
        Who::CMember => (&w.org_c, &w.c_member, &["email_otp"]),
        Who::CMemberMfa => (&w.org_c, &w.c_member, &["email_otp", "totp"]),
    };
    Some(stack().mint(json!({"organization_id": org, "member_id": member, "authentication_factors": factors})).await)
}

fn get(path: &str, query: &str, token: Option<&str>) -> Value {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.as_deref().map(|a| vec![("authorization", a)]).unwrap_or_default();
    url_event("GET", path, query, &headers, None)
}

fn body(r: &Value) -> Value {
    serde_json::from_str(r["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null)
}

/// Every report of this test the principal may list, following the cursor to the end.
async fn listed(api: &RuntimeApi, tag: &str, token: Option<&str>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut cursor = String::new();
    loop {
        let q = if cursor.is_empty() { "type=report&limit=100".to_string() } else { format!("type=report&limit=100&cursor={cursor}") };
        let r = invoke(api, get("/content", &q, token)).await;
        assert_eq!(r["statusCode"], 200, "{r}");
        let b = body(&r);
        for d in b["documents"].as_array().unwrap() {
            let slug = d["_id"].as_str().unwrap();
            if let Some(name) = slug.strip_prefix("pol-").and_then(|s| s.strip_suffix(&format!("-{tag}"))) {
                out.insert(name.to_string());
            }
        }
        match b["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => return out,
        }
    }
}


#[tokio::test(flavor = "multi_thread")]
async fn builtin_and_cerbos_decide_every_read_the_same() {
    let _stack = shared().await;
    let w = world().await;
    let t = &w.tag;
    let (builtin, _b) = container("gated-content", B2b, &[("AUTHZ", "builtin")]).await;
    let url = cerbos_url();
    let log = std::env::temp_dir().join(format!("gatehouse-cerbos-gate-{t}.log"));
    let (cerbos, _c) = container_logging("gated-content", B2b, &[("AUTHZ", "cerbos"), ("CERBOS_URL", &url)], Some(&log)).await;

    use Who::*;
    // (who, document, status): one document at a time (CheckResources).
    let reads: &[(Who, &str, u16)] = &[
        (Anonymous, "pub", 200),
        (Anonymous, "tenant-a", 404),
        (AMember, "tenant-a", 200),
        (BMember, "tenant-a", 404), // another organization's document: as if it did not exist
        (Staff, "tenant-a", 200),   // platform admin reads across tenants
        (Staff, "mfa", 200),
        (AMember, "admins", 404), // role-specific: org_member refused...
        (AAdmin, "admins", 200),  // ...org_admin allowed
        (AMember, "eu", 200),     // region eu
        (BMember, "eu", 404),     // region us
        (AMember, "pro-report", 200),
        (BMember, "pro-report", 404),
        (CMember, "mfa", 403), // granted but one factor: 403 mfa_required, not 404
        (CMemberMfa, "mfa", 200),
        (AMember, "mfa", 404),
    ];
    for (name, api) in [("builtin", &builtin), ("cerbos", &cerbos)] {
        for (who, doc, want) in reads {
            let tok = token(w, *who).await;
            let r = invoke(api, get(&format!("/content/pol-{doc}-{t}"), "", tok.as_deref())).await;
            assert_eq!(r["statusCode"], *want, "{name}: {who:?} reads {doc}: {r}");
            let b = body(&r);
            match want {
                200 => assert_eq!(b["document"]["_id"], format!("pol-{doc}-{t}"), "{name}: {b}"),
                403 => {
                    assert_eq!(b["error"], "mfa_required", "{name}: {b}");
                    assert!(b.get("document").is_none() && !r["body"].as_str().unwrap().contains("body of"), "{name}: nothing leaks: {b}");
                }
                _ => assert_eq!(b["error"], "not_found", "{name}: {b}"),
            }
        }
    }

    // Each decision is traceable: the request line names the PDP call and the deciding policy.
    let lines: Vec<Value> = std::fs::read_to_string(&log).unwrap().lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let line = |doc: &str| lines.iter().find(|l| l["document_id"] == format!("pol-{doc}-{t}")).unwrap_or_else(|| panic!("no request line for {doc}"));
    for (doc, outcome) in [("tenant-a", "served"), ("admins", "not_found"), ("mfa", "mfa_required")] {
        let l = line(doc);
        assert_eq!(l["authz"], "cerbos", "{l}");
        assert_eq!(l["authz_policy"], "resource.content.vdefault", "{l}");
        assert!(l["authz_request_id"].as_str().is_some_and(|r| r == l["request_id"]), "{l}");
        assert!(l["authz_call_id"].as_str().is_some_and(|c| !c.is_empty()), "{l}");
        assert!(lines.iter().any(|x| x["document_id"] == l["document_id"] && x["outcome"] == outcome), "{doc}: {outcome}");
    }

    // (who, reports listed): list pages (PlanResources → GROQ filter for Cerbos).
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<String>>();
    let lists: &[(Who, BTreeSet<String>)] = &[
        (Anonymous, set(&["pub-report"])),
        (AMember, set(&["pub-report", "tenant-a", "pro-report"])),
        (AAdmin, set(&["pub-report", "tenant-a", "pro-report", "admins"])),
        (BMember, set(&["pub-report"])),
        (Staff, set(&["pub-report", "tenant-a", "pro-report", "admins", "mfa"])),
        (CMember, set(&["pub-report"])),
        (CMemberMfa, set(&["pub-report", "pro-report", "mfa"])),
    ];
    for (name, api) in [("builtin", &builtin), ("cerbos", &cerbos)] {
        for (who, want) in lists {
            let tok = token(w, *who).await;
            assert_eq!(&listed(api, t, tok.as_deref()).await, want, "{name}: {who:?} lists");
        }
    }
    let lines = std::fs::read_to_string(&log).unwrap();
    assert!(lines.contains(r#""authz_filter":"KIND_CONDITIONAL""#) && lines.contains(r#""authz_filter":"KIND_ALWAYS_ALLOWED""#), "list lines carry the plan kind");
    let _ = std::fs::remove_file(&log);
}

/// A PDP of this test's own, on a copy of policies/ (so editing it touches nobody else).
struct Pdp {
    child: tokio::process::Child,
    dir: PathBuf,
    url: String,
}

impl Drop for Pdp {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// How a test's own PDP serves.
struct PdpOn {
    /// HTTP on a unix socket, as the Lambda extension does (else TCP on a free port).
    unix_socket: bool,
    /// Reload policies on change: needs inotify, so only the policy-edit test asks for it.
    hot_reload: bool,
}

impl Pdp {
    /// How long a PDP may take to answer SERVING on a loaded 2-core machine.
    const START_WITHIN: Duration = Duration::from_secs(30);

    async fn start(PdpOn { unix_socket: unix, hot_reload }: PdpOn) -> Pdp {
        let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        let dir = std::env::temp_dir().join(format!("gatehouse-pdp-{}", uid()));
        copy_dir(&root.join("policies"), &dir.join("policies"));
        let free_port = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (http, grpc, url) = if unix {
            let sock = dir.join("cerbos.http.sock").display().to_string();
            (format!("unix:{sock}"), format!("unix:{}", dir.join("cerbos.grpc.sock").display()), format!("unix:{sock}"))
        } else {
            let (h, g) = (free_port(), free_port());
            (format!("127.0.0.1:{h}"), format!("127.0.0.1:{g}"), format!("http://127.0.0.1:{h}"))
        };
        let child = tokio::process::Command::new(root.join("cerbos/node_modules/@cerbos/cerbos-linux-x64/cerbos-linux-x64"))
            .arg("server")
            .arg(format!("--config={}", root.join("cerbos/.cerbos.yaml").display()))
            .arg(format!("--set=server.httpListenAddr={http}"))
            .arg(format!("--set=server.grpcListenAddr={grpc}"))
            .arg(format!("--set=storage.disk.directory={}", dir.join("policies").display()))
            .arg(format!("--set=storage.disk.watchForChanges={hot_reload}"))
            .env("CERBOS_NO_TELEMETRY", "1")
            .current_dir(root.join("cerbos"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("cerbos.log")).unwrap())
            .kill_on_drop(true)
            .spawn()
            .expect("the PDP binary (scripts/bootstrap.sh installs it)");
        let mut pdp = Pdp { child, dir, url };
        let client = pdp.client();
        let base = pdp.base();
        let log = || std::fs::read_to_string(pdp.dir.join("cerbos.log")).unwrap_or_default();
        let deadline = tokio::time::Instant::now() + Self::START_WITHIN;
        while tokio::time::Instant::now() < deadline {
            if let Ok(r) = client.get(format!("{base}/_cerbos/health")).send().await
                && r.text().await.unwrap_or_default().contains("SERVING")
            {
                return pdp;
            }
            if let Ok(Some(status)) = pdp.child.try_wait() {
                panic!("own PDP exited ({status}) before serving ({}); its log:\n{}", pdp.url, log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("own PDP did not serve within {:?} ({}); its log:\n{}", Self::START_WITHIN, pdp.url, log());
    }

    fn client(&self) -> reqwest::Client {
        match self.url.strip_prefix("unix:") {
            Some(sock) => reqwest::Client::builder().unix_socket(sock).build().unwrap(),
            None => reqwest::Client::new(),
        }
    }

    fn base(&self) -> String {
        if self.url.starts_with("unix:") { "http://localhost".into() } else { self.url.clone() }
    }

    fn policy(&self) -> PathBuf {
        self.dir.join("policies/content.yaml")
    }
}

/// Polls a read until it answers `want`; returns how long the change took to show.
async fn until_status(api: &RuntimeApi, event: &Value, want: u16, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let r = invoke(api, event.clone()).await;
        if r["statusCode"] == want {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "still {} after {within:?} (want {want}): {r}", r["statusCode"]);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_edit_changes_the_next_reads_without_restarting_the_function() {
    let _stack = shared().await;
    let w = world().await;
    let pdp = Pdp::start(PdpOn { unix_socket: true, hot_reload: true }).await;
    let (api, _c) = container("gated-content", B2b, &[("AUTHZ", "cerbos"), ("CERBOS_URL", &pdp.url)]).await;
    let member = token(w, Who::AMember).await;
    let read = get(&format!("/content/pol-admins-{}", w.tag), "", member.as_deref());
    assert_eq!(invoke(&api, read.clone()).await["statusCode"], 404, "admins-only document refused to a member");

    // A security team decides members may read role-restricted documents too.
    let original = std::fs::read_to_string(pdp.policy()).unwrap();
    let line = "role_ok: V.no_role_required || hasIntersection(R.attr.required_roles, P.roles)";
    assert!(original.contains(line), "policies/content.yaml changed: update this test");
    std::fs::write(pdp.policy(), original.replace(line, "role_ok: true")).unwrap();
    let took = until_status(&api, &read, 200, Duration::from_secs(20)).await;
    println!("policy edit → changed decision: {took:?}");
    // The list follows the same policy (PlanResources is re-asked on every list read).
    let listed_now = listed(&api, &w.tag, member.as_deref()).await;
    assert!(listed_now.contains("admins"), "{listed_now:?}");

    std::fs::write(pdp.policy(), original).unwrap();
    let took = until_status(&api, &read, 404, Duration::from_secs(20)).await;
    println!("policy restored → decision back: {took:?}");
    assert!(!listed(&api, &w.tag, member.as_deref()).await.contains("admins"));
}

#[tokio::test(flavor = "multi_thread")]
async fn pdp_killed_slow_or_garbage_is_503_never_an_allow() {
    let _stack = shared().await;
    let w = world().await;
    let member = token(w, Who::AMember).await;
    let one = get(&format!("/content/pol-tenant-a-{}", w.tag), "", member.as_deref());
    let list = get("/content", "type=report", member.as_deref());
    let public = get(&format!("/content/pol-pub-{}", w.tag), "", None);

    // Killed: the function was fine a moment ago, then the PDP disappears.
    let mut pdp = Pdp::start(PdpOn { unix_socket: false, hot_reload: false }).await;
    let (api, _c) = container("gated-content", B2b, &[("AUTHZ", "cerbos"), ("CERBOS_URL", &pdp.url)]).await;
    assert_eq!(invoke(&api, one.clone()).await["statusCode"], 200);
    pdp.child.kill().await.unwrap();
    for ev in [&one, &list, &public] {
        let r = invoke(&api, ev.clone()).await;
        assert_eq!(r["statusCode"], 503, "{r}");
        assert_eq!(body(&r)["error"], "authz_unavailable", "{r}");
    }

    // Slow: a listener that accepts and never answers (CERBOS_TIMEOUT_MS=300).
    let slow = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slow_url = format!("http://{}", slow.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((c, _)) = slow.accept().await {
            conns.push(c);
        }
    });
    let (api, _c) = container("gated-content", B2b, &[("AUTHZ", "cerbos"), ("CERBOS_URL", &slow_url), ("CERBOS_TIMEOUT_MS", "300"), ("INIT_WARMUP", "0")]).await;
    for ev in [&one, &list] {
        let r = invoke(&api, ev.clone()).await;
        assert_eq!(r["statusCode"], 503, "{r}");
    }
    held.abort();

    // Garbage: 200s that look like allows, but not for this request or this document.
    let answers = [
        r#"{"requestId":"someone-else","results":[{"resource":{"id":"x","kind":"content"},"actions":{"read":"EFFECT_ALLOW","discover":"EFFECT_ALLOW"}}],"filter":{"kind":"KIND_ALWAYS_ALLOWED"},"action":"list","resourceKind":"content"}"#,
        r#"{"results":"yes"}"#,
        "not json",
    ];
    for answer in answers {
        let fake = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake_url = format!("http://{}", fake.local_addr().unwrap());
        let served = tokio::spawn(async move {
            while let Ok((mut c, _)) = fake.accept().await {
                let mut buf = vec![0u8; 65536];
                let _ = c.read(&mut buf).await;
                let resp = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}", answer.len());
                let _ = c.write_all(resp.as_bytes()).await;
            }
        });
        let (api, _c) = container("gated-content", B2b, &[("AUTHZ", "cerbos"), ("CERBOS_URL", &fake_url), ("INIT_WARMUP", "0")]).await;
        for ev in [&one, &list] {
            let r = invoke(&api, ev.clone()).await;
            assert_eq!(r["statusCode"], 503, "answer {answer}: {r}");
        }
        served.abort();
    }
}
