//! End-to-end tests of the emulator over real HTTP (in-process server on an ephemeral port).

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use stytch_emulator::Config;

const B2B: &str = "project-test-11111111-1111-4111-8111-111111111111";
const CONSUMER: &str = "project-test-22222222-2222-4222-8222-222222222222";
const SECRET: &str = "secret-test-local";

struct Emu {
    base: String,
    http: Client,
}

async fn start() -> Emu {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(stytch_emulator::serve(listener, Config::default()));
    Emu { base, http: Client::new() }
}

impl Emu {
    async fn call(&self, project: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut rb = self.http.request(method, format!("{}{}", self.base, path)).basic_auth(project, Some(SECRET));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        let s = r.status();
        (s, r.json().await.unwrap())
    }
    async fn b2b(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(B2B, method, path, body).await
    }
    async fn consumer(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(CONSUMER, method, path, body).await
    }
    async fn control(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut rb = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        let s = r.status();
        (s, r.json().await.unwrap())
    }
    async fn create_org(&self, name: &str, slug: &str, md: Value) -> Value {
        let (s, v) = self
            .b2b(
                Method::POST,
                "/v1/b2b/organizations",
                Some(json!({"organization_name": name, "organization_slug": slug, "trusted_metadata": md})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        v["organization"].clone()
    }
    async fn create_member(&self, org_id: &str, email: &str, roles: Value) -> Value {
        let (s, v) = self
            .b2b(
                Method::POST,
                &format!("/v1/b2b/organizations/{org_id}/members"),
                Some(json!({"email_address": email, "name": "Ada", "roles": roles})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        v["member"].clone()
    }
    async fn jwks(&self, path: &str) -> JwkSet {
        let r = self.http.get(format!("{}{}", self.base, path)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }
}

fn assert_error(s: StatusCode, v: &Value, status: u16, error_type: &str) {
    assert_eq!(s.as_u16(), status, "{v}");
    assert_eq!(v["status_code"], status, "{v}");
    assert_eq!(v["error_type"], error_type, "{v}");
    assert!(v["request_id"].as_str().unwrap().starts_with("request-id-test-"), "{v}");
    assert!(v["error_message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert_eq!(
        v["error_url"],
        format!("https://stytch.com/docs/api/errors/{status}#{error_type}"),
        "{v}"
    );
}

fn verify(jwt: &str, jwks: &JwkSet, project: &str) -> Value {
    let header = decode_header(jwt).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let kid = header.kid.expect("kid");
    let jwk = jwks.find(&kid).expect("kid in JWKS");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[project]);
    v.set_issuer(&[format!("stytch.com/{project}")]);
    v.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    v.validate_nbf = true;
    v.leeway = 0;
    decode::<Value>(jwt, &key, &v).unwrap().claims
}

#[tokio::test]
async fn auth_failures_and_unknown_routes() {
    let e = start().await;
    let r = e.http.get(format!("{}/v1/b2b/organizations/x", e.base)).send().await.unwrap();
    let s = r.status();
    assert_error(s, &r.json().await.unwrap(), 401, "unauthorized_credentials");
    let r = e
        .http
        .get(format!("{}/v1/b2b/organizations/x", e.base))
        .basic_auth(B2B, Some("wrong"))
        .send()
        .await
        .unwrap();
    let s = r.status();
    assert_error(s, &r.json().await.unwrap(), 401, "unauthorized_credentials");
    let r = e
        .http
        .get(format!("{}/v1/b2b/organizations/x", e.base))
        .basic_auth("project-test-nope", Some(SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (s, v) = e.b2b(Method::GET, "/v1/nothing/here", None).await;
    assert_error(s, &v, 404, "route_not_found");
    let (s, v) = e.b2b(Method::PATCH, "/v1/b2b/organizations", None).await;
    assert_error(s, &v, 405, "method_not_allowed");
}

#[tokio::test]
async fn organizations_crud_and_errors() {
    let e = start().await;
    let org = e.create_org("Acme", "acme", json!({"tier": "gold"})).await;
    let id = org["organization_id"].as_str().unwrap();
    assert!(id.starts_with("organization-test-") && id.len() == "organization-test-".len() + 36, "{id}");
    for f in ["organization_logo_url", "email_allowed_domains", "created_at", "updated_at", "mfa_policy", "custom_roles"] {
        assert!(org.get(f).is_some(), "missing {f}");
    }
    let (s, v) = e.b2b(Method::GET, &format!("/v1/b2b/organizations/{id}"), None).await;
    assert_eq!(s, 200);
    assert_eq!(v["status_code"], 200);
    assert!(v["request_id"].as_str().unwrap().starts_with("request-id-test-"));
    assert_eq!(v["organization"]["trusted_metadata"], json!({"tier": "gold"}));
    let (s, v) = e.b2b(Method::GET, "/v1/b2b/organizations/acme", None).await;
    assert_eq!(s, 200);
    assert_eq!(v["organization"]["organization_id"], id);

    let (s, v) = e.b2b(Method::GET, "/v1/b2b/organizations/organization-test-00000000-0000-4000-8000-000000000000", None).await;
    assert_error(s, &v, 404, "organization_not_found");
    let (s, v) = e
        .b2b(Method::POST, "/v1/b2b/organizations", Some(json!({"organization_name": "Other", "organization_slug": "acme"})))
        .await;
    assert_error(s, &v, 400, "organization_slug_already_used");
    let (s, v) = e.b2b(Method::POST, "/v1/b2b/organizations", Some(json!({"organization_slug": "nameless"}))).await;
    assert_error(s, &v, 400, "organization_name_missing");
    let (s, v) = e
        .b2b(Method::POST, "/v1/b2b/organizations", Some(json!({"organization_name": "Bad", "organization_slug": "no spaces!"})))
        .await;
    assert_error(s, &v, 400, "invalid_organization_slug");
    let r = e
        .http
        .post(format!("{}/v1/b2b/organizations", e.base))
        .basic_auth(B2B, Some(SECRET))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let s = r.status();
    assert_error(s, &r.json().await.unwrap(), 400, "bad_request");

    let (s, v) = e
        .b2b(Method::PUT, &format!("/v1/b2b/organizations/{id}"), Some(json!({"organization_name": "Acme Inc"})))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["organization"]["organization_name"], "Acme Inc");
    assert_eq!(v["organization"]["trusted_metadata"], json!({"tier": "gold"}));

    let (s, v) = e.b2b(Method::DELETE, &format!("/v1/b2b/organizations/{id}"), None).await;
    assert_eq!(s, 200);
    assert_eq!(v["organization_id"], id);
    let (s, v) = e.b2b(Method::GET, &format!("/v1/b2b/organizations/{id}"), None).await;
    assert_error(s, &v, 404, "organization_not_found");
}

#[tokio::test]
async fn metadata_merge_and_limits() {
    let e = start().await;
    let org = e
        .create_org("Meta", "meta", json!({"a": 1, "nested": {"x": 1, "y": 2}, "arr": [1, 2], "keep": "me"}))
        .await;
    let path = format!("/v1/b2b/organizations/{}", org["organization_id"].as_str().unwrap());
    let (s, v) = e
        .b2b(Method::PUT, &path, Some(json!({"trusted_metadata": {"a": null, "nested": {"z": 3}, "arr": [9], "b": true}})))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["organization"]["trusted_metadata"], json!({"nested": {"z": 3}, "arr": [9], "keep": "me", "b": true}));

    // 20 keys is the limit, counted after the merge (4 present now)
    let mut sixteen = serde_json::Map::new();
    for i in 0..16 {
        sixteen.insert(format!("k{i}"), json!(i));
    }
    let (s, v) = e.b2b(Method::PUT, &path, Some(json!({"trusted_metadata": sixteen}))).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["organization"]["trusted_metadata"].as_object().unwrap().len(), 20);
    let (s, v) = e.b2b(Method::PUT, &path, Some(json!({"trusted_metadata": {"one_more": 1}}))).await;
    assert_error(s, &v, 400, "metadata_too_many_keys");
    // replacing a key and deleting another at the same time stays within the limit
    let (s, v) = e.b2b(Method::PUT, &path, Some(json!({"trusted_metadata": {"k0": null, "one_more": 1}}))).await;
    assert_eq!(s, 200, "{v}");

    // 4 KB after the merge: two 2.5 KB values do not fit together
    let (s, v) = e.b2b(Method::PUT, &path, Some(json!({"trusted_metadata": {"k2": null, "big1": "x".repeat(2500)}}))).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = e.b2b(Method::PUT, &path, Some(json!({"trusted_metadata": {"k1": null, "big2": "y".repeat(2500)}}))).await;
    assert_error(s, &v, 400, "metadata_too_large");
    // the failed update changed nothing
    let (_, v) = e.b2b(Method::GET, &path, None).await;
    let md = v["organization"]["trusted_metadata"].as_object().unwrap();
    assert!(md.contains_key("k1") && !md.contains_key("big2"));
    let (s, v) = e.b2b(Method::PUT, &path, Some(json!({"trusted_metadata": "nope"}))).await;
    assert_error(s, &v, 400, "metadata_invalid_format");
    let (s, v) = e
        .b2b(Method::POST, "/v1/b2b/organizations", Some(json!({"organization_name": "Big", "trusted_metadata": {"x": "z".repeat(5000)}})))
        .await;
    assert_error(s, &v, 400, "metadata_too_large");
}

#[tokio::test]
async fn search_pagination_is_stable() {
    let e = start().await;
    let mut ids = vec![];
    for i in 0..5 {
        let o = e.create_org(&format!("Org {i}"), &format!("org-{i}"), json!({})).await;
        ids.push(o["organization_id"].as_str().unwrap().to_string());
    }
    let mut seen = vec![];
    let mut cursor = Value::Null;
    let mut pages = 0;
    loop {
        let (s, v) = e.b2b(Method::POST, "/v1/b2b/organizations/search", Some(json!({"limit": 2, "cursor": cursor}))).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["results_metadata"]["total"], 5);
        pages += 1;
        for o in v["organizations"].as_array().unwrap() {
            seen.push(o["organization_id"].as_str().unwrap().to_string());
        }
        cursor = v["results_metadata"]["next_cursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids);
    // default limit returns all; filters by organization_ids
    let (_, v) = e.b2b(Method::POST, "/v1/b2b/organizations/search", Some(json!({}))).await;
    assert_eq!(v["organizations"].as_array().unwrap().len(), 5);
    let (_, v) = e
        .b2b(
            Method::POST,
            "/v1/b2b/organizations/search",
            Some(json!({"query": {"operator": "OR", "operands": [{"filter_name": "organization_ids", "filter_value": [ids[1], ids[3]]}]}})),
        )
        .await;
    let got: Vec<&str> = v["organizations"].as_array().unwrap().iter().map(|o| o["organization_id"].as_str().unwrap()).collect();
    assert_eq!(got, vec![ids[1].as_str(), ids[3].as_str()]);
    assert_eq!(v["results_metadata"]["total"], 2);
    let (s, v) = e.b2b(Method::POST, "/v1/b2b/organizations/search", Some(json!({"cursor": "garbage!"}))).await;
    assert_error(s, &v, 400, "bad_request");
}

#[tokio::test]
async fn members() {
    let e = start().await;
    let org = e.create_org("Team", "team", json!({})).await;
    let oid = org["organization_id"].as_str().unwrap();
    let m = e.create_member(oid, "ada@example.com", json!(["editor"])).await;
    let mid = m["member_id"].as_str().unwrap();
    assert!(mid.starts_with("member-test-"));
    assert_eq!(m["status"], "active");
    assert_eq!(m["organization_id"], oid);
    let roles: Vec<&str> = m["roles"].as_array().unwrap().iter().map(|r| r["role_id"].as_str().unwrap()).collect();
    assert_eq!(roles, vec!["stytch_member", "editor"]);
    assert_eq!(m["roles"][1]["sources"][0]["type"], "direct_assignment");
    let (s, v) = e.b2b(Method::GET, &format!("/v1/b2b/organizations/{oid}/member?member_id={mid}"), None).await;
    assert_eq!(s, 200);
    assert_eq!(v["member"]["email_address"], "ada@example.com");
    assert_eq!(v["organization"]["organization_id"], oid);
    let (s, v) = e.b2b(Method::GET, &format!("/v1/b2b/organizations/{oid}/member?member_id=member-test-nope"), None).await;
    assert_error(s, &v, 404, "member_not_found");
    let (s, v) = e
        .b2b(Method::POST, &format!("/v1/b2b/organizations/{oid}/members"), Some(json!({"email_address": "ADA@example.com"})))
        .await;
    assert_error(s, &v, 400, "duplicate_member_email");
    let (s, v) = e
        .b2b(Method::POST, &format!("/v1/b2b/organizations/{oid}/members"), Some(json!({"email_address": "not-an-email"})))
        .await;
    assert_error(s, &v, 400, "invalid_email");
    let (s, v) = e
        .b2b(Method::PUT, &format!("/v1/b2b/organizations/{oid}/members/{mid}"), Some(json!({"trusted_metadata": {"x": 1}})))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["member"]["trusted_metadata"], json!({"x": 1}));
}

#[tokio::test]
async fn consumer_users_and_project_kinds() {
    let e = start().await;
    let (s, v) = e
        .consumer(Method::POST, "/v1/users", Some(json!({"email": "bo@example.com", "name": {"first_name": "Bo"}, "trusted_metadata": {"a": 1, "b": 2}})))
        .await;
    assert_eq!(s, 200, "{v}");
    let uid = v["user_id"].as_str().unwrap().to_string();
    assert!(uid.starts_with("user-test-"));
    assert_eq!(v["user"]["user_id"], uid);
    assert!(v["email_id"].as_str().unwrap().starts_with("email-test-"));
    let (s, v) = e.consumer(Method::GET, &format!("/v1/users/{uid}"), None).await;
    assert_eq!(s, 200);
    assert_eq!(v["user_id"], uid, "flat user fields");
    assert_eq!(v["emails"][0]["email"], "bo@example.com");
    assert_eq!(v["name"]["first_name"], "Bo");
    let (s, v) = e
        .consumer(Method::PUT, &format!("/v1/users/{uid}"), Some(json!({"trusted_metadata": {"a": null, "c": {"d": 1}}})))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["user"]["trusted_metadata"], json!({"b": 2, "c": {"d": 1}}));
    assert_eq!(v["user_id"], uid);
    assert!(v["emails"].is_array());
    let (s, v) = e.consumer(Method::GET, "/v1/users/user-test-00000000-0000-4000-8000-000000000000", None).await;
    assert_error(s, &v, 404, "user_not_found");
    let (s, v) = e.consumer(Method::POST, "/v1/users", Some(json!({"email": "bo@example.com"}))).await;
    assert_error(s, &v, 400, "duplicate_email");
    // kinds are exclusive
    let (s, v) = e.consumer(Method::POST, "/v1/b2b/organizations", Some(json!({"organization_name": "X"}))).await;
    assert_error(s, &v, 400, "invalid_b2b_endpoint");
    let (s, v) = e.b2b(Method::GET, &format!("/v1/users/{uid}"), None).await;
    assert_error(s, &v, 400, "invalid_consumer_endpoint");
}

#[tokio::test]
async fn b2b_sessions_mint_verify_authenticate() {
    let e = start().await;
    let org = e.create_org("Sess", "sess", json!({})).await;
    let oid = org["organization_id"].as_str().unwrap();
    let m = e.create_member(oid, "cy@example.com", json!(["editor"])).await;
    let mid = m["member_id"].as_str().unwrap();
    let (s, minted) = e
        .control(
            Method::POST,
            "/__gatehouse/sessions",
            Some(json!({"organization_id": oid, "member_id": mid, "authentication_factors": ["email_otp", "totp"]})),
        )
        .await;
    assert_eq!(s, 200, "{minted}");
    let jwt = minted["session_jwt"].as_str().unwrap();
    assert!(minted["session_token"].as_str().unwrap().len() >= 32);
    assert!(minted["expires_at"].as_str().unwrap().ends_with('Z'));
    let jwks = e.jwks(&format!("/v1/b2b/sessions/jwks/{B2B}")).await;
    let claims = verify(jwt, &jwks, B2B);
    assert_eq!(claims["sub"], mid);
    assert_eq!(claims["aud"], json!([B2B]));
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 300);
    let sess = &claims["https://stytch.com/session"];
    assert!(sess["id"].as_str().unwrap().starts_with("member-session-test-"));
    assert_eq!(sess["authentication_factors"][0]["type"], "otp");
    assert_eq!(sess["authentication_factors"][0]["delivery_method"], "email");
    assert_eq!(sess["authentication_factors"][1]["type"], "totp");
    assert_eq!(sess["authentication_factors"][1]["delivery_method"], "authenticator_app");
    assert_eq!(sess["roles"], json!(["stytch_member", "editor"]));
    assert_eq!(sess["attributes"], json!({"ip_address": "", "user_agent": ""}));
    assert_eq!(claims["https://stytch.com/organization"], json!({"organization_id": oid, "slug": "sess"}));

    // remote authenticate with the token and with the JWT
    let (s, v) = e
        .b2b(Method::POST, "/v1/b2b/sessions/authenticate", Some(json!({"session_token": minted["session_token"]})))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["member_session"]["member_id"], mid);
    assert_eq!(v["member_session"]["organization_slug"], "sess");
    assert_eq!(v["member"]["member_id"], mid);
    assert_eq!(v["organization"]["organization_id"], oid);
    verify(v["session_jwt"].as_str().unwrap(), &jwks, B2B);
    let (s, v) = e.b2b(Method::POST, "/v1/b2b/sessions/authenticate", Some(json!({"session_jwt": jwt}))).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["member_session"]["member_session_id"], sess["id"]);
    let (s, v) = e.b2b(Method::POST, "/v1/b2b/sessions/authenticate", Some(json!({"session_token": "nope"}))).await;
    assert_error(s, &v, 404, "session_not_found");
    let (s, v) = e.b2b(Method::POST, "/v1/b2b/sessions/authenticate", Some(json!({"session_jwt": "a.b"}))).await;
    assert_error(s, &v, 400, "unable_to_parse_session_jwt");
    let (s, v) = e.b2b(Method::POST, "/v1/b2b/sessions/authenticate", Some(json!({}))).await;
    assert_error(s, &v, 400, "no_session_arguments");

