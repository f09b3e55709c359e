//! token-exchange: a verified Stytch session becomes a short-lived InsForge token, and Postgres
//! row-level security does the rest (`requesting_user_id()` reads `sub`).
//!
//! The token is HS256 with InsForge's JWT secret, which also signs InsForge's own admin tokens:
//! every claim is decided here from the verified session, and nothing a caller sends can reach
//! one. In particular `role` is always `authenticated` (InsForge forwards `project_admin` as an
//! RLS-bypassing admin).

use serde::{Deserialize, Serialize};

use crate::session::{Session, SessionError};
use crate::secrets::InsForgeSecret;

/// InsForge's own access tokens last 15 minutes; so do ours.
pub const TOKEN_TTL_S: i64 = 15 * 60;
pub const AUDIENCE: &str = "insforge-api";
/// The only role gatehouse ever mints.
pub const ROLE: &str = "authenticated";

/// The claims InsForge reads (`sub`, `role`, `email`) plus `aud`, `iat`, `exp`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub email: Option<String>,
}

#[derive(Debug)]
pub struct Minted {
    pub token: String,
    pub expires_at: i64,
}

/// Claims for a verified session at `now_s`: never outliving the session itself.
pub fn claims(session: &Session, now_s: i64) -> Result<Claims, SessionError> {
    let exp = (now_s + TOKEN_TTL_S).min(session.expires_at);
    // The verifier allows a little clock skew; a session already past its expiry gets nothing.
    if exp <= now_s {
        return Err(SessionError::Expired);
    }
    Ok(Claims {
        sub: session.subject.clone(),
        role: ROLE.into(),
        aud: AUDIENCE.into(),
        iat: now_s,
        exp,
        email: session.email.clone(),
    })
}

pub fn mint(session: &Session, secret: &InsForgeSecret, now_s: i64) -> Result<Minted, SessionError> {
    let c = claims(session, now_s)?;
    // Header {"typ":"JWT","alg":"HS256"}, as InsForge's own tokens.
    let token = crate::jwt::encode_hs256(&c, secret.jwt_secret.as_bytes()).map_err(|_| SessionError::Malformed)?;
    Ok(Minted { token, expires_at: c.exp })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};

    fn session(exp: i64, email: Option<&str>) -> Session {
        Session {
            subject: "member-test-07971b06-ac8b-4cdb-9c15-63b17e653931".into(),
            organization_id: Some("organization-test-x".into()),
            organization_slug: None,
            roles: vec!["stytch_admin".into()],
            project_roles: crate::session::ProjectRoles::NotApplicable,
            factors: vec!["email".into()],
            expires_at: exp,
            email: email.map(String::from),
        }
    }

    fn secret() -> InsForgeSecret {
        InsForgeSecret { jwt_secret: "an-insforge-jwt-secret-of-32-bytes-or-more".into(), base_url: "http://x".into() }
    }

    #[test]
    fn token_is_hs256_with_fixed_role_and_bounded_expiry() {
        let now = 1_800_000_000;
        let m = mint(&session(now + 3600, Some("a@example.com")), &secret(), now).unwrap();
        let mut v = Validation::new(Algorithm::HS256);
        v.set_audience(&[AUDIENCE]);
        v.validate_exp = false;
        let d = jsonwebtoken::decode::<Claims>(&m.token, &DecodingKey::from_secret(secret().jwt_secret.as_bytes()), &v).unwrap();
        assert_eq!(d.header.typ.as_deref(), Some("JWT"));
        assert_eq!(d.claims.role, "authenticated");
        assert_eq!(d.claims.sub, "member-test-07971b06-ac8b-4cdb-9c15-63b17e653931");
        assert_eq!(d.claims.exp, now + TOKEN_TTL_S);
        assert_eq!(m.expires_at, now + TOKEN_TTL_S);
        assert_eq!(d.claims.email.as_deref(), Some("a@example.com"));
        // Another key does not verify it.
        assert!(jsonwebtoken::decode::<Claims>(&m.token, &DecodingKey::from_secret(b"another-key-another-key-another-key"), &v).is_err());
    }

    #[test]
    fn token_never_outlives_the_session() {
        let now = 1_800_000_000;
        assert_eq!(claims(&session(now + 60, None), now).unwrap().exp, now + 60);
        assert!(claims(&session(now + 60, None), now).unwrap().email.is_none());
        assert_eq!(claims(&session(now, None), now), Err(SessionError::Expired));
        assert_eq!(claims(&session(now - 10, None), now), Err(SessionError::Expired));
    }

    #[test]
    fn no_email_claim_when_the_session_has_none() {
        let json = serde_json::to_value(claims(&session(1_900_000_000, None), 1_800_000_000).unwrap()).unwrap();
        assert!(json.get("email").is_none());
        assert_eq!(json["aud"], "insforge-api");
    }
}
