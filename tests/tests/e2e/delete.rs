//! delete-cleanup through its function URL, with the Sanity emulator's real deliveries.

use serde_json::{Value, json};

use crate::common::*;

async fn synced(org: &str) -> String {
    ensure_plans().await;
    let s = stack();
    let id = format!("rule-{}", uid());
    s.mutate(json!([{ "create": rule(&id, Some(org), None, json!({})) }])).await;
    s.idle().await;
    assert_eq!(s.org_metadata(org).await["sanity_access"]["source"]["documentId"], id);
    id
}

fn outcome(delivery: &Value) -> Value {
    serde_json::from_str::<Value>(delivery["response"]["body"].as_str().unwrap()).unwrap()["outcome"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_clears_and_keeps_other_keys_and_a_second_delivery_is_already_clear() {
    let _stack = shared().await;
    let s = stack();
    let org = s.create_org(json!({"crm": "x"})).await;
    let id = synced(&org).await;
    s.mutate(json!([{ "delete": { "id": id } }])).await;
    s.idle().await;
    let d = s.deliveries(&id).await;
    let del = d.iter().rev().find(|x| x["webhookName"] == "gatehouse-delete-cleanup").unwrap();
    assert_eq!(del["response"]["status"], 200);
    assert_eq!(outcome(del), "cleared");
    assert_eq!(s.org_metadata(&org).await, json!({"crm": "x"}));
    assert_eq!(s.org_writes(&org).await, 2);

    let again = s.redeliver("delete-cleanup", del["seq"].as_u64().unwrap()).await;
    assert_eq!(outcome(&again), "already_clear");
    assert_eq!(s.org_writes(&org).await, 2, "second delete must not write");
}

#[tokio::test(flavor = "multi_thread")]
async fn unpublish_is_a_delete() {
    let _stack = shared().await;
    let s = stack();
    let org = s.create_org(json!({})).await;
    let id = synced(&org).await;
    // Unpublish: the draft stays, the published document goes.
    s.mutate(json!([
        { "create": rule(&format!("drafts.{id}"), Some(&org), None, json!({"region": "us"})) },
        { "delete": { "id": id } }
    ]))
    .await;
    s.idle().await;
    assert!(s.org_metadata(&org).await.get("sanity_access").is_none_or(Value::is_null));
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_rule_that_does_not_own_the_org_is_not_owned() {
    let _stack = shared().await;
    let s = stack();
    let org = s.create_org(json!({})).await;
    let owner = synced(&org).await;
    let other = format!("rule-{}", uid());
    s.mutate(json!([{ "create": rule(&other, Some(&org), None, json!({})) }])).await; // 409 conflict
    s.mutate(json!([{ "delete": { "id": other } }])).await;
    s.idle().await;
    let del = s.deliveries(&other).await.into_iter().rev().find(|x| x["webhookName"] == "gatehouse-delete-cleanup").unwrap();
    assert_eq!(outcome(&del), "not_owned");
    assert_eq!(s.org_metadata(&org).await["sanity_access"]["source"]["documentId"], owner);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_delivered_after_recreation_is_stale() {
    let _stack = shared().await;
    let s = stack();
    let org = s.create_org(json!({})).await;
    let id = synced(&org).await;
    let writes = s.org_writes(&org).await;
    // Sanity delivers an old delete while the rule is published: nothing may be cleared.
    let r = s.deliver_signed("delete-cleanup", B2b, &event(&id, "old", "delete", json!({"stytchOrganizationId": org}))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["outcome"], "stale");
    assert_eq!(s.org_writes(&org).await, writes);
    assert_eq!(s.org_metadata(&org).await["sanity_access"]["source"]["documentId"], id);
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_and_delete_replayed_in_reverse_order_match_the_content_lake() {
    let _stack = shared().await;
    let s = stack();
    let org = s.create_org(json!({})).await;
    let id = synced(&org).await;
    s.mutate(json!([{ "patch": { "id": id, "set": {"region": "us"} } }])).await;
    s.mutate(json!([{ "delete": { "id": id } }])).await;
    s.idle().await;
    // Replay every delivery newest first: a stale publish must not resurrect the deleted rule.
    let mut d = s.deliveries(&id).await;
    d.reverse();
    for x in &d {
        s.redeliver(x["webhookId"].as_str().unwrap(), x["seq"].as_u64().unwrap()).await;
    }
    assert!(s.org_metadata(&org).await.get("sanity_access").is_none_or(Value::is_null));

    // And the other way: the rule exists; deliveries of its history in any order end with its
    // current state.
    let org2 = s.create_org(json!({})).await;
    let id2 = synced(&org2).await;
    s.mutate(json!([{ "patch": { "id": id2, "set": {"region": "apac"} } }])).await;
    s.idle().await;
    let mut d = s.deliveries(&id2).await;
    d.reverse();
    for x in &d {
        s.redeliver(x["webhookId"].as_str().unwrap(), x["seq"].as_u64().unwrap()).await;
    }
    assert_eq!(s.org_metadata(&org2).await["sanity_access"]["region"], "apac");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_without_before_is_400_and_forged_deletes_are_401() {
    let _stack = shared().await;
    let s = stack();
    let org = s.create_org(json!({})).await;
    let id = synced(&org).await;
    s.mutate(json!([{ "delete": { "id": id } }])).await; // Real delivery clears it...
    s.idle().await;
    let id2 = synced(&org).await; // ...and a new rule takes over.
    let writes = s.org_writes(&org).await;
    let mut no_before = event(&id2, "x", "delete", json!(null));
    no_before.as_object_mut().unwrap().remove("before");
    let r = s.deliver_signed("delete-cleanup", B2b, &no_before).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["reason"].as_str().unwrap().contains("before()"));
    let forged = event(&id2, "x", "delete", json!({"stytchOrganizationId": org})).to_string();
    assert_eq!(s.deliver("delete-cleanup", B2b, &forged, None).await.status, 401);
    let sig = gatehouse::cms::signature::header("not-the-secret", now_ms(), forged.as_bytes());
    assert_eq!(s.deliver("delete-cleanup", B2b, &forged, Some(&sig)).await.status, 401);
    assert_eq!(s.org_writes(&org).await, writes);
}

#[tokio::test(flavor = "multi_thread")]
async fn stytch_500_on_delete_is_503_then_redelivery_converges() {
    let _stack = shared().await;
    let s = stack();
    let org = s.create_org(json!({"keep": 1})).await;
    let id = synced(&org).await;
    let path = org_path(&org);
    s.stytch_fault("PUT", &path, json!({"status": 500}), 1000).await;
    s.mutate(json!([{ "delete": { "id": id } }])).await;
    s.idle().await;
    let del: Vec<Value> = s.deliveries(&id).await.into_iter().filter(|x| x["webhookName"] == "gatehouse-delete-cleanup").collect();
    assert_eq!(del.len(), 3);
    assert!(del.iter().all(|x| x["response"]["status"] == 503));
    assert_eq!(s.org_metadata(&org).await["sanity_access"]["source"]["documentId"], id, "unchanged while Stytch fails");
    s.clear_stytch_fault("PUT", &path).await;
    let again = s.redeliver("delete-cleanup", del[0]["seq"].as_u64().unwrap()).await;
    assert_eq!(outcome(&again), "cleared");
    assert_eq!(s.org_metadata(&org).await, json!({"keep": 1}));
}
