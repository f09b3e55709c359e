//! Identity providers behind one trait. The sync core only ever reads, writes or clears one
//! namespaced value on one target; everything provider-specific (management client, session
//! verifier, secret, content model) lives in `stytch/` and `descope/`. `IdpSecret`, read once at
//! init, is the one provider value the rest of the crate holds: it builds the client, the verifier
//! and names the content model, so nothing outside this folder matches on the provider.

use std::future::Future;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::{Config, IdpKind};
use crate::gated_route::GatedRoute;
use crate::http::{Deadline, UpstreamError};
use crate::identity::{Target, TargetKind};
use crate::jwks::Jwks;
use crate::secret_fields::SecretsError;
use crate::session::{Session, SessionError};

pub mod descope;
pub mod stytch;

use descope::descope_model::{DescopeProfileFields, MEMBER_PROFILE, ORGANIZATION_PROFILE};
use descope::descope_secret::{DescopeSecret, parse_descope};
use descope::descope_session::{DescopeVerifier, descope_jwks_url};
use descope::{Descope, DescopeCursor};
use stytch::stytch_model::StytchRuleFields;
use stytch::stytch_secret::{StytchSecret, parse_stytch};
use stytch::stytch_session::{StytchVerifier, stytch_jwks_url};
use stytch::Stytch;

/// The one key gatehouse owns inside a target's metadata.
pub const NAMESPACE: &str = "sanity_access";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub document_id: String,
    pub rev: String,
}

/// What a published rule grants, as written into the provider (docs/ARCHITECTURE.md, "Data").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncedAccess {
    pub plan: Option<String>,
    pub plan_title: Option<String>,
    pub region: Option<String>,
    #[serde(default)]
    pub allowed_content_types: Vec<String>,
    #[serde(default)]
    pub gated_routes: Vec<GatedRoute>,
    #[serde(default)]
    pub requires_mfa: bool,
    /// A membership's role keys (Descope member profiles: project-level, or in `tenant_id`).
    /// Empty for every other rule, and then not serialized (Stytch never sees the key).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// The tenant a membership puts the user in (their roles live there); see `roles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    pub source: Source,
    pub synced_at: String,
}

impl SyncedAccess {
    /// Equal in everything but `syncedAt`: writing would change nothing that matters.
    pub fn same_content(&self, other: &SyncedAccess) -> bool {
        SyncedAccess { synced_at: String::new(), ..self.clone() } == SyncedAccess { synced_at: String::new(), ..other.clone() }
    }
}

/// A target's state as read, filled in by each adapter from its own wire format: whether
/// gatehouse's namespace holds anything, the rule that owns it, the access it grants, and every
/// other key (kept for limit checks).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Current {
    /// The namespace holds something (owned, or set by hand without a source).
    pub present: bool,
    /// The rule that owns the namespace; `None` when empty or written by hand without a source.
    pub owner: Option<String>,
    /// The synced access, when the namespace holds a whole one.
    pub access: Option<SyncedAccess>,
    pub others: Map<String, Value>,
}

/// One page of a provider scan: the targets on it, each with its metadata.
#[derive(Debug)]
pub struct ScanPage<C> {
    pub targets: Vec<(Target, Current)>,
    pub next_cursor: Option<C>,
}

#[derive(Debug, thiserror::Error)]
pub enum IdpError {
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("{0} does not exist")]
    TargetNotFound(Target),
    /// The provider refused the value (limits, format): retrying cannot help.
    #[error("identity provider refused the write: {0}")]
    Rejected(String),
    #[error("identity provider refused gatehouse's credentials")]
    Unauthorized,
}

/// Why a rule cannot be synced as published (422 to Sanity, no retry).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(pub String);

