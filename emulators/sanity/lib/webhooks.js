'use strict'

const http = require('node:http')
const https = require('node:https')
const {parse, evaluate} = require('groq-js')
const {randomId, signWebhook} = require('./util')

const DEFAULTS = {
  dataset: 'production',
  filter: '',
  projection: '',
  secret: '',
  on: ['create', 'update', 'delete'],
  includeDrafts: false,
  includeAllVersions: false,
  httpMethod: 'POST',
  headers: {},
  retryDelayMs: 30000,
  maxRetries: 2,
  timeoutMs: 30000,
  enabled: true,
  // 'config' (SANITY_WEBHOOKS_FILE or PUT /__gatehouse/webhooks) or 'api' (the hooks API, which
  // also keeps its own fields under `api`: see lib/hooksapi.js).
  source: 'config',
}

const MAX_RESPONSE_BODY = 64 * 1024
// The delivery methods Sanity offers (lib/hooksapi.js validates the same list on the hooks API).
const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']

function normalizeWebhook(raw, index) {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`webhook #${index} must be an object`)
  const hook = {...DEFAULTS, ...raw}
  if (typeof hook.id !== 'string' || !hook.id) throw new Error(`webhook #${index} needs a string "id"`)
  if (typeof hook.url !== 'string' || !/^https?:\/\//.test(hook.url)) throw new Error(`webhook "${hook.id}" needs an http(s) "url"`)
  if (!Array.isArray(hook.on) || hook.on.some((op) => !['create', 'update', 'delete'].includes(op))) {
    throw new Error(`webhook "${hook.id}": "on" must be a subset of ["create","update","delete"]`)
  }
  for (const key of ['retryDelayMs', 'maxRetries', 'timeoutMs']) {
    if (typeof hook[key] !== 'number' || hook[key] < 0) throw new Error(`webhook "${hook.id}": "${key}" must be a non-negative number`)
  }
  if (!HTTP_METHODS.includes(hook.httpMethod)) throw new Error(`webhook "${hook.id}": "httpMethod" must be one of ${HTTP_METHODS.join(', ')}`)
  if (!hook.headers || typeof hook.headers !== 'object' || Array.isArray(hook.headers) || Object.values(hook.headers).some((v) => typeof v !== 'string')) {
    throw new Error(`webhook "${hook.id}": "headers" must be an object of strings`)
  }
  if (typeof hook.filter !== 'string' || typeof hook.projection !== 'string') {
    throw new Error(`webhook "${hook.id}": "filter" and "projection" must be strings`)
  }
  // Fail early on GROQ that does not parse.
  if (hook.filter.trim()) parseDelta(hook.filter, `webhook "${hook.id}" filter`)
  if (hook.projection.trim()) parseDelta(hook.projection, `webhook "${hook.id}" projection`)
  if (hook.name === undefined) hook.name = hook.id
  return hook
}

function normalizeWebhooks(list) {
  if (!Array.isArray(list)) throw new Error('webhooks must be a JSON array')
  const hooks = list.map(normalizeWebhook)
  const ids = new Set()
  for (const h of hooks) {
    if (ids.has(h.id)) throw new Error(`duplicate webhook id "${h.id}"`)
    ids.add(h.id)
  }
  return hooks
}

const treeCache = new Map()
function parseDelta(q, what) {
  const key = q
  if (treeCache.has(key)) return treeCache.get(key)
  let tree
  try {
    tree = parse(q, {mode: 'delta'})
  } catch (err) {
    throw new Error(`${what || 'GROQ'} does not parse: ${err.message}`)
  }
  treeCache.set(key, tree)
  return tree
}

class WebhookEngine {
  constructor({projectId, log = () => {}}) {
    this.projectId = projectId
    this.log = log
    this.webhooks = []
    this.deliveries = []
    this.seq = 0
    this.queues = new Map() // webhookId -> {items: [], running: bool}
    this.generation = 0
    this.idleWaiters = []
    this.sleepers = new Set()
  }

  /** A retry delay that a reset cuts short. */
  _sleep(ms) {
    return new Promise((resolve) => {
      const s = {resolve, timer: setTimeout(() => { this.sleepers.delete(s); resolve() }, ms)}
      this.sleepers.add(s)
    })
  }

  setWebhooks(list) {
    this.webhooks = normalizeWebhooks(list)
  }

