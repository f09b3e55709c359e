//! The sync and gate suites, shared by both identity providers (issue #7): each scenario runs
//! against Stytch B2B (an `accessRule` → an organization's `trusted_metadata`) and Descope (a
//! `memberProfile` → a user's custom attributes, roles and tenant), through the same functions
//! started with `IDP=stytch` and `IDP=descope`. Then what only Descope has: managed vs
//! hand-granted roles, tenants rewritten whole, refresh tokens, tenant roles, and undefined
//! custom attributes.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::*;

/// The provider comparisons run on one deployment per provider. The consumer deployment is
/// Stytch's other project shape (users instead of organizations): publish.rs, gate.rs.
const BOTH: [Deployment; 2] = [Deployment::B2b, Deployment::Descope];
const CONSUMER: &str = "providers.rs compares the B2B and Descope deployments";

/// What a rule points at: a Stytch organization (with one member), or a Descope user.
#[derive(Clone, Debug)]
struct Tgt {
    /// Organization id / login id: what the rule names.
    id: String,
    /// Stytch: the member whose sessions read through the organization.
    member: String,
}

/// What the provider holds for a target: `{plan, region, owner}` or null.
fn norm(plan: &Value, region: &Value, owner: &Value) -> Value {
    json!({"plan": plan, "region": region, "owner": owner})
}

impl Deployment {
    fn rule_type(self) -> &'static str {
        match self {
            Deployment::Consumer => unreachable!("{CONSUMER}"),
            Deployment::B2b => "accessRule",
            Deployment::Descope => "memberProfile",
        }
    }

    /// A content type this flavour serves gated.
    fn page_type(self) -> &'static str {
        match self {
            Deployment::Consumer => unreachable!("{CONSUMER}"),
            Deployment::B2b => "article",
            Deployment::Descope => "gatedPage",
        }
    }

    async fn target(self) -> Tgt {
        let s = stack();
        match self {
            Deployment::Consumer => unreachable!("{CONSUMER}"),
            Deployment::B2b => {
                let org = s.create_org(json!({"billing": "gold"})).await;
                let member = s.create_member(&org, &[]).await;
                Tgt { id: org, member }
            }
            Deployment::Descope => {
                let login = s.create_descope_user(&["billing-admin"]).await;
                Tgt { id: login.clone(), member: login }
            }
        }
    }

    /// The rule document for `t` with plan (`pro`/`free`) and region; `extra` overrides fields.
    fn rule(self, id: &str, t: &Tgt, plan: &str, region: &str, extra: Value) -> Value {
        let mut d = match self {
            Deployment::Consumer => unreachable!("{CONSUMER}"),
            Deployment::B2b => rule(id, Some(&t.id), None, json!({"plan": {"_type": "reference", "_ref": format!("plan-{plan}")}, "region": region})),
            Deployment::Descope => json!({"_id": id, "_type": "memberProfile", "title": id, "descopeLoginId": t.id,
                                     "plan": {"_type": "reference", "_ref": format!("aplan-{plan}")}, "region": region}),
        };
        d.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
        d
    }

    /// The field that names the target (to re-point a rule).
    fn target_field(self) -> &'static str {
        match self {
            Deployment::Consumer => unreachable!("{CONSUMER}"),
            Deployment::B2b => "stytchOrganizationId",
            Deployment::Descope => "descopeLoginId",
        }
    }

    async fn synced(self, t: &Tgt) -> Value {
        let s = stack();
        match self {
            Deployment::Consumer => unreachable!("{CONSUMER}"),
            Deployment::B2b => {
                let a = s.org_metadata(&t.id).await["sanity_access"].clone();
                if a.is_null() { Value::Null } else { norm(&a["plan"], &a["region"], &a["source"]["documentId"]) }
            }
            Deployment::Descope => {
                let a = s.descope_user(&t.id).await["customAttributes"].clone();
                let rec: Value = a["gatehouseSync"].as_str().map(|r| serde_json::from_str(r).unwrap()).unwrap_or(Value::Null);
                if a["plan"].is_null() && a["region"].is_null() && rec.is_null() { Value::Null } else { norm(&a["plan"], &a["region"], &rec["documentId"]) }
            }
        }
    }

    /// Something in the target gatehouse does not own, which must survive every sync.
    async fn foreign(self, t: &Tgt) -> Value {
        let s = stack();
        match self {
            Deployment::Consumer => unreachable!("{CONSUMER}"),
            Deployment::B2b => s.org_metadata(&t.id).await["billing"].clone(),
            Deployment::Descope => s.descope_user(&t.id).await["roleNames"].clone(),
        }
    }

    /// Everything the provider holds for the target that a write would change (timestamps
    /// included), to prove a delivery wrote nothing.
    async fn snapshot(self, t: &Tgt) -> Value {
        let s = stack();
        match self {
            Deployment::Consumer => unreachable!("{CONSUMER}"),
            Deployment::B2b => s.org_metadata(&t.id).await,
            Deployment::Descope => {
                let u = s.descope_user(&t.id).await;
                json!({"attrs": u["customAttributes"], "roles": u["roleNames"], "tenants": u["userTenants"]})
            }
        }
    }

    async fn session(self, t: &Tgt, factors: &[&str]) -> String {
        let s = stack();
        match self {
            Deployment::Consumer => unreachable!("{CONSUMER}"),
            Deployment::B2b => {
                // Stytch names the email factor by its method.
                let f: Vec<&str> = factors.iter().map(|x| if *x == "email" { "email_otp" } else { x }).collect();
                s.mint(json!({"organization_id": t.id, "member_id": t.member, "authentication_factors": f})).await
            }
            Deployment::Descope => s.descope_mint(json!({"login_id": t.member, "authentication_factors": factors})).await["session_jwt"].as_str().unwrap().to_string(),
        }
    }

    fn event(self, id: &str, op: &str, before: Option<&Tgt>) -> Value {
        let before = before.map_or(Value::Null, |t| json!({self.target_field(): t.id}));
        json!({"_id": id, "_type": self.rule_type(), "_rev": "direct", "operation": op, "before": before, "dataset": "production"})
    }

    fn function_url(self, function: &str) -> String {
        format!("{}/lambda-url/{function}", self.functions())
    }

    async fn deliver(self, function: &str, body: &Value) -> Resp {
        let s = stack();
        let text = body.to_string();
        s.deliver_to(&self.function_url(function), &text, Some(&s.sign(&text))).await
    }

    async fn read(self, slug: &str, token: Option<&str>) -> Resp {
        stack().get_from(&self.function_url("gated-content"), &format!("/content/{slug}"), token, &[]).await
    }

    /// Injects `fault` on the provider call every write makes first.
    async fn write_fault(self, t: &Tgt, fault: Value, count: u32) {
        let s = stack();
        match self {
            Deployment::Consumer => unreachable!("{CONSUMER}"),
            Deployment::B2b => s.stytch_fault("PUT", &org_path(&t.id), fault, count).await,
            // Every user's attribute write shares the path: scoped to this user's login id.
            Deployment::Descope => {
                let mut fault = fault;
                fault["match"] = t.id.as_str().into();
                s.descope_fault("POST", "/v1/mgmt/user/update/customAttribute", fault, count).await
            }
        }
    }

    async fn clear_write_fault(self, t: &Tgt) {
        let s = stack();
        match self {
            Deployment::Consumer => unreachable!("{CONSUMER}"),
            Deployment::B2b => s.clear_stytch_fault("PUT", &org_path(&t.id)).await,
            Deployment::Descope => s.clear_descope_fault("POST", "/v1/mgmt/user/update/customAttribute", &t.id).await,
        }
    }
}

