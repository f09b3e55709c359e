import {REGIONS} from './constants.js'
import {
  DOCUMENT_SLUG_MAX_LENGTH,
  organizationId,
  routePath,
  slugifyWithin,
  slugWithin,
  uniqueReferences,
  uniqueStrings,
} from './validators.js'

// Who may own a gated document, per identity provider flavour: the organizationId field's text and check.
export const STYTCH_OWNER = {
  description:
    'Stytch organization ID (organization-test-… / organization-live-…) when only that organization may read it; leave empty for shared content',
  validate: organizationId,
}

// requiredRoles[] shapes: role names typed in (Stytch), or references to accessRole documents (Descope).
export const ROLE_NAMES = {
  of: [{type: 'string'}],
  description: 'Role names; a reader needs one of them',
  validate: uniqueStrings,
}
export const ACCESS_ROLE_REFERENCES = {
  of: [{type: 'reference', to: [{type: 'accessRole'}]}],
  description: 'Access roles (Descope role names); a reader needs one of them, project-level or in their tenant',
  validate: uniqueReferences,
}

// requiredPlans[]: strong references to published plan documents, picked, never typed (a typo
// would gate a document for nobody). `weak: false` keeps a plan from being deleted while a
// document still requires it; `disableNew` keeps editors from creating an unpublished plan inline.
// The gate turns them into slugs with GROQ (studio/README.md "requiredPlans"): requiredPlans[]->slug.current.
const planReferences = (planType, slugPath) => ({
  of: [{type: 'reference', to: [{type: planType}], weak: false, options: {disableNew: true}}],
  description: `Published plans; a reader needs one of them (GROQ requiredPlans[]->${slugPath})`,
  validate: uniqueReferences,
})
export const PLAN_REFERENCES = planReferences('plan', 'slug.current')
export const ACCESS_PLAN_REFERENCES = planReferences('accessPlan', 'planSlug.current')

// Builds the schema of one gated document type (article, doc, report, gatedPage).
// gated-content's authorizer (built-in rules or Cerbos, docs/policies.md "The rules") judges
// requiredPlans[] / requiredRoles[] / regions[] / organizationId. Empty means "no restriction of that kind".
// `owner`, `roles` and `plans` pick the provider flavour (defaults: Stytch organization id, role name
// strings, references to `plan`).
export function gatedDocument({name, title, owner = STYTCH_OWNER, roles = ROLE_NAMES, plans = PLAN_REFERENCES}) {
  return {
    name,
    title,
    type: 'document',
    fields: [
      {
        name: 'title',
        title: 'Title',
        type: 'string',
        validation: (Rule) => Rule.required(),
      },
      {
        name: 'slug',
        title: 'Slug',
        type: 'slug',
        description: 'Served at GET /content/{slug}',
        options: {source: 'title', maxLength: DOCUMENT_SLUG_MAX_LENGTH, slugify: slugifyWithin(DOCUMENT_SLUG_MAX_LENGTH)},
        validation: (Rule) => Rule.required().custom(slugWithin(DOCUMENT_SLUG_MAX_LENGTH)),
      },
      {
        name: 'route',
        title: 'Route',
        type: 'string',
        description: 'Optional path this document is served at, e.g. /reports/q3 (GET /content?route=…)',
        validation: (Rule) => Rule.custom(routePath),
      },
      {
        name: 'body',
        title: 'Body',
        type: 'text',
      },
      {
        name: 'requiredPlans',
        title: 'Required plans',
        type: 'array',
        of: plans.of,
        description: plans.description,
        validation: (Rule) => Rule.custom(plans.validate),
      },
      {
        name: 'requiredRoles',
        title: 'Required roles',
        type: 'array',
        of: roles.of,
        description: roles.description,
        validation: (Rule) => Rule.custom(roles.validate),
      },
      {
        name: 'regions',
        title: 'Regions',
        type: 'array',
        of: [{type: 'string'}],
        options: {list: REGIONS},
        // options.list makes Sanity refuse any other value ("Value did not match any allowed values").
        validation: (Rule) => Rule.custom(uniqueStrings),
      },
      {
        name: 'organizationId',
        title: 'Owning organization',
        type: 'string',
        description: owner.description,
        validation: (Rule) => Rule.custom(owner.validate),
      },
    ],
    preview: {select: {title: 'title', subtitle: 'slug.current'}},
  }
}
