//! publish-sync through its function URL.

use serde_json::{Value, json};

use crate::common::*;

async fn published_rule(id: &str, org: &str, extra: Value) -> Value {
    ensure_plans().await;
    let s = stack();
    let out = s.mutate(json!([{ "createOrReplace": rule(id, Some(org), None, extra) }])).await;
    s.idle().await;
    out["results"][0]["document"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_writes_exact_metadata_and_keeps_other_keys() {
    let _stack = shared().await;
    let s = stack();
    let org = s.create_org(json!({"billing": {"tier": 3}, "crm_id": "C-1"})).await;
    let id = format!("rule-{}", uid());
    let doc = published_rule(&id, &org, json!({})).await;

    let meta = s.org_metadata(&org).await;
    let access = &meta["sanity_access"];
    assert_eq!(access["plan"], "pro");
    assert_eq!(access["planTitle"], "Pro");
    assert_eq!(access["region"], "eu");
    assert_eq!(access["allowedContentTypes"], json!(["article", "report"]));
    assert_eq!(access["gatedRoutes"], json!(["/reports/q3"]));
    assert_eq!(access["requiresMfa"], false);
    assert_eq!(access["source"], json!({"documentId": id, "rev": doc["_rev"]}));
    let synced_at = access["syncedAt"].as_str().unwrap();
    assert!(synced_at.len() == 24 && synced_at.ends_with('Z'), "{synced_at}");
    assert_eq!(access.as_object().unwrap().len(), 8, "{access}");
    // Other keys untouched.
    assert_eq!(meta["billing"], json!({"tier": 3}));
    assert_eq!(meta["crm_id"], "C-1");

    let d = s.deliveries(&id).await;
    let last = d.last().unwrap();
    assert_eq!(last["response"]["status"], 200);
    let body: Value = serde_json::from_str(last["response"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["outcome"], "synced");
    assert!(body["request_id"].as_str().is_some_and(|r| !r.is_empty()));
}

#[tokio::test(flavor = "multi_thread")]
async fn update_rewrites_and_repoint_clears_the_old_org() {
    let _stack = shared().await;
    let s = stack();
    let (a, b) = (s.create_org(json!({"keep": 1})).await, s.create_org(json!({})).await);
    let id = format!("rule-{}", uid());
    published_rule(&id, &a, json!({})).await;
    assert_eq!(s.org_metadata(&a).await["sanity_access"]["region"], "eu");

    s.mutate(json!([{ "patch": { "id": id, "set": { "region": "us", "requiresMfa": true } } }])).await;
    s.idle().await;
    let access = s.org_metadata(&a).await["sanity_access"].clone();
    assert_eq!(access["region"], "us");
    assert_eq!(access["requiresMfa"], true);

    s.mutate(json!([{ "patch": { "id": id, "set": { "stytchOrganizationId": b } } }])).await;
    s.idle().await;
    let meta_a = s.org_metadata(&a).await;
    assert!(meta_a.get("sanity_access").is_none_or(Value::is_null), "A still has {meta_a}");
    assert_eq!(meta_a["keep"], 1);
    assert_eq!(s.org_metadata(&b).await["sanity_access"]["source"]["documentId"], id);
    let last = s.deliveries(&id).await.pop().unwrap();
    let body: Value = serde_json::from_str(last["response"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["cleared_previous"], a.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn second_rule_on_the_same_org_is_a_conflict_and_changes_nothing() {
    let _stack = shared().await;
    let s = stack();
    let org = s.create_org(json!({})).await;
    let first = format!("rule-{}", uid());
    published_rule(&first, &org, json!({})).await;
    let before = s.org_metadata(&org).await;
    let writes = s.org_writes(&org).await;

    let second = format!("rule-{}", uid());
    published_rule(&second, &org, json!({"region": "us"})).await;
    let d = s.deliveries(&second).await;
    let last = d.last().unwrap();
    assert_eq!(last["response"]["status"], 409);
    let body: Value = serde_json::from_str(last["response"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["outcome"], "conflict");
    assert_eq!(body["owner"], first.as_str());
    assert_eq!(s.org_metadata(&org).await, before);
    assert_eq!(s.org_writes(&org).await, writes, "a conflict must not write");
}

#[tokio::test(flavor = "multi_thread")]
async fn drafts_and_unmapped_rules_are_skipped_without_writes() {
    let _stack = shared().await;
    ensure_plans().await;
    let s = stack();
    let org = s.create_org(json!({})).await;
    let id = format!("rule-{}", uid());
    // The emulator does not deliver drafts (like Sanity); a draft id that arrives anyway is skipped.
    s.mutate(json!([{ "create": rule(&format!("drafts.{id}"), Some(&org), None, json!({})) }])).await;
    s.idle().await;
    assert!(s.deliveries(&format!("drafts.{id}")).await.is_empty());
    for draft in [format!("drafts.{id}"), format!("versions.r1.{id}")] {
        let r = s.deliver_signed("publish-sync", B2b, &event(&draft, "x", "create", Value::Null)).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["outcome"], "skipped");
        assert!(r.body["reason"].as_str().unwrap().contains("draft"));
    }
    // A rule without any target.
    let unmapped = format!("rule-{}", uid());
    s.mutate(json!([{ "create": rule(&unmapped, None, None, json!({})) }])).await;
    s.idle().await;
    let last = s.deliveries(&unmapped).await.pop().unwrap();
    assert_eq!(last["response"]["status"], 200);
    assert!(last["response"]["body"].as_str().unwrap().contains("skipped"));
    assert_eq!(s.org_writes(&org).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn unsigned_forged_and_stale_deliveries_are_401_with_zero_writes() {
    let _stack = shared().await;
    let s = stack();
    let (org, id, writes) = synced_then_hand_edited(None).await;
    let body = event(&id, "r", "update", json!({"stytchOrganizationId": org})).to_string();
    let now = now_ms();
    let forged = [
        None,
        Some(String::new()),
        Some("garbage".into()),
        Some(gatehouse::cms::signature::header("another-secret", now, body.as_bytes())),
        // Outside the ±300 s window with room for this test's own run time (a loaded machine).
        Some(gatehouse::cms::signature::header(s.var("WEBHOOK_SECRET"), now - 330_000, body.as_bytes())),
        Some(gatehouse::cms::signature::header(s.var("WEBHOOK_SECRET"), now + 330_000, body.as_bytes())),
        Some(gatehouse::cms::signature::header(s.var("WEBHOOK_SECRET"), now / 1000, body.as_bytes())),
    ];
    for (i, sig) in forged.iter().enumerate() {
        for f in ["publish-sync", "delete-cleanup"] {
            let r = s.deliver(f, B2b, &body, sig.as_deref()).await;
            assert_eq!(r.status, 401, "case {i} on {f}: {}", r.body);
            assert_eq!(r.body["error"], "invalid_signature");
            assert!(r.body["request_id"].is_string());
        }
    }
    // A valid signature over a body changed by one byte.
    let sig = s.sign(&body);
    let tampered = body.replacen("update", "updatf", 1);
    assert_eq!(s.deliver("publish-sync", B2b, &tampered, Some(&sig)).await.status, 401);
    assert_eq!(s.org_writes(&org).await, writes);
    assert_eq!(s.org_metadata(&org).await["sanity_access"]["region"], "hand-edited");
    // Control: the same body, correctly signed, is accepted and repairs the hand edit.
    assert_eq!(s.deliver("publish-sync", B2b, &body, Some(&sig)).await.body["outcome"], "synced");
    assert_eq!(s.org_metadata(&org).await["sanity_access"]["region"], "eu");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_bodies_get_400_413_422() {
    let _stack = shared().await;
    let s = stack();
    let not_json = "this is not json";
    let r = s.deliver("publish-sync", B2b, not_json, Some(&s.sign(not_json))).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let no_id = r#"{"_type":"accessRule"}"#;
    assert_eq!(s.deliver("publish-sync", B2b, no_id, Some(&s.sign(no_id))).await.status, 400);
    let other_type = json!({"_id": "post-1", "_type": "post", "before": null});
    let r = s.deliver_signed("publish-sync", B2b, &other_type).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["error"], "unsupported_type");
    let other_dataset = json!({"_id": "r-1", "_type": "accessRule", "before": null, "dataset": "staging"});
    assert_eq!(s.deliver_signed("publish-sync", B2b, &other_dataset).await.status, 422);
    let big = format!(r#"{{"_id":"r","_type":"accessRule","pad":"{}"}}"#, "x".repeat(1024 * 1024));
    let r = s.deliver("publish-sync", B2b, &big, Some(&s.sign(&big))).await;
    assert_eq!(r.status, 413);
    let r = s.request(reqwest::Method::GET, format!("{}/", s.function_url("publish-sync", B2b)), &[]).await;
    assert_eq!(r.status, 405);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_rules_are_422_and_never_written() {
    let _stack = shared().await;
    let s = stack();
    let org = s.create_org(json!({})).await;
    ensure_plans().await;
    let cases = [
        ("bad org id", rule(&format!("rule-{}", uid()), Some("org-123"), None, json!({}))),
        ("route not absolute", rule(&format!("rule-{}", uid()), Some(&org), None, json!({"gatedRoutes": [{"_key": "a", "path": "reports"}]}))),
        ("live id in test project", rule(&format!("rule-{}", uid()), Some("organization-live-07971b06-ac8b-4cdb-9c15-63b17e653931"), None, json!({}))),
        ("consumer id in B2B project", rule(&format!("rule-{}", uid()), None, Some("user-test-07971b06-ac8b-4cdb-9c15-63b17e653931"), json!({}))),
        ("org that does not exist", rule(&format!("rule-{}", uid()), Some("organization-test-00000000-0000-4000-8000-000000000000"), None, json!({}))),
        ("metadata too large", rule(&format!("rule-{}", uid()), Some(&org), None, json!({"gatedRoutes": (0..40).map(|i| json!({"_key": format!("k{i}"), "path": format!("/a/very/long/route/that/takes/space/{i:03}/{}", "x".repeat(60))})).collect::<Vec<_>>()}))),
    ];
    for (why, doc) in cases {
        let id = doc["_id"].as_str().unwrap().to_string();
        s.mutate(json!([{ "create": doc }])).await;
        s.idle().await;
        let last = s.deliveries(&id).await.pop().unwrap_or_else(|| panic!("{why}: no delivery"));
        assert_eq!(last["response"]["status"], 422, "{why}: {}", last["response"]);
    }
    assert_eq!(s.org_writes(&org).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn consumer_user_path() {
    let _stack = shared().await;
    ensure_plans().await;
    let s = stack();
    let user = s.create_user().await;
    let id = format!("rule-{}", uid());
    s.mutate(json!([{ "create": rule(&id, None, Some(&user), json!({"region": "us"})) }])).await;
    s.idle().await;
    // The stack's webhooks point at the B2B functions; the consumer project's functions get the
    // same delivery by hand.
    let r = s.deliver_signed("publish-sync", Consumer, &event(&id, "x", "create", Value::Null)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["outcome"], "synced");
    let meta = s.user_metadata(&user).await;
    assert_eq!(meta["sanity_access"]["region"], "us");
    assert_eq!(meta["sanity_access"]["source"]["documentId"], id);
    // And delete-cleanup on the consumer side.
    s.mutate(json!([{ "delete": { "id": id } }])).await;
    let r = s.deliver_signed("delete-cleanup", Consumer, &event(&id, "x", "delete", json!({"stytchUserId": user}))).await;
    assert_eq!(r.body["outcome"], "cleared", "{}", r.body);
    assert!(s.user_metadata(&user).await.get("sanity_access").is_none_or(Value::is_null));
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_delivery_writes_once() {
    let _stack = shared().await;
    let s = stack();
    let org = s.create_org(json!({})).await;
    let id = format!("rule-{}", uid());
    published_rule(&id, &org, json!({})).await;
    assert_eq!(s.org_writes(&org).await, 1);
    let first = s.deliveries(&id).await.pop().unwrap();
    let again = s.redeliver("publish-sync", first["seq"].as_u64().unwrap()).await;
    assert_eq!(again["response"]["status"], 200);
    assert!(again["response"]["body"].as_str().unwrap().contains("\"unchanged\""));
    assert_eq!(s.org_writes(&org).await, 1, "a repeated delivery must not write again");
}

#[tokio::test(flavor = "multi_thread")]
async fn stytch_429_twice_then_ok_is_synced() {
    let _stack = shared().await;
    ensure_plans().await;
    let s = stack();
    let org = s.create_org(json!({})).await;
    let id = format!("rule-{}", uid());
    s.stytch_fault("PUT", &org_path(&org), json!({"status": 429}), 2).await;
    s.mutate(json!([{ "create": rule(&id, Some(&org), None, json!({})) }])).await;
    s.idle().await;
    let d = s.deliveries(&id).await;
    assert_eq!(d.len(), 1, "retried inside the function, not by Sanity");
    assert_eq!(d[0]["response"]["status"], 200);
    assert_eq!(s.org_writes(&org).await, 3);
    assert_eq!(s.org_metadata(&org).await["sanity_access"]["source"]["documentId"], id);
}

#[tokio::test(flavor = "multi_thread")]
async fn stytch_down_is_503_unchanged_then_redelivery_converges() {
    let _stack = shared().await;
    ensure_plans().await;
    let s = stack();
    let org = s.create_org(json!({"keep": true})).await;
    let path = org_path(&org);
    let id = format!("rule-{}", uid());
    s.stytch_fault("PUT", &path, json!({"status": 500}), 1000).await;
    s.mutate(json!([{ "create": rule(&id, Some(&org), None, json!({})) }])).await;
    s.idle().await;
    let d = s.deliveries(&id).await;
    assert_eq!(d.len(), 3, "Sanity retried twice after the first failure");
    assert!(d.iter().all(|x| x["response"]["status"] == 503), "{d:?}");
    assert_eq!(s.org_metadata(&org).await, json!({"keep": true}));

    // A hang past the timeout is a 5xx too (504), and still nothing is written.
    s.clear_stytch_fault("PUT", &path).await;
    s.stytch_fault("GET", &path, json!({"hang_ms": 4000}), 1000).await;
    let body = event(&id, "x", "create", Value::Null);
    let r = s.deliver_signed("publish-sync", B2b, &body).await;
    assert_eq!(r.status, 504, "{}", r.body);
    assert_eq!(s.org_metadata(&org).await, json!({"keep": true}));

    // Recovery: Sanity's redelivery of the original event converges.
    s.clear_stytch_fault("GET", &path).await;
    let again = s.redeliver("publish-sync", d[0]["seq"].as_u64().unwrap()).await;
    assert_eq!(again["response"]["status"], 200, "{again}");
    let meta = s.org_metadata(&org).await;
    assert_eq!(meta["sanity_access"]["source"]["documentId"], id);
    assert_eq!(meta["keep"], true);
}
