//! Who may read what. The policies in `policies/` (Cerbos) are the reference; the built-in
//! authorizer is the same rules compiled in. Either one answers two questions for gated-content:
//! may this principal read this document (and if not, may it learn the document exists), and
//! which documents may it list, as a GROQ filter so a list page only fetches what may be read.
//!
//! `model` is the principal/resource contract, `plan` the PlanResources → GROQ translator,
//! `builtin` and `cerbos` the two authorizers.

pub mod builtin;
pub mod cerbos;
pub mod model;
pub mod plan;
pub mod staff;

use std::future::Future;

use serde_json::{Map, Value};

use crate::config::{AuthzConfig, Config};
use crate::http::Deadline;
use model::{Decision, Principal, ResourceAttr};
use plan::{AttrType, GroqFilter, Mapper};

/// The Cerbos resource kind of gated documents (policies/content.yaml).
pub const RESOURCE_KIND: &str = "content";

#[derive(Debug, thiserror::Error)]
pub enum AuthzError {
    #[error("policy decision point unreachable: {0}")]
    Unreachable(String),
    #[error("policy decision point did not answer in time")]
    Timeout,
    #[error("policy decision point answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("policy decision point answered something else than the decision asked for: {0}")]
    Garbage(String),
    #[error(transparent)]
    Plan(#[from] plan::Unsupported),
}

impl AuthzError {
    fn from_reqwest(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            AuthzError::Timeout
        } else if e.is_decode() || e.is_body() {
            AuthzError::Garbage(e.without_url().to_string())
        } else {
            AuthzError::Unreachable(e.without_url().to_string())
        }
    }
}

/// What the request log line records about a decision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Audit {
    /// Our id for the PDP call (the PDP echoes it and logs it).
    pub request_id: Option<String>,
    /// The PDP's id for the call (`cerbosCallId`, in its audit log).
    pub call_id: Option<String>,
    /// The policy that decided `read` (`matchedPolicy`).
    pub policy: Option<String>,
    /// The kind of a list plan (always allowed, always denied, conditional).
    pub filter: Option<String>,
}

impl Audit {
    /// `took`: the decision's time as the function saw it (the PDP round trip with Cerbos).
    pub fn log_into(&self, authorizer: &str, took: std::time::Duration, log: &mut Map<String, Value>) {
        log.insert("authz".into(), authorizer.into());
        log.insert("authz_ms".into(), ((took.as_secs_f64() * 1e5).round() / 100.0).into());
        for (k, v) in [("authz_request_id", &self.request_id), ("authz_call_id", &self.call_id), ("authz_policy", &self.policy), ("authz_filter", &self.filter)] {
            if let Some(v) = v {
                log.insert(k.into(), v.clone().into());
            }
        }
    }
}

pub trait Authorizer: Send + Sync {
    fn name(&self) -> &'static str;
    /// May `p` read document `id` (and, if not, learn that it exists)?
    fn check(&self, request_id: &str, p: &Principal, id: &str, r: &ResourceAttr, deadline: Deadline) -> impl Future<Output = Result<(Decision, Audit), AuthzError>> + Send;
    /// The documents `p` may list, as a GROQ filter over content documents (evaluated where
    /// `^.g` holds the gated routes, see gate/query.rs).
    fn list_filter(&self, request_id: &str, p: &Principal, deadline: Deadline) -> impl Future<Output = Result<(GroqFilter, Audit), AuthzError>> + Send;
}

/// The authorizer chosen by `AUTHZ`.
pub enum AnyAuthorizer {
    Builtin,
    Cerbos(cerbos::Cerbos),
}

impl AnyAuthorizer {
    pub fn from_config(cfg: &Config, http: &reqwest::Client) -> Result<Self, String> {
        match &cfg.authz {
            AuthzConfig::Builtin => Ok(AnyAuthorizer::Builtin),
            AuthzConfig::Cerbos { endpoint, timeout } => Ok(AnyAuthorizer::Cerbos(cerbos::Cerbos::new(endpoint, *timeout, http)?)),
        }
    }
}

