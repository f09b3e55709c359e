//! A Cerbos PlanResources filter → a GROQ filter fragment with parameters, so a list page only
//! fetches what the policy allows. Fail closed: anything the translator cannot express exactly is
//! an error (the caller answers 503), never a wider filter.
//!
//! Rules (checked against the recorded plans of our policies and the applicable
//! cerbos/query-plan-adapters conformance fixtures, tests below):
//! - ALWAYS_ALLOWED → `true`, ALWAYS_DENIED → `false`, CONDITIONAL → the condition.
//! - Attribute names go through an allow-list (`Mapper`): `request.resource.attr.X` → a GROQ
//!   expression; anything else (nested paths, `request.resource.id`, unknown names) is refused.
//! - Literals only ever travel as `$p0, $p1, …` parameters; null and objects are refused.
//! - Comparisons with the value first are mirrored (`1 < x` is `x > 1`); attribute-to-attribute
//!   comparisons are refused.
//! - A missing field reads as null in GROQ while `check()` denies a missing attribute: `ne`
//!   becomes `defined(f) && f != $p`, and `not(x)` is guarded with `defined()` of every field in x.
//! - `in(var, list)` → `f in $p`; `in(value, var)` → `$p in f`; `hasIntersection` →
//!   `count(f[@ in $p]) > 0`; `size(list)` only inside a numeric comparison → `count(f)`; a bare
//!   boolean attribute → `f == true`. Every other operator is refused.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

const PREFIX: &str = "request.resource.attr.";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Number,
    Bool,
    List,
}

/// The allow-list: attribute name → (GROQ expression, type).
pub type Mapper = &'static [(&'static str, &'static str, AttrType)];

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("query plan cannot be translated: {0}")]
pub struct Unsupported(pub String);

#[derive(Debug, Clone, PartialEq)]
pub struct GroqFilter {
    pub groq: String,
    pub params: Map<String, Value>,
}

fn no(msg: impl Into<String>) -> Unsupported {
    Unsupported(msg.into())
}

/// `filter` is the response's `filter` object (`{kind, condition?}`).
pub fn translate(filter: &Value, mapper: Mapper) -> Result<GroqFilter, Unsupported> {
    let done = |g: &str| Ok(GroqFilter { groq: g.into(), params: Map::new() });
    match filter["kind"].as_str() {
        Some("KIND_ALWAYS_ALLOWED") => return done("true"),
        Some("KIND_ALWAYS_DENIED") => return done("false"),
        Some("KIND_CONDITIONAL") => {}
        other => return Err(no(format!("unknown filter kind {other:?}"))),
    }
    let mut t = Translator { mapper, params: Map::new() };
    let groq = t.boolean(&filter["condition"], &mut BTreeSet::new())?;
    Ok(GroqFilter { groq, params: t.params })
}

struct Translator {
    mapper: Mapper,
    params: Map<String, Value>,
}

fn mirror(op: &str) -> &str {
    match op {
        "lt" => "gt",
        "le" => "ge",
        "gt" => "lt",
        "ge" => "le",
        o => o,
    }
}

impl Translator {
    fn param(&mut self, v: &Value) -> Result<String, Unsupported> {
        match v {
            Value::Null => return Err(no("null literal")),
            Value::Object(_) => return Err(no("object literal")),
            Value::Array(items) if items.iter().any(|x| x.is_null() || x.is_object() || x.is_array()) => {
                return Err(no("null, object or nested list element"));
            }
            _ => {}
        }
        let k = format!("p{}", self.params.len());
        self.params.insert(k.clone(), v.clone());
        Ok(format!("${k}"))
    }

    /// The mapped field of a `{"variable": …}` node; `None` for other nodes.
    fn field(&self, node: &Value) -> Result<Option<(&'static str, AttrType)>, Unsupported> {
        let Some(v) = node.get("variable") else { return Ok(None) };
        let name = v.as_str().ok_or_else(|| no("variable is not a string"))?;
        let attr = name.strip_prefix(PREFIX).ok_or_else(|| no(format!("variable {name} is not a resource attribute")))?;
        let (_, expr, ty) = self.mapper.iter().find(|(n, _, _)| *n == attr).ok_or_else(|| no(format!("attribute {name} is not in the allow-list")))?;
        Ok(Some((*expr, *ty)))
    }

