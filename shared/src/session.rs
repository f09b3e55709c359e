//! A verified session, reduced to what authorization needs, whichever provider signed it; how a
//! request carries its token; and the one mapping from JWT failures to session errors.

use crate::identity::{Target, TargetKind};
use crate::jwt::JwtError;

pub const LEEWAY_S: u64 = 30;
/// Real session JWTs are ~1-2 KB; anything far larger is an attack on the parser.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("no session token")]
    Missing,
    #[error("malformed token")]
    Malformed,
    #[error("token algorithm must be RS256")]
    Algorithm,
    #[error("token header lacks kid or typ")]
    Header,
    #[error("token signed by an unknown key")]
    UnknownKey,
    #[error("bad token signature")]
    Signature,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("token issuer not accepted")]
    Issuer,
    #[error("token audience not accepted")]
    Audience,
    #[error("token lacks a required claim")]
    Claims,
    #[error("session keys unavailable")]
    KeysUnavailable,
}

/// The one mapping from a JWT check's failure to what the caller is told (all 401).
impl From<JwtError> for SessionError {
    fn from(e: JwtError) -> Self {
        match e {
            JwtError::Expired => SessionError::Expired,
            JwtError::NotYetValid => SessionError::NotYetValid,
            JwtError::Issuer => SessionError::Issuer,
            JwtError::Audience => SessionError::Audience,
            JwtError::Signature => SessionError::Signature,
            JwtError::MissingClaim(_) | JwtError::ClaimFormat(_) => SessionError::Claims,
            JwtError::Algorithm => SessionError::Algorithm,
            JwtError::Malformed => SessionError::Malformed,
        }
    }
}

impl SessionError {
    pub fn status(&self) -> u16 {
        // Without any key we cannot tell good tokens from bad: that is our outage, not the caller's fault.
        if *self == SessionError::KeysUnavailable { 503 } else { 401 }
    }
    pub fn code(&self) -> &'static str {
        if *self == SessionError::KeysUnavailable { "session_keys_unavailable" } else { "invalid_token" }
    }
}

/// A verified session, reduced to what authorization needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub subject: String,
    pub organization_id: Option<String>,
    pub organization_slug: Option<String>,
    pub roles: Vec<String>,
    /// Whether the project has roles above its organizations and which this session holds; only
    /// `Known` ones can make a session of such a project staff (authz::staff): a tenant admin
    /// assigns tenant roles.
    pub project_roles: ProjectRoles,
    /// Distinct authentication channels of this session (email, phone, totp, webauthn, …).
    pub factors: Vec<String>,
    pub expires_at: i64,
    pub email: Option<String>,
}

/// A session's project-level roles, as its verifier could tell them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectRoles {
    /// The project has no level above its organizations: `roles` are the organization's
    /// (Stytch B2B members), or there are none (Stytch consumer users).
    NotApplicable,
    /// The project has project-level roles, but this token does not tell them apart from the
    /// current tenant's (Descope's dct-only layout): never staff.
    Indistinct,
    /// The project-level roles alone (Descope).
    Known(Vec<String>),
}

impl Session {
    /// Two or more distinct factors (Stytch has no explicit MFA claim), or an explicit `mfa`
    /// factor: Descope adds "mfa" to `amr` after a step-up; Stytch factor types never include it.
    pub fn mfa(&self) -> bool {
        self.factors.len() >= 2 || self.factors.iter().any(|f| f == "mfa")
    }

    /// Where this session's synced access lives.
    pub fn target(&self) -> Target {
        match &self.organization_id {
            Some(org) => Target { kind: TargetKind::Organization, id: org.clone() },
            None => Target { kind: TargetKind::User, id: self.subject.clone() },
        }
    }
}

/// The session token from `Authorization: Bearer …`, else from the provider's session cookie.
/// `Ok(None)` = no credentials at all (anonymous); a malformed Authorization header is an error.
pub fn credentials<'a>(authorization: Option<&'a str>, cookie: Option<&'a str>, cookie_name: &str) -> Result<Option<&'a str>, SessionError> {
    if let Some(a) = authorization {
        let (scheme, token) = a.trim().split_once(' ').ok_or(SessionError::Malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(SessionError::Malformed);
        }
        return Ok(Some(token.trim()));
    }
    let found = cookie.into_iter().flat_map(|c| c.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == cookie_name).then_some(v.trim())
    });
    match found {
        Some("") => Err(SessionError::Malformed),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_wins_over_cookie_and_garbage_is_rejected() {
        assert_eq!(credentials(Some("Bearer abc"), Some("stytch_session_jwt=zzz"), "stytch_session_jwt"), Ok(Some("abc")));
        assert_eq!(credentials(Some("bearer  abc "), None, "stytch_session_jwt"), Ok(Some("abc")));
        assert_eq!(credentials(None, Some("a=1; stytch_session_jwt=zzz"), "stytch_session_jwt"), Ok(Some("zzz")));
        assert_eq!(credentials(None, Some("a=1"), "stytch_session_jwt"), Ok(None));
        assert_eq!(credentials(None, None, "stytch_session_jwt"), Ok(None));
        assert!(credentials(Some("Basic abc"), None, "x").is_err());
        assert!(credentials(Some("Bearer "), None, "x").is_err());
        assert!(credentials(None, Some("stytch_session_jwt="), "stytch_session_jwt").is_err());
    }
}

