//! Stytch session JWTs (B2B and consumer) verified locally against the project's JWKS: RS256
//! only, `kid` and `typ` required, issuer, audience, `exp` and `nbf` with at most 30 s of skew.
//! No per-request call to Stytch.

use serde::Deserialize;

use super::stytch_secret::ProjectKind;
use crate::jwks::{Jwks, rs256_key};
use crate::jwt::{self, Validation};
use crate::session::{LEEWAY_S, ProjectRoles, Session, SessionError};

#[derive(Deserialize)]
struct Factor {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    delivery_method: String,
    /// Stytch puts the address inside `email_factor` (magic link, OTP, password, SSO by email).
    #[serde(default)]
    email_factor: Option<EmailFactor>,
}

#[derive(Deserialize)]
struct EmailFactor {
    #[serde(default)]
    email_address: Option<String>,
}

#[derive(Deserialize, Default)]
struct SessionClaim {
    #[serde(default)]
    authentication_factors: Vec<Factor>,
    #[serde(default)]
    roles: Vec<String>,
}

#[derive(Deserialize)]
struct OrgClaim {
    organization_id: String,
    #[serde(default)]
    slug: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    #[serde(rename = "https://stytch.com/session", default)]
    session: Option<SessionClaim>,
    #[serde(rename = "https://stytch.com/organization", default)]
    organization: Option<OrgClaim>,
}

pub struct StytchVerifier {
    pub jwks: Jwks,
    project_id: String,
    kind: ProjectKind,
    issuers: Vec<String>,
}

/// Where a Stytch project's keys are published.
pub fn stytch_jwks_url(base: &str, project_id: &str, kind: ProjectKind) -> String {
    match kind {
        ProjectKind::B2b => format!("{base}/v1/b2b/sessions/jwks/{project_id}"),
        ProjectKind::Consumer => format!("{base}/v1/sessions/jwks/{project_id}"),
    }
}

impl StytchVerifier {
    pub fn new(jwks: Jwks, project_id: String, kind: ProjectKind, extra_issuers: &[String]) -> Self {
        let mut issuers = vec![format!("stytch.com/{project_id}")];
        issuers.extend(extra_issuers.iter().cloned());
        StytchVerifier { jwks, project_id, kind, issuers }
    }

    pub async fn verify(&self, token: &str) -> Result<Session, SessionError> {
        let (header, key) = rs256_key(&self.jwks, token).await?;
        // Stytch always sets `typ`; Descope does not promise it.
        if header.typ.as_deref() != Some("JWT") {
            return Err(SessionError::Header);
        }
        let v = Validation {
            leeway: LEEWAY_S,
            validate_nbf: true,
            validate_exp: true,
            issuers: Some(self.issuers.clone()),
            audience: Some(vec![self.project_id.clone()]),
            required: vec!["exp", "nbf", "iss", "aud", "sub"],
            ..Validation::default()
        };
        let c: Claims = jwt::decode(token, &key, &v)?;
        let session = c.session.unwrap_or_default();
        // Count channels, not factor records: an email magic link plus an email OTP is one factor.
        let mut factors: Vec<String> = session
            .authentication_factors
            .iter()
            .map(|f| match f.delivery_method.as_str() {
                m if m.contains("email") => "email".to_string(),
                m if m.contains("sms") || m.contains("whatsapp") => "phone".to_string(),
                _ => f.kind.clone(),
            })
            .collect();
        factors.sort();
        factors.dedup();
        let email = session.authentication_factors.iter().find_map(|f| f.email_factor.as_ref()?.email_address.clone()).filter(|e| !e.is_empty());
        let (organization_id, organization_slug) = match (self.kind, c.organization) {
            (ProjectKind::B2b, Some(o)) if crate::ids::stytch(&o.organization_id, "organization").is_some() => {
                (Some(o.organization_id), o.slug)
            }
            // A B2B session must name its organization; a consumer session must not.
            (ProjectKind::B2b, _) => return Err(SessionError::Claims),
            (ProjectKind::Consumer, Some(_)) => return Err(SessionError::Claims),
            (ProjectKind::Consumer, None) => (None, None),
        };
        Ok(Session {
            subject: c.sub,
            organization_id,
            organization_slug,
            roles: session.roles,
            project_roles: ProjectRoles::NotApplicable,
            factors,
            expires_at: c.exp,
            email,
        })
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use std::time::Duration;

    /// Random and mutated tokens never panic and are never accepted (no key can verify them).
    #[tokio::test]
    async fn random_tokens_are_refused_without_panicking() {
        let jwks = Jwks::new(reqwest::Client::new(), "http://127.0.0.1:9/jwks".into(), Duration::from_secs(30), Duration::from_secs(60), Duration::from_millis(50));
        let v = StytchVerifier::new(jwks, "project-test-x".into(), ProjectKind::B2b, &[]);
        let mut rng = fastrand::Rng::with_seed(7);
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ {}\":,";
        let header = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0"; // {"alg":"RS256","kid":"k1","typ":"JWT"}
        for i in 0..5_000 {
            let len = rng.usize(0..400);
            let random: String = (0..len).map(|_| alphabet[rng.usize(..alphabet.len())] as char).collect();
            let token = match i % 3 {
                0 => random,
                1 => format!("{header}.{random}.{}", random.len()),
                _ => format!("{header}.{}.{random}", base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, random.as_bytes())),
            };
            assert!(v.verify(&token).await.is_err(), "{token}");
        }
    }
}
