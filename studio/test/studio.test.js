// The Studio configuration judged by the real `sanity` package (the version in package-lock.json):
// the workspace sanity.config.js resolves to, Sanity's schema validator, the desk structure, and
// Sanity's validateDocument against the project's Sanity emulator.

import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'

import {createSchema} from 'sanity'
import {createStructureBuilder} from 'sanity/structure'

import {schemaTypes} from '../schemas/index.js'
import {GROUPS, structure} from '../structure.js'
import {studioEnv} from '../env.js'
import {DATASET, PROJECT_ID, at, errorsOf, startEmulator, studioWorkspace, validate} from './helpers.js'

const ORG = 'organization-test-0b5c5c1e-4a2f-4f6a-9d1e-2c3b4a5d6e7f'
const USER = 'user-test-9f8e7d6c-5b4a-4321-8fed-cba987654321'
const TENANT = 'T2acmeXb7Qm4kP9sW2zR8vN1cL5dF'
const DOCUMENT_TYPES = ['accessRule', 'plan', 'article', 'doc', 'report', 'accessRole', 'accessPlan', 'organizationProfile', 'memberProfile', 'gatedPage']

let key = 0
const ref = (id) => ({_key: `k${++key}`, _type: 'reference', _ref: id})
const single = (id) => ({_type: 'reference', _ref: id})
const slug = (current) => ({_type: 'slug', current})

// Published documents the samples reference (created in the emulator before the tests).
const SEED = [
  {_id: 'plan-pro', _type: 'plan', title: 'Pro', slug: slug('pro')},
  {_id: 'plan-free', _type: 'plan', title: 'Free', slug: slug('free')},
  {_id: 'accessplan-pro', _type: 'accessPlan', title: 'Pro', planSlug: slug('pro')},
  {_id: 'role-reader', _type: 'accessRole', title: 'Reader', descopeRoleKey: 'reader'},
  {_id: 'org-acme', _type: 'organizationProfile', title: 'Acme', tenantId: TENANT, plan: single('accessplan-pro'), region: 'eu'},
]

const gated = (type, id, extra = {}) => ({
  _id: id,
  _type: type,
  title: `A ${type}`,
  slug: slug(`${id}-slug`),
  route: `/${type}s/${id}`,
  body: 'Members only',
  requiredPlans: [ref('plan-pro'), ref('plan-free')],
  requiredRoles: ['editor'],
  regions: ['eu', 'us'],
  organizationId: ORG,
  ...extra,
})

// One valid sample of every document type (two for accessRule: B2B and consumer).
const VALID = [
  {
    _id: 'rule-b2b',
    _type: 'accessRule',
    title: 'Acme',
    stytchOrganizationId: ORG,
    plan: single('plan-pro'),
    region: 'eu',
    allowedContentTypes: ['article', 'report'],
    gatedRoutes: [{_key: 'g1', _type: 'gatedRoute', path: '/reports/q3'}, {_key: 'g2', _type: 'gatedRoute', path: '/'}],
    requiresMfa: true,
  },
  {_id: 'rule-consumer', _type: 'accessRule', title: 'Ada', stytchUserId: USER, plan: single('plan-free'), region: 'apac'},
  {_id: 'plan-team', _type: 'plan', title: 'Team', slug: slug('team')},
  gated('article', 'art-1'),
  gated('doc', 'doc-1'),
  gated('report', 'rep-1', {requiredRoles: [], regions: []}),
  {_id: 'role-editor', _type: 'accessRole', title: 'Editor', descopeRoleKey: 'Tenant Editor'},
  {_id: 'accessplan-team', _type: 'accessPlan', title: 'Team', planSlug: slug('team')},
  {_id: 'org-globex', _type: 'organizationProfile', title: 'Globex', tenantId: 'globex corp', plan: single('accessplan-pro'), region: 'us', requiresMfa: true},
  {
    _id: 'member-ada',
    _type: 'memberProfile',
    title: 'Ada',
    descopeLoginId: 'ada@acme.example',
    roles: [ref('role-reader')],
    plan: single('accessplan-pro'),
    region: 'eu',
    tenant: single('org-acme'),
    requiresMfa: false,
  },
  gated('gatedPage', 'page-1', {requiredPlans: [ref('accessplan-pro')], requiredRoles: [ref('role-reader')], organizationId: TENANT}),
]

