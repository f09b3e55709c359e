//! Who is gatehouse staff, reading across organizations: decided once per session from
//! configuration, never from a role alone. A customer's own admin sets member roles (Stytch's
//! Admin Portal, `organization.members.update`) and Descope tenant admins set tenant roles, so a
//! role is only trusted inside an organization the operator configured (SECURITY.md "Who can
//! set what").

use crate::config::StaffConfig;
use crate::session::{ProjectRoles, Session};

/// The role staff hold: a B2B member role in a `PLATFORM_ORGANIZATION_IDS` organization
/// (Stytch), or a project-level role (Descope).
pub const STAFF_ROLE: &str = "gatehouse_platform_admin";

#[derive(Debug, Clone, Default)]
pub struct Staff {
    organizations: Vec<String>,
    tenants: Vec<String>,
}

impl Staff {
    pub fn new(cfg: &StaffConfig) -> Self {
        Staff { organizations: cfg.organizations.clone(), tenants: cfg.tenants.clone() }
    }

    /// Stytch B2B: the session's organization is configured and the member holds the role.
    /// Consumer sessions: never. Descope: a project-level role (never a tenant role), and with
    /// `PLATFORM_TENANT_IDS` set, a current tenant in it.
    pub fn decide(&self, s: &Session) -> bool {
        let has = |roles: &[String]| roles.iter().any(|r| r == STAFF_ROLE);
        match &s.project_roles {
            ProjectRoles::Known(project) => {
                has(project) && (self.tenants.is_empty() || s.organization_id.as_ref().is_some_and(|t| self.tenants.contains(t)))
            }
            // Only a tenant's roles in view: whatever the organization lists say.
            ProjectRoles::Indistinct => false,
            ProjectRoles::NotApplicable => s.organization_id.as_ref().is_some_and(|o| self.organizations.contains(o)) && has(&s.roles),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAFF_ORG: &str = "organization-test-11111111-1111-4111-8111-111111111111";
    const CUSTOMER_ORG: &str = "organization-test-22222222-2222-4222-8222-222222222222";

    fn known(roles: &[&str]) -> ProjectRoles {
        ProjectRoles::Known(roles.iter().map(|r| r.to_string()).collect())
    }

    fn session(org: Option<&str>, roles: &[&str], project: ProjectRoles) -> Session {
        Session {
            subject: "s".into(),
            organization_id: org.map(String::from),
            organization_slug: None,
            roles: roles.iter().map(|r| r.to_string()).collect(),
            project_roles: project,
            factors: vec![],
            expires_at: 0,
            email: None,
        }
    }

    #[test]
    fn stytch_staff_needs_a_configured_organization_and_the_role() {
        let staff = Staff::new(&StaffConfig { organizations: vec![STAFF_ORG.into()], tenants: vec![] });
        assert!(staff.decide(&session(Some(STAFF_ORG), &["stytch_member", STAFF_ROLE], ProjectRoles::NotApplicable)));
        assert!(!staff.decide(&session(Some(STAFF_ORG), &["stytch_member", "stytch_admin"], ProjectRoles::NotApplicable)), "no role");
        assert!(!staff.decide(&session(Some(CUSTOMER_ORG), &["stytch_admin", STAFF_ROLE], ProjectRoles::NotApplicable)), "a customer admin's own role");
        assert!(!staff.decide(&session(None, &[STAFF_ROLE, "stytch_user"], ProjectRoles::NotApplicable)), "consumer sessions are never staff");
        let nobody = Staff::new(&StaffConfig::default());
        assert!(!nobody.decide(&session(Some(STAFF_ORG), &[STAFF_ROLE], ProjectRoles::NotApplicable)), "an empty list means no staff");
    }

    #[test]
    fn descope_staff_needs_a_project_role_never_a_tenant_role() {
        let any = Staff::new(&StaffConfig::default());
        assert!(any.decide(&session(None, &[STAFF_ROLE], known(&[STAFF_ROLE]))));
        assert!(any.decide(&session(Some("T-staff"), &[STAFF_ROLE], known(&[STAFF_ROLE]))));
        // The role only in the tenant's roles (merged into `roles`), or a token that cannot tell.
        assert!(!any.decide(&session(Some("T-acme"), &[STAFF_ROLE], known(&[]))));
        assert!(!any.decide(&session(Some("T-acme"), &[STAFF_ROLE], ProjectRoles::Indistinct)));
        // Indistinct roles are never staff, even where an organization list would match (a
        // Descope deployment given PLATFORM_ORGANIZATION_IDS by mistake).
        let listed = Staff::new(&StaffConfig { organizations: vec![STAFF_ORG.into()], tenants: vec![] });
        assert!(!listed.decide(&session(Some(STAFF_ORG), &[STAFF_ROLE], ProjectRoles::Indistinct)));
        let pinned = Staff::new(&StaffConfig { organizations: vec![], tenants: vec!["T-staff".into()] });
        assert!(pinned.decide(&session(Some("T-staff"), &[STAFF_ROLE], known(&[STAFF_ROLE]))));
        assert!(!pinned.decide(&session(Some("T-acme"), &[STAFF_ROLE], known(&[STAFF_ROLE]))), "another current tenant");
        assert!(!pinned.decide(&session(None, &[STAFF_ROLE], known(&[STAFF_ROLE]))), "no current tenant");
    }
}
