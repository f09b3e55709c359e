import {test, describe} from 'node:test'
import assert from 'node:assert/strict'

import * as v from '../schemas/validators.js'
import {schemaTypes} from '../schemas/index.js'

const ORG = 'organization-test-0b5c5c1e-4a2f-4f6a-9d1e-2c3b4a5d6e7f'
const ORG_LIVE = 'organization-live-0b5c5c1e-4a2f-4f6a-9d1e-2c3b4a5d6e7f'
const USER = 'user-test-9f8e7d6c-5b4a-4321-8fed-cba987654321'
const USER_LIVE = 'user-live-9f8e7d6c-5b4a-4321-8fed-cba987654321'

const isMessage = (r) => typeof r === 'string' && r.length > 0

// A stand-in for Sanity's Rule: records .custom(fn) and .required(), chains everything else.
function fakeRule() {
  const calls = {custom: [], required: 0, other: []}
  const rule = new Proxy(
    {},
    {
      get(_, prop) {
        if (prop === 'calls') return calls
        if (prop === 'custom') return (fn) => (calls.custom.push(fn), rule)
        if (prop === 'required') return () => (calls.required++, rule)
        return (...args) => (calls.other.push([prop, args]), rule)
      },
    },
  )
  return rule
}
function runValidation(validation) {
  assert.equal(typeof validation, 'function', 'validation must be a function of Rule')
  const rule = fakeRule()
  validation(rule)
  return rule.calls
}
const type = (name) => schemaTypes.find((t) => t.name === name)
const field = (t, name) => {
  const f = t.fields.find((x) => x.name === name)
  assert.ok(f, `${t.name}.${name} missing`)
  return f
}
const customOf = (f) => {
  const {custom} = runValidation(f.validation)
  assert.equal(custom.length, 1, `${f.name}: expected one Rule.custom(fn)`)
  return custom[0]
}

describe('validators', () => {
  test('organizationId', () => {
    for (const ok of [ORG, ORG_LIVE, undefined, null, '']) assert.equal(v.organizationId(ok), true, String(ok))
    for (const bad of [
      'organization-prod-0b5c5c1e-4a2f-4f6a-9d1e-2c3b4a5d6e7f',
      'organization-test-0B5C5C1E-4A2F-4F6A-9D1E-2C3B4A5D6E7F',
      'organization-test-0b5c5c1e4a2f4f6a9d1e2c3b4a5d6e7f',
      ` ${ORG}`,
      `${ORG}\n`,
      USER,
      'org-test-0b5c5c1e-4a2f-4f6a-9d1e-2c3b4a5d6e7f',
      42,
    ]) {
      assert.ok(isMessage(v.organizationId(bad)), JSON.stringify(bad))
    }
  })

  test('userId', () => {
    for (const ok of [USER, USER_LIVE, undefined, '']) assert.equal(v.userId(ok), true, String(ok))
    for (const bad of [ORG, 'user-test-123', 'user-staging-9f8e7d6c-5b4a-4321-8fed-cba987654321', `${USER}x`, {}]) {
      assert.ok(isMessage(v.userId(bad)), JSON.stringify(bad))
    }
  })

  test('exactlyOneTarget', () => {
    assert.equal(v.exactlyOneTarget({stytchOrganizationId: ORG}), true)
    assert.equal(v.exactlyOneTarget({stytchUserId: USER}), true)
    assert.equal(v.exactlyOneTarget({stytchOrganizationId: ORG, stytchUserId: ''}), true)
    assert.match(v.exactlyOneTarget({stytchOrganizationId: ORG, stytchUserId: USER}), /not both/)
    assert.ok(isMessage(v.exactlyOneTarget({})))
    assert.ok(isMessage(v.exactlyOneTarget(undefined)))
    assert.ok(isMessage(v.exactlyOneTarget({stytchOrganizationId: '', stytchUserId: null})))
  })

  test('routePath', () => {
    for (const ok of ['/', '/reports/q3', '/a/b-c_d.e~f', '/' + 'a'.repeat(199), undefined, '']) {
      assert.equal(v.routePath(ok), true, String(ok))
    }
    const cases = {
      'reports/q3': /start with/,
      'https://example.com/x': /start with/,
      '/a/../b': /\.\./,
      '/..': /\.\./,
      '/a?b=1': /\?/,
      '/a#top': /#/,
      '/a b': /whitespace/,
      '/a\tb': /whitespace/,
      '/a\n': /whitespace/,
      ['/' + 'a'.repeat(200)]: /200/,
    }
    for (const [bad, msg] of Object.entries(cases)) assert.match(v.routePath(bad), msg, bad)
    assert.ok(isMessage(v.routePath(7)))
  })

  test('uniqueRoutes', () => {
    assert.equal(v.uniqueRoutes(undefined), true)
    assert.equal(v.uniqueRoutes([]), true)
    assert.equal(v.uniqueRoutes([{path: '/a'}, {path: '/b'}, {_key: 'x'}]), true)
    assert.match(v.uniqueRoutes([{path: '/a'}, {path: '/b'}, {path: '/a'}]), /more than once/)
    assert.match(v.uniqueRoutes([{path: '/a'}, {path: 'b'}]), /start with/)
    assert.ok(isMessage(v.uniqueRoutes('/a')))
  })

  test('slugValue', () => {
    for (const ok of [{current: 'pro'}, {current: 'q3-2026-report'}, undefined, {}]) assert.equal(v.slugValue(ok), true)
    for (const bad of [{current: 'Pro'}, {current: 'a b'}, {current: '-a'}, {current: 'a--b'}, {current: 'a/b'}]) {
      assert.ok(isMessage(v.slugValue(bad)), JSON.stringify(bad))
    }
  })

  test('planSlugList', () => {
    assert.equal(v.planSlugList(undefined), true)
    assert.equal(v.planSlugList(['free', 'pro', 'enterprise-plus']), true)
    assert.match(v.planSlugList(['pro', 'pro']), /more than once/)
    assert.ok(isMessage(v.planSlugList(['Pro'])))
    assert.ok(isMessage(v.planSlugList([''])))
    assert.ok(isMessage(v.planSlugList('pro')))
  })

  test('uniqueStrings', () => {
    assert.equal(v.uniqueStrings(undefined), true)
    assert.equal(v.uniqueStrings(['editor', 'admin']), true)
    assert.match(v.uniqueStrings(['eu', 'eu']), /more than once/)
    assert.ok(isMessage(v.uniqueStrings(['  '])))
    assert.ok(isMessage(v.uniqueStrings([1])))
    assert.ok(isMessage(v.uniqueStrings('eu')))
  })
})

