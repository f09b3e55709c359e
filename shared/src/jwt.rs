//! Compact JWTs on ring: RS256 verification (session tokens, providers/stytch/stytch_session.rs
//! and providers/descope/descope_session.rs) and HS256 signing (the InsForge token, exchange.rs).
//! Self-contained: nothing else in the crate.
//!
//! It replaces jsonwebtoken, which verifies RSA only with aws-lc or the `rsa` crate (see
//! BENCHMARKS.md "Release (#19): ring instead of aws-lc, arm64 packages"), and keeps
//! jsonwebtoken 10.4's observable behaviour for what the verifiers use: the same order of checks
//! (header, algorithm, signature, claims type, required claims, exp/nbf with leeway, issuer,
//! audience) and the same leniencies (a present claim of the wrong type counts as absent for the
//! required check and is skipped by the iss/aud checks).

use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::de::{DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three base64url parts, or a part that is not the JSON it must be.
    #[error("malformed token")]
    Malformed,
    #[error("algorithm not accepted")]
    Algorithm,
    #[error("bad signature")]
    Signature,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("issuer not accepted")]
    Issuer,
    #[error("audience not accepted")]
    Audience,
    #[error("missing required claim {0}")]
    MissingClaim(&'static str),
    /// `exp` or `nbf` present but not a non-negative number.
    #[error("claim {0} has the wrong format")]
    ClaimFormat(&'static str),
}

/// The algorithms a JOSE header may name (RFC 7518 as jsonwebtoken knows them); any other `alg`
/// (`none` included) makes the token malformed.
const KNOWN_ALGS: &[&str] = &["HS256", "HS384", "HS512", "ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"];

/// The JOSE header fields the verifiers look at; the others must be strings when present.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Header {
    pub alg: String,
    #[serde(default)]
    pub typ: Option<String>,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub cty: Option<String>,
    #[serde(default)]
    pub jku: Option<String>,
    #[serde(default)]
    pub x5u: Option<String>,
    #[serde(default)]
    pub x5c: Option<Vec<String>>,
    #[serde(default)]
    pub x5t: Option<String>,
    #[serde(default, rename = "x5t#S256")]
    pub x5t_s256: Option<String>,
    #[serde(default)]
    pub crit: Option<Vec<String>>,
}

/// `header.payload.signature`, split from the right as jsonwebtoken does.
fn parts(token: &str) -> Result<(&str, &str, &str), JwtError> {
    let (message, signature) = token.rsplit_once('.').ok_or(JwtError::Malformed)?;
    let (header, payload) = message.rsplit_once('.').ok_or(JwtError::Malformed)?;
    Ok((header, payload, signature))
}

fn b64(part: &str) -> Result<Vec<u8>, JwtError> {
    B64.decode(part).map_err(|_| JwtError::Malformed)
}

/// The header, unverified (to pick the key).
pub fn decode_header(token: &str) -> Result<Header, JwtError> {
    let (header, _, _) = parts(token)?;
    let h: Header = serde_json::from_slice(&b64(header)?).map_err(|_| JwtError::Malformed)?;
    if !KNOWN_ALGS.contains(&h.alg.as_str()) {
        return Err(JwtError::Malformed);
    }
    Ok(h)
}

/// An RSA public key from a JWK's base64url `n` and `e` (big-endian, as published).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

impl RsaKey {
    pub fn from_components(n: &str, e: &str) -> Result<Self, JwtError> {
        Ok(RsaKey { n: b64(n)?, e: b64(e)? })
    }
}

/// Checks the RS256 signature over `header.payload` (PKCS#1 v1.5, SHA-256, 2048-8192-bit keys).
pub fn verify_rs256(token: &str, key: &RsaKey) -> Result<(), JwtError> {
    let header = decode_header(token)?;
    if header.alg != "RS256" {
        return Err(JwtError::Algorithm);
    }
    let (message, signature) = token.rsplit_once('.').ok_or(JwtError::Malformed)?;
    let signature = b64(signature)?;
    ring::signature::RsaPublicKeyComponents { n: &key.n, e: &key.e }
        .verify(&ring::signature::RSA_PKCS1_2048_8192_SHA256, message.as_bytes(), &signature)
        .map_err(|_| JwtError::Signature)
}

