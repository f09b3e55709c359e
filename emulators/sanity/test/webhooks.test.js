'use strict'

const {test, before, after, beforeEach} = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const {startEmulator, request, mutate, startReceiver} = require('./helpers')

const DS = 'production'
const SECRET = 'whsec_test_secret'
const PROJECTION =
  '{_id, _type, _rev, "operation": delta::operation(), "before": before(){stytchOrganizationId, stytchUserId}, "dataset": sanity::dataset()}'

let emu
let rx

/** Independent verifier: the same rule the Rust handler implements. */
function verify(header, body, secret) {
  const m = /^t=(\d+)[, ]+v1=([^, ]+)$/.exec(header || '')
  if (!m) return false
  const expected = Buffer.from(crypto.createHmac('sha256', secret).update(`${m[1]}.${body}`).digest('base64url'))
  const got = Buffer.from(m[2])
  return got.length === expected.length && crypto.timingSafeEqual(got, expected)
}

function hook(overrides = {}) {
  return {
    id: 'publish-sync',
    name: 'publish sync',
    url: rx.url('/publish'),
    dataset: DS,
    filter: '_type == "accessRule"',
    projection: PROJECTION,
    secret: SECRET,
    on: ['create', 'update', 'delete'],
    retryDelayMs: 50,
    maxRetries: 2,
    timeoutMs: 2000,
    ...overrides,
  }
}

async function setHooks(list) {
  const r = await request(emu.base, 'PUT', '/__gatehouse/webhooks', {token: null, body: list})
  assert.equal(r.status, 200, JSON.stringify(r.body))
}
async function idle() {
  const r = await request(emu.base, 'POST', '/__gatehouse/idle?timeout_ms=5000', {token: null})
  assert.equal(r.status, 200)
  assert.deepEqual(r.body, {idle: true})
}
async function deliveries(query = '') {
  const r = await request(emu.base, 'GET', `/__gatehouse/deliveries${query}`, {token: null})
  assert.equal(r.status, 200)
  return r.body.deliveries
}

let respond = () => ({status: 200})

before(async () => {
  rx = await startReceiver((req, n) => respond(req, n))
  // Also exercises SANITY_WEBHOOKS_FILE loading.
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sanity-emu-')), 'hooks.json')
  fs.writeFileSync(file, JSON.stringify([hook({id: 'from-file', url: rx.url('/file'), enabled: false})]))
  emu = await startEmulator({SANITY_WEBHOOKS_FILE: file, SANITY_PROJECT_ID: 'proj123'})
})
after(async () => {
  await emu.stop()
  await rx.close()
})
beforeEach(async () => {
  respond = () => ({status: 200})
  rx.received.length = 0
  await request(emu.base, 'POST', '/__gatehouse/reset', {token: null})
})

test('webhooks file is loaded at start', async () => {
  const r = await request(emu.base, 'GET', '/__gatehouse/webhooks', {token: null})
  assert.equal(r.body.webhooks[0].id, 'from-file')
  assert.equal(r.body.webhooks[0].enabled, false)
  assert.equal(r.body.webhooks[0].retryDelayMs, 50)
})

