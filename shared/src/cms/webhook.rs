//! The webhook body: parsed only after the signature verified. Its `_id`, `_type` and `before`
//! are hints; the Content Lake is the truth.

use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BodyError {
    #[error("body is not a JSON object")]
    NotJson,
    #[error("body has no `_id` string")]
    NoId,
    #[error("`_id` is not a valid document id")]
    BadId,
    #[error("body has no `_type` string")]
    NoType,
}

/// What `before()` held in the delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum Before {
    /// The projection did not include `before` at all (misconfigured webhook).
    Absent,
    /// `before()` was null: the document was created.
    Null,
    Object(Map<String, Value>),
}

impl Before {
    /// A string field of `before()`, if set and non-empty.
    pub fn str(&self, key: &str) -> Option<&str> {
        match self {
            Before::Object(m) => m.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct WebhookEvent {
    pub id: String,
    pub doc_type: String,
    pub rev: Option<String>,
    pub operation: Option<String>,
    pub before: Before,
    pub dataset: Option<String>,
}

/// Sanity document ids: letters, digits, `.`, `_`, `-`; at most 128 characters.
pub fn valid_document_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && !id.starts_with('.')
}

/// Drafts and release versions never reach the provider.
pub fn is_draft_or_version(id: &str) -> bool {
    id.starts_with("drafts.") || id.starts_with("versions.")
}

impl WebhookEvent {
    pub fn parse(body: &[u8]) -> Result<Self, BodyError> {
        let Ok(Value::Object(mut m)) = serde_json::from_slice::<Value>(body) else {
            return Err(BodyError::NotJson);
        };
        let id = match m.remove("_id") {
            Some(Value::String(s)) => s,
            _ => return Err(BodyError::NoId),
        };
        if !valid_document_id(&id) {
            return Err(BodyError::BadId);
        }
        let doc_type = match m.remove("_type") {
            Some(Value::String(s)) => s,
            _ => return Err(BodyError::NoType),
        };
        let take_str = |m: &mut Map<String, Value>, k: &str| match m.remove(k) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        let rev = take_str(&mut m, "_rev");
        let operation = take_str(&mut m, "operation");
        let dataset = take_str(&mut m, "dataset");
        let before = match m.remove("before") {
            None => Before::Absent,
            Some(Value::Object(o)) => Before::Object(o),
            Some(_) => Before::Null,
        };
        Ok(WebhookEvent { id, doc_type, rev, operation, before, dataset })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_projection() {
        let e = WebhookEvent::parse(
            br#"{"_id":"rule-1","_type":"accessRule","_rev":"r1","operation":"update","before":{"stytchOrganizationId":"organization-test-x","stytchUserId":null},"dataset":"production"}"#,
        )
        .unwrap();
        assert_eq!(e.id, "rule-1");
        assert_eq!(e.before.str("stytchOrganizationId"), Some("organization-test-x"));
        assert_eq!(e.before.str("stytchUserId"), None);
        assert_eq!(e.dataset.as_deref(), Some("production"));
        let e = WebhookEvent::parse(br#"{"_id":"a","_type":"accessRule","before":null}"#).unwrap();
        assert_eq!(e.before, Before::Null);
        let e = WebhookEvent::parse(br#"{"_id":"a","_type":"accessRule"}"#).unwrap();
        assert_eq!(e.before, Before::Absent);
    }

    #[test]
    fn rejects_bodies_without_a_usable_id() {
        assert_eq!(WebhookEvent::parse(b"not json").unwrap_err(), BodyError::NotJson);
        assert_eq!(WebhookEvent::parse(b"[1]").unwrap_err(), BodyError::NotJson);
        assert_eq!(WebhookEvent::parse(b"\xff\xfe").unwrap_err(), BodyError::NotJson);
        assert_eq!(WebhookEvent::parse(br#"{"_type":"accessRule"}"#).unwrap_err(), BodyError::NoId);
        assert_eq!(WebhookEvent::parse(br#"{"_id":5,"_type":"x"}"#).unwrap_err(), BodyError::NoId);
        assert_eq!(WebhookEvent::parse(br#"{"_id":"a b","_type":"x"}"#).unwrap_err(), BodyError::BadId);
        assert_eq!(WebhookEvent::parse(br#"{"_id":"a"}"#).unwrap_err(), BodyError::NoType);
    }

    #[test]
    fn drafts_and_versions_are_recognised_exactly() {
        assert!(is_draft_or_version("drafts.rule-1"));
        assert!(is_draft_or_version("versions.r1.rule-1"));
        assert!(!is_draft_or_version("draftsXa"));
        assert!(!is_draft_or_version("rule-drafts.1"));
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::cms::signature;

    /// Random bytes, and mutations of a real body, never panic the parsers.
    #[test]
    fn parsers_survive_random_input() {
        let mut rng = fastrand::Rng::with_seed(11);
        let seed = br#"{"_id":"rule-1","_type":"accessRule","_rev":"r","operation":"update","before":{"stytchOrganizationId":"o"},"dataset":"production"}"#;
        for _ in 0..20_000 {
            let mut b = seed.to_vec();
            for _ in 0..rng.usize(1..8) {
                match rng.u8(..3) {
                    0 if !b.is_empty() => {
                        let i = rng.usize(..b.len());
                        b[i] = rng.u8(..);
                    }
                    1 if !b.is_empty() => {
                        b.remove(rng.usize(..b.len()));
                    }
                    _ => b.insert(rng.usize(..=b.len()), rng.u8(..)),
                }
            }
            let _ = WebhookEvent::parse(&b);
            let header = String::from_utf8_lossy(&b);
            assert!(signature::verify(Some(&header), &b, &["s"], 1_763_900_000_000).is_err());
        }
        // Deep nesting is bounded by serde_json's recursion limit, not a stack overflow.
        let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(WebhookEvent::parse(deep.as_bytes()).is_err());
    }
}