describe('schemas', () => {
  test('schemaTypes lists the five document types once each', () => {
    assert.deepEqual(schemaTypes.map((t) => t.name).sort(), ['accessRule', 'article', 'doc', 'plan', 'report'])
    for (const t of schemaTypes) {
      assert.equal(t.type, 'document', t.name)
      const names = t.fields.map((f) => f.name)
      assert.equal(new Set(names).size, names.length, `${t.name}: duplicate field names`)
    }
  })

  test('every validation runs against a Rule and every custom fn honours the contract', () => {
    const visit = (owner, fields) => {
      for (const f of fields) {
        if (f.validation) {
          for (const fn of runValidation(f.validation).custom) {
            const r = fn(undefined, {document: {}})
            assert.ok(r === true || isMessage(r), `${owner}.${f.name}: custom fn returned ${r}`)
          }
        }
        for (const member of f.of || []) if (member.fields) visit(`${owner}.${f.name}[]`, member.fields)
      }
    }
    for (const t of schemaTypes) visit(t.name, t.fields)
  })

  test('accessRule fields follow the content model', () => {
    const t = type('accessRule')
    assert.deepEqual(
      t.fields.map((f) => [f.name, f.type]),
      [
        ['title', 'string'],
        ['stytchOrganizationId', 'string'],
        ['stytchUserId', 'string'],
        ['plan', 'reference'],
        ['region', 'string'],
        ['allowedContentTypes', 'array'],
        ['gatedRoutes', 'array'],
        ['requiresMfa', 'boolean'],
      ],
    )
    assert.deepEqual(field(t, 'plan').to, [{type: 'plan'}])
    assert.deepEqual(field(t, 'region').options.list.map((o) => o.value), ['eu', 'us', 'apac'])
    assert.deepEqual(field(t, 'allowedContentTypes').options.list.map((o) => o.value), ['article', 'doc', 'report'])
    assert.ok(runValidation(field(t, 'plan').validation).required >= 1)
  })

  test('accessRule organization/user fields call organizationId/userId and exactlyOneTarget', () => {
    const t = type('accessRule')
    const org = customOf(field(t, 'stytchOrganizationId'))
    const user = customOf(field(t, 'stytchUserId'))

    assert.equal(org(ORG, {document: {stytchOrganizationId: ORG}}), true)
    assert.equal(org('bad', {document: {stytchOrganizationId: 'bad'}}), v.organizationId('bad'))
    assert.equal(
      org(ORG, {document: {stytchOrganizationId: ORG, stytchUserId: USER}}),
      v.exactlyOneTarget({stytchOrganizationId: ORG, stytchUserId: USER}),
    )
    assert.equal(org(undefined, {document: {}}), v.exactlyOneTarget({}))

    assert.equal(user(USER, {document: {stytchUserId: USER}}), true)
    assert.equal(user('user-x', {document: {stytchUserId: 'user-x'}}), v.userId('user-x'))
    assert.equal(user(undefined, {document: {stytchOrganizationId: ORG}}), true)

    const docLevel = runValidation(t.validation).custom
    assert.equal(docLevel.length, 1)
    assert.equal(docLevel[0]({stytchOrganizationId: ORG}), true)
    assert.equal(docLevel[0]({stytchOrganizationId: ORG, stytchUserId: USER}), v.exactlyOneTarget({stytchOrganizationId: ORG, stytchUserId: USER}))
  })

  test('accessRule gatedRoutes call uniqueRoutes (array) and routePath (each path)', () => {
    const f = field(type('accessRule'), 'gatedRoutes')
    const list = customOf(f)
    assert.equal(list([{path: '/a'}, {path: '/b'}]), true)
    assert.equal(list([{path: '/a'}, {path: '/a'}]), v.uniqueRoutes([{path: '/a'}, {path: '/a'}]))

    const [member] = f.of
    assert.equal(member.type, 'object')
    const pathField = member.fields.find((x) => x.name === 'path')
    const calls = runValidation(pathField.validation)
    assert.equal(calls.required, 1)
    assert.equal(calls.custom.length, 1)
    for (const p of ['/reports/q3', 'reports', '/a?b', '/a/../b', '/a b']) assert.equal(calls.custom[0](p), v.routePath(p), p)

    assert.equal(customOf(field(type('accessRule'), 'allowedContentTypes'))(['doc', 'doc']), v.uniqueStrings(['doc', 'doc']))
  })

  test('plan has title and a validated slug', () => {
    const t = type('plan')
    assert.deepEqual(t.fields.map((f) => [f.name, f.type]), [['title', 'string'], ['slug', 'slug']])
    const slug = customOf(field(t, 'slug'))
    assert.equal(slug({current: 'pro'}), true)
    assert.equal(slug({current: 'Pro Plan'}), v.slugValue({current: 'Pro Plan'}))
  })

  for (const name of ['article', 'doc', 'report']) {
    test(`${name} is a gated document calling the validators`, () => {
      const t = type(name)
      const fields = Object.fromEntries(t.fields.map((f) => [f.name, f]))
      for (const [fname, ftype] of Object.entries({
        title: 'string',
        slug: 'slug',
        body: 'text',
        requiredPlans: 'array',
        requiredRoles: 'array',
        regions: 'array',
        route: 'string',
        organizationId: 'string',
      })) {
        assert.equal(fields[fname]?.type, ftype, `${name}.${fname}`)
      }
      for (const f of ['requiredPlans', 'requiredRoles', 'regions']) assert.deepEqual(fields[f].of, [{type: 'string'}])

      const route = customOf(fields.route)
      assert.equal(route(undefined), true) // optional
      for (const p of ['/reports/q3', 'x', '/a#b']) assert.equal(route(p), v.routePath(p))

      assert.equal(customOf(fields.slug)({current: 'Q3'}), v.slugValue({current: 'Q3'}))
      assert.equal(customOf(fields.requiredPlans)(['pro', 'pro']), v.planSlugList(['pro', 'pro']))
      assert.equal(customOf(fields.requiredPlans)(['pro']), true)
      assert.equal(customOf(fields.requiredRoles)(['a', 'a']), v.uniqueStrings(['a', 'a']))
      assert.equal(customOf(fields.regions)(['eu', 'eu']), v.uniqueStrings(['eu', 'eu']))
      assert.deepEqual(fields.regions.options.list.map((o) => o.value), ['eu', 'us', 'apac'])
      const org = customOf(fields.organizationId)
      assert.equal(org(undefined), true) // shared content
      assert.equal(org(ORG), true)
      assert.ok(isMessage(org('acme')), 'an id that is not a Stytch organization id is refused')
    })
  }
})
