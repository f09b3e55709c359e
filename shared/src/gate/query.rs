//! Enforcement inside the GROQ filter: a document the session may not read is never fetched.
//! Every caller-controlled value travels as a parameter; the query text is constant.
//!
//! A document is *public* when it has no requirement and sits on no route any published rule
//! gates. It is *granted* when the session's synced access covers its type, plan, region, roles
//! and route. Visible = public || granted. MFA: when the access requires MFA and the session has
//! one factor, the document is still matched (so the caller can get 403 instead of 404) but its
//! content is not projected.

use std::sync::LazyLock;

use serde_json::{Value, json};

use super::session::Session;
use crate::idp::SyncedAccess;

/// Routes gated by any published rule, computed once per query (not once per document): the
/// query is wrapped as `{"g": <routes>}{"r": <read using ^.g>}.r`.
const GATED_ROUTES: &str = r#"*[_type == "accessRule" && defined(gatedRoutes)].gatedRoutes[].path"#;

fn with_gated_routes(read: String) -> String {
    format!("{{\"g\": {GATED_ROUTES}}}{{\"r\": {read}}}.r")
}

fn public() -> String {
    "(count(coalesce(requiredPlans, [])) == 0 && count(coalesce(requiredRoles, [])) == 0 \
         && count(coalesce(regions, [])) == 0 && (!defined(route) || !(route in ^.g)))"
    .to_string()
}

fn granted() -> String {
    "($hasAccess && _type in $allowedTypes \
         && (count(coalesce(requiredPlans, [])) == 0 || $plan in requiredPlans) \
         && (count(coalesce(regions, [])) == 0 || $region in regions) \
         && (count(coalesce(requiredRoles, [])) == 0 || count(requiredRoles[@ in $roles]) > 0) \
         && (!defined(route) || route in $routes || !(route in ^.g)))"
        .to_string()
}

const FIELDS: &str = r#"_id, _type, title, "slug": slug.current, route, body, requiredPlans, requiredRoles, regions, _updatedAt"#;

static ONE_BY_SLUG: LazyLock<String> = LazyLock::new(|| build_one(false));
static ONE_BY_ROUTE: LazyLock<String> = LazyLock::new(|| build_one(true));
static LIST: LazyLock<String> = LazyLock::new(build_list);

/// One document, by slug or by route (`$key`). `_public` tells the handler whether it matched
/// without the session's grant; without MFA a granted document comes back without its fields.
pub fn one(by_route: bool) -> &'static str {
    if by_route { &ONE_BY_ROUTE } else { &ONE_BY_SLUG }
}

/// A page of one type, ordered by `_id`, after the cursor. Gated documents need MFA when required.
pub fn list() -> &'static str {
    &LIST
}

fn build_one(by_route: bool) -> String {
    let key = if by_route { "route == $key" } else { "slug.current == $key" };
    let (p, g) = (public(), granted());
    with_gated_routes(format!(
        "*[_type in $contentTypes && {key} && ({p} || {g})] | order(_updatedAt desc)[0]{{\"_public\": {p}, ($mfaOk || {p}) => {{{FIELDS}}}}}"
    ))
}

fn build_list() -> String {
    let (p, g) = (public(), granted());
    with_gated_routes(format!("*[_type == $type && _id > $after && ({p} || ($mfaOk && {g}))] | order(_id asc)[0...$limit]{{{FIELDS}}}"))
}

/// Parameters every query shares, from the session (None = anonymous) and its synced access.
pub fn params(session: Option<&Session>, access: Option<&SyncedAccess>, content_types: &[String]) -> serde_json::Map<String, Value> {
    let mfa_ok = match (session, access) {
        (Some(s), Some(a)) => !a.requires_mfa || s.mfa(),
        _ => true,
    };
    let mut m = serde_json::Map::new();
    m.insert("contentTypes".into(), json!(content_types));
    m.insert("hasAccess".into(), json!(access.is_some()));
    m.insert("allowedTypes".into(), json!(access.map(|a| a.allowed_content_types.clone()).unwrap_or_default()));
    m.insert("plan".into(), json!(access.and_then(|a| a.plan.clone())));
    m.insert("region".into(), json!(access.and_then(|a| a.region.clone())));
    m.insert("routes".into(), json!(access.map(|a| a.gated_routes.clone()).unwrap_or_default()));
    m.insert("roles".into(), json!(session.map(|s| s.roles.clone()).unwrap_or_default()));
    m.insert("mfaOk".into(), json!(mfa_ok));
    m
}
