//! A provider's signing keys (JWKS), cached by `kid`, and the RS256 pre-checks every session
//! token passes before its signature is verified.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::http::{self, Deadline, UpstreamError};
use crate::jwt::{self, RsaKey};
use crate::session::{MAX_TOKEN_LEN, SessionError};

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

    pub async fn key(&self, kid: &str) -> Result<Arc<RsaKey>, SessionError> {
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
pub async fn rs256_key(jwks: &Jwks, token: &str) -> Result<(jwt::Header, Arc<RsaKey>), SessionError> {
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

