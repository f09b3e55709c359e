//! The contract a policy author writes against (policies/content.yaml, _schemas/): who the caller
//! is (principal) and what the document is (resource), exactly as sent to the PDP, and the
//! built-in decision that mirrors the shipped policies rule for rule.

use serde::{Deserialize, Serialize};

use super::staff::Staff;
use crate::providers::SyncedAccess;
use crate::session::Session;

/// The role Stytch gives every B2B member.
pub const MEMBER_ROLE: &str = "stytch_member";
/// The consumer-project role (derived role `subscriber`).
pub const CONSUMER_ROLE: &str = "stytch_user";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalAttr {
    pub organization_id: String,
    pub organization_slug: String,
    pub has_access: bool,
    pub plan: String,
    pub region: String,
    pub allowed_types: Vec<String>,
    pub routes: Vec<String>,
    pub requires_mfa: bool,
    pub mfa: bool,
    pub auth_methods: Vec<String>,
    /// gatehouse staff, decided from configuration (authz::staff): derived role `platform_admin`.
    pub platform_staff: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Principal {
    pub id: String,
    pub roles: Vec<String>,
    pub attr: PrincipalAttr,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceAttr {
    #[serde(rename = "type")]
    pub doc_type: String,
    pub required_plans: Vec<String>,
    pub required_roles: Vec<String>,
    pub regions: Vec<String>,
    pub route: String,
    pub route_gated: bool,
    pub organization_id: String,
}

/// Every attribute always present and typed: the policies (and the plan translator's
/// `coalesce()` defaults) never see a missing one.
pub fn principal(session: Option<&Session>, access: Option<&SyncedAccess>, staff: &Staff) -> Principal {
    let Some(s) = session else {
        return Principal {
            id: "anonymous".into(),
            roles: vec!["anonymous".into()],
            attr: PrincipalAttr {
                organization_id: String::new(),
                organization_slug: String::new(),
                has_access: false,
                plan: String::new(),
                region: String::new(),
                allowed_types: vec![],
                routes: vec![],
                requires_mfa: false,
                mfa: false,
                auth_methods: vec![],
                platform_staff: false,
            },
        };
    };
    let mut roles = s.roles.clone();
    if s.organization_id.is_none() {
        // A user without an organization is an individual reader whose access lives on the user:
        // Stytch gives every consumer user `stytch_user`; a Descope user outside any tenant gets
        // it here, so the same derived role (`subscriber`) covers both.
        if !roles.iter().any(|r| r == CONSUMER_ROLE) {
            roles.push(CONSUMER_ROLE.into());
        }
    } else if roles.is_empty() {
        // Cerbos refuses an empty role list; Stytch gives every B2B member `stytch_member`.
        roles.push(MEMBER_ROLE.into());
    }
    Principal {
        id: s.subject.clone(),
        roles,
        attr: PrincipalAttr {
            organization_id: s.organization_id.clone().unwrap_or_default(),
            organization_slug: s.organization_slug.clone().unwrap_or_default(),
            has_access: access.is_some(),
            plan: access.and_then(|a| a.plan.clone()).unwrap_or_default(),
            region: access.and_then(|a| a.region.clone()).unwrap_or_default(),
            allowed_types: access.map(|a| a.allowed_content_types.clone()).unwrap_or_default(),
            routes: access.map(|a| a.gated_routes.iter().map(|r| r.as_str().to_string()).collect()).unwrap_or_default(),
            requires_mfa: access.is_some_and(|a| a.requires_mfa),
            mfa: s.mfa(),
            auth_methods: s.factors.clone(),
            platform_staff: staff.decide(s),
        },
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decision {
    /// read and list
    pub read: bool,
    /// may learn the document exists (403 mfa_required instead of 404)
    pub discover: bool,
}

fn public(r: &ResourceAttr) -> bool {
    r.required_plans.is_empty() && r.required_roles.is_empty() && r.regions.is_empty() && !r.route_gated && r.organization_id.is_empty()
}

/// The derived roles `org_member` or `subscriber`: only they can be granted.
fn reader(p: &Principal) -> bool {
    !p.attr.organization_id.is_empty() || p.roles.iter().any(|r| r == CONSUMER_ROLE)
}

fn granted(p: &Principal, r: &ResourceAttr) -> bool {
    let a = &p.attr;
    a.has_access
        && a.allowed_types.contains(&r.doc_type)
        && (r.required_plans.is_empty() || r.required_plans.contains(&a.plan))
        && (r.regions.is_empty() || r.regions.contains(&a.region))
        && (r.required_roles.is_empty() || r.required_roles.iter().any(|x| p.roles.contains(x)))
        && (r.route.is_empty() || a.routes.contains(&r.route) || !r.route_gated)
        && (r.organization_id.is_empty() || r.organization_id == a.organization_id)
}

/// The shipped policies, rule for rule (policies/content.yaml).
pub fn builtin_decision(p: &Principal, r: &ResourceAttr) -> Decision {
    if p.attr.platform_staff || public(r) {
        return Decision { read: true, discover: true };
    }
    let g = reader(p) && granted(p, r);
    Decision { read: g && (!p.attr.requires_mfa || p.attr.mfa), discover: g }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The built-in decision equals what the real PDP answered for every recorded check
    /// (tests/fixtures/cerbos/check, Cerbos 0.55.0 with policies/); a request whose attributes
    /// do not match the schema is denied by both.
    #[test]
    fn builtin_agrees_with_recorded_pdp_decisions() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/cerbos/check");
        let mut compared = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rec: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            if rec["status"] != 200 {
                continue;
            }
            let principal: Option<Principal> = serde_json::from_value(rec["request"]["principal"].clone()).ok();
            for (i, item) in rec["request"]["resources"].as_array().unwrap().iter().enumerate() {
                let attr: Option<ResourceAttr> = serde_json::from_value(item["resource"]["attr"].clone()).ok();
                let d = match (&principal, &attr) {
                    (Some(p), Some(r)) => builtin_decision(p, r),
                    _ => Decision::default(),
                };
                let effects = &rec["response"]["results"][i]["actions"];
                for (action, ours) in [("read", d.read), ("list", d.read), ("discover", d.discover)] {
                    if let Some(e) = effects.get(action) {
                        assert_eq!(ours, e == "EFFECT_ALLOW", "{}: resource {i} {action}", path.display());
                        compared += 1;
                    }
                }
            }
        }
        assert!(compared >= 20, "only {compared} decisions compared");
    }

    #[test]
    fn anonymous_and_consumer_principals_are_complete() {
        let p = principal(None, None, &Staff::default());
        assert_eq!(p.roles, vec!["anonymous"]);
        let r = ResourceAttr {
            doc_type: "report".into(),
            required_plans: vec!["pro".into()],
            required_roles: vec![],
            regions: vec![],
            route: String::new(),
            route_gated: false,
            organization_id: String::new(),
        };
        assert_eq!(builtin_decision(&p, &r), Decision::default());
        let s = Session {
            subject: "user-test-1".into(),
            organization_id: None,
            organization_slug: None,
            roles: vec![],
            project_roles: crate::session::ProjectRoles::NotApplicable,
            factors: vec!["email".into()],
            expires_at: 0,
            email: None,
        };
        assert_eq!(principal(Some(&s), None, &Staff::default()).roles, vec![CONSUMER_ROLE]);
    }
}
