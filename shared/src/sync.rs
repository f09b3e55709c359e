//! The sync core shared by publish-sync and delete-cleanup (and later reconcile): make the
//! provider reflect the *current* published state of one access rule, so any delivery order
//! converges. Ownership: a rule only writes or clears a namespace that is empty or its own.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::cms::slug::SlugField;
use crate::cms::webhook::is_draft_or_version;
use crate::cms::{Before, SanityClient, WebhookEvent};
use crate::error::Error;
use crate::gated_route::GatedRoute;
use crate::http::Deadline;
use crate::identity::Target;
use crate::providers::{self, ContentModel, Current, FANOUT_MAX, IdentityProvider, IdpError, RuleError, RuleFields, Source, SyncedAccess, non_empty};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Synced,
    Unchanged,
    Skipped,
    Cleared,
    AlreadyClear,
    NotOwned,
    Stale,
    Conflict,
}

impl Outcome {
    pub fn status(self) -> u16 {
        if self == Outcome::Conflict { 409 } else { 200 }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Synced => "synced",
            Outcome::Unchanged => "unchanged",
            Outcome::Skipped => "skipped",
            Outcome::Cleared => "cleared",
            Outcome::AlreadyClear => "already_clear",
            Outcome::NotOwned => "not_owned",
            Outcome::Stale => "stale",
            Outcome::Conflict => "conflict",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub outcome: Outcome,
    pub reason: Option<String>,
    /// The rule owning the target, on conflict.
    pub owner: Option<String>,
    pub target: Option<String>,
    /// A previous target this delivery cleared (re-pointed rule).
    pub cleared_previous: Option<String>,
    /// Models whose rules reference other documents (`ContentModel::referencing_query`): the
    /// rules re-synced because a document they reference changed, and how many were left to the
    /// reconciler.
    pub resynced: Option<(usize, usize)>,
}

impl Report {
    fn new(outcome: Outcome) -> Self {
        Report { outcome, reason: None, owner: None, target: None, cleared_previous: None, resynced: None }
    }
    fn because(outcome: Outcome, reason: impl Into<String>) -> Self {
        Report { reason: Some(reason.into()), ..Report::new(outcome) }
    }
    pub fn to_json(&self) -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        m.insert("outcome".into(), self.outcome.as_str().into());
        if self.outcome == Outcome::Conflict {
            m.insert("error".into(), "conflict".into());
        }
        for (k, v) in [
            ("reason", &self.reason),
            ("owner", &self.owner),
            ("target", &self.target),
            ("cleared_previous", &self.cleared_previous),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), v.clone().into());
            }
        }
        if let Some((done, left)) = self.resynced {
            m.insert("resynced_profiles".into(), done.into());
            if left > 0 {
                m.insert("resync_left_to_reconcile".into(), left.into());
            }
        }
        m
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "_rev")]
    pub rev: String,
    /// `accessRule` (or absent), `memberProfile`, `organizationProfile`.
    #[serde(rename = "_type", default)]
    pub doc_type: Option<String>,
    /// Where the grant goes (and a membership's roles and tenant), in the provider's own fields:
    /// decoded by the provider folders (`providers::RuleFields`).
    #[serde(flatten)]
    pub fields: RuleFields,
    /// The plan's slug, raw: an object or a string (cms::slug).
    #[serde(default)]
    pub plan: SlugField,
    pub plan_title: Option<String>,
    pub region: Option<String>,
    pub allowed_content_types: Option<Vec<Option<String>>>,
    pub gated_routes: Option<Vec<Option<String>>>,
    pub requires_mfa: Option<bool>,
}

impl Rule {
    pub fn target(&self) -> Result<Option<Target>, RuleError> {
        self.fields.target(self.doc_type.as_deref())
    }

    /// A malformed field, naming the document.
    fn refuse(&self, what: String) -> RuleError {
        RuleError(format!("document {}: {what}", self.id))
    }