    fn boolean(&mut self, node: &Value, fields: &mut BTreeSet<&'static str>) -> Result<String, Unsupported> {
        if let Some(v) = node.get("value") {
            return match v {
                Value::Bool(b) => Ok(b.to_string()),
                _ => Err(no("non-boolean literal in boolean position")),
            };
        }
        if let Some((expr, ty)) = self.field(node)? {
            if ty != AttrType::Bool {
                return Err(no(format!("bare non-boolean attribute {}", node["variable"])));
            }
            fields.insert(expr);
            return Ok(format!("{expr} == true"));
        }
        let e = node.get("expression").ok_or_else(|| no(format!("unknown node {node}")))?;
        let op = e["operator"].as_str().ok_or_else(|| no("expression without operator"))?;
        let xs = e["operands"].as_array().ok_or_else(|| no("expression without operands"))?;
        let two = || -> Result<(&Value, &Value), Unsupported> {
            match xs.as_slice() {
                [a, b] => Ok((a, b)),
                _ => Err(no(format!("{op} with {} operands", xs.len()))),
            }
        };
        match op {
            "and" | "or" => {
                if xs.is_empty() {
                    return Err(no(format!("{op} without operands")));
                }
                let parts = xs.iter().map(|x| self.boolean(x, fields)).collect::<Result<Vec<_>, _>>()?;
                Ok(format!("({})", parts.join(if op == "and" { " && " } else { " || " })))
            }
            "not" => {
                let [x] = xs.as_slice() else { return Err(no("not with != 1 operand")) };
                let mut inner = BTreeSet::new();
                let body = self.boolean(x, &mut inner)?;
                let mut parts: Vec<String> = inner.iter().map(|f| format!("defined({f})")).collect();
                fields.extend(inner);
                parts.push(format!("!({body})"));
                Ok(format!("({})", parts.join(" && ")))
            }
            "eq" | "ne" | "lt" | "le" | "gt" | "ge" => {
                let (mut a, mut b) = two()?;
                let mut op = op;
                if a.get("value").is_some() && b.get("value").is_none() {
                    (a, b) = (b, a);
                    op = mirror(op);
                }
                let value = b.get("value").ok_or_else(|| no(format!("{op} without a literal operand")))?;
                let lhs = if is_op(a, "size") {
                    if !value.is_number() {
                        return Err(no("size() compared with a non-number"));
                    }
                    self.size(a, fields)?
                } else {
                    let (expr, ty) = self.field(a)?.ok_or_else(|| no(format!("{op} over an expression")))?;
                    if ty == AttrType::List {
                        return Err(no(format!("{op} over a list attribute")));
                    }
                    if !(matches!(op, "eq" | "ne") || value.is_number() || value.is_string()) {
                        return Err(no(format!("{op} with a non-ordered literal")));
                    }
                    fields.insert(expr);
                    expr.to_string()
                };
                let p = self.param(value)?;
                Ok(match op {
                    "ne" => format!("(defined({lhs}) && {lhs} != {p})"),
                    "eq" => format!("{lhs} == {p}"),
                    "lt" => format!("{lhs} < {p}"),
                    "le" => format!("{lhs} <= {p}"),
                    "gt" => format!("{lhs} > {p}"),
                    _ => format!("{lhs} >= {p}"),
                })
            }
            "in" => {
                let (a, b) = two()?;
                match (self.field(a)?, b.get("value"), a.get("value"), self.field(b)?) {
                    (Some((expr, ty)), Some(list @ Value::Array(_)), _, _) => {
                        if ty == AttrType::List {
                            return Err(no("in: a list attribute as the element"));
                        }
                        fields.insert(expr);
                        Ok(format!("{expr} in {}", self.param(list)?))
                    }
                    (_, _, Some(v), Some((expr, AttrType::List))) => {
                        fields.insert(expr);
                        Ok(format!("{} in {expr}", self.param(v)?))
                    }
                    _ => Err(no("in: unsupported operand shape")),
                }
            }
            "hasIntersection" => {
                let (mut a, mut b) = two()?;
                if a.get("value").is_some() && b.get("value").is_none() {
                    (a, b) = (b, a);
                }
                match (self.field(a)?, b.get("value")) {
                    (Some((expr, AttrType::List)), Some(list @ Value::Array(_))) => {
                        fields.insert(expr);
                        Ok(format!("count({expr}[@ in {}]) > 0", self.param(list)?))
                    }
                    _ => Err(no("hasIntersection: unsupported operand shape")),
                }
            }
            other => Err(no(format!("unsupported operator {other}"))),
        }
    }

