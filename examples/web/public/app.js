// The example page: a reader's view of gated content. Plain ES modules, no build step.
// config.js says where the functions are and which sign-in module to load: on the local stack
// server.js generates it and names the local-only sign-in and editor modules; the production
// build (build.js) writes one naming auth-stytch.js. Both sign-in modules give one interface:
//   transport ("bearer" | "cookie"), signedIn(), token(), who(), refresh(), mountSignIn(el, reason),
//   secondFactor(el) -> Promise, signOut(), expire()
import config from "./config.js";
import { client, isPublic } from "./gatehouse.js";
import { decode } from "./jwt.js";

const api = client(config);
const $ = (id) => document.getElementById(id);
const pageSize = Math.min(100, Math.max(1, Number(new URLSearchParams(location.search).get("limit")) || config.pageSize || 20));

function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
}

let auth;
let editor = null;
let generation = 0; // answers to an older view (before a sign-in change) are dropped
let signinReason = "";
const list = { type: config.contentTypes[0], docs: [], cursor: null, busy: false };

const MESSAGES = {
  notfound: "Not found. This document does not exist, or this session may not read it: gatehouse answers both the same way.",
  mfa: "This document needs a second factor for your organization.",
  retry: (r) => `gatehouse could not reach a service it depends on (HTTP ${r.status}${r.error ? ` ${r.error}` : ""}). Try again in a moment.`,
  refused: (r) => `The request was refused (HTTP ${r.status}${r.error ? ` ${r.error}` : ""}).`,
  network: (r) => `The answer could not be read (${r.reason}): the network failed, or this page's origin ${location.origin} is not allowed by the function's CORS.`,
  unexpected: (r) => `Unexpected answer: ${r.reason}. Nothing was shown from it; try again.`,
};

/** 401: one refresh (the SDK renews 5-minute JWTs), else back to sign-in. Returns true to retry. */
async function sessionFailed() {
  if (auth.signedIn() && await auth.refresh()) return true;
  signinReason = "Your session has expired or is no longer valid (HTTP 401). Sign in again.";
  auth.expire();
  renderSession();
  return false;
}

async function withSession(call) {
  let r = await call();
  if (r.kind === "signin" && await sessionFailed()) r = await call();
  return r;
}

// ---- session ----------------------------------------------------------------------------------
function renderSession() {
  const box = $("session");
  box.dataset.signedIn = String(auth.signedIn());
  $("exchange").disabled = !auth.signedIn();
  if (!auth.signedIn()) {
    auth.mountSignIn(box, signinReason);
    return;
  }
  signinReason = "";
  const who = auth.who();
  const claims = decode(auth.token())?.claims;
  const exp = claims?.exp ? new Date(claims.exp * 1000).toLocaleTimeString() : "?";
  const out = el("button", { type: "button", textContent: "Sign out" });
  out.dataset.testid = "signout";
  out.onclick = () => auth.signOut();
  const line = el("p", {}, "Signed in as ", el("strong", { textContent: who?.label || "?" }),
    ` · session sent as ${auth.transport === "cookie" ? "the stytch_session_jwt cookie" : "Authorization: Bearer"}`,
    ` · factors: ${(who?.factors || []).join(" + ") || "?"} · JWT expires ${exp}`);
  line.dataset.testid = "whoami";
  box.replaceChildren(line, out);
  editor?.follow(who?.organizationId);
}

// ---- the list ---------------------------------------------------------------------------------
async function loadPage(reset) {
  const gen = generation;
  if (reset) { list.docs = []; list.cursor = null; }
  list.busy = true;
  renderList("loading");
  const r = await withSession(() => api.list(auth, list.type, { limit: pageSize, cursor: list.cursor }));
  if (gen !== generation) return;
  list.busy = false;
  if (r.kind === "ok") {
    list.docs.push(...r.body.documents);
    list.cursor = r.body.next_cursor || null;
    renderList("ok");
  } else {
    renderList(r.kind, r);
  }
}

function renderList(kind, r) {
  const ul = $("docs");
  ul.replaceChildren(...list.docs.map((d) => {
    const pub = isPublic(d);
    const li = el("li", {},
      el("a", { href: `#/doc/${encodeURIComponent(String(d.slug || ""))}`, textContent: String(d.title || d.slug || d._id) }),
      el("span", { className: `badge ${pub ? "public" : "gated"}`, textContent: pub ? "public" : "gated" }));
    li.dataset.slug = String(d.slug || "");
    li.dataset.id = String(d._id || "");
    li.dataset.public = String(pub);
    return li;
  }));
  const status = $("list-status");
  status.dataset.state = kind;
  const msg = MESSAGES[kind];
  status.textContent = kind === "loading" ? "Loading…"
    : kind === "ok" ? `${list.docs.length} ${list.type} document(s) readable${list.cursor ? ", more available" : ""}.`
    : kind === "signin" ? "Sign in to see more." : typeof msg === "function" ? msg(r) : msg || kind;
  $("more").hidden = !(kind === "ok" && list.cursor);
  $("more").disabled = list.busy;
}

