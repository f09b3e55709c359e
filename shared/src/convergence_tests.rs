//! Property test: random histories of create / update / re-point / unpublish / delete across
//! several rules and targets, with deliveries duplicated, delayed (dropped, then redelivered)
//! and shuffled, interleaved with the edits. After every delivery has been handled at least once,
//! the provider must hold exactly what the final Content Lake implies.
//!
//! Runs the real sync core against an in-memory Content Lake and an in-memory provider with
//! Stytch's merge semantics. Seeded and reproducible: `CONVERGENCE_HISTORIES` (default 1000) and
//! `CONVERGENCE_SEED` select the run; a failure prints the seed and the history.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Map, Value};

use super::*;
use crate::identity::{Target, TargetKind};
use crate::providers::stytch::current_of;
use crate::providers::stytch::stytch_model::RULE_TYPE;
use crate::providers::{ContentModel, Current, IdentityProvider, IdpError, NAMESPACE, ScanPage, SyncedAccess};
use crate::reconcile::{Input, Reconciler, RunReport, Settings};

#[derive(Default)]
struct Lake {
    docs: Mutex<HashMap<String, Rule>>,
}

impl RuleSource for Lake {
    async fn rule(&self, _: &'static ContentModel, id: &str, _: Deadline) -> Result<Option<Rule>, Error> {
        Ok(self.docs.lock().unwrap().get(id).cloned())
    }
}

impl RuleCatalog for Lake {
    async fn rules_after(&self, _: &'static ContentModel, last: &str, _: Deadline) -> Result<Vec<Result<Rule, (String, RuleError)>>, Error> {
        let docs = self.docs.lock().unwrap();
        let mut ids: Vec<&String> = docs.keys().filter(|k| k.as_str() > last).collect();
        ids.sort();
        Ok(ids.into_iter().take(crate::providers::RULE_PAGE_SIZE).map(|k| Ok(docs[k].clone())).collect())
    }
}

/// Scan pages this small so every run exercises the cursor.
const SCAN_PAGE: usize = 2;

#[derive(Default)]
struct Provider {
    targets: Mutex<HashMap<Target, Map<String, Value>>>,
    writes: Mutex<u64>,
}

impl IdentityProvider for Provider {
    /// The index of the next target, in id order.
    type Cursor = usize;
    fn name(&self) -> &'static str {
        "memory"
    }
    fn serves(&self, _: TargetKind) -> bool {
        true
    }
    async fn scan(&self, cursor: Option<&usize>, _: Deadline) -> Result<ScanPage<usize>, IdpError> {
        let g = self.targets.lock().unwrap();
        let mut all: Vec<(&Target, &Map<String, Value>)> = g.iter().collect();
        all.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        let start = cursor.copied().unwrap_or(0);
        let page: Vec<(Target, Current)> =
            all.iter().skip(start).take(SCAN_PAGE).map(|(t, m)| ((*t).clone(), current_of((*m).clone()))).collect();
        let next = start + page.len();
        Ok(ScanPage { targets: page, next_cursor: (next < all.len()).then_some(next) })
    }
    fn validate_target(&self, _: &Target) -> Result<(), RuleError> {
        Ok(())
    }
    fn check_fits(&self, _: &Current, _: &SyncedAccess) -> Result<(), RuleError> {
        Ok(())
    }
    async fn read(&self, t: &Target, _: Deadline) -> Result<Current, IdpError> {
        let m = self.targets.lock().unwrap().get(t).cloned().ok_or_else(|| IdpError::TargetNotFound(t.clone()))?;
        Ok(current_of(m))
    }
    async fn write(&self, t: &Target, a: &SyncedAccess, _: Deadline) -> Result<(), IdpError> {
        *self.writes.lock().unwrap() += 1;
        let mut g = self.targets.lock().unwrap();
        g.get_mut(t).ok_or_else(|| IdpError::TargetNotFound(t.clone()))?.insert(NAMESPACE.into(), serde_json::to_value(a).unwrap());
        Ok(())
    }
    async fn clear(&self, t: &Target, _: Deadline) -> Result<(), IdpError> {
        *self.writes.lock().unwrap() += 1;
        self.targets.lock().unwrap().get_mut(t).ok_or_else(|| IdpError::TargetNotFound(t.clone()))?.remove(NAMESPACE);
        Ok(())
    }
}

