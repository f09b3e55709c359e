//! Slug-like fields as the Content Lake stores them. Sanity's `slug` type is an object
//! `{_type: "slug", current}`, but a team that modelled the field as `string`, or an import
//! through the API, stores the plain string. Both mean the same slug; anything else is a broken
//! document that must be refused by name, never read as "no value".

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// One slug-like field of a projected document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SlugField {
    /// null or missing: the field (or the reference holding it) is not set.
    #[default]
    Absent,
    Value(String),
    /// Any other shape, described for the error message.
    Bad(String),
}

impl SlugField {
    pub fn read(v: &Value) -> SlugField {
        let text = |s: &str| if s.trim().is_empty() { SlugField::Bad("an empty string".into()) } else { SlugField::Value(s.to_string()) };
        match v {
            Value::Null => SlugField::Absent,
            Value::String(s) => text(s),
            Value::Object(m) => match m.get("current") {
                Some(Value::String(s)) => text(s),
                Some(other) => SlugField::Bad(format!("a slug object whose current is {}", kind(other))),
                None => SlugField::Bad("an object without current".into()),
            },
            other => SlugField::Bad(kind(other).into()),
        }
    }

    /// The slug, `None` when absent, or an error naming `field` when the shape is wrong.
    pub fn get(&self, field: &str) -> Result<Option<&str>, String> {
        match self {
            SlugField::Absent => Ok(None),
            SlugField::Value(s) => Ok(Some(s)),
            SlugField::Bad(what) => Err(format!("{field} must be a slug {{\"current\": \"…\"}} or a non-empty string, got {what}")),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'de> Deserialize<'de> for SlugField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(|v| SlugField::read(&v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_shapes_read_alike_and_other_shapes_are_named() {
        assert_eq!(SlugField::read(&json!({"_type": "slug", "current": "pro"})), SlugField::Value("pro".into()));
        assert_eq!(SlugField::read(&json!("pro")), SlugField::Value("pro".into()));
        assert_eq!(SlugField::read(&json!(null)), SlugField::Absent);
        for (bad, says) in [
            (json!(5), "a number"),
            (json!({"_type": "slug"}), "without current"),
            (json!(""), "empty string"),
            (json!({"current": "  "}), "empty string"),
            (json!({"current": 3}), "current is a number"),
            (json!(["pro"]), "an array"),
            (json!(true), "a boolean"),
        ] {
            let e = SlugField::read(&bad).get("plan->slug").unwrap_err();
            assert!(e.contains("plan->slug") && e.contains(says), "{bad}: {e}");
        }
    }
}
