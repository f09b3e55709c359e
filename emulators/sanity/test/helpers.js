'use strict'

const {spawn} = require('node:child_process')
const http = require('node:http')
const path = require('node:path')

const SERVER = path.join(__dirname, '..', 'server.js')
const TOKEN = 'sk-local-write'
const V = '/v2025-02-19'

/** Starts the emulator as a child process on a random free port. */
function startEmulator(env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER], {
      env: {...process.env, SANITY_EMULATOR_PORT: '0', SANITY_EMULATOR_HOST: '127.0.0.1', ...env},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`emulator did not start: ${out} ${err}`))
    }, 10000)
    child.stderr.on('data', (d) => (err += d))
    child.stdout.on('data', (d) => {
      out += d
      const m = /sanity emulator listening on (http:\/\/\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        const base = m[1]
        resolve({
          base,
          child,
          stderr: () => err,
          stop: () =>
            new Promise((res) => {
              if (child.exitCode !== null) return res(child.exitCode)
              child.once('exit', (code) => res(code))
              child.kill('SIGTERM')
            }),
        })
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`emulator exited with ${code}: ${err}`))
    })
  })
}

/** fetch wrapper returning {status, body (parsed JSON or text), headers}. */
async function request(base, method, p, {body, token = TOKEN, headers = {}} = {}) {
  const h = {...headers}
  if (token) h.authorization = `Bearer ${token}`
  let payload
  if (body !== undefined) {
    h['content-type'] = 'application/json'
    payload = typeof body === 'string' ? body : JSON.stringify(body)
  }
  const res = await fetch(base + p, {method, headers: h, body: payload})
  const text = await res.text()
  let parsed
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = text
  }
  return {status: res.status, body: parsed, headers: res.headers}
}

function queryPath(dataset, query, params = {}, extra = {}) {
  const qs = new URLSearchParams({query})
  for (const [k, v] of Object.entries(params)) qs.append(`$${k}`, JSON.stringify(v))
  for (const [k, v] of Object.entries(extra)) qs.append(k, v)
  return `${V}/data/query/${dataset}?${qs}`
}

function mutate(base, dataset, mutations, {query = 'returnIds=true&returnDocuments=true&visibility=sync', token} = {}) {
  return request(base, 'POST', `${V}/data/mutate/${dataset}?${query}`, {body: {mutations}, token})
}

/**
 * A local webhook receiver. `respond(req, count)` may return {status, body} or
 * {hang_ms}; default 200.
 */
function startReceiver(respond = () => ({status: 200, body: '{"ok":true}'})) {
  const received = []
  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', async () => {
      const entry = {method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now()}
      received.push(entry)
      const r = (await respond(entry, received.length)) || {}
      if (r.hang_ms) await new Promise((ok) => setTimeout(ok, r.hang_ms))
      if (res.destroyed) return
      res.writeHead(r.status || 200, {'content-type': 'application/json'})
      res.end(r.body ?? '{"ok":true}')
    })
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address()
      resolve({
        url: (p = '/hook') => `http://127.0.0.1:${port}${p}`,
        received,
        close: () => new Promise((ok) => {
          server.closeAllConnections()
          server.close(() => ok())
        }),
      })
    })
  })
}

module.exports = {startEmulator, request, queryPath, mutate, startReceiver, TOKEN, V}
