//! Configuration and in-memory state (one Descope project per emulator).

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value};
use emulator_common::keys::SigningKey;

use crate::store::Store;

pub type Obj = Map<String, Value>;

pub const DEFAULT_PROJECT_ID: &str = "P2localgatehouse0000000000000000";
pub const DEFAULT_MANAGEMENT_KEY: &str = "K2local-management-key";

#[derive(Debug, Clone)]
pub struct Config {
    pub project_id: String,
    pub management_key: String,
    /// `iss` of minted tokens (default `https://api.descope.com/{project_id}`).
    pub issuer: String,
    /// `(max requests, window seconds)` on `/v1/mgmt/user*` and `/v2/mgmt/user*`; None = off.
    pub rate_limit: Option<(u64, u64)>,
    /// Seed document applied at start-up and on every `/__gatehouse/reset`.
    pub seed: Option<Value>,
}

impl Config {
    pub fn new(project_id: &str, management_key: &str) -> Config {
        Config {
            project_id: project_id.to_string(),
            management_key: management_key.to_string(),
            issuer: format!("https://api.descope.com/{project_id}"),
            rate_limit: None,
            seed: None,
        }
    }

    /// `500/60` → (500, 60); `off`/empty → None.
    pub fn parse_rate_limit(spec: &str) -> Result<Option<(u64, u64)>, String> {
        let spec = spec.trim();
        if spec.is_empty() || spec.eq_ignore_ascii_case("off") || spec == "0" {
            return Ok(None);
        }
        let bad = || format!("DESCOPE_EMULATOR_RATE_LIMIT {spec:?} is not <requests>/<seconds> (e.g. 500/60) or off");
        let (n, w) = spec.split_once('/').ok_or_else(bad)?;
        let n: u64 = n.trim().parse().map_err(|_| bad())?;
        let w: u64 = w.trim().parse().map_err(|_| bad())?;
        if n == 0 || w == 0 {
            return Err(bad());
        }
        Ok(Some((n, w)))
    }

    pub fn from_env() -> Result<Config, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let pid = var("DESCOPE_EMULATOR_PROJECT_ID").unwrap_or_else(|| DEFAULT_PROJECT_ID.into());
        let key = var("DESCOPE_EMULATOR_MANAGEMENT_KEY").unwrap_or_else(|| DEFAULT_MANAGEMENT_KEY.into());
        if pid.contains(':') || pid.contains('/') {
            return Err(format!("DESCOPE_EMULATOR_PROJECT_ID {pid:?} must not contain ':' or '/'"));
        }
        let mut cfg = Config::new(&pid, &key);
        if let Some(iss) = var("DESCOPE_EMULATOR_ISSUER") {
            cfg.issuer = iss.replace("{project_id}", &pid);
        }
        if let Some(rl) = var("DESCOPE_EMULATOR_RATE_LIMIT") {
            cfg.rate_limit = Self::parse_rate_limit(&rl)?;
        }
        let seed_text = match (var("DESCOPE_EMULATOR_SEED"), var("DESCOPE_EMULATOR_SEED_JSON")) {
            (Some(_), Some(_)) => return Err("set DESCOPE_EMULATOR_SEED or DESCOPE_EMULATOR_SEED_JSON, not both".into()),
            (Some(path), None) => {
                Some(std::fs::read_to_string(&path).map_err(|e| format!("DESCOPE_EMULATOR_SEED {path}: {e}"))?)
            }
            (None, Some(json)) => Some(json),
            (None, None) => None,
        };
        if let Some(text) = seed_text {
            let v: Value = serde_json::from_str(&text).map_err(|e| format!("seed is not valid JSON: {e}"))?;
            if !v.is_object() {
                return Err("seed must be a JSON object".into());
            }
            cfg.seed = Some(v);
        }
        Ok(cfg)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new(DEFAULT_PROJECT_ID, DEFAULT_MANAGEMENT_KEY)
    }
}

/// What an injected fault answers with, beyond its status: Descope's `Retry-After` on a 429,
/// an error code (E…) and message.
#[derive(Clone, Default)]
pub struct FaultError {
    pub retry_after: Option<u64>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

pub type Faults = emulator_common::faults::Faults<FaultError>;

/// Fixed-window limiter for the user management APIs.
#[derive(Default)]
pub struct RateWindow {
    pub started: i64,
    pub count: u64,
    /// Once tripped, every call is refused until this time (unix seconds).
    pub blocked_until: i64,
}

pub struct Inner {
    pub cfg: Config,
    /// Last key is the current signing key; all stay in the JWKS.
    pub keys: Vec<SigningKey>,
    pub store: Store,
    pub faults: Faults,
    pub calls: emulator_common::calls::Calls,
    pub rate: RateWindow,
}

impl Inner {
    pub fn current_key(&self) -> &SigningKey {
        // never empty: one key is generated at start-up and rotation only adds
        &self.keys[self.keys.len() - 1]
    }
}

#[derive(Clone)]
pub struct Shared(pub Arc<Mutex<Inner>>);

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock must not wedge the emulator.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl emulator_common::faults::Recorded<FaultError> for Shared {
    fn with_faults<R>(&self, f: impl FnOnce(&mut Faults, &mut emulator_common::calls::Calls) -> R) -> R {
        let mut g = self.lock();
        let g = &mut *g;
        f(&mut g.faults, &mut g.calls)
    }
}