test('create → signed delivery with headers and projection (before null)', async () => {
  await setHooks([hook()])
  const m = await mutate(emu.base, DS, [{create: {_id: 'rule-1', _type: 'accessRule', stytchOrganizationId: 'organization-test-a'}}])
  assert.equal(m.status, 200)
  await idle()
  assert.equal(rx.received.length, 1)
  const req = rx.received[0]
  assert.equal(req.method, 'POST')
  assert.equal(req.url, '/publish')
  assert.ok(verify(req.headers['sanity-webhook-signature'], req.body, SECRET), 'signature verifies')
  assert.ok(!verify(req.headers['sanity-webhook-signature'], req.body, 'other-secret'))
  const t = Number(/^t=(\d+)/.exec(req.headers['sanity-webhook-signature'])[1])
  assert.ok(Math.abs(Date.now() - t) < 10000, 'timestamp is unix ms')
  assert.equal(req.headers['content-type'], 'application/json')
  assert.equal(req.headers['user-agent'], 'Sanity.io webhook delivery')
  assert.match(req.headers['idempotency-key'], /^evt-/)
  assert.equal(req.headers['sanity-operation'], 'create')
  assert.equal(req.headers['sanity-document-id'], 'rule-1')
  assert.equal(req.headers['sanity-transaction-id'], m.body.transactionId)
  assert.match(req.headers['sanity-transaction-time'], /^\d{4}-\d{2}-\d{2}T/)
  assert.equal(req.headers['sanity-dataset'], DS)
  assert.equal(req.headers['sanity-project-id'], 'proj123')
  assert.equal(req.headers['sanity-webhook-id'], 'publish-sync')
  assert.deepEqual(JSON.parse(req.body), {
    _id: 'rule-1',
    _type: 'accessRule',
    _rev: m.body.transactionId,
    operation: 'create',
    before: null,
    dataset: DS,
  })
  const d = await deliveries()
  assert.equal(d.length, 1)
  assert.equal(d[0].seq, 1)
  assert.equal(d[0].webhookId, 'publish-sync')
  assert.equal(d[0].documentId, 'rule-1')
  assert.equal(d[0].operation, 'create')
  assert.equal(d[0].transactionId, m.body.transactionId)
  assert.equal(d[0].attempt, 1)
  assert.equal(d[0].final, true)
  assert.equal(d[0].error, null)
  assert.equal(d[0].response.status, 200)
  assert.equal(d[0].request.body, req.body)
  assert.equal(d[0].request.url, rx.url('/publish'))
  assert.equal(d[0].request.headers['idempotency-key'], req.headers['idempotency-key'])
  assert.equal(typeof d[0].durationMs, 'number')
})

test('update and delete carry before(); delete projection has the right _id', async () => {
  await setHooks([hook()])
  await mutate(emu.base, DS, [{create: {_id: 'rule-2', _type: 'accessRule', stytchOrganizationId: 'organization-test-a'}}])
  await mutate(emu.base, DS, [{patch: {id: 'rule-2', set: {stytchOrganizationId: 'organization-test-b'}}}])
  await mutate(emu.base, DS, [{delete: {id: 'rule-2'}}])
  await idle()
  const bodies = rx.received.map((r) => JSON.parse(r.body))
  assert.deepEqual(bodies.map((b) => b.operation), ['create', 'update', 'delete'])
  assert.deepEqual(bodies[1].before, {stytchOrganizationId: 'organization-test-a', stytchUserId: null})
  assert.equal(bodies[1]._id, 'rule-2')
  assert.equal(bodies[2]._id, 'rule-2')
  assert.equal(bodies[2]._type, 'accessRule')
  assert.deepEqual(bodies[2].before, {stytchOrganizationId: 'organization-test-b', stytchUserId: null})
  assert.deepEqual(rx.received.map((r) => r.headers['sanity-operation']), ['create', 'update', 'delete'])
  for (const r of rx.received) assert.ok(verify(r.headers['sanity-webhook-signature'], r.body, SECRET))
})

test('drafts are skipped unless includeDrafts; filter false → no delivery; operation filtering', async () => {
  await setHooks([
    hook({id: 'publish-sync', url: rx.url('/publish'), on: ['create', 'update']}),
    hook({id: 'delete-cleanup', url: rx.url('/delete'), on: ['delete']}),
    hook({id: 'drafts-too', url: rx.url('/drafts'), on: ['create'], includeDrafts: true}),
    hook({id: 'disabled', url: rx.url('/disabled'), enabled: false}),
    hook({id: 'other-dataset', url: rx.url('/other'), dataset: 'staging'}),
  ])
  await mutate(emu.base, DS, [
    {create: {_id: 'drafts.rule-3', _type: 'accessRule'}},
    {create: {_id: 'article-1', _type: 'article'}},
  ])
  await mutate(emu.base, DS, [{create: {_id: 'rule-3', _type: 'accessRule'}}])
  await mutate(emu.base, DS, [{delete: {id: 'rule-3'}}, {delete: {id: 'article-1'}}])
  await idle()
  const seen = rx.received.map((r) => `${r.url} ${r.headers['sanity-operation']} ${r.headers['sanity-document-id']}`).sort()
  assert.deepEqual(seen, [
    '/delete delete rule-3',
    '/drafts create drafts.rule-3',
    '/drafts create rule-3',
    '/publish create rule-3',
  ])
  const d = await deliveries('?webhook=delete-cleanup')
  assert.equal(d.length, 1)
  assert.equal(d[0].webhookId, 'delete-cleanup')
})

