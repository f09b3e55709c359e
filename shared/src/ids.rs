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