/// What `decode` checks after the signature.
#[derive(Debug, Clone)]
pub struct Validation {
    /// Seconds of clock skew allowed for `exp` and `nbf`.
    pub leeway: u64,
    pub validate_exp: bool,
    pub validate_nbf: bool,
    /// Check `aud` when present (against `audience`; with no audience set, any `aud` fails).
    pub validate_aud: bool,
    /// Accepted issuers; `None` leaves `iss` to the caller.
    pub issuers: Option<Vec<String>>,
    pub audience: Option<Vec<String>>,
    /// Of `exp`, `nbf`, `iss`, `aud`, `sub`: the claims that must be present.
    pub required: Vec<&'static str>,
}

impl Default for Validation {
    /// jsonwebtoken's `Validation::new(RS256)` minus its 60 s default leeway: `exp` required and
    /// checked, `aud` checked when present.
    fn default() -> Self {
        Validation {
            leeway: 0,
            validate_exp: true,
            validate_nbf: false,
            validate_aud: true,
            issuers: None,
            audience: None,
            required: vec!["exp"],
        }
    }
}

/// A claim as the checks see it: a wrong type is neither a value nor absent.
#[derive(Default)]
enum TryParse<T> {
    Parsed(T),
    FailedToParse,
    #[default]
    NotPresent,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for TryParse<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d) {
            Ok(Some(v)) => TryParse::Parsed(v),
            Ok(None) => TryParse::NotPresent,
            Err(_) => TryParse::FailedToParse,
        })
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(HashSet<String>),
}

impl OneOrMany {
    /// At least one of the values is accepted.
    fn any_in(&self, accepted: &[String]) -> bool {
        match self {
            OneOrMany::One(v) => accepted.iter().any(|a| a == v),
            OneOrMany::Many(vs) => vs.iter().any(|v| accepted.iter().any(|a| a == v)),
        }
    }
}

#[derive(Deserialize)]
struct Registered {
    #[serde(deserialize_with = "numeric_date", default)]
    exp: TryParse<u64>,
    #[serde(deserialize_with = "numeric_date", default)]
    nbf: TryParse<u64>,
    #[serde(default)]
    sub: TryParse<String>,
    #[serde(default)]
    iss: TryParse<OneOrMany>,
    #[serde(default)]
    aud: TryParse<OneOrMany>,
}

/// A NumericDate: a non-negative integer, or a finite float rounded; anything else fails to parse.
fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<TryParse<u64>, D::Error> {
    struct V(PhantomData<fn() -> TryParse<u64>>);
    impl Visitor<'_> for V {
        type Value = TryParse<u64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a non-negative NumericDate")
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(TryParse::Parsed(v))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
            if v.is_finite() && v >= 0.0 && v < u64::MAX as f64 {
                Ok(TryParse::Parsed(v.round() as u64))
            } else {
                Err(E::custom("NumericDate out of range"))
            }
        }
    }
    Ok(d.deserialize_any(V(PhantomData)).unwrap_or(TryParse::FailedToParse))
}

fn now_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Verifies an RS256 token with `key` and returns its claims as `T`, checked against `v`.
pub fn decode<T: DeserializeOwned>(token: &str, key: &RsaKey, v: &Validation) -> Result<T, JwtError> {
    decode_at(token, key, v, now_s())
}

fn decode_at<T: DeserializeOwned>(token: &str, key: &RsaKey, v: &Validation, now: u64) -> Result<T, JwtError> {
    verify_rs256(token, key)?;
    let (_, payload, _) = parts(token)?;
    let payload = b64(payload)?;
    let claims: T = serde_json::from_slice(&payload).map_err(|_| JwtError::Malformed)?;
    let reg: Registered = serde_json::from_slice(&payload).map_err(|_| JwtError::Malformed)?;
    check(&reg, v, now)?;
    Ok(claims)
}

