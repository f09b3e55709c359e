// gatehouse Studio schema types. In a Studio: `schema: {types: schemaTypes}` in sanity.config.ts.
import {accessRule} from './accessRule.js'
import {plan} from './plan.js'
import {article} from './article.js'
import {doc} from './doc.js'
import {report} from './report.js'

export const schemaTypes = [accessRule, plan, article, doc, report]

export default schemaTypes
