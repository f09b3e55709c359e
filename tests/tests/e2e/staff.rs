//! Cross-tenant staff comes from configuration, never from a role a customer can assign
//! (SECURITY.md "Who can set what"). The stack configures one staff organization
//! (`PLATFORM_ORGANIZATION_IDS`) and one Descope staff tenant (`PLATFORM_TENANT_IDS`); every
//! scenario runs with the built-in rules (the stack's functions) and with the Cerbos policies (a
//! fresh container of the same binary asking the test PDP).

use gatehouse_tests::runtime_api::{RuntimeApi, url_event};
use serde_json::{Value, json};

use crate::common::*;

const STAFF_ROLE: &str = "gatehouse_platform_admin";

/// gated-content of one deployment, deciding with the built-in rules or with Cerbos.
enum Gate {
    Builtin(String),
    // Boxed: the Runtime API is large beside a URL (clippy::large_enum_variant).
    Cerbos(Box<RuntimeApi>, #[allow(dead_code)] tokio::process::Child),
}

impl Gate {
    async fn both(d: Deployment) -> [Gate; 2] {
        let url = stack().function_url("gated-content", d);
        let cerbos = cerbos_url();
        let (api, child) = container("gated-content", d, &[("AUTHZ", "cerbos"), ("CERBOS_URL", &cerbos)]).await;
        [Gate::Builtin(url), Gate::Cerbos(Box::new(api), child)]
    }

    fn name(&self) -> &'static str {
        match self {
            Gate::Builtin(_) => "builtin",
            Gate::Cerbos(..) => "cerbos",
        }
    }

    async fn get(&self, path_and_query: &str, token: &str) -> (u16, Value) {
        match self {
            Gate::Builtin(url) => {
                let r = stack().get_from(url, path_and_query, Some(token), &[]).await;
                (r.status, r.body)
            }
            Gate::Cerbos(api, _) => {
                let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
                let auth = format!("Bearer {token}");
                let r = invoke(api, url_event("GET", path, query, &[("authorization", &auth)], None)).await;
                let body = r["body"].as_str().and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
                (r["statusCode"].as_u64().unwrap_or(0) as u16, body)
            }
        }
    }

    /// Every document of `doc_type` the session may list, all pages.
    async fn list_all(&self, doc_type: &str, token: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        for _ in 0..200 {
            let q = if cursor.is_empty() { format!("/content?type={doc_type}&limit=100") } else { format!("/content?type={doc_type}&limit=100&cursor={cursor}") };
            let (status, body) = self.get(&q, token).await;
            assert_eq!(status, 200, "{}: list: {body}", self.name());
            out.extend(body["documents"].as_array().unwrap().iter().cloned());
            match body["next_cursor"].as_str() {
                Some(c) => cursor = c.to_string(),
                None => return out,
            }
        }
        panic!("more than 200 list pages");
    }
}

fn doc(id: &str, ty: &str, org: &str) -> Value {
    json!({"createOrReplace": {
        "_id": id, "_type": ty, "title": id, "slug": {"current": id}, "body": format!("body of {id}"),
        "organizationId": org, "requiredPlans": ["pro"], "regions": ["eu"]
    }})
}

