import {test, describe} from 'node:test'
import assert from 'node:assert/strict'

import * as v from '../schemas/validators.js'
import {schemaTypes} from '../schemas/index.js'

const ORG = 'organization-test-0b5c5c1e-4a2f-4f6a-9d1e-2c3b4a5d6e7f'
const ORG_LIVE = 'organization-live-0b5c5c1e-4a2f-4f6a-9d1e-2c3b4a5d6e7f'
const USER = 'user-test-9f8e7d6c-5b4a-4321-8fed-cba987654321'
const USER_LIVE = 'user-live-9f8e7d6c-5b4a-4321-8fed-cba987654321'
const TENANT = 'T2acmeXb7Qm4kP9sW2zR8vN1cL5dF'
const ref = (id) => ({_key: `k-${id}`, _type: 'reference', _ref: id})

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
    for (const ok of ['/', '/reports/q3', '/a/b-c_d.e~f', '/' + 'a'.repeat(199), '/a..b', '/' + 'é'.repeat(99), undefined, '']) {
      assert.equal(v.routePath(ok), true, String(ok))
    }
    const cases = {
      'reports/q3': /start with/,
      'https://example.com/x': /start with/,
      '/a/../b': /"\.\." segments/,
      '/..': /"\.\." segments/,
      '/./a': /"\." or/,
      '/a/': /end with "\/"/,
      '//a': /"\/\/"/,
      '/a\u0000': /control/,
      '/a\u0085': /whitespace/,
      ['/' + 'é'.repeat(100)]: /200 bytes/,
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
    for (const ok of [{current: 'pro'}, {current: 'q3-2026-report'}, {current: 'a'.repeat(96)}, undefined, {}]) assert.equal(v.slugValue(ok), true)
    for (const bad of [{current: 'Pro'}, {current: 'a b'}, {current: '-a'}, {current: 'a--b'}, {current: 'a/b'}, {current: 'pro_plan'}]) {
      assert.ok(isMessage(v.slugValue(bad)), JSON.stringify(bad))
    }
    assert.match(v.slugValue({current: 'a'.repeat(97)}), /at most 96 characters \(it has 97\)/)
    assert.match(v.slugValue({current: 'a'.repeat(65)}, 64), /at most 64/)
    assert.equal(v.slugWithin(64)({current: 'a'.repeat(64)}, {document: {}}), true, 'the context argument is not a length')
    assert.match(v.slugWithin(64)({current: 'a'.repeat(65)}, {document: {}}), /at most 64/)
  })

  test('slugify makes slugs slugText accepts', () => {
    const cases = {
      'Pro_Plan': 'pro-plan',
      'Q3 2026 Report': 'q3-2026-report',
      '  --Ünïcode  Plan!-- ': 'unicode-plan',
      'Crème brûlée': 'creme-brulee',
      'a__b..c': 'a-b-c',
      '日本': '',
      '': '',
    }
    for (const [input, out] of Object.entries(cases)) assert.equal(v.slugify(input), out, input)
    assert.equal(v.slugify(undefined), '')
    for (const max of [1, 5, 64, 96]) {
      for (const title of ['Word '.repeat(50), 'ab-'.repeat(60), 'x'.repeat(200), 'Pro_Plan Gold']) {
        const s = v.slugifyWithin(max)(title)
        assert.ok(s.length <= max, `${max}: ${s}`)
        assert.equal(v.slugText(s, max), true, `${max}: ${s}`)
      }
    }
  })

  test('uniqueStrings', () => {
    assert.equal(v.uniqueStrings(undefined), true)
    assert.equal(v.uniqueStrings(['editor', 'admin']), true)
    assert.match(v.uniqueStrings(['eu', 'eu']), /more than once/)
    assert.ok(isMessage(v.uniqueStrings(['  '])))
    assert.ok(isMessage(v.uniqueStrings([1])))
    assert.ok(isMessage(v.uniqueStrings('eu')))
  })

  test('descopeRoleKey', () => {
    for (const ok of ['reader', 'Tenant Admin', 'acme.admin', 'role_1-x', 'a'.repeat(100), 'rôle', undefined, null, '']) {
      assert.equal(v.descopeRoleKey(ok), true, String(ok))
    }
    const cases = {
      ' reader': /whitespace/,
      'reader ': /whitespace/,
      'reader\n': /whitespace/,
      '   ': /blank/,
      're\tader': /control/,
      're\u0000ader': /control/,
      're\u007fader': /control/,
      ['a'.repeat(101)]: /100/,
    }
    for (const [bad, msg] of Object.entries(cases)) assert.match(v.descopeRoleKey(bad), msg, JSON.stringify(bad))
    assert.ok(isMessage(v.descopeRoleKey(['reader'])))
  })

  test('descopeTenantId', () => {
    // shared/src/ids.rs descope (Descope::validate_target): any text of at most 256 bytes without whitespace at the ends or control characters.
    for (const ok of [TENANT, 'acme', 'acme-corp_2', 'T2', 'acme corp', 'acme.corp', 'acmé', 'A'.repeat(256), undefined, null, '']) {
      assert.equal(v.descopeTenantId(ok), true, String(ok))
    }
    for (const bad of [` ${TENANT}`, `${TENANT}\n`, 'acme\tcorp', '  ', 'A'.repeat(257), 'é'.repeat(129), 7]) {
      assert.ok(isMessage(v.descopeTenantId(bad)), JSON.stringify(bad))
    }
    assert.match(v.descopeTenantId('A'.repeat(257)), /256 bytes/)
    assert.match(v.descopeTenantId('acme\tcorp'), /control/)
  })

  test('descopeLoginId', () => {
    for (const ok of ['ada@acme.example', 'U2abcDEF123', '+15555550100', 'Ada Lovelace', 'a'.repeat(256), undefined, '']) {
      assert.equal(v.descopeLoginId(ok), true, String(ok))
    }
    const cases = {
      ' ada@acme.example': /whitespace/,
      'ada@acme.example ': /whitespace/,
      'ada@acme.example\t': /whitespace/,
      '  ': /blank/,
      'ada\n@acme.example': /control/,
      ['a'.repeat(257)]: /256/,
    }
    for (const [bad, msg] of Object.entries(cases)) assert.match(v.descopeLoginId(bad), msg, JSON.stringify(bad))
    assert.ok(isMessage(v.descopeLoginId(42)))
  })

  test('uniqueReferences', () => {
    assert.equal(v.uniqueReferences(undefined), true)
    assert.equal(v.uniqueReferences([]), true)
    assert.equal(v.uniqueReferences([ref('role-a'), ref('role-b')]), true)
    assert.match(v.uniqueReferences([ref('role-a'), ref('role-b'), ref('role-a')]), /more than once/)
    assert.match(v.uniqueReferences([ref('role-a'), {_key: 'x', _type: 'reference'}]), /point at a document/)
    assert.ok(isMessage(v.uniqueReferences([ref('role-a'), {_ref: ''}])))
    assert.ok(isMessage(v.uniqueReferences(['role-a'])))
    assert.ok(isMessage(v.uniqueReferences(ref('role-a'))))
  })
})

