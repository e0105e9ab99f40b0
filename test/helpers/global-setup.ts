// Once per test run: one real Temporal dev server on free ports, and the workflow code
// bundled once. Tests reach both through vitest's provide/inject.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../../src/config/load.js';
import { ensureTemporalCli } from '../../src/temporal/cli-binary.js';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { QUIET_BUNDLER_LOGGER, WORKFLOWS_PATH } from '../../src/workers/workflow-bundle.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalNamespace: string;
    temporalCli: string;
    workflowBundlePath: string;
    /** The dev server's Web UI (test/webui opens it in a browser). */
    temporalUiUrl: string;
  }
}

let server: DevServer | undefined;
let workDir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  const cli = ensureTemporalCli();
  const config = loadConfig({ profile: 'sandbox' });
  workDir = mkdtempSync(join(tmpdir(), 'conveyor-test-'));
  const [started, bundle] = await Promise.all([
    // With its Web UI on a free port, as an operator's server has one: the browser test opens it.
    startDevServer({ cli, uiPort: 0, searchAttributes: config.temporal.searchAttributes }),
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: QUIET_BUNDLER_LOGGER }),
  ]);
  server = started;
  const bundlePath = join(workDir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  project.provide('temporalAddress', server.address);
  project.provide('temporalNamespace', server.namespace);
  project.provide('temporalCli', cli);
  project.provide('workflowBundlePath', bundlePath);
  project.provide('temporalUiUrl', server.uiUrl!);
}

export async function teardown(): Promise<void> {
  await server?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}
