// LOCAL STACK ONLY — never shipped (build.js leaves it out). The editor's side of the loop on the
// same screen as the reader's: publish, change and delete the demo access rule in the local
// Sanity (the real mutate API, which fires the signed webhooks to publish-sync/delete-cleanup),
// and watch the organization's trusted_metadata.sanity_access in the Stytch emulator change
// (the real GET /v1/b2b/organizations/{id}, polled). Both go through the local server's
// pass-through, which adds the local write token and project credentials.

const POLL_MS = 250;

function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}
const tid = (e, id) => { e.dataset.testid = id; return e; };

async function json(url, init) {
  const r = await fetch(url, init);
  const text = await r.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* below */ }
  if (!r.ok || body === null) throw new Error(`HTTP ${r.status} ${body?.error?.description || body?.error_message || body?.error || text.slice(0, 100)}`);
  return body;
}

export function mount(container, config, { onAccessChange, currentOrganization }) {
  const L = config.local;
  const api = `${L.sanity}/v2025-02-19/data`;
  const sanityQuery = (q) => json(`${api}/query/${L.dataset}?query=${encodeURIComponent(q)}`).then((r) => r.result);
  const mutate = (...mutations) => json(`${api}/mutate/${L.dataset}?returnIds=true&visibility=sync`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ mutations }),
  });
  const org = (id) => json(`${L.stytch}/v1/b2b/organizations/${encodeURIComponent(id)}`).then((r) => r.organization);

  const orgSelect = tid(el("select", { name: "org" }), "editor-org");
  const plan = tid(el("select", { name: "plan" }), "editor-plan");
  const region = tid(el("select", { name: "region" }, el("option", { value: "eu", textContent: "eu" }), el("option", { value: "us", textContent: "us" })), "editor-region");
  const types = config.contentTypes.map((t) => el("label", { className: "inline" }, el("input", { type: "checkbox", value: t, checked: t !== "doc" }), ` ${t}`));
  const publish = tid(el("button", { type: "button", textContent: "Publish rule" }), "editor-publish");
  const mfaOn = tid(el("button", { type: "button", textContent: "Require MFA" }), "editor-mfa-on");
  const mfaOff = tid(el("button", { type: "button", textContent: "Don't require MFA" }), "editor-mfa-off");
  const del = tid(el("button", { type: "button", className: "danger", textContent: "Delete rule" }), "editor-delete");
  const ruleView = tid(el("pre", { className: "json", textContent: "—" }), "editor-rule");
  const accessView = tid(el("pre", { className: "json", textContent: "—" }), "editor-access");
  const timing = tid(el("p", { className: "muted" }), "editor-timing");
  const err = tid(el("p", { className: "error" }), "editor-error");

  container.replaceChildren(
    el("h2", {}, "Editor (local Sanity)"),
    el("p", { className: "local-badge" }, `Local stack only (${L.profile} profile) — in production editors use Sanity Studio`),
    el("label", {}, "Organization ", orgSelect),
    el("label", {}, "Plan ", plan), el("label", {}, "Region ", region),
    el("div", { className: "types" }, "Content types ", ...types),
    el("div", { className: "buttons" }, publish, mfaOn, mfaOff, del), err,
    el("h3", {}, "The rule in Sanity"), ruleView,
    el("h3", {}, "sanity_access in Stytch (live)"), accessView, timing,
  );

  let orgs = [];
  const selected = () => orgs.find((o) => o.organization_id === orgSelect.value);
  const ruleId = () => `rule-${selected()?.organization_slug}`;

  async function loadChoices() {
    const state = await json(`${L.stytch}/__gatehouse/state`);
    const p = (state.projects || []).find((x) => x.project_id === L.projectId);
    orgs = [...(p?.organizations || [])].reverse().slice(0, 60);
    const keep = orgSelect.value || currentOrganization();
    orgSelect.replaceChildren(...orgs.map((o) => el("option", { value: o.organization_id, textContent: `${o.organization_name} (${o.organization_slug})` })));
    if (keep && orgs.some((o) => o.organization_id === keep)) orgSelect.value = keep;
    const plans = await sanityQuery('*[_type == "plan"] | order(_id asc){_id, title}');
    plan.replaceChildren(...plans.map((x) => el("option", { value: x._id, textContent: x.title || x._id })));
  }

  async function showRule() {
    const o = selected();
    if (!o) return;
    const r = await json(`${api}/doc/${L.dataset}/${encodeURIComponent(ruleId())}`);
    const d = r.documents?.[0];
    ruleView.textContent = d
      ? JSON.stringify({ _id: d._id, _rev: d._rev, plan: d.plan?._ref, region: d.region, allowedContentTypes: d.allowedContentTypes, requiresMfa: d.requiresMfa }, null, 2)
      : `no document ${ruleId()}`;
  }

  // The live view: one GET per POLL_MS; a change is timed from the last mutation.
  let last = undefined, sentAt = 0, timer = 0;
  async function poll() {
    const o = selected();
    try {
      if (o) {
        const access = (await org(o.organization_id)).trusted_metadata?.sanity_access ?? null;
        // The organization may have been switched while this GET was out: drop its answer.
        if (selected()?.organization_id !== o.organization_id) { timer = setTimeout(poll, 0); return; }
        const text = JSON.stringify(access, null, 2);
        if (text !== last) {
          const first = last === undefined;
          last = text;
          accessView.textContent = access ? text : "null (no rule)";
          accessView.dataset.requiresMfa = String(!!access?.requiresMfa);
          accessView.dataset.present = String(!!access);
          if (!first) {
            const ms = sentAt ? Date.now() - sentAt : null;
            timing.textContent = `${ms !== null ? `Reached Stytch ${ms} ms after the editor's change. ` : "Changed. "}`
              + `gated-content caches access for ${L.accessCacheTtlS} s per container; the reader refreshes after that.`;
            onAccessChange(L.accessCacheTtlS);
          }
        }
      }
    } catch (e) {
      err.textContent = `Stytch emulator: ${e.message || e}`;
    }
    timer = setTimeout(poll, POLL_MS);
  }

  async function run(what, fn) {
    err.textContent = "";
    timing.textContent = `${what}…`;
    for (const b of [publish, mfaOn, mfaOff, del]) b.disabled = true;
    try {
      sentAt = Date.now();
      await fn();
      await showRule();
    } catch (e) {
      err.textContent = `${what}: ${e.message || e}`;
    } finally {
      for (const b of [publish, mfaOn, mfaOff, del]) b.disabled = false;
    }
  }

  publish.onclick = () => run("Publishing", () => {
    const o = selected();
    if (!o) throw new Error("no organization selected");
    const allowed = types.map((l) => l.firstChild).filter((c) => c.checked).map((c) => c.value);
    // The demo rule's shape (scripts/demo.py rule()).
    return mutate({ createOrReplace: {
      _id: ruleId(), _type: "accessRule", title: `${o.organization_name} gets ${plan.selectedOptions[0]?.textContent} in ${region.value.toUpperCase()}`,
      stytchOrganizationId: o.organization_id, plan: { _type: "reference", _ref: plan.value }, region: region.value,
      allowedContentTypes: allowed, gatedRoutes: [{ _key: "a", path: "/reports/q3" }], requiresMfa: false,
    } });
  });
  mfaOn.onclick = () => run("Requiring MFA", () => mutate({ patch: { id: ruleId(), set: { requiresMfa: true } } }));
  mfaOff.onclick = () => run("Not requiring MFA", () => mutate({ patch: { id: ruleId(), set: { requiresMfa: false } } }));
  del.onclick = () => run("Deleting", () => mutate({ delete: { id: ruleId() } }));
  orgSelect.onchange = () => { last = undefined; sentAt = 0; showRule().catch(() => {}); };

  loadChoices().then(showRule).catch((e) => { err.textContent = String(e.message || e); }).finally(poll);
  return {
    /** The reader signed in as a member of `orgId`: follow that organization. */
    follow(orgId) {
      const go = () => {
        if (orgId && orgs.some((o) => o.organization_id === orgId) && orgSelect.value !== orgId) {
          orgSelect.value = orgId;
          orgSelect.onchange();
        }
      };
      if (orgId && !orgs.some((o) => o.organization_id === orgId)) loadChoices().then(go).catch(() => {});
      else go();
    },
    stop() { clearTimeout(timer); },
  };
}
