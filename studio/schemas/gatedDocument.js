import {REGIONS} from './constants.js'
import {organizationId, planSlugList, routePath, slugValue, uniqueStrings} from './validators.js'

// Builds the schema of one gated document type (article, doc, report).
// gated-content's authorizer (built-in rules or Cerbos, README "Policies with Cerbos") judges
// requiredPlans[] / requiredRoles[] / regions[] / organizationId. Empty means "no restriction of that kind".
export function gatedDocument({name, title}) {
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
        of: [{type: 'string'}],
        validation: (Rule) => Rule.custom(uniqueStrings),
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
        description:
          'Stytch organization ID (organization-test-… / organization-live-…) when only that organization may read it; leave empty for shared content',
        validation: (Rule) => Rule.custom(organizationId),
      },
    ],
    preview: {select: {title: 'title', subtitle: 'slug.current'}},
  }
}
