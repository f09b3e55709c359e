//! Session JWTs verified locally against the provider's JWKS: RS256 only, `kid` required, issuer,
//! audience, `exp` and `nbf` with at most 30 s of skew. No per-request call to the provider.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::http::{self, Deadline, UpstreamError};
use crate::jwt::{self, JwtError, RsaKey, Validation};
use crate::idp::{Target, TargetKind};
use crate::secrets::ProjectKind;

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
    /// Descope: the project-level roles alone (`None` when the token cannot tell them from the
    /// current tenant's: the dct-only layout). Stytch has none: `None`. Only these can make a
    /// Descope session staff (authz::staff); a tenant admin assigns tenant roles.
    pub project_roles: Option<Vec<String>>,
    /// Distinct authentication channels of this session (email, phone, totp, webauthn, …).
    pub factors: Vec<String>,
    pub expires_at: i64,
    pub email: Option<String>,
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

#[derive(Deserialize)]
struct Jwk {
    kid: Option<String>,
    kty: String,
    #[serde(default)]
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

struct KeyState {
    keys: HashMap<String, Arc<RsaKey>>,
    fetched: Option<Instant>,
}

/// Signing keys by `kid`, refetched on a miss at most once per `refetch_min`. A failed refetch
/// keeps the keys already known, so a JWKS outage does not log everyone out.
pub struct Jwks {
    http: reqwest::Client,
    url: String,
    refetch_min: Duration,
    max_age: Duration,
    request_timeout: Duration,
    state: RwLock<KeyState>,
    last_attempt: Mutex<Option<Instant>>,
    fetch_lock: tokio::sync::Mutex<()>,
}

impl Jwks {
    pub fn new(http: reqwest::Client, url: String, refetch_min: Duration, max_age: Duration, request_timeout: Duration) -> Self {
        Jwks {
            http,
            url,
            refetch_min,
            max_age,
            request_timeout,
            state: RwLock::new(KeyState { keys: HashMap::new(), fetched: None }),
            last_attempt: Mutex::new(None),
            fetch_lock: tokio::sync::Mutex::new(()),
        }
    }

    fn cached(&self, kid: &str) -> (Option<Arc<RsaKey>>, bool, bool) {
        let st = self.state.read().unwrap_or_else(|e| e.into_inner());
        let fresh = st.fetched.is_some_and(|t| t.elapsed() < self.max_age);
        (st.keys.get(kid).cloned(), fresh, !st.keys.is_empty())
    }

    /// Fetches the key set now (init warm-up, or a rate-limited refetch).
    pub async fn refresh(&self) -> Result<(), UpstreamError> {
        *self.last_attempt.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        let deadline = Deadline::after(self.request_timeout);
        let (_, body) = http::retry(deadline, |left| http::attempt("jwks", self.http.get(&self.url), left)).await?;
        let set: JwkSet = serde_json::from_slice(&body)
            .map_err(|e| UpstreamError::Decode { service: "jwks", reason: e.to_string() })?;
        let mut keys = HashMap::new();
        for k in set.keys {
            if k.kty != "RSA" || k.alg.as_deref().is_some_and(|a| a != "RS256") {
                continue;
            }
            if let (Some(kid), Some(n), Some(e)) = (k.kid, k.n, k.e)
                && let Ok(key) = RsaKey::from_components(&n, &e) {
                    keys.insert(kid, Arc::new(key));
                }
        }
        let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
        st.keys = keys;
        st.fetched = Some(Instant::now());
        Ok(())
    }

