'use strict'

// Local stand-in for the Sanity Content Lake: query / mutate / doc HTTP APIs
// evaluated with groq-js, GROQ-powered signed webhooks, and the gatehouse
// control API under /__gatehouse/. All state lives in memory.

const http = require('node:http')
const https = require('node:https')
const fs = require('node:fs')
const crypto = require('node:crypto')
const {parse, evaluate, GroqSyntaxError} = require('groq-js')
const {Store, MutationError} = require('./lib/store')
const {WebhookEngine} = require('./lib/webhooks')
const {parseHookInput, newHook, patchedHook, hookView, HookInputError} = require('./lib/hooksapi')
const {sleep} = require('./lib/util')

const MAX_BODY = 4 * 1024 * 1024
const API_RE = /^\/v(\d{4}-\d{2}-\d{2}|X|1)\/data\/(query|mutate|doc)\/([^/]+)(?:\/(.*))?$/
const HOOKS_RE = /^\/v(?:\d{4}-\d{2}-\d{2}|X|1)\/hooks\/projects\/([^/]+)(?:\/([^/]+))?$/
const DATASETS_RE = /^\/v(?:\d{4}-\d{2}-\d{2}|X|1)\/projects\/([^/]+)\/datasets$/
// Token roles, after Sanity's project roles: viewer reads; editor also writes documents;
// developer and administrator also hold the sanity.project.webhooks grants.
const ROLES = ['viewer', 'editor', 'developer', 'administrator']
const CAN_WRITE = new Set(['editor', 'developer', 'administrator'])
const CAN_MANAGE_HOOKS = new Set(['developer', 'administrator'])
const PERSPECTIVE_CUTOFF = '2025-02-19'

const REASONS = http.STATUS_CODES

/** "token" or "token:role" entries -> Map(token -> role); a bare token is a developer token. */
function parseTokens(list) {
  const tokens = new Map()
  for (const entry of list) {
    const i = entry.lastIndexOf(':')
    const role = i > 0 ? entry.slice(i + 1) : 'developer'
    const token = i > 0 ? entry.slice(0, i) : entry
    if (!ROLES.includes(role)) throw new Error(`token "${token}": unknown role "${role}" (one of ${ROLES.join(', ')})`)
    tokens.set(token, role)
  }
  return tokens
}

