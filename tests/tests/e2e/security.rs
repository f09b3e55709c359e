//! Hostile input, upstream faults and rotation (issue: security and reliability suite). Webhook
//! and token attacks that share setup with the functional tests live in publish.rs and gate.rs;
//! this file holds the rest.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_tests::runtime_api::url_event;
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test(flavor = "multi_thread")]
async fn more_forged_webhooks_are_refused_without_writes() {
    let _stack = shared().await;
    let s = stack();
    let (org, id, writes) = synced_then_hand_edited(None).await;

    let body = event(&id, "r", "update", json!({"stytchOrganizationId": org})).to_string();
    let good = s.sign(&body);
    let (t, v1) = good.split_once(",v1=").unwrap();
    let pretty = serde_json::to_string_pretty(&serde_json::from_str::<Value>(&body).unwrap()).unwrap();
    let cases: Vec<(&str, String, String)> = vec![
        ("re-serialised body", pretty, good.clone()),
        ("two v1 values", body.clone(), format!("{good},v1={v1}")),
        ("space after comma", body.clone(), format!("{t}, v1={v1}")),
        ("upper-case keys", body.clone(), format!("T={},V1={v1}", &t[2..])),
        ("padded standard base64", body.clone(), format!("{t},v1={}=", v1.replace('-', "+").replace('_', "/"))),
        ("v1 before t", body.clone(), format!("v1={v1},{t}")),
    ];
    for (why, b, sig) in &cases {
        let r = s.deliver("publish-sync", B2b, b, Some(sig)).await;
        assert_eq!(r.status, 401, "{why}: {}", r.body);
        assert_eq!(r.body["error"], "invalid_signature", "{why}");
    }
    // Header name casing does not matter (HTTP), the value's does.
    let r = s
        .http
        .post(format!("{}/", s.function_url("publish-sync", B2b)))
        .header("Sanity-Webhook-Signature", s.sign(&body))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "a correctly signed delivery with a capitalised header name is valid");
    let writes_after_control = s.org_writes(&org).await;
    assert_eq!(writes_after_control, writes + 1, "only the valid control delivery wrote");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_forged_deliveries_leaves_the_function_healthy_and_stytch_untouched() {
    let _stack = shared().await;
    let s = stack();
    let before_puts = total(&s.http, s.var("STYTCH_URL"), "PUT").await;
    let started = Instant::now();
    let mut handles = Vec::new();
    for w in 0..16 {
        handles.push(tokio::spawn(async move {
            let s = stack();
            let mut statuses = Vec::new();
            for i in 0..(1000 / 16 + 1) {
                let body = event(&format!("rule-flood-{w}-{i}"), "r", "update", json!({"stytchOrganizationId": "organization-test-07971b06-ac8b-4cdb-9c15-63b17e653931"})).to_string();
                let sig = gatehouse::cms::signature::header("forged", now_ms(), body.as_bytes());
                statuses.push(s.deliver("publish-sync", B2b, &body, Some(&sig)).await.status);
            }
            statuses
        }));
    }
    let mut n = 0;
    for h in handles {
        for st in h.await.unwrap() {
            assert_eq!(st, 401);
            n += 1;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!("flood: {n} forged deliveries in {secs:.2} s ({:.0}/s), all 401", n as f64 / secs);
    // No Stytch write came from the flood (other tests may write concurrently, never from rule-flood-*).
    let logs = std::fs::read_to_string(format!("{}/../.stack/test/lambda.log", env!("CARGO_MANIFEST_DIR"))).unwrap_or_default();
    assert!(!logs.lines().any(|l| l.contains("rule-flood-")), "a forged body got past verification");
    assert!(total(&s.http, s.var("STYTCH_URL"), "PUT").await >= before_puts);
    // Still healthy: a real delivery right after is handled.
    let org = s.create_org(json!({})).await;
    let id = format!("rule-{}", uid());
    ensure_plans().await;
    s.mutate(json!([{ "create": rule(&id, Some(&org), None, json!({})) }])).await;
    s.idle().await;
    assert_eq!(s.org_metadata(&org).await["sanity_access"]["source"]["documentId"], id);
}

async fn total(http: &reqwest::Client, base: &str, method: &str) -> u64 {
    let v: Value = http.get(format!("{base}/__gatehouse/calls")).send().await.unwrap().json().await.unwrap();
    v["calls"].as_array().unwrap().iter().filter(|c| c["method"] == method).map(|c| c["count"].as_u64().unwrap()).sum()
}

/// DER of SubjectPublicKeyInfo for an RSA key, from the JWKS's n and e.
fn spki_pem(n: &[u8], e: &[u8]) -> String {
    fn len(n: usize) -> Vec<u8> {
        if n < 128 { vec![n as u8] } else if n < 256 { vec![0x81, n as u8] } else { vec![0x82, (n >> 8) as u8, n as u8] }
    }
    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        v.extend(len(body.len()));
        v.extend(body);
        v
    }
    fn int(b: &[u8]) -> Vec<u8> {
        let mut body = b.to_vec();
        if body[0] & 0x80 != 0 {
            body.insert(0, 0);
        }
        tlv(0x02, &body)
    }
    let rsa = tlv(0x30, &[int(n), int(e)].concat());
    let alg = tlv(0x30, &[tlv(0x06, &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]), vec![0x05, 0x00]].concat());
    let bits = tlv(0x03, &[vec![0], rsa].concat());
    let der = tlv(0x30, &[alg, bits].concat());
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", lines.join("\n"))
}

