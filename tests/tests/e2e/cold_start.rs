//! Cold start: each function binary, started as Lambda would start it, reads config and secrets
//! from the Secrets Manager stand-in (moto), and fails with one clear line when something is
//! missing — never a panic trace, never a secret value.

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

use crate::common::*;

const CANARY: &str = "sk-CANARY-must-never-be-printed";

fn binary(name: &str) -> String {
    format!("{}/../target/debug/{name}", env!("CARGO_MANIFEST_DIR"))
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Starts `bin` with the test stack's env plus `env` (None = remove), as a Lambda container would,
/// with a Runtime API address nothing listens on: a healthy init gets as far as polling it.
async fn run(bin: &str, env: &[(&str, Option<&str>)]) -> Run {
    let s = stack();
    let mut cmd = tokio::process::Command::new(binary(bin));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", s.var("MOTO_URL"))
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("STYTCH_SECRET_ARN", s.var("STYTCH_B2B_SECRET_ARN"))
        .env("SANITY_SECRET_ARN", s.var("SANITY_SECRET_ARN"))
        .env("INSFORGE_SECRET_ARN", s.var("INSFORGE_SECRET_ARN"))
        .env("SANITY_API_HOST", s.var("SANITY_URL"))
        .env("STYTCH_BASE_URL", s.var("STYTCH_URL"))
        .env("INIT_BUDGET_MS", "3000")
        .env("HTTP_CONNECT_TIMEOUT_MS", "300")
        .env("HTTP_TIMEOUT_MS", "500")
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .env("AWS_LAMBDA_FUNCTION_NAME", bin)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let child = cmd.spawn().expect("function binary built (cargo build --bins)");
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output()).await.expect("binary hung").unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

fn assert_one_clear_line(r: &Run, must_contain: &[&str]) {
    assert_eq!(r.code, Some(1), "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line on stderr, got: {}", r.stderr);
    assert!(lines[0].starts_with("gatehouse init failed: "), "{}", lines[0]);
    for m in must_contain {
        assert!(lines[0].contains(m), "{:?} should mention {m}", lines[0]);
    }
    for text in [&r.stderr, &r.stdout] {
        assert!(!text.contains("panicked"), "{text}");
        assert!(!text.contains(CANARY), "a secret value leaked: {text}");
        assert!(!text.contains("secret-test-local"), "a secret value leaked: {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_function_starts_and_reads_its_secrets() {
    let _stack = shared().await;
    for bin in ["publish-sync", "delete-cleanup", "gated-content", "token-exchange", "reconcile"] {
        let r = run(bin, &[]).await;
        // Init succeeded, then the runtime client failed to reach the (absent) Runtime API.
        assert!(r.stdout.contains("secrets loaded"), "{bin}: {}\n{}", r.stdout, r.stderr);
        assert!(!r.stderr.contains("gatehouse init failed"), "{bin}: {}", r.stderr);
        assert!(!r.stdout.contains("secret-test-local") && !r.stderr.contains("secret-test-local"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_env_var() {
    let _stack = shared().await;
    for var in ["STYTCH_SECRET_ARN", "SANITY_SECRET_ARN"] {
        let r = run("publish-sync", &[(var, None)]).await;
        assert_one_clear_line(&r, &[var]);
    }
    let r = run("gated-content", &[("HTTP_TIMEOUT_MS", Some("soon"))]).await;
    assert_one_clear_line(&r, &["HTTP_TIMEOUT_MS"]);
    // token-exchange reads the InsForge secret and never the Sanity one (its IAM denies it).
    let r = run("token-exchange", &[("INSFORGE_SECRET_ARN", None)]).await;
    assert_one_clear_line(&r, &["INSFORGE_SECRET_ARN"]);
    let r = run("token-exchange", &[("SANITY_SECRET_ARN", None)]).await;
    assert!(r.stdout.contains("secrets loaded"), "{}\n{}", r.stdout, r.stderr);
    // The local-only CA setting fails the cold start clearly when it names nothing usable.
    let r = run("gated-content", &[("LOCAL_CA_FILE", Some("/nonexistent/ca.pem"))]).await;
    assert_one_clear_line(&r, &["LOCAL_CA_FILE", "/nonexistent/ca.pem"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_secrets_manager() {
    let _stack = shared().await;
    let r = run("publish-sync", &[("AWS_ENDPOINT_URL", Some("http://127.0.0.1:9"))]).await;
    assert_one_clear_line(&r, &["unreachable", "arn:aws:secretsmanager"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_secret() {
    let _stack = shared().await;
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gatehouse/does-not-exist-AbCdEf";
    let r = run("delete-cleanup", &[("SANITY_SECRET_ARN", Some(arn))]).await;
    assert_one_clear_line(&r, &["not found", arn]);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_json_and_missing_or_bad_fields() {
    let _stack = shared().await;
    let n = uid();
    let not_json = put_secret(&format!("cold/{n}/notjson"), &format!("{{\"project_id\": \"{CANARY}\"")).await;
    let r = run("gated-content", &[("STYTCH_SECRET_ARN", Some(&not_json))]).await;
    assert_one_clear_line(&r, &["not a JSON object", &not_json]);

    let no_field = put_secret(
        &format!("cold/{n}/nofield"),
        &json!({"project_id": "demo", "dataset": "production", "read_token": CANARY}).to_string(),
    )
    .await;
    let r = run("publish-sync", &[("SANITY_SECRET_ARN", Some(&no_field))]).await;
    assert_one_clear_line(&r, &["missing field `webhook_secret`", &no_field]);

    let bad_kind = put_secret(
        &format!("cold/{n}/badkind"),
        &json!({"project_id": "project-test-11111111-1111-4111-8111-111111111111", "secret": CANARY, "kind": "both"}).to_string(),
    )
    .await;
    let r = run("publish-sync", &[("STYTCH_SECRET_ARN", Some(&bad_kind))]).await;
    assert_one_clear_line(&r, &["`kind`"]);

    let wrong_type = put_secret(&format!("cold/{n}/wrongtype"), &json!({"project_id": 42, "secret": CANARY}).to_string()).await;
    let r = run("publish-sync", &[("STYTCH_SECRET_ARN", Some(&wrong_type))]).await;
    assert_one_clear_line(&r, &["`project_id`", "not a string"]);
}

/// A staff list entry that is not an organization (or tenant) id stops the cold start with one
/// line naming the variable; it never falls back to "everyone". An empty list starts (no staff).
#[tokio::test(flavor = "multi_thread")]
async fn bad_staff_lists_fail_init_naming_the_variable() {
    let _stack = shared().await;
    let org = "organization-test-11111111-1111-4111-8111-111111111111";
    for bad in ["org-123", &format!("{org},"), &format!("{org}, organization-test-x"), "*"] {
        let r = run("gated-content", &[("PLATFORM_ORGANIZATION_IDS", Some(bad))]).await;
        assert_one_clear_line(&r, &["PLATFORM_ORGANIZATION_IDS"]);
    }
    let r = run("gated-content", &[("PLATFORM_TENANT_IDS", Some("T2staff,\u{7}"))]).await;
    assert_one_clear_line(&r, &["PLATFORM_TENANT_IDS"]);
    for fine in ["", org, &format!("{org} , organization-live-22222222-2222-4222-8222-222222222222")] {
        let r = run("gated-content", &[("PLATFORM_ORGANIZATION_IDS", Some(fine))]).await;
        assert!(r.stdout.contains("secrets loaded"), "{fine:?}: {}\n{}", r.stdout, r.stderr);
    }
}
