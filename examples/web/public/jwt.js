// Decodes a JWT's header and claims for display. It does NOT verify anything: the signature is
// checked by gatehouse (session JWTs) and by InsForge (the exchanged token), never in the page.

function part(b64url) {
  const b64 = b64url.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(b64url.length / 4) * 4, "=");
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** `{header, claims}`, or null when `token` is not a JWS compact serialization of JSON objects. */
export function decode(token) {
  if (typeof token !== "string") return null;
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const header = part(parts[0]);
    const claims = part(parts[1]);
    if (!header || typeof header !== "object" || !claims || typeof claims !== "object") return null;
    return { header, claims };
  } catch {
    return null;
  }
}
