'use strict'

// The Webhooks API (/{v}/hooks/projects/{projectId}): shapes, errors, permissions, and that a
// hook created through it is delivered like one from SANITY_WEBHOOKS_FILE.

const {test, before, after, beforeEach} = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const {startEmulator, request, mutate, startReceiver} = require('./helpers')

const HV = '/v2025-02-19'
const HOOKS = `${HV}/hooks/projects/demo`
const DEV = 'sk-dev'
const PROJECTION = '{_id, "operation": delta::operation(), "before": before(){stytchOrganizationId}}'

let emu
let rx
let respond = () => ({status: 200})

before(async () => {
  rx = await startReceiver((entry, n) => respond(entry, n))
  emu = await startEmulator({
    SANITY_TOKENS: 'sk-local-write,sk-dev:developer,sk-editor:editor,sk-viewer:viewer',
    SANITY_DATASETS: 'production,staging',
    SANITY_WEBHOOK_RETRY_DELAY_MS: '40',
  })
})
after(async () => {
  await emu.stop()
  await rx.close()
})
beforeEach(async () => {
  respond = () => ({status: 200})
  rx.received.length = 0
  const r = await request(emu.base, 'POST', '/__gatehouse/reset', {token: null, body: {webhooks: true}})
  assert.equal(r.status, 200)
})

function body(overrides = {}) {
  return {
    type: 'document',
    name: 'gatehouse-publish-sync',
    url: rx.url('/publish'),
    dataset: 'production',
    apiVersion: 'v2025-02-19',
    httpMethod: 'POST',
    includeDrafts: false,
    includeAllVersions: false,
    rule: {on: ['create', 'update'], filter: '_type == "accessRule"', projection: PROJECTION},
    secret: 'whsec_api',
    ...overrides,
  }
}
const hooksApi = (method, path = '', opts = {}) => request(emu.base, method, HOOKS + path, {token: DEV, ...opts})
async function idle() {
  const r = await request(emu.base, 'POST', '/__gatehouse/idle?timeout_ms=5000', {token: null})
  assert.equal(r.status, 200)
}
async function deliveries() {
  return (await request(emu.base, 'GET', '/__gatehouse/deliveries', {token: null})).body.deliveries
}
function verify(header, raw, secret) {
  const m = /^t=(\d+),v1=(.+)$/.exec(header || '')
  return !!m && m[2] === crypto.createHmac('sha256', secret).update(`${m[1]}.${raw}`).digest('base64url')
}

test('create answers 201 with the whole hook; list and get show it; the hook delivers, signed', async () => {
  const c = await hooksApi('POST', '', {body: body()})
  assert.equal(c.status, 201, JSON.stringify(c.body))
  const h = c.body
  assert.match(h.id, /^[A-Za-z0-9]{16}$/)
  assert.deepEqual(
    {...h, id: '', createdAt: '', createdByUserId: ''},
    {
      type: 'document', rule: {on: ['create', 'update'], filter: '_type == "accessRule"', projection: PROJECTION},
      filter: null, projection: null, apiVersion: 'v2025-02-19', httpMethod: 'POST', includeDrafts: false,
      includeAllVersions: false, headers: {}, secret: 'whsec_api', id: '', name: 'gatehouse-publish-sync', projectId: 'demo',
      dataset: 'production', url: rx.url('/publish'), createdAt: '', createdByUserId: '', isDisabled: false,
      isDisabledByUser: false, deletedAt: null, description: null,
    },
  )
  assert.ok(!Number.isNaN(Date.parse(h.createdAt)))
  assert.ok(!h.createdByUserId.includes('sk-dev'), 'the user id does not leak the token')
  assert.deepEqual((await hooksApi('GET')).body, [h])
  assert.deepEqual((await hooksApi('GET', `/${h.id}`)).body, h)

  await mutate(emu.base, 'production', [
    {create: {_id: 'rule-1', _type: 'accessRule', stytchOrganizationId: 'org-1'}},
    {create: {_id: 'other-1', _type: 'page'}},
    {create: {_id: 'drafts.rule-2', _type: 'accessRule'}},
  ])
  await mutate(emu.base, 'production', [{delete: {id: 'rule-1'}}]) // not in rule.on
  await idle()
  assert.equal(rx.received.length, 1, 'only the published accessRule create is delivered')
  const got = rx.received[0]
  assert.equal(got.method, 'POST')
  assert.deepEqual(JSON.parse(got.body), {_id: 'rule-1', operation: 'create', before: null})
  assert.equal(got.headers['sanity-webhook-id'], h.id)
  assert.ok(verify(got.headers['sanity-webhook-signature'], got.body, 'whsec_api'))
  const [d] = await deliveries()
  assert.equal(d.webhookId, h.id)
  assert.equal(d.webhookName, 'gatehouse-publish-sync')
})