    // explicit roles, expired and not-yet-valid tokens
    let (_, v) = e
        .control(Method::POST, "/__gatehouse/sessions", Some(json!({"organization_id": "sess", "member_id": mid, "roles": ["viewer"], "ttl_s": -5})))
        .await;
    let payload = jsonwebtoken::dangerous::insecure_decode::<Value>(v["session_jwt"].as_str().unwrap()).unwrap().claims;
    assert_eq!(payload["https://stytch.com/session"]["roles"], json!(["viewer"]));
    let (s, r) = e.b2b(Method::POST, "/v1/b2b/sessions/authenticate", Some(json!({"session_token": v["session_token"]}))).await;
    assert_error(s, &r, 404, "session_not_found");
    let (_, v) = e
        .control(Method::POST, "/__gatehouse/sessions", Some(json!({"organization_id": oid, "member_id": mid, "nbf_offset_s": 120})))
        .await;
    let payload = jsonwebtoken::dangerous::insecure_decode::<Value>(v["session_jwt"].as_str().unwrap()).unwrap().claims;
    assert_eq!(payload["nbf"].as_i64().unwrap() - payload["iat"].as_i64().unwrap(), 120);

    // unknown member / org
    let (s, v) = e
        .control(Method::POST, "/__gatehouse/sessions", Some(json!({"organization_id": oid, "member_id": "member-test-nope"})))
        .await;
    assert_error(s, &v, 404, "member_not_found");
    let (s, v) = e
        .control(Method::POST, "/__gatehouse/sessions", Some(json!({"organization_id": "organization-test-nope", "member_id": mid})))
        .await;
    assert_error(s, &v, 404, "organization_not_found");
}