describe('schemas', () => {
  test('schemaTypes lists the ten document types once each', () => {
    assert.deepEqual(schemaTypes.map((t) => t.name).sort(), [
      'accessPlan',
      'accessRole',
      'accessRule',
      'article',
      'doc',
      'gatedPage',
      'memberProfile',
      'organizationProfile',
      'plan',
      'report',
    ])
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
      for (const f of ['requiredRoles', 'regions']) assert.deepEqual(fields[f].of, [{type: 'string'}])
      assert.deepEqual(fields.requiredPlans.of, [{type: 'reference', to: [{type: 'plan'}], weak: false, options: {disableNew: true}}])

      const route = customOf(fields.route)
      assert.equal(route(undefined), true) // optional
      for (const p of ['/reports/q3', 'x', '/a#b']) assert.equal(route(p), v.routePath(p))

      assert.equal(customOf(fields.slug)({current: 'Q3'}), v.slugValue({current: 'Q3'}))
      assert.equal(customOf(fields.requiredPlans)([ref('p1'), ref('p1')]), v.uniqueReferences([ref('p1'), ref('p1')]))
      assert.equal(customOf(fields.requiredPlans)([ref('p1')]), true)
      assert.ok(isMessage(customOf(fields.requiredPlans)(['pro'])), 'typed plan slugs are refused')
      assert.equal(fields.slug.options.slugify('Pro_Plan'), 'pro-plan')
      assert.equal(customOf(fields.slug)({current: 'a'.repeat(97)}), v.slugValue({current: 'a'.repeat(97)}, 96))
      assert.equal(customOf(fields.requiredRoles)(['a', 'a']), v.uniqueStrings(['a', 'a']))
      assert.equal(customOf(fields.regions)(['eu', 'eu']), v.uniqueStrings(['eu', 'eu']))
      assert.deepEqual(fields.regions.options.list.map((o) => o.value), ['eu', 'us', 'apac'])
      const org = customOf(fields.organizationId)
      assert.equal(org(undefined), true) // shared content
      assert.equal(org(ORG), true)
      assert.ok(isMessage(org('acme')), 'an id that is not a Stytch organization id is refused')
    })
  }

  test('accessRole has a title and a required, validated descopeRoleKey', () => {
    const t = type('accessRole')
    assert.deepEqual(t.fields.map((f) => [f.name, f.type]), [['title', 'string'], ['descopeRoleKey', 'string']])
    assert.ok(runValidation(field(t, 'title').validation).required >= 1)
    const f = field(t, 'descopeRoleKey')
    assert.match(f.description, /Authorization → Roles/)
    assert.ok(runValidation(f.validation).required >= 1)
    const key = customOf(f)
    for (const k of ['reader', 'Tenant Admin', ' reader', 'a\tb', 'a'.repeat(101)]) assert.equal(key(k), v.descopeRoleKey(k), k)
    assert.deepEqual(t.preview.select, {title: 'title', subtitle: 'descopeRoleKey'})
  })

  test('accessPlan has a title and a required planSlug with the plan slug rules', () => {
    const t = type('accessPlan')
    assert.deepEqual(t.fields.map((f) => [f.name, f.type]), [['title', 'string'], ['planSlug', 'slug']])
    const f = field(t, 'planSlug')
    assert.equal(f.options.source, 'title')
    assert.ok(runValidation(f.validation).required >= 1)
    const slug = customOf(f)
    assert.equal(slug({current: 'pro'}), true)
    assert.equal(slug({current: 'enterprise-plus'}), true)
    for (const bad of [{current: 'Pro'}, {current: 'a b'}, {current: '-a'}]) assert.equal(slug(bad), v.slugValue(bad))
    assert.ok(isMessage(slug({current: 'Pro Plan'})))
    assert.equal(t.preview.select.subtitle, 'planSlug.current')
  })

  test('organizationProfile follows the content model', () => {
    const t = type('organizationProfile')
    assert.deepEqual(
      t.fields.map((f) => [f.name, f.type]),
      [
        ['title', 'string'],
        ['tenantId', 'string'],
        ['plan', 'reference'],
        ['region', 'string'],
        ['requiresMfa', 'boolean'],
      ],
    )
    assert.ok(runValidation(field(t, 'title').validation).required >= 1)
    const tenant = field(t, 'tenantId')
    assert.ok(runValidation(tenant.validation).required >= 1)
    const check = customOf(tenant)
    for (const id of [TENANT, 'acme-corp_2', 'acme corp', ' acme', 'A'.repeat(257)]) assert.equal(check(id), v.descopeTenantId(id), id)
    assert.ok(isMessage(check('acme\ncorp')))
    assert.deepEqual(field(t, 'plan').to, [{type: 'accessPlan'}])
    assert.deepEqual(field(t, 'region').options.list.map((o) => o.value), ['eu', 'us', 'apac'])
    const mfa = field(t, 'requiresMfa')
    assert.equal(mfa.initialValue, false)
    assert.match(mfa.description, /two factors/)
    assert.deepEqual(t.preview.prepare({title: 'Acme', tenantId: TENANT, plan: 'Pro'}), {title: 'Acme', subtitle: `Pro · ${TENANT}`})
    assert.deepEqual(t.preview.prepare({tenantId: TENANT}), {title: TENANT, subtitle: TENANT})
  })

  test('memberProfile follows the content model', () => {
    const t = type('memberProfile')
    assert.deepEqual(
      t.fields.map((f) => [f.name, f.type]),
      [
        ['title', 'string'],
        ['descopeLoginId', 'string'],
        ['roles', 'array'],
        ['plan', 'reference'],
        ['region', 'string'],
        ['tenant', 'reference'],
        ['requiresMfa', 'boolean'],
      ],
    )
    assert.ok(runValidation(field(t, 'title').validation).required >= 1)
    const login = field(t, 'descopeLoginId')
    assert.ok(runValidation(login.validation).required >= 1)
    const check = customOf(login)
    for (const id of ['ada@acme.example', 'U2abc', ' ada@acme.example', 'a'.repeat(257)]) assert.equal(check(id), v.descopeLoginId(id), id)

    const roles = field(t, 'roles')
    assert.deepEqual(roles.of, [{type: 'reference', to: [{type: 'accessRole'}]}])
    const uniq = customOf(roles)
    assert.equal(uniq([ref('r1'), ref('r2')]), true)
    assert.equal(uniq([ref('r1'), ref('r1')]), v.uniqueReferences([ref('r1'), ref('r1')]))
    assert.ok(isMessage(uniq([ref('r1'), ref('r1')])))

    assert.deepEqual(field(t, 'plan').to, [{type: 'accessPlan'}])
    assert.deepEqual(field(t, 'tenant').to, [{type: 'organizationProfile'}])
    assert.deepEqual(field(t, 'region').options.list.map((o) => o.value), ['eu', 'us', 'apac'])
    // plan, region, tenant and requiresMfa are optional: they fall back to the tenant (or project level).
    // region has a validation (Rule => Rule) only so that Sanity enforces its options.list.
    for (const name of ['plan', 'region', 'tenant', 'requiresMfa']) {
      const f = field(t, name)
      if (name === 'region') assert.deepEqual(runValidation(f.validation), {custom: [], required: 0, other: []})
      else assert.equal(f.validation, undefined, `${name} is optional`)
      assert.ok(f.description, `${name} tells editors what it does`)
    }
    assert.equal(field(t, 'requiresMfa').initialValue, undefined, 'unset follows the tenant')
    assert.deepEqual(t.preview.prepare({title: 'Ada', loginId: 'ada@acme.example', tenant: 'Acme', plan: 'Pro'}), {
      title: 'Ada',
      subtitle: 'Pro · Acme · ada@acme.example',
    })
    assert.equal(t.preview.prepare({loginId: 'ada@acme.example'}).title, 'ada@acme.example')
  })

  test('gatedPage is a gated document with accessRole references and a Descope tenant owner', () => {
    const t = type('gatedPage')
    const article = type('article')
    assert.deepEqual(t.fields.map((f) => [f.name, f.type]), article.fields.map((f) => [f.name, f.type]))
    const fields = Object.fromEntries(t.fields.map((f) => [f.name, f]))

    assert.deepEqual(fields.requiredRoles.of, [{type: 'reference', to: [{type: 'accessRole'}]}])
    const roles = customOf(fields.requiredRoles)
    assert.equal(roles(undefined), true)
    assert.equal(roles([ref('r1'), ref('r2')]), true)
    assert.equal(roles([ref('r1'), ref('r1')]), v.uniqueReferences([ref('r1'), ref('r1')]))
    assert.ok(isMessage(roles([ref('r1'), ref('r1')])))
    assert.ok(isMessage(roles(['admin'])), 'role name strings are not references')

    assert.deepEqual(fields.regions.of, [{type: 'string'}])
    assert.deepEqual(fields.requiredPlans.of, [{type: 'reference', to: [{type: 'accessPlan'}], weak: false, options: {disableNew: true}}])
    assert.equal(customOf(fields.requiredPlans)([ref('p1'), ref('p1')]), v.uniqueReferences([ref('p1'), ref('p1')]))
    assert.equal(customOf(fields.requiredPlans)([ref('p1')]), true)
    assert.equal(customOf(fields.slug)({current: 'Q3'}), v.slugValue({current: 'Q3'}))
    assert.equal(customOf(fields.route)('x'), v.routePath('x'))
    assert.equal(customOf(fields.regions)(['eu', 'eu']), v.uniqueStrings(['eu', 'eu']))

    const org = customOf(fields.organizationId)
    assert.match(fields.organizationId.description, /Descope tenant ID/)
    assert.equal(org(undefined), true)
    assert.equal(org(TENANT), true)
    assert.equal(org('acme-corp'), true, 'custom tenant ids are accepted')
    assert.ok(isMessage(org(' acme')))
    assert.ok(isMessage(org('acme\u0000')))
    assert.equal(org('A'.repeat(257)), v.descopeTenantId('A'.repeat(257)))
  })

  test('Stytch gated documents keep role name strings and Stytch organization ids', () => {
    for (const name of ['article', 'doc', 'report']) {
      const fields = Object.fromEntries(type(name).fields.map((f) => [f.name, f]))
      assert.deepEqual(fields.requiredRoles.of, [{type: 'string'}], name)
      assert.ok(isMessage(customOf(fields.organizationId)(TENANT)), `${name}: a Descope tenant id is refused`)
      assert.match(fields.organizationId.description, /Stytch organization ID/)
    }
  })
})
