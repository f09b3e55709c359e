import {PLAN_SLUG_MAX_LENGTH, slugifyWithin, slugWithin} from './validators.js'

// A plan; access rules reference it and gated documents (article, doc, report) reference it in
// requiredPlans[] (GROQ requiredPlans[]->slug.current).
// Synced as sanity_access.plan = plan->slug.current, planTitle = plan->title.
export const plan = {
  name: 'plan',
  title: 'Plan',
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
      description: 'Gated documents that list this plan in requiredPlans[] match it; synced to the identity provider',
      options: {source: 'title', maxLength: PLAN_SLUG_MAX_LENGTH, slugify: slugifyWithin(PLAN_SLUG_MAX_LENGTH)},
      validation: (Rule) => Rule.required().custom(slugWithin(PLAN_SLUG_MAX_LENGTH)),
    },
  ],
  preview: {select: {title: 'title', subtitle: 'slug.current'}},
}

export default plan
