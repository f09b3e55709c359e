//! The reconciler: the safety net behind the webhooks. Webhooks are the fast path, but Sanity
//! gives up after a few retries, a function URL can be down, an operator can edit an
//! organization by hand. A scheduled run compares every published rule with what the provider
//! holds and repairs the difference with the same sync core, so drift is bounded by the schedule
//! and reported, never silent.
//!
//! One run: read the desired state (every published rule, keyset-paged), scan the provider (every
//! target's metadata), plan per rule id in id order, then repair with bounded concurrency. Every
//! repair goes through [`Syncer::repair`], which re-reads the rule and the target right before it
//! writes: the scan only nominates candidates, so a rule edited (or a webhook landing) during the
//! run is never overwritten with stale data, and two runs at once cannot undo each other.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;
use crate::http::Deadline;
use crate::identity::Target;
use crate::providers::{Current, IdentityProvider, RuleError};
use crate::sync::{Outcome, Report, Rule, RuleCatalog, Syncer};

/// Details listed in a report; the counts always cover everything.
const MAX_DETAILS: usize = 100;
/// Longest cursor accepted (a Sanity document id is at most 128 characters).
const MAX_CURSOR: usize = 200;

/// The invocation payload: `{"dryRun": bool, "cursor"?: string, "budgetMs"?: number}`. Unknown
/// fields are refused: a typo like `dryrun` must not turn a dry run into a real one.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    #[serde(default)]
    pub dry_run: bool,
    /// Resume after this rule id (the `cursor` a previous run returned).
    pub cursor: Option<String>,
    /// Caps this run below the Lambda deadline (a quick manual run, tests).
    pub budget_ms: Option<u64>,
}

impl Input {
    pub fn parse(payload: Value) -> Result<Input, Error> {
        if payload.is_null() {
            return Ok(Input::default());
        }
        let input: Input = serde_json::from_value(payload).map_err(|e| {
            Error::BadRequest(format!("reconcile input must be {{\"dryRun\": bool, \"cursor\"?: string, \"budgetMs\"?: number}}: {e}"))
        })?;
        if input.cursor.as_ref().is_some_and(|c| c.is_empty() || c.len() > MAX_CURSOR || c.chars().any(char::is_control)) {
            return Err(Error::BadRequest("cursor must be the non-empty cursor a previous run returned".into()));
        }
        Ok(input)
    }
}

/// Codes of a report's `error` details beyond those of [`Error::code`].
const INVALID_RULE: &str = "invalid_rule";
pub const BUDGET_EXHAUSTED: &str = "budget_exhausted";

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Rules repaired at once.
    pub concurrency: usize,
    /// What one rule's repair may take (the sync budget); a rule is only started with this much left.
    pub item_budget: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detail {
    pub document_id: String,
    /// write | clear | conflict | error
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// With action `error`: the code publish-sync answers for the same problem (docs/answers.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
}

/// The run's result, returned to the invoker and logged as one metric line.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    pub dry_run: bool,
    /// Rule ids examined (published rules plus owners found in the provider).
    pub checked: u64,
    /// Targets written (or, in a dry run, that would be).
    pub changed: u64,
    /// Rules whose leftover grants were removed: deleted rules, old targets of re-pointed ones.
    pub cleared: u64,
    /// Rules left alone because another rule points at the same target.
    pub conflicts: u64,
    /// Rules that could not be repaired (invalid rule, missing target, provider failure).
    pub errors: u64,
    pub duration_ms: f64,
    /// Set when the run stopped before the end: pass it back to resume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    pub details: Vec<Detail>,
    #[serde(skip_serializing_if = "is_zero")]
    pub details_omitted: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl RunReport {
    fn add(&mut self, t: Tally) {
        self.checked += t.checked;
        self.changed += t.changed;
        self.cleared += t.cleared;
        self.conflicts += t.conflicts;
        self.errors += t.errors;
        for d in t.details {
            if self.details.len() < MAX_DETAILS {
                self.details.push(d);
            } else {
                self.details_omitted += 1;
            }
        }
    }
}