// Invalid documents: [what, document, field, message]. Each document is a valid one with one fault.
const byId = (id) => structuredClone(VALID.find((d) => d._id === id))
const withFields = (id, fields) => ({...byId(id), ...fields})
const INVALID = [
  ['organization and user both set', withFields('rule-b2b', {stytchUserId: USER}), 'stytchUserId', /either the Stytch organization ID or the Stytch user ID, not both/],
  ['neither organization nor user', withFields('rule-b2b', {stytchOrganizationId: undefined}), 'stytchOrganizationId', /Set the Stytch organization ID \(B2B\) or the Stytch user ID/],
  ['a production org id', withFields('rule-b2b', {stytchOrganizationId: ORG.replace('test', 'prod')}), 'stytchOrganizationId', /organization-test-<uuid> or organization-live-<uuid>/],
  ['a malformed user id', withFields('rule-consumer', {stytchUserId: 'user-test-123'}), 'stytchUserId', /user-test-<uuid> or user-live-<uuid>/],
  ['no plan on a rule', withFields('rule-b2b', {plan: undefined}), 'plan', /Required/],
  ['a region outside the list', withFields('rule-b2b', {region: 'emea'}), 'region', /did not match any allowed values/],
  [
    'a gated route listed twice',
    withFields('rule-b2b', {gatedRoutes: [{_key: 'a', path: '/a'}, {_key: 'b', path: '/a'}]}),
    'gatedRoutes',
    /"\/a" is listed more than once/,
  ],
  ['a gated route with a trailing slash', withFields('rule-b2b', {gatedRoutes: [{_key: 'a', path: '/reports/'}]}), 'gatedRoutes', /must not end with "\/"/],
  ['a content type listed twice', withFields('rule-b2b', {allowedContentTypes: ['doc', 'doc']}), 'allowedContentTypes', /"doc" is listed more than once/],
  ['a plan slug with "_"', withFields('plan-team', {slug: slug('pro_plan')}), 'slug', /lowercase letters and digits separated by "-"/],
  ['a typed 65-character plan slug', withFields('plan-team', {slug: slug('p'.repeat(65))}), 'slug', /at most 64 characters \(it has 65\)/],
  ['a plan slug already in use', withFields('plan-team', {slug: slug('pro')}), 'slug', /Slug is already in use/],
  ['a plan without a title', withFields('plan-team', {title: undefined}), 'title', /Required/],
  ['a typed 97-character document slug', withFields('art-1', {slug: slug('a'.repeat(97))}), 'slug', /at most 96 characters \(it has 97\)/],
  ['a route with "//"', withFields('art-1', {route: '/a//b'}), 'route', /must not contain "\/\/"/],
  ['a route with a "." segment', withFields('doc-1', {route: '/docs/./x'}), 'route', /"\." or "\.\." segments/],
  ['a required plan that does not exist', withFields('art-1', {requiredPlans: [ref('plan-typo')]}), 'requiredPlans', /must be published/],
  ['a required plan that is only a draft', withFields('art-1', {requiredPlans: [ref('plan-draft')]}), 'requiredPlans', /must be published/],
  ['the same plan twice', withFields('rep-1', {requiredPlans: [ref('plan-pro'), ref('plan-pro')]}), 'requiredPlans', /listed more than once/],
  ['a typed plan slug (the old shape)', withFields('art-1', {requiredPlans: ['pro']}), 'requiredPlans', /Every entry must point at a document/],
  ['a region listed twice', withFields('doc-1', {regions: ['eu', 'eu']}), 'regions', /"eu" is listed more than once/],
  ['a region outside the list on a document', withFields('doc-1', {regions: ['EU']}), 'regions', /did not match any allowed values/],
  ['a Descope tenant id as a Stytch owner', withFields('rep-1', {organizationId: TENANT}), 'organizationId', /organization-test-<uuid>/],
  ['a role key with a leading space', withFields('role-editor', {descopeRoleKey: ' reader'}), 'descopeRoleKey', /must not start or end with whitespace/],
  ['a role key of 101 bytes', withFields('role-editor', {descopeRoleKey: 'r'.repeat(101)}), 'descopeRoleKey', /at most 100 bytes/],
  ['an access plan slug with "_"', withFields('accessplan-team', {planSlug: slug('team_plan')}), 'planSlug', /lowercase letters and digits/],
  ['a tenant id with a tab', withFields('org-globex', {tenantId: 'globex\tcorp'}), 'tenantId', /control characters/],
  ['a tenant id with a trailing newline', withFields('org-globex', {tenantId: 'globex\n'}), 'tenantId', /start or end with whitespace/],
  ['a login id of 257 bytes', withFields('member-ada', {descopeLoginId: 'a'.repeat(257)}), 'descopeLoginId', /at most 256 bytes/],
  ['a member without a login id', withFields('member-ada', {descopeLoginId: undefined}), 'descopeLoginId', /Required/],
  ['the same role twice', withFields('member-ada', {roles: [ref('role-reader'), ref('role-reader')]}), 'roles', /listed more than once/],
  ['role names typed on a gated page', withFields('page-1', {requiredRoles: ['admin']}), 'requiredRoles', /Every entry must point at a document/],
  ['a tenant id with a leading space on a gated page', withFields('page-1', {organizationId: ` ${TENANT}`}), 'organizationId', /start or end with whitespace/],
  ['the same access plan twice on a gated page', withFields('page-1', {requiredPlans: [ref('accessplan-pro'), ref('accessplan-pro')]}), 'requiredPlans', /listed more than once/],
]

