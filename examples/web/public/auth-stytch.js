// PRODUCTION sign-in: the session the Stytch B2B frontend SDK (@stytch/vanilla-js 6.3, headless
// client) keeps for the signed-in member. Sign-in itself is your Stytch login flow (pre-built UI
// or headless, on `signInUrl`); this module only reads the session it leaves and sends it to
// gatehouse one of two ways (config.transport):
//
//   "bearer": `Authorization: Bearer ${stytch.session.getTokens().session_jwt}`. Works with the
//             function URL on any domain; CORS must allow your origin (CorsAllowedOrigins).
//   "cookie": the SDK's own `stytch_session_jwt` cookie, sent with `credentials: "include"`.
//             The browser sends it only to hosts the cookie is set for: put the function URLs
//             behind your app's domain (a CloudFront or custom domain such as api.example.com)
//             and set cookieDomain (e.g. "example.com") so the SDK writes the cookie for it.
//
// The SDK API used here (StytchB2BClient, session.getSync/getTokens/onChange/authenticate/revoke,
// totp.authenticate) is the one in @stytch/vanilla-js 6.3.0's type definitions.
import { StytchB2BClient } from "@stytch/vanilla-js/b2b/headless";

/** The auth interface app.js expects (the local stack's sign-in module has the same one). */
export async function createAuth(config, { onChange }) {
  const s = config.stytch;
  const options = s.cookieDomain ? { cookieOptions: { availableToSubdomains: true, domain: s.cookieDomain } } : undefined;
  const stytch = new StytchB2BClient(s.publicToken, options);
  stytch.session.onChange(() => onChange());

  const session = () => stytch.session.getSync();
  return {
    kind: "stytch",
    transport: config.transport === "cookie" ? "cookie" : "bearer",
    signedIn: () => !!session(),
    /** The session JWT (bearer transport), also decoded for display. */
    token: () => stytch.session.getTokens()?.session_jwt ?? null,
    who() {
      const m = session();
      if (!m) return null;
      return { label: `${m.member_id} (${m.organization_slug})`, memberId: m.member_id, organizationId: m.organization_id,
        factors: m.authentication_factors.map((f) => f.type) };
    },
    /** After a 401: the JWT lives 5 minutes and the SDK refreshes it; try once before signing out. */
    async refresh() {
      try { await stytch.session.authenticate(); return true; } catch { return false; }
    },
    mountSignIn(el, reason) {
      el.replaceChildren();
      if (reason) el.append(Object.assign(document.createElement("p"), { className: "reason", textContent: reason }));
      const a = Object.assign(document.createElement("a"), { href: s.signInUrl, className: "button", textContent: "Sign in" });
      a.dataset.testid = "stytch-signin";
      el.append(a);
    },
    /** 403 mfa_required: a TOTP code adds the factor to the existing member session. */
    secondFactor(el) {
      return new Promise((resolve) => {
        const m = session();
        const form = document.createElement("form");
        const input = Object.assign(document.createElement("input"), { inputMode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", required: true, placeholder: "6-digit code" });
        const button = Object.assign(document.createElement("button"), { type: "submit", textContent: "Verify" });
        const msg = document.createElement("p");
        form.append(input, button, msg);
        form.onsubmit = async (ev) => {
          ev.preventDefault();
          try {
            await stytch.totp.authenticate({ organization_id: m.organization_id, member_id: m.member_id, code: input.value, session_duration_minutes: 60 });
            resolve(true);
          } catch (e) {
            msg.textContent = `That code did not work (${e?.error_type || e?.message || e}).`;
          }
        };
        el.replaceChildren(form);
      });
    },
    async signOut() {
      try { await stytch.session.revoke(); } catch { /* the SDK clears its cookies either way */ }
    },
    /** The session is gone (401 after a refresh): the SDK has cleared or will clear its state. */
    expire() {},
  };
}