#[derive(Debug, Default)]
struct Tally {
    checked: u64,
    changed: u64,
    cleared: u64,
    conflicts: u64,
    errors: u64,
    details: Vec<Detail>,
}

impl Tally {
    fn note(&mut self, id: &str, action: &'static str, target: Option<&str>, reason: Option<String>) {
        match action {
            "write" => self.changed += 1,
            "clear" => self.cleared += 1,
            "conflict" => self.conflicts += 1,
            _ => self.errors += 1,
        }
        self.details.push(Detail { document_id: id.into(), action, target: target.map(String::from), reason, error: None });
    }

    /// A rule (or `*`, the run) that could not be repaired, with the code of its error.
    fn fail(&mut self, id: &str, target: Option<&str>, code: &'static str, reason: String) {
        self.note(id, "error", target, Some(reason));
        if let Some(d) = self.details.last_mut() {
            d.error = Some(code);
        }
    }

    /// What a repair did, from the sync core's report.
    fn repaired(&mut self, id: &str, r: Result<Report, Error>) {
        match r {
            Ok(rep) => {
                match rep.outcome {
                    Outcome::Synced => self.note(id, "write", rep.target.as_deref(), None),
                    Outcome::Conflict => self.note(id, "conflict", rep.target.as_deref(), rep.reason.clone()),
                    _ => {}
                }
                if rep.outcome == Outcome::Cleared || rep.cleared_previous.is_some() {
                    self.note(id, "clear", rep.cleared_previous.as_deref().or(rep.target.as_deref()), None);
                }
            }
            Err(e) => self.fail(id, None, e.code(), e.to_string()),
        }
    }
}

/// What the provider should hold (published rules) and what it holds (the scan), indexed.
pub struct State {
    desired: BTreeMap<String, Result<Rule, RuleError>>,
    scanned: HashMap<Target, Current>,
    /// Rule id → targets whose namespace it owns.
    owned: HashMap<String, Vec<Target>>,
    /// Target → published rules pointing at it (only targets of the provider's kinds).
    wanted: HashMap<Target, Vec<String>>,
}

/// Where a rule points, as far as this provider is concerned.
enum Want {
    /// Nothing here (no target, or a target of a kind another deployment serves).
    Nothing,
    Target(Target),
    Invalid(String),
}

enum Plan {
    /// Provider matches the rule.
    InSync,
    /// Another rule points at the same target: reported, not touched.
    Conflict { target: Target, reason: String },
    /// The rule cannot be synced as published.
    Invalid(String),
    Repair {
        /// Targets the rule owns but no longer points at.
        stale: Vec<Target>,
        /// The rule's target, when it must be written (`known` = the scan showed it differs).
        write: Option<(Target, bool)>,
        /// A rule that owns `write`'s target but no longer points at it: repaired first, so
        /// the target is free when this rule writes it.
        first: Option<String>,
    },
}

impl State {
    pub fn new<P: IdentityProvider>(idp: &P, desired: BTreeMap<String, Result<Rule, RuleError>>, scan: Vec<(Target, Current)>) -> Self {
        let mut owned: HashMap<String, Vec<Target>> = HashMap::new();
        let mut scanned = HashMap::new();
        for (t, c) in scan {
            if let Some(o) = &c.owner {
                owned.entry(o.clone()).or_default().push(t.clone());
            }
            scanned.insert(t, c);
        }
        let mut st = State { desired, scanned, owned, wanted: HashMap::new() };
        let mut wanted: HashMap<Target, Vec<String>> = HashMap::new();
        for id in st.desired.keys() {
            if let Want::Target(t) = st.want(idp, id) {
                wanted.entry(t).or_default().push(id.clone());
            }
        }
        st.wanted = wanted;
        st
    }

