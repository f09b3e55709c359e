//! Reading a secret's JSON: errors name the ARN and the field, never a value (serde messages can
//! quote values, so secret JSON is walked by hand instead of deserialised into structs).

use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("secret {arn}: Secrets Manager unreachable or refused the request ({reason})")]
    Unreachable { arn: String, reason: String },
    #[error("secret {arn}: not found in Secrets Manager")]
    NotFound { arn: String },
    #[error("secret {arn}: has no SecretString (binary secrets are not supported)")]
    NoString { arn: String },
    #[error("secret {arn}: SecretString is not a JSON object")]
    InvalidJson { arn: String },
    #[error("secret {arn}: missing field `{field}`")]
    MissingField { arn: String, field: &'static str },
    #[error("secret {arn}: field `{field}` is invalid: {reason}")]
    InvalidField { arn: String, field: &'static str, reason: &'static str },
}

/// A required non-empty string field.
pub fn field(arn: &str, obj: &Map<String, Value>, name: &'static str) -> Result<String, SecretsError> {
    match obj.get(name) {
        None | Some(Value::Null) => Err(SecretsError::MissingField { arn: arn.into(), field: name }),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(SecretsError::InvalidField { arn: arn.into(), field: name, reason: "empty" }),
        Some(_) => Err(SecretsError::InvalidField { arn: arn.into(), field: name, reason: "not a string" }),
    }
}

/// An optional string field: absent, null or empty all mean "not set".
pub fn optional_field(arn: &str, obj: &Map<String, Value>, name: &'static str) -> Result<Option<String>, SecretsError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(SecretsError::InvalidField { arn: arn.into(), field: name, reason: "not a string" }),
    }
}

