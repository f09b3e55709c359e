//! gatehouse: keeps access rules published in Sanity in sync with the identity provider and serves
//! gated content after checking the caller's session on the server.
//!
//! Function crates are thin adapters: they call [`app`] to initialise once per container and then
//! hand every request to one function here. All decisions live in the modules below.

pub mod app;
pub mod authz;
pub mod cms;
pub mod config;
pub mod error;
pub mod exchange;
pub mod gate;
pub mod http;
pub mod gated_route;
pub mod identity;
pub mod ids;
pub mod jwks;
pub mod jwt;
pub mod log;
pub mod providers;
pub mod ratelimit;
pub mod reconcile;
pub mod secret_fields;
pub mod secrets;
pub mod session;
pub mod sync;

/// The layering rules of docs/ARCHITECTURE.md, checked on the source: a module that breaks one
/// fails here, not in review.
#[cfg(test)]
mod layering {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// Depend on nothing in the crate but each other: identity and session types, the JWKS cache,
    /// JWTs, configuration, HTTP plumbing, logging.
    const LEAVES: &[&str] = &["config", "gated_route", "http", "identity", "ids", "jwks", "jwt", "log", "secret_fields", "session"];

    /// The rows of docs/ARCHITECTURE.md's picture, top first: a module may use only modules on
    /// lower rows (the leaves are the last row; among themselves they only must not cycle).
    const ROWS: &[&[&str]] = &[
        &["app"],
        &["reconcile"],
        &["sync", "gate", "exchange", "ratelimit"],
        &["error"],
        &["authz"],
        &["secrets"],
        &["providers"],
        &["cms"],
        LEAVES,
    ];

    /// Files compiled only into tests (included with `#[path]` under `#[cfg(test)]`).
    const TEST_ONLY: &[&str] = &["convergence_tests.rs"];