test('no secret → no signature header; no projection → full document', async () => {
  await setHooks([hook({secret: '', projection: ''})])
  await mutate(emu.base, DS, [{create: {_id: 'rule-4', _type: 'accessRule', region: 'eu'}}])
  await idle()
  assert.equal(rx.received.length, 1)
  assert.equal(rx.received[0].headers['sanity-webhook-signature'], undefined)
  const body = JSON.parse(rx.received[0].body)
  assert.equal(body._id, 'rule-4')
  assert.equal(body.region, 'eu')
})

test('retries on 500 then succeeds; same idempotency key, fresh signature', async () => {
  respond = (req, n) => (n <= 2 ? {status: 500, body: '{"outcome":"error"}'} : {status: 200, body: '{"outcome":"synced"}'})
  await setHooks([hook({retryDelayMs: 80})])
  await mutate(emu.base, DS, [{create: {_id: 'rule-5', _type: 'accessRule'}}])
  await idle()
  assert.equal(rx.received.length, 3)
  const keys = new Set(rx.received.map((r) => r.headers['idempotency-key']))
  assert.equal(keys.size, 1)
  assert.ok(rx.received[1].at - rx.received[0].at >= 70, 'waited retryDelayMs')
  for (const r of rx.received) assert.ok(verify(r.headers['sanity-webhook-signature'], r.body, SECRET))
  assert.equal(new Set(rx.received.map((r) => r.headers['sanity-webhook-signature'])).size, 3, 'signed anew per attempt')
  const d = await deliveries()
  assert.deepEqual(d.map((x) => [x.seq, x.attempt, x.response.status, x.final]), [
    [1, 1, 500, false],
    [2, 2, 500, false],
    [3, 3, 200, true],
  ])
  assert.equal(d[2].response.body, '{"outcome":"synced"}')
  const since = await deliveries('?since=2')
  assert.deepEqual(since.map((x) => x.seq), [3])
})

test('gives up after maxRetries; 4xx is not retried; 429, network error and timeout are', async () => {
  respond = (req) => {
    if (req.headers['sanity-document-id'] === 'r-4xx') return {status: 422}
    if (req.headers['sanity-document-id'] === 'r-429') return {status: 429}
    if (req.headers['sanity-document-id'] === 'r-slow') return {hang_ms: 400}
    return {status: 503}
  }
  await setHooks([
    hook({retryDelayMs: 10, maxRetries: 1, timeoutMs: 150}),
    hook({id: 'dead', url: 'http://127.0.0.1:9/nothing-listens', retryDelayMs: 10, maxRetries: 1, filter: '_id == "r-503"'}),
  ])
  await mutate(emu.base, DS, [{create: {_id: 'r-503', _type: 'accessRule'}}])
  await mutate(emu.base, DS, [{create: {_id: 'r-4xx', _type: 'accessRule'}}])
  await mutate(emu.base, DS, [{create: {_id: 'r-429', _type: 'accessRule'}}])
  await mutate(emu.base, DS, [{create: {_id: 'r-slow', _type: 'accessRule'}}])
  await idle()
  const d = await deliveries('?webhook=publish-sync')
  const summary = d.map((x) => [x.documentId, x.attempt, x.response ? x.response.status : 'error', x.final])
  assert.deepEqual(summary, [
    ['r-503', 1, 503, false],
    ['r-503', 2, 503, true],
    ['r-4xx', 1, 422, true],
    ['r-429', 1, 429, false],
    ['r-429', 2, 429, true],
    ['r-slow', 1, 'error', false],
    ['r-slow', 2, 'error', true],
  ])
  assert.match(d[5].error, /timeout/)
  const dead = await deliveries('?webhook=dead')
  assert.deepEqual(dead.map((x) => [x.attempt, x.response, x.final]), [[1, null, false], [2, null, true]])
  assert.match(dead[0].error, /ECONNREFUSED/)
})

