// Pure validation functions for the gatehouse Studio schemas.
// Sanity's contract for Rule.custom(fn): return `true` when valid, or an error message string.
// Empty values are valid here; presence is enforced with Rule.required() or exactlyOneTarget.
// These mirror what the sync functions enforce on the server (which answers 422 otherwise); the
// shared verdicts live in ../../fixtures/validation-samples.json (test/samples.test.js checks them).

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
export const ORGANIZATION_ID_RE = new RegExp(`^organization-(test|live)-${UUID}$`)
export const USER_ID_RE = new RegExp(`^user-(test|live)-${UUID}$`)
export const SLUG_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/
export const ROUTE_MAX_LENGTH = 200
// Typed slugs are checked against these too: Sanity's `maxLength` option only shortens generated ones.
export const PLAN_SLUG_MAX_LENGTH = 64
export const DOCUMENT_SLUG_MAX_LENGTH = 96

const isEmpty = (value) => value === undefined || value === null || value === ''

// The Rust side counts and classifies characters the Rust way: `str::len()` is UTF-8 bytes,
// `char::is_whitespace` is Unicode White_Space, `char::is_control` is category Cc
// (shared/src/gated_route.rs GatedRoute::parse, shared/src/ids.rs descope). JavaScript's
// `.length`, `\s` and `trim()` differ (UTF-16 units; U+FEFF counts as space, U+0085 does not),
// so these helpers follow Rust.
const WS = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000'
const RUST_WHITESPACE_RE = new RegExp(`[${WS}]`)
const RUST_TRIM_RE = new RegExp(`^[${WS}]+|[${WS}]+$`, 'g')
const RUST_CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/
const encoder = new TextEncoder()
/** Length in UTF-8 bytes, as Rust's `str::len()`. */
export const utf8Length = (s) => encoder.encode(s).length
/** Rust's `str::trim()`. */
export const rustTrim = (s) => s.replace(RUST_TRIM_RE, '')

/** Stytch B2B organization id: organization-(test|live)-<uuid> (shared/src/ids.rs stytch). */
export function organizationId(value) {
  if (isEmpty(value)) return true
  if (typeof value !== 'string') return 'Organization ID must be a string'
  if (!ORGANIZATION_ID_RE.test(value)) {
    return 'Organization ID must look like organization-test-<uuid> or organization-live-<uuid> (lowercase hex)'
  }
  return true
}

/** Stytch consumer user id: user-(test|live)-<uuid> (shared/src/ids.rs stytch). */
export function userId(value) {
  if (isEmpty(value)) return true
  if (typeof value !== 'string') return 'User ID must be a string'
  if (!USER_ID_RE.test(value)) {
    return 'User ID must look like user-test-<uuid> or user-live-<uuid> (lowercase hex)'
  }
  return true
}

/** An access rule targets exactly one of a Stytch organization (B2B) or a Stytch user (consumer). */
export function exactlyOneTarget(doc) {
  const hasOrg = !isEmpty(doc?.stytchOrganizationId)
  const hasUser = !isEmpty(doc?.stytchUserId)
  if (hasOrg && hasUser) return 'Set either the Stytch organization ID or the Stytch user ID, not both'
  if (!hasOrg && !hasUser) return 'Set the Stytch organization ID (B2B) or the Stytch user ID (consumer)'
  return true
}

/**
 * A canonical route, exactly as shared/src/gated_route.rs GatedRoute::parse accepts it: starts
 * with "/", no trailing "/" (except "/" itself), no "//", no "." or ".." segment, no whitespace,
 * control character, "?" or "#", at most 200 bytes. The gate compares routes as written, so a
 * non-canonical one would never match.
 */
export function routePath(value) {
  if (isEmpty(value)) return true
  if (typeof value !== 'string') return 'Route must be a string'
  if (!value.startsWith('/')) return 'Route must start with "/"'
  if (utf8Length(value) > ROUTE_MAX_LENGTH) return `Route must be at most ${ROUTE_MAX_LENGTH} bytes`
  if (RUST_WHITESPACE_RE.test(value)) return 'Route must not contain whitespace'
  if (RUST_CONTROL_RE.test(value)) return 'Route must not contain control characters'
  if (value.includes('?') || value.includes('#')) return 'Route must not contain "?" or "#" (no query or fragment)'
  if (value.includes('//')) return 'Route must not contain "//"'
  if (value !== '/' && value.endsWith('/')) return 'Route must not end with "/"'
  if (value.split('/').some((seg) => seg === '.' || seg === '..')) return 'Route must not contain "." or ".." segments'
  return true
}

/** gatedRoutes[]: every path valid and no path listed twice. */
export function uniqueRoutes(routes) {
  if (isEmpty(routes)) return true
  if (!Array.isArray(routes)) return 'Gated routes must be a list'
  const seen = new Set()
  for (const item of routes) {
    const path = item?.path
    const ok = routePath(path)
    if (ok !== true) return ok
    if (isEmpty(path)) continue
    if (seen.has(path)) return `Route "${path}" is listed more than once`
    seen.add(path)
  }
  return true
}

