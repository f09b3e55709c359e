// Pure validation functions for the gatehouse Studio schemas.
// Sanity's contract for Rule.custom(fn): return `true` when valid, or an error message string.
// Empty values are valid here; presence is enforced with Rule.required() or exactlyOneTarget.
// These mirror what the sync functions enforce on the server (which answers 422 otherwise).

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
export const ORGANIZATION_ID_RE = new RegExp(`^organization-(test|live)-${UUID}$`)
export const USER_ID_RE = new RegExp(`^user-(test|live)-${UUID}$`)
export const SLUG_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/
export const ROUTE_MAX_LENGTH = 200

const isEmpty = (value) => value === undefined || value === null || value === ''

/** Stytch B2B organization id: organization-(test|live)-<uuid>. */
export function organizationId(value) {
  if (isEmpty(value)) return true
  if (typeof value !== 'string') return 'Organization ID must be a string'
  if (!ORGANIZATION_ID_RE.test(value)) {
    return 'Organization ID must look like organization-test-<uuid> or organization-live-<uuid> (lowercase hex)'
  }
  return true
}

/** Stytch consumer user id: user-(test|live)-<uuid>. */
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

/** A gated route path: /absolute, no "..", no query or fragment, no whitespace, at most 200 chars. */
export function routePath(value) {
  if (isEmpty(value)) return true
  if (typeof value !== 'string') return 'Route must be a string'
  if (!value.startsWith('/')) return 'Route must start with "/"'
  if (value.length > ROUTE_MAX_LENGTH) return `Route must be at most ${ROUTE_MAX_LENGTH} characters`
  if (/\s/.test(value)) return 'Route must not contain whitespace'
  if (value.includes('?') || value.includes('#')) return 'Route must not contain "?" or "#" (no query or fragment)'
  if (value.includes('..')) return 'Route must not contain ".."'
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

/** slug field value ({current}): lowercase words joined by "-". */
export function slugValue(value) {
  const current = value?.current
  if (isEmpty(current)) return true
  if (typeof current !== 'string' || !SLUG_RE.test(current)) {
    return 'Slug must be lowercase letters and digits separated by "-"'
  }
  return true
}

/** A list of plan slugs (requiredPlans[]): each a valid slug, no duplicates. */
export function planSlugList(values) {
  if (isEmpty(values)) return true
  if (!Array.isArray(values)) return 'Plans must be a list of plan slugs'
  const seen = new Set()
  for (const v of values) {
    if (typeof v !== 'string' || !SLUG_RE.test(v)) return `"${v}" is not a plan slug (lowercase, "-" separated)`
    if (seen.has(v)) return `Plan "${v}" is listed more than once`
    seen.add(v)
  }
  return true
}

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

// ---- Descope flavour -------------------------------------------------------------------------
// Descope itself defines no format for tenant ids, role names or login ids beyond "a string"; these
// rules catch what would break a sync (stray spaces, control characters, absurd lengths) without
// refusing ids an operator chose (custom tenant ids, role names with spaces or dots).

export const DESCOPE_ROLE_KEY_MAX_LENGTH = 100
export const DESCOPE_TENANT_ID_MAX_LENGTH = 100
export const DESCOPE_LOGIN_ID_MAX_LENGTH = 256
// Generated tenant ids are "T2" + 27 letters/digits; custom ones may also use "_" and "-".
export const DESCOPE_TENANT_ID_RE = /^[A-Za-z0-9_-]+$/
const CONTROL_CHARS_RE = /[\u0000-\u001f\u007f]/

/** Descope role name (Authorization → Roles): ≤ 100 chars, no spaces at the ends, no control characters. */
export function descopeRoleKey(value) {
  if (isEmpty(value)) return true
  if (typeof value !== 'string') return 'Role key must be a string'
  if (value.trim() === '') return 'Role key must not be blank'
  if (value !== value.trim()) return 'Role key must not start or end with whitespace'
  if (CONTROL_CHARS_RE.test(value)) return 'Role key must not contain control characters (tabs, newlines, …)'
  if (value.length > DESCOPE_ROLE_KEY_MAX_LENGTH) {
    return `Role key must be at most ${DESCOPE_ROLE_KEY_MAX_LENGTH} characters`
  }
  return true
}

/** Descope tenant id: generated (T2…) or custom, ≤ 100 chars of letters, digits, "_" and "-". */
export function descopeTenantId(value) {
  if (isEmpty(value)) return true
  if (typeof value !== 'string') return 'Tenant ID must be a string'
  if (value.length > DESCOPE_TENANT_ID_MAX_LENGTH) {
    return `Tenant ID must be at most ${DESCOPE_TENANT_ID_MAX_LENGTH} characters`
  }
  if (!DESCOPE_TENANT_ID_RE.test(value)) {
    return 'Tenant ID must be letters, digits, "_" or "-" only (copy it from Descope → Tenants, e.g. T2…)'
  }
  return true
}

/** Descope login id (usually an email) or user id (U2…): ≤ 256 chars, no whitespace at the ends, no control characters. */
export function descopeLoginId(value) {
  if (isEmpty(value)) return true
  if (typeof value !== 'string') return 'Login ID must be a string'
  if (value.trim() === '') return 'Login ID must not be blank'
  if (value !== value.trim()) return 'Login ID must not start or end with whitespace'
  if (CONTROL_CHARS_RE.test(value)) return 'Login ID must not contain control characters'
  if (value.length > DESCOPE_LOGIN_ID_MAX_LENGTH) {
    return `Login ID must be at most ${DESCOPE_LOGIN_ID_MAX_LENGTH} characters`
  }
  return true
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
