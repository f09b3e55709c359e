//! Descope deployments sync `memberProfile`s (a user's attributes, roles and tenant) and
//! `organizationProfile`s (a tenant's); `accessRole`s and `accessPlan`s are what they reference.

use std::sync::LazyLock;

use serde::Deserialize;

use crate::cms::Before;
use crate::cms::slug::SlugField;
use crate::identity::{Target, TargetKind};
use crate::providers::{ContentModel, FANOUT_MAX, RULE_PAGE_SIZE, RuleError, non_empty, targets};

pub const MEMBER_PROFILE: &str = "memberProfile";
pub const ORGANIZATION_PROFILE: &str = "organizationProfile";
pub const ROLE_TYPE: &str = "accessRole";
pub const PLAN_TYPE: &str = "accessPlan";

/// The fields of a profile that name its user or tenant, and a member's roles and tenant.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescopeProfileFields {
    /// Member profile: whose user it is (login id or user id).
    #[serde(default)]
    pub descope_login_id: Option<String>,
    /// The tenant an organization profile describes, or a member's tenant.
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub tenant_ref: Option<String>,
    /// Role keys (null: a reference that does not resolve).
    #[serde(default)]
    pub roles: Option<Vec<SlugField>>,
    #[serde(default)]
    pub role_refs: Option<u64>,
}

impl DescopeProfileFields {
    /// A member profile's user, an organization profile's tenant.
    pub fn target(&self, doc_type: &str) -> Option<Target> {
        let (kind, id) = if doc_type == MEMBER_PROFILE { (TargetKind::User, &self.descope_login_id) } else { (TargetKind::Organization, &self.tenant_id) };
        non_empty(id).map(|id| Target { kind, id: id.into() })
    }

    /// A member profile's role keys (sorted, unique) and tenant; nothing for a tenant's profile.
    /// `refuse` names the document in a malformed field's error.
    pub fn membership(&self, doc_type: &str, refuse: impl Fn(String) -> RuleError) -> Result<(Vec<String>, Option<String>), RuleError> {
        if doc_type != MEMBER_PROFILE {
            return Ok((Vec::new(), None));
        }
        let mut roles = Vec::new();
        for r in self.roles.iter().flatten() {
            match r.get("descopeRoleKey of a referenced accessRole").map_err(&refuse)? {
                Some(k) => roles.push(k.trim().to_string()),
                None => return Err(RuleError("a role reference does not resolve to a published accessRole with a descopeRoleKey".into())),
            }
        }
        if self.role_refs.is_some_and(|n| n as usize != roles.len()) {
            return Err(RuleError("a role reference does not resolve to a published accessRole".into()));
        }
        roles.sort();
        roles.dedup();
        let tenant_id = non_empty(&self.tenant_id).map(String::from);
        if tenant_id.is_none() && non_empty(&self.tenant_ref).is_some() {
            return Err(RuleError("the tenant reference does not resolve to a published organizationProfile with a tenantId".into()));
        }
        Ok((roles, tenant_id))
    }
}

/// The targets a delete delivery's `before()` names: a member profile's user, an organization
/// profile's tenant.
pub fn before_targets(before: &Before) -> Vec<Target> {
    targets(before.str("tenantId"), before.str("descopeLoginId"))
}

/// A Descope profile projected to the same shape: a member's plan and region fall back to its
/// tenant's; roles are the referenced `accessRole`s' Descope keys. `tenantRef` and `roleRefs`
/// let a dangling reference be refused instead of silently syncing less.
macro_rules! profile_projection {
    () => {
        r#"{
  _id, _rev, _type, descopeLoginId,
  "tenantId": select(_type == "organizationProfile" => tenantId, tenant->tenantId),
  "tenantRef": tenant._ref,
  "plan": coalesce(plan->planSlug, tenant->plan->planSlug),
  "planTitle": coalesce(plan->title, tenant->plan->title),
  "region": coalesce(region, tenant->region),
  "roles": roles[]->descopeRoleKey, "roleRefs": count(roles),
  "requiresMfa": coalesce(requiresMfa, tenant->requiresMfa)
}"#
    };
}

/// The published profile with id `$id`.
pub const PROFILE_QUERY: &str =
    concat!(r#"*[_type in ["memberProfile", "organizationProfile"] && _id == $id][0]"#, profile_projection!());

/// Profiles after `$last`, keyset-paged like the rules.
pub static PROFILE_PAGE_QUERY: LazyLock<String> = LazyLock::new(|| {
    format!(
        r#"*[_type in ["{MEMBER_PROFILE}", "{ORGANIZATION_PROFILE}"] && _id > $last] | order(_id asc) [0...{RULE_PAGE_SIZE}]{}"#,
        profile_projection!()
    )
});

/// The member profiles that reference `$id` (a tenant's profile, a role, a plan): one more than
/// `FANOUT_MAX`, so the sync knows when some were left.
pub static REFERENCING_QUERY: LazyLock<String> = LazyLock::new(|| {
    format!(r#"*[_type == "{MEMBER_PROFILE}" && references($id)] | order(_id asc) [0...{}]._id"#, FANOUT_MAX + 1)
});

pub static MODEL: ContentModel = ContentModel {
    types: &[MEMBER_PROFILE, ORGANIZATION_PROFILE],
    referenced_types: &[ROLE_TYPE, PLAN_TYPE, ORGANIZATION_PROFILE],
    no_before: "delivery has no before() ids; set the webhook projection to include \
                \"before\": before(){descopeLoginId, tenantId}",
    one_query: PROFILE_QUERY,
    page_query: &PROFILE_PAGE_QUERY,
    referencing_query: Some(&REFERENCING_QUERY),
};
