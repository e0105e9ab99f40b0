// One run's context: its state, the events it has heard, and the helpers every station uses
// (notes, failures, comments posted once, continue-as-new at a wait). The handlers are set
// here, before any await, so the signal that started the run is never missed.
import {
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  patched,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { PATCHES } from '../patches.js';
import type { FailureClass } from '../../domain/failure.js';
import type { IssueRunInput, LinePolicy } from '../input.js';
import {
  forgeEventSignal,
  issueStateQuery,
  leaseGrantedSignal,
  operatorCommandSignal,
  releaseLeaseSignal,
  trackerEventSignal,
  type LeaseGrant,
  type OperatorCommand,
  type OperatorCommandName,
} from '../messages.js';
import { publishSearchAttributes } from '../search-attributes.js';
import { NO_WAITS, type IssueRunState, type Outcome, type Phase } from '../state.js';
import { lineProxies, type LineProxies } from './activities.js';
import { currentDetails } from './details.js';
import { applyHoldCommand } from './hold.js';
import { failureClassOf, messageOf } from './failures.js';

const DELIVERIES_KEPT = 200;
const HISTORY_NOTES_KEPT = 50;

/** How a run (or a station) ended. */
export interface Ending {
  outcome: Outcome;
  reason: string;
}

/** The commands a wait answers (`accept`); abort, hold and release mean something in every phase. */
export type WaitCommand = Exclude<OperatorCommandName, 'abort' | 'hold' | 'release'>;

/** Thrown at a wait once history grows: the run continues as new with its state. */
export class ContinueAsNewRequested extends Error {}

export interface Run {
  readonly input: IssueRunInput;
  readonly policy: LinePolicy;
  readonly workflowId: string;
  readonly state: IssueRunState;
  readonly acts: LineProxies;
  /** Cancelled by `/conveyor abort`; made before the handlers so an abort in the start signal counts. */
  readonly scope: CancellationScope;
  /** Events since this run (or continuation) began; waits compare against them. */
  readonly heard: { tracker: number; forge: number };
  grant: LeaseGrant | null;
  /** When the attempt holding the current lease asked for it: the agent's input carries it to the lease-wait metric. */
  leaseQueuedAt: number | null;
  abortBy: string | null;
  /**
   * Whether this run takes the endings-final path (PATCHES.endingsFinal), decided once at its
   * start: a run started on older code keeps the older behaviour for the rest of its life, so
   * its history replays and it never mixes the two.
   */
  readonly endingsFinal: boolean;
  /** Whether each new head gets its own review window (PATCHES.reviewWindowPerHead), decided once at start. */
  readonly reviewWindowPerHead: boolean;
  /** Whether worktree steps go to the agent's host (PATCHES.hostAffinity), decided once at start. */
  readonly hostAffinity: boolean;
  /** Whether triage and the first lease claim run inside the run's workflow task (PATCHES.dispatchInOneTask), decided once at start. */
  readonly dispatchInOneTask: boolean;
  /** Whether the run started on code with PATCHES.escalateInOneTask: it takes every earlier patch
   * without asking for each (dispatch's own included), decided once at start. */
  readonly current: boolean;
  /** Whether triage's escalation comment is posted by a local activity in the run's workflow task. */
  readonly escalateInOneTask: boolean;
  note(phase: Phase, text: string): void;
  remember(phase: Phase, text: string): void;
  recordFailure(err: unknown): FailureClass;
  /** Post a comment on the issue unless this run chain already posted one under `marker`; `local`
   * posts it from the run's workflow task (a local activity). */
  commentOnce(marker: string, body: string, options?: { local?: boolean }): Promise<void>;
  /** The first operator command waiting, removed from the queue. */
  takeCommand(): OperatorCommand | undefined;
  /**
   * The operator commands the current wait answers to, each with what accepting it does (said in
   * the reply comment); null: none. Any other command is refused with a reply, never kept for a
   * later phase. Setting it drops commands queued for the previous wait.
   */
  accept(commands: Partial<Record<WaitCommand, string>> | null): void;
  /**
   * Wait until `ready()` or `deadlineAt`. Every wait is also a continue-as-new point: when
   * history has grown (redeliveries, nudges) the run continues as new with its state, deadline
   * included, even if nothing it waits for happened. True when ready, false at the deadline.
   */
  waitUntil(ready: () => boolean, deadlineAt: number): Promise<boolean>;
}

export function freshState(input: IssueRunInput): IssueRunState {
  return {
    issueId: input.issueId,
    issueKey: input.issueKey ?? null,
    phase: 'triage',
    station: 'triage',
    outcome: null,
    reason: null,
    failureClass: null,
    issue: null,
    routing: null,
    branch: null,
    pr: null,
    attempts: 0,
    redispatches: 0,
    costUsd: 0,
    agentName: null,
    leaseRequestId: null,
    leaseGranted: false,
    feedback: null,
    waits: { ...NO_WAITS },
    posted: [],
    operatorQueue: [],
    seenDeliveries: [],
    history: [],
  };
}

export function startRun(input: IssueRunInput): Run {
  const state = input.resume ?? freshState(input);
  // A fresh run starts in triage, which answers a retry (a blocked issue started by
  // `/conveyor retry`) and an approve (a thin issue); a continuation re-opens its own wait.
  let accepting: Partial<Record<WaitCommand, string>> | null = input.resume ? null : { retry: 'the issue is triaged again', approve: 'the issue is dispatched as it is if triage finds it thin' };
  let lastNote = '';
  // One marker for every change so far; a run started before it asks for each, as it did then.
  // `||` matters: a run with the new marker must not record the old ones too.
  const current = patched(PATCHES.escalateInOneTask);
  // The input says whether this run's workflow workers run the line's activities (they must, to
  // run them locally); patched() is asked either way, so the decision is the same on replay.
  const local = input.policy.localActivities !== false;
  const run: Run = {
    input,
    policy: input.policy,
    workflowId: workflowInfo().workflowId,
    state,
    acts: lineProxies(input.policy),
    scope: new CancellationScope(),
    heard: { tracker: 0, forge: 0 },
    grant: null,
    leaseQueuedAt: null,
    abortBy: null,
    current,
    endingsFinal: current || patched(PATCHES.endingsFinal),
    reviewWindowPerHead: current || patched(PATCHES.reviewWindowPerHead),
    hostAffinity: current || patched(PATCHES.hostAffinity),
    dispatchInOneTask: (current || patched(PATCHES.dispatchInOneTask)) && local,
    escalateInOneTask: current && local,
    note(phase, text) {
      state.phase = phase;
      run.remember(phase, text);
      publishSearchAttributes(state);
      lastNote = text;
      setCurrentDetails(currentDetails(state, text));
    },
    remember(phase, text) {
      // The last notes serve the state query; the full story is the run's history.
      state.history.push({ at: new Date(Date.now()).toISOString(), phase, note: text });
      if (state.history.length > HISTORY_NOTES_KEPT) state.history.splice(0, state.history.length - HISTORY_NOTES_KEPT);
    },
    recordFailure(err) {
      const failureClass = failureClassOf(err);
      state.failureClass = failureClass;
      state.reason = messageOf(err);
      publishSearchAttributes(state);
      return failureClass;
    },
    async commentOnce(marker, body, options = {}) {
      if (state.posted.includes(marker)) return;
      // The hidden marker makes the write itself idempotent: an attempt that timed out after the
      // tracker took the comment (or a local activity run again after a lost workflow task) is
      // retried, finds it, and posts nothing.
      const comment = options.local ? run.acts.local.commentOnIssue : run.acts.tracker.commentOnIssue;
      await comment({ issueId: state.issueId, body, marker: `${workflowInfo().firstExecutionRunId}:${marker}` });
      state.posted.push(marker);
    },
    takeCommand: () => state.operatorQueue.shift(),
    accept(commands) {
      accepting = commands;
      // Commands this wait does not answer were meant for the last one: not kept for later.
      const kept = state.operatorQueue.filter((c) => commands?.[c.command as WaitCommand] !== undefined);
      state.operatorQueue.splice(0, state.operatorQueue.length, ...kept);
    },
    async waitUntil(ready, deadlineAt) {
      const historyGrown = () => {
        const info = workflowInfo();
        return info.continueAsNewSuggested || info.historyLength > run.policy.continueAsNewAfterEvents;
      };
      if (historyGrown()) throw new ContinueAsNewRequested();
      // Details, not a command: the deadlines the station just set show while it waits.
      setCurrentDetails(currentDetails(state, lastNote));
      const woke = await condition(() => ready() || historyGrown(), Math.max(0, deadlineAt - Date.now()));
      if (woke && !ready()) throw new ContinueAsNewRequested();
      return woke;
    },
  };

  /** A delivery id seen before is dropped: both services redeliver. */
  const firstTime = (deliveryId: string): boolean => {
    if (state.seenDeliveries.includes(deliveryId)) return false;
    state.seenDeliveries.push(deliveryId);
    if (state.seenDeliveries.length > DELIVERIES_KEPT) state.seenDeliveries.splice(0, state.seenDeliveries.length - DELIVERIES_KEPT);
    return true;
  };
  setHandler(trackerEventSignal, (event) => {
    if (firstTime(event.deliveryId)) run.heard.tracker += 1;
  });
  setHandler(forgeEventSignal, (event) => {
    if (firstTime(event.deliveryId)) run.heard.forge += 1;
  });
  setHandler(operatorCommandSignal, async (command) => {
    if (!firstTime(command.deliveryId)) return;
    if (command.command === 'abort') {
      run.abortBy = command.by;
      run.scope.cancel();
      return;
    }
    // A hold means something in every phase: it takes effect at the next agent start.
    if (command.command === 'hold' || command.command === 'release') {
      await answer(command, applyHoldCommand(state, command, new Date(Date.now()).toISOString()));
      return;
    }
    if (!run.endingsFinal) {
      state.operatorQueue.push(command);
      return;
    }
    // Every command gets an answer in the phase it arrives in; nothing waits for a later one.
    const effect = accepting?.[command.command as WaitCommand];
    if (effect) state.operatorQueue.push(command);
    await answer(
      command,
      effect
        ? `\`/conveyor ${command.command}\` from ${command.by}: accepted; ${effect}.`
        : `\`/conveyor ${command.command}\` from ${command.by}: refused; nothing to ${command.command} while the run is ${state.phase}. Nothing was kept for later.`,
    );
  });
  /** The run's reply to an operator command, as a comment; a reply that cannot be posted is noted, not fatal. */
  async function answer(command: OperatorCommand, reply: string): Promise<void> {
    try {
      await run.acts.tracker.commentOnIssue({ issueId: state.issueId, body: reply, marker: `reply:${command.deliveryId}` });
    } catch (err) {
      run.remember(state.phase, `could not reply to /conveyor ${command.command}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  setHandler(leaseGrantedSignal, (grant) => {
    if (grant.requestId === state.leaseRequestId) {
      run.grant = grant;
      return;
    }
    // A grant this run did not ask for (meant for an earlier run of this issue, or for an
    // attempt already given up) goes straight back, or its slot and name would leak.
    void getExternalWorkflowHandle(run.policy.fleetWorkflowId)
      .signal(releaseLeaseSignal, { requestId: grant.requestId, holderId: run.workflowId })
      .catch(() => undefined);
  });
  setHandler(issueStateQuery, () => state);
  return run;
}
