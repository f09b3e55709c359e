'use strict'

// Sanity's Webhooks API (`/{v}/hooks/projects/{projectId}[/{id}]`), document webhooks only.
// Shapes follow the real API as recorded in README.md ("Webhooks API"): a create or get answers
// the whole hook, `rule: {on, filter?, projection?}` carries the GROQ, top-level `filter` and
// `projection` are the legacy experimental fields and always null, and `isDisabledByUser` is
// the switch a caller sets. A hook becomes an entry of the WebhookEngine (source 'api'), so it
// is delivered exactly like one from SANITY_WEBHOOKS_FILE.

const {parse} = require('groq-js')
const {randomId} = require('./util')

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']
const OPERATIONS = ['create', 'update', 'delete']
// Delta GROQ exists from this API version on (docs page `webhooks-api`).
const MIN_DELTA_VERSION = '2021-03-25'
const HEADER_NAME = /^[a-zA-Z][a-zA-Z0-9-_]*$/
const DATASET_NAME = /^[a-z0-9-_]+$/

class HookInputError extends Error {}

function fail(message) {
  throw new HookInputError(message)
}

function checkGroq(text, what) {
  try {
    parse(text, {mode: 'delta'})
  } catch (err) {
    fail(`${what} is not valid GROQ: ${err.message}`)
  }
}

/**
 * Checks a create (partial = false) or PATCH (partial = true) body and returns the fields it
 * sets, already in engine terms. `datasets` is the project's dataset list.
 */
function parseHookInput(body, {partial, datasets}) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) fail('Request body must be a JSON object')
  const out = {}
  const known = new Set(['type', 'name', 'description', 'url', 'dataset', 'rule', 'apiVersion', 'httpMethod',
    'includeDrafts', 'includeAllVersions', 'headers', 'secret', 'isDisabledByUser'])
  for (const key of Object.keys(body)) if (!known.has(key)) fail(`"${key}" is not allowed`)

  if (partial) {
    // Observed on the real API: PATCH rejects `type` (README.md "Webhooks API").
    if ('type' in body) fail('"type" is not allowed')
  } else if (body.type !== 'document') {
    fail(body.type === 'transaction' ? '"type" transaction is not emulated; use "document"' : '"type" must be "document"')
  }

  const has = (k) => k in body && body[k] !== undefined
  const required = (k) => {
    if (!partial && !has(k)) fail(`"${k}" is required`)
    return has(k)
  }

  if (required('name')) {
    if (typeof body.name !== 'string' || !body.name.trim()) fail('"name" must be a non-empty string')
    if (body.name.length > 100) fail('"name" must be 100 characters or less')
    out.name = body.name
  }
  if (has('description')) {
    if (body.description !== null && typeof body.description !== 'string') fail('"description" must be a string or null')
    if (body.description && body.description.length > 1024) fail('"description" must be 1024 characters or less')
    out.description = body.description
  }
  if (required('url')) {
    let u
    try {
      u = new URL(body.url)
    } catch {
      fail('"url" must be a valid URL')
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') fail('"url" must be an http or https URL')
    out.url = body.url
  }
  if (required('dataset')) {
    if (typeof body.dataset !== 'string' || (body.dataset !== '*' && !DATASET_NAME.test(body.dataset))) {
      fail('"dataset" must match ^[a-z0-9-_]+$ (or be "*")')
    }
    if (body.dataset !== '*' && !datasets.includes(body.dataset)) {
      throw Object.assign(new HookInputError(`Dataset "${body.dataset}" does not exist in this project`), {unknownDataset: true})
    }
    out.dataset = body.dataset
  }
  if (required('apiVersion')) {
    const m = typeof body.apiVersion === 'string' ? /^v(\d{4}-\d{2}-\d{2})$/.exec(body.apiVersion) : null
    if (!m) fail('"apiVersion" must look like vYYYY-MM-DD')
    if (m[1] < MIN_DELTA_VERSION) fail(`"apiVersion" must be v${MIN_DELTA_VERSION} or later (delta GROQ)`)
    out.apiVersion = body.apiVersion
  }
  if (required('rule')) {
    const r = body.rule
    if (!r || typeof r !== 'object' || Array.isArray(r)) fail('"rule" must be an object')
    for (const key of Object.keys(r)) if (!['on', 'filter', 'projection'].includes(key)) fail(`"rule.${key}" is not allowed`)
    if (!Array.isArray(r.on) || !r.on.length || r.on.some((op) => !OPERATIONS.includes(op))) {
      fail('"rule.on" must be a non-empty list of "create", "update", "delete"')
    }
    for (const key of ['filter', 'projection']) {
      if (r[key] === undefined || r[key] === null) continue
      if (typeof r[key] !== 'string') fail(`"rule.${key}" must be a string`)
      if (r[key].trim()) checkGroq(r[key], `"rule.${key}"`)
    }
    out.on = [...new Set(r.on)]
    out.filter = r.filter || ''
    out.projection = r.projection || ''
  }
  if (has('httpMethod')) {
    if (!METHODS.includes(body.httpMethod)) fail(`"httpMethod" must be one of ${METHODS.join(', ')}`)
    out.httpMethod = body.httpMethod
  }
  for (const key of ['includeDrafts', 'includeAllVersions', 'isDisabledByUser']) {
    if (!has(key)) continue
    if (typeof body[key] !== 'boolean') fail(`"${key}" must be a boolean`)
    if (key === 'isDisabledByUser') out.enabled = !body[key]
    else out[key] = body[key]
  }
  if (has('headers')) {
    const h = body.headers
    if (h !== null && (typeof h !== 'object' || Array.isArray(h))) fail('"headers" must be an object')
    for (const [k, v] of Object.entries(h || {})) {
      if (!HEADER_NAME.test(k)) fail(`header name "${k}" must match ${HEADER_NAME.source}`)
      if (typeof v !== 'string') fail(`header "${k}" must be a string`)
    }
    out.headers = {...(h || {})}
  }
  if (has('secret')) {
    if (body.secret !== null && typeof body.secret !== 'string') fail('"secret" must be a string or null')
    out.secret = body.secret || ''
  }
  return out
}

