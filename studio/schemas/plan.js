import {slugValue} from './validators.js'

// A plan; access rules reference it and gated documents list plan slugs in requiredPlans[].
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
      description: 'Used in requiredPlans[] of gated documents and synced to the identity provider',
      options: {source: 'title', maxLength: 64},
      validation: (Rule) => Rule.required().custom(slugValue),
    },
  ],
}

export default plan