test('deliveries are sequential per webhook, in commit order', async () => {
  let inFlight = 0
  let maxInFlight = 0
  respond = async () => {
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    await new Promise((ok) => setTimeout(ok, 30))
    inFlight--
    return {status: 200}
  }
  await setHooks([hook()])
  const ids = ['s-1', 's-2', 's-3', 's-4', 's-5']
  await Promise.all(ids.map((id) => mutate(emu.base, DS, [{create: {_id: id, _type: 'accessRule'}}])))
  await mutate(emu.base, DS, [{patch: {id: 's-1', set: {x: 1}}}])
  await idle()
  assert.equal(maxInFlight, 1, 'one delivery at a time')
  const d = await deliveries()
  assert.equal(d.length, 6)
  assert.deepEqual(rx.received.map((r) => r.headers['sanity-document-id']), d.map((x) => x.documentId))
  assert.equal(d[5].documentId, 's-1')
  assert.equal(d[5].operation, 'update')
  // each event starts after the previous one finished
  for (let i = 1; i < rx.received.length; i++) assert.ok(rx.received[i].at >= rx.received[i - 1].at + 25)
})

test('redeliver re-sends the same body and idempotency key with a fresh signature', async () => {
  respond = (req, n) => (n === 1 ? {status: 400} : {status: 200})
  await setHooks([hook()])
  await mutate(emu.base, DS, [{create: {_id: 'rule-6', _type: 'accessRule', stytchUserId: 'user-test-1'}}])
  await idle()
  const [first] = await deliveries()
  assert.equal(first.response.status, 400)
  assert.equal(first.final, true)
  await new Promise((ok) => setTimeout(ok, 5)) // a different ms timestamp
  const r = await request(emu.base, 'POST', '/__gatehouse/webhooks/publish-sync/redeliver', {token: null, body: {seq: first.seq}})
  assert.equal(r.status, 200)
  const entry = r.body.delivery
  assert.equal(entry.seq, 2)
  assert.equal(entry.response.status, 200)
  assert.equal(entry.request.body, first.request.body)
  assert.equal(entry.idempotencyKey, first.idempotencyKey)
  assert.equal(entry.request.headers['idempotency-key'], first.request.headers['idempotency-key'])
  assert.notEqual(entry.request.headers['sanity-webhook-signature'], first.request.headers['sanity-webhook-signature'])
  assert.equal(rx.received.length, 2)
  assert.ok(verify(rx.received[1].headers['sanity-webhook-signature'], rx.received[1].body, SECRET))
  const missing = await request(emu.base, 'POST', '/__gatehouse/webhooks/publish-sync/redeliver', {token: null, body: {seq: 999}})
  assert.equal(missing.status, 404)
})

test('idle times out with 504 while a delivery hangs; PUT rejects bad configs', async () => {
  respond = () => ({hang_ms: 600})
  await setHooks([hook({timeoutMs: 2000, maxRetries: 0})])
  await mutate(emu.base, DS, [{create: {_id: 'rule-7', _type: 'accessRule'}}])
  const r = await request(emu.base, 'GET', '/__gatehouse/idle?timeout_ms=100', {token: null})
  assert.equal(r.status, 504)
  await idle()
  const bad = await request(emu.base, 'PUT', '/__gatehouse/webhooks', {token: null, body: [{id: 'x', url: 'http://127.0.0.1:1/', filter: '_type =='}]})
  assert.equal(bad.status, 400)
  const bad2 = await request(emu.base, 'PUT', '/__gatehouse/webhooks', {token: null, body: {nope: 1}})
  assert.equal(bad2.status, 400)
})
