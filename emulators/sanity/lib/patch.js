'use strict'

// A small subset of Sanity's patch path language:
//   key, a.b.c, arr[0], arr[-1], arr[_key=="k"], combinations thereof.

class PatchError extends Error {
  constructor(description, type = 'invalidPatchError') {
    super(description)
    this.description = description
    this.type = type
  }
}

function parsePath(path) {
  if (typeof path !== 'string' || path.length === 0) throw new PatchError(`Invalid path: ${JSON.stringify(path)}`)
  const segments = []
  const re = /([A-Za-z_$][\w$-]*)|\[\s*(-?\d+)\s*\]|\[\s*_key\s*==\s*(?:"([^"]*)"|'([^']*)')\s*\]|(\.)/gy
  let m
  let pos = 0
  while (pos < path.length) {
    re.lastIndex = pos
    m = re.exec(path)
    if (!m) throw new PatchError(`Invalid path: ${JSON.stringify(path)} (unsupported syntax at ${pos})`)
    pos = re.lastIndex
    if (m[1] !== undefined) segments.push(m[1])
    else if (m[2] !== undefined) segments.push(Number(m[2]))
    else if (m[3] !== undefined || m[4] !== undefined) segments.push({key: m[3] !== undefined ? m[3] : m[4]})
  }
  if (segments.length === 0) throw new PatchError(`Invalid path: ${JSON.stringify(path)}`)
  return segments
}

function resolveIndex(container, seg) {
  if (!Array.isArray(container)) return -1
  if (typeof seg === 'number') {
    const idx = seg < 0 ? container.length + seg : seg
    return idx >= 0 && idx < container.length ? idx : -1
  }
  return container.findIndex((item) => item && typeof item === 'object' && item._key === seg.key)
}

function getChild(container, seg) {
  if (container === null || typeof container !== 'object') return undefined
  if (typeof seg === 'string') return Array.isArray(container) ? undefined : container[seg]
  const idx = resolveIndex(container, seg)
  return idx === -1 ? undefined : container[idx]
}

/** Walks to the parent of the last segment; creates missing objects when `create`. */
function walkToParent(doc, segments, create) {
  let node = doc
  for (let i = 0; i < segments.length - 1; i++) {
    const seg = segments[i]
    let next = getChild(node, seg)
    if ((next === undefined || next === null || typeof next !== 'object') && create && typeof seg === 'string' && !Array.isArray(node)) {
      next = {}
      node[seg] = next
    }
    if (next === undefined || next === null || typeof next !== 'object') return undefined
    node = next
  }
  return node
}

function getAt(doc, path) {
  const segments = parsePath(path)
  const parent = walkToParent(doc, segments, false)
  return parent === undefined ? undefined : getChild(parent, segments[segments.length - 1])
}

function setAt(doc, path, value, {onlyIfMissing = false} = {}) {
  const segments = parsePath(path)
  const parent = walkToParent(doc, segments, true)
  if (parent === undefined) return
  const last = segments[segments.length - 1]
  if (typeof last === 'string') {
    if (Array.isArray(parent)) return
    if (onlyIfMissing && parent[last] !== undefined) return
    parent[last] = value
  } else {
    const idx = resolveIndex(parent, last)
    if (idx === -1) return
    if (onlyIfMissing && parent[idx] !== undefined) return
    parent[idx] = value
  }
}

function unsetAt(doc, path) {
  const segments = parsePath(path)
  const parent = walkToParent(doc, segments, false)
  if (parent === undefined) return
  const last = segments[segments.length - 1]
  if (typeof last === 'string') {
    if (!Array.isArray(parent)) delete parent[last]
  } else {
    const idx = resolveIndex(parent, last)
    if (idx !== -1) parent.splice(idx, 1)
  }
}

function incAt(doc, path, amount) {
  if (typeof amount !== 'number') throw new PatchError(`inc/dec amount for ${path} must be a number`)
  const current = getAt(doc, path)
  if (typeof current !== 'number') return
  setAt(doc, path, current + amount)
}

function insertAt(doc, spec) {
  const {items} = spec
  if (!Array.isArray(items)) throw new PatchError('insert requires an "items" array')
  const where = ['before', 'after', 'replace'].find((k) => typeof spec[k] === 'string')
  if (!where) throw new PatchError('insert requires one of "before", "after" or "replace"')
  const segments = parsePath(spec[where])
  const last = segments[segments.length - 1]
  if (typeof last === 'string') throw new PatchError(`insert path must select an array element: ${spec[where]}`)
  const arr = segments.length === 1 ? undefined : getAt(doc, pathFromSegments(segments.slice(0, -1)))
  if (!Array.isArray(arr)) return
  let idx
  if (typeof last === 'number') {
    idx = last < 0 ? arr.length + last : last
    if (arr.length === 0) idx = where === 'after' ? -1 : 0
  } else {
    idx = resolveIndex(arr, last)
    if (idx === -1) return
  }
  if (where === 'before') arr.splice(Math.max(idx, 0), 0, ...items)
  else if (where === 'after') arr.splice(idx + 1, 0, ...items)
  else arr.splice(idx, 1, ...items)
}

function pathFromSegments(segments) {
  let out = ''
  for (const seg of segments) {
    if (typeof seg === 'string') out += (out ? '.' : '') + seg
    else if (typeof seg === 'number') out += `[${seg}]`
    else out += `[_key==${JSON.stringify(seg.key)}]`
  }
  return out
}

const PROTECTED = new Set(['_id', '_type', '_rev', '_createdAt', '_updatedAt'])

function checkProtected(path) {
  const head = parsePath(path)[0]
  if (PROTECTED.has(head)) {
    throw new PatchError(`Cannot modify immutable attribute "${head}"`, 'cannotModifyImmutableAttributeError')
  }
}

/**
 * Applies a Sanity patch object to `doc` in place. Operation order follows the
 * Content Lake: set, setIfMissing, unset, inc, dec, insert.
 */
function applyPatch(doc, patch) {
  if (patch.set !== undefined) {
    if (!isPlainObject(patch.set)) throw new PatchError('"set" must be an object')
    for (const [path, value] of Object.entries(patch.set)) {
      checkProtected(path)
      setAt(doc, path, structuredClone(value))
    }
  }
  if (patch.setIfMissing !== undefined) {
    if (!isPlainObject(patch.setIfMissing)) throw new PatchError('"setIfMissing" must be an object')
    for (const [path, value] of Object.entries(patch.setIfMissing)) {
      checkProtected(path)
      setAt(doc, path, structuredClone(value), {onlyIfMissing: true})
    }
  }
  if (patch.unset !== undefined) {
    if (!Array.isArray(patch.unset)) throw new PatchError('"unset" must be an array of paths')
    for (const path of patch.unset) {
      checkProtected(path)
      unsetAt(doc, path)
    }
  }
  if (patch.inc !== undefined) {
    if (!isPlainObject(patch.inc)) throw new PatchError('"inc" must be an object')
    for (const [path, amount] of Object.entries(patch.inc)) incAt(doc, path, amount)
  }
  if (patch.dec !== undefined) {
    if (!isPlainObject(patch.dec)) throw new PatchError('"dec" must be an object')
    for (const [path, amount] of Object.entries(patch.dec)) incAt(doc, path, -amount)
  }
  if (patch.insert !== undefined) {
    if (!isPlainObject(patch.insert)) throw new PatchError('"insert" must be an object')
    insertAt(doc, patch.insert)
  }
  return doc
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

module.exports = {applyPatch, parsePath, getAt, setAt, unsetAt, PatchError, isPlainObject}
