// gatehouse Studio schema types, loaded by ../sanity.config.js (`schema: {types: schemaTypes}`).
// Stytch flavour: accessRule, plan. Descope flavour: accessRole, accessPlan, organizationProfile, memberProfile,
// gatedPage. Gated documents: article, doc, report (Stytch organization ids), gatedPage (Descope tenant ids).
import {accessRule} from './accessRule.js'
import {plan} from './plan.js'
import {article} from './article.js'
import {doc} from './doc.js'
import {report} from './report.js'
import {accessRole} from './accessRole.js'
import {accessPlan} from './accessPlan.js'
import {organizationProfile} from './organizationProfile.js'
import {memberProfile} from './memberProfile.js'
import {gatedPage} from './gatedPage.js'

export const schemaTypes = [
  accessRule,
  plan,
  article,
  doc,
  report,
  accessRole,
  accessPlan,
  organizationProfile,
  memberProfile,
  gatedPage,
]

export default schemaTypes
