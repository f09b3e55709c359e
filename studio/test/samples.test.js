// fixtures/validation-samples.json: one verdict per sample value, shared with the Rust code
// (studio/README.md lists the Rust function behind each kind). Every verdict is asserted twice:
// on the Studio's validator function, and through Sanity's validateDocument on a document of each
// type that carries such a value (so the schema really wires the check to the field).

import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'

import {uuid} from '@sanity/uuid'

import * as v from '../schemas/validators.js'
import {REGIONS} from '../schemas/constants.js'
import {at, errorsOf, loadSamples, startEmulator, studioWorkspace, validate} from './helpers.js'

const samples = loadSamples()
const slug = (current) => ({_type: 'slug', current})

// kind -> the Studio's function, and the fields (document factory + field name) that hold such a value.
let n = 0
const id = (type) => `${type}-${++n}`
const KINDS = {
  organization_ids: {
    check: v.organizationId,
    fields: [
      [(x) => ({_id: id('rule'), _type: 'accessRule', title: 'R', stytchOrganizationId: x, plan: {_type: 'reference', _ref: 'plan-pro'}, region: 'eu'}), 'stytchOrganizationId'],
      [(x) => ({_id: id('art'), _type: 'article', title: 'A', slug: slug(`org-${n}`), organizationId: x}), 'organizationId'],
    ],
  },
  stytch_user_ids: {
    check: v.userId,
    fields: [[(x) => ({_id: id('rule'), _type: 'accessRule', title: 'R', stytchUserId: x, plan: {_type: 'reference', _ref: 'plan-pro'}, region: 'eu'}), 'stytchUserId']],
  },
  descope_login_ids: {
    check: v.descopeLoginId,
    fields: [[(x) => ({_id: id('member'), _type: 'memberProfile', title: 'M', descopeLoginId: x}), 'descopeLoginId']],
  },
  descope_tenant_ids: {
    check: v.descopeTenantId,
    fields: [
      [(x) => ({_id: id('org'), _type: 'organizationProfile', title: 'O', tenantId: x}), 'tenantId'],
      [(x) => ({_id: id('page'), _type: 'gatedPage', title: 'P', slug: slug(`tenant-${n}`), organizationId: x}), 'organizationId'],
    ],
  },
  descope_role_keys: {
    check: v.descopeRoleKey,
    fields: [[(x) => ({_id: id('role'), _type: 'accessRole', title: 'R', descopeRoleKey: x}), 'descopeRoleKey']],
  },
  routes: {
    check: v.routePath,
    fields: [
      [(x) => ({_id: id('doc'), _type: 'doc', title: 'D', slug: slug(`route-${n}`), route: x}), 'route'],
      [
        (x) => ({
          _id: id('rule'),
          _type: 'accessRule',
          title: 'R',
          stytchOrganizationId: 'organization-test-0b5c5c1e-4a2f-4f6a-9d1e-2c3b4a5d6e7f',
          plan: {_type: 'reference', _ref: 'plan-pro'},
          region: 'eu',
          gatedRoutes: [{_key: 'g', _type: 'gatedRoute', path: x}],
        }),
        'gatedRoutes',
      ],
    ],
  },
  slugs: {
    check: (x) => v.slugText(x, v.DOCUMENT_SLUG_MAX_LENGTH),
    fields: ['article', 'doc', 'report', 'gatedPage'].map((type) => [(x) => ({_id: id(type), _type: type, title: 'T', slug: slug(x)}), 'slug']),
  },
  plan_slugs: {
    check: (x) => v.slugText(x, v.PLAN_SLUG_MAX_LENGTH),
    fields: [
      [(x) => ({_id: id('plan'), _type: 'plan', title: 'P', slug: slug(x)}), 'slug'],
      [(x) => ({_id: id('aplan'), _type: 'accessPlan', title: 'P', planSlug: slug(x)}), 'planSlug'],
    ],
  },
  region_codes: {
    // No validator function: options.list is the rule, and Sanity enforces it.
    check: (x) => REGIONS.some((r) => r.value === x) || 'not in the list',
    fields: [
      [(x) => ({_id: id('rule'), _type: 'accessRule', title: 'R', stytchUserId: 'user-test-9f8e7d6c-5b4a-4321-8fed-cba987654321', plan: {_type: 'reference', _ref: 'plan-pro'}, region: x}), 'region'],
      [(x) => ({_id: id('member'), _type: 'memberProfile', title: 'M', descopeLoginId: 'ada@acme.example', region: x}), 'region'],
      [(x) => ({_id: id('org'), _type: 'organizationProfile', title: 'O', tenantId: 'acme', region: x}), 'region'],
      [(x) => ({_id: id('rep'), _type: 'report', title: 'R', slug: slug(`region-${n}`), regions: [x]}), 'regions'],
    ],
  },
  document_ids: {check: v.documentId, fields: []},
}

let emulator, workspace
before(async () => {
  emulator = await startEmulator()
  let client
  ;({workspace, client} = await studioWorkspace(emulator.url))
  // Referenced by the access rules; its slug is none of the samples (slugs must be unique per type).
  await client.createOrReplace({_id: 'plan-pro', _type: 'plan', title: 'Pro', slug: slug('seeded-plan')})
})
after(async () => emulator && (await emulator.stop()))

test('the fixture has exactly the kinds this file checks, each with valid and invalid samples', () => {
  assert.deepEqual(Object.keys(samples).sort(), Object.keys(KINDS).sort())
  for (const [kind, list] of Object.entries(samples)) {
    assert.ok(list.some((s) => s.valid) && list.some((s) => !s.valid), kind)
    for (const s of list) {
      assert.equal(typeof s.value, 'string', kind)
      assert.equal(typeof s.valid, 'boolean', kind)
      assert.ok(typeof s.note === 'string' && s.note.length > 0, kind)
    }
    assert.equal(new Set(list.map((s) => s.value)).size, list.length, `${kind}: a value listed twice`)
  }
})

for (const [kind, {check, fields}] of Object.entries(KINDS)) {
  describe(kind, () => {
    test('the Studio validator gives every verdict', () => {
      for (const s of samples[kind]) {
        const r = check(s.value)
        if (s.valid) assert.equal(r, true, `${JSON.stringify(s.value)} (${s.note}) refused: ${r}`)
        else assert.ok(typeof r === 'string' && r.length > 0, `${JSON.stringify(s.value)} (${s.note}) accepted`)
      }
    })

    for (const [make, field] of fields) {
      const type = make('x')._type
      test(`Sanity's validateDocument gives every verdict on ${type}.${field}`, async () => {
        const docs = samples[kind].map((s) => make(s.value))
        const results = await Promise.all(docs.map((doc) => validate(workspace, doc)))
        for (const [i, s] of samples[kind].entries()) {
          const errors = errorsOf(at(results[i], field))
          if (s.valid) assert.deepEqual(errors, [], `${JSON.stringify(s.value)} (${s.note}) refused`)
          else assert.ok(errors.length > 0, `${JSON.stringify(s.value)} (${s.note}) accepted`)
          // The rest of the document is valid, so no other field may complain.
          assert.deepEqual(errorsOf(results[i]).filter((m) => m.path[0] !== field), [], JSON.stringify(results[i]))
        }
      })
    }
  })
}

test('ids the Studio generates (Sanity uuid, and their drafts) pass valid_document_id', () => {
  for (let i = 0; i < 50; i++) {
    const generated = uuid()
    assert.equal(v.documentId(generated), true, generated)
    assert.equal(v.documentId(`drafts.${generated}`), true, generated)
  }
})
