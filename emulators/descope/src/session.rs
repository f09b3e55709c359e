//! Session (`drn: "DS"`) and refresh (`drn: "DSR"`) JWT claims, the way Descope lays them out.

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::state::{Inner, Obj};
use crate::util::{now_unix, str_field, strings};

pub const REFRESH_TTL_S: i64 = 28 * 24 * 3600;

#[derive(Default, Clone)]
pub struct SessionSpec {
    /// `amr` claim; empty → `["email"]`.
    pub amr: Vec<String>,
    /// Project-level roles instead of the user's `roleNames`.
    pub roles: Option<Vec<String>>,
    /// Project-level permissions instead of the ones the roles grant.
    pub permissions: Option<Vec<String>>,
    /// The whole `tenants` claim instead of the one built from `userTenants`.
    pub tenants: Option<Value>,
    /// Current tenant (`dct`); the user must belong to it.
    pub dct: Option<String>,
    /// With `dct`: leave `tenants` out and put that tenant's roles/permissions at the top level
    /// (Descope's "current tenant only" token format).
    pub dct_only: bool,
    pub ttl_s: i64,
    pub iat_offset_s: i64,
    pub aud: Option<Value>,
}

fn amr_of(spec: &SessionSpec) -> Vec<String> {
    if spec.amr.is_empty() { vec!["email".to_string()] } else { spec.amr.clone() }
}

/// Claims of a session JWT for `user`.
pub fn session_claims(inner: &Inner, user: &Obj, spec: &SessionSpec) -> Result<(Value, i64), ApiError> {
    let store = &inner.store;
    let iat = now_unix() + spec.iat_offset_s;
    let exp = iat + spec.ttl_s;
    let mut c = Map::new();
    c.insert("amr".into(), json!(amr_of(spec)));
    c.insert("drn".into(), json!("DS"));
    c.insert("exp".into(), json!(exp));
    c.insert("iat".into(), json!(iat));
    c.insert("iss".into(), json!(inner.cfg.issuer));
    c.insert("sub".into(), json!(str_field(user, "userId")));
    if let Some(aud) = &spec.aud {
        c.insert("aud".into(), aud.clone());
    }

    let user_tenants: Vec<&Obj> = user
        .get("userTenants")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let mut tenants = Map::new();
    for t in &user_tenants {
        let tid = str_field(t, "tenantId");
        let roles = strings(t.get("roleNames"));
        let perms = store.permissions_of(&roles, Some(tid));
        tenants.insert(tid.to_string(), json!({"roles": roles, "permissions": perms}));
    }
    let tenants = match &spec.tenants {
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(ApiError::bad_request("tenants must be an object {tenantId: {roles, permissions}}")),
        None => tenants,
    };

    let project_roles = spec.roles.clone().unwrap_or_else(|| strings(user.get("roleNames")));
    let project_perms = spec.permissions.clone().unwrap_or_else(|| store.permissions_of(&project_roles, None));

    match &spec.dct {
        Some(dct) => {
            let Some(entry) = tenants.get(dct) else {
                return Err(ApiError::invalid(format!("User is not a member of tenant '{dct}'")));
            };
            c.insert("dct".into(), json!(dct));
            if spec.dct_only {
                let roles = spec.roles.clone().unwrap_or_else(|| strings(entry.get("roles")));
                let perms = spec.permissions.clone().unwrap_or_else(|| strings(entry.get("permissions")));
                c.insert("roles".into(), json!(roles));
                c.insert("permissions".into(), json!(perms));
            } else {
                c.insert("roles".into(), json!(project_roles));
                c.insert("permissions".into(), json!(project_perms));
                c.insert("tenants".into(), Value::Object(tenants));
            }
        }
        None => {
            c.insert("roles".into(), json!(project_roles));
            c.insert("permissions".into(), json!(project_perms));
            if !tenants.is_empty() {
                c.insert("tenants".into(), Value::Object(tenants));
            }
        }
    }
    Ok((Value::Object(c), exp))
}

/// Claims of a refresh JWT (`drn: "DSR"`).
pub fn refresh_claims(inner: &Inner, user: &Obj, spec: &SessionSpec, ttl_s: i64) -> (Value, i64) {
    let iat = now_unix() + spec.iat_offset_s;
    let exp = iat + ttl_s;
    let mut c = Map::new();
    c.insert("amr".into(), json!(amr_of(spec)));
    c.insert("drn".into(), json!("DSR"));
    c.insert("exp".into(), json!(exp));
    c.insert("iat".into(), json!(iat));
    c.insert("iss".into(), json!(inner.cfg.issuer));
    c.insert("sub".into(), json!(str_field(user, "userId")));
    if let Some(dct) = &spec.dct {
        c.insert("dct".into(), json!(dct));
    }
    (Value::Object(c), exp)
}

pub fn sign(inner: &Inner, claims: &Value) -> Result<String, ApiError> {
    inner.current_key().sign_jwt(claims).map_err(|e| ApiError::new(500, crate::error::INTERNAL, e))
}