let emulator, workspace, client
before(async () => {
  emulator = await startEmulator()
  ;({workspace, client} = await studioWorkspace(emulator.url))
  await client.mutate([
    ...SEED.map((d) => ({createOrReplace: d})),
    {createOrReplace: {_id: 'drafts.plan-draft', _type: 'plan', title: 'Draft only', slug: slug('draft-only')}},
  ])
})
after(async () => emulator && (await emulator.stop()))

describe('sanity.config.js', () => {
  test('resolves (sanity resolveConfig) into one workspace with the env project, the structure tool and the ten types', () => {
    assert.equal(workspace.projectId, PROJECT_ID)
    assert.equal(workspace.dataset, DATASET)
    // The structure tool first; Sanity adds its built-in releases/schedules tools; no other plugin.
    const tools = workspace.tools.map((t) => t.name)
    assert.equal(tools[0], 'structure')
    assert.deepEqual(tools.filter((t) => !['structure', 'releases', 'schedules'].includes(t)), [])
    const types = workspace.schema.getTypeNames()
    for (const name of DOCUMENT_TYPES) assert.ok(types.includes(name), name)
    const documents = types.filter((n) => workspace.schema.get(n).type?.name === 'document' && !n.startsWith('sanity.') && !n.includes('.'))
    assert.deepEqual(documents.sort(), [...DOCUMENT_TYPES].sort())
  })

  test("Sanity's schema validator reports 0 errors and 0 warnings", () => {
    const problems = workspace.schema._validation.flatMap((group) => group.problems.map((p) => ({...p, path: group.path})))
    const errors = problems.filter((p) => p.severity === 'error')
    const warnings = problems.filter((p) => p.severity === 'warning')
    console.log(`schema validation (sanity resolveConfig + validateSchema): ${errors.length} errors, ${warnings.length} warnings`)
    assert.deepEqual(errors, [])
    assert.deepEqual(warnings, [])
  })

  test('the same validator does report problems (a field without a type, an unknown reference target)', () => {
    const broken = createSchema({
      name: 'broken',
      types: [
        ...schemaTypes,
        {name: 'brokenDoc', type: 'document', fields: [{name: 'noType'}, {name: 'plan', type: 'reference', to: [{type: 'noSuchType'}]}]},
      ],
    })
    const problems = broken._validation.flatMap((g) => g.problems)
    assert.ok(problems.filter((p) => p.severity === 'error').length >= 2, JSON.stringify(problems))
  })

  test('studioEnv: a clear error when the project id or dataset is missing or malformed', () => {
    assert.deepEqual(studioEnv({SANITY_STUDIO_PROJECT_ID: 'abc123xy', SANITY_STUDIO_DATASET: 'production'}), {
      projectId: 'abc123xy',
      dataset: 'production',
    })
    assert.throws(() => studioEnv({}), /SANITY_STUDIO_PROJECT_ID is not set; SANITY_STUDIO_DATASET is not set/)
    assert.throws(() => studioEnv({SANITY_STUDIO_PROJECT_ID: 'abc'}), (e) => !/PROJECT_ID is not set/.test(e.message) && /DATASET is not set/.test(e.message))
    assert.throws(() => studioEnv({SANITY_STUDIO_PROJECT_ID: 'My Project', SANITY_STUDIO_DATASET: 'x'}), /"My Project" is not a Sanity project id/)
    assert.throws(() => studioEnv({SANITY_STUDIO_PROJECT_ID: 'abc', SANITY_STUDIO_DATASET: 'Prod'}), /"Prod" is not a dataset name/)
    assert.throws(() => studioEnv({}), /npx sanity dev/)
  })
})