function createEmulator(options = {}) {
  const config = {
    projectId: options.projectId || 'demo',
    tokens: parseTokens(options.tokens || ['sk-local-read', 'sk-local-write']),
    datasets: options.datasets || ['production'],
    // Delivery settings for hooks-API webhooks, which the real API does not expose.
    apiHookDefaults: {retryDelayMs: 30000, maxRetries: 2, timeoutMs: 30000, ...(options.apiHookDefaults || {})},
    log: options.log || (() => {}),
    tls: options.tls,
  }
  const store = new Store()
  const hooks = new WebhookEngine({projectId: config.projectId, log: config.log})
  if (options.webhooks) hooks.setWebhooks(options.webhooks)

  let faults = [] // {method, path, status?, hang_ms?, remaining}
  let calls = new Map() // "METHOD path" -> count
  let txChain = Promise.resolve()

  // ---------------------------------------------------------------- helpers

  function send(res, status, body, headers = {}) {
    const text = JSON.stringify(body)
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      ...headers,
    })
    res.end(text)
  }

  /** Boom-style error body, as the Content Lake uses for HTTP-level errors. */
  function httpError(res, status, message, extra = {}) {
    send(res, status, {error: REASONS[status] || 'Error', message, statusCode: status, ...extra})
  }

  function badRequest(res, description) {
    send(res, 400, {error: {description, type: 'httpBadRequest'}})
  }

  // Memoized: a fault with `match` reads the body before the API handler does.
  function readBody(req) {
    if (!req.bodyText) req.bodyText = readBodyOnce(req)
    return req.bodyText
  }

  function readBodyOnce(req) {
    return new Promise((resolve, reject) => {
      const chunks = []
      let size = 0
      req.on('data', (c) => {
        size += c.length
        if (size > MAX_BODY) {
          reject(Object.assign(new Error('Request body too large'), {status: 413}))
          req.destroy()
          return
        }
        chunks.push(c)
      })
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
      req.on('error', reject)
    })
  }

  async function readJson(req, res, {allowEmpty = false} = {}) {
    let text
    try {
      text = await readBody(req)
    } catch (err) {
      httpError(res, err.status || 400, err.message)
      return undefined
    }
    if (!text.trim()) {
      if (allowEmpty) return {}
      badRequest(res, 'Request body is empty; expected JSON')
      return undefined
    }
    try {
      return JSON.parse(text)
    } catch (err) {
      badRequest(res, `Unable to parse request body as JSON: ${err.message}`)
      return undefined
    }
  }

  /** {role, token} for a known token, else {error: 'missing' | 'unknown'}. */
  function authenticate(req) {
    const header = req.headers.authorization || ''
    const m = /^Bearer\s+(.+)$/i.exec(header)
    if (!m) return {error: 'missing'}
    const token = m[1].trim()
    return config.tokens.has(token) ? {role: config.tokens.get(token), token} : {error: 'unknown'}
  }

  function refuseUnauthenticated(req, res, auth) {
    req.resume()
    return auth.error === 'missing'
      ? httpError(res, 401, 'Unauthorized - no valid token was provided')
      : httpError(res, 401, 'Session not found', {errorCode: 'SIO-401-ANF'})
  }

  /** A stable, non-secret user id for a token, like the robot ids Sanity puts in createdByUserId. */
  function robotId(token) {
    return `p${crypto.createHash('sha256').update(token).digest('base64url').slice(0, 11)}`
  }

  /** The project's datasets: the configured ones and any that holds documents. */
  function projectDatasets() {
    const names = new Set(config.datasets)
    for (const [name, docs] of store.datasets) if (docs.size) names.add(name)
    return [...names].sort()
  }

  // `match` scopes a fault to requests whose query string or body contains that text (a test's
  // own document id), so tests sharing the query path do not see each other's faults.
  async function matchFault(req, method, path, search) {
    for (const f of faults) {
      if (f.remaining <= 0) continue
      if (f.method !== '*' && f.method !== method) continue
      const ok = f.path.endsWith('*') ? path.startsWith(f.path.slice(0, -1)) : path === f.path
      if (!ok) continue
      if (f.match !== undefined) {
        let text = ''
        try {
          text = decodeURIComponent(search) + (method === 'POST' ? await readBody(req) : '')
        } catch {
          continue
        }
        if (!text.includes(f.match)) continue
      }
      if (f.remaining <= 0) continue
      f.remaining--
      return f
    }
    return null
  }

  function defaultPerspective(version) {
    if (version === 'X') return 'published'
    if (version === '1') return 'raw'
    return version >= PERSPECTIVE_CUTOFF ? 'published' : 'raw'
  }

  function resolvePerspective(raw, version) {
    if (raw === undefined || raw === null || raw === '') return defaultPerspective(version)
    const list = String(raw).split(',').map((s) => s.trim()).filter(Boolean)
    if (list.length === 1 && ['published', 'raw', 'drafts', 'previewDrafts'].includes(list[0])) {
      return list[0] === 'previewDrafts' ? 'drafts' : list[0]
    }
    // Release stacks (e.g. "rABC,drafts"): releases are not emulated; honour drafts/published.
    if (list.length > 1 && list.every((p) => /^[A-Za-z0-9_-]+$/.test(p)) && !list.includes('raw')) {
      return list.includes('drafts') ? 'drafts' : 'published'
    }
    return null
  }

  // ------------------------------------------------------------------ query

  function collectParams(node, out = new Set()) {
    if (Array.isArray(node)) {
      for (const n of node) collectParams(n, out)
    } else if (node && typeof node === 'object') {
      if (node.type === 'Parameter' && typeof node.name === 'string') out.add(node.name)
      for (const v of Object.values(node)) if (v && typeof v === 'object') collectParams(v, out)
    }
    return out
  }

  async function runQuery(res, {dataset, version, query, params, perspective, returnQuery}) {
    const started = process.hrtime.bigint()
    if (typeof query !== 'string' || !query.trim()) {
      badRequest(res, 'The "query" parameter is required')
      return
    }
    if (params !== undefined && (params === null || typeof params !== 'object' || Array.isArray(params))) {
      badRequest(res, '"params" must be an object')
      return
    }
    params = params || {}
    const persp = resolvePerspective(perspective, version)
    if (!persp) {
      badRequest(res, `Invalid perspective "${perspective}"`)
      return
    }
    let tree
    try {
      tree = parse(query, {params})
    } catch (err) {
      if (err instanceof GroqSyntaxError || err.name === 'GroqSyntaxError') {
        const position = typeof err.position === 'number' ? err.position : 0
        const description = String(err.message).replace(/^Syntax error in GROQ query at position \d+:\s*/, '')
        send(res, 400, {
          error: {
            description,
            start: position,
            end: Math.min(position + 1, query.length),
            query,
            type: 'queryParseError',
          },
        })
        return
      }
      send(res, 400, {error: {description: String(err.message), start: 0, end: query.length, query, type: 'queryParseError'}})
      return
    }
    for (const name of collectParams(tree)) {
      if (!Object.prototype.hasOwnProperty.call(params, name)) {
        const m = new RegExp(`\\$${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w])`).exec(query)
        const start = m ? m.index : 0
        send(res, 400, {
          error: {
            description: `param $${name} referenced, but not provided`,
            start,
            end: m ? start + m[0].length : query.length,
            query,
            type: 'queryParseError',
          },
        })
        return
      }
    }
    let result
    try {
      const value = await evaluate(tree, {
        dataset: store.view(dataset, persp),
        params,
        timestamp: new Date(),
        identity: 'p-gatehouse-emulator',
        sanity: {projectId: config.projectId, dataset},
      })
      result = await value.get()
    } catch (err) {
      send(res, 400, {error: {description: String(err.message), type: 'queryExecutionError'}})
      return
    }
    const ms = Math.max(1, Math.round(Number(process.hrtime.bigint() - started) / 1e6))
    const body = returnQuery === false ? {result: result === undefined ? null : result, syncTags: [], ms} : {query, result: result === undefined ? null : result, syncTags: [], ms}
    send(res, 200, body)
  }

  async function handleQuery(req, res, url, dataset, version) {
    if (req.method === 'GET') {
      const params = {}
      for (const [key, value] of url.searchParams) {
        if (!key.startsWith('$')) continue
        try {
          params[key.slice(1)] = JSON.parse(value)
        } catch {
          badRequest(res, `Unable to parse value of "${key}=${value}". Please quote string values.`)
          return
        }
      }
      await runQuery(res, {
        dataset,
        version,
        query: url.searchParams.get('query'),
        params,
        perspective: url.searchParams.get('perspective'),
        returnQuery: url.searchParams.get('returnQuery') !== 'false',
      })
      return
    }
    if (req.method === 'POST') {
      const body = await readJson(req, res)
      if (body === undefined) return
      if (!body || typeof body !== 'object' || Array.isArray(body)) {
        badRequest(res, 'Request body must be a JSON object {query, params}')
        return
      }
      await runQuery(res, {
        dataset,
        version,
        query: body.query,
        params: body.params,
        perspective: url.searchParams.get('perspective') ?? body.perspective,
        returnQuery: url.searchParams.get('returnQuery') !== 'false',
      })
      return
    }
    httpError(res, 405, `Method ${req.method} not allowed on the query endpoint`)
  }

  // ----------------------------------------------------------------- mutate

  function withTxLock(fn) {
    const run = txChain.then(fn, fn)
    txChain = run.then(() => undefined, () => undefined)
    return run
  }

  async function handleMutate(req, res, url, dataset, role) {
    if (req.method !== 'POST') {
      httpError(res, 405, `Method ${req.method} not allowed on the mutate endpoint`)
      return
    }
    const body = await readJson(req, res)
    if (body === undefined) return
    if (!CAN_WRITE.has(role)) {
      // A read-only token: the real API refuses with 403 and this description.
      const first = body && Array.isArray(body.mutations) && body.mutations[0] ? Object.keys(body.mutations[0])[0] : 'create'
      const permission = first === 'delete' ? 'delete' : first === 'patch' ? 'update' : 'create'
      const description = `the mutation(s) failed: Insufficient permissions; permission "${permission}" required`
      send(res, 403, {error: {description, items: [], type: 'mutationError'}})
      return
    }
    if (!body || typeof body !== 'object' || Array.isArray(body) || !Array.isArray(body.mutations)) {
      send(res, 400, {
        error: {
          description: 'The mutation(s) failed: request body must be an object with a "mutations" array',
          items: [],
          type: 'mutationError',
        },
      })
      return
    }
    const returnIds = url.searchParams.get('returnIds') === 'true'
    const returnDocuments = url.searchParams.get('returnDocuments') === 'true'
    let outcome
    try {
      outcome = await withTxLock(async () => {
        const tx = await store.mutate(dataset, body.mutations, {transactionId: body.transactionId})
        // Evaluate webhook filters/projections against the committed state before
        // answering, so a caller that waits for idle right after sees the events.
        if (tx.changes.length) {
          await hooks.onTransaction({
            dataset,
            transactionId: tx.transactionId,
            timestamp: tx.timestamp,
            changes: tx.changes,
            publishedDocs: store.view(dataset, 'published'),
          })
        }
        return tx
      })
    } catch (err) {
      if (err instanceof MutationError) {
        send(res, err.status, {error: {description: err.description, items: err.item ? [err.item] : [], type: 'mutationError'}})
        return
      }
      throw err
    }
    const out = {
      transactionId: outcome.transactionId,
      results: outcome.results.map((r) => (returnDocuments ? r : {id: r.id, operation: r.operation})),
    }
    if (returnIds) out.documentIds = outcome.results.map((r) => r.id)
    send(res, 200, out)
  }

  // -------------------------------------------------------------------- doc

  function handleDoc(req, res, dataset, rest) {
    if (req.method !== 'GET') {
      httpError(res, 405, `Method ${req.method} not allowed on the doc endpoint`)
      return
    }
    const ids = (rest || '').split(',').map((s) => decodeURIComponent(s.trim())).filter(Boolean)
    if (!ids.length) {
      badRequest(res, 'At least one document ID is required')
      return
    }
    const docs = store.getDocuments(dataset, ids)
    const documents = []
    const omitted = []
    ids.forEach((id, i) => {
      if (docs[i]) documents.push(docs[i])
      else omitted.push({id, reason: 'existence'})
    })
    send(res, 200, {documents, omitted})
  }

  // ----------------------------------------------------------- control API

  async function handleControl(req, res, url) {
    const path = url.pathname
    const m = req.method

    if (path === '/__gatehouse/health' && m === 'GET') return send(res, 200, {ok: true})

    if (path === '/__gatehouse/deliveries' && m === 'GET') {
      const sinceRaw = url.searchParams.get('since')
      const since = sinceRaw !== null && sinceRaw !== '' ? Number(sinceRaw) : undefined
      return send(res, 200, {deliveries: hooks.listDeliveries({webhook: url.searchParams.get('webhook') || undefined, since})})
    }

    if (path === '/__gatehouse/webhooks' && m === 'GET') return send(res, 200, {webhooks: hooks.webhooks})
    if (path === '/__gatehouse/webhooks' && m === 'PUT') {
      const body = await readJson(req, res)
      if (body === undefined) return
      const list = Array.isArray(body) ? body : body && Array.isArray(body.webhooks) ? body.webhooks : null
      try {
        hooks.setWebhooks(list)
      } catch (err) {
        return badRequest(res, err.message)
      }
      return send(res, 200, {webhooks: hooks.webhooks})
    }

    const redeliver = /^\/__gatehouse\/webhooks\/([^/]+)\/redeliver$/.exec(path)
    if (redeliver && m === 'POST') {
      const body = await readJson(req, res)
      if (body === undefined) return
      const seq = Number(body && body.seq)
      const id = decodeURIComponent(redeliver[1])
      if (!hooks.webhooks.some((h) => h.id === id)) return httpError(res, 404, `Unknown webhook "${id}"`)
      const entry = await hooks.redeliver(id, seq)
      if (!entry) return httpError(res, 404, `No delivery with seq ${body && body.seq} for webhook "${id}"`)
      return send(res, 200, {delivery: entry})
    }

    if (path === '/__gatehouse/idle' && (m === 'GET' || m === 'POST')) {
      let timeoutMs = Number(url.searchParams.get('timeout_ms') || 0)
      if (m === 'POST') {
        const body = await readJson(req, res, {allowEmpty: true})
        if (body === undefined) return
        if (body && typeof body.timeout_ms === 'number') timeoutMs = body.timeout_ms
      }
      if (!timeoutMs || timeoutMs < 0) timeoutMs = 10000
      const idle = await hooks.waitIdle(timeoutMs)
      return idle ? send(res, 200, {idle: true}) : send(res, 504, {idle: false, error: `webhook queues not idle after ${timeoutMs} ms`})
    }

    if (path === '/__gatehouse/faults' && m === 'POST') {
      const body = await readJson(req, res)
      if (body === undefined) return
      const list = Array.isArray(body) ? body : [body]
      const added = []
      for (const f of list) {
        if (!f || typeof f.path !== 'string' || !f.path.startsWith('/')) return badRequest(res, 'fault needs a "path" starting with "/"')
        const hasStatus = Number.isInteger(f.status) && f.status >= 100 && f.status <= 599
        const hasHang = typeof f.hang_ms === 'number' && f.hang_ms >= 0
        if (!hasStatus && !hasHang) return badRequest(res, 'fault needs "status" (100-599) or "hang_ms"')
        const count = f.count === undefined ? 1 : Number(f.count)
        if (!Number.isInteger(count) || count < 1) return badRequest(res, '"count" must be a positive integer')
        added.push({
          method: typeof f.method === 'string' && f.method ? f.method.toUpperCase() : '*',
          path: f.path,
          status: hasStatus ? f.status : undefined,
          hang_ms: hasHang ? f.hang_ms : undefined,
          match: typeof f.match === 'string' && f.match ? f.match : undefined,
          count,
          remaining: count,
        })
      }
      faults.push(...added)
      return send(res, 200, {faults: faults.filter((f) => f.remaining > 0)})
    }
    if (path === '/__gatehouse/faults' && m === 'GET') return send(res, 200, {faults: faults.filter((f) => f.remaining > 0)})
    if (path === '/__gatehouse/faults' && m === 'DELETE') {
      // `?match=<text>` clears only the faults scoped to that text (a test's own), else all.
      const only = url.searchParams.get('match')
      faults = only ? faults.filter((f) => f.match !== only) : []
      return send(res, 200, {faults: faults.filter((f) => f.remaining > 0)})
    }

    if (path === '/__gatehouse/calls' && m === 'GET') {
      const list = [...calls.entries()].map(([key, count]) => {
        const i = key.indexOf(' ')
        return {method: key.slice(0, i), path: key.slice(i + 1), count}
      })
      return send(res, 200, {calls: list})
    }

    if (path === '/__gatehouse/reset' && m === 'POST') {
      const body = await readJson(req, res, {allowEmpty: true})
      if (body === undefined) return
      await withTxLock(async () => {
        store.reset()
        hooks.reset({webhooks: !!(body && body.webhooks === true)})
      })
      faults = []
      calls = new Map()
      return send(res, 200, {reset: true})
    }

    return httpError(res, 404, `Unknown control endpoint ${m} ${path}`)
  }

  // ----------------------------------------------------------------- router

  async function handle(req, res) {
    const url = new URL(req.url, 'http://localhost')
    const path = url.pathname
    if (path.startsWith('/__gatehouse/') || path === '/__gatehouse') {
      await handleControl(req, res, url)
      return
    }

    const key = `${req.method} ${path}`
    calls.set(key, (calls.get(key) || 0) + 1)

    const fault = await matchFault(req, req.method, path, url.search)
    if (fault) {
      if (fault.hang_ms !== undefined) await sleep(fault.hang_ms)
      if (fault.status !== undefined) {
        req.resume()
        if (fault.status >= 400) {
          return send(res, fault.status, {
            error: REASONS[fault.status] || 'Error',
            message: `Injected fault: ${fault.status} ${REASONS[fault.status] || ''}`.trim(),
            statusCode: fault.status,
          })
        }
        return send(res, fault.status, {})
      }
    }

    const hooksMatch = HOOKS_RE.exec(path)
    if (hooksMatch) return handleHooks(req, res, decodeURIComponent(hooksMatch[1]), hooksMatch[2] && decodeURIComponent(hooksMatch[2]))
    const datasetsMatch = DATASETS_RE.exec(path)
    if (datasetsMatch) return handleDatasets(req, res, decodeURIComponent(datasetsMatch[1]))

    const api = API_RE.exec(path)
    if (!api) return httpError(res, 404, `Not found: ${req.method} ${path}`)
    const [, version, endpoint, datasetRaw, rest] = api
    const dataset = decodeURIComponent(datasetRaw)
    if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(dataset)) {
      return send(res, 400, {error: {description: `Invalid dataset name "${dataset}"`, type: 'httpBadRequest'}})
    }

    const auth = authenticate(req)
    if (auth.error) return refuseUnauthenticated(req, res, auth)

    if (endpoint === 'query') {
      if (rest) return httpError(res, 404, `Not found: ${req.method} ${path}`)
      return handleQuery(req, res, url, dataset, version)
    }
    if (endpoint === 'mutate') {
      if (rest) return httpError(res, 404, `Not found: ${req.method} ${path}`)
      return handleMutate(req, res, url, dataset, auth.role)
    }
    return handleDoc(req, res, dataset, rest)
  }

  // ------------------------------------------------------- Webhooks API

  async function handleHooks(req, res, projectId, hookId) {
    const auth = authenticate(req)
    if (auth.error) return refuseUnauthenticated(req, res, auth)
    if (projectId !== config.projectId) {
      req.resume()
      return httpError(res, 401, 'Session does not match project host')
    }
    const action = {GET: 'read', POST: 'create', PATCH: 'update', DELETE: 'delete'}[req.method]
    const allowed = hookId ? ['GET', 'PATCH', 'DELETE'] : ['GET', 'POST']
    if (!action || !allowed.includes(req.method)) {
      req.resume()
      return httpError(res, 405, `Method ${req.method} not allowed on ${hookId ? 'a webhook' : 'the webhooks list'}`)
    }
    // A token without the grant gets 401 on the real API, not 403 (README.md "Webhooks API").
    if (!CAN_MANAGE_HOOKS.has(auth.role)) {
      req.resume()
      return httpError(res, 401, `Insufficient permissions; permission "sanity.project.webhooks/${action}" required`)
    }
    const apiHooks = () => hooks.webhooks.filter((h) => h.source === 'api')
    const view = (h) => hookView(h, config.projectId)

    if (!hookId && req.method === 'GET') return send(res, 200, apiHooks().map(view))
    const existing = hookId ? apiHooks().find((h) => h.id === hookId) : null
    if (hookId && !existing) {
      req.resume()
      return httpError(res, 404, `Webhook "${hookId}" not found`)
    }
    if (req.method === 'GET') return send(res, 200, view(existing))
    if (req.method === 'DELETE') {
      hooks.removeWebhook(hookId)
      return send(res, 200, {id: hookId, deleted: 1})
    }

    const body = await readJson(req, res)
    if (body === undefined) return
    let fields
    try {
      fields = parseHookInput(body, {partial: req.method === 'PATCH', datasets: projectDatasets()})
    } catch (err) {
      if (err instanceof HookInputError) return httpError(res, 400, err.message)
      throw err
    }
    let hook
    try {
      hook = req.method === 'POST'
        ? hooks.addWebhook(newHook(fields, {defaults: config.apiHookDefaults, createdByUserId: robotId(auth.token)}))
        : hooks.replaceWebhook(hookId, patchedHook(existing, fields))
    } catch (err) {
      return httpError(res, 400, err.message)
    }
    return send(res, req.method === 'POST' ? 201 : 200, view(hook))
  }

  function handleDatasets(req, res, projectId) {
    const auth = authenticate(req)
    if (auth.error) return refuseUnauthenticated(req, res, auth)
    req.resume()
    if (projectId !== config.projectId) return httpError(res, 401, 'Session does not match project host')
    if (req.method !== 'GET') return httpError(res, 405, `Method ${req.method} not allowed on the datasets list`)
    return send(res, 200, projectDatasets().map((name) => ({name, aclMode: 'public', createdAt: null, createdByUserId: null, tags: []})))
  }

  const onRequest = (req, res) => {
    handle(req, res).catch((err) => {
      config.log(`internal error: ${err && err.stack ? err.stack : err}`)
      if (!res.headersSent) send(res, 500, {error: {description: 'Internal server error', type: 'internalError'}})
      else res.destroy()
    })
  }
  // Local-only HTTPS (benchmarks include the TLS handshake): {cert, key} PEM from the caller.
  const server = config.tls ? https.createServer(config.tls, onRequest) : http.createServer(onRequest)

  return {server, store, hooks}
}

