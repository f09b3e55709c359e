'use strict'

const {parse, evaluate} = require('groq-js')
const {applyPatch, PatchError, isPlainObject} = require('./patch')
const {randomId, isoNow, clone} = require('./util')

const ID_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/

/** A mutation failure; becomes a Sanity `mutationError` body. */
class MutationError extends Error {
  constructor(status, description, item) {
    super(description)
    this.status = status
    this.description = description
    this.item = item // {index, error: {description, type, ...}}
  }
}

function isDraftOrVersion(id) {
  return id.startsWith('drafts.') || id.startsWith('versions.')
}

function publishedId(id) {
  if (id.startsWith('drafts.')) return id.slice('drafts.'.length)
  if (id.startsWith('versions.')) return id.split('.').slice(2).join('.')
  return id
}

class Store {
  constructor() {
    /** @type {Map<string, Map<string, object>>} */
    this.datasets = new Map()
  }

  dataset(name) {
    let ds = this.datasets.get(name)
    if (!ds) {
      ds = new Map()
      this.datasets.set(name, ds)
    }
    return ds
  }

  reset() {
    this.datasets.clear()
  }

  /** Documents visible under a perspective: published | drafts | raw. */
  view(name, perspective) {
    const docs = [...this.dataset(name).values()]
    if (perspective === 'raw') return docs
    if (perspective === 'published') return docs.filter((d) => !isDraftOrVersion(d._id))
    // drafts: drafts overlay their published document, keeping its position.
    const out = new Map()
    for (const d of docs) {
      if (d._id.startsWith('versions.')) continue
      if (d._id.startsWith('drafts.')) continue
      out.set(d._id, d)
    }
    for (const d of docs) {
      if (!d._id.startsWith('drafts.')) continue
      const pid = publishedId(d._id)
      out.set(pid, {...d, _id: pid, _originalId: d._id})
    }
    return [...out.values()]
  }

  getDocuments(name, ids) {
    const ds = this.dataset(name)
    return ids.map((id) => ds.get(id) || null)
  }

