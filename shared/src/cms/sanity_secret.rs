//! The Sanity project gatehouse reads and the webhook secrets its deliveries are signed with
//! (`SANITY_SECRET_ARN`).

use serde_json::{Map, Value};

use crate::secret_fields::{SecretsError, field, optional_field};

#[derive(Clone, Default)]
pub struct SanitySecret {
    pub project_id: String,
    pub dataset: String,
    pub read_token: String,
    pub webhook_secret: String,
    pub webhook_secret_previous: Option<String>,
}

impl SanitySecret {
    /// Secrets a webhook signature may be made with, current first.
    pub fn webhook_secrets(&self) -> Vec<&str> {
        std::iter::once(self.webhook_secret.as_str()).chain(self.webhook_secret_previous.as_deref()).collect()
    }
}

pub fn parse_sanity(arn: &str, obj: &Map<String, Value>) -> Result<SanitySecret, SecretsError> {
    let project_id = field(arn, obj, "project_id")?;
    let dataset = field(arn, obj, "dataset")?;
    // Both end up in a host name / URL path: refuse anything that could change the URL's shape.
    let safe = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !safe(&project_id) {
        return Err(SecretsError::InvalidField { arn: arn.into(), field: "project_id", reason: "unexpected characters" });
    }
    if !safe(&dataset) {
        return Err(SecretsError::InvalidField { arn: arn.into(), field: "dataset", reason: "unexpected characters" });
    }
    Ok(SanitySecret {
        project_id,
        dataset,
        read_token: field(arn, obj, "read_token")?,
        webhook_secret: field(arn, obj, "webhook_secret")?,
        webhook_secret_previous: optional_field(arn, obj, "webhook_secret_previous")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn errors_name_the_field_and_never_the_value() {
        let e = parse_sanity(
            "arn:s",
            &obj(serde_json::json!({"project_id":"p","dataset":"production","read_token":"sk-VERYSECRET"})),
        )
        .err()
        .unwrap();
        assert_eq!(e.to_string(), "secret arn:s: missing field `webhook_secret`");
        let e = parse_sanity(
            "arn:s",
            &obj(serde_json::json!({"project_id":"p","dataset":"production","read_token":12345,"webhook_secret":"w"})),
        )
        .err()
        .unwrap();
        assert!(!e.to_string().contains("12345"));
        let e = parse_sanity(
            "arn:s",
            &obj(serde_json::json!({"project_id":"p/../x","dataset":"d","read_token":"t","webhook_secret":"w"})),
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("project_id"));
    }

    #[test]
    fn previous_webhook_secret_is_optional_and_listed_second() {
        let s = parse_sanity(
            "arn:s",
            &obj(serde_json::json!({"project_id":"p","dataset":"d","read_token":"t","webhook_secret":"new","webhook_secret_previous":"old"})),
        )
        .unwrap();
        assert_eq!(s.webhook_secrets(), vec!["new", "old"]);
        let s = parse_sanity(
            "arn:s",
            &obj(serde_json::json!({"project_id":"p","dataset":"d","read_token":"t","webhook_secret":"new","webhook_secret_previous":""})),
        )
        .unwrap();
        assert_eq!(s.webhook_secrets(), vec!["new"]);
    }
}