    /// Every rule id with something to check, in order: published rules and owners found in the
    /// provider (a deleted rule exists only as the owner of what it left behind).
    pub fn ids(&self) -> BTreeSet<String> {
        self.desired.keys().chain(self.owned.keys()).cloned().collect()
    }

    fn want<P: IdentityProvider>(&self, idp: &P, id: &str) -> Want {
        let rule = match self.desired.get(id) {
            None => return Want::Nothing,
            Some(Err(e)) => return Want::Invalid(e.0.clone()),
            Some(Ok(r)) => r,
        };
        match rule.target() {
            Err(e) => Want::Invalid(e.0),
            Ok(None) => Want::Nothing,
            Ok(Some(t)) if !idp.serves(t.kind) => Want::Nothing,
            Ok(Some(t)) => match idp.validate_target(&t).and_then(|()| rule.access(String::new()).map(drop)) {
                Ok(()) => Want::Target(t),
                Err(e) => Want::Invalid(e.0),
            },
        }
    }

    fn stale(&self, id: &str, keep: Option<&Target>) -> Vec<Target> {
        self.owned.get(id).map(|v| v.iter().filter(|t| Some(*t) != keep).cloned().collect()).unwrap_or_default()
    }

    fn plan<P: IdentityProvider>(&self, idp: &P, id: &str) -> Plan {
        let target = match self.want(idp, id) {
            Want::Invalid(reason) => return Plan::Invalid(reason),
            Want::Nothing => {
                let stale = self.stale(id, None);
                return if stale.is_empty() { Plan::InSync } else { Plan::Repair { stale, write: None, first: None } };
            }
            Want::Target(t) => t,
        };
        let stale = self.stale(id, Some(&target));
        let current = self.scanned.get(&target);
        let owner = current.and_then(|c| c.owner.as_deref());
        let others: Vec<&String> = self.wanted.get(&target).into_iter().flatten().filter(|r| *r != id).collect();
        if !others.is_empty() && owner != Some(id) {
            let mut all: Vec<&str> = others.iter().map(|s| s.as_str()).collect();
            all.push(id);
            all.sort_unstable();
            let reason = match owner {
                Some(o) => format!("{target} is managed by rule {o}; rules {} all point at it", all.join(", ")),
                None => format!("rules {} all point at {target}", all.join(", ")),
            };
            return Plan::Conflict { target, reason };
        }
        let write = match current {
            // Not in the scan (scan incomplete, or created since): the repair reads it.
            None => Some((target.clone(), false)),
            Some(c) => {
                let Some(Ok(rule)) = self.desired.get(id) else { return Plan::InSync };
                match needs_write(idp, c, rule) {
                    Ok(false) => None,
                    Ok(true) => Some((target.clone(), true)),
                    // Would be refused at write time: report it without a call.
                    Err(e) => return Plan::Invalid(e.0),
                }
            }
        };
        // The target belongs to a rule that no longer points at it (deleted or re-pointed
        // while the webhooks were not getting through).
        let first = owner.filter(|o| *o != id && !self.wanted.get(&target).is_some_and(|w| w.iter().any(|r| r == o))).map(String::from);
        if write.is_none() && stale.is_empty() {
            return Plan::InSync;
        }
        Plan::Repair { stale, write, first }
    }
}

/// Whether writing `rule` onto a target holding `current` would change it (same content includes
/// the same source, so the same owner); an error when the provider would refuse the write. One
/// judgement for the plan (scanned targets) and the dry run (targets read one by one).
fn needs_write<P: IdentityProvider>(idp: &P, current: &Current, rule: &Rule) -> Result<bool, RuleError> {
    let desired = rule.access(String::new())?;
    if current.access.as_ref().is_some_and(|a| a.same_content(&desired)) {
        return Ok(false);
    }
    idp.check_fits(current, &desired)?;
    Ok(true)
}

pub struct Reconciler<'a, C, P> {
    pub syncer: Syncer<'a, C, P>,
    pub settings: Settings,
}

