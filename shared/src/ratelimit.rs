//! A token bucket in front of the identity provider, for the reconciler: a scheduled run touches
//! thousands of targets and must stay under the provider's management rate limit (Descope: 500
//! calls per 60 s) so webhook syncs running at the same time are not starved into 429s.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::http::Deadline;
use crate::identity::{Target, TargetKind};
use crate::providers::{Current, IdentityProvider, IdpError, RuleError, ScanPage, SyncedAccess};

pub struct TokenBucket {
    /// Tokens per second.
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// `rate` calls per second on average, at most `burst` at once. Starts full.
    pub fn new(rate: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        TokenBucket { rate: rate.max(0.01), burst, state: Mutex::new((burst, Instant::now())) }
    }

    /// How long the caller must wait for a token (and takes it when that is zero).
    fn try_take(&self, now: Instant) -> Duration {
        let mut g = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, last) = *g;
        let tokens = (tokens + now.saturating_duration_since(last).as_secs_f64() * self.rate).min(self.burst);
        if tokens >= 1.0 {
            *g = (tokens - 1.0, now);
            Duration::ZERO
        } else {
            *g = (tokens, now);
            Duration::from_secs_f64((1.0 - tokens) / self.rate)
        }
    }

    /// Waits for a token.
    pub async fn take(&self) {
        loop {
            let wait = self.try_take(Instant::now());
            if wait.is_zero() {
                return;
            }
            tokio::time::sleep(wait).await;
        }
    }
}

/// A provider whose every call first takes a token from the bucket.
pub struct Throttled<'a, P> {
    pub inner: &'a P,
    pub bucket: &'a TokenBucket,
}

impl<P: IdentityProvider> IdentityProvider for Throttled<'_, P> {
    type Cursor = P::Cursor;
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn serves(&self, kind: TargetKind) -> bool {
        self.inner.serves(kind)
    }
    fn validate_target(&self, target: &Target) -> Result<(), RuleError> {
        self.inner.validate_target(target)
    }
    fn check_fits(&self, current: &Current, access: &SyncedAccess) -> Result<(), RuleError> {
        self.inner.check_fits(current, access)
    }
    async fn read(&self, target: &Target, deadline: Deadline) -> Result<Current, IdpError> {
        self.bucket.take().await;
        self.inner.read(target, deadline).await
    }
    async fn write(&self, target: &Target, access: &SyncedAccess, deadline: Deadline) -> Result<(), IdpError> {
        self.bucket.take().await;
        self.inner.write(target, access, deadline).await
    }
    async fn clear(&self, target: &Target, deadline: Deadline) -> Result<(), IdpError> {
        self.bucket.take().await;
        self.inner.clear(target, deadline).await
    }
    async fn scan(&self, cursor: Option<&P::Cursor>, deadline: Deadline) -> Result<ScanPage<P::Cursor>, IdpError> {
        self.bucket.take().await;
        self.inner.scan(cursor, deadline).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_a_burst_then_the_rate() {
        let b = TokenBucket::new(10.0, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(b.try_take(t0), Duration::ZERO);
        }
        let wait = b.try_take(t0);
        assert!(wait > Duration::from_millis(90) && wait <= Duration::from_millis(100), "{wait:?}");
        // 100 ms later one token has come back, and only one.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(b.try_take(t1), Duration::ZERO);
        assert!(b.try_take(t1) > Duration::ZERO);
        // Idle time never banks more than the burst.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(b.try_take(t2), Duration::ZERO);
        }
        assert!(b.try_take(t2) > Duration::ZERO);
    }
}
