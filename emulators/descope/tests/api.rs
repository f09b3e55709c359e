//! End-to-end tests of the emulator over real HTTP (in-process server on an ephemeral port).

use std::time::{Duration, Instant};

use descope_emulator::Config;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const PID: &str = "P2testproject000000000000000000";
const KEY: &str = "K2test-key";

struct Emu {
    base: String,
    http: Client,
}

fn config() -> Config {
    let mut c = Config::new(PID, KEY);
    c.seed = Some(json!({
        "customAttributes": [
            {"name": "plan", "type": 1},
            {"name": "region", "type": "text"},
            {"name": "gatehouseSync", "type": 1},
            {"name": "seats", "type": 2},
            {"name": "beta", "type": 3},
            {"name": "tags", "type": 5},
        ],
        "tenantCustomAttributes": [{"name": "tier", "type": 1}, {"name": "size", "type": 2}],
        "tenants": [{"id": "T-acme", "name": "Acme"}],
        "roles": [
            {"name": "reader", "permissionNames": ["read"]},
            {"name": "editor", "permissionNames": ["read", "write"]},
            {"name": "acme-admin", "tenantId": "T-acme", "permissionNames": ["admin"]},
        ],
        "users": [{"loginId": "seeded@example.com", "userId": "U2seeded", "email": "seeded@example.com",
                   "roleNames": ["reader"], "userTenants": [{"tenantId": "T-acme", "roleNames": ["acme-admin"]}]}],
    }));
    c
}

async fn start_with(c: Config) -> Emu {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(descope_emulator::serve(listener, c));
    Emu { base, http: Client::new() }
}

async fn start() -> Emu {
    start_with(config()).await
}

impl Emu {
    async fn raw(&self, method: Method, path: &str, auth: Option<&str>, body: Option<Value>) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut rb = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(a) = auth {
            rb = rb.header("authorization", a);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        let s = r.status();
        let h = r.headers().clone();
        let text = r.text().await.unwrap();
        (s, h, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
    async fn mgmt(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let (s, _, v) = self.raw(method, path, Some(&format!("Bearer {PID}:{KEY}")), body).await;
        (s, v)
    }
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.mgmt(Method::POST, path, Some(body)).await
    }
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.mgmt(Method::GET, path, None).await
    }
    async fn ok(&self, path: &str, body: Value) -> Value {
        let (s, v) = self.post(path, body).await;
        assert_eq!(s, 200, "{path}: {v}");
        v
    }
    async fn control(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, _, v) = self.raw(Method::POST, path, None, Some(body)).await;
        (s, v)
    }
    async fn create_user(&self, login: &str, extra: Value) -> Value {
        let mut b = json!({"loginId": login, "email": login});
        if let (Value::Object(m), Value::Object(e)) = (&mut b, extra) {
            m.extend(e);
        }
        self.ok("/v1/mgmt/user/create", b).await["user"].clone()
    }
}

fn assert_err(s: StatusCode, v: &Value, status: u16, code: &str) {
    assert_eq!(s.as_u16(), status, "{v}");
    assert_eq!(v["errorCode"], code, "{v}");
    assert!(v["errorDescription"].is_string(), "{v}");
    assert!(v["errorMessage"].is_string(), "{v}");
}

