'use strict'

const {test} = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const {signWebhook} = require('../lib/util')

// The repository's copy of the team's shared signature vectors.
const FIXTURE =
  process.env.SANITY_SIGNATURE_FIXTURES ||
  path.resolve(__dirname, '..', '..', '..', 'fixtures', 'sanity-webhook-signatures.json')

test('signing matches every vector in fixtures/sanity-webhook-signatures.json', () => {
  const vectors = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'))
  assert.ok(Array.isArray(vectors) && vectors.length > 0)
  for (const v of vectors) {
    assert.equal(signWebhook(v.secret, v.body, v.timestamp_ms), v.header, `vector with secret ${JSON.stringify(v.secret)}`)
  }
})

test('signature is base64url without padding and changes with the timestamp', () => {
  const a = signWebhook('s', '{}', 1700000000000)
  const b = signWebhook('s', '{}', 1700000000001)
  assert.match(a, /^t=1700000000000,v1=[A-Za-z0-9_-]{43}$/)
  assert.notEqual(a.split(',')[1], b.split(',')[1])
})