pub trait IdentityProvider: Send + Sync {
    /// Where a scan resumes: each provider's own position (the reconciler only hands it back).
    type Cursor: Clone + PartialEq + std::fmt::Debug + Send + Sync;
    fn name(&self) -> &'static str;
    /// Whether this project holds targets of this kind (a Stytch B2B project has no consumer
    /// users): rules for the other kind belong to another deployment.
    fn serves(&self, kind: TargetKind) -> bool;
    /// Checks an id's format and that it belongs to this project before any call is made.
    fn validate_target(&self, target: &Target) -> Result<(), RuleError>;
    /// Checks the metadata after the write would still be within the provider's limits.
    fn check_fits(&self, current: &Current, access: &SyncedAccess) -> Result<(), RuleError>;
    fn read(&self, target: &Target, deadline: Deadline) -> impl Future<Output = Result<Current, IdpError>> + Send;
    /// Writes the namespace, leaving every other key as it is.
    fn write(&self, target: &Target, access: &SyncedAccess, deadline: Deadline) -> impl Future<Output = Result<(), IdpError>> + Send;
    /// Removes the namespace, leaving every other key as it is.
    fn clear(&self, target: &Target, deadline: Deadline) -> impl Future<Output = Result<(), IdpError>> + Send;
    /// One page of every target the project holds (the reconciler's orphan search); `None` starts.
    fn scan(&self, cursor: Option<&Self::Cursor>, deadline: Deadline) -> impl Future<Output = Result<ScanPage<Self::Cursor>, IdpError>> + Send;
    /// Where a verified session's synced access is read (the gate).
    fn access_target(&self, session: &Session) -> Target {
        session.target()
    }
    /// The synced access names no content types: every served type is allowed (Descope
    /// profiles grant by plan, region and roles only).
    fn grants_all_types(&self) -> bool {
        false
    }
}

/// The identity provider's credentials (`IDP`).
#[derive(Clone)]
pub enum IdpSecret {
    Stytch(StytchSecret),
    Descope(DescopeSecret),
}

impl IdpSecret {
    /// Reads the secret of the provider `IDP` names.
    pub fn parse(kind: IdpKind, arn: &str, obj: Map<String, Value>) -> Result<Self, SecretsError> {
        Ok(match kind {
            IdpKind::Stytch => IdpSecret::Stytch(parse_stytch(arn, &obj)?),
            IdpKind::Descope => IdpSecret::Descope(parse_descope(arn, &Value::Object(obj).to_string())?),
        })
    }

    /// The management API's base URL.
    pub fn base_url(&self, cfg: &Config) -> String {
        match self {
            IdpSecret::Stytch(st) => stytch::base_url(cfg, st),
            IdpSecret::Descope(d) => descope::base_url(cfg.descope_base_url.as_deref(), &d.project_id),
        }
    }

    /// The management client, with these credentials.
    pub fn client(&self, http: &reqwest::Client, cfg: &Config) -> AnyProvider {
        match self {
            IdpSecret::Stytch(st) => AnyProvider::Stytch(Stytch::new(http.clone(), cfg, st.clone())),
            IdpSecret::Descope(d) => AnyProvider::Descope(Descope::new(http.clone(), self.base_url(cfg), d.clone(), cfg.timeouts.request)),
        }
    }

    /// Verifies the project's session JWTs against its JWKS (keys not loaded yet).
    pub fn verifier(&self, http: &reqwest::Client, cfg: &Config) -> AnyVerifier {
        let base = self.base_url(cfg);
        let jwks = |url: String| Jwks::new(http.clone(), url, cfg.jwks_refetch_min, cfg.jwks_max_age, cfg.timeouts.request);
        match self {
            IdpSecret::Stytch(st) => {
                AnyVerifier::Stytch(StytchVerifier::new(jwks(stytch_jwks_url(&base, &st.project_id, st.kind)), st.project_id.clone(), st.kind, &cfg.stytch_issuers))
            }
            IdpSecret::Descope(d) => AnyVerifier::Descope(DescopeVerifier::new(jwks(descope_jwks_url(&base, &d.project_id)), d.project_id.clone())),
        }
    }

    /// Which documents hold this provider's rules.
    pub fn model(&self) -> &'static ContentModel {
        match self {
            IdpSecret::Stytch(_) => &stytch::stytch_model::MODEL,
            IdpSecret::Descope(_) => &descope::descope_model::MODEL,
        }
    }

    pub fn project_id(&self) -> &str {
        match self {
            IdpSecret::Stytch(s) => &s.project_id,
            IdpSecret::Descope(d) => &d.project_id,
        }
    }
}


/// Which Content Lake documents hold a provider's rules, and how they are read: the sync core and
/// the reconciler take this instead of asking which provider they serve.
#[derive(Debug)]
pub struct ContentModel {
    /// The document types that are rules.
    pub types: &'static [&'static str],
    /// Documents rules reference: publishing one re-syncs the rules that use it.
    pub referenced_types: &'static [&'static str],
    /// The 422 reason when a delete delivery lacks the `before()` ids.
    pub no_before: &'static str,
    /// The published rule with id `$id`.
    pub one_query: &'static str,
    /// The next page of up to `RULE_PAGE_SIZE` rules after `$last` in `_id` order.
    pub page_query: &'static std::sync::LazyLock<String>,
    /// Up to `FANOUT_MAX + 1` ids of the rules that reference `$id` (`None`: rules reference nothing).
    pub referencing_query: Option<&'static std::sync::LazyLock<String>>,
}