impl<C: RuleCatalog, P: IdentityProvider> Reconciler<'_, C, P> {
    fn step_deadline(&self, run: Deadline) -> Deadline {
        Deadline::after(self.settings.item_budget).waiting_out_rate_limits().min(run)
    }

    /// Every published rule, keyset-paged by id.
    async fn desired(&self, run: Deadline) -> Result<BTreeMap<String, Result<Rule, RuleError>>, Error> {
        let mut out = BTreeMap::new();
        let mut last = String::new();
        loop {
            let page = self.syncer.cms.rules_after(self.syncer.model, &last, self.step_deadline(run)).await?;
            let n = page.len();
            for item in page {
                let (id, r) = match item {
                    Ok(rule) => (rule.id.clone(), Ok(rule)),
                    Err((id, e)) => (id, Err(e)),
                };
                if id <= last {
                    // A page must move forward; anything else would loop forever.
                    let reason = format!("content lake returned rule {id:?} out of order");
                    return Err(crate::cms::CmsError::Upstream(crate::http::UpstreamError::Decode { service: "sanity", reason }).into());
                }
                last = id.clone();
                out.insert(id, r);
            }
            if n < crate::providers::RULE_PAGE_SIZE {
                return Ok(out);
            }
        }
    }

    /// Every target the provider holds. A failed scan is reported and the run goes on without
    /// it: rules are still repaired (each target is read before writing); orphans wait for the
    /// next run.
    async fn actual(&self, run: Deadline, report: &mut RunReport) -> Vec<(Target, Current)> {
        let mut out = Vec::new();
        let mut cursor: Option<P::Cursor> = None;
        loop {
            match self.syncer.idp.scan(cursor.as_ref(), self.step_deadline(run)).await {
                Ok(page) => {
                    out.extend(page.targets);
                    match page.next_cursor {
                        Some(c) if Some(&c) != cursor.as_ref() => cursor = Some(c),
                        _ => return out,
                    }
                }
                Err(e) => {
                    let mut t = Tally::default();
                    let code = Error::from(e).code();
                    t.fail("*", None, code, "provider scan failed, orphans not searched this run".into());
                    report.add(t);
                    return out;
                }
            }
        }
    }

    pub async fn run(&self, input: &Input, run: Deadline) -> Result<RunReport, Error> {
        let started = Instant::now();
        let mut report = RunReport { dry_run: input.dry_run, ..RunReport::default() };
        let desired = self.desired(run).await?;
        let scan = self.actual(run, &mut report).await;
        let state = State::new(self.syncer.idp, desired, scan);
        let ids: Vec<String> = state.ids().into_iter().filter(|id| input.cursor.as_ref().is_none_or(|c| id > c)).collect();
        let claimed = Mutex::new(HashSet::new());
        let budget = self.settings.item_budget;
        // In id order with bounded concurrency; a rule starts only with a full repair budget left,
        // and a started repair always finishes (never cancelled between its write and its clear).
        let mut results = futures_util::stream::iter(ids)
            .map(|id| {
                let (state, claimed) = (&state, &claimed);
                async move {
                    if run.remaining() < budget {
                        return (id, None);
                    }
                    let t = self.item(state, &id, input.dry_run, claimed).await;
                    (id, Some(t))
                }
            })
            .buffered(self.settings.concurrency.max(1));
        let mut last_done = input.cursor.clone();
        let mut stopped = false;
        while let Some((id, tally)) = results.next().await {
            match tally {
                Some(t) => {
                    report.add(t);
                    if !stopped {
                        last_done = Some(id);
                    }
                }
                None => stopped = true,
            }
        }
        if stopped {
            // Resume after the last rule finished in order (later ones that ran are idempotent).
            report.cursor = last_done;
            if report.cursor == input.cursor {
                let mut t = Tally::default();
                t.fail("*", None, BUDGET_EXHAUSTED, "the run's budget ended before any rule could be repaired".into());
                report.add(t);
            }
        }
        report.duration_ms = (started.elapsed().as_secs_f64() * 1e5).round() / 100.0;
        Ok(report)
    }

    fn claim(claimed: &Mutex<HashSet<String>>, id: &str) -> bool {
        claimed.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_string())
    }

    async fn item(&self, st: &State, id: &str, dry: bool, claimed: &Mutex<HashSet<String>>) -> Tally {
        let mut t = Tally::default();
        // Already repaired as another rule's `first`.
        if !Self::claim(claimed, id) {
            return t;
        }
        t.checked = 1;
        let deadline = Deadline::after(self.settings.item_budget);
        let plan = st.plan(self.syncer.idp, id);
        if let Plan::Repair { first: Some(f), .. } = &plan
            && Self::claim(claimed, f) {
                t.checked += 1;
                if dry {
                    self.predict(st, f, st.plan(self.syncer.idp, f), deadline, &mut t).await;
                } else {
                    t.repaired(f, self.syncer.repair(f, st.stale(f, None), deadline).await);
                }
            }
        if dry {
            self.predict(st, id, plan, deadline, &mut t).await;
        } else {
            match plan {
                Plan::InSync => {}
                Plan::Conflict { target, reason } => t.note(id, "conflict", Some(&target.id), Some(reason)),
                // An invalid rule grants nothing: the sync core clears what it owns and answers
                // the rule's error (as publish-sync does).
                Plan::Invalid(reason) => match st.stale(id, None) {
                    owned if owned.is_empty() => t.fail(id, None, INVALID_RULE, reason),
                    owned => {
                        let first = owned[0].id.clone();
                        let r = self.syncer.repair(id, owned, deadline).await;
                        let cleared = matches!(&r, Err(e) if e.status() < 500);
                        t.repaired(id, r);
                        if cleared {
                            t.note(id, "clear", Some(&first), None);
                        }
                    }
                },
                Plan::Repair { stale, .. } => t.repaired(id, self.syncer.repair(id, stale, deadline).await),
            }
        }
        t
    }

    /// Dry run: what a real run would report for this plan (its `first` is handled by the caller).
    async fn predict(&self, st: &State, id: &str, plan: Plan, deadline: Deadline, t: &mut Tally) {
        match plan {
            Plan::InSync => {}
            Plan::Conflict { target, reason } => t.note(id, "conflict", Some(&target.id), Some(reason)),
            Plan::Invalid(reason) => {
                t.fail(id, None, INVALID_RULE, reason);
                if let Some(owned) = st.stale(id, None).first() {
                    t.note(id, "clear", Some(&owned.id), None);
                }
            }
            Plan::Repair { stale, write, .. } => {
                match write {
                    Some((target, true)) => t.note(id, "write", Some(&target.id), None),
                    Some((target, false)) => self.dry_read(st, id, &target, deadline, t).await,
                    None => {}
                }
                if !stale.is_empty() {
                    t.note(id, "clear", stale.first().map(|t| t.id.as_str()), None);
                }
            }
        }
    }

    /// Dry run, target not in the scan: read it to tell whether a real run would write.
    async fn dry_read(&self, st: &State, id: &str, target: &Target, deadline: Deadline, t: &mut Tally) {
        let Some(Ok(rule)) = st.desired.get(id) else { return };
        match self.syncer.idp.read(target, deadline).await {
            Ok(c) => match c.owner.as_deref() {
                Some(o) if o != id => t.note(id, "conflict", Some(&target.id), Some(format!("{target} is already managed by rule {o}"))),
                _ => match needs_write(self.syncer.idp, &c, rule) {
                    Ok(false) => {}
                    Ok(true) => t.note(id, "write", Some(&target.id), None),
                    Err(e) => t.fail(id, Some(&target.id), INVALID_RULE, e.0),
                },
            },
            Err(e) => {
                let e = Error::from(e);
                t.fail(id, Some(&target.id), e.code(), e.to_string())
            }
        }
    }
}
