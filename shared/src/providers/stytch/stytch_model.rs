//! Stytch deployments sync `accessRule` documents: one rule names one organization or user.

use std::sync::LazyLock;

use serde::Deserialize;

use crate::cms::Before;
use crate::identity::Target;
use crate::providers::{ContentModel, RULE_PAGE_SIZE, RuleError, non_empty, targets};

pub const RULE_TYPE: &str = "accessRule";

/// The fields of an `accessRule` that name where its grant goes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StytchRuleFields {
    #[serde(default)]
    pub stytch_organization_id: Option<String>,
    #[serde(default)]
    pub stytch_user_id: Option<String>,
}

impl StytchRuleFields {
    /// One organization or one user, or none (the rule grants nothing yet).
    pub fn target(&self) -> Result<Option<Target>, RuleError> {
        let t = targets(non_empty(&self.stytch_organization_id), non_empty(&self.stytch_user_id));
        match t.len() {
            0 => Ok(None),
            1 => Ok(t.into_iter().next()),
            _ => Err(RuleError("set either stytchOrganizationId or stytchUserId, not both".into())),
        }
    }
}

/// The targets a delete delivery's `before()` names.
pub fn before_targets(before: &Before) -> Vec<Target> {
    targets(before.str("stytchOrganizationId"), before.str("stytchUserId"))
}

/// A rule projected to exactly what the provider needs: one projection for publish-sync's single
/// read and the reconciler's pages, so the two can never disagree about a rule.
macro_rules! rule_projection {
    () => {
        r#"{
  _id, _rev, stytchOrganizationId, stytchUserId,
  "plan": plan->slug, "planTitle": plan->title, region,
  allowedContentTypes, "gatedRoutes": gatedRoutes[].path, requiresMfa
}"#
    };
}

/// The published rule with id `$id`.
pub const RULE_QUERY: &str = concat!(r#"*[_type == "accessRule" && _id == $id][0]"#, rule_projection!());

/// The next page of published rules after `$last` in `_id` order: keyset paging, so documents
/// created or deleted while paging never shift a page (offset paging would skip or repeat them).
pub static RULE_PAGE_QUERY: LazyLock<String> = LazyLock::new(|| {
    format!(r#"*[_type == "{RULE_TYPE}" && _id > $last] | order(_id asc) [0...{RULE_PAGE_SIZE}]{}"#, rule_projection!())
});

pub static MODEL: ContentModel = ContentModel {
    types: &[RULE_TYPE],
    referenced_types: &[],
    no_before: "delivery has no before() ids; set the webhook projection to include \
                \"before\": before(){stytchOrganizationId, stytchUserId}",
    one_query: RULE_QUERY,
    page_query: &RULE_PAGE_QUERY,
    referencing_query: None,
};
