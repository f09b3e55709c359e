//! moto: Secrets Manager over its JSON wire protocol.

use serde_json::{Value, json};

use super::*;

/// Stores a secret in moto through its JSON API (the same wire protocol the AWS SDK speaks).
pub async fn put_secret(name: &str, value: &str) -> String {
    let s = stack();
    let r = s
        .http
        .post(format!("{}/", s.var("MOTO_URL")))
        .header("x-amz-target", "secretsmanager.CreateSecret")
        .header("content-type", "application/x-amz-json-1.1")
        .header("authorization", "AWS4-HMAC-SHA256 Credential=test/20261123/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=x")
        .body(json!({"Name": name, "SecretString": value}).to_string())
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    v["ARN"].as_str().unwrap_or_else(|| panic!("moto: {v}")).to_string()
}