    /// Every `.rs` file under `dir`, as (path relative to src/, code before its first `#[cfg(test)]`).
    fn sources(src: &Path, dir: &Path, out: &mut Sources) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                sources(src, &p, out);
            } else if p.extension().is_some_and(|x| x == "rs") && !TEST_ONLY.contains(&p.strip_prefix(src).unwrap().to_str().unwrap()) {
                let text = std::fs::read_to_string(&p).unwrap();
                let code = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
                out.push((p.strip_prefix(src).unwrap().to_string_lossy().into_owned(), code));
            }
        }
    }

    /// Each top-level module and the modules its code names.
    type Graph = BTreeMap<String, BTreeSet<String>>;
    /// (path relative to src/, code before its first `#[cfg(test)]`).
    type Sources = Vec<(String, String)>;

    /// The first path segment of each item of a `use crate::{…}` list (`list` starts after the
    /// `{`), nested lists included: `{a::{b, c}, d}` gives `a` and `d`.
    fn use_list_heads(list: &str) -> Vec<String> {
        let (mut depth, mut item, mut heads) = (0, String::new(), Vec::new());
        for c in list.chars() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => heads.push(std::mem::take(&mut item)),
                _ if depth == 0 => item.push(c),
                _ => {}
            }
        }
        heads.push(item);
        heads.iter().filter_map(|x| x.trim().split("::").next()).filter(|x| !x.is_empty()).map(String::from).collect()
    }

    /// What each `prefix` in `code` is followed by: the identifier after it, or each head of a
    /// `{…}` list (`crate::x`, `crate::{x, y::{z}}`).
    fn heads_after(code: &str, prefix: &str) -> Vec<String> {
        let mut heads = Vec::new();
        for (i, _) in code.match_indices(prefix) {
            let rest = &code[i + prefix.len()..];
            match rest.strip_prefix('{') {
                Some(list) => heads.extend(use_list_heads(list)),
                None => heads.push(rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect()),
            }
        }
        heads
    }

    #[test]
    fn nested_use_lists_are_read() {
        assert_eq!(use_list_heads("a::{b, c::{d}}, e, f::g};"), vec!["a", "e", "f"]);
        assert_eq!(heads_after("use crate::x::y; crate::{a::{b}, c}", "crate::"), vec!["x", "a", "c"]);
    }

    /// The crate's top-level modules each file's code names (`crate::x`, `use crate::{x, …}`).
    fn graph() -> (Graph, Sources) {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &src, &mut files);
        let mut g = Graph::new();
        for (path, code) in &files {
            let top = path.split('/').next().unwrap().trim_end_matches(".rs").to_string();
            if top == "lib" {
                continue;
            }
            let mut names: BTreeSet<String> = heads_after(code, "crate::").into_iter().collect();
            names.remove(&top);
            g.entry(top).or_default().extend(names);
        }
        (g, files)
    }

    #[test]
    fn modules_form_no_cycle() {
        let (g, _) = graph();
        // Depth-first search; a node met again while still on the path closes a cycle.
        fn visit<'a>(g: &'a Graph, n: &'a str, path: &mut Vec<&'a str>, done: &mut BTreeSet<&'a str>) {
            if let Some(i) = path.iter().position(|p| *p == n) {
                panic!("module cycle: {}", [&path[i..], &[n]].concat().join(" -> "));
            }
            if !done.insert(n) {
                return;
            }
            path.push(n);
            for m in g.get(n).into_iter().flatten() {
                visit(g, m, path, done);
            }
            path.pop();
        }
        let mut done = BTreeSet::new();
        for n in g.keys() {
            visit(&g, n, &mut Vec::new(), &mut done);
        }
        assert!(g.len() > 15, "found only {} modules: is the scan broken?", g.len());
    }

    #[test]
    fn leaves_depend_only_on_leaves_and_nothing_depends_on_app() {
        let (g, _) = graph();
        for leaf in LEAVES {
            let bad: Vec<&String> = g.get(*leaf).into_iter().flatten().filter(|m| !LEAVES.contains(&m.as_str())).collect();
            assert!(bad.is_empty(), "{leaf} is a leaf module but uses {bad:?}");
        }
        assert!(g.get("identity").is_none_or(BTreeSet::is_empty), "identity must depend on nothing: {:?}", g.get("identity"));
        let users: Vec<&String> = g.iter().filter(|(_, d)| d.contains("app")).map(|(m, _)| m).collect();
        assert!(users.is_empty(), "only the function crates may use app: {users:?}");
    }

    #[test]
    fn modules_use_only_lower_rows() {
        let (g, _) = graph();
        let row = |m: &str| ROWS.iter().position(|r| r.contains(&m)).unwrap_or_else(|| panic!("module {m} is on no row of ROWS (docs/ARCHITECTURE.md)"));
        for (m, uses) in &g {
            for u in uses {
                if !LEAVES.contains(&m.as_str()) {
                    assert!(row(u) > row(m), "{m} (row {}) uses {u} (row {}): a module uses only rows below it", row(m), row(u));
                }
            }
        }
    }

    #[test]
    fn nothing_outside_providers_names_a_provider() {
        let (_, files) = graph();
        let mut checked = 0;
        for (path, code) in files.iter().filter(|(p, _)| !p.starts_with("providers/")) {
            // `providers::stytch…`, and `providers::{stytch::…}` lists.
            let heads = heads_after(code, "providers::");
            for name in ["stytch", "descope"] {
                assert!(
                    !heads.iter().any(|h| h == name),
                    "{path} names providers::{name}: outside providers/ only the one provider value (IdpSecret, AnyProvider, AnyVerifier, RuleFields) is seen"
                );
            }
            checked += 1;
        }
        assert!(checked > 20, "checked only {checked} files");
    }

    #[test]
    fn each_provider_folder_knows_only_itself() {
        let (_, files) = graph();
        for (path, code) in &files {
            for (mine, other) in [("providers/stytch/", "descope"), ("providers/descope/", "stytch")] {
                if path.starts_with(mine) {
                    let named = code.contains(&format!("providers::{other}")) || code.contains(&format!("super::{other}"));
                    assert!(!named, "{path} reaches into providers/{other}/");
                }
            }
        }
        // Every file name is unique outside the mod.rs convention (no two `descope.rs`).
        let mut seen = BTreeMap::new();
        for (path, _) in &files {
            let name = path.rsplit('/').next().unwrap();
            if name != "mod.rs"
                && let Some(prev) = seen.insert(name.to_string(), path.clone()) {
                    panic!("{prev} and {path} share a file name");
                }
        }
    }
}