    pub(crate) async fn key(&self, kid: &str) -> Result<Arc<RsaKey>, SessionError> {
        let (key, fresh, any) = self.cached(kid);
        if let (Some(k), true) = (&key, fresh) {
            return Ok(k.clone());
        }
        let _guard = self.fetch_lock.lock().await;
        // Someone else may have refreshed while we waited.
        let (key2, fresh2, _) = self.cached(kid);
        if let (Some(k), true) = (&key2, fresh2) {
            return Ok(k.clone());
        }
        // With keys cached, refetch at most once per refetch_min (unknown-kid floods); with none,
        // retry sooner (once a second) so a failed init load does not lock everyone out.
        let min = if any { self.refetch_min } else { self.refetch_min.min(Duration::from_secs(1)) };
        let may_fetch = self.last_attempt.lock().unwrap_or_else(|e| e.into_inner()).is_none_or(|t| t.elapsed() >= min);
        if may_fetch
            && let Err(e) = self.refresh().await {
                tracing::warn!(error = %e, "JWKS fetch failed");
                // Keep serving with what we had; with nothing cached we cannot verify anyone.
                return match key2.or(key) {
                    Some(k) => Ok(k),
                    None if !any => Err(SessionError::KeysUnavailable),
                    None => Err(SessionError::UnknownKey),
                };
            }
        // After a successful refetch only the fresh set counts: a key the provider removed is gone.
        let (key3, _, any3) = self.cached(kid);
        let key = if may_fetch { key3 } else { key3.or(key2) };
        match key {
            Some(k) => Ok(k),
            None if !any3 => Err(SessionError::KeysUnavailable),
            None => Err(SessionError::UnknownKey),
        }
    }
}

/// Checks every provider shares before a signature is verified: a sane size and shape, RS256
/// only, a `kid`, and a key for it in the JWKS.
pub(crate) async fn rs256_key(jwks: &Jwks, token: &str) -> Result<(jwt::Header, Arc<RsaKey>), SessionError> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN || token.bytes().filter(|b| *b == b'.').count() != 2 {
        return Err(SessionError::Malformed);
    }
    let header = jwt::decode_header(token).map_err(|_| SessionError::Malformed)?;
    if header.alg != "RS256" {
        return Err(SessionError::Algorithm);
    }
    let kid = header.kid.as_deref().filter(|k| !k.is_empty()).ok_or(SessionError::Header)?;
    let key = jwks.key(kid).await?;
    Ok((header, key))
}

pub struct Verifier {
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

impl Verifier {
    pub fn new(jwks: Jwks, project_id: String, kind: ProjectKind, extra_issuers: &[String]) -> Self {
        let mut issuers = vec![format!("stytch.com/{project_id}")];
        issuers.extend(extra_issuers.iter().cloned());
        Verifier { jwks, project_id, kind, issuers }
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
        let c: Claims = jwt::decode(token, &key, &v).map_err(|e| match e {
            JwtError::Expired => SessionError::Expired,
            JwtError::NotYetValid => SessionError::NotYetValid,
            JwtError::Issuer => SessionError::Issuer,
            JwtError::Audience => SessionError::Audience,
            JwtError::Signature => SessionError::Signature,
            JwtError::MissingClaim(_) => SessionError::Claims,
            JwtError::Algorithm => SessionError::Algorithm,
            JwtError::Malformed | JwtError::ClaimFormat(_) => SessionError::Malformed,
        })?;
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
            (ProjectKind::B2b, Some(o)) if crate::idp::stytch::parse_id(&o.organization_id, "organization").is_some() => {
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
            project_roles: None,
            factors,
            expires_at: c.exp,
            email,
        })
    }
}

/// The session verifier of the provider chosen by `IDP`.
pub enum AnyVerifier {
    Stytch(Verifier),
    Descope(super::descope::DescopeVerifier),
}

impl AnyVerifier {
    pub async fn verify(&self, token: &str) -> Result<Session, SessionError> {
        match self {
            AnyVerifier::Stytch(v) => v.verify(token).await,
            AnyVerifier::Descope(v) => v.verify(token).await,
        }
    }

    pub fn jwks(&self) -> &Jwks {
        match self {
            AnyVerifier::Stytch(v) => &v.jwks,
            AnyVerifier::Descope(v) => &v.jwks,
        }
    }

    /// The cookie a browser session lives in: Stytch's `stytch_session_jwt`, Descope's `DS`.
    pub fn cookie(&self) -> &'static str {
        match self {
            AnyVerifier::Stytch(_) => super::SESSION_COOKIE,
            AnyVerifier::Descope(_) => super::DESCOPE_SESSION_COOKIE,
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

#[cfg(test)]
mod fuzz {
    use super::*;

    /// Random and mutated tokens never panic and are never accepted (no key can verify them).
    #[tokio::test]
    async fn random_tokens_are_refused_without_panicking() {
        let jwks = Jwks::new(reqwest::Client::new(), "http://127.0.0.1:9/jwks".into(), Duration::from_secs(30), Duration::from_secs(60), Duration::from_millis(50));
        let v = Verifier::new(jwks, "project-test-x".into(), ProjectKind::B2b, &[]);
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