/** A new engine entry from a checked create body. */
function newHook(fields, {defaults, createdByUserId}) {
  const {description, apiVersion, ...engine} = fields
  return {
    id: randomId(16),
    source: 'api',
    httpMethod: 'POST',
    headers: {},
    includeDrafts: false,
    includeAllVersions: false,
    enabled: true,
    secret: '',
    ...defaults,
    ...engine,
    api: {
      type: 'document',
      apiVersion,
      description: description ?? null,
      createdAt: new Date().toISOString(),
      createdByUserId,
    },
  }
}

/** An engine entry with a checked PATCH body applied. */
function patchedHook(hook, fields) {
  const {description, apiVersion, ...engine} = fields
  const api = {...hook.api}
  if (description !== undefined) api.description = description
  if (apiVersion !== undefined) api.apiVersion = apiVersion
  return {...hook, ...engine, api}
}

/** The hook as the Webhooks API shows it (field order as in the recorded real response). */
function hookView(hook, projectId) {
  const api = hook.api || {}
  const rule = {on: hook.on}
  if (hook.filter) rule.filter = hook.filter
  if (hook.projection) rule.projection = hook.projection
  return {
    type: 'document',
    rule,
    filter: null,
    projection: null,
    apiVersion: api.apiVersion ?? null,
    httpMethod: hook.httpMethod,
    includeDrafts: hook.includeDrafts,
    includeAllVersions: hook.includeAllVersions,
    headers: hook.headers,
    secret: hook.secret || null,
    id: hook.id,
    name: hook.name,
    projectId,
    dataset: hook.dataset,
    url: hook.url,
    createdAt: api.createdAt ?? null,
    createdByUserId: api.createdByUserId ?? null,
    isDisabled: false,
    isDisabledByUser: !hook.enabled,
    deletedAt: null,
    description: api.description ?? null,
  }
}

module.exports = {parseHookInput, newHook, patchedHook, hookView, HookInputError}
