//! The project's data and every rule the management API enforces: users, tenants, roles and
//! custom attribute definitions. Handlers (api.rs) and seeding call the same functions, so a seed
//! is validated exactly like API calls.

use serde_json::{Map, Value, json};

use crate::error::{self, ApiError};
use crate::state::Obj;
use crate::util::{
    descope_id, now_unix, opt_bool, opt_i64, opt_str, opt_str_list, req_str, str_field, strings, union_into,
};

/// Custom attribute types (the `type` number of a definition). Descope's wire enum is not
/// documented in the SDKs; this numbering is the emulator's (see README).
pub const ATTR_TEXT: i64 = 1;
pub const ATTR_NUMBER: i64 = 2;
pub const ATTR_BOOLEAN: i64 = 3;
pub const ATTR_SELECT: i64 = 4;
pub const ATTR_MULTI_SELECT: i64 = 5;
pub const ATTR_DATE: i64 = 6;

pub const SEARCH_DEFAULT_LIMIT: usize = 100;

#[derive(Default, Clone)]
pub struct Store {
    pub users: Vec<Obj>,
    pub tenants: Vec<Obj>,
    pub roles: Vec<Obj>,
    pub user_attrs: Vec<Obj>,
    pub tenant_attrs: Vec<Obj>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RoleOp {
    Set,
    Add,
    Remove,
}

fn attr_type_from(v: Option<&Value>) -> Result<i64, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(ATTR_TEXT),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(0) => Ok(ATTR_TEXT),
            Some(t @ ATTR_TEXT..=ATTR_DATE) => Ok(t),
            _ => Err(ApiError::invalid_args(format!("unknown custom attribute type {n}"))),
        },
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "text" | "string" => Ok(ATTR_TEXT),
            "number" | "numeric" => Ok(ATTR_NUMBER),
            "boolean" | "bool" => Ok(ATTR_BOOLEAN),
            "select" | "singleselect" => Ok(ATTR_SELECT),
            "multiselect" | "string[]" | "array" => Ok(ATTR_MULTI_SELECT),
            "date" => Ok(ATTR_DATE),
            other => Err(ApiError::invalid_args(format!("unknown custom attribute type {other:?}"))),
        },
        Some(_) => Err(ApiError::invalid_args("custom attribute type must be a number")),
    }
}

fn type_name(t: i64) -> &'static str {
    match t {
        ATTR_NUMBER => "number",
        ATTR_BOOLEAN => "boolean",
        ATTR_SELECT => "single select (string)",
        ATTR_MULTI_SELECT => "multi select (string[])",
        ATTR_DATE => "date (number)",
        _ => "text (string)",
    }
}

fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A definition from an API body or a seed: `{name, type?, displayName?, options?, defaultValue?, ...}`.
fn normalize_attr_def(v: &Value) -> Result<Obj, ApiError> {
    let o = v.as_object().ok_or_else(|| ApiError::invalid_args("custom attribute definitions must be objects"))?;
    let name = req_str(o, "name")?;
    let t = attr_type_from(o.get("type"))?;
    let mut d = Map::new();
    d.insert("name".into(), json!(name));
    d.insert("type".into(), json!(t));
    d.insert(
        "displayName".into(),
        json!(opt_str(o, "displayName")?.filter(|s| !s.is_empty()).unwrap_or_else(|| name.clone())),
    );
    let options: Vec<Value> = match o.get("options") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| match x {
                Value::String(s) => Ok(json!({"value": s, "label": s})),
                Value::Object(m) => Ok(Value::Object(m.clone())),
                _ => Err(ApiError::invalid_args("options must be objects {value, label}")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(ApiError::invalid_args("options must be an array")),
    };
    if !options.is_empty() {
        d.insert("options".into(), Value::Array(options));
    }
    for k in ["defaultValue", "viewPermissions", "editPermissions"] {
        if let Some(v) = o.get(k).filter(|v| !v.is_null()) {
            d.insert(k.into(), v.clone());
        }
    }
    Ok(d)
}

fn check_attr_value(defs: &[Obj], what: &str, key: &str, v: &Value) -> Result<(), ApiError> {
    let def = defs.iter().find(|d| str_field(d, "name") == key).ok_or_else(|| {
        ApiError::invalid(format!("{what} custom attribute '{key}' is not defined in the project"))
    })?;
    if v.is_null() {
        return Ok(());
    }
    let t = def.get("type").and_then(Value::as_i64).unwrap_or(ATTR_TEXT);
    let options: Vec<&str> = def
        .get("options")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|o| o.get("value").and_then(Value::as_str)).collect())
        .unwrap_or_default();
    let mismatch = || {
        ApiError::invalid(format!(
            "{what} custom attribute '{key}' is of type {} but the value is {}",
            type_name(t),
            value_kind(v)
        ))
    };
    let not_option = |s: &str| {
        ApiError::invalid(format!("{what} custom attribute '{key}': {s:?} is not one of its options {options:?}"))
    };
    match t {
        ATTR_NUMBER | ATTR_DATE => v.is_number().then_some(()).ok_or_else(mismatch),
        ATTR_BOOLEAN => v.is_boolean().then_some(()).ok_or_else(mismatch),
        ATTR_SELECT => {
            let s = v.as_str().ok_or_else(mismatch)?;
            if !options.is_empty() && !options.contains(&s) {
                return Err(not_option(s));
            }
            Ok(())
        }
        ATTR_MULTI_SELECT => {
            let a = v.as_array().ok_or_else(mismatch)?;
            for x in a {
                let s = x.as_str().ok_or_else(mismatch)?;
                if !options.is_empty() && !options.contains(&s) {
                    return Err(not_option(s));
                }
            }
            Ok(())
        }
        _ => v.is_string().then_some(()).ok_or_else(mismatch),
    }
}

