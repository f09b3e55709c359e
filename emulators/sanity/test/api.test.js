'use strict'

const {test, before, after, beforeEach} = require('node:test')
const assert = require('node:assert/strict')
const {startEmulator, request, queryPath, mutate, V} = require('./helpers')

let emu
const DS = 'production'

before(async () => {
  emu = await startEmulator({SANITY_TOKENS: 'sk-local-read,sk-local-write'})
})
after(async () => {
  const code = await emu.stop()
  assert.equal(code, 0, 'emulator exits cleanly on SIGTERM')
})
beforeEach(async () => {
  const r = await request(emu.base, 'POST', '/__gatehouse/reset', {token: null})
  assert.equal(r.status, 200)
})

async function seed() {
  const r = await mutate(emu.base, DS, [
    {create: {_id: 'rule-1', _type: 'accessRule', region: 'eu', plan: {_type: 'reference', _ref: 'plan-pro'}}},
    {create: {_id: 'drafts.rule-1', _type: 'accessRule', region: 'us'}},
    {create: {_id: 'rule-2', _type: 'accessRule', region: 'us'}},
    {create: {_id: 'drafts.rule-3', _type: 'accessRule', region: 'apac'}},
    {create: {_id: 'versions.r1.rule-2', _type: 'accessRule', region: 'latam'}},
    {create: {_id: 'plan-pro', _type: 'plan', slug: {current: 'pro'}, title: 'Pro'}},
  ])
  assert.equal(r.status, 200, JSON.stringify(r.body))
}

test('query via GET with params, returns {query, result, ms}', async () => {
  await seed()
  const q = '*[_type == $t && region == $r]{_id, region, "plan": plan->slug.current}'
  const r = await request(emu.base, 'GET', queryPath(DS, q, {t: 'accessRule', r: 'eu'}))
  assert.equal(r.status, 200)
  assert.equal(r.body.query, q)
  assert.deepEqual(r.body.result, [{_id: 'rule-1', region: 'eu', plan: 'pro'}])
  assert.equal(typeof r.body.ms, 'number')
})

test('query via POST with params and perspective in the body or query string', async () => {
  await seed()
  const q = '*[_type == $t] | order(_id asc)._id'
  let r = await request(emu.base, 'POST', `${V}/data/query/${DS}`, {body: {query: q, params: {t: 'accessRule'}}})
  assert.equal(r.status, 200)
  assert.deepEqual(r.body.result, ['rule-1', 'rule-2'])
  r = await request(emu.base, 'POST', `${V}/data/query/${DS}`, {body: {query: q, params: {t: 'accessRule'}, perspective: 'raw'}})
  assert.deepEqual(r.body.result, ['drafts.rule-1', 'drafts.rule-3', 'rule-1', 'rule-2', 'versions.r1.rule-2'])
  r = await request(emu.base, 'POST', `${V}/data/query/${DS}?perspective=drafts`, {body: {query: q, params: {t: 'accessRule'}}})
  assert.deepEqual(r.body.result, ['rule-1', 'rule-2', 'rule-3'])
})

test('perspectives: published default, drafts overlay, raw; older API versions default to raw', async () => {
  await seed()
  const q = '*[_type == "accessRule"] | order(_id asc){_id, region}'
  const pub = await request(emu.base, 'GET', queryPath(DS, q))
  assert.deepEqual(pub.body.result, [{_id: 'rule-1', region: 'eu'}, {_id: 'rule-2', region: 'us'}])
  const drafts = await request(emu.base, 'GET', queryPath(DS, q, {}, {perspective: 'drafts'}))
  assert.deepEqual(drafts.body.result, [
    {_id: 'rule-1', region: 'us'},
    {_id: 'rule-2', region: 'us'},
    {_id: 'rule-3', region: 'apac'},
  ])
  const raw = await request(emu.base, 'GET', queryPath(DS, q, {}, {perspective: 'raw'}))
  assert.equal(raw.body.result.length, 5)
  const old = await request(emu.base, 'GET', `/v2021-10-21/data/query/${DS}?query=${encodeURIComponent('count(*[_type == "accessRule"])')}`)
  assert.equal(old.body.result, 5)
  const vx = await request(emu.base, 'GET', `/vX/data/query/${DS}?query=${encodeURIComponent('count(*[_type == "accessRule"])')}`)
  assert.equal(vx.body.result, 2)
  const v1 = await request(emu.base, 'GET', `/v1/data/query/${DS}?query=${encodeURIComponent('count(*[_type == "accessRule"])')}`)
  assert.equal(v1.body.result, 5)
  const bad = await request(emu.base, 'GET', queryPath(DS, q, {}, {perspective: 'nonsense!'}))
  assert.equal(bad.status, 400)
})

