import {gatedDocument} from './gatedDocument.js'

export const report = gatedDocument({name: 'report', title: 'Report'})

export default report
