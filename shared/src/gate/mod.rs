//! gated-content: verify the session, load its synced access, and let the authorizer decide
//! (one document: a check in gatehouse; a list: a filter inside the GROQ query).

pub mod access;
pub mod query;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::cms::SanityClient;
use crate::cms::webhook::valid_document_id;
use crate::config::Config;
use crate::error::Error;
use crate::http::Deadline;
use crate::authz::model::{self, Decision, Principal, ResourceAttr};
use crate::authz::staff::Staff;
use crate::authz::{AnyAuthorizer, Authorizer};
use crate::gated_route::GatedRoute;
use crate::providers::{AnyVerifier, IdentityProvider};
use crate::session::{self, Session};
use access::AccessCache;
use lambda_http::http::Method;
pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// The parts of an HTTP request the gate looks at (kept free of Lambda types for tests).
#[derive(Debug, Default, Clone)]
pub struct GateRequest {
    pub method: Method,
    pub path: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    pub authorization: Option<String>,
    pub cookie: Option<String>,
    pub origin: Option<String>,
}

impl GateRequest {
    fn param(&self, name: &str) -> Result<Option<&str>, Error> {
        let mut it = self.query.iter().filter(|(k, _)| k == name);
        let first = it.next().map(|(_, v)| v.as_str());
        // cargo-lambda joins repeated parameters with commas; AWS passes them the same way.
        if it.next().is_some() {
            return Err(Error::BadRequest(format!("parameter {name} given more than once")));
        }
        Ok(first)
    }
}

/// What to read, from the method and path.
#[derive(Debug, PartialEq)]
pub enum Route {
    Preflight,
    Slug(String),
    GatedRoute(GatedRoute),
    List { doc_type: String, limit: u32, after: String },
}

pub fn route(req: &GateRequest, content_types: &[String]) -> Result<Route, Error> {
    let path = req.path.trim_end_matches('/');
    let is_content = path == "/content" || path.starts_with("/content/");
    if !is_content {
        return Err(Error::NotFound);
    }
    match req.method {
        Method::OPTIONS => return Ok(Route::Preflight),
        Method::GET | Method::HEAD => {}
        _ => return Err(Error::MethodNotAllowed),
    }
    if let Some(slug) = path.strip_prefix("/content/") {
        if slug.is_empty() || slug.len() > 200 || slug.contains('/') {
            return Err(Error::NotFound);
        }
        return Ok(Route::Slug(slug.to_string()));
    }
    if let Some(r) = req.param("route")? {
        let r = GatedRoute::parse(r).ok_or_else(|| Error::BadRequest("route must be an absolute path like /reports/q3".into()))?;
        return Ok(Route::GatedRoute(r));
    }
    let Some(t) = req.param("type")? else {
        return Err(Error::BadRequest("give /content/{slug}, ?route=/path or ?type=<content type>".into()));
    };
    if !content_types.iter().any(|c| c == t) {
        return Err(Error::BadRequest(format!("type must be one of {}", content_types.join(", "))));
    }
    let limit = match req.param("limit")? {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| Error::BadRequest(format!("limit must be 1..{MAX_LIMIT}")))?,
    };
    let after = match req.param("cursor")? {
        None | Some("") => String::new(),
        Some(c) => decode_cursor(c).ok_or_else(|| Error::BadRequest("invalid cursor".into()))?,
    };
    Ok(Route::List { doc_type: t.to_string(), limit, after })
}