  /** Hooks API: one more webhook, through the same checks and delivery path as the file's. */
  addWebhook(raw) {
    const list = normalizeWebhooks([...this.webhooks, raw])
    this.webhooks = list
    return list[list.length - 1]
  }

  /** Hooks API: replaces webhook `id` by `raw` (normalized), keeping its place in the list. */
  replaceWebhook(id, raw) {
    const i = this.webhooks.findIndex((h) => h.id === id)
    if (i < 0) return null
    const next = [...this.webhooks]
    next[i] = raw
    this.webhooks = normalizeWebhooks(next)
    return this.webhooks[i]
  }

  removeWebhook(id) {
    const before = this.webhooks.length
    this.webhooks = this.webhooks.filter((h) => h.id !== id)
    return this.webhooks.length !== before
  }

  reset({webhooks = false} = {}) {
    this.generation++
    this.deliveries = []
    this.seq = 0
    for (const q of this.queues.values()) q.items = []
    if (webhooks) this.webhooks = []
    for (const s of this.sleepers) {
      clearTimeout(s.timer)
      s.resolve()
    }
    this.sleepers.clear()
    this._checkIdle()
  }

  /**
   * Called after each committed transaction. Evaluates filters/projections and
   * enqueues one event per (changed document, matching webhook).
   */
  async onTransaction({dataset, transactionId, timestamp, changes, publishedDocs}) {
    for (const change of changes) {
      for (const hook of this.webhooks) {
        if (!hook.enabled || (hook.dataset !== dataset && hook.dataset !== '*') || !hook.on.includes(change.operation)) continue
        if (!hook.includeDrafts && change.id.startsWith('drafts.')) continue
        if (!hook.includeAllVersions && change.id.startsWith('versions.')) continue
        const options = {
          dataset: publishedDocs,
          params: {},
          before: change.before,
          after: change.after,
          root: change.after ?? change.before,
          timestamp: new Date(timestamp),
          identity: 'p-gatehouse-emulator',
          sanity: {projectId: this.projectId, dataset},
        }
        let body
        try {
          if (hook.filter.trim()) {
            const matched = await (await evaluate(parseDelta(hook.filter), options)).get()
            if (matched !== true) continue
          }
          const projected = hook.projection.trim()
            ? await (await evaluate(parseDelta(hook.projection), options)).get()
            : change.after ?? change.before
          body = JSON.stringify(projected)
        } catch (err) {
          this.log(`webhook ${hook.id}: GROQ evaluation failed for ${change.id}: ${err.message}`)
          continue
        }
        this._enqueue(hook, {
          webhookId: hook.id,
          documentId: change.id,
          operation: change.operation,
          transactionId,
          transactionTime: timestamp,
          dataset,
          idempotencyKey: `evt-${randomId()}`,
          body,
        })
      }
    }
  }

  _queue(id) {
    let q = this.queues.get(id)
    if (!q) {
      q = {items: [], running: false}
      this.queues.set(id, q)
    }
    return q
  }

  _enqueue(hook, event, {maxRetries, onDone} = {}) {
    const q = this._queue(hook.id)
    q.items.push({hook, event, maxRetries: maxRetries ?? hook.maxRetries, onDone})
    if (!q.running) this._run(q)
  }

  async _run(q) {
    q.running = true
    const gen = this.generation
    try {
      while (q.items.length && gen === this.generation) {
        const job = q.items.shift()
        let last = null
        for (let attempt = 1; attempt <= job.maxRetries + 1; attempt++) {
          if (gen !== this.generation) break
          const isLastAllowed = attempt === job.maxRetries + 1
          const {entry, retryable} = await this._attempt(job.hook, job.event, attempt, isLastAllowed, gen)
          last = entry
          if (!retryable || isLastAllowed) break
          await this._sleep(job.hook.retryDelayMs)
        }
        if (job.onDone) job.onDone(last)
      }
    } finally {
      q.running = false
      if (q.items.length && gen !== this.generation) this._run(q)
      this._checkIdle()
    }
  }