test('parse error → 400 queryParseError with position', async () => {
  const q = '*[_type == "a"'
  const r = await request(emu.base, 'GET', queryPath(DS, q))
  assert.equal(r.status, 400)
  assert.equal(r.body.error.type, 'queryParseError')
  assert.equal(r.body.error.query, q)
  assert.equal(typeof r.body.error.description, 'string')
  assert.ok(r.body.error.description.length > 0)
  assert.ok(r.body.error.start > 0 && r.body.error.start <= q.length, `start ${r.body.error.start}`)
  assert.ok(r.body.error.end >= r.body.error.start)
})

test('referenced but missing param → 400; invalid JSON param → 400', async () => {
  const q = '*[_type == "accessRule" && stytchOrganizationId == $org]'
  const r = await request(emu.base, 'GET', queryPath(DS, q))
  assert.equal(r.status, 400)
  assert.equal(r.body.error.type, 'queryParseError')
  assert.equal(r.body.error.description, 'param $org referenced, but not provided')
  assert.equal(q.slice(r.body.error.start, r.body.error.end), '$org')
  const post = await request(emu.base, 'POST', `${V}/data/query/${DS}`, {body: {query: '$a + $b', params: {a: 1}}})
  assert.equal(post.status, 400)
  assert.equal(post.body.error.description, 'param $b referenced, but not provided')
  const bad = await request(emu.base, 'GET', `${V}/data/query/${DS}?query=${encodeURIComponent('$x')}&$x=abc`)
  assert.equal(bad.status, 400)
  assert.match(bad.body.error.description, /Unable to parse value of "\$x=abc"/)
  const ok = await request(emu.base, 'GET', queryPath(DS, '$a + $b', {a: 1, b: 2}))
  assert.equal(ok.body.result, 3)
})

test('401 without or with an unknown token; read token may read and write', async () => {
  const q = queryPath(DS, '*')
  const none = await request(emu.base, 'GET', q, {token: null})
  assert.equal(none.status, 401)
  assert.equal(none.body.statusCode, 401)
  assert.equal(none.body.error, 'Unauthorized')
  assert.equal(typeof none.body.message, 'string')
  const wrong = await request(emu.base, 'GET', q, {token: 'sk-nope'})
  assert.equal(wrong.status, 401)
  assert.equal(wrong.body.message, 'Session not found')
  const m = await mutate(emu.base, DS, [{create: {_id: 'x', _type: 't'}}], {token: null})
  assert.equal(m.status, 401)
  const ok = await mutate(emu.base, DS, [{create: {_id: 'x', _type: 't'}}], {token: 'sk-local-read'})
  assert.equal(ok.status, 200)
  const withHeader = await request(emu.base, 'GET', q, {headers: {'x-sanity-project-id': 'demo'}})
  assert.equal(withHeader.status, 200)
})

test('unknown path → 404 JSON', async () => {
  const r = await request(emu.base, 'GET', '/v2025-02-19/nope')
  assert.equal(r.status, 404)
  assert.equal(r.body.statusCode, 404)
})

