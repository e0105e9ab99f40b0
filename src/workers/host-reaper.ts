// The reaper of this host, as the worker runs it: once before the worker polls (what a killed
// predecessor left behind is gone before new work arrives) and then every
// `policies.reapInterval`. In-process rather than a Temporal Schedule: agent processes and
// worktrees live on the host, and a scheduled activity would run on whichever worker of the
// task queue took it, not on every host.
import { resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import { durationMs } from '../domain/duration.js';
import type { Workspaces } from '../integrations/agent.js';
import { createReaper, startReaper } from '../integrations/reaper.js';
import { temporalOwners } from '../temporal/agent-owners.js';

export function startHostReaper(options: { config: Config; client: Client; workspaces: Workspaces; logger: Logger }): { first: Promise<void>; stop(maxWaitMs?: number): Promise<void> } {
  const { config, logger } = options;
  const reaper = createReaper({
    root: resolve(config.root, config.factory.workspaceDir),
    workspaces: options.workspaces,
    ...temporalOwners(options.client),
    logger,
  });
  return startReaper(
    {
      reapOnce: async () => {
        const report = await reaper.reapOnce();
        if (report.killed.length + report.removedWorktrees.length + report.deletedBranches.length > 0) logger.info({ killed: report.killed.length, removedWorktrees: report.removedWorktrees.length, deletedBranches: report.deletedBranches.length }, 'reaper pass');
        return report;
      },
    },
    durationMs(config.factory.policies.reapInterval),
    (error) => logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'reaper pass failed; trying again at the next interval'),
  );
}