#[tokio::test(flavor = "multi_thread")]
async fn algorithm_confusion_and_unknown_kid_flood_are_refused_and_jwks_fetches_stay_limited() {
    // Counts JWKS fetches of the consumer project: no other test may fetch meanwhile.
    let _stack = exclusive().await;
    let s = stack();
    let user = s.create_user().await;
    let real = s.mint(json!({"user_id": user})).await;
    let project = s.var("CONSUMER_PROJECT");
    let jwks: Value = s.http.get(format!("{}/v1/sessions/jwks/{project}", s.var("STYTCH_URL"))).send().await.unwrap().json().await.unwrap();
    let key = &jwks["keys"][0];
    let n = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(key["e"].as_str().unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(real.split('.').nth(1).unwrap()).unwrap()).unwrap();
    // HS256 keyed with the server's own public key: the classic algorithm-confusion forgery.
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    h.kid = key["kid"].as_str().map(String::from);
    let forged = jsonwebtoken::encode(&h, &claims, &jsonwebtoken::EncodingKey::from_secret(spki_pem(&n, &e).as_bytes())).unwrap();
    let r = s.get(Consumer, "/content/anything", Some(&forged), &[]).await;
    assert_eq!(r.status, 401, "{}", r.body);

    // A flood of tokens with unknown kids: every one refused, JWKS fetched at most once per
    // JWKS_REFETCH_MIN_S (2 s in the test stack) by the consumer project's single container.
    let path = format!("/v1/sessions/jwks/{project}");
    let fetches_before = s.stytch_calls("GET", &path).await;
    let started = Instant::now();
    for i in 0..100 {
        let t = forge_with_kid(&claims, &format!("kid-{i}"));
        assert_eq!(s.get(Consumer, "/content/anything", Some(&t), &[]).await.status, 401);
    }
    let secs = started.elapsed().as_secs_f64();
    let fetches = s.stytch_calls("GET", &path).await - fetches_before;
    println!("unknown-kid flood: 100 tokens in {secs:.2} s caused {fetches} JWKS fetches");
    assert!(fetches as f64 <= 1.0 + secs / 2.0, "{fetches} JWKS fetches in {secs:.2} s");
}

fn forge_with_kid(claims: &Value, kid: &str) -> String {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(include_bytes!("../../fixtures/foreign-rsa.pem")).unwrap();
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    h.kid = Some(kid.into());
    jsonwebtoken::encode(&h, claims, &key).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn sanity_failures_are_5xx_and_nothing_is_written() {
    // The faults hit only queries naming this test's rule (`match`): the delivery's own query,
    // and a gated read of a slug equal to the rule id.
    let _stack = shared().await;
    let s = stack();
    let (org, id, writes) = synced_then_hand_edited(Some(json!({"region": "us"}))).await;
    let query = format!("/v2025-02-19/data/query/{}", s.var("SANITY_DATASET"));
    let body = event(&id, "r", "update", Value::Null);

    s.sanity_fault("POST", &query, json!({"status": 500, "match": id}), 1000).await;
    let r = s.deliver_signed("publish-sync", B2b, &body).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body["error"], "cms_unavailable");
    let r = s.get(B2b, &format!("/content/{id}"), None, &[]).await;
    assert_eq!(r.status, 503, "gated reads fail closed: {}", r.body);
    s.clear_sanity_faults(&id).await;

    s.sanity_fault("POST", &query, json!({"hang_ms": 4000, "match": id}), 1000).await;
    let r = s.deliver_signed("publish-sync", B2b, &body).await;
    assert_eq!(r.status, 504, "{}", r.body);
    s.clear_sanity_faults(&id).await;
    assert_eq!(s.org_writes(&org).await, writes, "nothing written while Sanity failed");

    // Recovery converges.
    let r = s.deliver_signed("publish-sync", B2b, &body).await;
    assert_eq!(r.body["outcome"], "synced", "{}", r.body);
    assert_eq!(s.org_metadata(&org).await["sanity_access"]["region"], "us");
}

