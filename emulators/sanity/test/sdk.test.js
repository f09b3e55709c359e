'use strict'

// The official @sanity/client must work against the emulator unchanged.

const {test, before, after} = require('node:test')
const assert = require('node:assert/strict')
const {createClient} = require('@sanity/client')
const {startEmulator, request, startReceiver} = require('./helpers')

let emu
let client
let rx

before(async () => {
  emu = await startEmulator()
  rx = await startReceiver()
  client = createClient({
    projectId: 'demo',
    dataset: 'production',
    apiHost: emu.base,
    useProjectHostname: false,
    apiVersion: '2025-02-19',
    token: 'sk-local-write',
    useCdn: false,
  })
})
after(async () => {
  await emu.stop()
  await rx.close()
})

test('create, createOrReplace, patch, fetch, getDocument, delete', async () => {
  const created = await client.create({_id: 'rule-sdk', _type: 'accessRule', stytchOrganizationId: 'organization-test-1', region: 'eu'})
  assert.equal(created._id, 'rule-sdk')
  assert.equal(typeof created._rev, 'string')
  assert.equal(created.region, 'eu')

  const generated = await client.create({_type: 'plan', slug: {current: 'pro'}, title: 'Pro'})
  assert.match(generated._id, /^[A-Za-z0-9]+$/)

  const replaced = await client.createOrReplace({_id: 'rule-sdk', _type: 'accessRule', stytchOrganizationId: 'organization-test-1', region: 'us', plan: {_type: 'reference', _ref: generated._id}})
  assert.equal(replaced.region, 'us')
  assert.notEqual(replaced._rev, created._rev)

  const patched = await client.patch('rule-sdk').set({requiresMfa: true, 'gated.path': '/x'}).commit()
  assert.equal(patched.requiresMfa, true)
  assert.deepEqual(patched.gated, {path: '/x'})

  const guarded = client.patch('rule-sdk').ifRevisionId('stale-rev').set({requiresMfa: false}).commit()
  await assert.rejects(guarded, (err) => err.statusCode === 409 && /unexpected revision ID/.test(err.message))

  const rows = await client.fetch('*[_type == $t && stytchOrganizationId == $org]{_id, region, requiresMfa, "plan": plan->slug.current}', {
    t: 'accessRule',
    org: 'organization-test-1',
  })
  assert.deepEqual(rows, [{_id: 'rule-sdk', region: 'us', requiresMfa: true, plan: 'pro'}])

  const doc = await client.getDocument('rule-sdk')
  assert.equal(doc._id, 'rule-sdk')
  assert.equal(doc._rev, patched._rev)
  assert.equal(await client.getDocument('nope'), undefined)

  const deleted = await client.delete('rule-sdk')
  assert.equal(deleted.results[0].id, 'rule-sdk')
  assert.equal(deleted.results[0].operation, 'delete')
  assert.equal(await client.getDocument('rule-sdk'), undefined)
})

test('transaction commits atomically', async () => {
  const res = await client
    .transaction()
    .create({_id: 'tx-1', _type: 'article', title: 'A'})
    .createIfNotExists({_id: 'tx-2', _type: 'article', title: 'B'})
    .patch('tx-1', (p) => p.set({title: 'A2'}))
    .commit()
  assert.equal(typeof res.transactionId, 'string')
  assert.deepEqual(res.documentIds, ['tx-1', 'tx-2', 'tx-1'])
  assert.equal((await client.getDocument('tx-1')).title, 'A2')

  const failing = client.transaction().create({_id: 'tx-3', _type: 'article'}).create({_id: 'tx-1', _type: 'article'}).commit()
  await assert.rejects(failing, (err) => err.statusCode === 409 && /already exists/.test(err.message))
  assert.equal(await client.getDocument('tx-3'), undefined)
})

test('perspectives through the client', async () => {
  await client.createOrReplace({_id: 'drafts.tx-1', _type: 'article', title: 'draft A'})
  const published = await client.fetch('*[_id == "tx-1"][0].title')
  assert.equal(published, 'A2')
  const drafts = await client.fetch('*[_id == "tx-1"][0].title', {}, {perspective: 'drafts'})
  assert.equal(drafts, 'draft A')
  const raw = await client.withConfig({perspective: 'raw'}).fetch('count(*[_type == "article"])')
  assert.equal(raw, 3)
})

test('a failing query rejects with the parse error; missing params reject too', async () => {
  await assert.rejects(client.fetch('*[_type == "article"'), (err) => {
    assert.equal(err.statusCode, 400)
    assert.equal(err.details.type, 'queryParseError')
    assert.match(err.message, /GROQ query parse error/)
    return true
  })
  await assert.rejects(client.fetch('*[_id == $id]'), (err) => {
    assert.equal(err.statusCode, 400)
    assert.match(err.message, /param \$id referenced, but not provided/)
    return true
  })
})

test('a bad token rejects with 401', async () => {
  const bad = client.withConfig({token: 'sk-wrong'})
  await assert.rejects(bad.fetch('1'), (err) => err.statusCode === 401 && /Session not found/.test(err.message))
})

test('client writes fire webhooks', async () => {
  await request(emu.base, 'PUT', '/__gatehouse/webhooks', {
    token: null,
    body: [{id: 'publish-sync', url: rx.url('/p'), filter: '_type == "accessRule"', projection: '{_id, "operation": delta::operation()}', secret: 's', on: ['create', 'update']}],
  })
  await client.create({_id: 'rule-hook', _type: 'accessRule'})
  await client.patch('rule-hook').set({x: 1}).commit()
  await request(emu.base, 'GET', '/__gatehouse/idle?timeout_ms=5000', {token: null})
  assert.deepEqual(rx.received.map((r) => JSON.parse(r.body)), [
    {_id: 'rule-hook', operation: 'create'},
    {_id: 'rule-hook', operation: 'update'},
  ])
})
