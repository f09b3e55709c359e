//! The Sanity emulator: mutations, the webhook queue and its deliveries, faults; rule documents
//! and webhook bodies as the CMS makes them.

use serde_json::{Value, json};

use super::*;

impl Stack {
    pub async fn mutate(&self, mutations: Value) -> Value {
        let url = format!(
            "{}/v2025-02-19/data/mutate/{}?returnIds=true&returnDocuments=true",
            self.var("SANITY_URL"),
            self.var("SANITY_DATASET")
        );
        let r = self.send(self.http.post(url).bearer_auth(self.var("SANITY_WRITE_TOKEN")).json(&json!({"mutations": mutations}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    /// Waits until every webhook delivery queued so far has finished.
    pub async fn idle(&self) {
        let r = self.send(self.http.get(format!("{}/__gatehouse/idle?timeout_ms=25000", self.var("SANITY_URL")))).await;
        assert_eq!(r.status, 200, "webhook queue did not drain: {}", r.body);
    }

    /// Waits up to `timeout` for the webhook queues to drain; false if they are still busy.
    pub async fn sanity_idle(&self, timeout: Duration) -> bool {
        let url = format!("{}/__gatehouse/idle?timeout_ms={}", self.var("SANITY_URL"), timeout.as_millis());
        let r = self.send(self.http.get(url)).await;
        assert!(r.status == 200 || r.status == 504, "{}", r.body);
        r.status == 200
    }

    /// Every delivery attempt so far, oldest first.
    pub async fn all_deliveries(&self) -> Vec<Value> {
        let r = self.send(self.http.get(format!("{}/__gatehouse/deliveries", self.var("SANITY_URL")))).await;
        r.body["deliveries"].as_array().unwrap().clone()
    }

    /// Final delivery attempts for a document, oldest first.
    pub async fn deliveries(&self, doc: &str) -> Vec<Value> {
        let r = self.send(self.http.get(format!("{}/__gatehouse/deliveries", self.var("SANITY_URL")))).await;
        r.body["deliveries"].as_array().unwrap().iter().filter(|d| d["documentId"] == doc).cloned().collect()
    }

    /// Redelivers delivery `seq` of the stack's webhook for `function` (`publish-sync`,
    /// `delete-cleanup`, registered by scripts/sanity-webhooks as `gatehouse-<function>`), or of
    /// the webhook with that id.
    pub async fn redeliver(&self, function: &str, seq: u64) -> Value {
        let hooks = self.send(self.http.get(format!("{}/__gatehouse/webhooks", self.var("SANITY_URL")))).await;
        let name = format!("gatehouse-{function}");
        let id = hooks.body["webhooks"]
            .as_array()
            .and_then(|hs| hs.iter().find(|h| h["name"] == name.as_str() || h["id"] == function))
            .and_then(|h| h["id"].as_str())
            .unwrap_or_else(|| panic!("no webhook named {name}: {}", hooks.body))
            .to_string();
        let r = self
            .send(self.http.post(format!("{}/__gatehouse/webhooks/{id}/redeliver", self.var("SANITY_URL"))).json(&json!({"seq": seq})))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["delivery"].clone()
    }

    pub async fn sanity_fault(&self, method: &str, path: &str, fault: Value, count: u32) {
        let mut body = json!({"method": method, "path": path, "count": count});
        body.as_object_mut().unwrap().extend(fault.as_object().unwrap().clone());
        let r = self.send(self.http.post(format!("{}/__gatehouse/faults", self.var("SANITY_URL"))).json(&body)).await;
        assert!(r.status < 300, "{}", r.body);
    }

    /// Removes the Sanity faults scoped to `needle` (added with `"match": needle`); other
    /// tests' faults stay.
    pub async fn clear_sanity_faults(&self, needle: &str) {
        let r = self.send(self.http.delete(format!("{}/__gatehouse/faults?match={needle}", self.var("SANITY_URL")))).await;
        assert!(r.status < 300, "{}", r.body);
    }

    /// Turns the Sanity emulator's webhooks off (like a function URL that is down) until the
    /// guard drops, even if the test panics. Only under `exclusive()`.
    pub async fn webhooks_off(&self) -> WebhooksOff {
        set_webhooks(&self.http, self.var("SANITY_URL"), false).await;
        WebhooksOff { sanity: self.var("SANITY_URL").to_string() }
    }
}

async fn set_webhooks(http: &reqwest::Client, sanity: &str, enabled: bool) {
    let r = http.get(format!("{sanity}/__gatehouse/webhooks")).send().await.unwrap();
    let mut hooks: Value = r.json().await.unwrap();
    for h in hooks["webhooks"].as_array_mut().unwrap() {
        h["enabled"] = enabled.into();
    }
    let r = http.put(format!("{sanity}/__gatehouse/webhooks")).json(&hooks["webhooks"]).send().await.unwrap();
    assert!(r.status().is_success());
}

pub struct WebhooksOff {
    sanity: String,
}

impl Drop for WebhooksOff {
    fn drop(&mut self) {
        // Drop cannot await: turn them back on from a thread with its own runtime.
        let sanity = self.sanity.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let http = reqwest::Client::new();
                set_webhooks(&http, &sanity, true).await;
            })
        })
        .join()
        .expect("re-enabling the webhooks failed");
    }
}

