//! Descope deployments sync `memberProfile`s (a user's attributes, roles and tenant) and
//! `organizationProfile`s (a tenant's); `accessRole`s and `accessPlan`s are what they reference.

use std::sync::LazyLock;

use crate::providers::{ContentModel, FANOUT_MAX, RULE_PAGE_SIZE};

pub const MEMBER_PROFILE: &str = "memberProfile";
pub const ORGANIZATION_PROFILE: &str = "organizationProfile";
pub const ROLE_TYPE: &str = "accessRole";
pub const PLAN_TYPE: &str = "accessPlan";

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
