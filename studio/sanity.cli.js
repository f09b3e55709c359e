import {defineCliConfig} from 'sanity/cli'

import {studioEnv} from './env.js'

// Read by every `sanity` command run in this folder; a missing project id or dataset stops
// `sanity dev` / `sanity build` here with studioEnv's message.
const {projectId, dataset} = studioEnv(process.env)

export default defineCliConfig({
  api: {projectId, dataset},
  // Bundle the pinned sanity package (package-lock.json) instead of loading the newest 5.x from
  // Sanity's CDN at runtime: the build works offline and the tested version is the one served.
  deployment: {autoUpdates: false},
})
