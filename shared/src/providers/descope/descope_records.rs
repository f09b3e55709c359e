//! Descope's user and tenant records as the adapter reads them, and gatehouse's own ownership
//! record inside them: wire JSON becomes these types once, where it is read.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// `null` reads as the default (Descope sends `null` for empty lists and attribute maps).
fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A user (`GET /v1/mgmt/user`, `POST /v2/mgmt/user/search`): what the sync reads of it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescopeUser {
    #[serde(default, deserialize_with = "nullable")]
    pub user_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub login_ids: Vec<String>,
    /// Project-level roles.
    #[serde(default, deserialize_with = "nullable")]
    pub role_names: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub user_tenants: Vec<UserTenant>,
    #[serde(default, deserialize_with = "nullable")]
    pub custom_attributes: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserTenant {
    pub tenant_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub role_names: Vec<String>,
}

impl DescopeUser {
    /// gatehouse's record on this user, if any.
    pub fn record(&self) -> Option<SyncRecord> {
        self.custom_attributes.get(super::SYNC_ATTR).and_then(SyncRecord::from_attr)
    }

    /// The roles the user holds in `scope` (a tenant, or the project when `None`), and whether
    /// they are in that tenant at all.
    pub fn held(&self, scope: Option<&str>) -> (Vec<String>, bool) {
        match scope {
            None => (self.role_names.clone(), true),
            Some(t) => match self.user_tenants.iter().find(|ut| ut.tenant_id == t) {
                Some(ut) => (ut.role_names.clone(), true),
                None => (Vec::new(), false),
            },
        }
    }
}

/// A tenant (`GET /v1/mgmt/tenant`, `/tenant/all`): what the sync reads of it. Writes send the
/// whole tenant back as read (Descope's update overwrites every field), so they keep the JSON.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescopeTenant {
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub custom_attributes: Map<String, Value>,
}

/// Who owns a target's synced access, as stored in the `gatehouseSync` text attribute: compact
/// JSON `{"documentId", "rev", "roles", "tenantId"}` (Descope attributes hold only
/// string/number/bool/string[], so the record is one string beside `plan` and `region`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncRecord {
    pub document_id: String,
    pub rev: String,
    /// The role keys the profile grants (what the sync compares).
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// The subset of `roles` gatehouse itself assigned, so the only ones it ever removes: a role
    /// the user already held (granted by hand) is never listed here and survives every change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<String>,
    /// The rest of the synced access (one attribute keeps the operator's setup to three).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub requires_mfa: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_at: Option<String>,
    /// The member profile's `descopeLoginId` as written (the reconciler's scan key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_id: Option<String>,
}

impl SyncRecord {
    /// The attribute's value: compact JSON.
    pub fn to_attr(&self) -> String {
        // A struct of strings always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the attribute's value: a JSON string (as written by `to_attr`), or an object if a
    /// person pasted one. Anything else, or a record without a document id, is no record.
    pub fn from_attr(v: &Value) -> Option<SyncRecord> {
        let rec: SyncRecord = match v {
            Value::String(s) => serde_json::from_str(s).ok()?,
            Value::Object(_) => serde_json::from_value(v.clone()).ok()?,
            _ => return None,
        };
        (!rec.document_id.is_empty()).then_some(rec)
    }
}

