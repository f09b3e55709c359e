//! reconcile: drift the webhooks could not repair (deliveries lost while the function URL was
//! down, hand edits), repaired by one run of the real function binary invoked through the local
//! Lambda Runtime API. Every test here runs the reconciler over the whole dataset, so each holds
//! `exclusive()`: no other test's deliveries are in flight meanwhile.

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::common::*;

pub(crate) fn details(report: &Value, action: &str) -> Vec<(String, String)> {
    report["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["action"] == action)
        .map(|d| (d["documentId"].as_str().unwrap_or("").to_string(), d["target"].as_str().unwrap_or("").to_string()))
        .collect()
}

fn has(report: &Value, action: &str, doc: &str, target: &str) -> bool {
    details(report, action).iter().any(|(d, t)| d == doc && t == target)
}

async fn run_ok(d: Deployment, input: Value) -> Value {
    let r = stack().reconcile(d, input).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// Runs until a run finishes without a cursor; returns the reports.
pub(crate) async fn run_to_end(input: Value) -> Vec<Value> {
    let mut reports = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut i = input.clone();
        if let Some(c) = &cursor {
            i["cursor"] = c.clone().into();
        }
        let r = run_ok(B2b, i).await;
        cursor = r["cursor"].as_str().map(String::from);
        reports.push(r);
        if cursor.is_none() {
            return reports;
        }
    }
    panic!("reconcile did not finish in 100 resumed runs");
}

fn counts(r: &Value) -> (u64, u64, u64, u64) {
    let n = |k: &str| r[k].as_u64().unwrap();
    (n("changed"), n("cleared"), n("conflicts"), n("errors"))
}

#[tokio::test]
async fn drift_is_reported_by_a_dry_run_and_repaired_by_one_run() {
    let _stack = exclusive().await;
    ensure_plans().await;
    let s = stack();
    let billing = json!({"tier": "gold", "seats": 12});
    let mut orgs = Vec::new();
    for _ in 0..8 {
        orgs.push(s.create_org(json!({"billing": billing})).await);
    }
    let [a, b, c, d1, d2, e, f1, f2] = <[String; 8]>::try_from(orgs.clone()).unwrap();
    let id = |n: &str| format!("rule-rec-{n}-{}", uid());
    let (ra, rb, rc, rd, re) = (id("a"), id("b"), id("c"), id("d"), id("e"));
    // rf moves from f1 to f2 while rg (sorted before it) takes f1: rg's repair must free f1 first.
    let (rf, rg) = (id("f"), id("0g"));
    let user = s.create_user().await;
    let ru = id("u");

    // In sync through the webhooks: a, b, c, d1, the consumer user.
    s.mutate(json!([
        {"create": rule(&ra, Some(&a), None, json!({}))},
        {"create": rule(&rb, Some(&b), None, json!({}))},
        {"create": rule(&rc, Some(&c), None, json!({}))},
        {"create": rule(&rd, Some(&d1), None, json!({}))},
        {"create": rule(&ru, None, Some(&user), json!({}))},
        {"create": rule(&rf, Some(&f1), None, json!({}))},
    ]))
    .await;
    s.idle().await;
    // The consumer rule reaches its own deployment's publish-sync (the test stack's webhooks
    // point at the B2B one).
    let ev = event(&ru, "r1", "create", Value::Null);
    assert_eq!(s.deliver_signed("publish-sync", Consumer, &ev).await.status, 200);
    for o in [&a, &b, &c, &d1] {
        assert!(s.org_metadata(o).await["sanity_access"].is_object(), "{o} not synced");
    }
    assert!(s.user_metadata(&user).await["sanity_access"].is_object());

    // Drift: a hand edit on b; with the function URL "down": c deleted, d re-pointed, e published,
    // the consumer rule deleted.
    let mut access = s.org_metadata(&b).await["sanity_access"].clone();
    access["region"] = "hand-edited".into();
    s.set_org_metadata(&b, json!({"sanity_access": access})).await;
    {
        let _off = s.webhooks_off().await;
        s.mutate(json!([
            {"delete": {"id": rc}},
            {"patch": {"id": rd, "set": {"stytchOrganizationId": d2}}},
            {"create": rule(&re, Some(&e), None, json!({}))},
            {"delete": {"id": ru}},
            {"patch": {"id": rf, "set": {"stytchOrganizationId": f2}}},
            {"create": rule(&rg, Some(&f1), None, json!({}))},
        ]))
        .await;
        s.idle().await;
    }
    assert_eq!(s.deliveries(&rc).await.len(), 1, "only the create was delivered");

    // Dry run: reports every repair, writes nothing.
    let w0 = s.stytch_writes().await;
    let dry = run_ok(B2b, json!({"dryRun": true})).await;
    assert_eq!(s.stytch_writes().await, w0, "dry run wrote: {dry}");
    assert_eq!(dry["dryRun"], true);
    for (action, doc, target) in [
        ("write", &rb, &b),
        ("clear", &rc, &c),
        ("write", &rd, &d2),
        ("clear", &rd, &d1),
        ("write", &re, &e),
        ("write", &rf, &f2),
        ("clear", &rf, &f1),
        ("write", &rg, &f1),
    ] {
        assert!(has(&dry, action, doc, target), "dry run misses {action} {doc} {target}: {dry}");
    }
    assert!(!details(&dry, "write").iter().any(|(d, _)| d == &ra), "{dry}");
    let dry_consumer = run_ok(Consumer, json!({"dryRun": true})).await;
    assert!(has(&dry_consumer, "clear", &ru, &user), "{dry_consumer}");

    // One real run repairs it all, exactly as the dry run said.
    let real = run_ok(B2b, json!({"dryRun": false})).await;
    assert_eq!(counts(&real), counts(&dry), "dry {dry}\nreal {real}");
    assert!(real["cursor"].is_null());
    let ns = |m: &Value| m["sanity_access"].clone();
    assert_eq!(ns(&s.org_metadata(&b).await)["region"], "eu");
    assert!(ns(&s.org_metadata(&c).await).is_null(), "orphan of the deleted rule not cleared");
    assert!(ns(&s.org_metadata(&d1).await).is_null(), "old target of the re-pointed rule not cleared");
    assert_eq!(ns(&s.org_metadata(&d2).await)["source"]["documentId"], rd.as_str());
    assert_eq!(ns(&s.org_metadata(&e).await)["source"]["documentId"], re.as_str());
    assert_eq!(ns(&s.org_metadata(&a).await)["source"]["documentId"], ra.as_str());
    assert_eq!(ns(&s.org_metadata(&f1).await)["source"]["documentId"], rg.as_str(), "{real}");
    assert_eq!(ns(&s.org_metadata(&f2).await)["source"]["documentId"], rf.as_str());
    assert_eq!(real["conflicts"], dry["conflicts"], "no conflict from a target being handed over: {real}");
    for o in &orgs {
        assert_eq!(s.org_metadata(o).await["billing"], billing, "{o}: another key was touched");
    }
    let real_consumer = run_ok(Consumer, json!({})).await;
    assert!(has(&real_consumer, "clear", &ru, &user), "{real_consumer}");
    assert!(s.user_metadata(&user).await["sanity_access"].is_null());

    // A second run finds nothing to do and writes nothing.
    let w1 = s.stytch_writes().await;
    let again = run_ok(B2b, json!({})).await;
    let again_consumer = run_ok(Consumer, json!({})).await;
    assert_eq!(s.stytch_writes().await, w1, "{again}\n{again_consumer}");
    assert_eq!((again["changed"].as_u64(), again["cleared"].as_u64()), (Some(0), Some(0)), "{again}");
    assert!(again["checked"].as_u64().unwrap() >= 4, "{again}");
}

#[tokio::test]
async fn two_thousand_organizations_converge_across_resumed_runs() {
    let _stack = exclusive().await;
    ensure_plans().await;
    let s = stack();
    const N: usize = 2000;
    let tag = uid();
    // 2,000 organizations, 16 created at a time.
    let mut orgs = Vec::with_capacity(N);
    for chunk in (0..N).collect::<Vec<_>>().chunks(16) {
        let made = join_all(chunk.iter().map(|_| s.create_org(json!({"billing": {"tier": "silver"}})))).await;
        orgs.extend(made);
    }
    let ids: Vec<String> = (0..N).map(|i| format!("rule-scale-{tag}-{i:04}")).collect();
    let mut docs = Vec::with_capacity(N);
    {
        // Published while the function URL is "down".
        let _off = s.webhooks_off().await;
        for (chunk_ids, chunk_orgs) in ids.chunks(500).zip(orgs.chunks(500)) {
            let muts: Vec<Value> =
                chunk_ids.iter().zip(chunk_orgs).map(|(id, o)| json!({"create": rule(id, Some(o), None, json!({}))})).collect();
            let res = s.mutate(Value::Array(muts)).await;
            docs.extend(res["results"].as_array().unwrap().iter().map(|r| r["document"].clone()));
        }
        s.idle().await;
    }
    // 90 % were synced before the outage: write exactly what publish-sync writes (the library's
    // own projection of the rule), straight into Stytch. The other 10 % are drift.
    let missing: Vec<usize> = (0..N).step_by(10).collect();
    let synced: Vec<usize> = (0..N).filter(|i| i % 10 != 0).collect();
    for chunk in synced.chunks(32) {
        join_all(chunk.iter().map(|&i| {
            let (org, doc) = (&orgs[i], &docs[i]);
            async move {
                let projected = json!({
                    "_id": doc["_id"], "_rev": doc["_rev"], "stytchOrganizationId": org, "plan": "pro", "planTitle": "Pro",
                    "region": doc["region"], "allowedContentTypes": doc["allowedContentTypes"],
                    "gatedRoutes": doc["gatedRoutes"].as_array().unwrap().iter().map(|r| r["path"].clone()).collect::<Vec<_>>(),
                    "requiresMfa": doc["requiresMfa"],
                });
                let rule: gatehouse::sync::Rule = serde_json::from_value(projected).unwrap();
                let access = rule.access(gatehouse::log::rfc3339(now_ms())).unwrap();
                s.set_org_metadata(org, json!({"sanity_access": access})).await;
            }
        }))
        .await;
    }

    // Dry run first: it must find exactly the missing 10 % among these organizations.
    let dry = run_ok(B2b, json!({"dryRun": true})).await;
    assert!(dry["changed"].as_u64().unwrap() >= missing.len() as u64, "{dry}");
    // A budget just above one repair's: each run stops early and hands back a cursor.
    let reports = run_to_end(json!({"budgetMs": 5000})).await;
    assert!(reports.len() >= 2, "expected resumed runs, got one: {}", reports[0]);
    let changed: u64 = reports.iter().map(|r| r["changed"].as_u64().unwrap()).sum();
    assert!(changed >= missing.len() as u64, "changed {changed} in {} runs", reports.len());
    for &i in missing.iter().step_by(10) {
        assert_eq!(s.org_metadata(&orgs[i]).await["sanity_access"]["source"]["documentId"], ids[i].as_str(), "org {i}");
    }
    let first_pass_ms: f64 = reports.iter().map(|r| r["durationMs"].as_f64().unwrap()).sum();

    // 10 % drift by hand, repaired by two runs at once: together they repair every org and
    // undo nothing of each other's.
    let drifted: Vec<usize> = (5..N).step_by(10).collect();
    for chunk in drifted.chunks(16) {
        join_all(chunk.iter().map(|&i| {
            let org = &orgs[i];
            async move {
                let mut access = s.org_metadata(org).await["sanity_access"].clone();
                access["plan"] = "hand-edited".into();
                s.set_org_metadata(org, json!({"sanity_access": access})).await;
            }
        }))
        .await;
    }
    let (r1, r2) = tokio::join!(run_ok(B2b, json!({})), run_ok(B2b, json!({})));
    let ours = format!("rule-scale-{tag}");
    for r in [&r1, &r2] {
        assert!(r["cursor"].is_null(), "{r}");
        // Other tests' deliberately broken rules stay errors; none of ours may be.
        assert_eq!(r["errors"], dry["errors"], "{r}");
        assert!(!details(r, "error").iter().any(|(d, _)| d.starts_with(&ours)), "{r}");
    }
    let repaired = r1["changed"].as_u64().unwrap() + r2["changed"].as_u64().unwrap();
    assert!(repaired >= drifted.len() as u64, "repaired {repaired}: {r1}\n{r2}");
    for &i in drifted.iter().step_by(20) {
        assert_eq!(s.org_metadata(&orgs[i]).await["sanity_access"]["plan"], "pro", "org {i}");
    }
    let w = s.stytch_writes().await;
    let again = run_ok(B2b, json!({})).await;
    assert_eq!(s.stytch_writes().await, w, "{again}");
    // Leave the dataset as small as it was: the emulator's GROQ scans every document, and the
    // tests that run next have sub-second timeouts.
    {
        let _off = s.webhooks_off().await;
        for chunk in ids.chunks(500) {
            let muts: Vec<Value> = chunk.iter().map(|id| json!({"delete": {"id": id}})).collect();
            s.mutate(Value::Array(muts)).await;
        }
        s.idle().await;
    }
    for chunk in orgs.chunks(32) {
        join_all(chunk.iter().map(|o| s.delete_org(o))).await;
    }
    println!(
        "reconcile of {N}+ rules: missing 10 % repaired in {} resumed runs ({first_pass_ms:.0} ms), hand-edited 10 % in {} ms (two runs at once), clean run {} ms",
        reports.len(),
        r1["durationMs"],
        again["durationMs"]
    );
}

#[tokio::test]
async fn provider_failures_are_reported_and_retried_by_the_next_run() {
    let _stack = exclusive().await;
    ensure_plans().await;
    let s = stack();
    let (bad, busy, fine) = (s.create_org(json!({})).await, s.create_org(json!({})).await, s.create_org(json!({})).await);
    let id = |n: &str| format!("rule-fail-{n}-{}", uid());
    let (rbad, rbusy, rfine) = (id("bad"), id("busy"), id("fine"));
    {
        let _off = s.webhooks_off().await;
        s.mutate(json!([
            {"create": rule(&rbad, Some(&bad), None, json!({}))},
            {"create": rule(&rbusy, Some(&busy), None, json!({}))},
            {"create": rule(&rfine, Some(&fine), None, json!({}))},
        ]))
        .await;
        s.idle().await;
    }
    // `bad` fails every write; `busy` answers 429 twice, then accepts.
    let bad_path = org_path(&bad);
    let busy_path = org_path(&busy);
    s.stytch_fault("PUT", &bad_path, json!({"status": 500}), 1000).await;
    s.stytch_fault("PUT", &busy_path, json!({"status": 429, "error_type": "too_many_requests"}), 2).await;
    let r = run_ok(B2b, json!({})).await;
    s.clear_stytch_fault("PUT", &bad_path).await;
    assert!(details(&r, "error").iter().any(|(d, _)| d == &rbad), "{r}");
    assert!(has(&r, "write", &rbusy, &busy), "429s are retried within the budget: {r}");
    assert!(has(&r, "write", &rfine, &fine), "{r}");
    assert!(r["cursor"].is_null(), "{r}");
    // Nothing half-written: the failed org has no namespace at all.
    assert!(s.org_metadata(&bad).await["sanity_access"].is_null());

    let r = run_ok(B2b, json!({})).await;
    assert!(has(&r, "write", &rbad, &bad), "{r}");
    assert_eq!(s.org_metadata(&bad).await["sanity_access"]["source"]["documentId"], rbad.as_str());
}

#[tokio::test]
async fn a_bad_input_fails_the_invocation_and_runs_nothing() {
    let _stack = exclusive().await;
    let s = stack();
    for input in [json!({"dryrun": true}), json!({"dryRun": "yes"}), json!({"cursor": 7}), json!({"cursor": ""}), json!([1])] {
        let w = s.stytch_writes().await;
        let r = s.reconcile(B2b, input.clone()).await;
        assert_eq!(r.status, 500, "{input}: {}", r.body);
        assert_eq!(r.body["errorType"], "bad_request", "{input}: {}", r.body);
        assert!(r.body["errorMessage"].as_str().unwrap().contains("reconcile input") || input["cursor"].is_string(), "{}", r.body);
        assert_eq!(s.stytch_writes().await, w);
    }
}
