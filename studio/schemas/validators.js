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