const RULES: usize = 3;
const TARGETS_PER_RULE: usize = 3;

/// Each rule moves among its own targets (two rules on one target is a conflict, which is
/// reported, not converged; reconcile reports those).
fn target(rule: usize, i: usize) -> Target {
    // The last target of each rule is a consumer user, the others organizations.
    let kind = if i + 1 == TARGETS_PER_RULE { TargetKind::User } else { TargetKind::Organization };
    Target { kind, id: format!("t{rule}-{i}") }
}

fn ids(t: Option<&Target>) -> (Option<String>, Option<String>) {
    match t {
        Some(t) if t.kind == TargetKind::Organization => (Some(t.id.clone()), None),
        Some(t) => (None, Some(t.id.clone())),
        None => (None, None),
    }
}

fn before_of(rule: Option<&Rule>) -> Before {
    match rule {
        None => Before::Null,
        Some(r) => {
            let (org, user) = r.fields.stytch_ids();
            let mut m = Map::new();
            m.insert("stytchOrganizationId".into(), org.map_or(Value::Null, Value::String));
            m.insert("stytchUserId".into(), user.map_or(Value::Null, Value::String));
            Before::Object(m)
        }
    }
}

#[derive(Clone, Debug)]
struct Delivery {
    delete: bool,
    event: WebhookEvent,
}

fn now() -> i64 {
    0
}

/// How the webhooks behave in a history.
#[derive(Clone, Copy, PartialEq)]
enum Deliveries {
    /// Every delivery gets through at least once (Sanity's retries, redelivery).
    Eventually,
    /// Some deliveries never arrive and some targets are edited by hand: only reconcile repairs.
    Lossy,
}

async fn run_history(seed: u64, log: &mut Vec<String>) -> Result<(), String> {
    let (lake, idp) = (Lake::default(), Provider::default());
    history(seed, Deliveries::Eventually, &lake, &idp, log).await?;
    converged(&lake, &idp)
}