#[tokio::test(flavor = "multi_thread")]
async fn jwks_unreachable_cold_container_is_503_warm_container_keeps_working() {
    let _stack = shared().await;
    let s = stack();
    let user = s.create_user().await;
    let token = s.mint(json!({"user_id": user})).await;
    let project = s.var("CONSUMER_PROJECT");
    let path = format!("/v1/sessions/jwks/{project}");
    let read = url_event("GET", "/content/nothing-here", "", &[("authorization", &format!("Bearer {token}"))], None);

    // Warm container: keys loaded at init; then the JWKS goes down.
    let (warm, _w) = container("gated-content", Consumer, &[]).await;
    let r = invoke(&warm, read.clone()).await;
    assert_eq!(r["statusCode"], 404, "{r}");
    s.stytch_fault("GET", &path, json!({"status": 503}), 100_000).await;
    let r = invoke(&warm, read.clone()).await;
    assert_eq!(r["statusCode"], 404, "cached keys keep verifying: {r}");

    // Cold container while the JWKS is down: cannot verify anyone → 503, not 401.
    let (cold, _c) = container("gated-content", Consumer, &[]).await;
    let r = invoke(&cold, read.clone()).await;
    assert_eq!(r["statusCode"], 503, "{r}");
    // Anonymous reads need no keys.
    let r = invoke(&cold, url_event("GET", "/content/nothing-here", "", &[], None)).await;
    assert_eq!(r["statusCode"], 404, "{r}");
    s.clear_stytch_fault("GET", &path).await;
    // Recovery: once the JWKS answers again (refetch after JWKS_REFETCH_MIN_S = 2 s), sessions verify.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = invoke(&cold, read).await;
    assert_eq!(r["statusCode"], 404, "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_secret_rotation_accepts_both_then_only_the_new_one() {
    let _stack = shared().await;
    let s = stack();
    let n = uid();
    let sanity = |current: &str, previous: Option<&str>| {
        let mut v = json!({"project_id": s.var("SANITY_PROJECT"), "dataset": s.var("SANITY_DATASET"), "read_token": "sk-local-read", "webhook_secret": current});
        if let Some(p) = previous {
            v["webhook_secret_previous"] = p.into();
        }
        v.to_string()
    };
    let name = format!("rotation/{n}");
    let arn = moto(s, "CreateSecret", json!({"Name": name, "SecretString": sanity("whsec_old", None)})).await["ARN"].as_str().unwrap().to_string();
    let (api, _p) = container("publish-sync", Consumer, &[("SANITY_SECRET_ARN", &arn), ("SECRETS_MAX_AGE_S", "1"), ("SECRETS_REREAD_MIN_S", "1")]).await;
    let body = json!({"_id": "drafts.rotation", "_type": "accessRule", "before": null}).to_string();
    let deliver = |secret: &str| url_event("POST", "/", "", &[("sanity-webhook-signature", &gatehouse::cms::signature::header(secret, now_ms(), body.as_bytes()))], Some(&body));
    assert_eq!(invoke(&api, deliver("whsec_old")).await["statusCode"], 200);
    assert_eq!(invoke(&api, deliver("whsec_new")).await["statusCode"], 401);

    // Rotation starts: new secret current, old one previous. A new signature triggers one re-read.
    moto(s, "PutSecretValue", json!({"SecretId": arn, "SecretString": sanity("whsec_new", Some("whsec_old"))})).await;
    tokio::time::sleep(Duration::from_millis(1100)).await; // past SECRETS_REREAD_MIN_S
    assert_eq!(invoke(&api, deliver("whsec_new")).await["statusCode"], 200, "new secret accepted after a forced re-read");
    assert_eq!(invoke(&api, deliver("whsec_old")).await["statusCode"], 200, "old secret still accepted during rotation");

    // Rotation ends: previous removed; within SECRETS_MAX_AGE_S the old signature stops working.
    moto(s, "PutSecretValue", json!({"SecretId": arn, "SecretString": sanity("whsec_new", None)})).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(invoke(&api, deliver("whsec_new")).await["statusCode"], 200);
    assert_eq!(invoke(&api, deliver("whsec_old")).await["statusCode"], 401);
}

async fn moto(s: &Stack, action: &str, body: Value) -> Value {
    s.http
        .post(format!("{}/", s.var("MOTO_URL")))
        .header("x-amz-target", format!("secretsmanager.{action}"))
        .header("content-type", "application/x-amz-json-1.1")
        .header("authorization", "AWS4-HMAC-SHA256 Credential=test/20261123/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=x")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_utf8_body_is_verified_then_refused_as_malformed() {
    let _stack = shared().await;
    let s = stack();
    let (api, _p) = container("publish-sync", Consumer, &[]).await;
    // A function URL hands non-text bodies over base64-encoded; the signature covers the bytes.
    let bytes: Vec<u8> = b"{\"_id\":\"\xff\xfe\"}".to_vec();
    let mut ev = url_event("POST", "/", "", &[("sanity-webhook-signature", &gatehouse::cms::signature::header(s.var("WEBHOOK_SECRET"), now_ms(), &bytes))], None);
    ev["body"] = base64::engine::general_purpose::STANDARD.encode(&bytes).into();
    ev["isBase64Encoded"] = true.into();
    let r = invoke(&api, ev.clone()).await;
    assert_eq!(r["statusCode"], 400, "{r}");
    // The same bytes with a forged signature never get that far.
    ev["headers"]["sanity-webhook-signature"] = gatehouse::cms::signature::header("forged", now_ms(), &bytes).into();
    assert_eq!(invoke(&api, ev).await["statusCode"], 401);
}

/// Resident memory (VmRSS, kB) of every running process whose name is `name`.
fn rss_kb(name: &str) -> Vec<u64> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let status = std::fs::read_to_string(e.path().join("status")).unwrap_or_default();
        if status.lines().next().is_some_and(|l| l.split_whitespace().nth(1) == Some(name))
            && let Some(kb) = status.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()) {
                out.push(kb);
            }
    }
    out
}