fn ids_of(docs: &[Value]) -> Vec<&str> {
    docs.iter().filter_map(|d| d["_id"].as_str()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn stytch_staff_is_a_configured_organization_and_the_role_never_the_role_alone() {
    let _stack = shared().await;
    ensure_plans().await;
    let s = stack();
    let tag = uid();
    let (org_a, org_b) = (s.create_org(json!({})).await, s.create_org(json!({})).await);
    let (doc_a, doc_b) = (format!("staff-a-{tag}"), format!("staff-b-{tag}"));
    s.mutate(json!([doc(&doc_a, "article", &org_a), doc(&doc_b, "article", &org_b)])).await;
    s.mutate(json!([
        {"createOrReplace": rule(&format!("rule-staff-a-{tag}"), Some(&org_a), None, json!({}))},
        {"createOrReplace": rule(&format!("rule-staff-b-{tag}"), Some(&org_b), None, json!({}))},
    ]))
    .await;
    s.idle().await;
    let staff_org = s.var("STAFF_ORG").to_string();
    let session = async |org: &str, roles: &[&str]| {
        let member = stack().create_member(org, roles).await;
        stack().mint(json!({"organization_id": org, "member_id": member})).await
    };
    // A customer's own admin who gave themselves the staff role.
    let customer_admin = session(&org_a, &["stytch_admin", STAFF_ROLE]).await;
    let staff = session(&staff_org, &[STAFF_ROLE]).await;
    let staff_without_role = session(&staff_org, &[]).await;

    for gate in Gate::both(B2b).await {
        let g = gate.name();
        let read = async |slug: &str, token: &str| gate.get(&format!("/content/{slug}"), token).await.0;
        assert_eq!(read(&doc_a, &customer_admin).await, 200, "{g}: the admin reads its own organization's document");
        assert_eq!(read(&doc_b, &customer_admin).await, 404, "{g}: the staff role alone opens no other organization");
        let listed = gate.list_all("article", &customer_admin).await;
        assert!(ids_of(&listed).contains(&doc_a.as_str()), "{g}");
        let foreign: Vec<&Value> = listed.iter().filter(|d| d["organizationId"].as_str().is_some_and(|o| !o.is_empty() && o != org_a)).collect();
        assert!(foreign.is_empty(), "{g}: another organization's documents in the customer admin's list: {foreign:?}");

        assert_eq!(read(&doc_a, &staff).await, 200, "{g}: staff read across organizations");
        assert_eq!(read(&doc_b, &staff).await, 200, "{g}");
        let listed = gate.list_all("article", &staff).await;
        assert!(ids_of(&listed).contains(&doc_a.as_str()) && ids_of(&listed).contains(&doc_b.as_str()), "{g}: staff list both");

        // A member of the staff organization without the role: an ordinary member there (the
        // staff organization has no rule, so public documents only).
        assert_eq!(read(&doc_a, &staff_without_role).await, 404, "{g}");
        assert_eq!(read(&doc_b, &staff_without_role).await, 404, "{g}");
        let listed = gate.list_all("article", &staff_without_role).await;
        assert!(listed.iter().all(|d| d["organizationId"].as_str().unwrap_or("").is_empty()), "{g}: public documents only");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn descope_staff_is_a_project_role_in_the_staff_tenant_never_a_tenant_role() {
    let _stack = shared().await;
    ensure_plans().await;
    let s = stack();
    let tag = uid();
    let (tenant_a, tenant_b) = (s.create_tenant().await, s.create_tenant().await);
    let staff_tenant = s.var("STAFF_TENANT").to_string();
    let page_b = format!("dstaff-b-{tag}");
    s.mutate(json!([doc(&page_b, "gatedPage", &tenant_b)])).await;
    let join = async |login: &str, tenant: &str| {
        let r = stack().descope(reqwest::Method::POST, "/v1/mgmt/user/update/tenant/add", Some(json!({"loginId": login, "tenantId": tenant}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
    };
    let session = async |login: &str, tenant: &str| {
        stack().descope_mint(json!({"login_id": login, "tenant": tenant})).await["session_jwt"].as_str().unwrap().to_string()
    };
    // A tenant admin gave themselves a tenant role spelled like the staff role.
    let tenant_admin = s.create_descope_user(&[]).await;
    s.descope_grant(&tenant_admin, &[STAFF_ROLE], Some(&tenant_a)).await;
    let tenant_role = session(&tenant_admin, &tenant_a).await;
    // Staff: the project-level role, working in the staff tenant; the same user in a customer
    // tenant is not staff there (PLATFORM_TENANT_IDS).
    let staff_user = s.create_descope_user(&[STAFF_ROLE]).await;
    join(&staff_user, &staff_tenant).await;
    join(&staff_user, &tenant_a).await;
    let staff = session(&staff_user, &staff_tenant).await;
    let staff_elsewhere = session(&staff_user, &tenant_a).await;

    for gate in Gate::both(Deployment::Descope).await {
        let g = gate.name();
        let read = async |token: &str| gate.get(&format!("/content/{page_b}"), token).await.0;
        assert_eq!(read(&tenant_role).await, 404, "{g}: a tenant role spelled like the staff role grants nothing");
        assert!(!ids_of(&gate.list_all("gatedPage", &tenant_role).await).contains(&page_b.as_str()), "{g}");
        assert_eq!(read(&staff).await, 200, "{g}: project-level staff in the staff tenant read across tenants");
        assert!(ids_of(&gate.list_all("gatedPage", &staff).await).contains(&page_b.as_str()), "{g}");
        assert_eq!(read(&staff_elsewhere).await, 404, "{g}: staff only while working in the staff tenant");
    }
}
