//! Cerbos equivalence (issue #11 groundwork), against the real PDP (scripts/cerbos.sh, the
//! repo's policies) and the Sanity emulator (groq-js): for generated principals × documents,
//! (a) the GROQ filter translated from PlanResources returns exactly the documents CheckResources
//! allows, (b) the built-in decision equals the PDP's for read, list and discover, and (c) the
//! built-in list filter returns the same documents as the plan's.

use std::collections::BTreeSet;

use gatehouse::authz::model::{Principal, PrincipalAttr, ResourceAttr, builtin_decision};
use gatehouse::authz::{CONTENT, plan};
use serde_json::{Value, json};

use crate::common::*;


fn pick<'a>(rng: &mut fastrand::Rng, from: &[&'a str]) -> Vec<&'a str> {
    from.iter().copied().filter(|_| rng.bool()).collect()
}

fn principal(rng: &mut fastrand::Rng, n: usize) -> Principal {
    if rng.u8(..6) == 0 {
        return gatehouse::authz::model::principal(None, None, &gatehouse::authz::staff::Staff::default());
    }
    let mut roles: Vec<String> = pick(rng, &["stytch_member", "stytch_admin", "editor", "stytch_user"]).into_iter().map(String::from).collect();
    // The staff role without the staff decision (a customer admin who gave it to themselves)
    // must grant nothing; the decision itself, sometimes, without the role.
    if rng.u8(..5) == 0 {
        roles.push("gatehouse_platform_admin".into());
    }
    let platform_staff = rng.u8(..10) == 0;
    if roles.is_empty() {
        roles.push("stytch_member".into());
    }
    let s = |v: &[&str], rng: &mut fastrand::Rng| v[rng.usize(..v.len())].to_string();
    Principal {
        id: format!("member-test-{n}"),
        roles,
        attr: PrincipalAttr {
            organization_id: s(&["", "org-a", "org-b"], rng),
            organization_slug: String::new(),
            has_access: rng.u8(..4) != 0,
            plan: s(&["", "pro", "free"], rng),
            region: s(&["", "eu", "us"], rng),
            allowed_types: pick(rng, &["article", "doc", "report"]).into_iter().map(String::from).collect(),
            routes: pick(rng, &["/g1", "/g2", "/open"]).into_iter().map(String::from).collect(),
            requires_mfa: rng.bool(),
            mfa: rng.bool(),
            auth_methods: vec!["email".into()],
            platform_staff,
        },
    }
}