test('PATCH changes a hook (and rejects "type"); disabled hooks stay silent; DELETE removes it', async () => {
  const {body: h} = await hooksApi('POST', '', {body: body()})
  const p = await hooksApi('PATCH', `/${h.id}`, {body: {url: rx.url('/moved'), rule: {on: ['delete'], filter: '_type == "accessRule"', projection: '{_id}'}, description: 'moved'}})
  assert.equal(p.status, 200, JSON.stringify(p.body))
  assert.equal(p.body.url, rx.url('/moved'))
  assert.deepEqual(p.body.rule, {on: ['delete'], filter: '_type == "accessRule"', projection: '{_id}'})
  assert.equal(p.body.description, 'moved')
  assert.equal(p.body.createdAt, h.createdAt)
  assert.equal(p.body.secret, 'whsec_api', 'fields the PATCH leaves out stay')

  const t = await hooksApi('PATCH', `/${h.id}`, {body: {type: 'document', name: 'x'}})
  assert.equal(t.status, 400)
  assert.deepEqual(t.body, {error: 'Bad Request', message: '"type" is not allowed', statusCode: 400})
  assert.equal((await hooksApi('GET', `/${h.id}`)).body.name, 'gatehouse-publish-sync', 'a refused PATCH changes nothing')

  await mutate(emu.base, 'production', [{create: {_id: 'rule-9', _type: 'accessRule'}}])
  await mutate(emu.base, 'production', [{delete: {id: 'rule-9'}}])
  await idle()
  assert.deepEqual(rx.received.map((r) => [r.url, JSON.parse(r.body)]), [['/moved', {_id: 'rule-9'}]])

  assert.equal((await hooksApi('PATCH', `/${h.id}`, {body: {isDisabledByUser: true}})).body.isDisabledByUser, true)
  await mutate(emu.base, 'production', [{create: {_id: 'rule-10', _type: 'accessRule'}}, {delete: {id: 'rule-10'}}])
  await idle()
  assert.equal(rx.received.length, 1, 'a disabled hook delivers nothing')

  const del = await hooksApi('DELETE', `/${h.id}`)
  assert.equal(del.status, 200)
  assert.deepEqual(del.body, {id: h.id, deleted: 1})
  const gone = await hooksApi('GET', `/${h.id}`)
  assert.equal(gone.status, 404)
  assert.equal(gone.body.statusCode, 404)
  assert.equal((await hooksApi('DELETE', `/${h.id}`)).status, 404)
  assert.deepEqual((await hooksApi('GET')).body, [])
})

