// The Sanity CLI on this Studio: `sanity schema validate` and `sanity build`, offline (in a network
// namespace without interfaces when `unshare -n` works here, as root does). Time and peak memory are
// printed, never asserted. `sanity build` (~45-70 s, ~1.8 GB) runs by default; STUDIO_SKIP_BUILD=1
// skips it. `sanity schema validate` (~25 s, ~1.5 GB) runs only with STUDIO_CLI_VALIDATE=1: its
// worker judges workspace.schema._validation from resolveConfig, which test/studio.test.js already
// asserts in-process (@sanity/cli actions/schema/validateSchema.worker.js).

import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {DATASET, PROJECT_ID, STUDIO_DIR} from './helpers.js'

const SANITY = join(STUDIO_DIR, 'node_modules', 'sanity', 'bin', 'sanity')
const SKIP_BUILD = process.env.STUDIO_SKIP_BUILD === '1' && 'STUDIO_SKIP_BUILD=1'
const SKIP_CLI_VALIDATE = process.env.STUDIO_CLI_VALIDATE !== '1' && 'set STUDIO_CLI_VALIDATE=1 to run it'
const offline = spawnSync('unshare', ['-n', 'true']).status === 0
const timed = existsSync('/usr/bin/time')

/** Runs the sanity CLI; `{status, out, seconds, peakMb}`. */
function sanity(args, env) {
  const cmd = [process.execPath, SANITY, ...args]
  const wrapped = [...(timed ? ['/usr/bin/time', '-f', '@@peak_kb=%M'] : []), ...(offline ? ['unshare', '-n'] : []), ...cmd]
  const t0 = process.hrtime.bigint()
  const r = spawnSync(wrapped[0], wrapped.slice(1), {
    cwd: STUDIO_DIR,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    // No telemetry; a CI terminal without colours.
    env: {PATH: process.env.PATH, HOME: process.env.HOME, DO_NOT_TRACK: '1', NO_COLOR: '1', CI: '1', ...env},
  })
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const out = `${r.stdout}${r.stderr}`
  const peak = /@@peak_kb=(\d+)/.exec(out)
  return {status: r.status, out: out.replace(/@@peak_kb=\d+\n?/, ''), seconds, peakMb: peak ? Math.round(Number(peak[1]) / 1024) : null}
}

const ENV = {SANITY_STUDIO_PROJECT_ID: PROJECT_ID, SANITY_STUDIO_DATASET: DATASET}
const report = (what, r) =>
  console.log(`${what}: ${r.seconds.toFixed(1)} s, peak ${r.peakMb ?? 'n/a'} MB${offline ? ', offline (unshare -n)' : ', network not isolated'}`)

test('sanity build without SANITY_STUDIO_PROJECT_ID / SANITY_STUDIO_DATASET stops with the clear message', () => {
  const out = mkdtempSync(join(tmpdir(), 'studio-noenv-'))
  try {
    const r = sanity(['build', join(out, 'dist'), '--yes'], {})
    assert.notEqual(r.status, 0, r.out)
    assert.match(r.out, /SANITY_STUDIO_PROJECT_ID is not set/)
    assert.match(r.out, /SANITY_STUDIO_DATASET is not set/)
    assert.equal(existsSync(join(out, 'dist')), false, 'nothing built')
  } finally {
    rmSync(out, {recursive: true, force: true})
  }
})

test('sanity schema validate: 0 errors, 0 warnings', {skip: SKIP_CLI_VALIDATE}, () => {
  const r = sanity(['schema', 'validate', '--format', 'json', '--level', 'warning'], ENV)
  report('sanity schema validate', r)
  assert.equal(r.status, 0, r.out)
  const json = r.out.slice(r.out.indexOf('['), r.out.lastIndexOf(']') + 1)
  const groups = JSON.parse(json)
  const problems = groups.flatMap((g) => g.problems)
  console.log(`sanity schema validate: ${problems.filter((p) => p.severity === 'error').length} errors, ${problems.filter((p) => p.severity === 'warning').length} warnings`)
  assert.deepEqual(groups, [])
})

test('sanity build succeeds and bundles the schema, the project id and the dataset', {skip: SKIP_BUILD}, () => {
  const out = mkdtempSync(join(tmpdir(), 'studio-build-'))
  try {
    const dist = join(out, 'dist')
    const r = sanity(['build', dist, '--yes'], ENV)
    report('sanity build', r)
    assert.equal(r.status, 0, r.out)
    assert.match(readFileSync(join(dist, 'index.html'), 'utf8'), /<div id="sanity"/)
    const js = readdirSync(join(dist, 'static')).filter((f) => f.endsWith('.js'))
    const bundle = js.map((f) => readFileSync(join(dist, 'static', f), 'utf8')).join('\n')
    for (const needle of ['gatedPage', 'organizationProfile', 'Access (Descope)', PROJECT_ID, DATASET]) {
      assert.ok(bundle.includes(needle), `the bundle lacks ${needle}`)
    }
    // The dataset and project id were baked in: the browser never sees process.env.
    assert.ok(!bundle.includes('process.env.SANITY_STUDIO_PROJECT_ID'))
  } finally {
    rmSync(out, {recursive: true, force: true})
  }
})
