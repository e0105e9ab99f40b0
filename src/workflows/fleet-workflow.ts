// The fleet: one long-lived entity per task queue that owns agent slots and name leases.
// Every dispatch passes through it, so a non-determinism error here would stop all work:
// keep it small, change it only behind patched(), and replay-test it in CI. Nothing that fails
// outside it (an activity, a signal, a malformed input) may end it: each is caught, recorded in
// the state for operators, and tried again on the next tick.
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { FleetActivities } from './activity-types.js';
import { FleetLedger, asLeaseRequest, fleetStateFromInput } from './fleet-ledger.js';
import type { FleetInput } from './input.js';
import {
  FLEET_MEMO_KEY,
  claimLeaseUpdate,
  configureFleetSignal,
  fleetStateQuery,
  leaseGrantedSignal,
  pauseFleetSignal,
  releaseLeaseSignal,
  requestLeaseSignal,
} from './messages.js';

// Short and few: a failing check is recorded and retried on the next tick, never waited out.
const { findClosedHolders, listLeaseHolders } = proxyActivities<FleetActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 2, initialInterval: '1s' },
});

const CONTINUE_AS_NEW_AFTER_EVENTS = 5_000;

export async function fleetWorkflow(input: FleetInput): Promise<void> {
  const ledger = new FleetLedger(fleetStateFromInput(input, Date.now()));
  // Grants that must be (re)sent: a replayed request for a held lease gets its grant again.
  const outbox: Array<{ holderId: string; requestId: string; agentName: string }> = [];
  let dirty = true;
  const publishMemo = () => upsertMemo({ [FLEET_MEMO_KEY]: ledger.memo() });

  setHandler(requestLeaseSignal, (req) => {
    const held = ledger.request(req, Date.now());
    if (held) outbox.push({ holderId: held.holderId, requestId: held.requestId, agentName: held.agentName });
    dirty = true;
  });
  // The same request as the signal's, answered in this task: the grant when one is free now
  // (it travels back in the update's result, not as a signal), else queued. Other grants this
  // makes possible go out as signals, as the loop's would. A malformed request is rejected by
  // the validator, before it reaches history; nothing in here throws.
  setHandler(
    claimLeaseUpdate,
    (req) => {
      const now = Date.now();
      const held = ledger.request(req, now);
      dirty = true;
      if (held) return { granted: { requestId: held.requestId, agentName: held.agentName } };
      let mine: { requestId: string; agentName: string } | null = null;
      for (const grant of ledger.grantAvailable(now)) {
        if (grant.requestId === req.requestId) mine = { requestId: grant.requestId, agentName: grant.agentName };
        else outbox.push(grant);
      }
      return mine ? { granted: mine } : { queued: true };
    },
    {
      validator: (req) => {
        if (!asLeaseRequest(req)) throw ApplicationFailure.nonRetryable('a lease claim needs requestId, holderId, holderRunId, repo, priority and queuedAt', 'invalid-lease-request');
      },
    },
  );
  setHandler(releaseLeaseSignal, (rel) => {
    ledger.release(rel, Date.now());
    dirty = true;
  });
  setHandler(configureFleetSignal, (config) => {
    if (ledger.configure(config, Date.now())) publishMemo();
    dirty = true;
  });
  setHandler(pauseFleetSignal, (pause) => {
    ledger.setPaused(pause, Date.now());
    dirty = true;
  });
  setHandler(fleetStateQuery, () => ledger.state);
  publishMemo();

  /** A fresh or revived fleet first learns the leases the dispatched runs hold; after that,
   * the periodic check returns leases of runs that are closed or too old. */
  async function checkHolders(): Promise<void> {
    try {
      if (ledger.state.rebuiltAt === null) {
        const asked = ledger.rebuild(await listLeaseHolders(), Date.now());
        outbox.push(...asked.map((l) => ({ holderId: l.holderId, requestId: l.requestId, agentName: l.agentName })));
      } else {
        ledger.reclaimExpired(Date.now());
        const holders = ledger.holdersToCheck(Date.now());
        if (holders.length > 0) ledger.reclaimClosed(await findClosedHolders({ holders }), Date.now());
      }
      ledger.checkSucceeded(Date.now());
    } catch (err) {
      ledger.checkFailed(failureMessage(err), Date.now());
    }
  }

  // The check runs beside the loop, so grants and releases never wait for visibility.
  let check: Promise<void> | null = null;
  let nextCheck = ledger.state.rebuiltAt === null ? Date.now() : Date.now() + ledger.holderCheckIntervalMs();
  for (;;) {
    if (check) await condition(() => dirty);
    else await condition(() => dirty, Math.max(0, nextCheck - Date.now()));
    dirty = false;

    outbox.push(...ledger.grantAvailable(Date.now()));
    await Promise.all(outbox.splice(0).map(sendGrant));

    if (!check && Date.now() >= nextCheck) {
      check = checkHolders().then(() => {
        check = null;
        nextCheck = Date.now() + ledger.holderCheckIntervalMs();
        dirty = true;
      });
    }

    const info = workflowInfo();
    if (!dirty && !check && (info.continueAsNewSuggested || info.historyLength > CONTINUE_AS_NEW_AFTER_EVENTS)) {
      await condition(allHandlersFinished);
      // Pending requests and idempotency keys travel in the state.
      await continueAsNew<typeof fleetWorkflow>({ capacity: ledger.state.capacity, fingerprint: ledger.state.fingerprint, state: ledger.state });
    }
  }

  /** To the holder's latest run: a run that did not ask for it returns it. */
  async function sendGrant(grant: { holderId: string; requestId: string; agentName: string }): Promise<void> {
    try {
      await getExternalWorkflowHandle(grant.holderId).signal(leaseGrantedSignal, { requestId: grant.requestId, agentName: grant.agentName });
    } catch (err) {
      // No run of the holder is open: its lease returns to the pool now.
      ledger.release({ requestId: grant.requestId, holderId: grant.holderId }, Date.now());
      ledger.addNote(`grant of ${grant.agentName} to ${grant.holderId} failed (${failureMessage(err)}): lease returned`, Date.now());
      dirty = true;
    }
  }
}

/** The innermost message: an ActivityFailure says only "Activity task failed". */
function failureMessage(err: unknown): string {
  let current: unknown = err;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}