// ---- one document -----------------------------------------------------------------------------
function slugFromHash() {
  const m = location.hash.match(/^#\/doc\/(.+)$/);
  if (!m) return null;
  try { return decodeURIComponent(m[1]); } catch { return null; }
}

async function openDocument() {
  const slug = slugFromHash();
  const view = $("reader");
  if (!slug) { setReader("idle", el("p", { className: "muted", textContent: "Open a document from the list." })); return; }
  const gen = generation;
  setReader("loading", el("p", { className: "muted", textContent: `Loading ${slug}…` }));
  const r = await withSession(() => api.document(auth, slug));
  if (gen !== generation || slugFromHash() !== slug) return;
  view.dataset.slug = slug;
  if (r.kind === "ok") {
    const d = r.body.document;
    const listed = (v) => (Array.isArray(v) && v.length ? v.map(String).join(", ") : null);
    const facts = [d._type, listed(d.requiredPlans) && `plans: ${listed(d.requiredPlans)}`,
      listed(d.regions) && `regions: ${listed(d.regions)}`, d.route ? `route: ${d.route}` : null].filter(Boolean).map(String).join(" · ");
    setReader("document", el("h2", { textContent: String(d.title || slug) }), el("p", { className: "muted", textContent: facts }),
      el("p", { className: "body", textContent: typeof d.body === "string" ? d.body : JSON.stringify(d.body ?? "") }));
  } else if (r.kind === "mfa") {
    const step = el("div", { className: "step-up" });
    setReader("mfa", el("h2", { textContent: "Second factor required" }), el("p", { textContent: MESSAGES.mfa }), step);
    auth.secondFactor(step).then((ok) => { if (ok) openDocument(); });
  } else if (r.kind === "retry") {
    const again = el("button", { type: "button", textContent: "Retry" });
    again.dataset.testid = "retry";
    again.onclick = () => openDocument();
    setReader("retry", el("h2", { textContent: "Temporarily unavailable" }), el("p", { textContent: MESSAGES.retry(r) }), again);
  } else if (r.kind === "signin") {
    setReader("signin", el("p", { textContent: "Sign in to read this document." }));
  } else {
    const msg = MESSAGES[r.kind];
    setReader(r.kind, el("h2", { textContent: r.kind === "notfound" ? "Not found" : "Could not load" }),
      el("p", { textContent: typeof msg === "function" ? msg(r) : msg }));
  }
}

function setReader(state, ...children) {
  const view = $("reader");
  view.dataset.state = state;
  view.replaceChildren(...children);
}

// ---- token exchange ---------------------------------------------------------------------------
async function exchange() {
  const out = $("claims");
  out.dataset.state = "loading";
  out.replaceChildren(el("p", { className: "muted", textContent: "Exchanging…" }));
  const r = await withSession(() => api.exchange(auth));
  if (r.kind !== "ok") {
    out.dataset.state = r.kind;
    const msg = MESSAGES[r.kind];
    out.replaceChildren(el("p", { className: "error", textContent: r.kind === "signin" ? "Sign in first." : typeof msg === "function" ? msg(r) : msg }));
    return;
  }
  const t = decode(r.body.access_token);
  if (!t) {
    out.dataset.state = "unexpected";
    out.replaceChildren(el("p", { className: "error", textContent: MESSAGES.unexpected({ reason: "the token is not a JWT" }) }));
    return;
  }
  const when = (s) => (typeof s === "number" ? `${s} (${new Date(s * 1000).toLocaleTimeString()})` : String(s));
  const rows = Object.entries(t.claims).map(([k, v]) => {
    const tr = el("tr", {}, el("th", { textContent: k }), el("td", { textContent: k === "iat" || k === "exp" ? when(v) : String(v) }));
    tr.dataset.claim = k;
    tr.dataset.value = String(v);
    return tr;
  });
  out.dataset.state = "ok";
  out.replaceChildren(
    el("p", { className: "muted", textContent: `InsForge token (${t.header.alg}, decoded here, not verified: InsForge verifies it). Lifetime ${t.claims.exp - t.claims.iat} s.` }),
    el("table", {}, ...rows));
}

// ---- wiring -----------------------------------------------------------------------------------
function reloadAll() {
  generation++;
  $("claims").replaceChildren();
  $("claims").dataset.state = "idle";
  loadPage(true);
  openDocument();
}

let refreshTimer = 0;
function refreshAfter(ttlS) {
  clearTimeout(refreshTimer);
  const ms = Math.round(ttlS * 1000 + 300);
  $("refresh-note").textContent = `Access changed: refreshing in ${(ms / 1000).toFixed(1)} s (gated-content's access cache).`;
  refreshTimer = setTimeout(() => { $("refresh-note").textContent = ""; reloadAll(); }, ms);
}

async function main() {
  const { createAuth } = await import(config.authModule);
  auth = await createAuth(config, { onChange: () => { renderSession(); reloadAll(); } });
  const types = $("type");
  types.replaceChildren(...config.contentTypes.map((t) => el("option", { value: t, textContent: t })));
  types.onchange = () => { list.type = types.value; generation++; loadPage(true); };
  $("more").onclick = () => loadPage(false);
  $("reload").onclick = () => reloadAll();
  $("exchange").onclick = () => exchange();
  window.addEventListener("hashchange", () => openDocument());
  const panels = config.panels || [];
  $("editor").hidden = panels.length === 0;
  for (const p of panels) {
    const m = await import(p);
    editor = m.mount($("editor"), config, { onAccessChange: refreshAfter, currentOrganization: () => auth.who()?.organizationId });
  }
  renderSession();
  reloadAll();
  document.body.dataset.ready = "true";
}

main().catch((e) => {
  document.body.dataset.ready = "error";
  $("fatal").textContent = `The page could not start: ${e?.message || e}`;
});
