//! RS256 signing keys (aws-lc-rs) and compact JWT encode/verify.

use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{self, KeyPair as _, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

pub struct SigningKey {
    pub kid: String,
    keypair: KeyPair,
    n: String,
    e: String,
    public_der: Vec<u8>,
}

impl SigningKey {
    pub fn generate(live: bool) -> Result<SigningKey, String> {
        let keypair = KeyPair::generate(KeySize::Rsa2048).map_err(|e| format!("RSA keygen: {e}"))?;
        let public = keypair.public_key();
        let comps: PublicKeyComponents<Vec<u8>> = public.into();
        Ok(SigningKey {
            kid: format!("jwk-{}-{}", if live { "live" } else { "test" }, crate::util::uuid_v4()),
            n: B64.encode(&comps.n),
            e: B64.encode(&comps.e),
            public_der: public.as_ref().to_vec(),
            keypair,
        })
    }

    pub fn jwk(&self) -> Value {
        json!({
            "alg": "RS256",
            "e": self.e,
            "key_ops": ["verify"],
            "kid": self.kid,
            "kty": "RSA",
            "n": self.n,
            "use": "sig",
            "x5c": [],
            "x5tS256": "",
        })
    }

    pub fn sign_jwt(&self, claims: &Value) -> Result<String, String> {
        let header = json!({"alg": "RS256", "kid": self.kid, "typ": "JWT"});
        let h = B64.encode(serde_json::to_vec(&header).map_err(|e| e.to_string())?);
        let c = B64.encode(serde_json::to_vec(claims).map_err(|e| e.to_string())?);
        let signing_input = format!("{h}.{c}");
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let mut sig = vec![0u8; self.keypair.public_modulus_len()];
        self.keypair
            .sign(&signature::RSA_PKCS1_SHA256, &rng, signing_input.as_bytes(), &mut sig)
            .map_err(|_| "RSA sign failed".to_string())?;
        Ok(format!("{signing_input}.{}", B64.encode(sig)))
    }

    fn verify(&self, signing_input: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &self.public_der)
            .verify(signing_input, sig)
            .is_ok()
    }
}

#[derive(Debug)]
pub enum JwtError {
    Malformed,
    UnknownKey,
    BadSignature,
}

/// Verify the signature of a compact RS256 JWT against `keys` (by `kid`); returns the claims.
/// Time claims are *not* checked here (Stytch accepts an expired JWT whose session is alive).
pub fn verify_jwt(jwt: &str, keys: &[SigningKey]) -> Result<Value, JwtError> {
    let mut parts = jwt.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header: Value = B64
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Malformed)?;
    let claims: Value = B64
        .decode(c)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Malformed)?;
    let sig = B64.decode(s).map_err(|_| JwtError::Malformed)?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(JwtError::Malformed);
    }
    let kid = header.get("kid").and_then(Value::as_str).ok_or(JwtError::Malformed)?;
    let key = keys.iter().find(|k| k.kid == kid).ok_or(JwtError::UnknownKey)?;
    let signing_input = &jwt[..h.len() + 1 + c.len()];
    if !key.verify(signing_input.as_bytes(), &sig) {
        return Err(JwtError::BadSignature);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_roundtrip() {
        let k = SigningKey::generate(false).unwrap();
        let jwt = k.sign_jwt(&json!({"sub": "x"})).unwrap();
        let claims = verify_jwt(&jwt, std::slice::from_ref(&k)).unwrap();
        assert_eq!(claims["sub"], "x");
        let mut bad = jwt.clone();
        bad.push('A');
        assert!(verify_jwt(&bad, std::slice::from_ref(&k)).is_err());
    }
}