    /// The value to write, or why the rule is malformed.
    pub fn access(&self, synced_at: String) -> Result<SyncedAccess, RuleError> {
        let mut routes = Vec::new();
        for r in self.gated_routes.iter().flatten() {
            // Not trimmed (gated_route.rs): a path must be canonical as written or it is refused.
            let p = r.as_deref().ok_or_else(|| RuleError("a gated route has no path".into()))?;
            routes.push(GatedRoute::try_from(p.to_string()).map_err(RuleError)?);
        }
        let types = self.allowed_content_types.iter().flatten().flatten().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        let doc_type = self.doc_type.as_deref();
        let (roles, tenant_id) = self.fields.membership(doc_type, |e| self.refuse(e))?;
        Ok(SyncedAccess {
            roles,
            tenant_id,
            plan: self.plan.get(self.fields.plan_field(doc_type)).map_err(|e| self.refuse(e))?.map(|p| p.trim().to_string()),
            plan_title: non_empty(&self.plan_title).map(String::from),
            region: non_empty(&self.region).map(String::from),
            allowed_content_types: types,
            gated_routes: routes,
            requires_mfa: self.requires_mfa.unwrap_or(false),
            source: Source { document_id: self.id.clone(), rev: self.rev.clone() },
            synced_at,
        })
    }
}

/// Where the sync core reads the truth: the Content Lake in production (and an in-memory lake in
/// the convergence property test).
pub trait RuleSource: Send + Sync {
    /// The published rule (of `model`'s types) with this id, or `None` when it is not published.
    fn rule(&self, model: &'static ContentModel, id: &str, deadline: Deadline) -> impl std::future::Future<Output = Result<Option<Rule>, Error>> + Send;
    /// Ids of the member profiles that reference document `id` (at most `FANOUT_MAX + 1`).
    fn referencing(&self, model: &'static ContentModel, id: &str, deadline: Deadline) -> impl std::future::Future<Output = Result<Vec<String>, Error>> + Send {
        let _ = (model, id, deadline);
        async { Ok(Vec::new()) }
    }
}

/// One page of rules: each decoded, or its id and why it does not match the schema.
pub type RulePage = Vec<Result<Rule, (String, RuleError)>>;

/// Every published rule, page by page (the reconciler's desired state).
pub trait RuleCatalog: RuleSource {
    /// Up to [`RULE_PAGE_SIZE`] published rules with ids after `last`, in id order. A document
    /// that does not match the schema comes back as its id and the reason.
    fn rules_after(&self, model: &'static ContentModel, last: &str, deadline: Deadline) -> impl std::future::Future<Output = Result<RulePage, Error>> + Send;
}

/// One rule of `model` from a query result, or its id and why it does not match the schema.
pub fn decode_rule(model: &ContentModel, v: Value) -> Result<Rule, (String, RuleError)> {
    let id = v.get("_id").and_then(Value::as_str).unwrap_or("").to_string();
    let kind = v.get("_type").and_then(Value::as_str).unwrap_or(model.types[0]).to_string();
    serde_json::from_value(v).map_err(|e| (id, RuleError(format!("document does not match the {kind} schema: {e}"))))
}

impl RuleCatalog for SanityClient {
    async fn rules_after(&self, model: &'static ContentModel, last: &str, deadline: Deadline) -> Result<RulePage, Error> {
        let v: Value = self.query(model.page_query.as_str(), json!({ "last": last }), deadline).await?;
        match v {
            Value::Array(items) => Ok(items.into_iter().map(|v| decode_rule(model, v)).collect()),
            other => Err(Error::Cms(crate::cms::CmsError::Upstream(crate::http::UpstreamError::Decode {
                service: "sanity",
                reason: format!("expected an array of rules, got {}", if other.is_null() { "null" } else { "another type" }),
            }))),
        }
    }
}

impl RuleSource for SanityClient {
    async fn rule(&self, model: &'static ContentModel, id: &str, deadline: Deadline) -> Result<Option<Rule>, Error> {
        let v: Value = self.query(model.one_query, json!({ "id": id }), deadline).await?;
        if v.is_null() {
            return Ok(None);
        }
        decode_rule(model, v).map(Some).map_err(|(_, e)| e.into())
    }