pub fn encode_cursor(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

fn decode_cursor(c: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(c).ok()?;
    let id = String::from_utf8(bytes).ok()?;
    valid_document_id(&id).then_some(id)
}

pub struct Gate {
    pub verifier: AnyVerifier,
    pub access: AccessCache,
    pub content_types: Vec<String>,
    pub authz: AnyAuthorizer,
    pub staff: Staff,
}

/// A document as the single read fetches it: its id, its `content` attributes and its fields.
#[derive(serde::Deserialize)]
struct Fetched {
    id: String,
    attr: Value,
    doc: Value,
}

impl Gate {
    pub fn new(verifier: AnyVerifier, cfg: &Config, authz: AnyAuthorizer) -> Self {
        Gate {
            verifier,
            access: AccessCache::new(cfg.access_cache_ttl),
            content_types: cfg.content_types.clone(),
            authz,
            staff: Staff::new(&cfg.staff),
        }
    }

    /// The session behind the request's credentials; `None` for anonymous callers.
    pub async fn session(&self, req: &GateRequest) -> Result<Option<Session>, Error> {
        let token = session::credentials(req.authorization.as_deref(), req.cookie.as_deref(), self.verifier.cookie())?;
        match token {
            None => Ok(None),
            Some(t) => Ok(Some(self.verifier.verify(t).await?)),
        }
    }

    /// Serves a read. Returns the JSON body of a 200; `log` gets the decision's audit fields.
    pub async fn read<P: IdentityProvider>(&self, idp: &P, cms: &SanityClient, req: &GateRequest, request_id: &str, deadline: Deadline, log: &mut Map<String, Value>) -> Result<Value, Error> {
        let route = route(req, &self.content_types)?;
        if route == Route::Preflight {
            return Ok(Value::Null);
        }
        let session = self.session(req).await?;
        let mut access = match &session {
            Some(s) => self.access.get(idp, &idp.access_target(s), deadline).await?,
            None => None,
        };
        if let Some(a) = access.as_mut().filter(|_| idp.grants_all_types()) {
            a.allowed_content_types = self.content_types.clone();
        }
        // Staff is decided once, from configuration; the policies only see the result.
        let principal = model::principal(session.as_ref(), access.as_ref(), &self.staff);
        match route {
            Route::Preflight => Ok(Value::Null),
            Route::Slug(slug) => self.read_one(cms, slug, false, &principal, request_id, deadline, log).await,
            Route::GatedRoute(r) => self.read_one(cms, r.into(), true, &principal, request_id, deadline, log).await,
            Route::List { doc_type, limit, after } => {
                let started = std::time::Instant::now();
                let (filter, audit) = self.authz.list_filter(request_id, &principal, deadline).await?;
                audit.log_into(self.authz.name(), started.elapsed(), log);
                let mut params = filter.params;
                params.insert("type".into(), doc_type.into());
                params.insert("after".into(), after.into());
                // One extra row tells whether there is a next page.
                params.insert("limit".into(), (limit + 1).into());
                let docs: Vec<Value> = cms.query(&query::list(&filter.groq), Value::Object(params), deadline).await?;
                let more = docs.len() > limit as usize;
                let docs: Vec<Value> = docs.into_iter().take(limit as usize).collect();
                let next = if more { docs.last().and_then(|d| d["_id"].as_str()).map(encode_cursor) } else { None };
                Ok(json!({ "documents": docs, "next_cursor": next }))
            }
        }
    }

    /// One document, by slug or by gated route, if the principal may read it.
    #[allow(clippy::too_many_arguments)]
    async fn read_one(&self, cms: &SanityClient, key: String, by_route: bool, principal: &Principal, request_id: &str, deadline: Deadline, log: &mut Map<String, Value>) -> Result<Value, Error> {
        let mut params = Map::new();
        params.insert("contentTypes".into(), json!(self.content_types));
        params.insert("key".into(), key.into());
        let found: Option<Fetched> = cms.query(query::one(by_route), Value::Object(params), deadline).await?;
        let Some(found) = found else { return Err(Error::NotFound) };
        let Ok(attr) = serde_json::from_value::<ResourceAttr>(found.attr) else {
            // A field of the wrong type (say requiredPlans: "pro"): the document is outside
            // the contract, so nobody's decision about it can be trusted.
            tracing::warn!(document_id = %found.id, "document attributes do not fit the policy contract; not served");
            return Err(Error::NotFound);
        };
        let started = std::time::Instant::now();
        let (decision, audit) = self.authz.check(request_id, principal, &found.id, &attr, deadline).await?;
        audit.log_into(self.authz.name(), started.elapsed(), log);
        log.insert("document_id".into(), found.id.into());
        match decision {
            Decision { read: true, .. } => Ok(json!({ "document": found.doc })),
            Decision { discover: true, .. } => Err(Error::MfaRequired),
            _ => Err(Error::NotFound),
        }
    }
}

/// CORS headers for an allowed origin (exact match against the allow-list; never `*`, since
/// credentials are allowed).
/// CORS for an allowed origin; on a preflight also the `methods` the endpoint serves.
pub fn cors_headers(origin: Option<&str>, allowed: &[String], preflight: bool, methods: &str) -> Option<Vec<(&'static str, String)>> {
    let o = origin?;
    if !allowed.iter().any(|a| a == o) {
        return None;
    }
    let mut h = vec![("access-control-allow-origin", o.to_string()), ("access-control-allow-credentials", "true".into())];
    if preflight {
        h.push(("access-control-allow-methods", methods.into()));
        h.push(("access-control-allow-headers", "authorization, content-type".into()));
        h.push(("access-control-max-age", "600".into()));
    }
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, path: &str, q: &[(&str, &str)]) -> GateRequest {
        GateRequest {
            method: method.parse().unwrap(),
            path: path.into(),
            query: q.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Default::default()
        }
    }

    fn types() -> Vec<String> {
        vec!["article".into(), "report".into()]
    }

    #[test]
    fn routes_are_parsed_strictly() {
        assert_eq!(route(&req("GET", "/content/hello", &[]), &types()).unwrap(), Route::Slug("hello".into()));
        assert_eq!(route(&req("GET", "/content", &[("route", "/r/q3")]), &types()).unwrap(), Route::GatedRoute(GatedRoute::parse("/r/q3").unwrap()));
        assert_eq!(
            route(&req("GET", "/content", &[("type", "article"), ("limit", "5")]), &types()).unwrap(),
            Route::List { doc_type: "article".into(), limit: 5, after: String::new() }
        );
        let c = encode_cursor("doc-9");
        assert_eq!(
            route(&req("GET", "/content/", &[("type", "report"), ("cursor", &c)]), &types()).unwrap(),
            Route::List { doc_type: "report".into(), limit: DEFAULT_LIMIT, after: "doc-9".into() }
        );
        assert_eq!(route(&req("OPTIONS", "/content/x", &[]), &types()).unwrap(), Route::Preflight);
        assert_eq!(route(&req("POST", "/content/x", &[]), &types()).unwrap_err().status(), 405);
        assert_eq!(route(&req("GET", "/other", &[]), &types()).unwrap_err().status(), 404);
        assert_eq!(route(&req("GET", "/content/a/b", &[]), &types()).unwrap_err().status(), 404);
        for bad in [
            vec![("type", "secret")],
            vec![("type", "article"), ("limit", "0")],
            vec![("type", "article"), ("limit", "101")],
            vec![("type", "article"), ("cursor", "!!")],
            vec![("route", "relative")],
            vec![("type", "article"), ("type", "report")],
            vec![],
        ] {
            assert_eq!(route(&req("GET", "/content", &bad), &types()).unwrap_err().status(), 400, "{bad:?}");
        }
    }

    #[test]
    fn cors_only_for_listed_origins() {
        let allowed = vec!["https://app.example".to_string()];
        assert!(cors_headers(Some("https://evil.example"), &allowed, false, "GET").is_none());
        assert!(cors_headers(None, &allowed, false, "GET").is_none());
        let h = cors_headers(Some("https://app.example"), &allowed, true, "GET").unwrap();
        assert!(h.contains(&("access-control-allow-origin", "https://app.example".into())));
        assert!(!h.iter().any(|(_, v)| v == "*"));
    }
}
