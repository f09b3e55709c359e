//! `sanity-webhook-signature: t=<unix ms>,v1=<base64url HMAC-SHA256(secret, "{t}.{raw body}")>`.
//!
//! Stricter than @sanity/webhook on purpose: exactly one `t` and one `v1`, no spaces, milliseconds
//! only, a freshness window both ways, constant-time comparison, and several secrets (rotation).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How far a signature's timestamp may be from now, either way.
pub const TOLERANCE_MS: i64 = 300_000;
/// Anything before 2021-01-01 in ms is a seconds timestamp (or garbage).
const MIN_TIMESTAMP_MS: i64 = 1_609_459_200_000;
/// A real header is ~60 bytes; refuse to even parse anything much longer.
const MAX_HEADER_LEN: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing sanity-webhook-signature header")]
    Missing,
    #[error("malformed sanity-webhook-signature header")]
    Malformed,
    #[error("signature timestamp is not in milliseconds")]
    NotMilliseconds,
    #[error("signature timestamp is outside the 300 s window")]
    Stale,
    #[error("signature does not match")]
    Mismatch,
}

/// A parsed header: timestamp in ms and the 32-byte MAC.
#[derive(Debug, PartialEq, Eq)]
pub struct Parsed {
    pub t_ms: i64,
    pub mac: [u8; 32],
}

pub fn parse(header: &str) -> Result<Parsed, SignatureError> {
    if header.is_empty() {
        return Err(SignatureError::Missing);
    }
    if header.len() > MAX_HEADER_LEN {
        return Err(SignatureError::Malformed);
    }
    let (t, v1) = header.split_once(',').ok_or(SignatureError::Malformed)?;
    let t = t.strip_prefix("t=").ok_or(SignatureError::Malformed)?;
    let v1 = v1.strip_prefix("v1=").ok_or(SignatureError::Malformed)?;
    if t.is_empty() || t.len() > 15 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::Malformed);
    }
    // base64url without padding only; this also rejects a second `,v1=` and any whitespace.
    if !v1.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(SignatureError::Malformed);
    }
    let t_ms: i64 = t.parse().map_err(|_| SignatureError::Malformed)?;
    let raw = URL_SAFE_NO_PAD.decode(v1).map_err(|_| SignatureError::Malformed)?;
    let mac: [u8; 32] = raw.try_into().map_err(|_| SignatureError::Malformed)?;
    Ok(Parsed { t_ms, mac })
}

pub fn sign(secret: &str, t_ms: i64, body: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length.
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    m.update(t_ms.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().into()
}

/// The header value Sanity would send (used by tests and tools).
pub fn header(secret: &str, t_ms: i64, body: &[u8]) -> String {
    format!("t={t_ms},v1={}", URL_SAFE_NO_PAD.encode(sign(secret, t_ms, body)))
}

/// Verifies `header` over the raw `body` with any of `secrets` at time `now_ms`.
pub fn verify(header: Option<&str>, body: &[u8], secrets: &[&str], now_ms: i64) -> Result<(), SignatureError> {
    let p = parse(header.ok_or(SignatureError::Missing)?)?;
    if p.t_ms < MIN_TIMESTAMP_MS {
        return Err(SignatureError::NotMilliseconds);
    }
    if (now_ms - p.t_ms).abs() > TOLERANCE_MS {
        return Err(SignatureError::Stale);
    }
    // Check every secret (no early exit) so timing does not tell which one matched.
    let mut ok = subtle::Choice::from(0);
    for s in secrets {
        ok |= sign(s, p.t_ms, body).ct_eq(&p.mac);
    }
    if bool::from(ok) { Ok(()) } else { Err(SignatureError::Mismatch) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn fixture(name: &str) -> Vec<Value> {
        let path = format!("{}/../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap()
    }

    fn num(v: &Value) -> i64 {
        v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap()
    }

    #[test]
    fn every_valid_fixture_verifies_and_reproduces_the_header() {
        let vectors = fixture("sanity-webhook-signatures.json");
        assert!(!vectors.is_empty());
        for v in vectors {
            let (secret, body, hdr) =
                (v["secret"].as_str().unwrap(), v["body"].as_str().unwrap(), v["header"].as_str().unwrap());
            let t = num(&v["timestamp_ms"]);
            assert_eq!(header(secret, t, body.as_bytes()), hdr);
            assert_eq!(verify(Some(hdr), body.as_bytes(), &[secret], t), Ok(()));
            assert_eq!(verify(Some(hdr), body.as_bytes(), &["wrong", secret], t + 1), Ok(()), "rotation");
            assert_eq!(verify(Some(hdr), body.as_bytes(), &["wrong"], t), Err(SignatureError::Mismatch));
        }
    }

    #[test]
    fn every_edge_fixture_gets_its_expected_verdict() {
        let vectors = fixture("sanity-webhook-signatures-edge.json");
        assert!(vectors.len() >= 10);
        for v in vectors {
            let r = verify(
                Some(v["header"].as_str().unwrap()),
                v["body"].as_str().unwrap().as_bytes(),
                &[v["secret"].as_str().unwrap()],
                num(&v["now_ms"]),
            );
            let want_valid = v["expect"] == "valid";
            assert_eq!(r.is_ok(), want_valid, "{}: got {r:?}", v["why"]);
        }
    }

    #[test]
    fn window_is_inclusive_at_300_s_both_ways() {
        let body = b"{}";
        let t = 1_763_900_000_000;
        let h = header("s", t, body);
        assert_eq!(verify(Some(&h), body, &["s"], t + TOLERANCE_MS), Ok(()));
        assert_eq!(verify(Some(&h), body, &["s"], t - TOLERANCE_MS), Ok(()));
        assert_eq!(verify(Some(&h), body, &["s"], t + TOLERANCE_MS + 1), Err(SignatureError::Stale));
        assert_eq!(verify(Some(&h), body, &["s"], t - TOLERANCE_MS - 1), Err(SignatureError::Stale));
    }

    #[test]
    fn parser_rejects_garbage_without_panicking() {
        for h in [
            "t=,v1=", "t=1,v1", "t=1v1=abc", "T=1763900000000,v1=AAAA", "t=1763900000000,V1=AAAA", "t=-1,v1=AAAA",
            "t=99999999999999999999,v1=AAAA", "t=1763900000000,v1=AAAA,v1=AAAA", "t=1763900000000,v0=AAAA",
            ",", "t=1763900000000 ,v1=AAAA", "t=١٢٣,v1=AAAA",
        ] {
            assert!(parse(h).is_err(), "{h:?} should not parse");
        }
        assert_eq!(verify(None, b"{}", &["s"], 0), Err(SignatureError::Missing));
        assert_eq!(verify(Some(&"a".repeat(10_000)), b"{}", &["s"], 0), Err(SignatureError::Malformed));
    }
}
