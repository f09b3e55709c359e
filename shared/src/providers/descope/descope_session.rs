//! Descope session JWTs verified locally against the project's JWKS (`{base}/v2/keys/{project}`):
//! RS256 only, `kid` required (`typ` is not: Descope does not promise it), `iss` the project id or
//! a URL ending in `/{project_id}`, `drn == "DS"` (a refresh token is not a session), `sub` and
//! `exp` required, `nbf` and `aud` checked only when present, at most 30 s of skew.
//!
//! Descope's claim layout (read from @descope/core-js-sdk 2.71 `getJwtRoles`): project-level
//! `roles` at the top, per-tenant roles in `tenants: {T: {roles, permissions}}`, the current
//! tenant in `dct`. With the "current tenant only" token format `tenants` is absent and the
//! top-level `roles` are the `dct` tenant's.

use std::collections::HashMap;

use serde::Deserialize;

use crate::jwks::{Jwks, rs256_key};
use crate::jwt::{self, Validation};
use crate::session::{LEEWAY_S, ProjectRoles, Session, SessionError};

/// Where a Descope project's signing keys are published.
pub fn descope_jwks_url(base: &str, project_id: &str) -> String {
    format!("{}/v2/keys/{project_id}", base.trim_end_matches('/'))
}

#[derive(Deserialize, Default)]
struct TenantClaim {
    #[serde(default)]
    roles: Vec<String>,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    drn: Option<String>,
    #[serde(default)]
    amr: Vec<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    tenants: Option<HashMap<String, TenantClaim>>,
    #[serde(default)]
    dct: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

pub struct DescopeVerifier {
    pub jwks: Jwks,
    project_id: String,
}

impl DescopeVerifier {
    pub fn new(jwks: Jwks, project_id: String) -> Self {
        DescopeVerifier { jwks, project_id }
    }

    /// `iss` is the bare project id (older projects) or a URL ending in `/{project_id}`
    /// (`https://api.descope.com/P2…`, regional and custom domains).
    fn issuer_ok(&self, iss: &str) -> bool {
        iss == self.project_id || iss.strip_suffix(self.project_id.as_str()).is_some_and(|head| head.ends_with('/'))
    }

