//! Configuration read from the environment once per container.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("missing environment variable {0}")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Outbound HTTP and budget settings (every value overridable by env: docs/operating.md).
#[derive(Debug, Clone)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
    /// Total time a sync delivery may spend on retries before answering 5xx to Sanity.
    pub sync_budget: Duration,
    pub init_budget: Duration,
}

/// Which identity provider the functions talk to (`IDP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdpKind {
    Stytch,
    Descope,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub idp: IdpKind,
    /// The provider's secret: `STYTCH_SECRET_ARN` or `DESCOPE_SECRET_ARN`, by `IDP`.
    pub idp_secret_arn: String,
    /// Local override of `https://api.descope.com`; unset in production.
    pub descope_base_url: Option<String>,
    /// Required by the functions that read the Content Lake (all but token-exchange).
    pub sanity_secret_arn: Option<String>,
    /// token-exchange only: `{"jwt_secret", "base_url"}` of the InsForge project.
    pub insforge_secret_arn: Option<String>,
    /// Local override of `https://{project}.api.sanity.io` (emulator); unset in production.
    pub sanity_api_host: Option<String>,
    pub sanity_api_version: String,
    /// Local override of `https://{test|api}.stytch.com`; unset in production.
    pub stytch_base_url: Option<String>,
    /// Extra accepted session issuers (custom auth domains); `stytch.com/{project_id}` is always accepted.
    pub stytch_issuers: Vec<String>,
    pub timeouts: Timeouts,
    pub secrets_max_age: Duration,
    pub secrets_reread_min: Duration,
    pub access_cache_ttl: Duration,
    pub jwks_refetch_min: Duration,
    pub jwks_max_age: Duration,
    pub cors_allowed_origins: Vec<String>,
    /// `function`: the function answers CORS itself (local); `url`: the function URL's CORS config
    /// does it (deployed), so the function must not add a second set of headers.
    pub cors_in_function: bool,
    /// Content types a gated read may ask for.
    pub content_types: Vec<String>,
    pub reconcile: ReconcileConfig,
    /// LOCAL ONLY: a PEM CA the HTTP client trusts in addition to the system roots (the local
    /// stack's emulators over HTTPS). Never set in production.
    pub local_ca_file: Option<String>,
    /// Open connections (and load the JWKS) during init rather than on the first request.
    pub init_warmup: bool,
    /// Who decides gated reads (gated-content only).
    pub authz: AuthzConfig,
    /// Who is cross-tenant staff: never a role alone (authz::staff).
    pub staff: StaffConfig,
}

/// `PLATFORM_ORGANIZATION_IDS` (Stytch organization ids) and `PLATFORM_TENANT_IDS` (Descope
/// tenant ids), comma-separated. Empty = nobody is staff / any tenant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StaffConfig {
    pub organizations: Vec<String>,
    pub tenants: Vec<String>,
}

/// A comma-separated list whose every entry must pass `ok`: one bad entry fails the cold
/// start naming the variable, never widening the list to "everyone".
fn id_list(name: &'static str, what: &str, ok: impl Fn(&str) -> bool) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = var(name) else { return Ok(Vec::new()) };
    let mut ids = Vec::new();
    for entry in raw.split(',').map(str::trim) {
        if !ok(entry) {
            return Err(ConfigError::Invalid { name, reason: format!("{entry:?} is not {what}") });
        }
        ids.push(entry.to_string());
    }
    Ok(ids)
}

fn staff() -> Result<StaffConfig, ConfigError> {
    Ok(StaffConfig {
        organizations: id_list("PLATFORM_ORGANIZATION_IDS", "a Stytch organization id (organization-test-<uuid> or organization-live-<uuid>)", |id| {
            crate::ids::stytch(id, "organization").is_some()
        })?,
        tenants: id_list("PLATFORM_TENANT_IDS", "a Descope tenant id", crate::ids::descope)?,
    })
}

/// `AUTHZ=builtin` (default): the rules compiled into gatehouse. `AUTHZ=cerbos`: the Cerbos PDP
/// at `CERBOS_URL` (`http://host:port`, or `unix:/tmp/cerbos.http.sock` for the Lambda extension).
#[derive(Debug, Clone, PartialEq)]
pub enum AuthzConfig {
    Builtin,
    Cerbos { endpoint: CerbosEndpoint, timeout: Duration },
}

#[derive(Debug, Clone, PartialEq)]
pub enum CerbosEndpoint {
    Tcp(String),
    Unix(String),
}

fn authz() -> Result<AuthzConfig, ConfigError> {
    match var("AUTHZ").as_deref().map(str::trim) {
        None | Some("builtin") => Ok(AuthzConfig::Builtin),
        Some("cerbos") => {
            let endpoint = match required("CERBOS_URL")? {
                u if u.starts_with("unix:/") => CerbosEndpoint::Unix(u["unix:".len()..].to_string()),
                _ => CerbosEndpoint::Tcp(url("CERBOS_URL")?.unwrap_or_default()),
            };
            Ok(AuthzConfig::Cerbos { endpoint, timeout: millis("CERBOS_TIMEOUT_MS", 500)? })
        }
        Some(other) => Err(ConfigError::Invalid { name: "AUTHZ", reason: format!("expected builtin or cerbos, got {other:?}") }),
    }
}