/** A slug string: lowercase words joined by "-", at most `maxLength` characters (ASCII only, so bytes). */
export function slugText(current, maxLength = DOCUMENT_SLUG_MAX_LENGTH) {
  if (isEmpty(current)) return true
  if (typeof current !== 'string' || !SLUG_RE.test(current)) {
    return 'Slug must be lowercase letters and digits separated by "-"'
  }
  if (current.length > maxLength) return `Slug must be at most ${maxLength} characters (it has ${current.length})`
  return true
}

/** slug field value ({current}). */
export function slugValue(value, maxLength = DOCUMENT_SLUG_MAX_LENGTH) {
  return slugText(value?.current, maxLength)
}

/** `Rule.custom` for a slug field of at most `maxLength` characters (custom passes a context second, not a length). */
export const slugWithin = (maxLength) => (value) => slugValue(value, maxLength)

/**
 * Sanity's `options.slugify`: the default keeps "_" and other characters SLUG_RE refuses
 * ("Pro_Plan" -> "pro_plan"), so Generate would produce a slug the field then rejects. This one
 * drops accents, joins every other run of characters with "-" and cuts at `maxLength` without a
 * trailing "-", so whatever it produces passes slugText.
 */
export function slugify(input, maxLength = DOCUMENT_SLUG_MAX_LENGTH) {
  const words = String(input ?? '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
  return words.slice(0, maxLength).replace(/-+$/, '')
}

/** `options.slugify` for a slug field of at most `maxLength` characters. */
export const slugifyWithin = (maxLength) => (input) => slugify(input, maxLength)

/** A list of strings (roles, regions, content types) without duplicates. */
export function uniqueStrings(values) {
  if (isEmpty(values)) return true
  if (!Array.isArray(values)) return 'Must be a list'
  const seen = new Set()
  for (const v of values) {
    if (typeof v !== 'string' || v.trim() === '') return 'Entries must be non-empty strings'
    if (seen.has(v)) return `"${v}" is listed more than once`
    seen.add(v)
  }
  return true
}

/** A Sanity document id as the webhook handler accepts it (shared/src/cms/webhook.rs valid_document_id). */
export function documentId(value) {
  if (typeof value !== 'string' || value === '') return 'Document ID must be a non-empty string'
  if (value.length > 128) return 'Document ID must be at most 128 characters'
  if (!/^[A-Za-z0-9._-]+$/.test(value)) return 'Document ID must be letters, digits, ".", "_" or "-"'
  if (value.startsWith('.')) return 'Document ID must not start with "."'
  return true
}

// ---- Descope flavour -------------------------------------------------------------------------
// Descope itself defines no format for tenant ids, role names or login ids beyond "a string". Login
// ids and tenant ids follow what sync accepts (shared/src/ids.rs descope, which
// Descope::validate_target applies: at most 256 bytes, no whitespace at the ends, no control
// characters). Role keys have no Rust check yet;
// the Studio refuses what would make the sync (which trims) and the gate (which does not) disagree.

export const DESCOPE_ROLE_KEY_MAX_LENGTH = 100
export const DESCOPE_ID_MAX_LENGTH = 256
export const DESCOPE_TENANT_ID_MAX_LENGTH = DESCOPE_ID_MAX_LENGTH
export const DESCOPE_LOGIN_ID_MAX_LENGTH = DESCOPE_ID_MAX_LENGTH

/** The shared rule of the Descope ids sync writes to (`what` names the field in the message). */
function descopeText(value, what, maxBytes) {
  if (isEmpty(value)) return true
  if (typeof value !== 'string') return `${what} must be a string`
  if (rustTrim(value) === '') return `${what} must not be blank`
  if (rustTrim(value) !== value) return `${what} must not start or end with whitespace`
  if (RUST_CONTROL_RE.test(value)) return `${what} must not contain control characters (tabs, newlines, …)`
  if (utf8Length(value) > maxBytes) return `${what} must be at most ${maxBytes} bytes`
  return true
}

/** Descope role name (Authorization → Roles): ≤ 100 bytes, no whitespace at the ends, no control characters. */
export function descopeRoleKey(value) {
  return descopeText(value, 'Role key', DESCOPE_ROLE_KEY_MAX_LENGTH)
}

/** Descope tenant id (generated T2… or custom): ≤ 256 bytes, no whitespace at the ends, no control characters. */
export function descopeTenantId(value) {
  return descopeText(value, 'Tenant ID', DESCOPE_TENANT_ID_MAX_LENGTH)
}

/** Descope login id (usually an email) or user id (U2…): ≤ 256 bytes, no whitespace at the ends, no control characters. */
export function descopeLoginId(value) {
  return descopeText(value, 'Login ID', DESCOPE_LOGIN_ID_MAX_LENGTH)
}

/** An array of references ({_ref}): every entry points somewhere and no document is picked twice. */
export function uniqueReferences(values) {
  if (isEmpty(values)) return true
  if (!Array.isArray(values)) return 'Must be a list'
  const seen = new Set()
  for (const item of values) {
    const ref = item?._ref
    if (typeof ref !== 'string' || ref === '') return 'Every entry must point at a document (pick one or remove the entry)'
    if (seen.has(ref)) return 'The same document is listed more than once'
    seen.add(ref)
  }
  return true
}
