// The fleet: one long-lived entity per task queue that owns agent slots and name leases.
// Every dispatch passes through it, so a non-determinism error here would stop all work:
// keep it small, change it only behind patched(), and replay-test it in CI.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { durationMs } from '../domain/duration.js';
import type { FleetActivities } from './activity-types.js';
import { FleetLedger, initialFleetState } from './fleet-ledger.js';
import type { FleetInput } from './input.js';
import {
  configureFleetSignal,
  fleetStateQuery,
  leaseGrantedSignal,
  pauseFleetSignal,
  releaseLeaseSignal,
  requestLeaseSignal,
} from './messages.js';

const { findClosedWorkflows } = proxyActivities<FleetActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 3, initialInterval: '1s' },
});

const CONTINUE_AS_NEW_AFTER_EVENTS = 5_000;

export async function fleetWorkflow(input: FleetInput): Promise<void> {
  const ledger = new FleetLedger(input.state ?? initialFleetState(input.capacity));
  // Grants that must be (re)sent: a replayed request for a held lease gets its grant again.
  const outbox: Array<{ holderId: string; requestId: string; agentName: string }> = [];
  let dirty = true;

  setHandler(requestLeaseSignal, (req) => {
    const held = ledger.request(req);
    if (held) outbox.push({ holderId: held.holderId, requestId: held.requestId, agentName: held.agentName });
    dirty = true;
  });
  setHandler(releaseLeaseSignal, (rel) => {
    ledger.release(rel);
    dirty = true;
  });
  setHandler(configureFleetSignal, (capacity) => {
    ledger.configure(capacity);
    dirty = true;
  });
  setHandler(pauseFleetSignal, ({ paused }) => {
    ledger.setPaused(paused);
    dirty = true;
  });
  setHandler(fleetStateQuery, () => ledger.state);

  let nextHolderCheck = Date.now() + durationMs(ledger.state.capacity.holderCheckInterval);
  for (;;) {
    const untilCheck = Math.max(0, nextHolderCheck - Date.now());
    await condition(() => dirty, untilCheck);
    dirty = false;

    outbox.push(...ledger.grantAvailable(Date.now()));
    while (outbox.length > 0) {
      const grant = outbox.shift()!;
      try {
        await getExternalWorkflowHandle(grant.holderId).signal(leaseGrantedSignal, { requestId: grant.requestId, agentName: grant.agentName });
      } catch {
        // The holder is gone (closed or never existed): its lease returns to the pool now.
        ledger.release({ requestId: grant.requestId, holderId: grant.holderId });
        dirty = true;
      }
    }

    if (Date.now() >= nextHolderCheck) {
      const holders = ledger.holderIds();
      if (holders.length > 0) {
        const closed = await findClosedWorkflows({ workflowIds: holders });
        if (ledger.reclaim(closed) > 0) dirty = true;
      }
      nextHolderCheck = Date.now() + durationMs(ledger.state.capacity.holderCheckInterval);
    }

    const info = workflowInfo();
    if (!dirty && (info.continueAsNewSuggested || info.historyLength > CONTINUE_AS_NEW_AFTER_EVENTS)) {
      await condition(allHandlersFinished);
      // Pending requests and idempotency keys travel in the state.
      await continueAsNew<typeof fleetWorkflow>({ capacity: ledger.state.capacity, state: ledger.state });
    }
  }
}