/// A rule document as editors write it.
pub fn rule(id: &str, org: Option<&str>, user: Option<&str>, extra: Value) -> Value {
    let mut d = json!({
        "_id": id, "_type": "accessRule", "title": format!("Rule {id}"),
        "plan": {"_type": "reference", "_ref": "plan-pro"}, "region": "eu",
        "allowedContentTypes": ["article", "report"],
        "gatedRoutes": [{"_key": "k1", "path": "/reports/q3"}], "requiresMfa": false
    });
    if let Some(o) = org {
        d["stytchOrganizationId"] = o.into();
    }
    if let Some(u) = user {
        d["stytchUserId"] = u.into();
    }
    d.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    d
}

/// The plans every test may reference (idempotent): Stytch rules use `plan`, Descope profiles
/// `accessPlan`; and the Descope roles as `accessRole`s (`role-<key>`).
pub async fn ensure_plans() {
    static DONE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    DONE.get_or_init(|| async {
        let mut m = vec![
            json!({"createOrReplace": {"_id": "plan-pro", "_type": "plan", "title": "Pro", "slug": {"current": "pro"}}}),
            json!({"createOrReplace": {"_id": "plan-free", "_type": "plan", "title": "Free", "slug": {"current": "free"}}}),
            json!({"createOrReplace": {"_id": "aplan-pro", "_type": "accessPlan", "title": "Pro", "planSlug": {"current": "pro"}}}),
            json!({"createOrReplace": {"_id": "aplan-free", "_type": "accessPlan", "title": "Free", "planSlug": {"current": "free"}}}),
        ];
        for key in ["reader", "editor", "analyst"] {
            m.push(json!({"createOrReplace": {"_id": format!("role-{key}"), "_type": "accessRole", "title": key, "descopeRoleKey": key}}));
        }
        stack().mutate(Value::Array(m)).await;
    })
    .await;
}

/// The webhook body Sanity sends for a rule (the documented projection).
pub fn event(id: &str, rev: &str, op: &str, before: Value) -> Value {
    json!({"_id": id, "_type": "accessRule", "_rev": rev, "operation": op, "before": before, "dataset": "production"})
}

/// A published, synced rule whose organization's `sanity_access.region` was then edited by hand:
/// any accepted delivery for the rule writes it back, a refused one must leave it. Returns
/// (org, rule id, org writes so far).
pub async fn synced_then_hand_edited(extra_patch: Option<Value>) -> (String, String, u64) {
    ensure_plans().await;
    let s = stack();
    let org = s.create_org(json!({})).await;
    let id = format!("rule-{}", uid());
    s.mutate(json!([{ "create": rule(&id, Some(&org), None, json!({})) }])).await;
    s.idle().await;
    if let Some(set) = extra_patch {
        s.mutate(json!([{ "patch": { "id": id, "set": set } }])).await;
        s.idle().await;
    }
    let mut access = s.org_metadata(&org).await["sanity_access"].clone();
    access["region"] = "hand-edited".into();
    s.set_org_metadata(&org, json!({"sanity_access": access})).await;
    let writes = s.org_writes(&org).await;
    (org, id, writes)
}
