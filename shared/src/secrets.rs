//! Secrets from AWS Secrets Manager: read concurrently at cold start, shared read-only, re-read
//! lazily after `SECRETS_MAX_AGE_S` and on demand (rotation) at most once per `SECRETS_REREAD_MIN_S`.
//! Each secret's fields are read by its owner (`secret_fields` for the rules); the identity
//! provider's by `providers::IdpSecret::parse`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use serde_json::{Map, Value};

use crate::config::Config;
use crate::providers::IdpSecret;
use crate::cms::sanity_secret::{SanitySecret, parse_sanity};
use crate::secret_fields::{SecretsError, field};

/// The InsForge project token-exchange signs for. `jwt_secret` is InsForge's root signing secret
/// (it also signs InsForge's admin tokens): it never leaves this struct except into HMAC.
#[derive(Clone)]
pub struct InsForgeSecret {
    pub jwt_secret: String,
    pub base_url: String,
}

/// Which secrets a function reads (Stytch always).
#[derive(Clone, Copy, Debug)]
pub struct Needs {
    pub sanity: bool,
    pub insforge: bool,
}

#[derive(Clone)]
pub struct Secrets {
    pub idp: IdpSecret,
    /// Empty (never read) in a function that does not need the Content Lake.
    pub sanity: SanitySecret,
    pub insforge: Option<InsForgeSecret>,
}

// Never print secret values, even in debug output.
impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("idp.project_id", &self.idp.project_id())
            .field("sanity.project_id", &self.sanity.project_id)
            .field("sanity.dataset", &self.sanity.dataset)
            .finish_non_exhaustive()
    }
}

struct Loaded {
    secrets: Arc<Secrets>,
    /// When the values were read (a failed re-read does not move it).
    at: Instant,
    /// Last forced re-read (rate limit for `force_reread`).
    last_reread: Option<Instant>,
    /// Last lazy re-read attempt (so a failing Secrets Manager is asked once per `reread_min`).
    last_attempt: Option<Instant>,
}

/// Where the secrets are read from.
struct Source {
    client: Client,
    idp: crate::config::IdpKind,
    idp_arn: String,
    sanity_arn: Option<String>,
    insforge_arn: Option<String>,
}

impl Source {
    async fn fetch(&self) -> Result<Secrets, SecretsError> {
        let optional = |arn: &Option<String>| {
            let arn = arn.clone();
            let client = &self.client;
            async move {
                match arn {
                    Some(a) => fetch_object(client, &a).await.map(|o| Some((a, o))),
                    None => Ok(None),
                }
            }
        };
        let (idp, sanity, insforge) =
            tokio::try_join!(fetch_object(&self.client, &self.idp_arn), optional(&self.sanity_arn), optional(&self.insforge_arn))?;
        Ok(Secrets {
            idp: IdpSecret::parse(self.idp, &self.idp_arn, idp)?,
            sanity: match sanity {
                Some((arn, o)) => parse_sanity(&arn, &o)?,
                None => SanitySecret::default(),
            },
            insforge: match insforge {
                Some((arn, o)) => Some(parse_insforge(&arn, &o)?),
                None => None,
            },
        })
    }
}

pub struct SecretStore {
    source: Source,
    max_age: Duration,
    reread_min: Duration,
    reread_timeout: Duration,
    state: Mutex<Loaded>,
}

