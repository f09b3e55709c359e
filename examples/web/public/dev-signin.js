// LOCAL STACK ONLY — never shipped: build.js leaves this file out of the production output and
// its test fails if any trace of it is there. It stands in for the Stytch SDK's sign-in by
// asking the Stytch emulator (through the local server's /__local/stytch pass-through) for a
// session of a chosen demo member: POST /__gatehouse/sessions (emulators/stytch/README.md).
// The session then travels exactly as the SDK's would: as a Bearer header, or in the
// `stytch_session_jwt` cookie that the SDK writes for the page's host.

const KEY = "gatehouse-example-local-session";
const COOKIE = "stytch_session_jwt";

function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

async function stytch(config, path, body) {
  const r = await fetch(`${config.local.stytch}/${path}`, body === undefined ? {} : {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* reported below */ }
  if (!r.ok || !json) throw new Error(`${path}: HTTP ${r.status} ${json?.error_type || json?.error || text.slice(0, 80)}`);
  return json;
}

/** The demo members (newest organizations first), from the emulator's state. */
async function members(config) {
  const state = await stytch(config, "__gatehouse/state");
  const project = (state.projects || []).find((p) => p.project_id === config.local.projectId);
  const out = [];
  for (const org of [...(project?.organizations || [])].reverse()) {
    const ms = Array.isArray(org.members) ? org.members : Object.values(org.members || {});
    for (const m of ms) {
      out.push({ memberId: m.member_id, name: m.name || m.email_address, email: m.email_address,
        organizationId: org.organization_id, organizationName: org.organization_name, organizationSlug: org.organization_slug });
    }
  }
  return out;
}

function setCookie(jwt) {
  // As the SDK does on a plain-HTTP localhost: host-only, path /, SameSite=Lax, not Secure.
  // Cookies are per host, not per port: set on 127.0.0.1, it also goes to 127.0.0.1:<functions>.
  document.cookie = `${COOKIE}=${jwt}; path=/; SameSite=Lax`;
}
function clearCookie() {
  document.cookie = `${COOKIE}=; path=/; SameSite=Lax; max-age=0`;
}

export async function createAuth(config, { onChange }) {
  let current = null;
  try { current = JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch { current = null; }
  const save = (s) => {
    current = s;
    if (s) sessionStorage.setItem(KEY, JSON.stringify(s)); else sessionStorage.removeItem(KEY);
    if (s?.transport === "cookie") setCookie(s.jwt); else clearCookie();
    onChange();
  };

  async function mint(member, { factors, ttlS, transport }) {
    const r = await stytch(config, "__gatehouse/sessions", {
      organization_id: member.organizationId, member_id: member.memberId, authentication_factors: factors, ttl_s: ttlS,
    });
    save({ jwt: r.session_jwt, transport, member, factors });
  }

  const auth = {
    kind: "local",
    get transport() { return current?.transport || config.transport; },
    signedIn: () => !!current,
    token: () => current?.jwt ?? null,
    who: () => current && { label: `${current.member.name} (${current.member.organizationName})`, memberId: current.member.memberId,
      organizationId: current.member.organizationId, factors: current.factors },
    refresh: async () => false,

    mountSignIn(container, reason) {
      const status = el("p", { className: "muted" }, "Loading the emulator's members…");
      const box = el("div", { className: "dev-signin" },
        el("p", { className: "local-badge" }, "Local stack only: sign-in through the Stytch emulator"));
      if (reason) box.append(el("p", { className: "reason", textContent: reason }));
      box.append(status);
      container.replaceChildren(box);
      members(config).then((list) => {
        const member = el("select", { name: "member" });
        member.dataset.testid = "dev-member";
        for (const m of list.slice(0, 60)) {
          member.append(el("option", { value: m.memberId, textContent: `${m.name} — ${m.organizationName} (${m.organizationSlug})` }));
        }
        const transport = el("select", { name: "transport" },
          el("option", { value: "bearer", textContent: "Authorization: Bearer" }),
          el("option", { value: "cookie", textContent: "stytch_session_jwt cookie" }));
        transport.value = config.transport;
        transport.dataset.testid = "dev-transport";
        const factors = el("select", { name: "factors" },
          el("option", { value: "1", textContent: "one factor (email code)" }),
          el("option", { value: "2", textContent: "two factors (email code + authenticator)" }));
        factors.dataset.testid = "dev-factors";
        const life = el("select", { name: "life" },
          el("option", { value: "300", textContent: "5 minutes" }),
          el("option", { value: "-60", textContent: "already expired (shows the 401 path)" }));
        life.dataset.testid = "dev-life";
        const go = el("button", { type: "submit", textContent: "Sign in" });
        go.dataset.testid = "dev-signin";
        const err = el("p", { className: "error" });
        const form = el("form", {},
          el("label", {}, "Member ", member), el("label", {}, "Session sent as ", transport),
          el("label", {}, "Factors ", factors), el("label", {}, "Lifetime ", life), go, err);
        form.onsubmit = async (ev) => {
          ev.preventDefault();
          const m = list.find((x) => x.memberId === member.value);
          if (!m) { err.textContent = "Pick a member (make dev seeds some; scripts/demo.py seed adds more)."; return; }
          go.disabled = true;
          try {
            await mint(m, { factors: factors.value === "2" ? ["email_otp", "totp"] : ["email_otp"], ttlS: Number(life.value), transport: transport.value });
          } catch (e) {
            err.textContent = String(e.message || e);
          } finally {
            go.disabled = false;
          }
        };
        status.replaceWith(list.length ? form : el("p", { className: "error" }, "No members in the emulator yet: run `python scripts/demo.py seed`."));
      }).catch((e) => { status.textContent = `The Stytch emulator did not answer: ${e.message || e}`; status.className = "error"; });
    },

    /** Locally the second factor is a new session of the same member with email_otp + totp. */
    secondFactor(container) {
      return new Promise((resolve) => {
        const b = el("button", { type: "button", textContent: "Verify with your authenticator app" });
        b.dataset.testid = "second-factor";
        const note = el("p", { className: "local-badge" }, "Local: mints a two-factor session in the Stytch emulator");
        const err = el("p", { className: "error" });
        b.onclick = async () => {
          b.disabled = true;
          try {
            await mint(current.member, { factors: ["email_otp", "totp"], ttlS: 300, transport: current.transport });
            resolve(true);
          } catch (e) { err.textContent = String(e.message || e); b.disabled = false; }
        };
        container.replaceChildren(b, note, err);
      });
    },

    async signOut() {
      const jwt = current?.jwt;
      save(null);
      // Revoke like the SDK's session.revoke() (the emulator's real POST /v1/b2b/sessions/revoke).
      if (jwt) await stytch(config, "v1/b2b/sessions/revoke", { session_jwt: jwt }).catch(() => {});
    },
    expire() { save(null); },
  };
  return auth;
}
