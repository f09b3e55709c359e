//! reconcile: a scheduled run that compares every published rule with the provider and repairs
//! the difference (`reconcile::Reconciler`).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::request_log::RequestLog;
use super::{CMS, Core, InitError};
use crate::error::Error;
use crate::http::{self, Deadline};
use crate::log::now_ms;
use crate::ratelimit::{Throttled, TokenBucket};
use crate::reconcile::{Input, Reconciler, RunReport, Settings};
use crate::sync::Syncer;

/// Time kept back from the Lambda deadline to return the report and log it.
const RECONCILE_MARGIN: Duration = Duration::from_secs(2);

/// Time until the Lambda deadline. Lambda sends epoch milliseconds; cargo-lambda's local runtime
/// sends the timeout itself (600000), which as an epoch would lie in 1970: read such a value as
/// a duration, so a local run gets its 10 minutes instead of none.
fn time_left(deadline_ms: u64, now_ms: u64) -> Duration {
    const YEAR_2020_MS: u64 = 1_577_836_800_000;
    let ms = if deadline_ms < YEAR_2020_MS { deadline_ms } else { deadline_ms.saturating_sub(now_ms) };
    Duration::from_millis(ms)
}

pub struct ReconcileApp {
    core: Core,
    bucket: TokenBucket,
}

impl ReconcileApp {
    pub async fn init(function: &'static str) -> Result<Self, InitError> {
        let core = Core::init(function, CMS).await?;
        let r = &core.cfg.reconcile;
        let bucket = TokenBucket::new(f64::from(r.provider_rate), r.provider_burst);
        Ok(ReconcileApp { core, bucket })
    }

    /// One invocation. `deadline_ms`: the Lambda deadline (epoch ms). A bad input or an
    /// unreadable Content Lake fails the invocation (so Lambda's error metric and EventBridge's
    /// retry see it); per-rule problems are counted in the report instead.
    pub async fn handle(&self, payload: Value, deadline_ms: u64, request_id: &str) -> Result<Value, Error> {
        let started = Instant::now();
        let (result, calls) = match Input::parse(payload) {
            Ok(input) => {
                let mut budget = time_left(deadline_ms, now_ms().max(0) as u64).saturating_sub(RECONCILE_MARGIN);
                if let Some(ms) = input.budget_ms {
                    budget = budget.min(Duration::from_millis(ms));
                }
                http::counting(self.run(&input, Deadline::after(budget).waiting_out_rate_limits())).await
            }
            Err(e) => (Err(e), 0),
        };
        let mut log = RequestLog::new(self.core.function, request_id.to_string(), started);
        log.upstream_calls = calls;
        match result {
            Ok(report) => {
                let outcome = if report.dry_run { "dry_run" } else if report.cursor.is_some() { "partial" } else { "complete" };
                if let Some(c) = &report.cursor {
                    log.fields.insert("cursor".into(), c.clone().into());
                }
                log.fields.insert("details".into(), serde_json::to_value(&report.details).unwrap_or_default());
                let count = |n: u64| Value::from(n);
                log.write_run(
                    outcome,
                    &[
                        ("checked", "Count", count(report.checked)),
                        ("changed", "Count", count(report.changed)),
                        ("cleared", "Count", count(report.cleared)),
                        ("conflicts", "Count", count(report.conflicts)),
                        ("errors", "Count", count(report.errors)),
                    ],
                );
                Ok(serde_json::to_value(&report).unwrap_or_default())
            }
            Err(e) => {
                log.fields.insert("error".into(), e.to_string().into());
                log.write_run(e.code(), &[("failed", "Count", 1.into())]);
                Err(e)
            }
        }
    }

    async fn run(&self, input: &Input, deadline: Deadline) -> Result<RunReport, Error> {
        let secrets = self.core.secrets.fresh().await;
        let cms = self.core.sanity(&secrets);
        let provider = self.core.idp(&secrets);
        let idp = Throttled { inner: &provider, bucket: &self.bucket };
        let syncer = Syncer { cms: &cms, idp: &idp, dataset: &secrets.sanity.dataset, now_ms, model: self.core.model() };
        let settings = Settings { concurrency: self.core.cfg.reconcile.concurrency, item_budget: self.core.cfg.timeouts.sync_budget };
        Reconciler { syncer, settings }.run(input, deadline).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_is_epoch_ms_or_a_local_timeout() {
        let now = 1_795_442_059_811;
        assert_eq!(time_left(now + 5_000, now).as_millis(), 5_000);
        assert_eq!(time_left(now - 1, now).as_millis(), 0);
        assert_eq!(time_left(600_000, now).as_millis(), 600_000);
    }
}