test('tokens: missing/unknown 401; editor and viewer lack the webhooks grant (401); viewer cannot mutate (403)', async () => {
  const none = await hooksApi('GET', '', {token: null})
  assert.equal(none.status, 401)
  assert.equal(none.body.errorCode, undefined)
  const unknown = await hooksApi('GET', '', {token: 'sk-nope'})
  assert.deepEqual(unknown.body, {error: 'Unauthorized', message: 'Session not found', statusCode: 401, errorCode: 'SIO-401-ANF'})
  for (const token of ['sk-editor', 'sk-viewer']) {
    const r = await hooksApi('POST', '', {token, body: body()})
    assert.equal(r.status, 401, token)
    assert.deepEqual(r.body, {error: 'Unauthorized', message: 'Insufficient permissions; permission "sanity.project.webhooks/create" required', statusCode: 401})
    const l = await hooksApi('GET', '', {token})
    assert.equal(l.status, 401)
    assert.match(l.body.message, /sanity\.project\.webhooks\/read/)
  }
  assert.deepEqual((await hooksApi('GET')).body, [], 'nothing was created')
  // A bare token (no role) is a developer token.
  assert.equal((await hooksApi('GET', '', {token: 'sk-local-write'})).status, 200)
  const other = await request(emu.base, 'GET', `${HV}/hooks/projects/someone-else`, {token: DEV})
  assert.equal(other.status, 401)

  const v = await mutate(emu.base, 'production', [{patch: {id: 'x', set: {a: 1}}}], {token: 'sk-viewer'})
  assert.equal(v.status, 403)
  assert.deepEqual(v.body, {error: {description: 'the mutation(s) failed: Insufficient permissions; permission "update" required', items: [], type: 'mutationError'}})
  assert.equal((await mutate(emu.base, 'production', [{create: {_id: 'e1', _type: 't'}}], {token: 'sk-editor'})).status, 200)
  const q = await request(emu.base, 'GET', `${HV}/data/doc/production/e1`, {token: 'sk-viewer'})
  assert.equal(q.status, 200, 'a viewer still reads')
})

test('validation: each bad field is a 400 naming it, and nothing is created', async () => {
  const cases = [
    [{type: undefined}, '"type" must be "document"'],
    [{type: 'transaction'}, /transaction is not emulated/],
    [{name: undefined}, '"name" is required'],
    [{name: 'x'.repeat(101)}, '"name" must be 100 characters or less'],
    [{url: 'not a url'}, '"url" must be a valid URL'],
    [{url: 'ftp://x.example/'}, '"url" must be an http or https URL'],
    [{dataset: 'Prod!'}, /"dataset" must match/],
    [{dataset: 'nope'}, 'Dataset "nope" does not exist in this project'],
    [{apiVersion: '2025-02-19'}, '"apiVersion" must look like vYYYY-MM-DD'],
    [{apiVersion: 'v2021-03-24'}, /v2021-03-25 or later/],
    [{rule: {on: []}}, /"rule.on" must be a non-empty list/],
    [{rule: {on: ['publish']}}, /"rule.on" must be a non-empty list/],
    [{rule: {on: ['create'], filter: '_type == '}}, /"rule.filter" is not valid GROQ/],
    [{rule: {on: ['create'], projection: '{_id,'}}, /"rule.projection" is not valid GROQ/],
    [{rule: {on: ['create'], extra: 1}}, '"rule.extra" is not allowed'],
    [{httpMethod: 'HEAD'}, /"httpMethod" must be one of GET, POST, PUT, PATCH, DELETE/],
    [{includeDrafts: 'no'}, '"includeDrafts" must be a boolean'],
    [{headers: {'bad header': 'x'}}, /header name "bad header"/],
    [{headers: {'X-A': 1}}, 'header "X-A" must be a string'],
    [{secret: 42}, '"secret" must be a string or null'],
    [{colour: 'blue'}, '"colour" is not allowed'],
  ]
  for (const [overrides, message] of cases) {
    const r = await hooksApi('POST', '', {body: body(overrides)})
    assert.equal(r.status, 400, JSON.stringify(overrides))
    assert.equal(r.body.statusCode, 400)
    assert.equal(r.body.error, 'Bad Request')
    if (message instanceof RegExp) assert.match(r.body.message, message)
    else assert.equal(r.body.message, message)
  }
  const notJson = await hooksApi('POST', '', {body: '{"type":'})
  assert.equal(notJson.status, 400)
  assert.deepEqual((await hooksApi('GET')).body, [])
  assert.equal((await hooksApi('POST', '', {body: body({dataset: 'staging'})})).status, 201, 'a configured dataset is fine')
  assert.equal((await hooksApi('POST', '', {body: body({dataset: '*'})})).status, 201, '"*" means every dataset')
})

