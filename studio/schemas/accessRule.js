import {REGIONS, GATED_CONTENT_TYPES} from './constants.js'
import {exactlyOneTarget, organizationId, routePath, uniqueRoutes, uniqueStrings, userId} from './validators.js'

// An access rule for one Stytch organization (B2B project) or one Stytch user (consumer project).
// publish-sync writes it to the provider as trusted_metadata.sanity_access =
// {plan, planTitle, region, allowedContentTypes, gatedRoutes (paths), requiresMfa, source, syncedAt}.
export const accessRule = {
  name: 'accessRule',
  title: 'Access rule',
  type: 'document',
  // Document-level: exactly one of organization / user.
  validation: (Rule) => Rule.custom((doc) => exactlyOneTarget(doc)),
  fields: [
    {
      name: 'title',
      title: 'Title',
      type: 'string',
      validation: (Rule) => Rule.required(),
    },
    {
      name: 'stytchOrganizationId',
      title: 'Stytch organization ID (B2B)',
      type: 'string',
      description: 'organization-test-… or organization-live-…; leave empty for a consumer rule',
      validation: (Rule) =>
        Rule.custom((value, context) => {
          const format = organizationId(value)
          if (format !== true) return format
          return exactlyOneTarget(context?.document)
        }),
    },
    {
      name: 'stytchUserId',
      title: 'Stytch user ID (consumer)',
      type: 'string',
      description: 'user-test-… or user-live-…; leave empty for a B2B rule',
      validation: (Rule) =>
        Rule.custom((value, context) => {
          const format = userId(value)
          if (format !== true) return format
          return exactlyOneTarget(context?.document)
        }),
    },
    {
      name: 'plan',
      title: 'Plan',
      type: 'reference',
      to: [{type: 'plan'}],
      validation: (Rule) => Rule.required(),
    },
    {
      name: 'region',
      title: 'Region',
      type: 'string',
      options: {list: REGIONS, layout: 'radio'},
      validation: (Rule) => Rule.required(),
    },
    {
      name: 'allowedContentTypes',
      title: 'Allowed content types',
      type: 'array',
      of: [{type: 'string'}],
      options: {list: GATED_CONTENT_TYPES},
      validation: (Rule) => Rule.custom(uniqueStrings),
    },
    {
      name: 'gatedRoutes',
      title: 'Gated routes',
      type: 'array',
      of: [
        {
          name: 'gatedRoute',
          title: 'Gated route',
          type: 'object',
          fields: [
            {
              name: 'path',
              title: 'Path',
              type: 'string',
              description: 'e.g. /reports/q3 — starts with "/", no query, fragment, ".." or spaces',
              validation: (Rule) => Rule.required().custom(routePath),
            },
          ],
          preview: {select: {title: 'path'}},
        },
      ],
      validation: (Rule) => Rule.custom(uniqueRoutes),
    },
    {
      name: 'requiresMfa',
      title: 'Requires MFA',
      type: 'boolean',
      description: 'Sessions with a single factor get 403 mfa_required',
      initialValue: false,
    },
  ],
  preview: {
    select: {title: 'title', org: 'stytchOrganizationId', user: 'stytchUserId', plan: 'plan.title'},
    prepare: ({title, org, user, plan}) => ({
      title: title || org || user || 'Access rule',
      subtitle: [plan, org || user].filter(Boolean).join(' · '),
    }),
  },
}

export default accessRule