#[tokio::test]
async fn consumer_sessions() {
    let e = start().await;
    let (_, v) = e.consumer(Method::POST, "/v1/users", Some(json!({"email": "di@example.com"}))).await;
    let uid = v["user_id"].as_str().unwrap().to_string();
    let (s, minted) = e
        .control(Method::POST, "/__gatehouse/sessions", Some(json!({"user_id": uid, "authentication_factors": ["magic_link"], "ttl_s": 60})))
        .await;
    assert_eq!(s, 200, "{minted}");
    let jwks = e.jwks(&format!("/v1/sessions/jwks/{CONSUMER}")).await;
    let claims = verify(minted["session_jwt"].as_str().unwrap(), &jwks, CONSUMER);
    assert_eq!(claims["sub"], uid);
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 60);
    assert!(claims.get("https://stytch.com/organization").is_none());
    let f = &claims["https://stytch.com/session"]["authentication_factors"][0];
    assert_eq!((f["type"].as_str(), f["delivery_method"].as_str()), (Some("magic_link"), Some("email")));
    assert_eq!(f["email_factor"]["email_address"], "di@example.com");
    let (s, v) = e
        .consumer(Method::POST, "/v1/sessions/authenticate", Some(json!({"session_jwt": minted["session_jwt"], "session_duration_minutes": 60})))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["session"]["user_id"], uid);
    assert_eq!(v["user"]["user_id"], uid);
    assert_eq!(v["session_token"], minted["session_token"]);
    // a B2B JWT is not a consumer session
    let (s, v) = e.consumer(Method::POST, "/v1/sessions/authenticate", Some(json!({"session_token": "x"}))).await;
    assert_error(s, &v, 404, "session_not_found");
}