impl SecretStore {
    /// Builds the SDK client and fetches every secret the function needs, concurrently.
    pub async fn load(cfg: &Config, needs: Needs) -> Result<Self, SecretsError> {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(cfg.timeouts.connect)
            .operation_attempt_timeout(cfg.timeouts.request)
            .operation_timeout(cfg.timeouts.init_budget)
            .build();
        // The SDK's HTTPS client on ring, like reqwest's (http::install_crypto): one crypto provider.
        let https = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(https)
            .timeout_config(timeouts)
            .load()
            .await;
        let source = Source {
            client: Client::new(&sdk),
            idp: cfg.idp,
            idp_arn: cfg.idp_secret_arn.clone(),
            sanity_arn: cfg.sanity_secret_arn.clone().filter(|_| needs.sanity),
            insforge_arn: cfg.insforge_secret_arn.clone().filter(|_| needs.insforge),
        };
        let secrets = source.fetch().await?;
        let store = SecretStore {
            source,
            max_age: cfg.secrets_max_age,
            reread_min: cfg.secrets_reread_min,
            reread_timeout: cfg.timeouts.request,
            state: Mutex::new(Loaded { secrets: Arc::new(secrets), at: Instant::now(), last_reread: None, last_attempt: None }),
        };
        Ok(store)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Loaded> {
        // A poisoned lock only means another request panicked mid-update; the data is still whole.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The secrets as last read, without I/O.
    pub fn current(&self) -> Arc<Secrets> {
        self.lock().secrets.clone()
    }

    /// The secrets, re-read first when older than `SECRETS_MAX_AGE_S` (so a removed previous
    /// webhook secret stops working in bounded time). A failed re-read keeps the old values.
    pub async fn fresh(&self) -> Arc<Secrets> {
        let stale = {
            let mut st = self.lock();
            let due = st.at.elapsed() >= self.max_age && st.last_attempt.is_none_or(|t| t.elapsed() >= self.reread_min);
            if due {
                st.last_attempt = Some(Instant::now());
            }
            due
        };
        if stale {
            self.reread().await;
        }
        self.current()
    }

    /// Forced re-read after a signature mismatch or a provider 401, at most once per
    /// `SECRETS_REREAD_MIN_S`. Returns the new secrets when a re-read happened and succeeded.
    pub async fn force_reread(&self) -> Option<Arc<Secrets>> {
        {
            let mut st = self.lock();
            if st.last_reread.is_some_and(|t| t.elapsed() < self.reread_min) {
                return None;
            }
            st.last_reread = Some(Instant::now());
        }
        self.reread().await
    }

    async fn reread(&self) -> Option<Arc<Secrets>> {
        // On the request path: bounded well inside the request's own budget.
        let fetched = tokio::time::timeout(self.reread_timeout, self.source.fetch()).await;
        match fetched.unwrap_or_else(|_| Err(SecretsError::Unreachable { arn: self.source.idp_arn.clone(), reason: "re-read timed out".into() })) {
            Ok(s) => {
                let s = Arc::new(s);
                let mut st = self.lock();
                st.secrets = s.clone();
                st.at = Instant::now();
                Some(s)
            }
            Err(e) => {
                tracing::warn!(error = %e, "secret re-read failed; keeping the values read before");
                None
            }
        }
    }
}

async fn fetch_object(client: &Client, arn: &str) -> Result<Map<String, Value>, SecretsError> {
    let out = client.get_secret_value().secret_id(arn).send().await.map_err(|e| {
        let not_found = e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception());
        if not_found {
            SecretsError::NotFound { arn: arn.into() }
        } else {
            SecretsError::Unreachable { arn: arn.into(), reason: DisplayErrorContext(&e).to_string() }
        }
    })?;
    let text = out.secret_string().ok_or_else(|| SecretsError::NoString { arn: arn.into() })?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(SecretsError::InvalidJson { arn: arn.into() }),
    }
}

fn parse_insforge(arn: &str, obj: &Map<String, Value>) -> Result<InsForgeSecret, SecretsError> {
    let jwt_secret = field(arn, obj, "jwt_secret")?;
    // HS256 with a short key is brute-forceable offline from any token it signed.
    if jwt_secret.len() < 32 {
        return Err(SecretsError::InvalidField { arn: arn.into(), field: "jwt_secret", reason: "shorter than 32 bytes" });
    }
    let base_url = field(arn, obj, "base_url")?;
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        return Err(SecretsError::InvalidField { arn: arn.into(), field: "base_url", reason: "expected an http(s) URL" });
    }
    Ok(InsForgeSecret { jwt_secret, base_url: base_url.trim_end_matches('/').to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn insforge_secret_needs_a_long_key_and_a_url() {
        let ok = parse_insforge("arn:i", &obj(serde_json::json!({"jwt_secret": "k".repeat(32), "base_url": "https://x.insforge.app/"}))).unwrap();
        assert_eq!(ok.base_url, "https://x.insforge.app");
        let short = parse_insforge("arn:i", &obj(serde_json::json!({"jwt_secret": "short-SECRET", "base_url": "https://x"}))).err().unwrap();
        assert!(short.to_string().contains("shorter than 32 bytes") && !short.to_string().contains("SECRET"));
        let url = parse_insforge("arn:i", &obj(serde_json::json!({"jwt_secret": "k".repeat(40), "base_url": "x.insforge.app"}))).err().unwrap();
        assert!(url.to_string().contains("base_url"));
    }
}
