import {REGIONS} from './constants.js'
import {descopeLoginId, uniqueReferences} from './validators.js'

// One Descope user (Descope flavour). Sync assigns roles[]->descopeRoleKey (in the tenant when one is set,
// else project-level) and writes the user's custom attributes plan, region and gatehouseSync
// (compact JSON {documentId, rev, roles, tenantId}, so a later sync or delete removes only what it added).
export const memberProfile = {
  name: 'memberProfile',
  title: 'Member profile',
  type: 'document',
  fields: [
    {
      name: 'title',
      title: 'Title',
      type: 'string',
      validation: (Rule) => Rule.required(),
    },
    {
      name: 'descopeLoginId',
      title: 'Descope login ID',
      type: 'string',
      description: "The user's Descope login ID (usually their email) or user ID (U2…), as shown in Descope → Users",
      validation: (Rule) => Rule.required().custom(descopeLoginId),
    },
    {
      name: 'roles',
      title: 'Roles',
      type: 'array',
      of: [{type: 'reference', to: [{type: 'accessRole'}]}],
      description: "Access roles assigned to this user in Descope (in the tenant below, or project-level when there is none)",
      validation: (Rule) => Rule.custom(uniqueReferences),
    },
    {
      name: 'plan',
      title: 'Plan',
      type: 'reference',
      to: [{type: 'accessPlan'}],
      description: "Optional; leave empty to use the tenant's plan",
    },
    {
      name: 'region',
      title: 'Region',
      type: 'string',
      description: "Optional; leave empty to use the tenant's region",
      options: {list: REGIONS, layout: 'radio'},
      // Sanity enforces options.list only on a field that has a validation: without one a value such as
      // "EU" written by the API would pass (test/samples.test.js, region_codes).
      validation: (Rule) => Rule,
    },
    {
      name: 'tenant',
      title: 'Tenant',
      type: 'reference',
      to: [{type: 'organizationProfile'}],
      description: 'Optional; the Descope tenant the roles are assigned in. Leave empty for project-level roles',
    },
    {
      name: 'requiresMfa',
      title: 'Requires MFA',
      type: 'boolean',
      description: "Optional; on: this member needs two factors for gated pages. Leave unset to follow the tenant's setting",
    },
  ],
  preview: {
    select: {title: 'title', loginId: 'descopeLoginId', tenant: 'tenant.title', plan: 'plan.title'},
    prepare: ({title, loginId, tenant, plan}) => ({
      title: title || loginId || 'Member profile',
      subtitle: [plan, tenant, loginId].filter(Boolean).join(' · '),
    }),
  },
}

export default memberProfile