  /**
   * Runs all mutations as one transaction. Returns
   * {transactionId, timestamp, results, changes:[{id, operation, before, after}]}
   * or throws MutationError (nothing is applied then).
   */
  async mutate(name, mutations, {transactionId} = {}) {
    if (!Array.isArray(mutations)) {
      throw new MutationError(400, 'The mutation(s) failed: "mutations" must be an array', {
        index: 0,
        error: {description: '"mutations" must be an array', type: 'invalidMutationError'},
      })
    }
    const ds = this.dataset(name)
    const txId = typeof transactionId === 'string' && transactionId ? transactionId : randomId()
    const now = isoNow()
    const staged = new Map() // id -> doc | null
    const touchedOrder = []
    const read = (id) => (staged.has(id) ? staged.get(id) : ds.get(id) || null)
    const write = (id, doc) => {
      if (!touchedOrder.includes(id)) touchedOrder.push(id)
      staged.set(id, doc)
    }
    const results = []
    const snapshot = () => {
      const docs = []
      for (const [id, d] of ds) if (!staged.has(id)) docs.push(d)
      for (const d of staged.values()) if (d) docs.push(d)
      return docs
    }

    const fail = (status, index, type, description, extra = {}) => {
      throw new MutationError(status, `Mutation failed: ${description}`, {
        index,
        error: {description, type, ...extra},
      })
    }

    const prepareDoc = (index, kind, input) => {
      if (!isPlainObject(input)) fail(400, index, 'invalidMutationError', `"${kind}" requires a document object`)
      const doc = clone(input)
      if (doc._id === undefined || doc._id === null || doc._id === '' || (typeof doc._id === 'string' && doc._id.endsWith('.'))) {
        if (kind !== 'create') fail(400, index, 'invalidMutationError', `"${kind}" requires a document with an _id`)
        doc._id = `${typeof doc._id === 'string' ? doc._id : ''}${randomId()}`
      }
      if (typeof doc._id !== 'string' || !ID_RE.test(doc._id)) {
        fail(400, index, 'malformedDocumentIdError', `Malformed document ID: ${JSON.stringify(doc._id)}`, {id: doc._id})
      }
      if (typeof doc._type !== 'string' || doc._type === '') {
        fail(400, index, 'invalidDocumentError', `Document "${doc._id}" does not have a type`, {id: doc._id})
      }
      return doc
    }

    const stamp = (doc, existing) => {
      doc._rev = txId
      doc._createdAt = existing ? existing._createdAt : typeof doc._createdAt === 'string' ? doc._createdAt : now
      doc._updatedAt = now
      return doc
    }

    for (let index = 0; index < mutations.length; index++) {
      const mutation = mutations[index]
      if (!isPlainObject(mutation)) fail(400, index, 'invalidMutationError', 'Each mutation must be an object')
      const kinds = Object.keys(mutation)
      if (kinds.length !== 1) fail(400, index, 'invalidMutationError', `Mutation must have exactly one operation, got ${JSON.stringify(kinds)}`)
      const kind = kinds[0]
      const arg = mutation[kind]
      switch (kind) {
        case 'create': {
          const doc = prepareDoc(index, kind, arg)
          if (read(doc._id)) {
            fail(409, index, 'documentAlreadyExistsError', `Document by ID "${doc._id}" already exists`, {id: doc._id})
          }
          write(doc._id, stamp(doc, null))
          results.push({id: doc._id, operation: 'create'})
          break
        }
        case 'createOrReplace': {
          const doc = prepareDoc(index, kind, arg)
          const existing = read(doc._id)
          if (existing && existing._type !== doc._type) {
            fail(409, index, 'cannotModifyImmutableAttributeError', 'Cannot modify immutable attribute "_type"', {attribute: '_type', id: doc._id})
          }
          write(doc._id, stamp(doc, existing))
          results.push({id: doc._id, operation: existing ? 'update' : 'create'})
          break
        }
        case 'createIfNotExists': {
          const doc = prepareDoc(index, kind, arg)
          const existing = read(doc._id)
          if (existing) {
            results.push({id: doc._id, operation: 'none'})
          } else {
            write(doc._id, stamp(doc, null))
            results.push({id: doc._id, operation: 'create'})
          }
          break
        }
        case 'delete': {
          if (!isPlainObject(arg)) fail(400, index, 'invalidMutationError', '"delete" requires {id} or {query}')
          let ids
          if (typeof arg.id === 'string') ids = [arg.id]
          else if (typeof arg.query === 'string') ids = await this._queryIds(snapshot, arg.query, arg.params, index, fail)
          else fail(400, index, 'invalidMutationError', '"delete" requires {id} or {query}')
          for (const id of ids) {
            const existing = read(id)
            if (existing) write(id, null)
            results.push({id, operation: 'delete', _deleted: existing})
          }
          break
        }
        case 'patch': {
          if (!isPlainObject(arg)) fail(400, index, 'invalidMutationError', '"patch" requires an object')
          let ids
          if (typeof arg.id === 'string') ids = [arg.id]
          else if (typeof arg.query === 'string') ids = await this._queryIds(snapshot, arg.query, arg.params, index, fail)
          else fail(400, index, 'invalidMutationError', '"patch" requires {id} or {query}')
          for (const id of ids) {
            const existing = read(id)
            if (!existing) {
              fail(409, index, 'documentNotFoundError', `Document "${id}" not found`, {id})
            }
            if (arg.ifRevisionID !== undefined && arg.ifRevisionID !== existing._rev) {
              fail(409, index, 'documentRevisionIDDoesNotMatchError',
                `Document "${id}" has unexpected revision ID ("${existing._rev}"), expected "${arg.ifRevisionID}"`,
                {id, currentRevisionID: existing._rev, expectedRevisionID: arg.ifRevisionID})
            }
            const doc = clone(existing)
            try {
              applyPatch(doc, arg)
            } catch (err) {
              if (err instanceof PatchError) fail(400, index, err.type, err.description, {id})
              throw err
            }
            write(id, stamp(doc, existing))
            results.push({id, operation: 'update'})
          }
          break
        }
        default:
          fail(400, index, 'invalidMutationError', `Unknown mutation type "${kind}"`)
      }
    }

    // Commit: everything validated, apply atomically.
    const changes = []
    for (const id of touchedOrder) {
      const before = ds.get(id) || null
      const after = staged.get(id)
      if (after) ds.set(id, after)
      else ds.delete(id)
      if (!before && !after) continue
      const operation = !before ? 'create' : !after ? 'delete' : 'update'
      changes.push({id, operation, before, after})
    }
    const finalResults = results.map((r) => {
      const out = {id: r.id, operation: r.operation}
      out.document = r.operation === 'delete' ? r._deleted || null : staged.has(r.id) ? staged.get(r.id) : ds.get(r.id) || null
      return out
    })
    return {transactionId: txId, timestamp: now, results: finalResults, changes}
  }

  async _queryIds(snapshot, query, params, index, fail) {
    let tree
    try {
      tree = parse(query, {params: params || {}})
    } catch (err) {
      fail(400, index, 'queryParseError', `Invalid query: ${err.message}`)
    }
    const docs = snapshot()
    const result = await (await evaluate(tree, {dataset: docs, params: params || {}})).get()
    const list = Array.isArray(result) ? result : result ? [result] : []
    return list.map((d) => (d && typeof d === 'object' ? d._id : null)).filter((x) => typeof x === 'string')
  }
}

module.exports = {Store, MutationError, isDraftOrVersion, publishedId}