/// Validate every key of `patch` first, then apply (null removes the key).
fn apply_attrs(defs: &[Obj], what: &str, target: &mut Obj, patch: &Obj) -> Result<(), ApiError> {
    for (k, v) in patch {
        check_attr_value(defs, what, k, v)?;
    }
    for (k, v) in patch {
        if v.is_null() {
            target.remove(k);
        } else {
            target.insert(k.clone(), v.clone());
        }
    }
    Ok(())
}

fn attrs_arg(o: &Obj, k: &str) -> Result<Obj, ApiError> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(ApiError::invalid_args(format!("{k} must be an object"))),
    }
}

/// Whether `have` (a stored attribute value) matches a search filter value.
fn attr_matches(have: Option<&Value>, want: &Value) -> bool {
    let Some(have) = have else { return want.is_null() };
    let eq = |h: &Value, w: &Value| h == w;
    match (have, want) {
        (Value::Array(h), Value::Array(w)) => w.iter().any(|x| h.contains(x)),
        (Value::Array(h), w) => h.contains(w),
        (h, Value::Array(w)) => w.iter().any(|x| eq(h, x)),
        (h, w) => eq(h, w),
    }
}

impl Store {
    // ------------------------------------------------------------ custom attribute definitions

    pub fn create_attrs(&mut self, tenant: bool, attrs: &[Value]) -> Result<(), ApiError> {
        let mut new = Vec::new();
        for a in attrs {
            let d = normalize_attr_def(a)?;
            let name = str_field(&d, "name").to_string();
            let list = if tenant { &self.tenant_attrs } else { &self.user_attrs };
            if list.iter().chain(new.iter()).any(|x: &Obj| str_field(x, "name") == name) {
                return Err(ApiError::invalid(format!("Custom attribute '{name}' already exists")));
            }
            new.push(d);
        }
        if tenant { &mut self.tenant_attrs } else { &mut self.user_attrs }.extend(new);
        Ok(())
    }

    pub fn delete_attrs(&mut self, names: &[String]) {
        self.user_attrs.retain(|d| !names.iter().any(|n| n == str_field(d, "name")));
        for u in &mut self.users {
            if let Some(Value::Object(ca)) = u.get_mut("customAttributes") {
                for n in names {
                    ca.remove(n);
                }
            }
        }
    }

    // ------------------------------------------------------------ roles

    /// A role visible in `tenant` (its own tenant-scoped role first, else the project role), or a
    /// project role when `tenant` is None.
    pub fn find_role(&self, name: &str, tenant: Option<&str>) -> Option<&Obj> {
        let scoped = tenant.and_then(|t| {
            self.roles.iter().find(|r| str_field(r, "name") == name && str_field(r, "tenantId") == t)
        });
        scoped.or_else(|| self.roles.iter().find(|r| str_field(r, "name") == name && str_field(r, "tenantId").is_empty()))
    }

    fn check_roles(&self, names: &[String], tenant: Option<&str>) -> Result<(), ApiError> {
        for n in names {
            if self.find_role(n, tenant).is_none() {
                return Err(ApiError::invalid(match tenant {
                    Some(t) => format!("Role '{n}' does not exist in the project or in tenant '{t}'"),
                    None => format!("Role '{n}' does not exist"),
                }));
            }
        }
        Ok(())
    }

