//! Identity providers behind one trait. The sync core only ever reads, writes or clears one
//! namespaced value on one target; everything provider-specific lives in the implementations.

use std::future::Future;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::http::{Deadline, UpstreamError};

pub mod descope;
pub mod stytch;

/// The one key gatehouse owns inside a target's metadata.
pub const NAMESPACE: &str = "sanity_access";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    /// Stytch B2B organization (Descope: tenant).
    Organization,
    /// Stytch consumer user (Descope: user).
    User,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub kind: TargetKind,
    pub id: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub document_id: String,
    pub rev: String,
}

/// What a published rule grants, as written into the provider (DESIGN "Pinned details").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncedAccess {
    pub plan: Option<String>,
    pub plan_title: Option<String>,
    pub region: Option<String>,
    #[serde(default)]
    pub allowed_content_types: Vec<String>,
    #[serde(default)]
    pub gated_routes: Vec<String>,
    #[serde(default)]
    pub requires_mfa: bool,
    /// Descope: the role keys the profile grants (project-level, or in `tenant_id`). Never
    /// written to Stytch (empty there, and skipped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Descope: the tenant a member profile puts the user in (their roles live there).
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

/// A target's metadata as read: gatehouse's namespace and everything else (kept for limit checks).
#[derive(Debug, Clone, Default)]
pub struct Current {
    pub namespace: Option<Value>,
    pub others: Map<String, Value>,
}

impl Current {
    pub fn from_metadata(mut metadata: Map<String, Value>) -> Self {
        let namespace = metadata.remove(NAMESPACE).filter(|v| !v.is_null());
        Current { namespace, others: metadata }
    }

    /// The rule that owns the namespace; `None` when empty or written by hand without a source.
    pub fn owner(&self) -> Option<&str> {
        self.namespace.as_ref()?.get("source")?.get("documentId")?.as_str().filter(|s| !s.is_empty())
    }

    pub fn access(&self) -> Option<SyncedAccess> {
        serde_json::from_value(self.namespace.clone()?).ok()
    }
}

/// One page of a provider scan: the targets on it, each with its metadata.
#[derive(Debug, Default)]
pub struct ScanPage {
    pub targets: Vec<(Target, Current)>,
    pub next_cursor: Option<String>,
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
    fn scan(&self, cursor: Option<&str>, deadline: Deadline) -> impl Future<Output = Result<ScanPage, IdpError>> + Send;
    /// Where a verified session's synced access is read (the gate).
    fn access_target(&self, session: &crate::gate::session::Session) -> Target {
        session.target()
    }
    /// The synced access names no content types: every served type is allowed (Descope
    /// profiles grant by plan, region and roles only).
    fn grants_all_types(&self) -> bool {
        false
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

impl IdentityProvider for AnyProvider {
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
    async fn scan(&self, cursor: Option<&str>, deadline: Deadline) -> Result<ScanPage, IdpError> {
        each!(self, p => p.scan(cursor, deadline).await)
    }
    fn access_target(&self, session: &crate::gate::session::Session) -> Target {
        each!(self, p => p.access_target(session))
    }
    fn grants_all_types(&self) -> bool {
        each!(self, p => p.grants_all_types())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn owner_comes_only_from_source_document_id() {
        let c = Current::from_metadata(
            json!({"sanity_access": {"source": {"documentId": "rule-1", "rev": "r"}}, "billing": 1}).as_object().unwrap().clone(),
        );
        assert_eq!(c.owner(), Some("rule-1"));
        assert_eq!(c.others.len(), 1);
        let c = Current::from_metadata(json!({"sanity_access": {"plan": "x"}}).as_object().unwrap().clone());
        assert_eq!(c.owner(), None);
        assert!(c.namespace.is_some());
        let c = Current::from_metadata(json!({"sanity_access": null}).as_object().unwrap().clone());
        assert!(c.namespace.is_none());
    }

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