function loadWebhooksFile(file) {
  if (!file) return []
  const text = fs.readFileSync(file, 'utf8')
  return JSON.parse(text)
}

function main() {
  const host = process.env.SANITY_EMULATOR_HOST || '127.0.0.1'
  const port = process.env.SANITY_EMULATOR_PORT !== undefined && process.env.SANITY_EMULATOR_PORT !== ''
    ? Number(process.env.SANITY_EMULATOR_PORT)
    : 4100
  const tokens = (process.env.SANITY_TOKENS || 'sk-local-read,sk-local-write').split(',').map((t) => t.trim()).filter(Boolean)
  const datasets = (process.env.SANITY_DATASETS || 'production').split(',').map((t) => t.trim()).filter(Boolean)
  const apiHookDefaults = {}
  for (const [key, name] of [['retryDelayMs', 'SANITY_WEBHOOK_RETRY_DELAY_MS'], ['maxRetries', 'SANITY_WEBHOOK_MAX_RETRIES'], ['timeoutMs', 'SANITY_WEBHOOK_TIMEOUT_MS']]) {
    if (process.env[name] === undefined || process.env[name] === '') continue
    const n = Number(process.env[name])
    if (!Number.isInteger(n) || n < 0) {
      console.error(`sanity emulator: ${name} must be a non-negative integer`)
      process.exit(1)
    }
    apiHookDefaults[key] = n
  }
  const verbose = process.env.SANITY_EMULATOR_LOG === '1'
  let webhooks
  try {
    webhooks = loadWebhooksFile(process.env.SANITY_WEBHOOKS_FILE)
  } catch (err) {
    console.error(`sanity emulator: cannot load SANITY_WEBHOOKS_FILE: ${err.message}`)
    process.exit(1)
  }
  let emulator
  try {
    emulator = createEmulator({
      projectId: process.env.SANITY_PROJECT_ID || 'demo',
      tokens,
      datasets,
      apiHookDefaults,
      webhooks,
      log: verbose ? (line) => console.error(`[sanity-emulator] ${line}`) : () => {},
      tls: process.env.SANITY_EMULATOR_TLS_CERT
        ? {cert: fs.readFileSync(process.env.SANITY_EMULATOR_TLS_CERT), key: fs.readFileSync(process.env.SANITY_EMULATOR_TLS_KEY)}
        : undefined,
    })
  } catch (err) {
    console.error(`sanity emulator: invalid configuration: ${err.message}`)
    process.exit(1)
  }
  const {server} = emulator
  server.on('error', (err) => {
    console.error(`sanity emulator: ${err.message}`)
    process.exit(1)
  })
  server.listen(port, host, () => {
    const addr = server.address()
    const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
    console.log(`sanity emulator listening on ${process.env.SANITY_EMULATOR_TLS_CERT ? 'https' : 'http'}://${shownHost}:${addr.port}`)
  })
  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    server.close(() => process.exit(0))
    server.closeAllConnections()
    setTimeout(() => process.exit(0), 2000).unref()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

if (require.main === module) main()

module.exports = {createEmulator}
