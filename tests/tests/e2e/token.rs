//! token-exchange: a verified Stytch session in, a short-lived InsForge token out; then the token
//! at work on a real PostgreSQL 15 with the migrations in insforge/, replaying exactly what
//! PostgREST does per request (InsForge forwards user requests to PostgREST).

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use crate::common::*;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

async fn exchange(d: Deployment, headers: &[(&str, &str)]) -> Resp {
    let s = stack();
    s.request(reqwest::Method::POST, format!("{}/token", s.function_url("token-exchange", d)), headers).await
}

async fn token_for(d: Deployment, session: &str) -> String {
    let r = exchange(d, &[("authorization", &format!("Bearer {session}"))]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["access_token"].as_str().unwrap().to_string()
}

/// What InsForge does before anything reaches PostgREST (token.manager.ts): HS256 with the
/// project's JWT secret, `exp` enforced with no leeway, `sub` required, role allow-list.
fn insforge_verify(token: &str) -> Result<Value, String> {
    let mut v = Validation::new(Algorithm::HS256);
    v.leeway = 0;
    v.validate_aud = false; // InsForge does not check aud
    v.set_required_spec_claims(&["exp", "sub"]);
    let key = DecodingKey::from_secret(stack().var("INSFORGE_JWT_SECRET").as_bytes());
    let claims = jsonwebtoken::decode::<Value>(token, &key, &v).map_err(|e| e.to_string())?.claims;
    match claims["role"].as_str() {
        Some("authenticated") => Ok(claims),
        other => Err(format!("role {other:?} not allowed for user requests")),
    }
}

fn claims_of(token: &str) -> Value {
    serde_json::from_slice(&B64.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_verified_session_becomes_a_short_lived_insforge_token() {
    let _stack = shared().await;
    let s = stack();
    // B2B: the member is the subject; Bearer and the session cookie both work.
    let org = s.create_org(json!({})).await;
    let member = s.create_member(&org, &[]).await;
    let session = s.mint(json!({"organization_id": org, "member_id": member, "ttl_s": 3600})).await;
    let before = now_ms() / 1000;
    let r = exchange(B2b, &[("authorization", &format!("Bearer {session}")), ("origin", "http://localhost:3000")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.headers["cache-control"], "private, no-store");
    assert_eq!(r.headers["access-control-allow-origin"], "http://localhost:3000");
    let token = r.body["access_token"].as_str().unwrap();
    let claims = insforge_verify(token).expect("InsForge accepts the token");
    assert_eq!(claims["sub"], member.as_str());
    assert_eq!(claims["role"], "authenticated");
    assert_eq!(claims["aud"], "insforge-api");
    assert!(claims["email"].as_str().unwrap().ends_with("@example.com"), "{claims}");
    let (iat, exp) = (claims["iat"].as_i64().unwrap(), claims["exp"].as_i64().unwrap());
    assert!(iat >= before - 1 && exp == iat + 900, "{claims}");
    assert_eq!(r.body["expires_at"], exp);
    assert_eq!(serde_json::from_slice::<Value>(&B64.decode(token.split('.').next().unwrap()).unwrap()).unwrap()["alg"], "HS256");
    let cookie = format!("theme=dark; stytch_session_jwt={session}");
    let r = exchange(B2b, &[("cookie", &cookie)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(claims_of(r.body["access_token"].as_str().unwrap())["sub"], member.as_str());

    // Consumer: the user is the subject, and the token never outlives a short session.
    let user = s.create_user().await;
    let short = s.mint(json!({"user_id": user, "ttl_s": 120})).await;
    let t = token_for(Consumer, &short).await;
    let c = insforge_verify(&t).unwrap();
    assert_eq!(c["sub"], user.as_str());
    assert_eq!(c["exp"], claims_of(&short)["exp"], "token expiry capped at the session's");
}

#[tokio::test(flavor = "multi_thread")]
async fn anything_but_a_valid_session_is_refused() {
    let _stack = shared().await;
    let s = stack();
    let org = s.create_org(json!({})).await;
    let member = s.create_member(&org, &[]).await;
    let good = s.mint(json!({"organization_id": org, "member_id": member})).await;
    let expired = s.mint(json!({"organization_id": org, "member_id": member, "ttl_s": 60, "iat_offset_s": -200})).await;
    let foreign = crate::gate::foreign_token(&good, "not-in-the-jwks");
    let consumer_user = s.create_user().await;
    let other_project = s.mint(json!({"user_id": consumer_user})).await;
    let bearer = |t: &str| format!("Bearer {t}");
    for (name, headers) in [
        ("no credentials", vec![]),
        ("garbage", vec![("authorization".to_string(), "Bearer not.a.jwt".to_string())]),
        ("basic auth", vec![("authorization".to_string(), "Basic YTpi".to_string())]),
        ("expired", vec![("authorization".to_string(), bearer(&expired))]),
        ("unknown key", vec![("authorization".to_string(), bearer(&foreign))]),
        ("another project's session", vec![("authorization".to_string(), bearer(&other_project))]),
        ("empty cookie", vec![("cookie".to_string(), "stytch_session_jwt=".to_string())]),
    ] {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = exchange(B2b, &h).await;
        assert_eq!(r.status, 401, "{name}: {}", r.body);
        assert!(r.body.get("access_token").is_none(), "{name}");
        assert_eq!(r.headers["www-authenticate"], r#"Bearer error="invalid_token""#, "{name}");
    }
    // Method, path, CORS.
    let url = format!("{}/token", s.function_url("token-exchange", B2b));
    let get = s.request(reqwest::Method::GET, url.clone(), &[("authorization", &bearer(&good))]).await;
    assert_eq!(get.status, 405, "{}", get.body);
    let elsewhere = s.request(reqwest::Method::POST, format!("{}/admin", s.function_url("token-exchange", B2b)), &[("authorization", &bearer(&good))]).await;
    assert_eq!(elsewhere.status, 404);
    let pre = s
        .request(reqwest::Method::OPTIONS, url.clone(), &[("origin", "http://localhost:3000"), ("access-control-request-method", "POST")])
        .await;
    assert_eq!(pre.status, 204);
    assert_eq!(pre.headers["access-control-allow-methods"], "POST");
    let evil = s.request(reqwest::Method::OPTIONS, url, &[("origin", "https://evil.example")]).await;
    assert_eq!(evil.status, 403);
    assert!(evil.headers.get("access-control-allow-origin").is_none());
}

/// One PostgREST request on a pooled connection: transaction, `set_config` of search_path, role
/// and `request.jwt.claims` with the local flag, the statement, commit (rollback on error).
async fn as_request(db: &mut tokio_postgres::Client, claims: Option<&Value>, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
    let role = claims.and_then(|c| c["role"].as_str()).unwrap_or("anon").to_string();
    let claims_json = claims.map(Value::to_string).unwrap_or_else(|| json!({"role": "anon"}).to_string());
    let tx = db.transaction().await?;
    tx.execute(
        "select set_config('search_path', '\"public\"', true), set_config('role', $1, true), \
         set_config('request.jwt.claims', $2, true), set_config('request.method', 'POST', true), \
         set_config('request.path', '/todos', true)",
        &[&role, &claims_json],
    )
    .await?;
    let rows = tx.query(sql, params).await?;
    tx.commit().await?;
    Ok(rows)
}

fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_string()).unwrap_or_else(|| e.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn minted_tokens_drive_postgres_row_level_security() {
    let _stack = shared().await;
    let Ok(url) = std::env::var("PG_URL") else {
        panic!("PG_URL is not set: run through `make test` (it starts PostgreSQL with scripts/pg.sh up)")
    };
    let (mut db, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect to the test PostgreSQL");
    tokio::spawn(conn);
    let s = stack();
    let (ua, ub) = (s.create_user().await, s.create_user().await);
    let ta = token_for(Consumer, &s.mint(json!({"user_id": ua})).await).await;
    let tb = token_for(Consumer, &s.mint(json!({"user_id": ub})).await).await;
    // Every token reaches SQL only through InsForge's verification.
    let (a, b) = (insforge_verify(&ta).unwrap(), insforge_verify(&tb).unwrap());
    let insert = "insert into todos (title) values ($1) returning user_id, current_user::text";
    let select = "select id, user_id, title from todos";

    // A inserts: user_id fills from `sub`, and the statement runs as `authenticated`.
    let rows = as_request(&mut db, Some(&a), insert, &[&"a's first"]).await.unwrap();
    assert_eq!(rows[0].get::<_, String>(0), ua);
    assert_eq!(rows[0].get::<_, String>(1), "authenticated");
    as_request(&mut db, Some(&a), insert, &[&"a's second"]).await.unwrap();
    as_request(&mut db, Some(&b), insert, &[&"b's"]).await.unwrap();
    // Each sees only their own rows.
    let mine = as_request(&mut db, Some(&a), select, &[]).await.unwrap();
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(|r| r.get::<_, String>(1) == ua));
    let theirs = as_request(&mut db, Some(&b), select, &[]).await.unwrap();
    assert_eq!(theirs.len(), 1);
    // B cannot write a row for A, nor move, change or delete A's rows.
    let e = as_request(&mut db, Some(&b), "insert into todos (title, user_id) values ('spoof', $1)", &[&ua]).await.unwrap_err();
    assert_eq!(sqlstate(&e), "42501", "{e}");
    let changed = as_request(&mut db, Some(&b), "update todos set title = 'pwned' where user_id = $1 returning id", &[&ua]).await.unwrap();
    assert!(changed.is_empty());
    let deleted = as_request(&mut db, Some(&b), "delete from todos where user_id = $1 returning id", &[&ua]).await.unwrap();
    assert!(deleted.is_empty());
    let e = as_request(&mut db, Some(&a), "update todos set user_id = $1 where user_id = $2", &[&ub, &ua]).await.unwrap_err();
    assert_eq!(sqlstate(&e), "42501", "moving a row to another user: {e}");
    let done = as_request(&mut db, Some(&a), "update todos set is_complete = true where user_id = $1 returning id", &[&ua]).await.unwrap();
    assert_eq!(done.len(), 2);
    // anon gets nothing.
    match as_request(&mut db, None, select, &[]).await {
        Ok(rows) => assert!(rows.is_empty()),
        Err(e) => assert_eq!(sqlstate(&e), "42501", "{e}"),
    }
    // The pooled connection after a commit carries no identity: the setting is '' now, and
    // requesting_user_id() is NULL rather than an error or the previous user.
    let leftover = db.query_one("select requesting_user_id()", &[]).await.unwrap();
    assert_eq!(leftover.get::<_, Option<String>>(0), None);
    let tx = db.transaction().await.unwrap();
    tx.execute("select set_config('role', 'authenticated', true)", &[]).await.unwrap();
    assert!(tx.query(select, &[]).await.unwrap().is_empty(), "authenticated without claims sees nothing");
    tx.commit().await.unwrap();

    // Refused before SQL: forged, expired, role-tampered.
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &a,
        &jsonwebtoken::EncodingKey::from_secret(b"not-the-insforge-secret-not-the-insforge-secret"),
    )
    .unwrap();
    assert!(insforge_verify(&forged).is_err());
    let mut parts: Vec<String> = ta.split('.').map(String::from).collect();
    let mut admin = a.clone();
    admin["role"] = "project_admin".into();
    parts[1] = B64.encode(admin.to_string());
    let tampered = parts.join(".");
    assert!(insforge_verify(&tampered).unwrap_err().contains("Signature"), "role-tampered token must fail the signature");
    let user = s.create_user().await;
    let soon = token_for(Consumer, &s.mint(json!({"user_id": user, "ttl_s": 1})).await).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert!(insforge_verify(&soon).unwrap_err().contains("Expired"), "a token past its session's expiry");
}

/// The official @insforge/sdk sends a real minted token as `Authorization: Bearer`.
#[tokio::test(flavor = "multi_thread")]
async fn the_insforge_sdk_sends_the_minted_token() {
    let _stack = shared().await;
    let s = stack();
    let user = s.create_user().await;
    let token = token_for(Consumer, &s.mint(json!({"user_id": user})).await).await;
    let dir = format!("{}/../insforge/sdk-test", env!("CARGO_MANIFEST_DIR"));
    let out = tokio::process::Command::new("node").args(["--test"]).current_dir(&dir).env("INSFORGE_TEST_TOKEN", &token).output().await.unwrap();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

/// The same function deployed with `IDP=descope` exchanges a Descope session (and refuses a
/// Descope refresh token, which is signed by the same key).
#[tokio::test(flavor = "multi_thread")]
async fn descope_sessions_exchange_for_insforge_tokens_and_refresh_tokens_do_not() {
    let _stack = shared().await;
    let s = stack();
    let login = s.create_descope_user(&[]).await;
    let minted = s.descope_mint(json!({"login_id": login, "refresh": true})).await;
    let url = format!("{}/token", s.function_url("token-exchange", Deployment::Descope));
    let bearer = |t: &Value| format!("Bearer {}", t.as_str().unwrap());
    let r = s.request(reqwest::Method::POST, url.clone(), &[("authorization", &bearer(&minted["session_jwt"]))]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let claims = insforge_verify(r.body["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims["sub"], minted["user_id"], "sub is the Descope user id");
    assert!(claims["exp"].as_i64().unwrap() <= minted["expires_at"].as_i64().unwrap(), "capped by the session");
    // The DS cookie works as well; the refresh token does not.
    let cookie = format!("DS={}", minted["session_jwt"].as_str().unwrap());
    assert_eq!(s.request(reqwest::Method::POST, url.clone(), &[("cookie", &cookie)]).await.status, 200);
    let r = s.request(reqwest::Method::POST, url, &[("authorization", &bearer(&minted["refresh_jwt"]))]).await;
    assert_eq!(r.status, 401, "{}", r.body);
}