describe('desk structure', () => {
  test('GROUPS list every document type exactly once', () => {
    const listed = GROUPS.flatMap((g) => g.types)
    assert.deepEqual([...listed].sort(), [...DOCUMENT_TYPES].sort())
    assert.equal(new Set(listed).size, listed.length)
  })

  test("Sanity's structure builder serializes it: three groups, each listing its types", () => {
    const S = createStructureBuilder({source: workspace.unstable_sources[0]})
    const root = structure(S).serialize()
    assert.equal(root.title, 'gatehouse')
    assert.deepEqual(root.items.map((i) => [i.id, i.title]), GROUPS.map((g) => [g.id, g.title]))
    for (const [i, group] of GROUPS.entries()) {
      const child = root.items[i].child.serialize ? root.items[i].child.serialize() : root.items[i].child
      assert.deepEqual(child.items.map((item) => item.id), group.types, group.id)
      for (const item of child.items) assert.equal(item.schemaType?.name ?? item.schemaType, item.id)
    }
  })
})

describe("Sanity's validateDocument", () => {
  // validateDocument waits ~250 ms per call (its batched existence check), so all run at once.
  let valid, invalid
  before(async () => {
    ;[valid, invalid] = await Promise.all([
      Promise.all(VALID.map((doc) => validate(workspace, doc))),
      Promise.all(INVALID.map(([, doc]) => validate(workspace, doc))),
    ])
  })

  test('the valid sample of every document type has no markers at all', () => {
    assert.deepEqual([...new Set(VALID.map((d) => d._type))].sort(), [...DOCUMENT_TYPES].sort())
    for (const [i, doc] of VALID.entries()) {
      assert.deepEqual(valid[i], [], `${doc._type} ${doc._id}: ${JSON.stringify(valid[i])}`)
    }
  })

  for (const [i, [what, doc, field, message]] of INVALID.entries()) {
    test(`refuses ${what} (${doc._type}.${field})`, () => {
      const markers = invalid[i]
      const errors = errorsOf(at(markers, field))
      assert.ok(errors.length > 0, `no error on ${field}: ${JSON.stringify(markers)}`)
      assert.ok(errors.some((m) => message.test(m.message)), `${JSON.stringify(errors.map((m) => m.message))} !~ ${message}`)
    })
  }
})

