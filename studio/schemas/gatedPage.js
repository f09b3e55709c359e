import {ACCESS_PLAN_REFERENCES, ACCESS_ROLE_REFERENCES, gatedDocument} from './gatedDocument.js'
import {descopeTenantId} from './validators.js'

// A gated page (Descope flavour): requiredRoles[] references accessRole documents (GROQ:
// requiredRoles[]->descopeRoleKey), requiredPlans[] accessPlan documents (GROQ:
// requiredPlans[]->planSlug.current) and organizationId holds a Descope tenant id.
export const gatedPage = gatedDocument({
  name: 'gatedPage',
  title: 'Gated page',
  roles: ACCESS_ROLE_REFERENCES,
  plans: ACCESS_PLAN_REFERENCES,
  owner: {
    description: 'Descope tenant ID (Descope → Tenants) when only that tenant may read it; leave empty for shared content',
    validate: descopeTenantId,
  },
})

export default gatedPage
