import {defineConfig} from 'sanity'
import {structureTool} from 'sanity/structure'

import {studioEnv} from './env.js'
import {schemaTypes} from './schemas/index.js'
import {structure} from './structure.js'

// Each literal is replaced by Vite at build time (process.env is not an object in the browser).
const {projectId, dataset} = studioEnv({
  SANITY_STUDIO_PROJECT_ID: process.env.SANITY_STUDIO_PROJECT_ID,
  SANITY_STUDIO_DATASET: process.env.SANITY_STUDIO_DATASET,
})

export default defineConfig({
  name: 'default',
  title: 'gatehouse',
  projectId,
  dataset,
  // Only the structure tool: no Vision, no extra plugins (studio/README.md).
  plugins: [structureTool({structure})],
  schema: {types: schemaTypes},
})