    /// Union of the permissions the roles grant (in `tenant`'s scope when given).
    pub fn permissions_of(&self, roles: &[String], tenant: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        for r in roles {
            if let Some(role) = self.find_role(r, tenant) {
                union_into(&mut out, &strings(role.get("permissionNames")));
            }
        }
        out
    }

    pub fn create_role(&mut self, body: &Obj) -> Result<(), ApiError> {
        let name = req_str(body, "name")?;
        let tenant = opt_str(body, "tenantId")?.filter(|t| !t.is_empty());
        if let Some(t) = &tenant {
            self.tenant_idx(t)?;
        }
        let tid = tenant.clone().unwrap_or_default();
        if self.roles.iter().any(|r| str_field(r, "name") == name && str_field(r, "tenantId") == tid) {
            return Err(ApiError::invalid(format!("Role '{name}' already exists")));
        }
        self.roles.push(json_obj(json!({
            "id": descope_id("RL2"),
            "name": name,
            "description": opt_str(body, "description")?.unwrap_or_default(),
            "permissionNames": opt_str_list(body, "permissionNames")?.unwrap_or_default(),
            "createdTime": now_unix(),
            "tenantId": tid,
            "default": opt_bool(body, "default")?.unwrap_or(false),
            "private": false,
        })));
        Ok(())
    }

    pub fn delete_role(&mut self, body: &Obj) -> Result<(), ApiError> {
        let name = req_str(body, "name")?;
        let tid = opt_str(body, "tenantId")?.unwrap_or_default();
        let before = self.roles.len();
        self.roles.retain(|r| !(str_field(r, "name") == name && str_field(r, "tenantId") == tid));
        if self.roles.len() == before {
            return Err(ApiError::invalid(format!("Role '{name}' does not exist")));
        }
        // Users lose the role where it was the one in effect: a project role stays in a tenant
        // that has its own role of that name, a tenant role only leaves that tenant.
        let own: Vec<String> = self
            .roles
            .iter()
            .filter(|r| str_field(r, "name") == name && !str_field(r, "tenantId").is_empty())
            .map(|r| str_field(r, "tenantId").to_string())
            .collect();
        for u in &mut self.users {
            if tid.is_empty() {
                strip(u, "roleNames", &name);
            }
            if let Some(Value::Array(ts)) = u.get_mut("userTenants") {
                for t in ts.iter_mut().filter_map(Value::as_object_mut) {
                    let t_id = str_field(t, "tenantId").to_string();
                    let affected = if tid.is_empty() { !own.contains(&t_id) } else { t_id == tid };
                    if affected {
                        strip(t, "roleNames", &name);
                    }
                }
            }
        }
        Ok(())
    }

    pub fn search_roles(&self, body: &Obj) -> Result<Vec<Value>, ApiError> {
        let tenant_ids = opt_str_list(body, "tenantIds")?;
        let names = opt_str_list(body, "roleNames")?;
        let like = opt_str(body, "roleNameLike")?.map(|s| s.to_lowercase());
        let perms = opt_str_list(body, "permissionNames")?;
        let include_project = opt_bool(body, "includeProjectRoles")?.unwrap_or(false);
        Ok(self
            .roles
            .iter()
            .filter(|r| {
                let tid = str_field(r, "tenantId");
                let tenant_ok = match &tenant_ids {
                    Some(ts) if !ts.is_empty() => ts.iter().any(|t| t == tid) || (include_project && tid.is_empty()),
                    _ => true,
                };
                tenant_ok
                    && names.as_ref().is_none_or(|n| n.is_empty() || n.iter().any(|x| x == str_field(r, "name")))
                    && like.as_ref().is_none_or(|l| str_field(r, "name").to_lowercase().contains(l))
                    && perms.as_ref().is_none_or(|p| {
                        p.is_empty() || strings(r.get("permissionNames")).iter().any(|x| p.contains(x))
                    })
            })
            .map(|r| Value::Object(r.clone()))
            .collect())
    }

    // ------------------------------------------------------------ tenants

    pub fn tenant_idx(&self, id: &str) -> Result<usize, ApiError> {
        self.tenants
            .iter()
            .position(|t| str_field(t, "id") == id)
            .ok_or_else(|| ApiError::invalid(format!("Tenant '{id}' not found")))
    }

    pub fn render_tenant(&self, t: &Obj) -> Value {
        Value::Object(t.clone())
    }