/// A rule document's provider fields: where its grant goes, and for a membership its roles and
/// tenant. Each provider's set is decoded by its own folder; a document fills only its model's set,
/// and its `_type` says which (Descope profiles have their own types, anything else is a Stytch
/// `accessRule`). The sync core asks these three questions and never which provider it serves.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RuleFields {
    #[serde(flatten)]
    stytch: StytchRuleFields,
    #[serde(flatten)]
    descope: DescopeProfileFields,
}

impl RuleFields {
    /// The Descope profile type a document is, if it is one.
    fn descope_kind(doc_type: Option<&str>) -> Option<&str> {
        doc_type.filter(|t| *t == MEMBER_PROFILE || *t == ORGANIZATION_PROFILE)
    }

    /// The one organization, user or tenant the rule grants to; `None` when it names none yet.
    pub fn target(&self, doc_type: Option<&str>) -> Result<Option<Target>, RuleError> {
        match Self::descope_kind(doc_type) {
            Some(kind) => Ok(self.descope.target(kind)),
            None => self.stytch.target(),
        }
    }

    /// Where the plan slug comes from, for error messages.
    pub fn plan_field(&self, doc_type: Option<&str>) -> &'static str {
        match Self::descope_kind(doc_type) {
            Some(_) => "planSlug of the referenced accessPlan (the profile's, else its tenant's)",
            None => "slug of the referenced plan",
        }
    }

    /// A membership's role keys (sorted, unique) and tenant; none for a rule of another kind.
    /// `refuse` names the document in a malformed field's error.
    pub fn membership(&self, doc_type: Option<&str>, refuse: impl Fn(String) -> RuleError) -> Result<(Vec<String>, Option<String>), RuleError> {
        match Self::descope_kind(doc_type) {
            Some(kind) => self.descope.membership(kind, refuse),
            None => Ok((Vec::new(), None)),
        }
    }
}

/// A rule field's text, trimmed; `None` when absent or blank.
pub fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Targets named by a pair of id fields (a rule's, or a delivery's `before()`).
pub fn targets(org: Option<&str>, user: Option<&str>) -> Vec<Target> {
    let mut t = Vec::new();
    if let Some(id) = org {
        t.push(Target { kind: TargetKind::Organization, id: id.into() });
    }
    if let Some(id) = user {
        t.push(Target { kind: TargetKind::User, id: id.into() });
    }
    t
}

/// Every target a delete delivery's `before()` names, in either provider's fields (a delivery
/// carries only the fields its document type has).
pub fn before_targets(before: &crate::cms::Before) -> Vec<Target> {
    let mut t = stytch::stytch_model::before_targets(before);
    t.extend(descope::descope_model::before_targets(before));
    t
}

/// Rules per page of the reconciler's desired-state read (the page queries' slice).
pub const RULE_PAGE_SIZE: usize = 500;
/// Rules one delivery re-syncs after a document they reference changed; beyond this the
/// reconciler catches up (the report says how many were left).
pub const FANOUT_MAX: usize = 50;

/// The session verifier of the provider chosen by `IDP`.
pub enum AnyVerifier {
    Stytch(StytchVerifier),
    Descope(DescopeVerifier),
}

impl AnyVerifier {
    pub async fn verify(&self, token: &str) -> Result<Session, SessionError> {
        match self {
            AnyVerifier::Stytch(v) => v.verify(token).await,
            AnyVerifier::Descope(v) => v.verify(token).await,
        }
    }

    pub fn jwks(&self) -> &Jwks {
        match self {
            AnyVerifier::Stytch(v) => &v.jwks,
            AnyVerifier::Descope(v) => &v.jwks,
        }
    }

    /// The cookie a browser session lives in: Stytch's `stytch_session_jwt`, Descope's `DS`.
    pub fn cookie(&self) -> &'static str {
        match self {
            AnyVerifier::Stytch(_) => stytch::SESSION_COOKIE,
            AnyVerifier::Descope(_) => descope::SESSION_COOKIE,
        }
    }
}