  async _attempt(hook, event, attempt, isLastAllowed, gen) {
    const timestampMs = Date.now()
    const headers = {
      // Static headers first: the delivery headers below are Sanity's own and win.
      ...Object.fromEntries(Object.entries(hook.headers).map(([k, v]) => [k.toLowerCase(), v])),
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(event.body)),
      'user-agent': 'Sanity.io webhook delivery',
      'idempotency-key': event.idempotencyKey,
      'sanity-operation': event.operation,
      'sanity-document-id': event.documentId,
      'sanity-transaction-id': event.transactionId,
      'sanity-transaction-time': event.transactionTime,
      'sanity-dataset': event.dataset,
      'sanity-project-id': this.projectId,
      'sanity-webhook-id': hook.id,
    }
    if (hook.secret) headers['sanity-webhook-signature'] = signWebhook(hook.secret, event.body, timestampMs)
    const startedAt = new Date().toISOString()
    const t0 = process.hrtime.bigint()
    let response = null
    let error = null
    try {
      response = await sendOnce(hook.httpMethod, hook.url, headers, event.body, hook.timeoutMs)
    } catch (err) {
      error = err.message || String(err)
    }
    const durationMs = Number(process.hrtime.bigint() - t0) / 1e6
    const retryable = error !== null || response.status === 429 || response.status >= 500
    const entry = {
      seq: 0,
      webhookId: hook.id,
      webhookName: hook.name,
      documentId: event.documentId,
      operation: event.operation,
      transactionId: event.transactionId,
      idempotencyKey: event.idempotencyKey,
      attempt,
      startedAt,
      durationMs: Math.round(durationMs * 100) / 100,
      request: {method: hook.httpMethod, url: hook.url, headers, body: event.body},
      response,
      error,
      final: !retryable || isLastAllowed,
    }
    if (gen === this.generation) {
      entry.seq = ++this.seq
      entry._event = event
      this.deliveries.push(entry)
    }
    this.log(`webhook ${hook.id} ${event.operation} ${event.documentId} attempt ${attempt} -> ${response ? response.status : error}`)
    return {entry, retryable}
  }

  listDeliveries({webhook, since} = {}) {
    return this.deliveries
      .filter((d) => (webhook ? d.webhookId === webhook : true) && (since !== undefined ? d.seq > since : true))
      .map(publicEntry)
  }

  /** Re-sends the event of delivery `seq` once (same body + idempotency key, fresh signature). */
  redeliver(webhookId, seq) {
    const original = this.deliveries.find((d) => d.seq === seq && d.webhookId === webhookId)
    if (!original) return null
    const hook = this.webhooks.find((h) => h.id === webhookId) || null
    if (!hook) return null
    return new Promise((resolve) => {
      this._enqueue(hook, original._event, {maxRetries: 0, onDone: (entry) => resolve(entry ? publicEntry(entry) : null)})
    })
  }

  isIdle() {
    for (const q of this.queues.values()) if (q.running || q.items.length) return false
    return true
  }

  waitIdle(timeoutMs) {
    if (this.isIdle()) return Promise.resolve(true)
    return new Promise((resolve) => {
      const waiter = {resolve, timer: null}
      waiter.timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== waiter)
        resolve(false)
      }, timeoutMs)
      this.idleWaiters.push(waiter)
    })
  }

  _checkIdle() {
    if (!this.isIdle()) return
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const w of waiters) {
      clearTimeout(w.timer)
      w.resolve(true)
    }
  }
}

function publicEntry(entry) {
  const {_event, ...rest} = entry
  return rest
}

function sendOnce(method, url, headers, body, timeoutMs) {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    const mod = u.protocol === 'https:' ? https : http
    let settled = false
    const done = (fn, v) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      fn(v)
    }
    // Sanity sends the projection as the body whatever the method (docs page `webhooks-api`).
    const req = mod.request(u, {method, headers, agent: false}, (res) => {
      const chunks = []
      let size = 0
      res.on('data', (c) => {
        if (size < MAX_RESPONSE_BODY) chunks.push(c)
        size += c.length
      })
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8').slice(0, MAX_RESPONSE_BODY)
        done(resolve, {status: res.statusCode, body: text})
      })
      res.on('error', (err) => done(reject, err))
    })
    const timer = setTimeout(() => {
      req.destroy(new Error(`timeout after ${timeoutMs} ms`))
      done(reject, new Error(`timeout after ${timeoutMs} ms`))
    }, timeoutMs)
    req.on('error', (err) => done(reject, err))
    req.end(body)
  })
}

module.exports = {WebhookEngine, normalizeWebhooks, signWebhook}