    pub fn create_tenant(&mut self, body: &Obj) -> Result<String, ApiError> {
        let name = req_str(body, "name")?;
        let id = match opt_str(body, "id")?.filter(|s| !s.is_empty()) {
            Some(id) => {
                if self.tenants.iter().any(|t| str_field(t, "id") == id) {
                    return Err(ApiError::invalid(format!("Tenant '{id}' already exists")));
                }
                id
            }
            None => descope_id("T2"),
        };
        if self.tenants.iter().any(|t| str_field(t, "name") == name) {
            return Err(ApiError::invalid(format!("A tenant named '{name}' already exists")));
        }
        let parent = opt_str(body, "parent")?.unwrap_or_default();
        if !parent.is_empty() {
            self.tenant_idx(&parent)?;
        }
        let mut ca = Map::new();
        apply_attrs(&self.tenant_attrs, "Tenant", &mut ca, &attrs_arg(body, "customAttributes")?)?;
        self.tenants.push(json_obj(json!({
            "id": id,
            "name": name,
            "selfProvisioningDomains": opt_str_list(body, "selfProvisioningDomains")?.unwrap_or_default(),
            "customAttributes": ca,
            "authType": "none",
            "enforceSSO": opt_bool(body, "enforceSSO")?.unwrap_or(false),
            "disabled": opt_bool(body, "disabled")?.unwrap_or(false),
            "createdTime": now_unix(),
            "parent": parent,
            "roleInheritance": opt_str(body, "roleInheritance")?.unwrap_or_default(),
            "defaultRoles": [],
        })));
        Ok(id)
    }

    /// Overwrites every updatable field: omitted or empty fields are cleared, as Descope does.
    pub fn update_tenant(&mut self, body: &Obj) -> Result<(), ApiError> {
        let id = req_str(body, "id")?;
        let idx = self.tenant_idx(&id)?;
        let name = req_str(body, "name")?;
        if self.tenants.iter().any(|t| str_field(t, "name") == name && str_field(t, "id") != id) {
            return Err(ApiError::invalid(format!("A tenant named '{name}' already exists")));
        }
        let mut ca = Map::new();
        apply_attrs(&self.tenant_attrs, "Tenant", &mut ca, &attrs_arg(body, "customAttributes")?)?;
        let domains = opt_str_list(body, "selfProvisioningDomains")?.unwrap_or_default();
        let enforce = opt_bool(body, "enforceSSO")?.unwrap_or(false);
        let disabled = opt_bool(body, "disabled")?.unwrap_or(false);
        let inheritance = opt_str(body, "roleInheritance")?.unwrap_or_default();
        let t = &mut self.tenants[idx];
        t.insert("name".into(), json!(name));
        t.insert("selfProvisioningDomains".into(), json!(domains));
        t.insert("customAttributes".into(), Value::Object(ca));
        t.insert("enforceSSO".into(), json!(enforce));
        t.insert("disabled".into(), json!(disabled));
        t.insert("roleInheritance".into(), json!(inheritance));
        Ok(())
    }

    pub fn delete_tenant(&mut self, body: &Obj) -> Result<(), ApiError> {
        let id = req_str(body, "id")?;
        let idx = self.tenant_idx(&id)?;
        self.tenants.remove(idx);
        self.roles.retain(|r| str_field(r, "tenantId") != id);
        for u in &mut self.users {
            if let Some(Value::Array(ts)) = u.get_mut("userTenants") {
                ts.retain(|t| t.get("tenantId").and_then(Value::as_str) != Some(id.as_str()));
            }
        }
        Ok(())
    }

    pub fn search_tenants(&self, body: &Obj) -> Result<Vec<Value>, ApiError> {
        let ids = opt_str_list(body, "tenantIds")?.unwrap_or_default();
        let names = opt_str_list(body, "tenantNames")?.unwrap_or_default();
        let domains = opt_str_list(body, "tenantSelfProvisioningDomains")?.unwrap_or_default();
        let ca = attrs_arg(body, "customAttributes")?;
        let parent = opt_str(body, "parentTenantId")?.unwrap_or_default();
        Ok(self
            .tenants
            .iter()
            .filter(|t| {
                (ids.is_empty() || ids.iter().any(|x| x == str_field(t, "id")))
                    && (names.is_empty() || names.iter().any(|x| x == str_field(t, "name")))
                    && (domains.is_empty()
                        || strings(t.get("selfProvisioningDomains")).iter().any(|d| domains.contains(d)))
                    && ca.iter().all(|(k, w)| attr_matches(t.get("customAttributes").and_then(|c| c.get(k)), w))
                    && (parent.is_empty() || str_field(t, "parent") == parent)
            })
            .map(|t| self.render_tenant(t))
            .collect())
    }