/// Sustained concurrent gated reads and webhook deliveries: zero 5xx from gatehouse; throughput
/// and memory are printed (measured, not asserted).
#[tokio::test(flavor = "multi_thread")]
async fn load_on_loopback_has_no_server_errors() {
    let _stack = shared().await;
    ensure_plans().await;
    let s = stack();
    let org = s.create_org(json!({})).await;
    let member = s.create_member(&org, &[]).await;
    let id = format!("rule-{}", uid());
    let tag = uid();
    s.mutate(json!([
        {"create": rule(&id, Some(&org), None, json!({}))},
        {"create": {"_id": format!("load-{tag}"), "_type": "article", "slug": {"current": format!("load-{tag}")}, "requiredPlans": ["pro"]}}
    ]))
    .await;
    s.idle().await;
    let token = s.mint(json!({"organization_id": org, "member_id": member, "ttl_s": 600})).await;
    let rss_before = (rss_kb("gated-content"), rss_kb("publish-sync"));
    let secs: u64 = std::env::var("LOAD_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let until = Instant::now() + Duration::from_secs(secs);
    let mut workers = Vec::new();
    for w in 0..16 {
        let (token, tag, id) = (token.clone(), tag.clone(), id.clone());
        workers.push(tokio::spawn(async move {
            let s = stack();
            let (mut ok, mut errors, mut server_errors) = (0u64, 0u64, Vec::new());
            while Instant::now() < until {
                let status = if w < 12 {
                    s.get(B2b, &format!("/content/load-{tag}"), Some(&token), &[]).await.status
                } else {
                    s.deliver_signed("publish-sync", B2b, &event(&id, "r", "update", Value::Null)).await.status
                };
                match status {
                    200 => ok += 1,
                    s if s >= 500 => server_errors.push(s),
                    _ => errors += 1,
                }
            }
            (ok, errors, server_errors)
        }));
    }
    let (mut ok, mut errors, mut server) = (0, 0, Vec::new());
    for w in workers {
        let (o, e, s5) = w.await.unwrap();
        ok += o;
        errors += e;
        server.extend(s5);
    }
    let rss_after = (rss_kb("gated-content"), rss_kb("publish-sync"));
    println!(
        "load: {secs} s, 16 clients: {ok} ok ({:.0}/s), {errors} 4xx, {} 5xx; RSS kB gated-content {:?} -> {:?}, publish-sync {:?} -> {:?}",
        ok as f64 / secs as f64,
        server.len(),
        rss_before.0,
        rss_after.0,
        rss_before.1,
        rss_after.1
    );
    assert!(server.is_empty(), "gatehouse answered 5xx under load: {server:?}");
    assert_eq!(errors, 0);
}