    pub async fn verify(&self, token: &str) -> Result<Session, SessionError> {
        let (_, key) = rs256_key(&self.jwks, token).await?;
        let v = Validation {
            leeway: LEEWAY_S,
            validate_exp: true,
            // Both only when present (jwt::decode skips absent ones unless they are required).
            validate_nbf: true,
            validate_aud: true,
            audience: Some(vec![self.project_id.clone()]),
            required: vec!["exp", "sub"],
            ..Validation::default()
        };
        let c: Claims = jwt::decode(token, &key, &v)?;
        if !c.iss.as_deref().is_some_and(|iss| self.issuer_ok(iss)) {
            return Err(SessionError::Issuer);
        }
        // A refresh JWT (`DSR`) is signed by the same key and carries the same `sub`: only a
        // session JWT may authorize a request.
        if c.drn.as_deref() != Some("DS") {
            return Err(SessionError::Claims);
        }
        let subject = c.sub.filter(|s| !s.is_empty()).ok_or(SessionError::Claims)?;
        let expires_at = c.exp.ok_or(SessionError::Claims)?;
        let dct = c.dct.filter(|t| !t.is_empty());
        // The current tenant is `dct` only. A session holding several tenants without a selected
        // one has no current tenant: it acts as the user alone (project-level roles).
        // Top-level roles are project-level unless the token carries only the current tenant
        // (`dct` set, `tenants` absent): then they are that tenant's.
        let project_roles =
            if dct.is_none() || c.tenants.is_some() { ProjectRoles::Known(c.roles.clone()) } else { ProjectRoles::Indistinct };
        let mut roles = c.roles;
        let mut organization_id = dct.clone();
        if let (Some(t), Some(tenants)) = (&dct, &c.tenants) {
            // Normally `dct` is one of `tenants`. If Descope ever signs one that is not, nothing
            // proves membership: no tenant roles, and no current tenant either (its documents
            // stay closed), rather than trusting half of the claim.
            match tenants.get(t) {
                Some(tc) => roles.extend(tc.roles.iter().cloned()),
                None => organization_id = None,
            }
        }
        // (`tenants` absent with `dct` set: the top-level roles already are that tenant's.)
        let mut seen = std::collections::HashSet::new();
        roles.retain(|r| seen.insert(r.clone()));
        let mut factors = c.amr;
        factors.retain(|f| !f.is_empty());
        factors.sort();
        factors.dedup();
        Ok(Session {
            subject,
            organization_id,
            organization_slug: None,
            roles,
            project_roles,
            factors,
            expires_at,
            email: c.email.filter(|e| !e.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use serde_json::{Value, json};

    use super::*;

    const PID: &str = "P2gatehousetest0000000000000000x";
    const KEY: &str = "K2test-management-key";
    const TENANT: &str = "T2acme000000000000000000000000";

    fn seed() -> Value {
        json!({
            "customAttributes": [{"name": "gatehouseSync", "type": 1}],
            "tenants": [{"id": TENANT, "name": "Acme"}, {"id": "T2beta000000000000000000000000", "name": "Beta"}],
            "roles": [
                {"name": "reader"},
                {"name": "editor"},
                {"name": "acme-admin", "tenantId": TENANT}
            ],
            "users": [{
                "loginId": "ada@acme.example", "userId": "U2ada0000000000000000000000000", "email": "ada@acme.example",
                "roleNames": ["reader"],
                "userTenants": [
                    {"tenantId": TENANT, "roleNames": ["acme-admin", "editor"]},
                    {"tenantId": "T2beta000000000000000000000000", "roleNames": []}
                ]
            }]
        })
    }

    struct Emu {
        base: String,
        http: reqwest::Client,
    }

    impl Emu {
        async fn start() -> Emu {
            Emu { base: crate::providers::descope::test_emulator(PID, KEY, seed()).await, http: reqwest::Client::new() }
        }

        fn verifier(&self) -> DescopeVerifier {
            let jwks = Jwks::new(
                self.http.clone(),
                descope_jwks_url(&self.base, PID),
                Duration::from_secs(30),
                Duration::from_secs(600),
                Duration::from_secs(2),
            );
            DescopeVerifier::new(jwks, PID.into())
        }

        /// `/__gatehouse/sessions` with `extra` merged into `{login_id}`; the answer's `session_jwt`
        /// (or `refresh_jwt` when `refresh` is asked for).
        async fn mint(&self, extra: Value) -> Value {
            let mut body = json!({"login_id": "ada@acme.example"});
            body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            let r = self.http.post(format!("{}/__gatehouse/sessions", self.base)).json(&body).send().await.unwrap();
            assert!(r.status().is_success(), "mint: {}", r.text().await.unwrap());
            r.json().await.unwrap()
        }

        async fn jwt(&self, extra: Value) -> String {
            self.mint(extra).await["session_jwt"].as_str().unwrap().to_string()
        }
    }

    fn unsigned(header: Value, claims: Value, sig: &str) -> String {
        format!("{}.{}.{sig}", B64.encode(header.to_string()), B64.encode(claims.to_string()))
    }

    #[tokio::test]
    async fn descope_sessions_map_roles_and_tenant_for_each_layout() {
        let emu = Emu::start().await;
        let v = emu.verifier();

        // Project roles only; several tenants but none selected → no current tenant.
        let s = v.verify(&emu.jwt(json!({"amr": ["email"]})).await).await.unwrap();
        assert_eq!(s.subject, "U2ada0000000000000000000000000");
        assert_eq!(s.organization_id, None);
        assert_eq!(s.organization_slug, None);
        assert_eq!(s.roles, vec!["reader"]);
        assert_eq!(s.project_roles, ProjectRoles::Known(vec!["reader".to_string()]));
        assert_eq!(s.factors, vec!["email"]);
        assert!(!s.mfa());
        assert_eq!(s.email, None);

        // tenants + dct: project roles plus the current tenant's.
        let m = emu.mint(json!({"tenant": TENANT, "amr": ["totp", "email", "email"]})).await;
        let s = v.verify(m["session_jwt"].as_str().unwrap()).await.unwrap();
        assert_eq!(s.organization_id.as_deref(), Some(TENANT));
        assert_eq!(s.roles, vec!["reader", "acme-admin", "editor"]);
        assert_eq!(s.project_roles, ProjectRoles::Known(vec!["reader".to_string()]), "tenant roles are not project roles");
        assert_eq!(s.factors, vec!["email", "totp"]);
        assert_eq!(s.expires_at, m["expires_at"].as_i64().unwrap());
        assert!(s.mfa());

        // dct only (no `tenants` claim): the top-level roles are that tenant's.
        let s = v.verify(&emu.jwt(json!({"tenant": TENANT, "dct_only": true})).await).await.unwrap();
        assert_eq!(s.organization_id.as_deref(), Some(TENANT));
        assert_eq!(s.roles, vec!["acme-admin", "editor"]);
        assert_eq!(s.project_roles, ProjectRoles::Indistinct, "the dct-only layout cannot tell project roles apart");

        // Step-up: Descope puts "mfa" in amr; the email claim is taken when present.
        let s = v.verify(&emu.jwt(json!({"amr": ["mfa"], "override_claims": {"email": "ada@acme.example"}})).await).await.unwrap();
        assert!(s.mfa());
        assert_eq!(s.email.as_deref(), Some("ada@acme.example"));
    }

    #[tokio::test]
    async fn descope_claims_are_enforced() {
        let emu = Emu::start().await;
        let v = emu.verifier();
        let with = |over: Value| json!({"override_claims": over});

        // Refresh JWT (DSR) and a token without drn are not sessions.
        let m = emu.mint(json!({"refresh": true})).await;
        assert_eq!(v.verify(m["refresh_jwt"].as_str().unwrap()).await, Err(SessionError::Claims));
        assert_eq!(v.verify(&emu.jwt(with(json!({"drn": null}))).await).await, Err(SessionError::Claims));
        assert_eq!(v.verify(&emu.jwt(with(json!({"drn": "ds"}))).await).await, Err(SessionError::Claims));

        // Issuer: the project id, or a URL ending in /{project_id}.
        assert!(v.verify(&emu.jwt(with(json!({"iss": PID}))).await).await.is_ok());
        let url = format!("https://api.descope.com/{PID}");
        assert!(v.verify(&emu.jwt(with(json!({"iss": url}))).await).await.is_ok());
        for bad in [
            json!(format!("https://evil/{PID}x")),
            json!(format!("https://api.descope.com/x{PID}")),
            json!("P2someoneelse000000000000000000"),
            json!(""),
            json!(null),
        ] {
            assert_eq!(v.verify(&emu.jwt(with(json!({"iss": bad}))).await).await, Err(SessionError::Issuer), "{bad}");
        }

        // exp / nbf / sub.
        assert_eq!(v.verify(&emu.jwt(json!({"ttl_s": -120})).await).await, Err(SessionError::Expired));
        let future = descope_emulator::util::now_unix() + 600;
        assert_eq!(v.verify(&emu.jwt(with(json!({"nbf": future}))).await).await, Err(SessionError::NotYetValid));
        assert!(v.verify(&emu.jwt(with(json!({"nbf": future - 700}))).await).await.is_ok());
        assert_eq!(v.verify(&emu.jwt(with(json!({"sub": null}))).await).await, Err(SessionError::Claims));
        assert_eq!(v.verify(&emu.jwt(with(json!({"sub": ""}))).await).await, Err(SessionError::Claims));
        assert_eq!(v.verify(&emu.jwt(with(json!({"exp": null}))).await).await, Err(SessionError::Claims));

        // A `dct` that is not one of the signed `tenants`: no current tenant, no tenant roles.
        let odd = v.verify(&emu.jwt(with(json!({"dct": "T2notamember00000000000000000", "tenants": {"T2x": {"roles": ["editor"]}}}))).await).await.unwrap();
        assert_eq!(odd.organization_id, None);
        assert!(!odd.roles.contains(&"editor".to_string()));

        // aud only when present, and then it must name the project.
        assert!(v.verify(&emu.jwt(json!({"aud": PID})).await).await.is_ok());
        assert!(v.verify(&emu.jwt(json!({"aud": ["other", PID]})).await).await.is_ok());
        assert_eq!(v.verify(&emu.jwt(json!({"aud": "P2other"})).await).await, Err(SessionError::Audience));
        assert_eq!(v.verify(&emu.jwt(json!({"aud": ["a", "b"]})).await).await, Err(SessionError::Audience));
    }

    #[tokio::test]
    async fn descope_headers_and_signatures_are_enforced() {
        let emu = Emu::start().await;
        let v = emu.verifier();
        let good = emu.jwt(json!({})).await;
        let mut parts = good.split('.');
        let (h, c, _) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let claims: Value = serde_json::from_slice(&B64.decode(c).unwrap()).unwrap();
        let header: Value = serde_json::from_slice(&B64.decode(h).unwrap()).unwrap();
        let kid = header["kid"].as_str().unwrap();

        // HS256 (even "signed" with the public key material), none, missing kid.
        let hs = unsigned(json!({"alg": "HS256", "kid": kid, "typ": "JWT"}), claims.clone(), "c2ln");
        assert_eq!(v.verify(&hs).await, Err(SessionError::Algorithm));
        let none = unsigned(json!({"alg": "none", "kid": kid}), claims.clone(), "");
        assert!(v.verify(&none).await.is_err());
        let no_kid = unsigned(json!({"alg": "RS256", "typ": "JWT"}), claims.clone(), "c2ln");
        assert_eq!(v.verify(&no_kid).await, Err(SessionError::Header));

        // A kid the project never published (signed by a key of our own).
        let stranger = descope_emulator::new_signing_key().unwrap();
        let foreign = stranger.sign_jwt(&claims).unwrap();
        assert_eq!(v.verify(&foreign).await, Err(SessionError::UnknownKey));
        // The project's kid over claims it did not sign.
        let mut forged = claims.clone();
        forged["roles"] = json!(["admin"]);
        let tampered = format!("{h}.{}.{}", B64.encode(forged.to_string()), good.rsplit('.').next().unwrap());
        assert_eq!(v.verify(&tampered).await, Err(SessionError::Signature));
        // Garbage and oversize.
        assert_eq!(v.verify("a.b").await, Err(SessionError::Malformed));
        assert_eq!(v.verify(&"a".repeat(crate::session::MAX_TOKEN_LEN + 1)).await, Err(SessionError::Malformed));
        // The genuine token still passes after all that.
        assert!(v.verify(&good).await.is_ok());
    }

    #[tokio::test]
    async fn descope_jwks_unreachable_is_503() {
        let jwks = Jwks::new(
            reqwest::Client::new(),
            descope_jwks_url("http://127.0.0.1:9", PID),
            Duration::from_secs(30),
            Duration::from_secs(60),
            Duration::from_millis(100),
        );
        let v = DescopeVerifier::new(jwks, PID.into());
        let t = unsigned(json!({"alg": "RS256", "kid": "SK2x"}), json!({"sub": "U", "exp": 1, "drn": "DS", "iss": PID}), "c2ln");
        let e = v.verify(&t).await.unwrap_err();
        assert_eq!(e, SessionError::KeysUnavailable);
        assert_eq!(e.status(), 503);
        assert_eq!(descope_jwks_url("https://api.descope.com/", PID), format!("https://api.descope.com/v2/keys/{PID}"));
    }

    #[test]
    fn mfa_is_two_factors_or_an_explicit_mfa() {
        let s = |f: &[&str]| Session {
            subject: "U".into(),
            organization_id: None,
            organization_slug: None,
            roles: vec![],
            project_roles: ProjectRoles::Indistinct,
            factors: f.iter().map(|x| x.to_string()).collect(),
            expires_at: 0,
            email: None,
        };
        assert!(s(&["email", "totp"]).mfa());
        assert!(s(&["mfa"]).mfa());
        assert!(!s(&["email"]).mfa());
        assert!(!s(&[]).mfa());
    }
}