    fn size(&self, node: &Value, fields: &mut BTreeSet<&'static str>) -> Result<String, Unsupported> {
        let ops = node["expression"]["operands"].as_array().ok_or_else(|| no("size without operands"))?;
        let [x] = ops.as_slice() else { return Err(no("size with != 1 operand")) };
        match self.field(x)? {
            Some((expr, AttrType::List)) => {
                fields.insert(expr);
                Ok(format!("count({expr})"))
            }
            _ => Err(no("size() only over a list attribute")),
        }
    }
}

fn is_op(node: &Value, op: &str) -> bool {
    node.get("expression").and_then(|e| e.get("operator")).and_then(Value::as_str) == Some(op)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/cerbos");

    /// The conformance corpus's flat attributes, as Sanity documents would store them (the same
    /// allow-list the JS reference translator used to compute `referenceGroq`).
    const ADVERSARIAL: Mapper = &[
        ("aBool", "aBool", AttrType::Bool),
        ("aNumber", "aNumber", AttrType::Number),
        ("aString", "aString", AttrType::String),
        ("aOptionalString", "aOptionalString", AttrType::String),
        ("owner", "aOptionalString", AttrType::String),
        ("tagNames", "tagNames", AttrType::List),
        ("tags", "tags", AttrType::List),
    ];

    fn read(path: &str) -> Value {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
    }

    #[test]
    fn conformance_fixtures_translate_exactly_or_are_refused() {
        let index = read(&format!("{FIXTURES}/conformance/index.json"));
        let mut seen = 0;
        for entry in index.as_array().unwrap() {
            let file = entry["file"].as_str().unwrap();
            let fixture = read(&format!("{FIXTURES}/conformance/{file}"));
            let out = translate(&fixture["filter"], ADVERSARIAL);
            match entry["expect"].as_str().unwrap() {
                "translate" => {
                    let got = out.unwrap_or_else(|e| panic!("{file}: {e}"));
                    if let Some(want) = entry["referenceGroq"].as_str() {
                        assert_eq!(got.groq, want, "{file}");
                    }
                }
                _ => assert!(out.is_err(), "{file} must be refused ({}), got {:?}", entry["why"], out),
            }
            seen += 1;
        }
        assert!(seen >= 50, "only {seen} conformance fixtures");
    }

    #[test]
    fn mirrored_and_guarded_forms() {
        let cond = |c: Value| translate(&serde_json::json!({"kind": "KIND_CONDITIONAL", "condition": c}), ADVERSARIAL);
        let v = |n: &str| serde_json::json!({"variable": format!("{PREFIX}{n}")});
        let lit = |x: Value| serde_json::json!({"value": x});
        let ex = |op: &str, a: Value, b: Value| serde_json::json!({"expression": {"operator": op, "operands": [a, b]}});
        let r = cond(ex("lt", lit(1.into()), v("aNumber"))).unwrap();
        assert_eq!(r.groq, "aNumber > $p0");
        assert_eq!(r.params["p0"], 1);
        assert_eq!(cond(ex("ne", v("aString"), lit("x".into()))).unwrap().groq, "(defined(aString) && aString != $p0)");
        let not = serde_json::json!({"expression": {"operator": "not", "operands": [ex("eq", v("aString"), lit("x".into()))]}});
        assert_eq!(cond(not).unwrap().groq, "(defined(aString) && !(aString == $p0))");
        assert!(cond(ex("eq", v("aString"), v("aOptionalString"))).is_err(), "attribute to attribute");
        assert!(cond(ex("eq", v("unknown"), lit("x".into()))).is_err(), "not in the allow-list");
        assert!(cond(ex("eq", serde_json::json!({"variable": "request.resource.id"}), lit("x".into()))).is_err());
        assert!(cond(ex("eq", v("aString"), lit(Value::Null))).is_err(), "null literal");
        assert!(cond(ex("matches", v("aString"), lit("a.*".into()))).is_err(), "unsupported operator");
        assert_eq!(translate(&serde_json::json!({"kind": "KIND_ALWAYS_DENIED"}), ADVERSARIAL).unwrap().groq, "false");
        assert!(translate(&serde_json::json!({"kind": "KIND_SOMETHING"}), ADVERSARIAL).is_err());
    }
}