/// The reconciler's pace: rules repaired at once, and provider calls per second (a token bucket
/// shared by the whole run; Descope allows 500 management calls per 60 s).
#[derive(Debug, Clone)]
pub struct ReconcileConfig {
    pub concurrency: usize,
    pub provider_rate: u32,
    pub provider_burst: u32,
}

fn var(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

pub fn required(name: &'static str) -> Result<String, ConfigError> {
    var(name).ok_or(ConfigError::Missing(name))
}

fn millis(name: &'static str, default_ms: u64) -> Result<Duration, ConfigError> {
    num(name, default_ms).map(Duration::from_millis)
}

fn secs(name: &'static str, default_s: u64) -> Result<Duration, ConfigError> {
    num(name, default_s).map(Duration::from_secs)
}

/// Every number here is a duration or a count; a day in ms bounds them all (and keeps
/// `Instant + Duration` from overflowing).
const MAX_NUM: u64 = 86_400_000;

fn num(name: &'static str, default: u64) -> Result<u64, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().ok().filter(|n| *n <= MAX_NUM).ok_or_else(|| ConfigError::Invalid {
            name,
            reason: format!("expected an integer from 0 to {MAX_NUM}, got {v:?}"),
        }),
    }
}

fn list(name: &'static str, default: &[&str]) -> Vec<String> {
    match var(name) {
        None => default.iter().map(|s| s.to_string()).collect(),
        Some(v) => v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect(),
    }
}

fn url(name: &'static str) -> Result<Option<String>, ConfigError> {
    match var(name) {
        None => Ok(None),
        Some(v) if v.starts_with("http://") || v.starts_with("https://") => {
            Ok(Some(v.trim_end_matches('/').to_string()))
        }
        Some(v) => Err(ConfigError::Invalid { name, reason: format!("expected an http(s) URL, got {v:?}") }),
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let cors_mode = var("CORS_MODE").unwrap_or_else(|| "function".into());
        let cors_in_function = match cors_mode.as_str() {
            "function" => true,
            "url" => false,
            other => {
                return Err(ConfigError::Invalid {
                    name: "CORS_MODE",
                    reason: format!("expected function or url, got {other:?}"),
                });
            }
        };
        let api_version = var("SANITY_API_VERSION").unwrap_or_else(|| "2025-02-19".into());
        let valid_version = api_version.len() == 10
            && api_version.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
        if !valid_version {
            return Err(ConfigError::Invalid { name: "SANITY_API_VERSION", reason: "expected YYYY-MM-DD".into() });
        }
        if let Some(ns) = var("METRICS_NAMESPACE")
            && !crate::log::valid_namespace(ns.trim())
        {
            return Err(ConfigError::Invalid {
                name: "METRICS_NAMESPACE",
                reason: format!("expected 1-255 letters, digits or . - _ / # : and spaces, not under AWS/, got {ns:?}"),
            });
        }
        let idp = match var("IDP").as_deref().map(str::trim) {
            None | Some("stytch") => IdpKind::Stytch,
            Some("descope") => IdpKind::Descope,
            Some(other) => return Err(ConfigError::Invalid { name: "IDP", reason: format!("expected stytch or descope, got {other:?}") }),
        };
        Ok(Config {
            idp,
            idp_secret_arn: match idp {
                IdpKind::Stytch => required("STYTCH_SECRET_ARN")?,
                IdpKind::Descope => required("DESCOPE_SECRET_ARN")?,
            },
            descope_base_url: url("DESCOPE_BASE_URL")?,
            sanity_secret_arn: var("SANITY_SECRET_ARN"),
            insforge_secret_arn: var("INSFORGE_SECRET_ARN"),
            sanity_api_host: url("SANITY_API_HOST")?,
            sanity_api_version: api_version,
            stytch_base_url: url("STYTCH_BASE_URL")?,
            stytch_issuers: list("STYTCH_ISSUERS", &[]),
            timeouts: Timeouts {
                connect: millis("HTTP_CONNECT_TIMEOUT_MS", 2_000)?,
                request: millis("HTTP_TIMEOUT_MS", 3_000)?,
                sync_budget: millis("SYNC_BUDGET_MS", 20_000)?,
                init_budget: millis("INIT_BUDGET_MS", 6_000)?,
            },
            secrets_max_age: secs("SECRETS_MAX_AGE_S", 300)?,
            secrets_reread_min: secs("SECRETS_REREAD_MIN_S", 30)?,
            access_cache_ttl: secs("ACCESS_CACHE_TTL_S", 30)?,
            jwks_refetch_min: secs("JWKS_REFETCH_MIN_S", 30)?,
            jwks_max_age: secs("JWKS_MAX_AGE_S", 3_600)?,
            cors_allowed_origins: list("CORS_ALLOWED_ORIGINS", &[]),
            cors_in_function,
            content_types: list("CONTENT_TYPES", &["article", "doc", "report", "gatedPage"]),
            reconcile: ReconcileConfig {
                concurrency: num("RECONCILE_CONCURRENCY", 4)?.clamp(1, 64) as usize,
                provider_rate: num("RECONCILE_PROVIDER_RATE", 20)?.max(1) as u32,
                provider_burst: num("RECONCILE_PROVIDER_BURST", 20)?.max(1) as u32,
            },
            local_ca_file: var("LOCAL_CA_FILE"),
            init_warmup: num("INIT_WARMUP", 1)? != 0,
            authz: authz()?,
            staff: staff()?,
        })
    }
}
