//! The built-in authorizer (`AUTHZ=builtin`): the shipped policies compiled into gatehouse. One
//! document is decided by `model::builtin_decision`; a list page by a GROQ filter written from the
//! same rules, with the principal's values as parameters (the e2e equivalence test runs both
//! against groq-js and the PDP).

use serde_json::{Map, Value, json};

use super::CONTENT;
use super::model::{CONSUMER_ROLE, Principal};
use super::plan::GroqFilter;

/// The GROQ expression of a content attribute, exactly as the plan translator maps it.
fn a(name: &str) -> &'static str {
    CONTENT.iter().find(|(n, _, _)| *n == name).map(|(_, e, _)| *e).unwrap_or("null")
}

/// Public: the document demands nothing (rule `public_content`).
pub fn public_filter() -> String {
    format!(
        "(count({rp}) == 0 && count({rr}) == 0 && count({rg}) == 0 && !{gated} && {org} == \"\")",
        rp = a("required_plans"),
        rr = a("required_roles"),
        rg = a("regions"),
        gated = a("route_gated"),
        org = a("organization_id"),
    )
}

/// What `principal` may list, as a filter over content documents. Decisions that depend only on
/// the principal are taken here, so the query the Content Lake runs is as small as possible.
pub fn list_filter(p: &Principal) -> GroqFilter {
    let done = |g: String, params: Map<String, Value>| GroqFilter { groq: g, params };
    if p.attr.platform_staff {
        return done("true".into(), Map::new());
    }
    let pa = &p.attr;
    let reader = !pa.organization_id.is_empty() || p.roles.iter().any(|r| r == CONSUMER_ROLE);
    let mfa_ok = !pa.requires_mfa || pa.mfa;
    if !(reader && pa.has_access && mfa_ok) {
        return done(public_filter(), Map::new());
    }
    let granted = format!(
        "(_type in $bTypes \
         && (count({rp}) == 0 || $bPlan in {rp}) \
         && (count({rg}) == 0 || $bRegion in {rg}) \
         && (count({rr}) == 0 || count({rr}[@ in $bRoles]) > 0) \
         && ({route} == \"\" || {route} in $bRoutes || !{gated}) \
         && ({org} == \"\" || {org} == $bOrg))",
        rp = a("required_plans"),
        rr = a("required_roles"),
        rg = a("regions"),
        route = a("route"),
        gated = a("route_gated"),
        org = a("organization_id"),
    );
    let params = json!({
        "bTypes": pa.allowed_types, "bPlan": pa.plan, "bRegion": pa.region, "bRoles": p.roles,
        "bRoutes": pa.routes, "bOrg": pa.organization_id,
    });
    let Value::Object(params) = params else { unreachable!("json! object") };
    done(format!("({} || {granted})", public_filter()), params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::model::principal;

    #[test]
    fn principal_only_decisions_shrink_the_filter() {
        let anon = principal(None, None, &crate::authz::staff::Staff::default());
        assert_eq!(list_filter(&anon).groq, public_filter());
        assert!(list_filter(&anon).params.is_empty());
        let mut admin = anon.clone();
        admin.roles = vec![crate::authz::staff::STAFF_ROLE.into()];
        assert_eq!(list_filter(&admin).groq, public_filter(), "the role alone is not staff");
        admin.attr.platform_staff = true;
        assert_eq!(list_filter(&admin).groq, "true");
        let mut member = anon.clone();
        member.roles = vec!["stytch_member".into()];
        member.attr.organization_id = "organization-test-a".into();
        member.attr.has_access = true;
        member.attr.allowed_types = vec!["report".into()];
        let f = list_filter(&member);
        assert!(f.groq.contains("$bOrg") && f.params["bOrg"] == "organization-test-a", "{}", f.groq);
        // MFA required and missing: only public documents, exactly as the policy's list rule.
        member.attr.requires_mfa = true;
        assert_eq!(list_filter(&member).groq, public_filter());
        member.attr.mfa = true;
        assert_ne!(list_filter(&member).groq, public_filter());
        // Text never carries a caller's value.
        member.attr.plan = "\" || true || \"".into();
        assert!(!list_filter(&member).groq.contains("|| true ||"));
    }
}