impl Authorizer for AnyAuthorizer {
    fn name(&self) -> &'static str {
        match self {
            AnyAuthorizer::Builtin => "builtin",
            AnyAuthorizer::Cerbos(_) => "cerbos",
        }
    }

    async fn check(&self, request_id: &str, p: &Principal, id: &str, r: &ResourceAttr, deadline: Deadline) -> Result<(Decision, Audit), AuthzError> {
        match self {
            AnyAuthorizer::Builtin => Ok((model::builtin_decision(p, r), Audit::default())),
            AnyAuthorizer::Cerbos(c) => c.check(request_id, p, id, r, deadline).await,
        }
    }

    async fn list_filter(&self, request_id: &str, p: &Principal, deadline: Deadline) -> Result<(GroqFilter, Audit), AuthzError> {
        match self {
            AnyAuthorizer::Builtin => Ok((builtin::list_filter(p), Audit::default())),
            AnyAuthorizer::Cerbos(c) => c.plan(request_id, p, deadline).await,
        }
    }
}

/// The `content` resource's attributes (policies/_schemas/content.json) as GROQ expressions over
/// a Sanity document, defaulted exactly as gatehouse sends them to `check()`: a document that
/// lacks a field must be judged as if the attribute were empty, never dropped by a null
/// comparison. `route_gated` is computed from the published rules (`^.g`, see gate/query.rs).
/// Role keys a document requires: `gatedPage` (the Descope content model) references accessRole
/// documents, the other types list role names.
pub const ROLES_EXPR: &str = r#"coalesce(select(_type == "gatedPage" => requiredRoles[]->descopeRoleKey, requiredRoles), [])"#;

/// Plan slugs a document requires. The Studio stores references to published plans (`plan`;
/// `accessPlan` for `gatedPage`); documents written before that hold the slugs as strings, and
/// both are read. A reference whose plan is not published, or has no slug, becomes a plan nobody
/// holds: the requirement stays (fail closed) rather than vanishing.
pub const PLANS_EXPR: &str = concat!(
    r#"(coalesce(select(_type == "gatedPage" => "#,
    r#"requiredPlans[defined(_ref)]{"s": coalesce(@->planSlug.current, @->planSlug, "(unpublished plan)")}.s, "#,
    r#"requiredPlans[defined(_ref)]{"s": coalesce(@->slug.current, @->slug, "(unpublished plan)")}.s), []) "#,
    r#"+ coalesce(requiredPlans[!defined(_ref)], []))"#
);

pub const CONTENT: Mapper = &[
    ("type", "_type", AttrType::String),
    ("required_plans", PLANS_EXPR, AttrType::List),
    ("required_roles", ROLES_EXPR, AttrType::List),
    ("regions", "coalesce(regions, [])", AttrType::List),
    ("route", "coalesce(route, \"\")", AttrType::String),
    ("route_gated", "(defined(route) && route in ^.g)", AttrType::Bool),
    ("organization_id", "coalesce(organizationId, \"\")", AttrType::String),
];

/// A GROQ projection of a document's `content` attributes, computed by the same expressions
/// the plan translator uses: `check()` and list filters judge identical values.
pub fn attr_projection() -> String {
    let fields: Vec<String> = CONTENT.iter().map(|(name, expr, _)| format!("\"{name}\": {expr}")).collect();
    format!("{{{}}}", fields.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every plan the PDP produced for our policies (tests/fixtures/cerbos/plan, recorded from
    /// Cerbos 0.55.0) translates; the operators it uses are exactly those the translator knows.
    #[test]
    fn recorded_plans_of_our_policies_translate() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/cerbos/plan");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let rec: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let Some(filter) = rec["response"].get("filter") else { continue };
            let out = plan::translate(filter, CONTENT).unwrap_or_else(|e| panic!("{name}: {e}"));
            // Values only ever travel as parameters: no quote outside the mapped expressions.
            let mut exprs: Vec<&str> = CONTENT.iter().map(|(_, e, _)| *e).collect();
            exprs.sort_by_key(|e| std::cmp::Reverse(e.len())); // `_type` sits inside the roles expression
            let rest = exprs.iter().fold(out.groq.clone(), |g, expr| g.replace(expr, "F"));
            assert!(!rest.contains('"'), "{name}: {}", out.groq);
            n += 1;
        }
        assert!(n >= 50, "only {n} recorded plans");
    }
}
