// Workflow code is bundled once: at start-up from source in development, or prebuilt by
// `npm run build` (dist/workflow-bundle.js) for production hosts.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

const sourceEntry = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
const compiledEntry = fileURLToPath(new URL('../workflows/index.js', import.meta.url));

/** The workflow entry point the bundler starts from (all workflow types are exported there). */
export const WORKFLOWS_PATH = existsSync(sourceEntry) ? sourceEntry : compiledEntry;

export const PREBUILT_BUNDLE = fileURLToPath(new URL('../../dist/workflow-bundle.js', import.meta.url));

export async function loadWorkflowBundle(log: (line: string) => void): Promise<{ codePath: string } | WorkflowBundleWithSourceMap> {
  if (existsSync(PREBUILT_BUNDLE) && !existsSync(sourceEntry)) return { codePath: PREBUILT_BUNDLE };
  const started = Date.now();
  const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: QUIET_BUNDLER_LOGGER });
  log(`bundled workflow code in ${Date.now() - started} ms`);
  return bundle;
}

/** The bundler's logger: webpack's progress is noise; warnings and errors are not. */
export const QUIET_BUNDLER_LOGGER = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};