fn check(c: &Registered, v: &Validation, now: u64) -> Result<(), JwtError> {
    for &name in &v.required {
        let present = match name {
            "exp" => matches!(c.exp, TryParse::Parsed(_)),
            "nbf" => matches!(c.nbf, TryParse::Parsed(_)),
            "sub" => matches!(c.sub, TryParse::Parsed(_)),
            "iss" => matches!(c.iss, TryParse::Parsed(_)),
            "aud" => matches!(c.aud, TryParse::Parsed(_)),
            _ => continue,
        };
        if !present {
            return Err(JwtError::MissingClaim(name));
        }
    }
    if v.validate_exp && matches!(c.exp, TryParse::FailedToParse) {
        return Err(JwtError::ClaimFormat("exp"));
    }
    if v.validate_nbf && matches!(c.nbf, TryParse::FailedToParse) {
        return Err(JwtError::ClaimFormat("nbf"));
    }
    if let (true, TryParse::Parsed(exp)) = (v.validate_exp, &c.exp)
        && *exp < now.saturating_sub(v.leeway)
    {
        return Err(JwtError::Expired);
    }
    if let (true, TryParse::Parsed(nbf)) = (v.validate_nbf, &c.nbf)
        && *nbf > now.saturating_add(v.leeway)
    {
        return Err(JwtError::NotYetValid);
    }
    if let (TryParse::Parsed(iss), Some(accepted)) = (&c.iss, &v.issuers)
        && !iss.any_in(accepted)
    {
        return Err(JwtError::Issuer);
    }
    if v.validate_aud
        && let TryParse::Parsed(aud) = &c.aud
    {
        let ok = match &v.audience {
            Some(accepted) => aud.any_in(accepted),
            // An `aud` nobody asked for: the token is meant for someone else.
            None => false,
        };
        if !ok {
            return Err(JwtError::Audience);
        }
    }
    Ok(())
}

