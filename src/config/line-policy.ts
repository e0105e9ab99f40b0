// The policy every run starts with. The gateway, the sweep, the CLI and the worker all start
// runs, and the policy passed on signal-with-start becomes the run's: one function builds it.
import { fleetWorkflowId } from '../domain/naming.js';
import type { LinePolicy } from '../workflows/input.js';
import type { Config } from './load.js';

export function linePolicyFromConfig(config: Config): LinePolicy {
  const { policies } = config.factory;
  return {
    timeouts: { ...policies.timeouts },
    maxRedispatch: policies.maxRedispatch,
    budgetUsd: policies.budgetUsd,
    fleetWorkflowId: fleetWorkflowId(config.taskQueue),
    continueAsNewAfterEvents: 5_000,
    retry: { initialInterval: '1s', maximumAttempts: 8 },
    payloadLimit: policies.payloadLimit,
    localActivities: config.temporal.worker.localActivities,
    endings: {
      retryLaterRuns: policies.retryLater.runs,
      retryBackoff: policies.retryLater.backoff,
      readyLabel: policies.readyLabel,
      blockedLabel: policies.blockedLabel,
      maxStalls: 2,
      mergeRetries: policies.mergeRetries.attempts,
      mergeRetryBackoff: policies.mergeRetries.backoff,
    },
  };
}