test('mutate: create / createOrReplace / createIfNotExists / patch / delete with _rev and timestamps', async () => {
  let r = await mutate(emu.base, DS, [{create: {_id: 'doc-1', _type: 'article', title: 'One', meta: {views: 1}}}])
  assert.equal(r.status, 200)
  assert.equal(typeof r.body.transactionId, 'string')
  assert.deepEqual(r.body.documentIds, ['doc-1'])
  assert.equal(r.body.results[0].operation, 'create')
  const created = r.body.results[0].document
  assert.equal(created._rev, r.body.transactionId)
  assert.match(created._createdAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)
  assert.equal(created._updatedAt, created._createdAt)

  // generated id
  r = await mutate(emu.base, DS, [{create: {_type: 'article', title: 'no id'}}])
  assert.equal(r.status, 200)
  assert.match(r.body.results[0].id, /^[A-Za-z0-9]{22}$/)

  // patch: set (dotted path), unset, setIfMissing, inc
  r = await mutate(emu.base, DS, [
    {patch: {id: 'doc-1', set: {title: 'One!', 'meta.author': 'ann'}, unset: ['meta.views'], setIfMissing: {tags: ['a'], title: 'ignored'}, inc: {count: 1}}},
  ])
  assert.equal(r.status, 200)
  assert.equal(r.body.results[0].operation, 'update')
  let doc = r.body.results[0].document
  assert.equal(doc.title, 'One!')
  assert.deepEqual(doc.meta, {author: 'ann'})
  assert.deepEqual(doc.tags, ['a'])
  assert.equal(doc.count, undefined, 'inc on a missing field is a no-op')
  assert.notEqual(doc._rev, created._rev)
  assert.equal(doc._createdAt, created._createdAt)
  const rev2 = doc._rev

  r = await mutate(emu.base, DS, [{patch: {id: 'doc-1', set: {n: 5}}}, {patch: {id: 'doc-1', inc: {n: 2}}}])
  doc = r.body.results[1].document
  assert.equal(doc.n, 7)
  assert.notEqual(doc._rev, rev2)

  // ifRevisionID ok
  r = await mutate(emu.base, DS, [{patch: {id: 'doc-1', ifRevisionID: doc._rev, set: {ok: true}}}])
  assert.equal(r.status, 200)

  // createOrReplace existing → update, replaces content, keeps _createdAt
  r = await mutate(emu.base, DS, [{createOrReplace: {_id: 'doc-1', _type: 'article', title: 'Replaced'}}])
  assert.equal(r.body.results[0].operation, 'update')
  assert.equal(r.body.results[0].document.title, 'Replaced')
  assert.equal(r.body.results[0].document.meta, undefined)
  assert.equal(r.body.results[0].document._createdAt, created._createdAt)
  r = await mutate(emu.base, DS, [{createOrReplace: {_id: 'doc-2', _type: 'article'}}])
  assert.equal(r.body.results[0].operation, 'create')

  // createIfNotExists existing → unchanged
  const before = (await request(emu.base, 'GET', `${V}/data/doc/${DS}/doc-1`)).body.documents[0]
  r = await mutate(emu.base, DS, [{createIfNotExists: {_id: 'doc-1', _type: 'article', title: 'nope'}}, {createIfNotExists: {_id: 'doc-3', _type: 'article'}}])
  assert.equal(r.status, 200)
  assert.equal(r.body.results[1].operation, 'create')
  const afterDoc = (await request(emu.base, 'GET', `${V}/data/doc/${DS}/doc-1`)).body.documents[0]
  assert.deepEqual(afterDoc, before)

  // delete
  r = await mutate(emu.base, DS, [{delete: {id: 'doc-1'}}])
  assert.equal(r.status, 200)
  assert.deepEqual(r.body.results.map((x) => [x.id, x.operation]), [['doc-1', 'delete']])
  const gone = await request(emu.base, 'GET', `${V}/data/doc/${DS}/doc-1`)
  assert.deepEqual(gone.body.documents, [])

  // delete by query
  r = await mutate(emu.base, DS, [{delete: {query: '*[_type == $t]', params: {t: 'article'}}}])
  assert.equal(r.status, 200)
  const left = await request(emu.base, 'GET', queryPath(DS, 'count(*[_type == "article"])'))
  assert.equal(left.body.result, 0)

  // without returnDocuments the results carry no document
  r = await mutate(emu.base, DS, [{create: {_id: 'doc-9', _type: 'a'}}], {query: 'returnIds=true'})
  assert.deepEqual(r.body.results, [{id: 'doc-9', operation: 'create'}])
})

test('mutate: 409 on create of an existing id and on ifRevisionID mismatch', async () => {
  await mutate(emu.base, DS, [{create: {_id: 'dup', _type: 't', v: 1}}])
  let r = await mutate(emu.base, DS, [{create: {_id: 'dup', _type: 't', v: 2}}])
  assert.equal(r.status, 409)
  assert.equal(r.body.error.type, 'mutationError')
  assert.match(r.body.error.description, /already exists/)
  assert.equal(r.body.error.items[0].error.type, 'documentAlreadyExistsError')
  r = await mutate(emu.base, DS, [{patch: {id: 'dup', ifRevisionID: 'not-the-rev', set: {v: 3}}}])
  assert.equal(r.status, 409)
  assert.equal(r.body.error.items[0].error.type, 'documentRevisionIDDoesNotMatchError')
  assert.match(r.body.error.description, /unexpected revision ID/)
  const doc = (await request(emu.base, 'GET', `${V}/data/doc/${DS}/dup`)).body.documents[0]
  assert.equal(doc.v, 1)
})

