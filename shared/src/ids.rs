//! Identifier shapes the providers define, checked before an id is used anywhere (a rule's
//! target, a session's organization, configuration). Depends on nothing else in the crate.

/// A Stytch id: `<prefix>-(test|live)-<uuid>` with a lowercase 8-4-4-4-12 hex uuid. Returns the
/// environment and the uuid.
pub fn stytch<'a>(id: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let rest = id.strip_prefix(prefix)?.strip_prefix('-')?;
    let (env, uuid) = rest.split_once('-')?;
    if env != "test" && env != "live" {
        return None;
    }
    let groups: Vec<&str> = uuid.split('-').collect();
    let shape_ok = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    shape_ok.then_some((env, uuid))
}

/// A Descope login id, user id or tenant id: non-empty, at most 256 bytes, no surrounding
/// whitespace, no control characters (Descope accepts almost anything else).
pub fn descope(id: &str) -> bool {
    !id.is_empty() && id.len() <= 256 && id.trim() == id && !id.chars().any(char::is_control)
}

/// fixtures/validation-samples.json is shared with the Studio's tests (studio/test): the verdict
/// of every sample is the verdict of the Rust check that enforces it, so the Studio never accepts
/// what publish-sync refuses, nor the reverse.
#[cfg(test)]
mod shared_samples {
    use serde_json::Value;

    fn samples(kind: &str) -> Vec<(String, bool)> {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/validation-samples.json")).unwrap();
        let all: Value = serde_json::from_str(&text).unwrap();
        let list = all[kind].as_array().unwrap_or_else(|| panic!("no {kind} samples"));
        assert!(list.len() >= 5, "{kind}: too few samples");
        list.iter().map(|s| (s["value"].as_str().unwrap().to_string(), s["valid"].as_bool().unwrap())).collect()
    }

    #[test]
    fn rust_checks_give_the_shared_verdicts() {
        type Check = fn(&str) -> bool;
        let checks: [(&str, Check); 6] = [
            ("organization_ids", |v| super::stytch(v, "organization").is_some()),
            ("stytch_user_ids", |v| super::stytch(v, "user").is_some()),
            ("descope_login_ids", super::descope),
            ("descope_tenant_ids", super::descope),
            ("routes", |v| crate::gated_route::GatedRoute::parse(v).is_some()),
            ("document_ids", crate::cms::webhook::valid_document_id),
        ];
        let mut wrong = Vec::new();
        for (kind, check) in checks {
            for (value, valid) in samples(kind) {
                if check(&value) != valid {
                    wrong.push(format!("{kind} {value:?}: Rust says {}, the fixture {valid}", !valid));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    /// Slug-like values have no Rust rule beyond their shape (cms::slug): everything the Studio
    /// accepts must sync.
    #[test]
    fn every_slug_the_studio_accepts_syncs() {
        for kind in ["slugs", "plan_slugs", "descope_role_keys", "region_codes"] {
            for (value, valid) in samples(kind) {
                if valid {
                    let read = crate::cms::slug::SlugField::read(&Value::String(value.clone()));
                    assert_eq!(read, crate::cms::slug::SlugField::Value(value.clone()), "{kind} {value:?}");
                }
            }
        }
    }
}