/// The provider chosen by `IDP`, behind the one trait.
pub enum AnyProvider {
    Stytch(stytch::Stytch),
    Descope(descope::Descope),
}

macro_rules! each {
    ($self:ident, $p:ident => $e:expr) => {
        match $self {
            AnyProvider::Stytch($p) => $e,
            AnyProvider::Descope($p) => $e,
        }
    };
}

/// Either provider's scan position.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyCursor {
    Stytch(String),
    Descope(DescopeCursor),
}

impl IdentityProvider for AnyProvider {
    type Cursor = AnyCursor;
    fn name(&self) -> &'static str {
        each!(self, p => p.name())
    }
    fn serves(&self, kind: TargetKind) -> bool {
        each!(self, p => p.serves(kind))
    }
    fn validate_target(&self, target: &Target) -> Result<(), RuleError> {
        each!(self, p => p.validate_target(target))
    }
    fn check_fits(&self, current: &Current, access: &SyncedAccess) -> Result<(), RuleError> {
        each!(self, p => p.check_fits(current, access))
    }
    async fn read(&self, target: &Target, deadline: Deadline) -> Result<Current, IdpError> {
        each!(self, p => p.read(target, deadline).await)
    }
    async fn write(&self, target: &Target, access: &SyncedAccess, deadline: Deadline) -> Result<(), IdpError> {
        each!(self, p => p.write(target, access, deadline).await)
    }
    async fn clear(&self, target: &Target, deadline: Deadline) -> Result<(), IdpError> {
        each!(self, p => p.clear(target, deadline).await)
    }
    async fn scan(&self, cursor: Option<&AnyCursor>, deadline: Deadline) -> Result<ScanPage<AnyCursor>, IdpError> {
        fn wrap<C>(p: ScanPage<C>, f: fn(C) -> AnyCursor) -> ScanPage<AnyCursor> {
            ScanPage { targets: p.targets, next_cursor: p.next_cursor.map(f) }
        }
        match (self, cursor) {
            (AnyProvider::Stytch(p), None) => Ok(wrap(p.scan(None, deadline).await?, AnyCursor::Stytch)),
            (AnyProvider::Stytch(p), Some(AnyCursor::Stytch(c))) => Ok(wrap(p.scan(Some(c), deadline).await?, AnyCursor::Stytch)),
            (AnyProvider::Descope(p), None) => Ok(wrap(p.scan(None, deadline).await?, AnyCursor::Descope)),
            (AnyProvider::Descope(p), Some(AnyCursor::Descope(c))) => Ok(wrap(p.scan(Some(c), deadline).await?, AnyCursor::Descope)),
            // Cursors never leave one run, and a run talks to one provider.
            (_, Some(c)) => Err(IdpError::Rejected(format!("scan cursor {c:?} belongs to another provider"))),
        }
    }
    fn access_target(&self, session: &Session) -> Target {
        each!(self, p => p.access_target(session))
    }
    fn grants_all_types(&self) -> bool {
        each!(self, p => p.grants_all_types())
    }
}

// Test code stays below the first `#[cfg(test)]`: the layering check (lib.rs) reads only what
// comes before it.
#[cfg(test)]
impl RuleFields {
    /// A Stytch rule's fields (the convergence property test builds rules directly).
    pub fn stytch(organization_id: Option<String>, user_id: Option<String>) -> Self {
        RuleFields { stytch: StytchRuleFields { stytch_organization_id: organization_id, stytch_user_id: user_id }, ..Default::default() }
    }

    pub fn stytch_ids(&self) -> (Option<String>, Option<String>) {
        (self.stytch.stytch_organization_id.clone(), self.stytch.stytch_user_id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn same_content_ignores_only_synced_at() {
        let a = SyncedAccess {
            plan: Some("pro".into()),
            plan_title: None,
            region: None,
            allowed_content_types: vec![],
            gated_routes: vec![],
            requires_mfa: false,
            roles: vec![],
            tenant_id: None,
            source: Source { document_id: "r".into(), rev: "1".into() },
            synced_at: "2026-01-01T00:00:00Z".into(),
        };
        let b = SyncedAccess { synced_at: "2026-02-02T00:00:00Z".into(), ..a.clone() };
        assert!(a.same_content(&b));
        let c = SyncedAccess { requires_mfa: true, ..a.clone() };
        assert!(!a.same_content(&c));
    }
}