async fn history(seed: u64, mode: Deliveries, lake: &Lake, idp: &Provider, log: &mut Vec<String>) -> Result<(), String> {
    let mut rng = fastrand::Rng::with_seed(seed);
    for r in 0..RULES {
        for i in 0..TARGETS_PER_RULE {
            let t = target(r, i);
            let mut m = Map::new();
            m.insert("other".into(), Value::String(format!("kept-{}", t.id)));
            idp.targets.lock().unwrap().insert(t, m);
        }
    }
    let syncer = Syncer { cms: lake, idp, dataset: "production", now_ms: now, model: &crate::providers::stytch::stytch_model::MODEL };
    let deadline = Deadline::after(Duration::from_secs(60));
    let mut pending: Vec<Delivery> = Vec::new();
    let mut rev = 0u64;

    let steps = rng.usize(4..=14);
    for _ in 0..steps {
        // One editor action.
        let r = rng.usize(..RULES);
        let id = format!("rule-{r}");
        let old = lake.docs.lock().unwrap().get(&id).cloned();
        rev += 1;
        let action = rng.u8(..10);
        let delivery = if action < 2 && old.is_some() {
            // delete or unpublish: the published document goes away
            lake.docs.lock().unwrap().remove(&id);
            log.push(format!("delete {id}"));
            Delivery { delete: true, event: event(&id, rev, "delete", before_of(old.as_ref())) }
        } else {
            let t = match rng.u8(..8) {
                0 => None, // unmapped
                _ => Some(target(r, rng.usize(..TARGETS_PER_RULE))),
            };
            let (org, user) = ids(t.as_ref());
            let region = ["eu", "us", "apac"][rng.usize(..3)].to_string();
            let rule = Rule {
                id: id.clone(),
                rev: format!("r{rev}"),
                fields: crate::providers::RuleFields::stytch(org, user),
                plan: crate::cms::slug::SlugField::Value("pro".into()),
                plan_title: None,
                region: Some(region.clone()),
                allowed_content_types: None,
                gated_routes: None,
                requires_mfa: Some(rng.bool()),
                ..Default::default()
            };
            log.push(format!("publish {id} -> {:?} {region}", t.as_ref().map(|t| &t.id)));
            lake.docs.lock().unwrap().insert(id.clone(), rule);
            let op = if old.is_some() { "update" } else { "create" };
            Delivery { delete: false, event: event(&id, rev, op, before_of(old.as_ref())) }
        };
        pending.push(delivery.clone());
        // At-least-once: some deliveries arrive twice.
        if rng.u8(..5) == 0 {
            pending.push(delivery);
        }
        // Some deliveries are handled now, in any order; the rest wait (dropped, redelivered later).
        let now_count = rng.usize(..=pending.len());
        for _ in 0..now_count {
            let d = pending.swap_remove(rng.usize(..pending.len()));
            deliver(&syncer, &d, deadline, log).await?;
        }
    }
    rng.shuffle(&mut pending);
    if mode == Deliveries::Eventually {
        // Sanity's redeliveries (and the operator's "redeliver") eventually get everything through.
        for d in &pending {
            deliver(&syncer, d, deadline, log).await?;
        }
    } else {
        log.push(format!("dropped for good: {} deliveries", pending.len()));
        // Hand edits: a namespace's content changed (source kept), or removed.
        let mut g = idp.targets.lock().unwrap();
        let mut keys: Vec<Target> = g.keys().cloned().collect();
        keys.sort_by(|a, b| a.id.cmp(&b.id));
        for t in keys {
            let meta = g.get_mut(&t).unwrap();
            match (rng.u8(..6), meta.get_mut(NAMESPACE)) {
                (0, Some(ns)) => {
                    ns["region"] = Value::String("hand-edited".into());
                    log.push(format!("hand edit {}", t.id));
                }
                (1, Some(_)) => {
                    meta.remove(NAMESPACE);
                    log.push(format!("hand removal {}", t.id));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The final Content Lake implies exactly this provider state.
fn converged(lake: &Lake, idp: &Provider) -> Result<(), String> {
    let docs = lake.docs.lock().unwrap().clone();
    let targets = idp.targets.lock().unwrap().clone();
    for (t, meta) in &targets {
        let expected = docs.values().find(|r| r.target().ok().flatten().as_ref() == Some(t));
        let actual = meta.get(NAMESPACE).cloned().map(|v| serde_json::from_value::<SyncedAccess>(v).unwrap());
        if meta.get("other") != Some(&Value::String(format!("kept-{}", t.id))) {
            return Err(format!("{t}: other metadata changed: {meta:?}"));
        }
        match (expected, actual) {
            (None, None) => {}
            (Some(r), Some(a)) => {
                let want = r.access(String::new()).unwrap();
                if !want.same_content(&a) {
                    return Err(format!("{t}: has {a:?}, Content Lake implies {want:?}"));
                }
            }
            (e, a) => return Err(format!("{t}: has {a:?}, Content Lake implies {:?}", e.map(|r| &r.id))),
        }
    }
    Ok(())
}

fn event(id: &str, rev: u64, op: &str, before: Before) -> WebhookEvent {
    WebhookEvent {
        id: id.into(),
        doc_type: RULE_TYPE.into(),
        rev: Some(format!("r{rev}")),
        operation: Some(op.into()),
        before,
        dataset: Some("production".into()),
    }
}

async fn deliver<C: RuleSource, P: IdentityProvider>(s: &Syncer<'_, C, P>, d: &Delivery, deadline: Deadline, log: &mut Vec<String>) -> Result<(), String> {
    let r = if d.delete { s.delete(&d.event, deadline).await } else { s.publish(&d.event, deadline).await };
    match r {
        Ok(rep) => {
            log.push(format!("  deliver {} {} -> {:?} {:?}", if d.delete { "delete" } else { "publish" }, d.event.id, rep.outcome, rep.target));
            Ok(())
        }
        Err(e) => Err(format!("delivery of {} failed: {e}", d.event.id)),
    }
}

#[tokio::test]
async fn random_histories_converge_to_the_content_lake() {
    let n: u64 = std::env::var("CONVERGENCE_HISTORIES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let base: u64 = std::env::var("CONVERGENCE_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x6a7e_4005e);
    for i in 0..n {
        let seed = base.wrapping_add(i);
        let mut log = Vec::new();
        if let Err(e) = run_history(seed, &mut log).await {
            panic!("history with CONVERGENCE_SEED={seed} did not converge: {e}\n{}", log.join("\n"));
        }
    }
}

async fn reconcile(lake: &Lake, idp: &Provider, dry_run: bool, concurrency: usize) -> Result<RunReport, String> {
    let syncer = Syncer { cms: lake, idp, dataset: "production", now_ms: now, model: &crate::providers::stytch::stytch_model::MODEL };
    let r = Reconciler { syncer, settings: Settings { concurrency, item_budget: Duration::from_secs(5) } };
    let input = Input { dry_run, ..Input::default() };
    r.run(&input, Deadline::after(Duration::from_secs(60))).await.map_err(|e| e.to_string())
}

async fn lossy_history_is_repaired(seed: u64, log: &mut Vec<String>) -> Result<(), String> {
    let (lake, idp) = (Lake::default(), Provider::default());
    history(seed, Deliveries::Lossy, &lake, &idp, log).await?;
    let writes = || *idp.writes.lock().unwrap();
    let concurrency = 1 + (seed % 4) as usize;

    let w0 = writes();
    let dry = reconcile(&lake, &idp, true, concurrency).await?;
    if writes() != w0 {
        return Err("dry run wrote".into());
    }
    let real = reconcile(&lake, &idp, false, concurrency).await?;
    log.push(format!("dry {dry:?}\nreal {real:?}"));
    if (dry.changed, dry.cleared, dry.conflicts, dry.errors) != (real.changed, real.cleared, real.conflicts, real.errors) {
        return Err("dry run predicted different changes than the real run made".into());
    }
    if real.errors != 0 || real.conflicts != 0 || real.cursor.is_some() {
        return Err("a clean run reported errors, conflicts or stopped early".into());
    }
    if writes() - w0 < real.changed + real.cleared {
        return Err(format!("reported {} changes but wrote {}", real.changed + real.cleared, writes() - w0));
    }
    converged(&lake, &idp)?;
    let w1 = writes();
    let again = reconcile(&lake, &idp, false, concurrency).await?;
    if writes() != w1 || again.changed + again.cleared != 0 {
        return Err(format!("second run changed something: {again:?}"));
    }
    Ok(())
}

#[tokio::test]
async fn lost_deliveries_and_hand_edits_are_repaired_by_one_reconcile_run() {
    let n: u64 = std::env::var("CONVERGENCE_HISTORIES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let base: u64 = std::env::var("CONVERGENCE_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x6a7e_4005e);
    let mut drifted = 0;
    for i in 0..n {
        let seed = base.wrapping_add(i);
        let mut log = Vec::new();
        if let Err(e) = lossy_history_is_repaired(seed, &mut log).await {
            panic!("lossy history CONVERGENCE_SEED={seed}: {e}\n{}", log.join("\n"));
        }
        drifted += u64::from(log.iter().any(|l| l.starts_with("dry") && !l.contains("changed: 0, cleared: 0")));
    }
    // The generator must actually produce drift for the property to mean anything.
    assert!(drifted * 2 > n, "only {drifted} of {n} histories had drift to repair");
}