fn last_outcome(deliveries: &[Value], webhook_prefix: &str) -> (u64, Value) {
    let d = deliveries.iter().rev().find(|d| d["webhookName"].as_str().is_some_and(|w| w.starts_with(webhook_prefix))).expect("a delivery");
    let status = d["response"]["status"].as_u64().unwrap_or(0);
    (status, d["response"]["body"].as_str().and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_repoint_and_delete_follow_the_cms() {
    let _stack = shared().await;
    ensure_plans().await;
    let s = stack();
    for f in BOTH {
        let (t1, t2) = (f.target().await, f.target().await);
        let (foreign1, foreign2) = (f.foreign(&t1).await, f.foreign(&t2).await);
        let id = format!("pv-{}", uid());
        let started = Instant::now();
        s.mutate(json!([{"create": f.rule(&id, &t1, "pro", "eu", json!({}))}])).await;
        s.idle().await;
        assert_eq!(f.synced(&t1).await, norm(&"pro".into(), &"eu".into(), &id.clone().into()), "{f:?}");
        println!("{f:?}: publish → synced in {:?}", started.elapsed());

        // Edited: the new values replace the old ones.
        s.mutate(json!([{"patch": {"id": id, "set": {"region": "us", "plan": {"_type": "reference", "_ref": if f == Deployment::B2b { "plan-free" } else { "aplan-free" }}}}}])).await;
        s.idle().await;
        assert_eq!(f.synced(&t1).await, norm(&"free".into(), &"us".into(), &id.clone().into()), "{f:?}");

        // Re-pointed: the new target gets it, the old one is cleared.
        s.mutate(json!([{"patch": {"id": id, "set": {f.target_field(): t2.id}}}])).await;
        s.idle().await;
        assert_eq!(f.synced(&t2).await["owner"], id.as_str(), "{f:?}");
        assert_eq!(f.synced(&t1).await, Value::Null, "{f:?}: old target cleared");

        // Deleted: cleared; what gatehouse does not own is untouched throughout.
        s.mutate(json!([{"delete": {"id": id}}])).await;
        s.idle().await;
        assert_eq!(f.synced(&t2).await, Value::Null, "{f:?}");
        assert_eq!(f.foreign(&t1).await, foreign1, "{f:?}");
        assert_eq!(f.foreign(&t2).await, foreign2, "{f:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_draft_duplicate_and_stale_deliveries_write_nothing() {
    let _stack = shared().await;
    ensure_plans().await;
    let s = stack();
    for f in BOTH {
        let t = f.target().await;
        let id = format!("pv-d-{}", uid());
        s.mutate(json!([{"create": f.rule(&id, &t, "pro", "eu", json!({}))}])).await;
        s.idle().await;
        let before = f.snapshot(&t).await;
        assert_eq!(f.synced(&t).await["owner"], id.as_str(), "{f:?}");

        // The same publish again: unchanged, nothing rewritten (not even the sync timestamp).
        let r = f.deliver("publish-sync", &f.event(&id, "update", Some(&t))).await;
        assert_eq!(r.body["outcome"], "unchanged", "{f:?}: {}", r.body);
        // A draft of the rule: skipped.
        let r = f.deliver("publish-sync", &f.event(&format!("drafts.{id}"), "update", Some(&t))).await;
        assert_eq!(r.body["outcome"], "skipped", "{f:?}: {}", r.body);
        // A delete delivered while the rule is still published: stale, nothing cleared.
        let r = f.deliver("delete-cleanup", &f.event(&id, "delete", Some(&t))).await;
        assert_eq!(r.body["outcome"], "stale", "{f:?}: {}", r.body);
        // A delete without before(): 400; unsigned and forged deliveries: 401.
        let r = f.deliver("delete-cleanup", &json!({"_id": id, "_type": f.rule_type(), "operation": "delete"})).await;
        assert_eq!(r.status, 400, "{f:?}: {}", r.body);
        let body = f.event(&id, "delete", Some(&t)).to_string();
        for sig in [None, Some(gatehouse::cms::signature::header("whsec_forged", now_ms(), body.as_bytes()))] {
            let r = s.deliver_to(&f.function_url("delete-cleanup"), &body, sig.as_deref()).await;
            assert_eq!((r.status, r.body["error"].as_str()), (401, Some("invalid_signature")), "{f:?}: {}", r.body);
        }
        assert_eq!(f.snapshot(&t).await, before, "{f:?}: not one field changed");
        s.mutate(json!([{"delete": {"id": id}}])).await;
        s.idle().await;
        assert_eq!(f.synced(&t).await, Value::Null, "{f:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_owned_by_one_rule_is_not_taken_by_another() {
    let _stack = shared().await;
    ensure_plans().await;
    let s = stack();
    for f in BOTH {
        let t = f.target().await;
        let (a, b) = (format!("pv-a-{}", uid()), format!("pv-b-{}", uid()));
        s.mutate(json!([{"create": f.rule(&a, &t, "pro", "eu", json!({}))}])).await;
        s.idle().await;
        s.mutate(json!([{"create": f.rule(&b, &t, "free", "us", json!({}))}])).await;
        s.idle().await;
        let (status, body) = last_outcome(&s.deliveries(&b).await, "gatehouse-publish-sync");
        assert_eq!((status, body["outcome"].as_str()), (409, Some("conflict")), "{f:?}: {body}");
        assert_eq!(body["owner"], a.as_str(), "{f:?}");
        assert_eq!(f.synced(&t).await, norm(&"pro".into(), &"eu".into(), &a.clone().into()), "{f:?}: untouched");
        // Deleting the intruder clears nothing of the owner's.
        s.mutate(json!([{"delete": {"id": b}}])).await;
        s.idle().await;
        assert_eq!(f.synced(&t).await["owner"], a.as_str(), "{f:?}");
        let (_, body) = last_outcome(&s.deliveries(&b).await, "gatehouse-delete-cleanup");
        assert_eq!(body["outcome"], "not_owned", "{f:?}: {body}");
        s.mutate(json!([{"delete": {"id": a}}])).await;
        s.idle().await;
        assert_eq!(f.synced(&t).await, Value::Null, "{f:?}");
    }
}

/// 429 with Retry-After: retried within the budget; when it never ends, 503 to Sanity and nothing
/// half-written. The faults are scoped to the test's own organization / login id.
#[tokio::test(flavor = "multi_thread")]
async fn rate_limited_provider_is_retried_then_503_with_nothing_written() {
    let _stack = shared().await;
    ensure_plans().await;
    let s = stack();
    for f in BOTH {
        let t = f.target().await;
        let id = format!("pv-rl-{}", uid());
        // Two 429s, each asking for a 1 s pause: the delivery waits them out and syncs.
        f.write_fault(&t, json!({"status": 429, "retry_after": 1}), 2).await;
        s.mutate(json!([{"create": f.rule(&id, &t, "pro", "eu", json!({}))}])).await;
        let r = f.deliver("publish-sync", &f.event(&id, "create", None)).await;
        assert_eq!((r.status, r.body["outcome"].as_str()), (200, Some("synced")), "{f:?}: {}", r.body);
        s.idle().await;
        assert_eq!(f.synced(&t).await["region"], "eu", "{f:?}");

        // A 429 that never ends: 503 (Sanity retries later), and the old values stay whole.
        f.write_fault(&t, json!({"status": 429, "retry_after": 1}), 1000).await;
        s.mutate(json!([{"patch": {"id": id, "set": {"region": "us"}}}])).await;
        let started = Instant::now();
        let r = f.deliver("publish-sync", &f.event(&id, "update", Some(&t))).await;
        assert_eq!(r.status, 503, "{f:?}: {}", r.body);
        assert!(started.elapsed() < Duration::from_secs(6), "{f:?}: answered within the sync budget");
        s.idle().await;
        assert_eq!(f.synced(&t).await, norm(&"pro".into(), &"eu".into(), &id.clone().into()), "{f:?}: nothing half-written");
        f.clear_write_fault(&t).await;
        let r = f.deliver("publish-sync", &f.event(&id, "update", Some(&t))).await;
        assert_eq!(r.body["outcome"], "synced", "{f:?}: {}", r.body);
        assert_eq!(f.synced(&t).await["region"], "us", "{f:?}");
        s.mutate(json!([{"delete": {"id": id}}])).await;
        s.idle().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn gated_reads_need_the_synced_plan_and_mfa_when_required() {
    let _stack = shared().await;
    ensure_plans().await;
    let s = stack();
    for f in BOTH {
        let (t, other) = (f.target().await, f.target().await);
        let (id, page) = (format!("pv-g-{}", uid()), format!("pv-page-{}", uid()));
        s.mutate(json!([
            {"create": {"_id": page, "_type": f.page_type(), "title": "Pro page", "slug": {"current": page}, "body": "secret",
                "requiredPlans": [{"_key": "p", "_type": "reference", "_ref": if f == Deployment::B2b { "plan-pro" } else { "aplan-pro" }}]}},
            {"create": f.rule(&id, &t, "pro", "eu", json!({"requiresMfa": true}))},
        ]))
        .await;
        s.idle().await;
        let one = f.session(&t, &["email"]).await;
        let two = f.session(&t, &["email", "totp"]).await;
        let r = f.read(&page, Some(&one)).await;
        assert_eq!((r.status, r.body["error"].as_str()), (403, Some("mfa_required")), "{f:?}: {}", r.body);
        let r = f.read(&page, Some(&two)).await;
        assert_eq!(r.status, 200, "{f:?}: {}", r.body);
        assert_eq!(r.body["document"]["body"], "secret");
        // Someone the rule does not cover, and nobody at all: as if it did not exist.
        assert_eq!(f.read(&page, Some(&f.session(&other, &["email", "totp"]).await)).await.status, 404, "{f:?}");
        assert_eq!(f.read(&page, None).await.status, 404, "{f:?}");
        s.mutate(json!([{"delete": {"id": id}}, {"delete": {"id": page}}])).await;
        s.idle().await;
    }
}

// ---- Descope only -------------------------------------------------------------------------

fn record(user: &Value) -> Value {
    user["customAttributes"]["gatehouseSync"].as_str().map(|r| serde_json::from_str(r).unwrap()).unwrap_or(Value::Null)
}

fn project_roles(user: &Value) -> Vec<String> {
    let mut r: Vec<String> = user["roleNames"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect();
    r.sort();
    r
}

fn tenant_roles(user: &Value, tenant: &str) -> Option<Vec<String>> {
    let ut = user["userTenants"].as_array()?.iter().find(|t| t["tenantId"] == tenant)?;
    let mut r: Vec<String> = ut["roleNames"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect();
    r.sort();
    Some(r)
}

fn roles(keys: &[&str]) -> Value {
    Value::Array(keys.iter().enumerate().map(|(i, k)| json!({"_key": format!("r{i}"), "_type": "reference", "_ref": format!("role-{k}")})).collect())
}

#[tokio::test(flavor = "multi_thread")]
async fn descope_roles_are_managed_exactly_and_hand_granted_roles_survive() {
    let _stack = shared().await;
    ensure_plans().await;
    let s = stack();
    // Granted by hand before gatehouse: billing-admin, and analyst (which the profile also lists).
    let login = s.create_descope_user(&["billing-admin", "analyst"]).await;
    let tenant = s.create_tenant().await;
    let id = format!("mp-{}", uid());
    let org = format!("op-{}", uid());
    let t = Tgt { id: login.clone(), member: login.clone() };
    s.mutate(json!([{"create": Deployment::Descope.rule(&id, &t, "pro", "eu", json!({"roles": roles(&["reader", "analyst"])}))}])).await;
    s.idle().await;
    let u = s.descope_user(&login).await;
    assert_eq!(project_roles(&u), vec!["analyst", "billing-admin", "reader"]);
    assert_eq!(record(&u)["added"], json!(["reader"]), "analyst was already held: not gatehouse's to remove");

    // The profile drops analyst and reader, adds editor: only reader (gatehouse's) goes.
    s.mutate(json!([{"patch": {"id": id, "set": {"roles": roles(&["editor"])}}}])).await;
    s.idle().await;
    assert_eq!(project_roles(&s.descope_user(&login).await), vec!["analyst", "billing-admin", "editor"]);

    // A managed role removed by hand is drift: the next sync assigns it again.
    s.descope(reqwest::Method::POST, "/v1/mgmt/user/update/role/remove", Some(json!({"loginId": login, "roleNames": ["editor"]}))).await;
    let r = Deployment::Descope.deliver("publish-sync", &Deployment::Descope.event(&id, "update", Some(&t))).await;
    assert_eq!(r.body["outcome"], "synced", "{}", r.body);
    assert!(project_roles(&s.descope_user(&login).await).contains(&"editor".to_string()));

    // Into a tenant (through an organization profile): project roles gatehouse added move there.
    s.mutate(json!([
        {"create": {"_id": org, "_type": "organizationProfile", "title": "T", "tenantId": tenant, "region": "us",
                    "plan": {"_type": "reference", "_ref": "aplan-free"}}},
        {"patch": {"id": id, "set": {"tenant": {"_type": "reference", "_ref": org}}, "unset": ["region", "plan"]}},
    ]))
    .await;
    s.idle().await;
    let u = s.descope_user(&login).await;
    assert_eq!(project_roles(&u), vec!["analyst", "billing-admin"], "project roles gatehouse added are taken back");
    assert_eq!(tenant_roles(&u, &tenant), Some(vec!["editor".to_string()]));
    assert_eq!((u["customAttributes"]["plan"].as_str(), u["customAttributes"]["region"].as_str()), (Some("free"), Some("us")), "the tenant's plan and region");

    // The tenant profile's plan changes: its members are re-synced with it.
    s.mutate(json!([{"patch": {"id": org, "set": {"plan": {"_type": "reference", "_ref": "aplan-pro"}}}}])).await;
    s.idle().await;
    assert_eq!(s.descope_user(&login).await["customAttributes"]["plan"], "pro");

    // Deleted: gatehouse's roles and attributes go; the hand-granted ones stay.
    s.mutate(json!([{"delete": {"id": id}}])).await;
    s.idle().await;
    let u = s.descope_user(&login).await;
    assert_eq!(project_roles(&u), vec!["analyst", "billing-admin"]);
    assert_eq!(tenant_roles(&u, &tenant), Some(vec![]));
    assert!(u["customAttributes"].get("plan").is_none_or(Value::is_null) && record(&u).is_null(), "{}", u["customAttributes"]);
    s.mutate(json!([{"delete": {"id": org}}])).await;
    s.idle().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn descope_tenant_updates_keep_every_field_gatehouse_does_not_own() {
    let _stack = shared().await;
    ensure_plans().await;
    let s = stack();
    let tenant = s.create_tenant().await;
    let before = s.descope_tenant(&tenant).await;
    let org = format!("op-{}", uid());
    s.mutate(json!([{"create": {"_id": org, "_type": "organizationProfile", "title": "T", "tenantId": tenant, "region": "eu",
                                "plan": {"_type": "reference", "_ref": "aplan-pro"}}}]))
    .await;
    s.idle().await;
    let t = s.descope_tenant(&tenant).await;
    assert_eq!((t["customAttributes"]["plan"].as_str(), t["customAttributes"]["region"].as_str()), (Some("pro"), Some("eu")));
    assert_eq!(record(&t)["documentId"], org.as_str());
    for k in ["name", "selfProvisioningDomains", "enforceSSO", "disabled"] {
        assert_eq!(t[k], before[k], "{k} kept");
    }
    s.mutate(json!([{"delete": {"id": org}}])).await;
    s.idle().await;
    let t = s.descope_tenant(&tenant).await;
    assert!(t["customAttributes"].get("plan").is_none() && t["customAttributes"].get("gatehouseSync").is_none(), "{t}");
    for k in ["name", "selfProvisioningDomains"] {
        assert_eq!(t[k], before[k], "{k} kept after clear");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn descope_sessions_refresh_tokens_are_refused_and_tenant_roles_gate_pages() {
    let _stack = shared().await;
    ensure_plans().await;
    let s = stack();
    let (t1, t2) = (s.create_tenant().await, s.create_tenant().await);
    let login = s.create_descope_user(&[]).await;
    s.descope_grant(&login, &["editor"], Some(&t1)).await;
    s.descope_grant(&login, &["reader"], Some(&t2)).await;
    let (id, page) = (format!("mp-{}", uid()), format!("pv-ed-{}", uid()));
    let t = Tgt { id: login.clone(), member: login.clone() };
    s.mutate(json!([
        {"create": Deployment::Descope.rule(&id, &t, "pro", "eu", json!({}))},
        {"create": {"_id": page, "_type": "gatedPage", "title": "Editors", "slug": {"current": page}, "body": "b", "requiredRoles": roles(&["editor"])}},
    ]))
    .await;
    s.idle().await;
    let mint = |tenant: Option<&str>, refresh: bool| {
        let mut b = json!({"login_id": login, "refresh": refresh});
        if let Some(t) = tenant {
            b["tenant"] = t.into();
        }
        b
    };
    // In tenant 1 the session carries tenant role editor; in tenant 2 only reader; with no
    // current tenant, no tenant roles at all.
    let in_t1 = s.descope_mint(mint(Some(&t1), true)).await;
    let in_t2 = s.descope_mint(mint(Some(&t2), false)).await;
    let none = s.descope_mint(mint(None, false)).await;
    let read = |tok: &Value| {
        let tok = tok.as_str().unwrap().to_string();
        let page = page.clone();
        async move { Deployment::Descope.read(&page, Some(&tok)).await }
    };
    assert_eq!(read(&in_t1["session_jwt"]).await.status, 200);
    assert_eq!(read(&in_t2["session_jwt"]).await.status, 404);
    assert_eq!(read(&none["session_jwt"]).await.status, 404);
    // A refresh token is a valid Descope JWT, but not a session: 401.
    let r = read(&in_t1["refresh_jwt"]).await;
    assert_eq!((r.status, r.body["error"].as_str()), (401, Some("invalid_token")), "{}", r.body);
    assert!(r.headers.get("www-authenticate").is_some());
    // The same page in a list, and the role keys the page requires, resolved from references.
    let tok = in_t1["session_jwt"].as_str().unwrap();
    let r = s.get_from(&Deployment::Descope.function_url("gated-content"), "/content?type=gatedPage&limit=100", Some(tok), &[]).await;
    let mine = r.body["documents"].as_array().unwrap().iter().find(|d| d["_id"] == page.as_str()).cloned().expect("listed");
    assert_eq!(mine["requiredRoles"], json!(["editor"]));
    s.mutate(json!([{"delete": {"id": id}}, {"delete": {"id": page}}])).await;
    s.idle().await;
}

/// A profile needing a custom attribute the Descope project lacks: 422 naming it, nothing
/// written. Exclusive: removes the attribute's definition for a moment.
#[tokio::test(flavor = "multi_thread")]
async fn descope_undefined_custom_attribute_is_422_naming_it() {
    let _stack = exclusive().await;
    ensure_plans().await;
    let s = stack();
    let login = s.create_descope_user(&[]).await;
    let t = Tgt { id: login.clone(), member: login.clone() };
    let id = format!("mp-{}", uid());
    let r = s.descope(reqwest::Method::POST, "/v1/mgmt/user/customattribute/delete", Some(json!({"names": ["region"]}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    s.mutate(json!([{"create": Deployment::Descope.rule(&id, &t, "pro", "eu", json!({}))}])).await;
    s.idle().await;
    let writes = s.descope_calls("POST", "/v1/mgmt/user/update/customAttribute").await;
    let r = Deployment::Descope.deliver("publish-sync", &Deployment::Descope.event(&id, "create", None)).await;
    let after = s.descope_calls("POST", "/v1/mgmt/user/update/customAttribute").await;
    let restore = s.descope(reqwest::Method::POST, "/v1/mgmt/user/customattribute/create", Some(json!({"attributes": [{"name": "region", "type": 1, "displayName": "Region"}]}))).await;
    assert_eq!(restore.status, 200, "{}", restore.body);
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body["reason"].as_str().unwrap().contains("custom attribute `region`"), "{}", r.body);
    assert_eq!(after, writes, "refused before any attribute was written");
    assert!(s.descope_user(&login).await["customAttributes"].get("plan").is_none());
    // Redelivered once the attribute exists: synced.
    let r = Deployment::Descope.deliver("publish-sync", &Deployment::Descope.event(&id, "create", None)).await;
    assert_eq!(r.body["outcome"], "synced", "{}", r.body);
    s.mutate(json!([{"delete": {"id": id}}])).await;
    s.idle().await;
}

/// The reconciler on a Descope project: a hand-edited attribute and a managed role removed by
/// hand are repaired, a profile deleted while webhooks were off is cleaned up (its managed roles
/// taken back, the hand-granted ones kept), and the dry run predicts it all without writing.
#[tokio::test(flavor = "multi_thread")]
async fn descope_reconcile_repairs_drift_and_orphans() {
    let _stack = exclusive().await;
    ensure_plans().await;
    let s = stack();
    let (kept, gone) = (s.create_descope_user(&["billing-admin"]).await, s.create_descope_user(&["billing-admin"]).await);
    let (kept_id, gone_id) = (format!("mp-k-{}", uid()), format!("mp-g-{}", uid()));
    let tk = Tgt { id: kept.clone(), member: kept.clone() };
    let tg = Tgt { id: gone.clone(), member: gone.clone() };
    s.mutate(json!([
        {"create": Deployment::Descope.rule(&kept_id, &tk, "pro", "eu", json!({"roles": roles(&["reader"])}))},
        {"create": Deployment::Descope.rule(&gone_id, &tg, "pro", "eu", json!({"roles": roles(&["editor"])}))},
    ]))
    .await;
    s.idle().await;
    assert_eq!(project_roles(&s.descope_user(&gone).await), vec!["billing-admin", "editor"]);
    {
        let _off = s.webhooks_off().await;
        s.mutate(json!([{"delete": {"id": gone_id}}])).await;
        s.idle().await;
    }
    // Drift by hand on the kept user.
    s.descope(reqwest::Method::POST, "/v1/mgmt/user/update/customAttribute", Some(json!({"loginId": kept, "attributeKey": "plan", "attributeValue": "hand"}))).await;
    s.descope(reqwest::Method::POST, "/v1/mgmt/user/update/role/remove", Some(json!({"loginId": kept, "roleNames": ["reader"]}))).await;

    let invoke = |input: Value| stack().reconcile(Deployment::Descope, input);
    let writes = s.descope_calls("POST", "/v1/mgmt/user/update/customAttribute").await;
    let dry = invoke(json!({"dryRun": true})).await;
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert_eq!(s.descope_calls("POST", "/v1/mgmt/user/update/customAttribute").await, writes, "dry run writes nothing");
    let run = invoke(json!({"dryRun": false})).await;
    assert_eq!(run.status, 200, "{}", run.body);
    println!("descope reconcile: dry run {}\nreal run {}", dry.body, run.body);
    for k in ["changed", "cleared"] {
        assert!(run.body[k].as_u64().unwrap() >= 1, "{k}: {}", run.body);
        assert_eq!(run.body[k], dry.body[k], "dry run predicted {k}: {} vs {}", dry.body, run.body);
    }
    let k = s.descope_user(&kept).await;
    assert_eq!(k["customAttributes"]["plan"], "pro");
    assert_eq!(project_roles(&k), vec!["billing-admin", "reader"]);
    let g = s.descope_user(&gone).await;
    assert_eq!(project_roles(&g), vec!["billing-admin"], "managed role taken back, hand-granted kept");
    assert!(record(&g).is_null());
    // Converged: a second run changes nothing.
    let again = invoke(json!({"dryRun": false})).await;
    assert_eq!((again.body["changed"].as_u64(), again.body["cleared"].as_u64()), (Some(0), Some(0)), "{}", again.body);
    s.mutate(json!([{"delete": {"id": kept_id}}])).await;
    s.idle().await;
}

/// A sync that dies half-way (Descope fails the role removal after the new role was assigned)
/// leaves a record that still claims both roles, so the next delivery finishes the job instead of
/// leaving the old role behind as if it had been granted by hand. The fault on the shared
/// role-removal path is scoped to the test's own login id.
#[tokio::test(flavor = "multi_thread")]
async fn descope_a_sync_interrupted_between_role_add_and_remove_is_finished_by_the_next() {
    let _stack = shared().await;
    ensure_plans().await;
    let s = stack();
    let login = s.create_descope_user(&["billing-admin"]).await;
    let t = Tgt { id: login.clone(), member: login.clone() };
    let id = format!("mp-i-{}", uid());
    s.mutate(json!([{"create": Deployment::Descope.rule(&id, &t, "pro", "eu", json!({"roles": roles(&["reader"])}))}])).await;
    s.idle().await;
    assert_eq!(project_roles(&s.descope_user(&login).await), vec!["billing-admin", "reader"]);

    s.descope_fault("POST", "/v1/mgmt/user/update/role/remove", json!({"status": 500, "match": login}), 1000).await;
    s.mutate(json!([{"patch": {"id": id, "set": {"roles": roles(&["editor"])}}}])).await;
    s.idle().await;
    let r = Deployment::Descope.deliver("publish-sync", &Deployment::Descope.event(&id, "update", Some(&t))).await;
    assert_eq!(r.status, 503, "{}", r.body);
    let u = s.descope_user(&login).await;
    assert_eq!(project_roles(&u), vec!["billing-admin", "editor", "reader"], "editor added, reader not yet removed");
    assert_eq!(record(&u)["added"], json!(["editor", "reader"]), "the record still owns both: {}", record(&u));

    s.clear_descope_fault("POST", "/v1/mgmt/user/update/role/remove", &login).await;
    let r = Deployment::Descope.deliver("publish-sync", &Deployment::Descope.event(&id, "update", Some(&t))).await;
    assert_eq!(r.body["outcome"], "synced", "{}", r.body);
    let u = s.descope_user(&login).await;
    assert_eq!(project_roles(&u), vec!["billing-admin", "editor"]);
    assert_eq!(record(&u)["added"], json!(["editor"]));
    s.mutate(json!([{"delete": {"id": id}}])).await;
    s.idle().await;
}

/// A plan's slug stored as a slug object or as a plain string syncs the same plan; any other
/// shape is refused with 422 naming the document and the field, and the rule's earlier grant is
/// then gone whole (an invalid rule grants nothing), never half-written.
#[tokio::test(flavor = "multi_thread")]
async fn slug_fields_in_either_shape_sync_alike_and_bad_shapes_are_refused_whole() {
    let _stack = shared().await;
    ensure_plans().await;
    let s = stack();
    for f in BOTH {
        let u = uid();
        let (ty, field) = if f == Deployment::B2b { ("plan", "slug") } else { ("accessPlan", "planSlug") };
        let plan = |id: &str, slug: Value| json!({"createOrReplace": {"_id": id, "_type": ty, "title": id, field: slug}});
        let (as_object, as_string, as_number) = (format!("p-obj-{u}"), format!("p-str-{u}"), format!("p-num-{u}"));
        let slug = format!("team-{u}");
        s.mutate(json!([plan(&as_object, json!({"_type": "slug", "current": slug})), plan(&as_string, json!(slug)), plan(&as_number, json!(5))])).await;
        let refer = |p: &str| json!({"plan": {"_type": "reference", "_ref": p}});
        let (t1, t2) = (f.target().await, f.target().await);
        let (r1, r2) = (format!("slug-a-{u}"), format!("slug-b-{u}"));
        s.mutate(json!([
            {"create": f.rule(&r1, &t1, "pro", "eu", refer(&as_object))},
            {"create": f.rule(&r2, &t2, "pro", "eu", refer(&as_string))},
        ]))
        .await;
        s.idle().await;
        for (r, t) in [(&r1, &t1), (&r2, &t2)] {
            let d = f.deliver("publish-sync", &f.event(r, "create", None)).await;
            assert!(d.status == 200, "{f:?}: {}", d.body);
            assert_eq!(f.synced(t).await, norm(&slug.clone().into(), &"eu".into(), &r.clone().into()), "{f:?}: both shapes sync the same plan");
        }
        let foreign = f.foreign(&t1).await;
        // The rule now points at a plan whose slug is a number.
        s.mutate(json!([{"patch": {"id": r1, "set": refer(&as_number)}}])).await;
        s.idle().await;
        let d = f.deliver("publish-sync", &f.event(&r1, "update", Some(&t1))).await;
        assert_eq!((d.status, d.body["error"].as_str()), (422, Some("invalid_rule")), "{f:?}: {}", d.body);
        let reason = d.body["reason"].as_str().unwrap();
        assert!(reason.contains(&r1) && reason.contains(field) && reason.contains("a number"), "{f:?}: names the document and the field: {reason}");
        assert_eq!(f.synced(&t1).await, Value::Null, "{f:?}: the invalid rule's grant is cleared whole");
        assert_eq!(f.foreign(&t1).await, foreign, "{f:?}: what gatehouse does not own stays");
        // Fixed again: synced again.
        s.mutate(json!([{"patch": {"id": r1, "set": refer(&as_string)}}])).await;
        s.idle().await;
        f.deliver("publish-sync", &f.event(&r1, "update", Some(&t1))).await;
        assert_eq!(f.synced(&t1).await, norm(&slug.clone().into(), &"eu".into(), &r1.clone().into()), "{f:?}");
        s.mutate(json!([{"delete": {"id": r1}}, {"delete": {"id": r2}}])).await;
        s.idle().await;
    }
}

/// A rule naming an organization, user or tenant that does not exist: 422 `target_not_found`
/// on every provider and target kind (docs/answers.md).
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_target_is_target_not_found_on_every_provider() {
    let _stack = shared().await;
    ensure_plans().await;
    let s = stack();
    let u = uid();
    let gone_uuid = format!("00000000-0000-4000-8000-{u}");
    let stytch_org = format!("sg-org-{u}");
    let stytch_user = format!("sg-user-{u}");
    let member = format!("sg-mp-{u}");
    let tenant = format!("sg-op-{u}");
    s.mutate(json!([
        {"create": rule(&stytch_org, Some(&format!("organization-test-{gone_uuid}")), None, json!({}))},
        {"create": rule(&stytch_user, None, Some(&format!("user-test-{gone_uuid}")), json!({}))},
        {"create": {"_id": member, "_type": "memberProfile", "descopeLoginId": format!("nobody-{u}@example.com"), "region": "eu"}},
        {"create": {"_id": tenant, "_type": "organizationProfile", "tenantId": format!("T2nope{u}"), "region": "eu"}},
    ]))
    .await;
    s.idle().await;
    let deliveries = [
        (s.function_url("publish-sync", B2b), event(&stytch_org, "r", "create", Value::Null)),
        (s.function_url("publish-sync", Consumer), event(&stytch_user, "r", "create", Value::Null)),
        (Deployment::Descope.function_url("publish-sync"), json!({"_id": member, "_type": "memberProfile", "before": null, "dataset": "production"})),
        (Deployment::Descope.function_url("publish-sync"), json!({"_id": tenant, "_type": "organizationProfile", "before": null, "dataset": "production"})),
    ];
    for (url, body) in deliveries {
        let text = body.to_string();
        let r = s.deliver_to(&url, &text, Some(&s.sign(&text))).await;
        assert_eq!((r.status, r.body["error"].as_str()), (422, Some("target_not_found")), "{}: {}", body["_id"], r.body);
    }
}
