import {gatedDocument} from './gatedDocument.js'

export const article = gatedDocument({name: 'article', title: 'Article'})

export default article
