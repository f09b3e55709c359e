import {REGIONS} from './constants.js'
import {organizationId, planSlugList, routePath, slugValue, uniqueReferences, uniqueStrings} from './validators.js'

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

// Builds the schema of one gated document type (article, doc, report, gatedPage).
// gated-content's authorizer (built-in rules or Cerbos, README "Policies with Cerbos") judges
// requiredPlans[] / requiredRoles[] / regions[] / organizationId. Empty means "no restriction of that kind".
// `owner` and `roles` pick the provider flavour (defaults: Stytch organization id, role name strings).
export function gatedDocument({name, title, owner = STYTCH_OWNER, roles = ROLE_NAMES}) {
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
        options: {source: 'title', maxLength: 96},
        validation: (Rule) => Rule.required().custom(slugValue),
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
        of: [{type: 'string'}],
        description: 'Plan slugs; a reader needs one of them',
        validation: (Rule) => Rule.custom(planSlugList),
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
