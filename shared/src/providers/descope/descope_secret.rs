//! A Descope project's credentials.

use serde_json::Value;

use crate::secret_fields::{SecretsError, field};

/// A Descope project and a management key for it (`DESCOPE_SECRET_ARN`: `{project_id, management_key}`).
#[derive(Clone)]
pub struct DescopeSecret {
    pub project_id: String,
    pub management_key: String,
}

// Never print the management key, even in debug output.
impl std::fmt::Debug for DescopeSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DescopeSecret").field("project_id", &self.project_id).finish_non_exhaustive()
    }
}

/// Parses a Descope secret's JSON. The project id ends up in URLs, JWKS paths and the issuer check:
/// it must look like one (`P` then letters and digits, e.g. `P2abc…` or `Puse1…`).
pub fn parse_descope(arn: &str, json: &str) -> Result<DescopeSecret, SecretsError> {
    let obj = match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(m)) => m,
        _ => return Err(SecretsError::InvalidJson { arn: arn.into() }),
    };
    let project_id = field(arn, &obj, "project_id")?;
    if !(project_id.starts_with('P') && project_id.len() >= 2 && project_id.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return Err(SecretsError::InvalidField {
            arn: arn.into(),
            field: "project_id",
            reason: "expected a Descope project id (P followed by letters and digits)",
        });
    }
    let management_key = field(arn, &obj, "management_key")?;
    // It travels inside `Authorization: Bearer <project>:<key>`: no separators or whitespace.
    if management_key.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b':') {
        return Err(SecretsError::InvalidField { arn: arn.into(), field: "management_key", reason: "unexpected characters" });
    }
    Ok(DescopeSecret { project_id, management_key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descope_secret_parses_and_errors_name_the_field_never_the_value() {
        let s = parse_descope("arn:d", r#"{"project_id":"P2abcDEF123","management_key":"K2-secret_key"}"#).unwrap();
        assert_eq!(s.project_id, "P2abcDEF123");
        assert_eq!(s.management_key, "K2-secret_key");
        assert!(!format!("{s:?}").contains("K2-secret_key"));

        let e = parse_descope("arn:d", "not json").unwrap_err();
        assert_eq!(e.to_string(), "secret arn:d: SecretString is not a JSON object");
        let e = parse_descope("arn:d", r#"["P2abc"]"#).unwrap_err();
        assert!(matches!(e, SecretsError::InvalidJson { .. }));
        let e = parse_descope("arn:d", r#"{"project_id":"P2abc"}"#).unwrap_err();
        assert_eq!(e.to_string(), "secret arn:d: missing field `management_key`");
        let e = parse_descope("arn:d", r#"{"management_key":"K2VERYSECRET"}"#).unwrap_err();
        assert_eq!(e.to_string(), "secret arn:d: missing field `project_id`");
        for bad in ["project-test-1", "p2abc", "P", "P2abc/../x", "P2 abc", "P2abc:x"] {
            let json = serde_json::json!({"project_id": bad, "management_key": "K2VERYSECRET"}).to_string();
            let e = parse_descope("arn:d", &json).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains("`project_id`") && !msg.contains("K2VERYSECRET"), "{bad}: {msg}");
        }
        let e = parse_descope("arn:d", r#"{"project_id":"P2abc","management_key":12345}"#).unwrap_err();
        assert_eq!(e.to_string(), "secret arn:d: field `management_key` is invalid: not a string");
        let e = parse_descope("arn:d", r#"{"project_id":"P2abc","management_key":"  "}"#).unwrap_err();
        assert!(e.to_string().contains("`management_key`"));
        let e = parse_descope("arn:d", r#"{"project_id":"P2abc","management_key":"K2 SECRET\n"}"#).unwrap_err();
        assert!(e.to_string().contains("`management_key`") && !e.to_string().contains("SECRET"));
    }
}
