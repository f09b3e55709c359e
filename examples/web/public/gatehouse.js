// Calls to gatehouse's browser-facing functions (gated-content, token-exchange) and what each
// answer means for a page. No framework, no dependencies: copy this file.
//
// Every call resolves (never throws) to one of:
//   {kind: "ok", body}                     200 with the JSON shape the function documents
//   {kind: "signin", status, error}        401: no valid session (expired, revoked key, garbage)
//   {kind: "mfa", status}                  403 mfa_required: granted, but needs a second factor
//   {kind: "notfound", status}             404: missing, or not yours (indistinguishable on purpose)
//   {kind: "retry", status, retryAfterS}   429/502/503/504: the service or one behind it failed; retry
//   {kind: "refused", status, error}       400/403/405/413: the request itself was refused
//   {kind: "network", reason}              fetch rejected: offline, or the browser withheld the
//                                          answer (CORS: this origin is not in CORS_ALLOWED_ORIGINS)
//   {kind: "unexpected", status, reason}   anything else: another status, a body that is not JSON
//                                          or not the documented shape (say a gateway's HTML page)

/** How an answer is read; pure, so it can be tested without a browser (test/unit.test.mjs). */
export function classify(status, contentType, text, expect) {
  let json;
  const isJson = /^application\/(.+\+)?json\b/i.test(contentType || "");
  if (isJson && text) {
    try { json = JSON.parse(text); } catch { json = undefined; }
  }
  const error = json && typeof json === "object" && typeof json.error === "string" ? json.error : undefined;
  if (status === 200) {
    if (json === undefined) return { kind: "unexpected", status, reason: "the answer is not JSON" };
    if (!expect(json)) return { kind: "unexpected", status, reason: "the answer does not have the expected shape" };
    return { kind: "ok", status, body: json };
  }
  if (status === 401) return { kind: "signin", status, error };
  if (status === 403 && error === "mfa_required") return { kind: "mfa", status };
  if (status === 404) return { kind: "notfound", status };
  if ([429, 502, 503, 504].includes(status)) return { kind: "retry", status, error };
  if ([400, 403, 405, 413].includes(status)) return { kind: "refused", status, error };
  return { kind: "unexpected", status, reason: `HTTP ${status}${error ? ` ${error}` : ""}` };
}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const SHAPES = {
  list: (j) => isObject(j) && Array.isArray(j.documents) && j.documents.every(isObject)
    && (j.next_cursor === null || j.next_cursor === undefined || typeof j.next_cursor === "string"),
  document: (j) => isObject(j) && isObject(j.document),
  token: (j) => isObject(j) && typeof j.access_token === "string" && j.access_token.split(".").length === 3,
};

/**
 * One call. `auth` says how the session travels:
 *   transport "bearer": `Authorization: Bearer <session JWT>`; cookies are not sent.
 *   transport "cookie": no header; `credentials: "include"` lets the browser send the
 *                       `stytch_session_jwt` cookie (and read the answer only if the function
 *                       allows this origin with credentials).
 */
async function call(url, shape, auth, { method = "GET", signal } = {}) {
  const headers = {};
  let credentials = "omit";
  if (auth?.transport === "cookie") credentials = "include";
  else if (auth?.token?.()) headers.authorization = `Bearer ${auth.token()}`;
  let res;
  try {
    res = await fetch(url, { method, headers, credentials, signal, cache: "no-store", mode: "cors" });
  } catch (e) {
    return { kind: "network", reason: e?.name === "AbortError" ? "aborted" : String(e?.message || e) };
  }
  let text = "";
  try { text = await res.text(); } catch { /* a broken body reads as empty */ }
  const out = classify(res.status, res.headers.get("content-type"), text, SHAPES[shape]);
  const ra = Number(res.headers.get("retry-after"));
  if (out.kind === "retry" && Number.isFinite(ra) && ra > 0) out.retryAfterS = ra;
  return out;
}

export function client(config) {
  const gated = config.gatedContentUrl.replace(/\/+$/, "");
  const token = config.tokenExchangeUrl.replace(/\/+$/, "");
  return {
    /** A page of readable documents of `type`; `cursor` is the previous page's next_cursor. */
    list(auth, type, { limit = 20, cursor = null, signal } = {}) {
      const q = new URLSearchParams({ type, limit: String(limit) });
      if (cursor) q.set("cursor", cursor);
      return call(`${gated}/content?${q}`, "list", auth, { signal });
    },
    /** One document by slug. */
    document(auth, slug, { signal } = {}) {
      return call(`${gated}/content/${encodeURIComponent(slug)}`, "document", auth, { signal });
    },
    /** A 15-minute InsForge token for the session (POST /token). */
    exchange(auth, { signal } = {}) {
      return call(`${token}/token`, "token", auth, { method: "POST", signal });
    },
  };
}

/** A label only: the document carries none of the gating fields (docs/policies.md "The rules").
 * The server decides; a public-looking document on a route a rule gates is still gated. */
export function isPublic(doc) {
  const empty = (v) => v === null || v === undefined || (Array.isArray(v) && v.length === 0);
  return empty(doc.requiredPlans) && empty(doc.requiredRoles) && empty(doc.regions) && empty(doc.organizationId);
}
