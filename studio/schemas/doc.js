import {gatedDocument} from './gatedDocument.js'

export const doc = gatedDocument({name: 'doc', title: 'Doc'})

export default doc
