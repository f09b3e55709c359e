//! The per-route call counter behind each emulator's `GET /__gatehouse/calls`: tests read it to
//! prove what a function did (or did not) send, e.g. zero writes after a forged delivery.

use serde_json::{Value, json};

/// `(method, path, count)` in first-seen order, so the listing is stable between reads.
#[derive(Default)]
pub struct Calls(Vec<(String, String, u64)>);

impl Calls {
    pub fn record(&mut self, method: &str, path: &str) {
        match self.0.iter_mut().find(|(m, p, _)| m == method && p == path) {
            Some(c) => c.2 += 1,
            None => self.0.push((method.to_string(), path.to_string(), 1)),
        }
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// The `GET /__gatehouse/calls` body.
    pub fn to_json(&self) -> Value {
        let calls: Vec<Value> = self.0.iter().map(|(m, p, c)| json!({ "method": m, "path": p, "count": c })).collect();
        json!({ "calls": calls })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_method_and_path_in_first_seen_order() {
        let mut c = Calls::default();
        c.record("POST", "/a");
        c.record("GET", "/a");
        c.record("POST", "/a");
        assert_eq!(
            c.to_json(),
            json!({ "calls": [{ "method": "POST", "path": "/a", "count": 2 }, { "method": "GET", "path": "/a", "count": 1 }] })
        );
        c.clear();
        assert_eq!(c.to_json(), json!({ "calls": [] }));
    }
}