test('mutate: a transaction is all or nothing', async () => {
  await mutate(emu.base, DS, [{create: {_id: 'keep', _type: 't', v: 1}}])
  const r = await mutate(emu.base, DS, [
    {create: {_id: 'new-1', _type: 't'}},
    {patch: {id: 'keep', set: {v: 2}}},
    {delete: {id: 'keep-not-there'}},
    {create: {_id: 'keep', _type: 't'}}, // fails: exists
  ])
  assert.equal(r.status, 409)
  assert.equal(r.body.error.items[0].index, 3)
  const docs = await request(emu.base, 'GET', `${V}/data/doc/${DS}/new-1,keep`)
  assert.deepEqual(docs.body.omitted, [{id: 'new-1', reason: 'existence'}])
  assert.equal(docs.body.documents[0].v, 1)
})

test('mutate: validation errors are 400 mutationError / httpBadRequest', async () => {
  let r = await mutate(emu.base, DS, [{create: {_id: 'no-type'}}])
  assert.equal(r.status, 400)
  assert.equal(r.body.error.type, 'mutationError')
  assert.match(r.body.error.description, /does not have a type/)
  r = await mutate(emu.base, DS, [{create: {_id: 'bad id!', _type: 't'}}])
  assert.equal(r.status, 400)
  assert.match(r.body.error.description, /Malformed document ID/)
  r = await mutate(emu.base, DS, [{frobnicate: {}}])
  assert.equal(r.status, 400)
  assert.equal(r.body.error.type, 'mutationError')
  r = await mutate(emu.base, DS, [{patch: {id: 'missing', set: {a: 1}}}])
  assert.equal(r.status, 409)
  assert.equal(r.body.error.items[0].error.type, 'documentNotFoundError')
  r = await request(emu.base, 'POST', `${V}/data/mutate/${DS}`, {body: '{"mutations": ['})
  assert.equal(r.status, 400)
  assert.equal(r.body.error.type, 'httpBadRequest')
  r = await request(emu.base, 'POST', `${V}/data/mutate/${DS}`, {body: {nope: true}})
  assert.equal(r.status, 400)
  assert.equal(r.body.error.type, 'mutationError')
  r = await mutate(emu.base, DS, [{patch: {id: 'x', set: {_type: 'other'}}}, {create: {_id: 'x', _type: 't'}}].reverse())
  assert.equal(r.status, 400)
  assert.equal(r.body.error.items[0].error.type, 'cannotModifyImmutableAttributeError')
})

test('doc endpoint returns documents and omitted ids', async () => {
  await seed()
  const r = await request(emu.base, 'GET', `${V}/data/doc/${DS}/rule-1,nope,drafts.rule-1`)
  assert.equal(r.status, 200)
  assert.deepEqual(r.body.documents.map((d) => d._id), ['rule-1', 'drafts.rule-1'])
  assert.deepEqual(r.body.omitted, [{id: 'nope', reason: 'existence'}])
})

test('datasets are separate and created on first use', async () => {
  await mutate(emu.base, 'staging', [{create: {_id: 's1', _type: 't'}}])
  const prod = await request(emu.base, 'GET', queryPath(DS, 'count(*)'))
  const staging = await request(emu.base, 'GET', queryPath('staging', 'count(*)'))
  assert.equal(prod.body.result, 0)
  assert.equal(staging.body.result, 1)
})