#[tokio::test]
async fn faults_counters_reset() {
    let e = start().await;
    let org = e.create_org("F", "fault-org", json!({})).await;
    let path = format!("/v1/b2b/organizations/{}", org["organization_id"].as_str().unwrap());
    let (s, _) = e.control(Method::POST, "/__gatehouse/faults", Some(json!({"method": "GET", "path": path, "status": 429, "count": 2}))).await;
    assert_eq!(s, 200);
    for _ in 0..2 {
        let (s, v) = e.b2b(Method::GET, &path, None).await;
        assert_error(s, &v, 429, "too_many_requests");
    }
    let (s, _) = e.b2b(Method::GET, &path, None).await;
    assert_eq!(s, 200);
    // prefix faults, 500, and JWKS is covered too
    e.control(Method::POST, "/__gatehouse/faults", Some(json!({"method": "GET", "path": "/v1/b2b/sessions/jwks/*", "status": 500, "count": 1}))).await;
    let r = e.http.get(format!("{}/v1/b2b/sessions/jwks/{B2B}", e.base)).send().await.unwrap();
    let s = r.status();
    assert_error(s, &r.json().await.unwrap(), 500, "internal_server_error");
    let r = e.http.get(format!("{}/v1/b2b/sessions/jwks/{B2B}", e.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // hang then answer normally
    e.control(Method::POST, "/__gatehouse/faults", Some(json!({"method": "GET", "path": path, "hang_ms": 400, "count": 1}))).await;
    let t = Instant::now();
    let (s, _) = e.b2b(Method::GET, &path, None).await;
    assert_eq!(s, 200);
    assert!(t.elapsed() >= Duration::from_millis(400));
    let t = Instant::now();
    e.b2b(Method::GET, &path, None).await;
    assert!(t.elapsed() < Duration::from_millis(400));
    // a short client timeout sees the hang as a timeout
    e.control(Method::POST, "/__gatehouse/faults", Some(json!({"method": "*", "path": path, "hang_ms": 1000}))).await;
    let r = e.http.get(format!("{}{}", e.base, path)).basic_auth(B2B, Some(SECRET)).timeout(Duration::from_millis(150)).send().await;
    assert!(r.is_err());

    let (_, calls) = e.control(Method::GET, "/__gatehouse/calls", None).await;
    let get_count = calls["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["method"] == "GET" && c["path"] == path.as_str())
        .map(|c| c["count"].as_u64().unwrap());
    assert_eq!(get_count, Some(6));
    assert!(calls["calls"].as_array().unwrap().iter().all(|c| !c["path"].as_str().unwrap().starts_with("/__gatehouse")));
    let (_, state) = e.control(Method::GET, "/__gatehouse/state", None).await;
    assert_eq!(state["projects"][0]["organizations"].as_array().unwrap().len(), 1);

    let (s, _) = e.control(Method::POST, "/__gatehouse/reset", None).await;
    assert_eq!(s, 200);
    let (_, calls) = e.control(Method::GET, "/__gatehouse/calls", None).await;
    assert_eq!(calls["calls"], json!([]));
    let (s, v) = e.b2b(Method::GET, &path, None).await;
    assert_error(s, &v, 404, "organization_not_found");
    let (_, state) = e.control(Method::GET, "/__gatehouse/state", None).await;
    assert_eq!(state["projects"][0]["organizations"], json!([]));
}

#[tokio::test]
async fn rate_limit_is_per_project_and_answers_stytch_429() {
    let e = start().await;
    let org = e.create_org("R", "rate-org", json!({})).await;
    let path = format!("/v1/b2b/organizations/{}", org["organization_id"].as_str().unwrap());
    for bad in [json!({"requests": 0, "per_ms": 1000}), json!({"requests": 2}), json!({"requests": "2", "per_ms": 1000})] {
        let (s, v) = e.control(Method::POST, "/__gatehouse/rate_limit", Some(bad)).await;
        assert_error(s, &v, 400, "bad_request");
    }
    let (s, _) = e.control(Method::POST, "/__gatehouse/rate_limit", Some(json!({"requests": 2, "per_ms": 60000}))).await;
    assert_eq!(s, 200);
    for _ in 0..2 {
        assert_eq!(e.b2b(Method::GET, &path, None).await.0, 200);
    }
    let r = e.http.get(format!("{}{}", e.base, path)).basic_auth(B2B, Some(SECRET)).send().await.unwrap();
    assert!(r.headers().get("retry-after").is_none(), "Stytch sends no Retry-After");
    let s = r.status();
    assert_error(s, &r.json().await.unwrap(), 429, "too_many_requests");
    // Another project has its own window; sessions and JWKS are not limited.
    assert_eq!(e.consumer(Method::POST, "/v1/users/search", Some(json!({}))).await.0, 200);
    assert_eq!(e.http.get(format!("{}/v1/b2b/sessions/jwks/{B2B}", e.base)).send().await.unwrap().status(), 200);
    let (_, stats) = e.control(Method::GET, "/__gatehouse/rate_limit", None).await;
    assert_eq!((stats["allowed"].as_u64(), stats["limited"].as_u64()), (Some(3), Some(1)), "{stats}");
    let (s, _) = e.control(Method::DELETE, "/__gatehouse/rate_limit", None).await;
    assert_eq!(s, 200);
    assert_eq!(e.b2b(Method::GET, &path, None).await.0, 200);
    let (_, stats) = e.control(Method::GET, "/__gatehouse/rate_limit", None).await;
    assert_eq!(stats, Value::Null);
}

#[tokio::test]
async fn key_rotation_keeps_old_keys() {
    let e = start().await;
    let org = e.create_org("K", "keys", json!({})).await;
    let oid = org["organization_id"].as_str().unwrap();
    let mid = e.create_member(oid, "k@example.com", json!([])).await["member_id"].as_str().unwrap().to_string();
    let mint = || e.control(Method::POST, "/__gatehouse/sessions", Some(json!({"organization_id": oid, "member_id": mid})));
    let (_, old) = mint().await;
    let (s, rot) = e.control(Method::POST, "/__gatehouse/keys/rotate", Some(json!({"project_id": B2B}))).await;
    assert_eq!(s, 200, "{rot}");
    let new_kid = rot["kid"].as_str().unwrap().to_string();
    let (_, new) = mint().await;
    let jwks = e.jwks(&format!("/v1/b2b/sessions/jwks/{B2B}")).await;
    assert_eq!(jwks.keys.len(), 2);
    assert_eq!(decode_header(new["session_jwt"].as_str().unwrap()).unwrap().kid.as_deref(), Some(new_kid.as_str()));
    assert_ne!(decode_header(old["session_jwt"].as_str().unwrap()).unwrap().kid.as_deref(), Some(new_kid.as_str()));
    verify(old["session_jwt"].as_str().unwrap(), &jwks, B2B);
    verify(new["session_jwt"].as_str().unwrap(), &jwks, B2B);
    // reset keeps keys
    e.control(Method::POST, "/__gatehouse/reset", None).await;
    assert_eq!(e.jwks(&format!("/v1/b2b/sessions/jwks/{B2B}")).await.keys.len(), 2);
    // the consumer project was not rotated
    assert_eq!(e.jwks(&format!("/v1/sessions/jwks/{CONSUMER}")).await.keys.len(), 1);
}