#[tokio::test]
async fn management_auth_is_required() {
    let e = start().await;
    for auth in [
        None,
        Some(format!("Bearer {PID}")),
        Some(format!("Bearer {PID}:wrong")),
        Some(format!("Bearer P2other:{KEY}")),
        Some(format!("Basic {PID}:{KEY}")),
    ] {
        let (s, _, v) = e.raw(Method::GET, "/v1/mgmt/user?loginId=seeded@example.com", auth.as_deref(), None).await;
        assert_err(s, &v, 401, "E011003");
    }
    let (s, v) = e.get("/v1/mgmt/user?loginId=seeded@example.com").await;
    assert_eq!(s, 200, "{v}");
    // JWKS needs no auth
    let (s, _, v) = e.raw(Method::GET, &format!("/v2/keys/{PID}"), None, None).await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn user_load_and_create() {
    let e = start().await;
    let (s, v) = e.get("/v1/mgmt/user?loginId=seeded@example.com").await;
    assert_eq!(s, 200);
    let u = &v["user"];
    assert_eq!(u["userId"], "U2seeded");
    assert_eq!(u["loginIds"], json!(["seeded@example.com"]));
    assert_eq!(u["roleNames"], json!(["reader"]));
    assert_eq!(u["status"], "enabled");
    assert_eq!(
        u["userTenants"],
        json!([{"tenantId": "T-acme", "tenantName": "Acme", "roleNames": ["acme-admin"], "permissions": ["admin"]}])
    );
    // by user id, via loginId or userId
    assert_eq!(e.get("/v1/mgmt/user?loginId=U2seeded").await.1["user"]["userId"], "U2seeded");
    assert_eq!(e.get("/v1/mgmt/user?userId=U2seeded").await.1["user"]["userId"], "U2seeded");
    let (s, v) = e.get("/v1/mgmt/user?loginId=nobody").await;
    assert_err(s, &v, 400, "E112102");
    let (s, v) = e.get("/v1/mgmt/user").await;
    assert_err(s, &v, 400, "E011002");

    let u = e.create_user("new@example.com", json!({"name": "New", "roleNames": ["editor"], "customAttributes": {"plan": "pro"}})).await;
    let id = u["userId"].as_str().unwrap();
    assert!(id.starts_with("U2") && id.len() == 29, "{id}");
    assert_eq!(u["customAttributes"], json!({"plan": "pro"}));
    assert_eq!(u["permissions"], json!(["read", "write"]));
    let (s, v) = e.post("/v1/mgmt/user/create", json!({"loginId": "new@example.com"})).await;
    assert_err(s, &v, 400, "E062107");
    let (s, v) = e.post("/v1/mgmt/user/create", json!({"email": "x@example.com"})).await;
    assert_err(s, &v, 400, "E011002");
    let (s, v) = e.post("/v1/mgmt/user/create", json!({"loginId": "r@example.com", "roleNames": ["ghost"]})).await;
    assert_err(s, &v, 400, "E011003");
    assert!(v["errorMessage"].as_str().unwrap().contains("ghost"));
    let (s, v) = e.post("/v1/mgmt/user/create", json!({"loginId": "c@example.com", "customAttributes": {"nope": 1}})).await;
    assert_err(s, &v, 400, "E011003");
    // nothing half-created
    let (s, v) = e.get("/v1/mgmt/user?loginId=c@example.com").await;
    assert_err(s, &v, 400, "E112102");
    let (s, v) = e.post("/v1/mgmt/user/create", json!([1])).await;
    assert_err(s, &v, 400, "E011001");
    let r = e
        .http
        .post(format!("{}/v1/mgmt/user/create", e.base))
        .header("authorization", format!("Bearer {PID}:{KEY}"))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E011001");
}

#[tokio::test]
async fn custom_attributes_read_modify() {
    let e = start().await;
    let (s, v) = e.get("/v1/mgmt/user/customattributes").await;
    assert_eq!(s, 200);
    let names: Vec<&str> = v["data"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"plan") && names.contains(&"gatehouseSync"), "{v}");

    let set = |k: &str, val: Value| json!({"loginId": "seeded@example.com", "attributeKey": k, "attributeValue": val});
    let v = e.ok("/v1/mgmt/user/update/customAttribute", set("plan", json!("pro"))).await;
    assert_eq!(v["user"]["customAttributes"]["plan"], "pro");
    let sync = r#"{"documentId":"d1","rev":"r1","roles":["reader"],"tenantId":"T-acme"}"#;
    let v = e.ok("/v1/mgmt/user/update/customAttribute", set("gatehouseSync", json!(sync))).await;
    assert_eq!(v["user"]["customAttributes"], json!({"plan": "pro", "gatehouseSync": sync}));
    e.ok("/v1/mgmt/user/update/customAttribute", set("seats", json!(5))).await;
    e.ok("/v1/mgmt/user/update/customAttribute", set("beta", json!(true))).await;
    e.ok("/v1/mgmt/user/update/customAttribute", set("tags", json!(["a", "b"]))).await;
    // by user id too
    let v = e
        .ok("/v1/mgmt/user/update/customAttribute", json!({"loginId": "U2seeded", "attributeKey": "region", "attributeValue": "eu"}))
        .await;
    assert_eq!(v["user"]["customAttributes"]["region"], "eu");
    // null clears
    let v = e.ok("/v1/mgmt/user/update/customAttribute", set("plan", Value::Null)).await;
    assert!(v["user"]["customAttributes"].get("plan").is_none(), "{v}");

    // undefined attribute: error naming it, nothing changes
    let (s, v) = e.post("/v1/mgmt/user/update/customAttribute", set("undefinedKey", json!("x"))).await;
    assert_err(s, &v, 400, "E011003");
    assert!(v["errorMessage"].as_str().unwrap().contains("undefinedKey"), "{v}");
    // type mismatches
    for (k, bad) in [("seats", json!("5")), ("beta", json!("yes")), ("tags", json!("a")), ("region", json!(3))] {
        let (s, v) = e.post("/v1/mgmt/user/update/customAttribute", set(k, bad)).await;
        assert_err(s, &v, 400, "E011003");
        assert!(v["errorMessage"].as_str().unwrap().contains(k), "{v}");
    }
    let (s, v) = e.post("/v1/mgmt/user/update/customAttribute", json!({"loginId": "nobody", "attributeKey": "plan", "attributeValue": "x"})).await;
    assert_err(s, &v, 400, "E112102");
    let (s, v) = e.post("/v1/mgmt/user/update/customAttribute", json!({"loginId": "seeded@example.com", "attributeValue": "x"})).await;
    assert_err(s, &v, 400, "E011002");
    let u = e.get("/v1/mgmt/user?loginId=seeded@example.com").await.1;
    assert_eq!(u["user"]["customAttributes"], json!({"gatehouseSync": sync, "seats": 5, "beta": true, "tags": ["a", "b"], "region": "eu"}));

    // defining a new attribute makes it writable
    let v = e.ok("/v1/mgmt/user/customattribute/create", json!({"attributes": [{"name": "undefinedKey", "type": 1}]})).await;
    assert!(v["data"].as_array().unwrap().iter().any(|d| d["name"] == "undefinedKey"));
    e.ok("/v1/mgmt/user/update/customAttribute", set("undefinedKey", json!("x"))).await;
    let (s, v) = e.post("/v1/mgmt/user/customattribute/create", json!({"attributes": [{"name": "plan"}]})).await;
    assert_err(s, &v, 400, "E011003");
}

