//! Small helpers: Descope-style ids, body parsing, typed field access.

use axum::body::Bytes;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::state::Obj;

pub use emulator_common::util::now_unix;

/// `<prefix>` + 27 alphanumerics, the shape of Descope's `U2…`/`T2…` ids.
pub fn descope_id(prefix: &str) -> String {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::from(prefix);
    while out.len() < prefix.len() + 27 {
        for x in emulator_common::util::random_bytes::<32>() {
            // rejection sampling keeps the alphabet uniform
            if x < 248 && out.len() < prefix.len() + 27 {
                out.push(ALPHA[(x % 62) as usize] as char);
            }
        }
    }
    out
}

/// Parse a JSON object body; an empty body is an empty object.
pub fn parse_body(body: &Bytes) -> Result<Obj, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad_request("The request body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!("The request body is not valid JSON: {e}"))),
    }
}

pub fn str_field<'a>(o: &'a Obj, k: &str) -> &'a str {
    o.get(k).and_then(Value::as_str).unwrap_or("")
}

/// Optional string field: absent/null → None, non-string → E011004.
pub fn opt_str(o: &Obj, k: &str) -> Result<Option<String>, ApiError> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid_args(format!("{k} must be a string"))),
    }
}

/// Required non-empty string field → E011002 when missing.
pub fn req_str(o: &Obj, k: &str) -> Result<String, ApiError> {
    match opt_str(o, k)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::missing(format!("Missing argument: {k}"))),
    }
}

/// Optional array of strings: absent/null → None.
pub fn opt_str_list(o: &Obj, k: &str) -> Result<Option<Vec<String>>, ApiError> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(String::from).ok_or_else(|| ApiError::invalid_args(format!("{k} must be an array of strings"))))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(ApiError::invalid_args(format!("{k} must be an array of strings"))),
    }
}

pub fn opt_bool(o: &Obj, k: &str) -> Result<Option<bool>, ApiError> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::invalid_args(format!("{k} must be a boolean"))),
    }
}

pub fn opt_i64(o: &Obj, k: &str) -> Result<Option<i64>, ApiError> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| ApiError::invalid_args(format!("{k} must be an integer"))),
    }
}

pub fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default()
}

/// Append the items of `add` that `list` lacks, keeping order.
pub fn union_into(list: &mut Vec<String>, add: &[String]) {
    for a in add {
        if !list.contains(a) {
            list.push(a.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_shape() {
        let id = descope_id("U2");
        assert_eq!(id.len(), 29);
        assert!(id.starts_with("U2"));
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
