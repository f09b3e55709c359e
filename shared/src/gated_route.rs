//! A gated route: an absolute path, no traversal, query, fragment or whitespace. Parsed once where
//! it enters (a rule's `gatedRoutes`, a stored grant, the gate's `?route=`), compared as written:
//! the gate matches documents' routes with these raw paths, so a path must be canonical as
//! written (no trailing slash) or it is refused, never trimmed.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GatedRoute(String);

/// Longest route accepted (a URL path, not a document).
pub const MAX_LEN: usize = 200;

impl GatedRoute {
    pub fn parse(p: &str) -> Option<GatedRoute> {
        let ok = p.starts_with('/')
            && (p == "/" || !p.ends_with('/'))
            && !p.contains("//")
            && p.len() <= MAX_LEN
            && !p.split('/').any(|seg| seg == ".." || seg == ".")
            && !p.chars().any(|c| c.is_whitespace() || c.is_control() || c == '?' || c == '#');
        ok.then(|| GatedRoute(p.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for GatedRoute {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        GatedRoute::parse(&s).ok_or_else(|| format!("gated route {s:?} must be an absolute path like /reports/q3"))
    }
}

impl From<GatedRoute> for String {
    fn from(r: GatedRoute) -> String {
        r.0
    }
}

impl std::fmt::Display for GatedRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_must_be_absolute_clean_paths() {
        for ok in ["/", "/reports/q3", "/a-b_c/d.e"] {
            assert_eq!(GatedRoute::parse(ok).map(|r| r.to_string()).as_deref(), Some(ok), "{ok}");
        }
        for bad in ["reports", "/a/../b", "/a b", "/a?x=1", "/a#f", "", "/./a", "/a/", " /a", "/a ", "//a"] {
            assert!(GatedRoute::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_stored_route_is_checked_when_read_back() {
        let ok: Vec<GatedRoute> = serde_json::from_str(r#"["/a","/b/c"]"#).unwrap();
        assert_eq!(serde_json::to_string(&ok).unwrap(), r#"["/a","/b/c"]"#);
        assert!(serde_json::from_str::<Vec<GatedRoute>>(r#"["/a","../etc"]"#).is_err());
    }
}