test('faults: status and hang, exact and prefix; calls counter excludes control paths', async () => {
  const qp = `${V}/data/query/${DS}`
  let r = await request(emu.base, 'POST', '/__gatehouse/faults', {token: null, body: {method: 'GET', path: qp, status: 503, count: 2}})
  assert.equal(r.status, 200)
  r = await request(emu.base, 'GET', queryPath(DS, '1'))
  assert.equal(r.status, 503)
  assert.equal(r.body.statusCode, 503)
  r = await request(emu.base, 'GET', queryPath(DS, '1'))
  assert.equal(r.status, 503)
  r = await request(emu.base, 'GET', queryPath(DS, '1'))
  assert.equal(r.status, 200)
  assert.equal(r.body.result, 1)

  // prefix match, only the given method
  await request(emu.base, 'POST', '/__gatehouse/faults', {token: null, body: {method: 'POST', path: `${V}/data/*`, status: 429, count: 1}})
  r = await request(emu.base, 'GET', queryPath(DS, '2'))
  assert.equal(r.status, 200)
  r = await mutate(emu.base, DS, [{create: {_id: 'f', _type: 't'}}])
  assert.equal(r.status, 429)
  r = await mutate(emu.base, DS, [{create: {_id: 'f', _type: 't'}}])
  assert.equal(r.status, 200)

  // hang
  await request(emu.base, 'POST', '/__gatehouse/faults', {token: null, body: {method: 'GET', path: `${V}/data/doc/${DS}/f`, hang_ms: 300, count: 1}})
  const t0 = Date.now()
  r = await request(emu.base, 'GET', `${V}/data/doc/${DS}/f`)
  assert.ok(Date.now() - t0 >= 280, 'request was held')
  assert.equal(r.status, 200)
  assert.equal(r.body.documents[0]._id, 'f')

  const calls = await request(emu.base, 'GET', '/__gatehouse/calls', {token: null})
  const byKey = Object.fromEntries(calls.body.calls.map((c) => [`${c.method} ${c.path}`, c.count]))
  assert.deepEqual(byKey, {
    [`GET ${qp}`]: 4,
    [`POST ${V}/data/mutate/${DS}`]: 2,
    [`GET ${V}/data/doc/${DS}/f`]: 1,
  })
})

test('faults with match apply only to requests whose query string or body contains the text', async () => {
  const qp = `${V}/data/query/${DS}`
  let r = await request(emu.base, 'POST', '/__gatehouse/faults', {token: null, body: {method: '*', path: qp, status: 500, count: 5, match: 'doc-mine'}})
  assert.equal(r.status, 200)
  // Another test's query (no match) is untouched and does not use the fault up.
  r = await request(emu.base, 'POST', qp, {body: {query: '*[_id == $id][0]', params: {id: 'doc-other'}}})
  assert.equal(r.status, 200)
  // The matching query, by POST body and by GET query string, gets the fault.
  r = await request(emu.base, 'POST', qp, {body: {query: '*[_id == $id][0]', params: {id: 'doc-mine'}}})
  assert.equal(r.status, 500)
  r = await request(emu.base, 'GET', `${qp}?query=${encodeURIComponent('*[_id == $id][0]')}&%24id=${encodeURIComponent('"doc-mine"')}`)
  assert.equal(r.status, 500)
  const left = (await request(emu.base, 'GET', '/__gatehouse/faults', {token: null})).body.faults
  assert.equal(left[0].remaining, 3)
  // The body read for matching is still there for the API handler.
  r = await request(emu.base, 'POST', qp, {body: {query: '$id', params: {id: 'doc-other-2'}}})
  assert.equal(r.body.result, 'doc-other-2')
})

test('reset clears documents, deliveries, faults, calls but keeps webhooks unless asked', async () => {
  await request(emu.base, 'PUT', '/__gatehouse/webhooks', {token: null, body: [{id: 'w', url: 'http://127.0.0.1:9/x', on: ['create']}]})
  await mutate(emu.base, DS, [{create: {_id: 'r1', _type: 't'}}])
  await request(emu.base, 'POST', '/__gatehouse/faults', {token: null, body: {method: 'GET', path: '/x', status: 500, count: 5}})
  let r = await request(emu.base, 'POST', '/__gatehouse/reset', {token: null})
  assert.equal(r.status, 200)
  assert.equal((await request(emu.base, 'GET', queryPath(DS, 'count(*)'))).body.result, 0)
  assert.deepEqual((await request(emu.base, 'GET', '/__gatehouse/faults', {token: null})).body.faults, [])
  assert.deepEqual((await request(emu.base, 'GET', '/__gatehouse/deliveries', {token: null})).body.deliveries, [])
  const calls = (await request(emu.base, 'GET', '/__gatehouse/calls', {token: null})).body.calls
  assert.deepEqual(calls.map((c) => c.path), [`${V}/data/query/${DS}`])
  assert.equal((await request(emu.base, 'GET', '/__gatehouse/webhooks', {token: null})).body.webhooks.length, 1)
  r = await request(emu.base, 'POST', '/__gatehouse/reset', {token: null, body: {webhooks: true}})
  assert.equal((await request(emu.base, 'GET', '/__gatehouse/webhooks', {token: null})).body.webhooks.length, 0)
})
