// Shared by the tests that use the real `sanity` package: the project's Sanity emulator as the
// Content Lake (emulators/sanity/server.js, a real HTTP server answering the doc and query APIs
// that validateDocument calls for reference existence and slug uniqueness), and the Studio
// workspace resolved from sanity.config.js exactly as the Sanity CLI does it
// (@sanity/cli-core getStudioWorkspaces: resolveConfig with a fixed auth state).

import {spawn} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const STUDIO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..')
export const REPO_DIR = join(STUDIO_DIR, '..')
export const PROJECT_ID = 'gatehouse-local'
export const DATASET = 'studio-test'
export const TOKEN = 'sk-local-write'

/** fixtures/validation-samples.json: {kind: [{value, valid, note}]}. */
export function loadSamples() {
  return JSON.parse(readFileSync(join(REPO_DIR, 'fixtures', 'validation-samples.json'), 'utf8'))
}

/** Starts the Sanity emulator on a free port; `{url, stop}`. */
export async function startEmulator() {
  const dir = join(REPO_DIR, 'emulators', 'sanity')
  if (!existsSync(join(dir, 'node_modules', 'groq-js'))) {
    throw new Error('emulators/sanity has no node_modules: run scripts/bootstrap.sh (or npm ci in emulators/sanity)')
  }
  const child = spawn(process.execPath, [join(dir, 'server.js')], {
    env: {...process.env, SANITY_EMULATOR_PORT: '0', SANITY_PROJECT_ID: PROJECT_ID, SANITY_TOKENS: TOKEN},
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = await new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m) resolve(m[1])
    })
    child.once('exit', (code) => reject(new Error(`sanity emulator exited with ${code} before listening: ${out}`)))
  })
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve()
      child.once('exit', resolve)
      child.kill('SIGTERM')
    })
  return {url, stop}
}

/**
 * The workspace of sanity.config.js, its client pointed at the emulator. Sets the two
 * SANITY_STUDIO_* variables the config requires before importing it.
 */
export async function studioWorkspace(emulatorUrl) {
  process.env.SANITY_STUDIO_PROJECT_ID = PROJECT_ID
  process.env.SANITY_STUDIO_DATASET = DATASET
  const {resolveConfig} = await import('sanity')
  const {createClient} = await import('@sanity/client')
  const {firstValueFrom, of} = await import('rxjs')
  const config = (await import('../sanity.config.js')).default
  const client = createClient({
    apiHost: emulatorUrl,
    useProjectHostname: false,
    projectId: PROJECT_ID,
    dataset: DATASET,
    apiVersion: '2025-02-19',
    token: TOKEN,
    useCdn: false,
  })
  const workspaces = await firstValueFrom(resolveConfig([{...config, auth: {state: of({authenticated: true, client, currentUser: null})}}]))
  if (workspaces.length !== 1) throw new Error(`expected one workspace, got ${workspaces.length}`)
  return {workspace: workspaces[0], client, config}
}

/** Sanity's validateDocument as the Studio runs it while an editor edits (environment "studio"). */
export async function validate(workspace, document) {
  const {validateDocument} = await import('sanity')
  return validateDocument({document, workspace, environment: 'studio'})
}

export const errorsOf = (markers) => markers.filter((m) => m.level === 'error')
/** Markers whose path starts with the field `name`. */
export const at = (markers, name) => markers.filter((m) => m.path[0] === name)
