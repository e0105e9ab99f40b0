// Part of `npm run build`: production hosts load a prebuilt workflow bundle instead of running
// webpack at every start, and the sandbox's Linear schema travels with the compiled code.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { QUIET_BUNDLER_LOGGER, WORKFLOWS_PATH } from '../src/workers/workflow-bundle.js';

const root = join(import.meta.dirname, '..');
const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: QUIET_BUNDLER_LOGGER });
writeFileSync(join(root, 'dist', 'workflow-bundle.js'), code);
mkdirSync(join(root, 'dist', 'sandbox', 'linear'), { recursive: true });
copyFileSync(join(root, 'src', 'sandbox', 'linear', 'schema.graphql'), join(root, 'dist', 'sandbox', 'linear', 'schema.graphql'));
console.log(`wrote dist/workflow-bundle.js (${Math.round(code.length / 1024)} KiB) and the Linear schema`);
