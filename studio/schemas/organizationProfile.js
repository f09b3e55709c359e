import {REGIONS} from './constants.js'
import {descopeTenantId} from './validators.js'

// One Descope tenant (Descope flavour). Sync writes the tenant's custom attributes plan (plan->planSlug.current)
// and region; members that reference this profile inherit its plan, region and MFA requirement.
export const organizationProfile = {
  name: 'organizationProfile',
  title: 'Organization profile',
  type: 'document',
  fields: [
    {
      name: 'title',
      title: 'Title',
      type: 'string',
      validation: (Rule) => Rule.required(),
    },
    {
      name: 'tenantId',
      title: 'Descope tenant ID',
      type: 'string',
      description: 'The tenant ID from Descope → Tenants (generated T2… or a custom ID: letters, digits, "_", "-")',
      validation: (Rule) => Rule.required().custom(descopeTenantId),
    },
    {
      name: 'plan',
      title: 'Plan',
      type: 'reference',
      to: [{type: 'accessPlan'}],
      description: "The tenant's plan; members without a plan of their own get this one",
    },
    {
      name: 'region',
      title: 'Region',
      type: 'string',
      description: "The tenant's region; members without a region of their own get this one",
      options: {list: REGIONS, layout: 'radio'},
      // Sanity enforces options.list only on a field that has a validation: without one a value such as
      // "EU" written by the API would pass (test/samples.test.js, region_codes).
      validation: (Rule) => Rule,
    },
    {
      name: 'requiresMfa',
      title: 'Requires MFA',
      type: 'boolean',
      description: 'Members of this tenant need two factors for gated pages (a single-factor session gets 403 mfa_required)',
      initialValue: false,
    },
  ],
  preview: {
    select: {title: 'title', tenantId: 'tenantId', plan: 'plan.title'},
    prepare: ({title, tenantId, plan}) => ({
      title: title || tenantId || 'Organization profile',
      subtitle: [plan, tenantId].filter(Boolean).join(' · '),
    }),
  },
}

export default organizationProfile
