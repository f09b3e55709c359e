//! Configuration and in-memory state (one store per project).

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value};

use emulator_common::keys::SigningKey;

pub type Obj = Map<String, Value>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    B2b,
    Consumer,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::B2b => "b2b",
            Kind::Consumer => "consumer",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProjectConfig {
    pub project_id: String,
    pub secret: String,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub projects: Vec<ProjectConfig>,
}

pub const DEFAULT_PROJECTS: &str = "project-test-11111111-1111-4111-8111-111111111111:secret-test-local:b2b,project-test-22222222-2222-4222-8222-222222222222:secret-test-local:consumer";

impl Config {
    /// Parse `project_id:secret:kind,...`.
    pub fn parse_projects(spec: &str) -> Result<Config, String> {
        let mut projects = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let parts: Vec<&str> = item.split(':').collect();
            if parts.len() != 3 || parts[0].is_empty() || parts[1].is_empty() {
                return Err(format!(
                    "STYTCH_PROJECTS entry {item:?} is not project_id:secret:kind"
                ));
            }
            let kind = match parts[2] {
                "b2b" => Kind::B2b,
                "consumer" => Kind::Consumer,
                other => return Err(format!("STYTCH_PROJECTS: unknown kind {other:?} (b2b|consumer)")),
            };
            if projects.iter().any(|p: &ProjectConfig| p.project_id == parts[0]) {
                return Err(format!("STYTCH_PROJECTS: duplicate project {}", parts[0]));
            }
            projects.push(ProjectConfig {
                project_id: parts[0].to_string(),
                secret: parts[1].to_string(),
                kind,
            });
        }
        if projects.is_empty() {
            return Err("STYTCH_PROJECTS is empty".into());
        }
        Ok(Config { projects })
    }

    pub fn from_env() -> Result<Config, String> {
        let spec = std::env::var("STYTCH_PROJECTS").unwrap_or_else(|_| DEFAULT_PROJECTS.to_string());
        Self::parse_projects(&spec)
    }
}

impl Default for Config {
    fn default() -> Self {
        // DEFAULT_PROJECTS is well-formed.
        Self::parse_projects(DEFAULT_PROJECTS).unwrap_or(Config { projects: vec![] })
    }
}

pub struct Org {
    pub seq: u64,
    pub data: Obj,
    pub members: Vec<Obj>,
}

pub struct Session {
    pub id: String,
    pub token: String,
    pub subject: String,
    pub organization_id: Option<String>,
    pub started_at: i64,
    pub last_accessed_at: i64,
    pub expires_at: i64,
    pub factors: Vec<Value>,
    pub roles: Vec<String>,
    pub custom_claims: Obj,
}

pub struct Project {
    pub cfg: ProjectConfig,
    pub live: bool,
    /// Last key is the current signing key; all stay in the JWKS.
    pub keys: Vec<SigningKey>,
    pub orgs: Vec<Org>,
    pub users: Vec<Obj>,
    pub sessions: Vec<Session>,
}

impl Project {
    pub fn env(&self) -> &'static str {
        if self.live { "live" } else { "test" }
    }
    pub fn current_key(&self) -> &SigningKey {
        // keys is never empty: one is generated at start-up and rotation only adds.
        &self.keys[self.keys.len() - 1]
    }
    pub fn find_org(&self, id_or_slug: &str) -> Option<usize> {
        self.orgs.iter().position(|o| {
            str_field(&o.data, "organization_id") == id_or_slug
                || str_field(&o.data, "organization_slug") == id_or_slug
                || (!id_or_slug.is_empty()
                    && str_field(&o.data, "organization_external_id") == id_or_slug)
        })
    }
    pub fn find_user(&self, user_id: &str) -> Option<usize> {
        self.users.iter().position(|u| str_field(u, "user_id") == user_id)
    }
}

/// What an injected fault answers with, beyond its status (`error_type`, `error_message`).
#[derive(Clone, Default)]
pub struct FaultError {
    pub error_type: Option<String>,
    pub error_message: Option<String>,
}

pub type Faults = emulator_common::faults::Faults<FaultError>;

/// A per-project request limit on the management API (`POST /__gatehouse/rate_limit`): at most
/// `requests` in each fixed window of `per`; past it Stytch's 429 `too_many_requests`, which
/// carries no Retry-After header (as Stytch's API reference describes its rate-limit errors).
pub struct RateLimit {
    pub requests: u32,
    pub per: std::time::Duration,
    /// project index → (window start, requests in it)
    pub windows: std::collections::HashMap<usize, (std::time::Instant, u32)>,
    /// Requests answered 429 since the limit was set.
    pub limited: u64,
    /// Requests let through since the limit was set.
    pub allowed: u64,
}

impl RateLimit {
    /// Counts one request of `project`; false when it is over the limit.
    pub fn admit(&mut self, project: usize, now: std::time::Instant) -> bool {
        let w = self.windows.entry(project).or_insert((now, 0));
        if now.duration_since(w.0) >= self.per {
            *w = (now, 0);
        }
        if w.1 >= self.requests {
            self.limited += 1;
            return false;
        }
        w.1 += 1;
        self.allowed += 1;
        true
    }
}

pub struct Inner {
    pub projects: Vec<Project>,
    pub faults: Faults,
    pub rate_limit: Option<RateLimit>,
    pub calls: emulator_common::calls::Calls,
    pub org_seq: u64,
}

impl Inner {
    pub fn project_idx(&self, project_id: &str) -> Option<usize> {
        self.projects.iter().position(|p| p.cfg.project_id == project_id)
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

pub fn str_field<'a>(o: &'a Obj, k: &str) -> &'a str {
    o.get(k).and_then(Value::as_str).unwrap_or("")
}