describe('editor traps', () => {
  const slugOptions = (type, field) => workspace.schema.get(type).fields.find((f) => f.name === field).type.options

  test('Generate: every slug field slugifies "Pro_Plan" to "pro-plan" (Sanity keeps "_"), and the result validates', async () => {
    const fields = [['plan', 'slug'], ['accessPlan', 'planSlug'], ...['article', 'doc', 'report', 'gatedPage'].map((t) => [t, 'slug'])]
    for (const [type, field] of fields) {
      const options = slugOptions(type, field)
      assert.equal(typeof options.slugify, 'function', `${type}.${field} has its own slugify`)
      assert.equal(await options.slugify('Pro_Plan'), 'pro-plan', `${type}.${field}`)
      assert.equal(await options.slugify('  Ünïcode -- Plan! 2026 '), 'unicode-plan-2026', `${type}.${field}`)
      const long = await options.slugify('Word '.repeat(40))
      assert.ok(long.length <= options.maxLength && !long.endsWith('-'), `${type}.${field}: ${long}`)
    }
    const base = VALID.find((d) => d._id === 'plan-team')
    const generated = {...base, slug: slug(await slugOptions('plan', 'slug').slugify('Pro_Plan'))}
    assert.deepEqual(await validate(workspace, generated), [])
    const sanityDefault = {...base, slug: slug('pro_plan')} // what Sanity's own slugify makes of "Pro_Plan"
    assert.ok(errorsOf(await validate(workspace, sanityDefault)).length > 0)
  })

  test('a typed slug longer than maxLength is refused; one at the limit is accepted', async () => {
    const plan = VALID.find((d) => d._id === 'plan-team')
    assert.deepEqual(await validate(workspace, {...plan, slug: slug('p'.repeat(64))}), [])
    assert.match(errorsOf(await validate(workspace, {...plan, slug: slug('p'.repeat(94))}))[0].message, /at most 64/)
    const article = VALID.find((d) => d._id === 'art-1')
    assert.deepEqual(await validate(workspace, {...article, slug: slug('a'.repeat(96))}), [])
  })

  test('requiredPlans are strong references to the plan type of the flavour, picked not typed', () => {
    for (const [type, target] of [['article', 'plan'], ['doc', 'plan'], ['report', 'plan'], ['gatedPage', 'accessPlan']]) {
      const field = workspace.schema.get(type).fields.find((f) => f.name === 'requiredPlans').type
      assert.equal(field.jsonType, 'array', type)
      assert.equal(field.of.length, 1, type)
      const member = field.of[0]
      assert.equal(member.name, 'reference', type)
      assert.deepEqual(member.to.map((t) => t.name), [target], type)
      assert.equal(member.weak, false, `${type}: strong reference`)
      assert.equal(member.options?.disableNew, true, `${type}: no inline creation of an unpublished plan`)
    }
  })

  test('the GROQ the gate must use turns the references into plan slugs (run by the emulator, groq-js)', async () => {
    const docs = [
      gated('article', 'groq-art', {requiredPlans: [ref('plan-pro'), ref('plan-free')]}),
      gated('gatedPage', 'groq-page', {requiredPlans: [ref('accessplan-pro')], requiredRoles: [], organizationId: TENANT}),
      {...gated('doc', 'groq-open'), requiredPlans: undefined},
      {...gated('report', 'groq-old'), requiredPlans: ['pro']}, // the old, typed shape
    ]
    await client.mutate(docs.map((d) => ({createOrReplace: JSON.parse(JSON.stringify(d))})))
    const PLANS = 'coalesce(select(_type == "gatedPage" => requiredPlans[]->planSlug.current, requiredPlans[]->slug.current), [])'
    const rows = await client.fetch(`*[_id in $ids] | order(_id asc) {_id, "plans": ${PLANS}}`, {ids: docs.map((d) => d._id)})
    assert.deepEqual(rows, [
      {_id: 'groq-art', plans: ['pro', 'free']},
      {_id: 'groq-old', plans: [null]}, // old shape: nothing resolves, so nobody matches until it is migrated
      {_id: 'groq-open', plans: []},
      {_id: 'groq-page', plans: ['pro']},
    ])
    const filtered = await client.fetch(`*[_id in $ids && $plan in ${PLANS}] | order(_id asc)._id`, {ids: docs.map((d) => d._id), plan: 'pro'})
    assert.deepEqual(filtered, ['groq-art', 'groq-page'])
  })
})
