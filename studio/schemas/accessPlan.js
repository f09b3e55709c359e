import {PLAN_SLUG_MAX_LENGTH, slugifyWithin, slugWithin} from './validators.js'

// A plan (Descope flavour); organizationProfile.plan, memberProfile.plan and gatedPage.requiredPlans[]
// reference it (GROQ requiredPlans[]->planSlug.current). Synced as the Descope custom attribute plan = planSlug.current.
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
        'Gated pages that list this plan in requiredPlans[] match it; written to the "plan" custom attribute of Descope users and tenants',
      options: {source: 'title', maxLength: PLAN_SLUG_MAX_LENGTH, slugify: slugifyWithin(PLAN_SLUG_MAX_LENGTH)},
      validation: (Rule) => Rule.required().custom(slugWithin(PLAN_SLUG_MAX_LENGTH)),
    },
  ],
  preview: {select: {title: 'title', subtitle: 'planSlug.current'}},
}

export default accessPlan
