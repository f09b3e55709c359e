import {slugValue} from './validators.js'

// A plan (Descope flavour); organizationProfile.plan and memberProfile.plan reference it and gated
// pages list its slug in requiredPlans[]. Synced as the Descope custom attribute plan = planSlug.current.
export const accessPlan = {
  name: 'accessPlan',
  title: 'Access plan',
  type: 'document',
  fields: [
    {
      name: 'title',
      title: 'Title',
      type: 'string',
      validation: (Rule) => Rule.required(),
    },
    {
      name: 'planSlug',
      title: 'Plan slug',
      type: 'slug',
      description:
        'Used in requiredPlans[] of gated pages and written to the "plan" custom attribute of Descope users and tenants',
      options: {source: 'title', maxLength: 64},
      validation: (Rule) => Rule.required().custom(slugValue),
    },
  ],
  preview: {select: {title: 'title', subtitle: 'planSlug.current'}},
}

export default accessPlan