/// A document as stored in Sanity (fields sometimes missing) and its attributes as sent to check().
fn document(rng: &mut fastrand::Rng, tag: &str, i: usize) -> (Value, ResourceAttr) {
    let types = ["article", "doc", "report"];
    let t = types[rng.usize(..3)].to_string();
    let mut d = json!({"_id": format!("eq-{tag}-{i:03}"), "_type": t, "eqTag": tag, "title": "x"});
    let mut list = |field: &str, from: &[&str], d: &mut Value| -> Vec<String> {
        match rng.u8(..3) {
            0 => vec![], // field missing
            1 => {
                d[field] = json!([]);
                vec![]
            }
            _ => {
                let v: Vec<String> = from.iter().copied().filter(|_| fastrand::bool()).map(String::from).collect();
                d[field] = json!(v);
                v
            }
        }
    };
    let plans = list("requiredPlans", &["pro", "free"], &mut d);
    let roles = list("requiredRoles", &["stytch_admin", "editor"], &mut d);
    let regions = list("regions", &["eu", "us"], &mut d);
    // /g1 and /g2 are gated by a published rule below; /open is not.
    let route = ["", "/g1", "/g2", "/open"][rng.usize(..4)].to_string();
    if !route.is_empty() {
        d["route"] = json!(route);
    }
    let org = ["", "org-a", "org-b"][rng.usize(..3)].to_string();
    if !org.is_empty() {
        d["organizationId"] = json!(org);
    }
    let attr = ResourceAttr {
        doc_type: t,
        required_plans: plans,
        required_roles: roles,
        regions,
        route_gated: route == "/g1" || route == "/g2",
        route,
        organization_id: org,
    };
    (d, attr)
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_filters_equal_check_and_the_builtin_agrees() {
    let _stack = shared().await;
    let s = stack();
    let pdp = cerbos_url();
    let tag = uid();
    let mut rng = fastrand::Rng::with_seed(u64::from_str_radix(&tag, 16).unwrap_or(7));
    let docs: Vec<(Value, ResourceAttr)> = (0..60).map(|i| document(&mut rng, &tag, i)).collect();
    let mut muts: Vec<Value> = docs.iter().map(|(d, _)| json!({"create": d})).collect();
    // The rule that makes /g1 and /g2 gated routes (it targets nothing, so no provider write).
    muts.push(json!({"create": {"_id": format!("rule-eq-{tag}"), "_type": "accessRule", "title": "eq",
                                "gatedRoutes": [{"_key": "a", "path": "/g1"}, {"_key": "b", "path": "/g2"}]}}));
    s.mutate(Value::Array(muts)).await;
    s.idle().await;

    let query_url = format!("{}/v2025-02-19/data/query/production?perspective=published", s.var("SANITY_URL"));
    // The ids of this test's documents a filter lets through, run as gated-content runs it (the
    // gated routes computed once as `^.g`), and the query text for failure messages.
    let ids_matching = |f: &plan::GroqFilter| {
        let groq = gatehouse::gate::query::with_gated_routes(&format!("*[eqTag == $eqTag && ({})]._id", f.groq));
        let mut params = f.params.clone();
        params.insert("eqTag".into(), json!(tag));
        let query_url = &query_url;
        async move {
            let r: Value =
                s.http.post(query_url).bearer_auth("sk-local-read").json(&json!({"query": groq, "params": params})).send().await.unwrap().json().await.unwrap();
            let ids: BTreeSet<String> = r["result"].as_array().unwrap_or_else(|| panic!("{r}")).iter().map(|v| v.as_str().unwrap().to_string()).collect();
            (ids, groq)
        }
    };
    let (mut compared, mut conditional) = (0, 0);
    for n in 0..30 {
        let p = principal(&mut rng, n);
        // (a) the plan, translated, run as GROQ…
        let plan: Value = s
            .http
            .post(format!("{pdp}/api/plan/resources"))
            .json(&json!({"requestId": format!("eq-{n}"), "action": "list", "principal": p,
                          "resource": {"kind": "content", "policyVersion": "default", "attr": {}}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let f = plan::translate(&plan["filter"], CONTENT).unwrap_or_else(|e| panic!("{e}: {plan}"));
        conditional += usize::from(plan["filter"]["kind"] == "KIND_CONDITIONAL");
        let (via_plan, groq) = ids_matching(&f).await;
        // …equals what check() allows, document by document.
        let mut via_check = BTreeSet::new();
        for chunk in docs.chunks(50) {
            let resources: Vec<Value> = chunk
                .iter()
                .map(|(d, a)| json!({"actions": ["read", "list", "discover"], "resource": {"kind": "content", "id": d["_id"], "policyVersion": "default", "attr": a}}))
                .collect();
            let c: Value = s
                .http
                .post(format!("{pdp}/api/check/resources"))
                .json(&json!({"requestId": format!("eq-{n}"), "principal": p, "resources": resources}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            for ((d, a), res) in chunk.iter().zip(c["results"].as_array().unwrap_or_else(|| panic!("{c}"))) {
                let allow = |action: &str| res["actions"][action] == "EFFECT_ALLOW";
                if allow("list") {
                    via_check.insert(d["_id"].as_str().unwrap().to_string());
                }
                // (b) the built-in authorizer decides the same.
                let b = builtin_decision(&p, a);
                assert_eq!((b.read, b.read, b.discover), (allow("read"), allow("list"), allow("discover")), "principal {p:?}\ndocument {a:?}");
                compared += 1;
            }
        }
        assert_eq!(via_plan, via_check, "principal {p:?}\nplan {plan}\ngroq {groq}");
        // (c) the built-in list filter returns the same documents.
        let (via_builtin, groq) = ids_matching(&gatehouse::authz::builtin::list_filter(&p)).await;
        assert_eq!(via_builtin, via_check, "principal {p:?}\nbuilt-in groq {groq}");
    }
    assert!(compared >= 1500 && conditional >= 5, "compared {compared}, conditional plans {conditional}");
}
