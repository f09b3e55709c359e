// Which Sanity project and dataset the Studio edits, from SANITY_STUDIO_PROJECT_ID and
// SANITY_STUDIO_DATASET. sanity.cli.js (read by `sanity dev`, `sanity build`, `sanity schema
// validate` in Node) and sanity.config.js (bundled into the browser, where Vite replaces each
// `process.env.SANITY_STUDIO_*` literal with its build-time value) both go through studioEnv, so a
// missing or malformed value stops the command with this message instead of a Studio that cannot
// reach its dataset.

// Sanity's own rules: project ids are a-z, 0-9 and "-"; dataset names lowercase letters, digits,
// "_" and "-", starting with a letter or digit, at most 64 characters.
const PROJECT_ID_RE = /^[a-z0-9-]{1,64}$/
const DATASET_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/

export const USAGE =
  'Set them to your Sanity project (sanity.io/manage → project → ID) and dataset, e.g.\n' +
  '  SANITY_STUDIO_PROJECT_ID=abc123xy SANITY_STUDIO_DATASET=production npx sanity dev\n' +
  '(or put both lines in studio/.env; see studio/README.md)'

/** `{projectId, dataset}`, or throws an Error naming what is missing or malformed. */
export function studioEnv(env) {
  const projectId = env.SANITY_STUDIO_PROJECT_ID
  const dataset = env.SANITY_STUDIO_DATASET
  const problems = []
  if (!projectId) problems.push('SANITY_STUDIO_PROJECT_ID is not set')
  else if (!PROJECT_ID_RE.test(projectId)) problems.push(`SANITY_STUDIO_PROJECT_ID "${projectId}" is not a Sanity project id (a-z, 0-9, "-")`)
  if (!dataset) problems.push('SANITY_STUDIO_DATASET is not set')
  else if (!DATASET_RE.test(dataset)) {
    problems.push(`SANITY_STUDIO_DATASET "${dataset}" is not a dataset name (lowercase letters, digits, "_", "-"; at most 64)`)
  }
  if (problems.length) throw new Error(`gatehouse Studio: ${problems.join('; ')}.\n${USAGE}`)
  return {projectId, dataset}
}