    // ------------------------------------------------------------ users

    /// By user id or any login id (Descope accepts either in `loginId`).
    pub fn find_user(&self, id: &str) -> Option<usize> {
        if id.is_empty() {
            return None;
        }
        self.users.iter().position(|u| {
            str_field(u, "userId") == id || strings(u.get("loginIds")).iter().any(|l| l == id)
        })
    }

    pub fn user_idx(&self, id: &str) -> Result<usize, ApiError> {
        self.find_user(id).ok_or_else(ApiError::user_not_found)
    }

    /// The user as the management API returns it (tenant names and permissions filled in).
    pub fn render_user(&self, u: &Obj) -> Value {
        let mut out = u.clone();
        let tenants: Vec<Value> = u
            .get("userTenants")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_object)
                    .map(|t| {
                        let tid = str_field(t, "tenantId");
                        let roles = strings(t.get("roleNames"));
                        let name = self
                            .tenants
                            .iter()
                            .find(|x| str_field(x, "id") == tid)
                            .map(|x| str_field(x, "name").to_string())
                            .unwrap_or_default();
                        json!({
                            "tenantId": tid,
                            "roleNames": roles,
                            "tenantName": name,
                            "permissions": self.permissions_of(&roles, Some(tid)),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.insert("userTenants".into(), Value::Array(tenants));
        let roles = strings(u.get("roleNames"));
        out.insert("permissions".into(), json!(self.permissions_of(&roles, None)));
        out.insert("externalIds".into(), u.get("loginIds").cloned().unwrap_or(json!([])));
        for (k, v) in [
            ("TOTP", json!(false)),
            ("SAML", json!(false)),
            ("SCIM", json!(false)),
            ("webauthn", json!(false)),
            ("password", json!(false)),
            ("push", json!(false)),
            ("OAuth", json!({})),
            ("ssoAppIds", json!([])),
            ("editable", json!(true)),
        ] {
            out.entry(k).or_insert(v);
        }
        Value::Object(out)
    }

    fn check_user_tenants(&self, v: Option<&Value>) -> Result<Vec<Value>, ApiError> {
        let mut out: Vec<Value> = Vec::new();
        let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(out) };
        let a = v.as_array().ok_or_else(|| ApiError::invalid_args("userTenants must be an array"))?;
        for t in a {
            let o = t.as_object().ok_or_else(|| ApiError::invalid_args("userTenants entries must be objects"))?;
            let tid = req_str(o, "tenantId")?;
            self.tenant_idx(&tid)?;
            let roles = opt_str_list(o, "roleNames")?.unwrap_or_default();
            self.check_roles(&roles, Some(&tid))?;
            if out.iter().any(|x| x["tenantId"] == json!(tid)) {
                continue;
            }
            out.push(json!({"tenantId": tid, "roleNames": roles}));
        }
        Ok(out)
    }

    pub fn create_user(&mut self, body: &Obj, test: bool) -> Result<Value, ApiError> {
        let login = req_str(body, "loginId")?;
        let mut logins = vec![login];
        union_into(&mut logins, &opt_str_list(body, "additionalLoginIds")?.unwrap_or_default());
        for l in &logins {
            if self.find_user(l).is_some() {
                return Err(ApiError::new(400, error::USER_ALREADY_EXISTS, format!("User with login ID '{l}' already exists")));
            }
        }
        let user_id = match opt_str(body, "userId")?.filter(|s| !s.is_empty()) {
            Some(id) if self.find_user(&id).is_some() => {
                return Err(ApiError::new(400, error::USER_ALREADY_EXISTS, format!("User '{id}' already exists")));
            }
            Some(id) => id,
            None => descope_id("U2"),
        };
        let roles = opt_str_list(body, "roleNames")?.unwrap_or_default();
        self.check_roles(&roles, None)?;
        let tenants = self.check_user_tenants(body.get("userTenants"))?;
        let mut ca = Map::new();
        apply_attrs(&self.user_attrs, "User", &mut ca, &attrs_arg(body, "customAttributes")?)?;
        let status = match opt_str(body, "status")?.as_deref() {
            None | Some("") => "enabled".to_string(),
            Some(s @ ("enabled" | "disabled" | "invited" | "expired")) => s.to_string(),
            Some(s) => return Err(ApiError::invalid_args(format!("unknown status {s:?}"))),
        };
        let name = match opt_str(body, "name")? {
            Some(n) => n,
            None => opt_str(body, "displayName")?.unwrap_or_default(),
        };
        let s = |k: &str| opt_str(body, k).map(Option::unwrap_or_default);
        let user = json_obj(json!({
            "loginIds": logins,
            "userId": user_id,
            "name": name,
            "givenName": s("givenName")?,
            "middleName": s("middleName")?,
            "familyName": s("familyName")?,
            "email": s("email")?,
            "phone": s("phone")?,
            "verifiedEmail": opt_bool(body, "verifiedEmail")?.unwrap_or(false),
            "verifiedPhone": opt_bool(body, "verifiedPhone")?.unwrap_or(false),
            "picture": s("picture")?,
            "roleNames": roles,
            "userTenants": tenants,
            "customAttributes": ca,
            "status": status,
            "test": test || opt_bool(body, "test")?.unwrap_or(false),
            "createdTime": now_unix(),
        }));
        let out = self.render_user(&user);
        self.users.push(user);
        Ok(out)
    }

    pub fn delete_user(&mut self, body: &Obj) -> Result<(), ApiError> {
        let id = match opt_str(body, "loginId")?.filter(|s| !s.is_empty()) {
            Some(l) => l,
            None => req_str(body, "userId")?,
        };
        // deleting a missing user succeeds (idempotent)
        if let Some(i) = self.find_user(&id) {
            self.users.remove(i);
        }
        Ok(())
    }

    pub fn update_custom_attribute(&mut self, body: &Obj) -> Result<Value, ApiError> {
        let login = req_str(body, "loginId")?;
        let key = req_str(body, "attributeKey")?;
        let value = body.get("attributeValue").cloned().unwrap_or(Value::Null);
        let i = self.user_idx(&login)?;
        let mut patch = Map::new();
        patch.insert(key, value);
        let defs = std::mem::take(&mut self.user_attrs);
        let u = &mut self.users[i];
        let mut ca = match u.remove("customAttributes") {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let r = apply_attrs(&defs, "User", &mut ca, &patch);
        u.insert("customAttributes".into(), Value::Object(ca));
        self.user_attrs = defs;
        r?;
        Ok(self.render_user(&self.users[i]))
    }

    pub fn update_roles(&mut self, body: &Obj, op: RoleOp) -> Result<Value, ApiError> {
        let login = req_str(body, "loginId")?;
        let roles = opt_str_list(body, "roleNames")?.unwrap_or_default();
        let tenant = opt_str(body, "tenantId")?.filter(|s| !s.is_empty());
        let i = self.user_idx(&login)?;
        if let Some(t) = &tenant {
            self.tenant_idx(t)?;
        }
        if op != RoleOp::Remove {
            self.check_roles(&roles, tenant.as_deref())?;
        }
        let apply = |list: &mut Vec<String>| match op {
            RoleOp::Set => *list = roles.clone(),
            RoleOp::Add => union_into(list, &roles),
            RoleOp::Remove => list.retain(|r| !roles.contains(r)),
        };
        let u = &mut self.users[i];
        match &tenant {
            None => {
                let mut list = strings(u.get("roleNames"));
                apply(&mut list);
                u.insert("roleNames".into(), json!(list));
            }
            Some(tid) => {
                let mut ts: Vec<Value> = u.get("userTenants").and_then(Value::as_array).cloned().unwrap_or_default();
                let pos = ts.iter().position(|t| t["tenantId"] == json!(tid));
                match (pos, op) {
                    (Some(p), _) => {
                        let mut list = strings(ts[p].get("roleNames"));
                        apply(&mut list);
                        ts[p]["roleNames"] = json!(list);
                    }
                    // set/add on a tenant the user is not in: associates the user with it
                    (None, RoleOp::Set | RoleOp::Add) => ts.push(json!({"tenantId": tid, "roleNames": roles})),
                    (None, RoleOp::Remove) => {}
                }
                u.insert("userTenants".into(), Value::Array(ts));
            }
        }
        Ok(self.render_user(&self.users[i]))
    }

    pub fn update_tenant_membership(&mut self, body: &Obj, add: bool) -> Result<Value, ApiError> {
        let login = req_str(body, "loginId")?;
        let tid = req_str(body, "tenantId")?;
        let i = self.user_idx(&login)?;
        if add {
            self.tenant_idx(&tid)?;
        }
        let u = &mut self.users[i];
        let mut ts: Vec<Value> = u.get("userTenants").and_then(Value::as_array).cloned().unwrap_or_default();
        let present = ts.iter().any(|t| t["tenantId"] == json!(tid));
        if add && !present {
            ts.push(json!({"tenantId": tid, "roleNames": []}));
        } else if !add {
            ts.retain(|t| t["tenantId"] != json!(tid));
        }
        u.insert("userTenants".into(), Value::Array(ts));
        Ok(self.render_user(&self.users[i]))
    }

    pub fn update_status(&mut self, body: &Obj) -> Result<Value, ApiError> {
        let login = req_str(body, "loginId")?;
        let status = req_str(body, "status")?;
        if !matches!(status.as_str(), "enabled" | "disabled") {
            return Err(ApiError::invalid_args(format!("status must be enabled or disabled, not {status:?}")));
        }
        let i = self.user_idx(&login)?;
        self.users[i].insert("status".into(), json!(status));
        Ok(self.render_user(&self.users[i]))
    }

    /// `POST /v2/mgmt/user/search` → `(page of users, total)`.
    pub fn search_users(&self, body: &Obj, test_only: bool) -> Result<(Vec<Value>, usize), ApiError> {
        let limit = opt_i64(body, "limit")?.unwrap_or(0);
        let page = opt_i64(body, "page")?.unwrap_or(0);
        if limit < 0 || page < 0 {
            return Err(ApiError::invalid_args("limit and page must not be negative"));
        }
        let limit = if limit == 0 { SEARCH_DEFAULT_LIMIT } else { limit as usize };
        let list = |k: &str| opt_str_list(body, k).map(Option::unwrap_or_default);
        let tenant_ids = list("tenantIds")?;
        let roles = list("roleNames")?;
        let login_ids = list("loginIds")?;
        let user_ids = list("userIds")?;
        let emails = list("emails")?;
        let phones = list("phones")?;
        let statuses = list("statuses")?;
        let text = opt_str(body, "text")?.unwrap_or_default().to_lowercase();
        let ca = attrs_arg(body, "customAttributes")?;
        let with_test = test_only || opt_bool(body, "withTestUser")?.unwrap_or(false);
        let test_only = test_only || opt_bool(body, "testUsersOnly")?.unwrap_or(false);
        let tenant_roles = attrs_arg(body, "tenantRoleNames")?;
        let mut matched: Vec<&Obj> = self
            .users
            .iter()
            .filter(|u| {
                let is_test = u.get("test").and_then(Value::as_bool).unwrap_or(false);
                let ts: Vec<&Obj> =
                    u.get("userTenants").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_object).collect()).unwrap_or_default();
                let all_roles = || {
                    let mut r = strings(u.get("roleNames"));
                    for t in &ts {
                        union_into(&mut r, &strings(t.get("roleNames")));
                    }
                    r
                };
                (if test_only { is_test } else { with_test || !is_test })
                    && (tenant_ids.is_empty() || ts.iter().any(|t| tenant_ids.iter().any(|x| x == str_field(t, "tenantId"))))
                    && (roles.is_empty() || all_roles().iter().any(|r| roles.contains(r)))
                    && (login_ids.is_empty() || strings(u.get("loginIds")).iter().any(|l| login_ids.contains(l)))
                    && (user_ids.is_empty() || user_ids.iter().any(|x| x == str_field(u, "userId")))
                    && (emails.is_empty() || emails.iter().any(|x| x.eq_ignore_ascii_case(str_field(u, "email"))))
                    && (phones.is_empty() || phones.iter().any(|x| x == str_field(u, "phone")))
                    && (statuses.is_empty() || statuses.iter().any(|x| x == str_field(u, "status")))
                    && (text.is_empty()
                        || ["name", "email", "phone", "userId"].iter().any(|k| str_field(u, k).to_lowercase().contains(&text))
                        || strings(u.get("loginIds")).iter().any(|l| l.to_lowercase().contains(&text)))
                    && ca.iter().all(|(k, w)| attr_matches(u.get("customAttributes").and_then(|c| c.get(k)), w))
                    && tenant_roles.iter().all(|(tid, spec)| {
                        let want = strings(spec.get("values"));
                        let and = spec.get("and").and_then(Value::as_bool).unwrap_or(false);
                        ts.iter().find(|t| str_field(t, "tenantId") == tid).is_some_and(|t| {
                            let have = strings(t.get("roleNames"));
                            if and { want.iter().all(|w| have.contains(w)) } else { want.iter().any(|w| have.contains(w)) }
                        })
                    })
            })
            .collect();
        if let Some(Value::Array(sort)) = body.get("sort") {
            for s in sort.iter().rev() {
                let field = s.get("field").and_then(Value::as_str).unwrap_or("").to_string();
                let desc = s.get("desc").and_then(Value::as_bool).unwrap_or(false);
                matched.sort_by(|a, b| {
                    let key = |u: &Obj| match u.get(&field) {
                        Some(Value::Number(n)) => format!("{:020}", n.as_i64().unwrap_or(0)),
                        Some(Value::String(s)) => s.to_lowercase(),
                        Some(Value::Array(a)) => a.first().and_then(Value::as_str).unwrap_or("").to_lowercase(),
                        _ => String::new(),
                    };
                    let o = key(a).cmp(&key(b));
                    if desc { o.reverse() } else { o }
                });
            }
        }
        let total = matched.len();
        let users = matched.into_iter().skip(page as usize * limit).take(limit).map(|u| self.render_user(u)).collect();
        Ok((users, total))
    }

    // ------------------------------------------------------------ seeding

    /// Apply a seed document: `{customAttributes, tenantCustomAttributes, tenants, roles, users}`,
    /// each entry shaped like the matching management API body.
    pub fn apply_seed(&mut self, seed: &Value) -> Result<(), String> {
        let seed = seed.as_object().ok_or("seed must be a JSON object")?;
        for k in seed.keys() {
            if !["customAttributes", "tenantCustomAttributes", "tenants", "roles", "users"].contains(&k.as_str()) {
                return Err(format!("seed: unknown key {k:?}"));
            }
        }
        let items = |k: &str| -> Result<Vec<Value>, String> {
            match seed.get(k) {
                None | Some(Value::Null) => Ok(vec![]),
                Some(Value::Array(a)) => Ok(a.clone()),
                Some(_) => Err(format!("seed: {k} must be an array")),
            }
        };
        let ctx = |k: &str, i: usize, e: ApiError| format!("seed: {k}[{i}]: {} ({})", e.message, e.code);
        self.create_attrs(false, &items("customAttributes")?).map_err(|e| ctx("customAttributes", 0, e))?;
        self.create_attrs(true, &items("tenantCustomAttributes")?).map_err(|e| ctx("tenantCustomAttributes", 0, e))?;
        let as_obj = |k: &str, i: usize, v: &Value| -> Result<Obj, String> {
            v.as_object().cloned().ok_or_else(|| format!("seed: {k}[{i}] must be an object"))
        };
        for (i, t) in items("tenants")?.iter().enumerate() {
            self.create_tenant(&as_obj("tenants", i, t)?).map_err(|e| ctx("tenants", i, e))?;
        }
        for (i, r) in items("roles")?.iter().enumerate() {
            self.create_role(&as_obj("roles", i, r)?).map_err(|e| ctx("roles", i, e))?;
        }
        for (i, u) in items("users")?.iter().enumerate() {
            self.create_user(&as_obj("users", i, u)?, false).map_err(|e| ctx("users", i, e))?;
        }
        Ok(())
    }
}

fn strip(o: &mut Obj, k: &str, name: &str) {
    if let Some(Value::Array(a)) = o.get_mut(k) {
        a.retain(|x| x.as_str() != Some(name));
    }
}

fn json_obj(v: Value) -> Obj {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_types_are_checked() {
        let defs = vec![
            normalize_attr_def(&json!({"name": "plan"})).unwrap(),
            normalize_attr_def(&json!({"name": "n", "type": 2})).unwrap(),
            normalize_attr_def(&json!({"name": "tags", "type": "multiSelect", "options": ["a", "b"]})).unwrap(),
        ];
        assert!(check_attr_value(&defs, "User", "plan", &json!("pro")).is_ok());
        assert!(check_attr_value(&defs, "User", "plan", &json!(1)).is_err());
        assert!(check_attr_value(&defs, "User", "n", &json!(1.5)).is_ok());
        assert!(check_attr_value(&defs, "User", "tags", &json!(["a"])).is_ok());
        assert!(check_attr_value(&defs, "User", "tags", &json!(["c"])).is_err());
        assert!(check_attr_value(&defs, "User", "plan", &Value::Null).is_ok());
        let e = check_attr_value(&defs, "User", "nope", &json!("x")).unwrap_err();
        assert!(e.message.contains("'nope'"));
    }

    #[test]
    fn attr_filter_matching() {
        assert!(attr_matches(Some(&json!("a")), &json!("a")));
        assert!(attr_matches(Some(&json!(["a", "b"])), &json!("b")));
        assert!(attr_matches(Some(&json!("a")), &json!(["x", "a"])));
        assert!(!attr_matches(None, &json!("a")));
    }
}