test('datasets list: configured datasets plus any that holds documents', async () => {
  await mutate(emu.base, 'scratch', [{create: {_id: 'a', _type: 't'}}])
  const r = await request(emu.base, 'GET', '/v2021-06-07/projects/demo/datasets', {token: 'sk-viewer'})
  assert.equal(r.status, 200)
  assert.deepEqual(r.body.map((d) => d.name), ['production', 'scratch', 'staging'])
  assert.deepEqual(Object.keys(r.body[0]), ['name', 'aclMode', 'createdAt', 'createdByUserId', 'tags'])
  assert.equal((await request(emu.base, 'GET', '/v2021-06-07/projects/demo/datasets', {token: null})).status, 401)
  assert.equal((await request(emu.base, 'GET', '/v2021-06-07/projects/x/datasets', {token: DEV})).status, 401)
})

test('httpMethod, static headers, dataset "*", includeDrafts and retries with SANITY_WEBHOOK_RETRY_DELAY_MS', async () => {
  const {body: h} = await hooksApi('POST', '', {
    body: body({httpMethod: 'PUT', headers: {'X-Gatehouse': 'yes'}, dataset: '*', includeDrafts: true, rule: {on: ['create']}}),
  })
  let calls = 0
  respond = () => (++calls < 3 ? {status: 503} : {status: 200})
  await mutate(emu.base, 'staging', [{create: {_id: 'drafts.p1', _type: 'page', title: 'T'}}])
  await idle()
  assert.equal(rx.received.length, 3, 'two retries after 503s')
  const [first, , last] = rx.received
  assert.equal(first.method, 'PUT')
  assert.equal(first.headers['x-gatehouse'], 'yes')
  assert.equal(first.headers['sanity-dataset'], 'staging')
  assert.equal(JSON.parse(first.body)._id, 'drafts.p1', 'no projection: the whole document')
  assert.ok(last.at - first.at >= 2 * 40, `retries wait SANITY_WEBHOOK_RETRY_DELAY_MS (${last.at - first.at} ms)`)
  const d = await deliveries()
  assert.deepEqual(d.map((x) => [x.attempt, x.response.status, x.final]), [[1, 503, false], [2, 503, false], [3, 200, true]])
  assert.equal(d[0].request.method, 'PUT')
  assert.equal(d[0].webhookId, h.id)
})

test('control API: API hooks appear as source "api"; PUT round-trip toggles them; reset {webhooks:true} clears them', async () => {
  const {body: h} = await hooksApi('POST', '', {body: body()})
  const list = (await request(emu.base, 'GET', '/__gatehouse/webhooks', {token: null})).body.webhooks
  assert.equal(list.length, 1)
  assert.equal(list[0].source, 'api')
  assert.equal(list[0].retryDelayMs, 40)
  list[0].enabled = false
  assert.equal((await request(emu.base, 'PUT', '/__gatehouse/webhooks', {token: null, body: list})).status, 200)
  const after = (await hooksApi('GET', `/${h.id}`)).body
  assert.equal(after.isDisabledByUser, true)
  assert.deepEqual({...after, isDisabledByUser: false}, h, 'the round-trip keeps every other field')
  await mutate(emu.base, 'production', [{create: {_id: 'rule-5', _type: 'accessRule'}}])
  await idle()
  assert.equal(rx.received.length, 0)
  const redeliverable = await request(emu.base, 'POST', '/__gatehouse/reset', {token: null, body: {}})
  assert.equal(redeliverable.status, 200)
  assert.equal((await hooksApi('GET')).body.length, 1, 'a plain reset keeps the webhooks')
  await request(emu.base, 'POST', '/__gatehouse/reset', {token: null, body: {webhooks: true}})
  assert.deepEqual((await hooksApi('GET')).body, [])
})