#[tokio::test]
async fn roles_project_and_tenant() {
    let e = start().await;
    e.create_user("r@example.com", json!({})).await;
    let path_set = "/v1/mgmt/user/update/role/set";
    let path_add = "/v2/mgmt/user/update/role/add";
    let path_rm = "/v1/mgmt/user/update/role/remove";
    let v = e.ok(path_set, json!({"loginId": "r@example.com", "roleNames": ["reader"]})).await;
    assert_eq!(v["user"]["roleNames"], json!(["reader"]));
    let v = e.ok(path_add, json!({"loginId": "r@example.com", "roleNames": ["editor", "reader"]})).await;
    assert_eq!(v["user"]["roleNames"], json!(["reader", "editor"]));
    let v = e.ok(path_rm, json!({"loginId": "r@example.com", "roleNames": ["reader"]})).await;
    assert_eq!(v["user"]["roleNames"], json!(["editor"]));
    let v = e.ok(path_set, json!({"loginId": "r@example.com", "roleNames": []})).await;
    assert_eq!(v["user"]["roleNames"], json!([]));
    // unknown role
    let (s, v) = e.post(path_add, json!({"loginId": "r@example.com", "roleNames": ["ghost"]})).await;
    assert_err(s, &v, 400, "E011003");
    // a tenant-scoped role is not a project role
    let (s, v) = e.post(path_add, json!({"loginId": "r@example.com", "roleNames": ["acme-admin"]})).await;
    assert_err(s, &v, 400, "E011003");
    let (s, v) = e.post(path_add, json!({"loginId": "nobody", "roleNames": ["reader"]})).await;
    assert_err(s, &v, 400, "E112102");

    // tenant roles: add associates the user with the tenant; project + tenant roles allowed
    let v = e.ok(path_add, json!({"loginId": "r@example.com", "tenantId": "T-acme", "roleNames": ["acme-admin", "reader"]})).await;
    assert_eq!(v["user"]["roleNames"], json!([]));
    assert_eq!(v["user"]["userTenants"][0]["roleNames"], json!(["acme-admin", "reader"]));
    assert_eq!(v["user"]["userTenants"][0]["permissions"], json!(["admin", "read"]));
    let v = e.ok(path_rm, json!({"loginId": "r@example.com", "tenantId": "T-acme", "roleNames": ["acme-admin"]})).await;
    assert_eq!(v["user"]["userTenants"][0]["roleNames"], json!(["reader"]));
    let v = e.ok(path_set, json!({"loginId": "r@example.com", "tenantId": "T-acme", "roleNames": ["editor"]})).await;
    assert_eq!(v["user"]["userTenants"][0]["roleNames"], json!(["editor"]));
    let (s, v) = e.post(path_set, json!({"loginId": "r@example.com", "tenantId": "T-none", "roleNames": ["editor"]})).await;
    assert_err(s, &v, 400, "E011003");

    // tenant membership
    let v = e.ok("/v1/mgmt/user/update/tenant/remove", json!({"loginId": "r@example.com", "tenantId": "T-acme"})).await;
    assert_eq!(v["user"]["userTenants"], json!([]));
    let v = e.ok("/v1/mgmt/user/update/tenant/add", json!({"loginId": "r@example.com", "tenantId": "T-acme"})).await;
    assert_eq!(v["user"]["userTenants"], json!([{"tenantId": "T-acme", "tenantName": "Acme", "roleNames": [], "permissions": []}]));
    let (s, v) = e.post("/v1/mgmt/user/update/tenant/add", json!({"loginId": "r@example.com", "tenantId": "T-none"})).await;
    assert_err(s, &v, 400, "E011003");

    // role catalogue
    e.ok("/v1/mgmt/role/create", json!({"name": "viewer", "description": "v", "permissionNames": ["read"]})).await;
    let (s, v) = e.post("/v1/mgmt/role/create", json!({"name": "viewer"})).await;
    assert_err(s, &v, 400, "E011003");
    let (s, v) = e.get("/v1/mgmt/role/all").await;
    assert_eq!(s, 200);
    let viewer = v["roles"].as_array().unwrap().iter().find(|r| r["name"] == "viewer").unwrap().clone();
    assert_eq!(viewer["permissionNames"], json!(["read"]));
    assert_eq!(viewer["description"], "v");
    assert!(viewer["createdTime"].is_number());
    let v = e.ok("/v1/mgmt/role/search", json!({"tenantIds": ["T-acme"]})).await;
    assert_eq!(v["roles"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn tenant_update_overwrites_everything() {
    let e = start().await;
    let v = e
        .ok(
            "/v1/mgmt/tenant/create",
            json!({"name": "Globex", "selfProvisioningDomains": ["globex.com"], "customAttributes": {"tier": "gold", "size": 10}}),
        )
        .await;
    let id = v["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("T2"), "{v}");
    let (s, t) = e.get(&format!("/v1/mgmt/tenant?id={id}")).await;
    assert_eq!(s, 200);
    assert_eq!(t["id"], json!(id)); // not wrapped
    assert_eq!(t["name"], "Globex");
    assert_eq!(t["selfProvisioningDomains"], json!(["globex.com"]));
    assert_eq!(t["customAttributes"], json!({"tier": "gold", "size": 10}));

    // update with only the name: domains and attributes are cleared
    let (s, v) = e.post("/v1/mgmt/tenant/update", json!({"id": id, "name": "Globex Corp"})).await;
    assert_eq!(s, 200);
    assert_eq!(v, json!({}));
    let t = e.get(&format!("/v1/mgmt/tenant?id={id}")).await.1;
    assert_eq!(t["name"], "Globex Corp");
    assert_eq!(t["selfProvisioningDomains"], json!([]));
    assert_eq!(t["customAttributes"], json!({}));
    // the safe way: send everything back
    e.ok("/v1/mgmt/tenant/update", json!({"id": id, "name": "Globex Corp", "selfProvisioningDomains": ["globex.com"], "customAttributes": {"tier": "silver"}})).await;
    let t = e.get(&format!("/v1/mgmt/tenant?id={id}")).await.1;
    assert_eq!(t["customAttributes"], json!({"tier": "silver"}));
    assert_eq!(t["selfProvisioningDomains"], json!(["globex.com"]));

    let (s, v) = e.post("/v1/mgmt/tenant/update", json!({"id": id, "name": "G", "customAttributes": {"undefinedTenantAttr": 1}})).await;
    assert_err(s, &v, 400, "E011003");
    assert!(v["errorMessage"].as_str().unwrap().contains("undefinedTenantAttr"));
    let (s, v) = e.post("/v1/mgmt/tenant/update", json!({"id": id, "name": "G", "customAttributes": {"size": "big"}})).await;
    assert_err(s, &v, 400, "E011003");
    let (s, v) = e.post("/v1/mgmt/tenant/update", json!({"id": "T-none", "name": "x"})).await;
    assert_err(s, &v, 400, "E011003");
    let (s, v) = e.post("/v1/mgmt/tenant/update", json!({"id": id})).await;
    assert_err(s, &v, 400, "E011002");
    let (s, v) = e.get("/v1/mgmt/tenant?id=T-none").await;
    assert_err(s, &v, 400, "E011003");
    let (s, v) = e.post("/v1/mgmt/tenant/create", json!({"id": "T-acme", "name": "Other"})).await;
    assert_err(s, &v, 400, "E011003");

    let (s, v) = e.get("/v1/mgmt/tenant/all").await;
    assert_eq!(s, 200);
    assert_eq!(v["tenants"].as_array().unwrap().len(), 2);
    let v = e.ok("/v1/mgmt/tenant/search", json!({"customAttributes": {"tier": "silver"}})).await;
    assert_eq!(v["tenants"].as_array().unwrap().len(), 1);
    assert_eq!(v["tenants"][0]["id"], json!(id));
    let v = e.ok("/v1/mgmt/tenant/search", json!({"tenantIds": ["T-acme"]})).await;
    assert_eq!(v["tenants"][0]["name"], "Acme");
}

#[tokio::test]
async fn user_search_paging_and_filters() {
    let e = start().await;
    for i in 0..7 {
        let mut extra = json!({"customAttributes": {"plan": if i % 2 == 0 { "pro" } else { "free" }}});
        if i < 3 {
            extra["userTenants"] = json!([{"tenantId": "T-acme", "roleNames": ["editor"]}]);
        }
        e.create_user(&format!("u{i}@example.com"), extra).await;
    }
    e.ok("/v1/mgmt/user/create/test", json!({"loginId": "test@example.com"})).await;
    let v = e.ok("/v2/mgmt/user/search", json!({})).await;
    assert_eq!(v["total"], 8); // 7 + seeded, test user excluded
    let v = e.ok("/v2/mgmt/user/search", json!({"withTestUser": true})).await;
    assert_eq!(v["total"], 9);

    let mut seen = Vec::new();
    for page in 0..4 {
        let v = e.ok("/v2/mgmt/user/search", json!({"limit": 3, "page": page})).await;
        assert_eq!(v["total"], 8);
        let users = v["users"].as_array().unwrap();
        assert_eq!(users.len(), [3, 3, 2, 0][page], "page {page}");
        seen.extend(users.iter().map(|u| u["userId"].as_str().unwrap().to_string()));
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 8);

    let v = e.ok("/v2/mgmt/user/search", json!({"tenantIds": ["T-acme"]})).await;
    assert_eq!(v["total"], 4); // u0..u2 + seeded
    let v = e.ok("/v2/mgmt/user/search", json!({"customAttributes": {"plan": "pro"}})).await;
    assert_eq!(v["total"], 4);
    let v = e.ok("/v2/mgmt/user/search", json!({"customAttributes": {"plan": ["pro", "free"]}, "tenantIds": ["T-acme"]})).await;
    assert_eq!(v["total"], 3);
    let v = e.ok("/v2/mgmt/user/search", json!({"roleNames": ["editor"]})).await;
    assert_eq!(v["total"], 3);
    let v = e.ok("/v2/mgmt/user/search", json!({"loginIds": ["u4@example.com"]})).await;
    assert_eq!(v["users"][0]["loginIds"], json!(["u4@example.com"]));
    let v = e.ok("/v2/mgmt/user/search", json!({"tenantRoleNames": {"T-acme": {"values": ["acme-admin"]}}})).await;
    assert_eq!(v["total"], 1);
    let (s, v) = e.post("/v2/mgmt/user/search", json!({"limit": -1})).await;
    assert_err(s, &v, 400, "E011004");
}

#[tokio::test]
async fn faults_and_counters() {
    let e = start().await;
    let (s, _) = e
        .control("/__gatehouse/faults", json!({"method": "POST", "path": "/v1/mgmt/user/update/*", "status": 429, "count": 2, "retry_after": 7}))
        .await;
    assert_eq!(s, 200);
    let body = json!({"loginId": "seeded@example.com", "attributeKey": "plan", "attributeValue": "pro"});
    for _ in 0..2 {
        let (s, h, v) = e
            .raw(Method::POST, "/v1/mgmt/user/update/customAttribute", Some(&format!("Bearer {PID}:{KEY}")), Some(body.clone()))
            .await;
        assert_err(s, &v, 429, "E130429");
        assert_eq!(h.get("retry-after").unwrap(), "7");
    }
    e.ok("/v1/mgmt/user/update/customAttribute", body.clone()).await;

    e.control("/__gatehouse/faults", json!({"path": "/v1/mgmt/tenant/all", "status": 503})).await;
    let (s, v) = e.get("/v1/mgmt/tenant/all").await;
    assert_eq!(s, 503, "{v}");
    assert!(v["errorCode"].is_string());
    e.control("/__gatehouse/faults", json!({"method": "GET", "path": "/v1/mgmt/tenant/all", "hang_ms": 300})).await;
    let t0 = Instant::now();
    assert_eq!(e.get("/v1/mgmt/tenant/all").await.0, 200);
    assert!(t0.elapsed() >= Duration::from_millis(300));

    let (s, _, v) = e.raw(Method::GET, "/__gatehouse/calls", None, None).await;
    assert_eq!(s, 200);
    let count = |m: &str, p: &str| {
        v["calls"].as_array().unwrap().iter().find(|c| c["method"] == m && c["path"] == p).map(|c| c["count"].as_u64().unwrap())
    };
    assert_eq!(count("POST", "/v1/mgmt/user/update/customAttribute"), Some(3));
    assert_eq!(count("GET", "/v1/mgmt/tenant/all"), Some(2));
    assert_eq!(count("POST", "/__gatehouse/faults"), None);

    // reset: back to the seed, counters cleared
    e.create_user("gone@example.com", json!({})).await;
    e.control("/__gatehouse/reset", json!({})).await;
    let (s, v) = e.get("/v1/mgmt/user?loginId=gone@example.com").await;
    assert_err(s, &v, 400, "E112102");
    let u = e.get("/v1/mgmt/user?loginId=seeded@example.com").await.1;
    assert_eq!(u["user"]["customAttributes"], json!({}));
    let (_, _, v) = e.raw(Method::GET, "/__gatehouse/calls", None, None).await;
    assert_eq!(v["calls"].as_array().unwrap().len(), 1); // just the GET above
}

#[tokio::test]
async fn built_in_rate_limit() {
    let mut c = config();
    c.rate_limit = Some((3, 60));
    let e = start_with(c).await;
    for _ in 0..3 {
        assert_eq!(e.get("/v1/mgmt/user?loginId=U2seeded").await.0, 200);
    }
    let (s, h, v) = e.raw(Method::GET, "/v1/mgmt/user?loginId=U2seeded", Some(&format!("Bearer {PID}:{KEY}")), None).await;
    assert_err(s, &v, 429, "E130429");
    let ra: u64 = h.get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!(ra > 0 && ra <= 60);
    // other APIs are not limited
    assert_eq!(e.get("/v1/mgmt/tenant/all").await.0, 200);
}

async fn jwks(e: &Emu) -> JwkSet {
    let (s, _, v) = e.raw(Method::GET, &format!("/v2/keys/{PID}"), None, None).await;
    assert_eq!(s, 200);
    for k in v["keys"].as_array().unwrap() {
        let mut fields: Vec<&str> = k.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort();
        assert_eq!(fields, ["alg", "e", "kid", "kty", "n", "use"]);
        assert_eq!(k["alg"], "RS256");
        assert_eq!(k["use"], "sig");
    }
    serde_json::from_value(v).unwrap()
}

fn verify(set: &JwkSet, jwt: &str) -> Value {
    let header = decode_header(jwt).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let kid = header.kid.unwrap();
    let jwk = set.find(&kid).expect("kid in JWKS");
    let mut val = Validation::new(Algorithm::RS256);
    val.leeway = 0;
    val.validate_aud = false;
    val.set_required_spec_claims(&["exp", "sub", "iss"]);
    val.set_issuer(&[format!("https://api.descope.com/{PID}")]);
    decode::<Value>(jwt, &DecodingKey::from_jwk(jwk).unwrap(), &val).unwrap().claims
}

#[tokio::test]
async fn minted_sessions_verify_against_jwks() {
    let e = start().await;
    let (s, v) = e
        .control("/__gatehouse/sessions", json!({"login_id": "seeded@example.com", "authentication_factors": ["email", "totp"], "refresh": true}))
        .await;
    assert_eq!(s, 200, "{v}");
    let set = jwks(&e).await;
    let c = verify(&set, v["session_jwt"].as_str().unwrap());
    assert_eq!(c["drn"], "DS");
    assert_eq!(c["sub"], "U2seeded");
    assert_eq!(c["amr"], json!(["email", "totp"]));
    assert_eq!(c["roles"], json!(["reader"]));
    assert_eq!(c["permissions"], json!(["read"]));
    assert_eq!(c["tenants"], json!({"T-acme": {"roles": ["acme-admin"], "permissions": ["admin"]}}));
    assert!(c.get("dct").is_none());
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 300);
    assert_eq!(v["expires_at"], c["exp"]);
    assert_eq!(v["session_token"], v["session_jwt"]);

    let r = verify(&set, v["refresh_jwt"].as_str().unwrap());
    assert_eq!(r["drn"], "DSR");
    assert_eq!(r["sub"], "U2seeded");

    // tenant selection and overrides
    let (_, v) = e
        .control(
            "/__gatehouse/sessions",
            json!({"user_id": "U2seeded", "tenant": "T-acme", "roles": ["editor"], "ttl_s": 60, "aud": PID}),
        )
        .await;
    let c = verify(&set, v["session_jwt"].as_str().unwrap());
    assert_eq!(c["dct"], "T-acme");
    assert_eq!(c["roles"], json!(["editor"]));
    assert_eq!(c["permissions"], json!(["read", "write"]));
    assert_eq!(c["aud"], PID);
    assert_eq!(c["amr"], json!(["email"]));
    let (_, v) = e.control("/__gatehouse/sessions", json!({"login_id": "U2seeded", "tenant": "T-acme", "dct_only": true})).await;
    let c = verify(&set, v["session_jwt"].as_str().unwrap());
    assert!(c.get("tenants").is_none());
    assert_eq!(c["roles"], json!(["acme-admin"]));
    assert_eq!(c["permissions"], json!(["admin"]));
    let (s, v) = e.control("/__gatehouse/sessions", json!({"login_id": "U2seeded", "tenant": "T-other"})).await;
    assert_err(s, &v, 400, "E011003");
    let (s, v) = e.control("/__gatehouse/sessions", json!({"login_id": "nobody"})).await;
    assert_err(s, &v, 400, "E112102");

    // refresh endpoint: a refresh JWT buys a new session; a session JWT does not
    let (_, v) = e.control("/__gatehouse/sessions", json!({"login_id": "U2seeded", "refresh": true})).await;
    let (s, _, r) = e
        .raw(Method::POST, "/v1/auth/refresh", Some(&format!("Bearer {PID}:{}", v["refresh_jwt"].as_str().unwrap())), Some(json!({})))
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(verify(&set, r["sessionJwt"].as_str().unwrap())["drn"], "DS");
    let (s, _, r) = e
        .raw(Method::POST, "/v1/auth/refresh", Some(&format!("Bearer {PID}:{}", v["session_jwt"].as_str().unwrap())), Some(json!({})))
        .await;
    assert_err(s, &r, 401, "E011003");

    // key rotation: old key stays published unless removed
    let old_kid = decode_header(v["session_jwt"].as_str().unwrap()).unwrap().kid.unwrap();
    let (s, rot) = e.control("/__gatehouse/keys/rotate", json!({})).await;
    assert_eq!(s, 200);
    assert_ne!(rot["kid"], json!(old_kid));
    let set = jwks(&e).await;
    assert!(set.find(&old_kid).is_some());
    let (_, v) = e.control("/__gatehouse/sessions", json!({"login_id": "U2seeded"})).await;
    assert_eq!(decode_header(v["session_jwt"].as_str().unwrap()).unwrap().kid.unwrap(), rot["kid"].as_str().unwrap());
    e.control("/__gatehouse/keys/rotate", json!({"remove_previous": true})).await;
    assert_eq!(jwks(&e).await.keys.len(), 1);
    let (s, _, v) = e.raw(Method::GET, "/v2/keys/P2other", None, None).await;
    assert_err(s, &v, 400, "E011003");
}

#[tokio::test]
async fn seed_control_endpoint_and_unknown_routes() {
    let e = start().await;
    let (s, v) = e
        .control(
            "/__gatehouse/seed",
            json!({"tenants": [{"id": "T-new", "name": "New"}], "users": [{"loginId": "s2@example.com", "userTenants": [{"tenantId": "T-new"}]}]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(e.get("/v1/mgmt/user?loginId=s2@example.com").await.1["user"]["userTenants"][0]["tenantName"], "New");
    // a failing seed changes nothing
    let (s, v) = e
        .control("/__gatehouse/seed", json!({"tenants": [{"id": "T-x", "name": "X"}], "users": [{"loginId": "bad", "roleNames": ["ghost"]}]}))
        .await;
    assert_err(s, &v, 400, "E011003");
    assert_eq!(e.get("/v1/mgmt/tenant?id=T-x").await.0, 400);

    let (s, v) = e.get("/v1/mgmt/nothing").await;
    assert_eq!(s, 404, "{v}");
    let (s, v) = e.mgmt(Method::GET, "/v1/mgmt/user/create", None).await;
    assert_eq!(s, 405, "{v}");
    let (s, v) = e.get("/v1/mgmt/license").await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn example_seed_file_applies() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/seed.example.json")).unwrap();
    let mut c = Config::new(PID, KEY);
    c.seed = Some(serde_json::from_str(&text).unwrap());
    let e = start_with(c).await;
    let (s, v) = e.get("/v1/mgmt/user?loginId=ada@acme.example").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["user"]["userId"], "U2ada0000000000000000000000000");
    assert_eq!(v["user"]["userTenants"][0]["permissions"], json!(["tenant.admin", "content.read", "content.write"]));
    let (_, v) = e.control("/__gatehouse/sessions", json!({"login_id": "ada@acme.example"})).await;
    let c = verify(&jwks(&e).await, v["session_jwt"].as_str().unwrap());
    assert_eq!(c["tenants"]["T2acme000000000000000000000000"]["roles"], json!(["acme-admin", "editor"]));
}