    async fn referencing(&self, model: &'static ContentModel, id: &str, deadline: Deadline) -> Result<Vec<String>, Error> {
        let Some(q) = model.referencing_query else { return Ok(Vec::new()) };
        let v: Value = self.query(q.as_str(), json!({ "id": id }), deadline).await?;
        Ok(v.as_array().map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect()).unwrap_or_default())
    }
}

pub struct Syncer<'a, C, P> {
    pub cms: &'a C,
    pub idp: &'a P,
    /// The dataset the secrets name; deliveries from another dataset are refused.
    pub dataset: &'a str,
    pub now_ms: fn() -> i64,
    pub model: &'static ContentModel,
}

impl<C: RuleSource, P: IdentityProvider> Syncer<'_, C, P> {
    /// Checks common to both functions. `Some(report)` ends the delivery early.
    fn screen(&self, ev: &WebhookEvent) -> Result<Option<Report>, Error> {
        if is_draft_or_version(&ev.id) {
            return Ok(Some(Report::because(Outcome::Skipped, "drafts and versions are never synced")));
        }
        let t = ev.doc_type.as_str();
        if !self.model.types.contains(&t) && !self.model.referenced_types.contains(&t) {
            return Err(Error::UnsupportedType(ev.doc_type.clone()));
        }
        if let Some(ds) = &ev.dataset
            && ds != self.dataset {
                return Err(RuleError(format!("delivery is for dataset {ds:?}, this function serves {:?}", self.dataset)).into());
            }
        Ok(None)
    }

    pub async fn read_rule(&self, id: &str, deadline: Deadline) -> Result<Option<Rule>, Error> {
        self.cms.rule(self.model, id, deadline).await
    }

    /// publish-sync: make the provider match the published rule.
    pub async fn publish(&self, ev: &WebhookEvent, deadline: Deadline) -> Result<Report, Error> {
        if let Some(r) = self.screen(ev)? {
            return Ok(r);
        }
        let is_profile = self.model.types.contains(&ev.doc_type.as_str());
        if is_profile && ev.before == Before::Absent {
            return Err(Error::BadRequest(self.model.no_before.into()));
        }
        let mut report = if is_profile {
            self.converge(&ev.id, providers::before_targets(&ev.before), Some(ev), deadline).await?
        } else {
            Report::because(Outcome::Unchanged, format!("{} is not synced itself; the profiles referencing it are", ev.doc_type))
        };
        if self.model.referenced_types.contains(&ev.doc_type.as_str()) {
            report.resynced = Some(self.resync_referencing(&ev.id, deadline).await?);
        }
        Ok(report)
    }

    /// Re-syncs the member profiles that reference `id` (their plan, region, roles or tenant
    /// come from it). An upstream failure fails the delivery, so Sanity retries it; a profile
    /// that is invalid on its own is left to its own deliveries (and the reconciler's report).
    async fn resync_referencing(&self, id: &str, deadline: Deadline) -> Result<(usize, usize), Error> {
        let ids = self.cms.referencing(self.model, id, deadline).await?;
        let left = ids.len().saturating_sub(FANOUT_MAX);
        let mut done = 0;
        for member in ids.iter().take(FANOUT_MAX) {
            match self.converge(member, Vec::new(), None, deadline).await {
                Ok(_) => done += 1,
                Err(e) if e.status() >= 500 => return Err(e),
                Err(e) => tracing::warn!(document_id = %member, error = %e, "referencing profile not re-synced"),
            }
        }
        Ok((done, left))
    }

    /// reconcile: make the provider match rule `id`'s published state, clearing `previous`
    /// (targets found owned by it) that it no longer points at, or all of them when it is gone.
    pub async fn repair(&self, id: &str, previous: Vec<Target>, deadline: Deadline) -> Result<Report, Error> {
        self.converge(id, previous, None, deadline).await
    }

    /// The publish path shared by a delivery and the reconciler: read the published rule, write
    /// its target, clear `previous` targets it left.
    async fn converge(&self, id: &str, mut previous: Vec<Target>, ev: Option<&WebhookEvent>, deadline: Deadline) -> Result<Report, Error> {
        // A delivery's before() targets are cleared by `cleanup` when the rule is gone.
        let from_before = if ev.is_some() { previous.len() } else { 0 };
        let mut report = None;
        // Concurrent edits: if the rule moved while we wrote, run once more with the newer state,
        // treating what this pass wrote as a previous target too (the reconciler is the
        // backstop beyond that).
        for _ in 0..2 {
            let rule = match self.read_rule(id, deadline).await {
                // Published but undecodable: it grants nothing (fail closed), as in `apply`.
                Err(e) if (400..500).contains(&e.status()) => {
                    self.clear_owned(previous.iter(), id, deadline).await?;
                    return Err(e);
                }
                other => other?,
            };
            let Some(rule) = rule else {
                let mut r = match ev {
                    Some(ev) => self.cleanup(ev, deadline, false).await?,
                    None => Report::new(Outcome::AlreadyClear),
                };
                if let Some(c) = self.clear_previous(&previous[from_before..], None, id, deadline).await? {
                    if ev.is_none() {
                        r.outcome = Outcome::Cleared;
                    }
                    r.cleared_previous = Some(c);
                }
                return Ok(r);
            };
            let r = self.apply(&rule, &previous, deadline).await?;
            let wrote = matches!(r.outcome, Outcome::Synced) || r.cleared_previous.is_some();
            if let Some(t) = rule.target().ok().flatten() {
                previous.push(t);
            }
            report = Some(r);
            if !wrote {
                break;
            }
            match self.read_rule(id, deadline).await? {
                Some(now) if now.rev == rule.rev => break,
                _ => tracing::info!(document_id = %id, "rule changed during sync; syncing again"),
            }
        }
        Ok(report.unwrap_or_else(|| Report::new(Outcome::Unchanged)))
    }

    /// delete-cleanup: clear what the deleted (or unpublished) rule owned.
    pub async fn delete(&self, ev: &WebhookEvent, deadline: Deadline) -> Result<Report, Error> {
        if let Some(r) = self.screen(ev)? {
            return Ok(r);
        }
        self.cleanup(ev, deadline, true).await
    }

    async fn apply(&self, rule: &Rule, previous: &[Target], deadline: Deadline) -> Result<Report, Error> {
        let target = rule.target();
        let result = match &target {
            Err(e) => Err(Error::from(e.clone())),
            Ok(None) => Ok(Report::because(Outcome::Skipped, "rule targets no organization or user")),
            Ok(Some(t)) => self.write_target(rule, t, deadline).await,
        };
        let current = target.ok().flatten();
        match result {
            // Re-pointed: clear the previous target, after the new write, so a failure in between
            // leaves the old grant rather than none.
            Ok(mut report) => {
                report.cleared_previous = self.clear_previous(previous, current.as_ref(), &rule.id, deadline).await?;
                Ok(report)
            }
            // The new state is invalid and Sanity will not retry (4xx): an invalid rule grants
            // nothing (fail closed), so clear what it owns, its current target included, before
            // answering. Nothing of the invalid state was written.
            Err(e) if (400..500).contains(&e.status()) => {
                self.clear_owned(previous.iter().chain(current.as_ref()), &rule.id, deadline).await?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Clears the `previous` targets the rule no longer points at, if it still owns them.
    /// Returns the last one cleared.
    async fn clear_previous(&self, previous: &[Target], current: Option<&Target>, rule_id: &str, deadline: Deadline) -> Result<Option<String>, Error> {
        self.clear_owned(previous.iter().filter(|old| Some(*old) != current), rule_id, deadline).await
    }

    /// Clears each of `targets` this rule still owns (an invalid rule grants nothing). Returns
    /// the last one cleared.
    pub async fn clear_owned<'t>(&self, targets: impl Iterator<Item = &'t Target>, rule_id: &str, deadline: Deadline) -> Result<Option<String>, Error> {
        let mut seen = Vec::new();
        let mut cleared = None;
        for t in targets {
            if seen.contains(t) || self.idp.validate_target(t).is_err() {
                continue;
            }
            seen.push(t.clone());
            if self.clear_if_owned(t, rule_id, deadline).await? == Outcome::Cleared {
                cleared = Some(t.id.clone());
            }
        }
        Ok(cleared)
    }

    async fn write_target(&self, rule: &Rule, target: &Target, deadline: Deadline) -> Result<Report, Error> {
        self.idp.validate_target(target)?;
        let desired = rule.access(crate::log::rfc3339((self.now_ms)()))?;
        let current = self.read_target(target, deadline).await?;
        let mut report = match current.owner.as_deref() {
            Some(owner) if owner != rule.id => Report {
                owner: Some(owner.to_string()),
                ..Report::because(Outcome::Conflict, format!("{target} is already managed by rule {owner}"))
            },
            _ if current.access.as_ref().is_some_and(|a| a.same_content(&desired)) => Report::new(Outcome::Unchanged),
            _ => {
                self.idp.check_fits(&current, &desired)?;
                self.idp.write(target, &desired, deadline).await?;
                Report::new(Outcome::Synced)
            }
        };
        report.target = Some(target.id.clone());
        Ok(report)
    }

    async fn read_target(&self, target: &Target, deadline: Deadline) -> Result<Current, Error> {
        Ok(self.idp.read(target, deadline).await?)
    }

    async fn clear_if_owned(&self, target: &Target, rule_id: &str, deadline: Deadline) -> Result<Outcome, Error> {
        let current = match self.idp.read(target, deadline).await {
            Ok(c) => c,
            // Nothing left to clear on a target that no longer exists.
            Err(IdpError::TargetNotFound(_)) => return Ok(Outcome::AlreadyClear),
            Err(e) => return Err(e.into()),
        };
        match current.owner.as_deref() {
            None if !current.present => Ok(Outcome::AlreadyClear),
            Some(owner) if owner == rule_id => {
                self.idp.clear(target, deadline).await?;
                Ok(Outcome::Cleared)
            }
            _ => Ok(Outcome::NotOwned),
        }
    }

    /// The rule is gone from the published perspective: clear the targets `before()` names.
    async fn cleanup(&self, ev: &WebhookEvent, deadline: Deadline, explicit_delete: bool) -> Result<Report, Error> {
        if matches!(ev.before, Before::Absent | Before::Null) {
            if explicit_delete {
                return Err(Error::BadRequest(self.model.no_before.into()));
            }
            return Ok(Report::because(Outcome::Skipped, "rule is no longer published; delete-cleanup clears it"));
        }
        if explicit_delete
            && let Some(rule) = self.read_rule(&ev.id, deadline).await? {
                // The rule exists again. Its own publish delivery writes its current target; the
                // target it had before the delete may be a different one, which it must not keep.
                let mut report = Report::because(Outcome::Stale, "a published rule with this id exists again");
                let current = rule.target().ok().flatten();
                report.cleared_previous = self.clear_previous(&providers::before_targets(&ev.before), current.as_ref(), &rule.id, deadline).await?;
                return Ok(report);
            }
        let targets = providers::before_targets(&ev.before);
        if targets.is_empty() {
            return Ok(Report::because(Outcome::Skipped, "rule targeted no organization or user"));
        }
        let mut outcome = Outcome::AlreadyClear;
        let mut last = None;
        for t in targets {
            if self.idp.validate_target(&t).is_err() {
                continue;
            }
            let o = self.clear_if_owned(&t, &ev.id, deadline).await?;
            // cleared > not_owned > already_clear
            outcome = match (outcome, o) {
                (Outcome::Cleared, _) | (_, Outcome::Cleared) => Outcome::Cleared,
                (Outcome::NotOwned, _) | (_, Outcome::NotOwned) => Outcome::NotOwned,
                _ => Outcome::AlreadyClear,
            };
            last = Some(t.id);
        }
        Ok(Report { target: last, ..Report::new(outcome) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::TargetKind;

    fn rule(v: Value) -> Rule {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn access_is_projected_from_the_rule() {
        let r = rule(json!({
            "_id": "rule-1", "_rev": "r1", "stytchOrganizationId": "organization-test-x",
            "plan": "pro", "planTitle": "Pro", "region": "eu",
            "allowedContentTypes": ["article", null, " report "], "gatedRoutes": ["/a", "/b"], "requiresMfa": null
        }));
        let a = r.access("t".into()).unwrap();
        assert_eq!(a.allowed_content_types, vec!["article", "report"]);
        assert_eq!(a.gated_routes.iter().map(GatedRoute::as_str).collect::<Vec<_>>(), vec!["/a", "/b"]);
        assert!(!a.requires_mfa);
        assert_eq!(a.source, Source { document_id: "rule-1".into(), rev: "r1".into() });
        let bad = rule(json!({"_id": "r", "_rev": "1", "gatedRoutes": ["/ok", null]}));
        assert!(bad.access("t".into()).is_err());
        let bad = rule(json!({"_id": "r", "_rev": "1", "gatedRoutes": ["relative"]}));
        assert!(bad.access("t".into()).unwrap_err().0.contains("relative"));
    }

    #[test]
    fn descope_profiles_decode_to_a_target_and_an_access() {
        let member = rule(json!({
            "_id": "mp-1", "_rev": "r1", "_type": "memberProfile", "descopeLoginId": "ada@acme.example",
            "tenantId": "T2acme", "tenantRef": "op-acme", "plan": "pro", "region": "eu",
            "roles": ["reader", "editor", "reader"], "roleRefs": 3, "requiresMfa": true
        }));
        assert_eq!(member.target().unwrap(), Some(Target { kind: TargetKind::User, id: "ada@acme.example".into() }));
        let a = member.access("t".into()).unwrap();
        assert_eq!((a.roles.clone(), a.tenant_id.clone(), a.requires_mfa), (vec!["editor".to_string(), "reader".to_string()], Some("T2acme".to_string()), true));
        // Dangling references are refused rather than syncing fewer roles or no tenant.
        let no_role = rule(json!({"_id": "mp-1", "_rev": "r1", "_type": "memberProfile", "descopeLoginId": "a", "roles": ["reader", null], "roleRefs": 2}));
        assert!(no_role.access("t".into()).unwrap_err().0.contains("role reference"));
        let no_tenant = rule(json!({"_id": "mp-1", "_rev": "r1", "_type": "memberProfile", "descopeLoginId": "a", "tenantRef": "op-gone"}));
        assert!(no_tenant.access("t".into()).unwrap_err().0.contains("tenant reference"));
        // An organization profile targets its tenant and grants no roles itself.
        let org = rule(json!({"_id": "op-1", "_rev": "r1", "_type": "organizationProfile", "tenantId": "T2acme", "roles": null, "plan": "pro"}));
        assert_eq!(org.target().unwrap(), Some(Target { kind: TargetKind::Organization, id: "T2acme".into() }));
        assert!(org.access("t".into()).unwrap().roles.is_empty());
        // A member profile without a login id targets nothing (skipped, like an empty rule).
        let empty = rule(json!({"_id": "mp-2", "_rev": "r1", "_type": "memberProfile", "descopeLoginId": " "}));
        assert_eq!(empty.target().unwrap(), None);
    }

    #[test]
    fn a_rule_targets_at_most_one_thing() {
        let both = rule(json!({"_id": "r", "_rev": "1", "stytchOrganizationId": "o", "stytchUserId": "u"}));
        assert!(both.target().is_err());
        let none = rule(json!({"_id": "r", "_rev": "1", "stytchOrganizationId": "  "}));
        assert_eq!(none.target().unwrap(), None);
    }
}

#[cfg(test)]
#[path = "convergence_tests.rs"]
mod convergence_tests;
