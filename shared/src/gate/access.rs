//! Synced access per organization/user, cached per container for a short TTL. The TTL is the
//! staleness bound: a rule change (or removal) reaches gated reads at most this late.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::http::Deadline;
use crate::identity::Target;
use crate::providers::{IdentityProvider, IdpError, SyncedAccess};

const MAX_ENTRIES: usize = 10_000;

pub struct AccessCache {
    ttl: Duration,
    entries: Mutex<HashMap<Target, (Instant, Option<SyncedAccess>)>>,
}

impl AccessCache {
    pub fn new(ttl: Duration) -> Self {
        AccessCache { ttl, entries: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Target, (Instant, Option<SyncedAccess>)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The target's access (None = nothing synced, or the target is gone). Provider failures are
    /// errors: the gate fails closed rather than guessing.
    pub async fn get<P: IdentityProvider>(&self, idp: &P, target: &Target, deadline: Deadline) -> Result<Option<SyncedAccess>, IdpError> {
        if let Some((at, v)) = self.lock().get(target)
            && at.elapsed() < self.ttl {
                return Ok(v.clone());
            }
        let access = match idp.read(target, deadline).await {
            Ok(c) => c.access,
            Err(IdpError::TargetNotFound(_)) => None,
            Err(e) => return Err(e),
        };
        let mut map = self.lock();
        if map.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            map.retain(|_, (at, _)| at.elapsed() < ttl);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(target.clone(), (Instant::now(), access.clone()));
        Ok(access)
    }
}
