import {descopeRoleKey} from './validators.js'

// A Descope role (Descope flavour). memberProfile.roles[] and gatedPage.requiredRoles[] reference it;
// sync assigns descopeRoleKey to the member (project-level, or in the member's tenant) and gated-content
// compares it with the roles in the session JWT.
export const accessRole = {
  name: 'accessRole',
  title: 'Access role',
  type: 'document',
  fields: [
    {
      name: 'title',
      title: 'Title',
      type: 'string',
      validation: (Rule) => Rule.required(),
    },
    {
      name: 'descopeRoleKey',
      title: 'Descope role key',
      type: 'string',
      description:
        'The role name exactly as defined in Descope → Authorization → Roles (case and spaces matter); sync assigns it, sessions carry it',
      validation: (Rule) => Rule.required().custom(descopeRoleKey),
    },
  ],
  preview: {select: {title: 'title', subtitle: 'descopeRoleKey'}},
}

export default accessRole
