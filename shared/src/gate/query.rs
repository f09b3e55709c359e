//! The GROQ the gate runs. Every caller-controlled value travels as a parameter; the text is
//! constant apart from the authorizer's list filter, whose values are parameters too.
//!
//! Both reads are wrapped as `{"g": <routes>}{"r": <read using ^.g>}.r`: the routes gated by any
//! published rule are computed once per query (not once per document) and feed the
//! `route_gated` attribute.
//!
//! - One document (by slug or route): fetched with its `content` attributes, computed by the
//!   same expressions the list filter uses; the authorizer decides in gatehouse, and nothing is
//!   returned unless it allows `read`.
//! - A list page: the authorizer's filter sits inside the query, so a document the principal may
//!   not list is never fetched.

use std::sync::LazyLock;

use crate::authz::{PLANS_EXPR, ROLES_EXPR, attr_projection};

const GATED_ROUTES: &str = r#"*[_type == "accessRule" && defined(gatedRoutes)].gatedRoutes[].path"#;

pub fn with_gated_routes(read: &str) -> String {
    format!("{{\"g\": {GATED_ROUTES}}}{{\"r\": {read}}}.r")
}

/// What a read returns; `requiredPlans` as plan slugs and `requiredRoles` as role keys, by the
/// expressions the policies judge.
static FIELDS: LazyLock<String> = LazyLock::new(|| {
    format!(
        r#"_id, _type, title, "slug": coalesce(slug.current, slug), route, body, "requiredPlans": {PLANS_EXPR}, "requiredRoles": {ROLES_EXPR}, regions, organizationId, _updatedAt"#
    )
});

static ONE_BY_SLUG: LazyLock<String> = LazyLock::new(|| build_one(false));
static ONE_BY_ROUTE: LazyLock<String> = LazyLock::new(|| build_one(true));

/// The newest document of a served type at `$key` (a slug, or a route): `{"id", "attr", "doc"}`
/// or null.
pub fn one(by_route: bool) -> &'static str {
    if by_route { &ONE_BY_ROUTE } else { &ONE_BY_SLUG }
}

fn build_one(by_route: bool) -> String {
    // A slug is a slug object or, modelled as `string` or imported, a plain string (cms::slug).
    let key = if by_route { "route == $key" } else { "(slug.current == $key || slug == $key)" };
    with_gated_routes(&format!(
        "*[_type in $contentTypes && {key}] | order(_updatedAt desc)[0]{{\"id\": _id, \"attr\": {}, \"doc\": {{{}}}}}",
        attr_projection(),
        *FIELDS
    ))
}

/// A page of `$type` after `$after`, ordered by `_id`, restricted by the authorizer's filter.
pub fn list(filter: &str) -> String {
    with_gated_routes(&format!("*[_type == $type && _id > $after && ({filter})] | order(_id asc)[0...$limit]{{{}}}", *FIELDS))
}
