//! A Stytch project's credentials (`STYTCH_SECRET_ARN`: `{project_id, secret, kind}`).

use serde_json::{Map, Value};

use crate::secret_fields::{SecretsError, field, optional_field};

/// Which Stytch API family a project speaks; a project is one or the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProjectKind {
    B2b,
    Consumer,
}

#[derive(Clone)]
pub struct StytchSecret {
    pub project_id: String,
    pub secret: String,
    pub kind: ProjectKind,
}

impl StytchSecret {
    /// `test` or `live`, from the project id (`project-test-…`).
    pub fn environment(&self) -> &str {
        if self.project_id.starts_with("project-live-") { "live" } else { "test" }
    }
}

pub fn parse_stytch(arn: &str, obj: &Map<String, Value>) -> Result<StytchSecret, SecretsError> {
    let project_id = field(arn, obj, "project_id")?;
    if !(project_id.starts_with("project-test-") || project_id.starts_with("project-live-")) {
        return Err(SecretsError::InvalidField {
            arn: arn.into(),
            field: "project_id",
            reason: "expected project-test-… or project-live-…",
        });
    }
    let kind = match optional_field(arn, obj, "kind")?.as_deref() {
        None | Some("b2b") => ProjectKind::B2b,
        Some("consumer") => ProjectKind::Consumer,
        Some(_) => {
            return Err(SecretsError::InvalidField { arn: arn.into(), field: "kind", reason: "expected b2b or consumer" });
        }
    };
    Ok(StytchSecret { project_id, secret: field(arn, obj, "secret")?, kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn stytch_secret_defaults_to_b2b_and_rejects_bad_kind() {
        let s = parse_stytch("arn:x", &obj(serde_json::json!({"project_id":"project-test-1","secret":"s"}))).unwrap();
        assert_eq!(s.kind, ProjectKind::B2b);
        assert_eq!(s.environment(), "test");
        let e = parse_stytch("arn:x", &obj(serde_json::json!({"project_id":"project-live-1","secret":"s","kind":"both"})))
            .err()
            .unwrap();
        assert_eq!(e.to_string(), "secret arn:x: field `kind` is invalid: expected b2b or consumer");
    }

}