/// An HS256 token over `claims`, header `{"typ":"JWT","alg":"HS256"}` (InsForge's own layout).
pub fn encode_hs256<T: Serialize>(claims: &T, secret: &[u8]) -> Result<String, JwtError> {
    use hmac::Mac;
    let header = B64.encode(br#"{"typ":"JWT","alg":"HS256"}"#);
    let payload = B64.encode(serde_json::to_vec(claims).map_err(|_| JwtError::Malformed)?);
    let message = format!("{header}.{payload}");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).map_err(|_| JwtError::Malformed)?;
    mac.update(message.as_bytes());
    Ok(format!("{message}.{}", B64.encode(mac.finalize().into_bytes())))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// A 2048-bit test key pair (tests/fixtures/jwt-test-key.json: PKCS#1 DER, n, e), generated once
    /// with openssl; ring cannot generate RSA keys.
    fn key() -> (ring::signature::RsaKeyPair, RsaKey) {
        let f: Value = serde_json::from_str(include_str!("../../tests/fixtures/jwt-test-key.json")).unwrap();
        let der = base64::engine::general_purpose::STANDARD.decode(f["pkcs1"].as_str().unwrap()).unwrap();
        let pair = ring::signature::RsaKeyPair::from_der(&der).unwrap();
        let public = RsaKey::from_components(f["n"].as_str().unwrap(), f["e"].as_str().unwrap()).unwrap();
        (pair, public)
    }

    fn sign(pair: &ring::signature::RsaKeyPair, header: &Value, claims: &str) -> String {
        let message = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims));
        let mut sig = vec![0; pair.public().modulus_len()];
        let rng = ring::rand::SystemRandom::new();
        pair.sign(&ring::signature::RSA_PKCS1_SHA256, &rng, message.as_bytes(), &mut sig).unwrap();
        format!("{message}.{}", B64.encode(sig))
    }

    const NOW: u64 = 1_800_000_000;

    fn rs(claims: Value) -> String {
        sign(&key().0, &json!({"alg": "RS256", "typ": "JWT", "kid": "k1"}), &claims.to_string())
    }

    fn stytch_like() -> Validation {
        Validation {
            leeway: 30,
            validate_nbf: true,
            issuers: Some(vec!["stytch.com/p".into()]),
            audience: Some(vec!["p".into()]),
            required: vec!["exp", "nbf", "iss", "aud", "sub"],
            ..Validation::default()
        }
    }

    fn good() -> Value {
        json!({"sub": "u", "iss": "stytch.com/p", "aud": ["p"], "exp": NOW + 60, "nbf": NOW - 1})
    }

    fn decode_now(token: &str, v: &Validation) -> Result<Value, JwtError> {
        decode_at::<Value>(token, &key().1, v, NOW)
    }

    #[test]
    fn a_genuine_token_decodes() {
        let c = decode_now(&rs(good()), &stytch_like()).unwrap();
        assert_eq!(c["sub"], "u");
        let h = decode_header(&rs(good())).unwrap();
        assert_eq!((h.alg.as_str(), h.typ.as_deref(), h.kid.as_deref()), ("RS256", Some("JWT"), Some("k1")));
    }

    #[test]
    fn signature_and_algorithm_are_enforced() {
        let (pair, public) = key();
        let t = rs(good());
        let (msg, sig) = t.rsplit_once('.').unwrap();
        // Claims it did not sign, under the genuine signature.
        let (h, _) = msg.split_once('.').unwrap();
        let forged = format!("{h}.{}.{sig}", B64.encode(json!({"sub": "admin"}).to_string()));
        assert_eq!(verify_rs256(&forged, &public), Err(JwtError::Signature));
        // A flipped signature byte; a signature that is not base64url.
        let mut raw = B64.decode(sig).unwrap();
        raw[10] ^= 1;
        assert_eq!(verify_rs256(&format!("{msg}.{}", B64.encode(&raw)), &public), Err(JwtError::Signature));
        assert_eq!(verify_rs256(&format!("{msg}.***"), &public), Err(JwtError::Malformed));
        // HS256 over the same claims, RS512, none (unknown), missing alg.
        let hs = sign(&pair, &json!({"alg": "HS256"}), &good().to_string());
        assert_eq!(verify_rs256(&hs, &public), Err(JwtError::Algorithm));
        let rs512 = sign(&pair, &json!({"alg": "RS512"}), &good().to_string());
        assert_eq!(verify_rs256(&rs512, &public), Err(JwtError::Algorithm));
        assert_eq!(decode_header(&sign(&pair, &json!({"alg": "none"}), "{}")), Err(JwtError::Malformed));
        assert_eq!(decode_header(&sign(&pair, &json!({"kid": "k"}), "{}")), Err(JwtError::Malformed));
        assert_eq!(decode_header(&sign(&pair, &json!({"alg": "RS256", "kid": 5}), "{}")), Err(JwtError::Malformed));
        // Another key.
        let other = RsaKey::from_components(&B64.encode([0xc5u8; 256]), "AQAB").unwrap();
        assert_eq!(verify_rs256(&t, &other), Err(JwtError::Signature));
        assert!(RsaKey::from_components("not base64!", "AQAB").is_err());
        // Shape.
        for bad in ["", "a", "a.b", "..", "a.b.c"] {
            assert_eq!(verify_rs256(bad, &public), Err(JwtError::Malformed), "{bad}");
        }
    }

    #[test]
    fn time_claims_with_leeway() {
        let v = stytch_like();
        let with = |k: &str, val: Value| {
            let mut c = good();
            c[k] = val;
            rs(c)
        };
        assert!(decode_now(&with("exp", json!(NOW - 29)), &v).is_ok());
        assert_eq!(decode_now(&with("exp", json!(NOW - 31)), &v), Err(JwtError::Expired));
        assert!(decode_now(&with("nbf", json!(NOW + 29)), &v).is_ok());
        assert_eq!(decode_now(&with("nbf", json!(NOW + 31)), &v), Err(JwtError::NotYetValid));
        assert!(decode_now(&with("exp", json!((NOW + 60) as f64 + 0.4)), &v).is_ok());
        // Wrong types count as missing when required, else as a bad format.
        assert_eq!(decode_now(&with("exp", json!(-5)), &v), Err(JwtError::MissingClaim("exp")));
        assert_eq!(decode_now(&with("nbf", json!("soon")), &v), Err(JwtError::MissingClaim("nbf")));
        let lax = Validation { validate_nbf: true, ..Validation::default() };
        assert_eq!(decode_now(&with("nbf", json!("soon")), &lax), Err(JwtError::ClaimFormat("nbf")));
        let mut no_exp = good();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert_eq!(decode_now(&rs(no_exp), &v), Err(JwtError::MissingClaim("exp")));
    }

    #[test]
    fn issuer_and_audience() {
        let v = stytch_like();
        let with = |k: &str, val: Value| {
            let mut c = good();
            c[k] = val;
            rs(c)
        };
        assert_eq!(decode_now(&with("iss", json!("stytch.com/q")), &v), Err(JwtError::Issuer));
        assert!(decode_now(&with("iss", json!(["x", "stytch.com/p"])), &v).is_ok());
        assert!(decode_now(&with("aud", json!("p")), &v).is_ok());
        assert_eq!(decode_now(&with("aud", json!(["q", "r"])), &v), Err(JwtError::Audience));
        assert_eq!(decode_now(&with("aud", json!([])), &v), Err(JwtError::Audience));
        assert_eq!(decode_now(&with("aud", json!(5)), &v), Err(JwtError::MissingClaim("aud")));
        // aud checked only when present (the Descope verifier's settings).
        let descope = Validation { leeway: 30, validate_nbf: true, audience: Some(vec!["p".into()]), required: vec!["exp", "sub"], ..Validation::default() };
        let mut c = good();
        c.as_object_mut().unwrap().remove("aud");
        assert!(decode_now(&rs(c), &descope).is_ok());
        assert_eq!(decode_now(&with("aud", json!("q")), &descope), Err(JwtError::Audience));
        // Without any accepted audience, a token that names one is refused.
        let none = Validation { audience: None, ..descope };
        assert_eq!(decode_now(&with("aud", json!("p")), &none), Err(JwtError::Audience));
    }

    #[test]
    fn the_claims_type_is_decoded_before_the_checks() {
        #[derive(Deserialize, Debug)]
        struct Strict {
            #[allow(dead_code)]
            sub: String,
        }
        let mut c = good();
        c["sub"] = json!(5);
        assert_eq!(decode_at::<Strict>(&rs(c), &key().1, &stytch_like(), NOW).unwrap_err(), JwtError::Malformed);
        assert_eq!(decode_at::<Strict>(&rs(json!({"exp": NOW + 60})), &key().1, &stytch_like(), NOW).unwrap_err(), JwtError::Malformed);
        // A payload that is not JSON.
        let t = sign(&key().0, &json!({"alg": "RS256"}), "not json");
        assert_eq!(decode_now(&t, &stytch_like()), Err(JwtError::Malformed));
    }

    /// The same tokens through jsonwebtoken 10.4 (the verifier this module replaced; a
    /// dev-dependency only) and through `decode`: the same outcome for every one.
    #[test]
    fn same_outcome_as_jsonwebtoken() {
        use jsonwebtoken::errors::ErrorKind as K;
        let (pair, public) = key();
        let f: Value = serde_json::from_str(include_str!("../../tests/fixtures/jwt-test-key.json")).unwrap();
        let theirs_key = jsonwebtoken::DecodingKey::from_rsa_components(f["n"].as_str().unwrap(), f["e"].as_str().unwrap()).unwrap();
        let now = now_s();
        let exps = [json!(now + 60), json!(now - 20), json!(now - 40), json!(-5), json!("x"), json!((now + 60) as f64), Value::Null];
        let nbfs = [json!(now - 1), json!(now + 20), json!(now + 40), json!(-1), json!("x"), Value::Null];
        let isss = [json!("stytch.com/p"), json!("other"), json!(["a", "stytch.com/p"]), json!([]), json!(5), Value::Null];
        let auds = [json!("p"), json!(["p", "q"]), json!(["q"]), json!([]), json!(5), Value::Null];
        let subs = [json!("u"), json!(5), Value::Null];
        let headers = [
            json!({"alg": "RS256", "typ": "JWT", "kid": "k1"}),
            json!({"alg": "RS256"}),
            json!({"alg": "HS256", "kid": "k1"}),
            json!({"alg": "none"}),
            json!({"typ": "JWT"}),
            json!({"alg": "RS256", "kid": 7}),
        ];
        let configs = [
            (stytch_like(), vec!["exp", "nbf", "iss", "aud", "sub"]),
            (Validation { leeway: 30, validate_nbf: true, audience: Some(vec!["p".into()]), required: vec!["exp", "sub"], ..Validation::default() }, vec!["exp", "sub"]),
        ];
        let mut rng = fastrand::Rng::with_seed(19);
        let mut pick = |n: usize| rng.usize(..n);
        let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
        for i in 0..1200 {
            let mut c = serde_json::Map::new();
            for (name, v) in [("exp", &exps[pick(exps.len())]), ("nbf", &nbfs[pick(nbfs.len())]), ("iss", &isss[pick(isss.len())]), ("aud", &auds[pick(auds.len())]), ("sub", &subs[pick(subs.len())])] {
                if !v.is_null() {
                    c.insert(name.into(), v.clone());
                }
            }
            let header = if i % 4 == 0 { &headers[pick(headers.len())] } else { &headers[0] };
            let mut token = sign(&pair, header, &Value::Object(c).to_string());
            if i % 10 == 1 {
                token.push('A'); // signature no longer matches (or is not base64url)
            }
            let (mine, required) = &configs[i % 2];
            let ours = decode::<Value>(&token, &public, mine).err();
            let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
            v.leeway = mine.leeway;
            v.validate_nbf = mine.validate_nbf;
            if let Some(iss) = &mine.issuers {
                v.set_issuer(iss);
            }
            v.set_audience(mine.audience.as_ref().unwrap());
            v.set_required_spec_claims(required);
            let theirs = jsonwebtoken::decode::<Value>(&token, &theirs_key, &v).err().map(|e| match e.kind() {
                K::ExpiredSignature => JwtError::Expired,
                K::ImmatureSignature => JwtError::NotYetValid,
                K::InvalidIssuer => JwtError::Issuer,
                K::InvalidAudience => JwtError::Audience,
                K::InvalidSignature => JwtError::Signature,
                K::InvalidAlgorithm => JwtError::Algorithm,
                K::MissingRequiredClaim(c) => JwtError::MissingClaim(["exp", "nbf", "iss", "aud", "sub"].into_iter().find(|n| n == c).unwrap()),
                K::InvalidClaimFormat(c) => JwtError::ClaimFormat(["exp", "nbf"].into_iter().find(|n| n == c).unwrap()),
                _ => JwtError::Malformed,
            });
            // jsonwebtoken keeps the required claims in a HashSet: with several missing, which one
            // it names varies. The callers map any MissingClaim alike (SessionError::Claims).
            let class = |e: &Option<JwtError>| match e {
                Some(JwtError::MissingClaim(_)) => Some(JwtError::MissingClaim("any")),
                other => other.clone(),
            };
            assert_eq!(class(&ours), class(&theirs), "token {i}: {token}");
            let ours = class(&ours);
            *outcomes.entry(format!("{ours:?}")).or_default() += 1;
        }
        // Every outcome was reached, so the comparison covered each branch.
        for o in ["None", "Some(Expired)", "Some(NotYetValid)", "Some(Issuer)", "Some(Audience)", "Some(Signature)", "Some(Algorithm)", "Some(Malformed)", "Some(MissingClaim(\"any\"))", "Some(ClaimFormat(\"nbf\"))"] {
            assert!(outcomes.contains_key(o), "{o} never happened: {outcomes:?}");
        }
    }

    #[test]
    fn hs256_matches_the_rfc_7515_layout() {
        let t = encode_hs256(&json!({"sub": "u"}), b"secret").unwrap();
        let (h, rest) = t.split_once('.').unwrap();
        let (p, s) = rest.split_once('.').unwrap();
        assert_eq!(B64.decode(h).unwrap(), br#"{"typ":"JWT","alg":"HS256"}"#);
        assert_eq!(B64.decode(p).unwrap(), br#"{"sub":"u"}"#);
        // HMAC-SHA256 of the signing input, recomputed with ring.
        let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"secret");
        assert!(ring::hmac::verify(&k, format!("{h}.{p}").as_bytes(), &B64.decode(s).unwrap()).is_ok());
    }
}
