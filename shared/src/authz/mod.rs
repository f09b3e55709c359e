//! Authorization with Cerbos policies (issue #11, in progress): the policies in `policies/` decide
//! gated reads; a PlanResources answer becomes a GROQ filter so list pages only fetch what may be
//! read. So far: the principal/resource contract with the built-in decision (model), the
//! plan → GROQ translator and the content allow-list it uses.

pub mod model;
pub mod plan;

use plan::{AttrType, Mapper};

/// The `content` resource's attributes (policies/_schemas/content.json) as GROQ expressions over
/// a Sanity document, defaulted exactly as gatehouse sends them to `check()`: a document that
/// lacks a field must be judged as if the attribute were empty, never dropped by a null
/// comparison. `route_gated` is computed from the published rules (`^.g`, see gate/query.rs).
pub const CONTENT: Mapper = &[
    ("type", "_type", AttrType::String),
    ("required_plans", "coalesce(requiredPlans, [])", AttrType::List),
    ("required_roles", "coalesce(requiredRoles, [])", AttrType::List),
    ("regions", "coalesce(regions, [])", AttrType::List),
    ("route", "coalesce(route, \"\")", AttrType::String),
    ("route_gated", "(defined(route) && route in ^.g)", AttrType::Bool),
    ("organization_id", "coalesce(organization._ref, \"\")", AttrType::String),
];

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
            // Values only ever travel as parameters.
            assert!(!out.groq.contains('"') || out.groq.contains("coalesce(route, \"\")") || out.groq.contains("coalesce(organization._ref, \"\")"), "{name}: {}", out.groq);
            n += 1;
        }
        assert!(n >= 50, "only {n} recorded plans");
    }
}
