// Where a dispatch's time went: from the run's history (and the fleet's, for the lease), the
// probes inside the activities and the agent's own start time, one dispatch is cut into
// consecutive segments that add up to its whole latency, ready webhook → agent process start.
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { AgentStart } from './agent-reports.js';
import type { Probes } from './probes.js';

export type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

export interface SegmentDef {
  id: string;
  label: string;
  /** Part of the segment above it; only top-level segments add up to the total. */
  sub?: boolean;
}

const wftParts = (id: string): SegmentDef[] => [
  { id: `${id}.wait`, label: 'waiting for the run’s previous task', sub: true },
  { id: `${id}.queue`, label: 'task queue (scheduled → picked up)', sub: true },
  { id: `${id}.run`, label: 'worker (picked up → completed)', sub: true },
];

/** In order; the top-level ones tile [ready webhook, agent process start]. A dispatch whose lease
 * claim was granted at once has the `task` rows; one whose claim queued (or a run on the code
 * before the one-task path) the rows from `wft.start` to `wft.agent`. */
export const SEGMENTS: readonly SegmentDef[] = [
  { id: 'ingress', label: 'ready webhook → run started (emulator, gateway, signal-with-start)' },
  { id: 'task', label: 'run started → runAgent scheduled, in the run’s workflow task (triage, ledger, lease claim as local activities)' },
  { id: 'task.queue', label: 'task queue (scheduled → picked up)', sub: true },
  { id: 'task.getIssue', label: 'tracker read (getIssue)', sub: true },
  { id: 'task.findPr', label: 'PR lookup (findPullRequest)', sub: true },
  { id: 'task.claim', label: 'triage read → lease claim answered by the fleet (update accepted)', sub: true },
  { id: 'task.claim.fleet.queue', label: '· fleet: task queue', sub: true },
  { id: 'task.claim.fleet.run', label: '· fleet: worker', sub: true },
  { id: 'task.rest', label: 'the claim answered → runAgent scheduled (the answer back, workflow code, commands)', sub: true },
  { id: 'wft.start', label: '(claim queued) run started → requestLease sent' },
  { id: 'ready', label: '(claim queued) requestLease sent → slot granted and worktree prepared (both, in parallel)' },
  { id: 'lease', label: 'lease round trip: requestLease sent → leaseGranted received', sub: true },
  { id: 'prepare', label: 'prepareWorkspace: scheduled → completed', sub: true },
  { id: 'prepare.git', label: '· git: mirror lock, fetch, worktree', sub: true },
  { id: 'wft.agent', label: '(claim queued) both ready → runAgent (and moveIssue) scheduled (workflow task)' },
  { id: 'agent.queue', label: 'runAgent scheduled → started (activity task)' },
  { id: 'spawn', label: 'runAgent started → agent process started' },
  { id: 'spawn.prepare', label: 'worktree prepared by the agent activity (fetch started by triage), or reused', sub: true },
  { id: 'spawn.exec', label: 'runner called → process started (prompt file, fork, exec)', sub: true },
];

export interface Breakdown {
  /** Ready webhook → agent process start, ms. */
  total: number;
  segments: Record<string, number>;
  /** Agent process start → its script running (Node's boot): after the measured end. */
  nodeBootMs: number;
  flags: {
    workflowTaskTimeouts: number;
    workflowTaskFailures: number;
    activityRetries: number;
    /** The fleet ran its holder check between receiving this request and granting it. */
    holderCheckDuringLease: boolean;
    /** Grants the fleet sent between receiving this request and granting it. */
    grantsAhead: number;
    /** The run's lease claim (by update, in its workflow task) was granted at once. */
    claimedAtOnce: boolean;
  };
}

const at = (event: HistoryEvent): number => {
  const t = event.eventTime;
  return Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
};
const idOf = (event: HistoryEvent): number => Number(event.eventId);

function firstPayload<T>(input: { payloads?: unknown[] | null } | null | undefined): T | undefined {
  const payload = input?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload<T>(payload as Parameters<typeof defaultPayloadConverter.fromPayload>[0]) : undefined;
}

/**
 * The workflow task that produced `command` (an event recorded when a task completes), split
 * into waiting for an earlier task of the same run, the queue, and the worker, from `from`.
 */
function workflowTask(events: HistoryEvent[], from: number, command: HistoryEvent): { wait: number; queue: number; run: number } | null {
  const byId = new Map(events.map((e) => [idOf(e), e]));
  const completed = events.filter((e) => e.workflowTaskCompletedEventAttributes && idOf(e) < idOf(command)).at(-1);
  const attrs = completed?.workflowTaskCompletedEventAttributes;
  const scheduled = attrs ? byId.get(Number(attrs.scheduledEventId)) : undefined;
  const started = attrs ? byId.get(Number(attrs.startedEventId)) : undefined;
  if (!scheduled || !started) return null;
  const wait = Math.max(0, at(scheduled) - from);
  const queue = at(started) - Math.max(at(scheduled), from);
  return { wait, queue, run: at(command) - at(started) };
}

interface ActivityEvents {
  scheduled: HistoryEvent;
  started: HistoryEvent;
  completed: HistoryEvent;
}

/** The first activity of this type and how it started and ended. */
function activity(events: HistoryEvent[], type: string): ActivityEvents | null {
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type);
  if (!scheduled) return null;
  const sid = idOf(scheduled);
  const started = events.find((e) => Number(e.activityTaskStartedEventAttributes?.scheduledEventId ?? -1) === sid);
  const completed = events.find((e) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? -1) === sid);
  return started && completed ? { scheduled, started, completed } : null;
}

interface FleetRequest {
  events: HistoryEvent[];
  received: HistoryEvent;
  /** The grant signal sent (a signalled request), or the update accepted with its answer (a claim). */
  granted: HistoryEvent | undefined;
  claimed: boolean;
}

/** Lease requests the fleet received, by request id, over all of its runs (it continues as new). */
export function indexFleet(histories: History[]): Map<string, FleetRequest> {
  const requests = new Map<string, FleetRequest>();
  for (const history of histories) {
    const events = history.events ?? [];
    for (const event of events) {
      const signaled = event.workflowExecutionSignaledEventAttributes;
      if (signaled?.signalName === 'requestLease') {
        const request = firstPayload<{ requestId: string }>(signaled.input);
        if (request && !requests.has(request.requestId)) requests.set(request.requestId, { events, received: event, granted: undefined, claimed: false });
      }
      const accepted = event.workflowExecutionUpdateAcceptedEventAttributes;
      if (accepted?.acceptedRequest?.input?.name === 'claimLease') {
        const request = firstPayload<{ requestId: string }>(accepted.acceptedRequest.input.args);
        // Accepted and answered in the same task: the accepted event stands for both.
        if (request && !requests.has(request.requestId)) requests.set(request.requestId, { events, received: event, granted: event, claimed: true });
      }
      const sent = event.signalExternalWorkflowExecutionInitiatedEventAttributes;
      if (sent?.signalName === 'leaseGranted') {
        const grant = firstPayload<{ requestId: string }>(sent.input);
        const request = grant ? requests.get(grant.requestId) : undefined;
        if (request && request.events === events && !request.granted) request.granted = event;
      }
    }
  }
  return requests;
}

/** The result of the run's lease claim (a local activity's marker), if it made one. */
function claimOf(events: HistoryEvent[]): { event: HistoryEvent; result: { granted?: { requestId: string } } | undefined } | null {
  for (const event of events) {
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_local_activity') continue;
    const data = firstPayload<{ activity_type?: string }>(marker.details?.data);
    if (data?.activity_type === 'claimLease') return { event, result: firstPayload<{ granted?: { requestId: string } }>(marker.details?.result) };
  }
  return null;
}

export function breakdown(input: { t0: number; agent: AgentStart; issueId: string; history: History; fleet: Map<string, FleetRequest>; probes: Probes }): Breakdown {
  const { t0, agent, history, probes } = input;
  const events = history.events ?? [];
  const key = agent.key;
  const segments: Record<string, number> = {};
  const put = (id: string, value: number | undefined) => {
    if (value !== undefined && Number.isFinite(value)) segments[id] = value;
  };

  const started = events.find((e) => e.workflowExecutionStartedEventAttributes);
  const firstTask = events.find((e) => e.workflowTaskStartedEventAttributes);
  const firstTaskScheduled = events.find((e) => e.workflowTaskScheduledEventAttributes);
  const claim = claimOf(events);
  const claimedAtOnce = claim?.result?.granted !== undefined;
  const requestId = claim?.result?.granted?.requestId;
  const request = events.find((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === 'requestLease');
  const signalledId = request ? firstPayload<{ requestId: string }>(request.signalExternalWorkflowExecutionInitiatedEventAttributes!.input)?.requestId : undefined;
  const grant = events.find((e) => {
    const signaled = e.workflowExecutionSignaledEventAttributes;
    return signaled?.signalName === 'leaseGranted' && firstPayload<{ requestId: string }>(signaled.input)?.requestId === signalledId;
  });
  const prepareActivity = activity(events, 'prepareWorkspace');
  const runAgent = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runAgent');
  const runAgentStarted = runAgent ? events.find((e) => Number(e.activityTaskStartedEventAttributes?.scheduledEventId ?? -1) === idOf(runAgent)) : undefined;
  const prepared = probes.span(key, 'prepare');
  const preparedAgain = probes.span(key, 'prepareAgain');
  const agentRun = probes.span(key, 'agentRun');
  const read = probes.span(input.issueId, 'getIssue');
  const lookup = probes.span(key, 'findPullRequest');

  if (started) put('ingress', at(started) - t0);
  if (claimedAtOnce && started && runAgent) {
    put('task', at(runAgent) - at(started));
    if (firstTask && firstTaskScheduled) put('task.queue', at(firstTask) - at(firstTaskScheduled));
    if (read) put('task.getIssue', read.end - read.start);
    if (lookup) put('task.findPr', lookup.end - lookup.start);
    const fleet = requestId ? input.fleet.get(requestId) : undefined;
    const triageEnd = lookup?.end ?? read?.end;
    if (fleet?.claimed && triageEnd !== undefined) {
      put('task.claim', at(fleet.received) - triageEnd);
      const task = workflowTask(fleet.events, 0, fleet.received);
      if (task) {
        put('task.claim.fleet.queue', task.queue);
        put('task.claim.fleet.run', task.run);
      }
      put('task.rest', at(runAgent) - at(fleet.received));
    }
  } else {
    if (started && request) put('wft.start', at(request) - at(started));
    const bothReady = grant && prepareActivity ? (at(grant) > at(prepareActivity.completed) ? grant : prepareActivity.completed) : grant;
    if (request && bothReady) put('ready', at(bothReady) - at(request));
    if (request && grant) put('lease', at(grant) - at(request));
    if (prepareActivity) put('prepare', at(prepareActivity.completed) - at(prepareActivity.scheduled));
    if (prepared && prepareActivity) put('prepare.git', prepared.end - prepared.start);
    if (bothReady && runAgent) put('wft.agent', at(runAgent) - at(bothReady));
  }
  if (runAgent && runAgentStarted) put('agent.queue', at(runAgentStarted) - at(runAgent));
  if (runAgentStarted) put('spawn', agent.processStartedAt - at(runAgentStarted));
  // The agent activity's prepare is the first one when nothing was prepared ahead.
  const agentPrepare = prepareActivity ? preparedAgain : (prepared ?? preparedAgain);
  if (agentPrepare) put('spawn.prepare', agentPrepare.end - agentPrepare.start);
  if (agentRun) put('spawn.exec', agent.processStartedAt - agentRun.start);

  const fleet = signalledId ? input.fleet.get(signalledId) : undefined;
  let holderCheckDuringLease = false;
  let grantsAhead = 0;
  if (!claimedAtOnce && fleet?.granted) {
    const from = idOf(fleet.received);
    const to = idOf(fleet.granted);
    for (const e of fleet.events) {
      const id = idOf(e);
      if (id <= from || id >= to) continue;
      if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'findClosedHolders' || e.activityTaskCompletedEventAttributes) holderCheckDuringLease = true;
      if (e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === 'leaseGranted') grantsAhead += 1;
    }
  }
  const beforeAgent = runAgentStarted ? events.filter((e) => idOf(e) < idOf(runAgentStarted)) : events;
  return {
    total: agent.processStartedAt - t0,
    segments,
    nodeBootMs: agent.scriptStartedAt - agent.processStartedAt,
    flags: {
      workflowTaskTimeouts: beforeAgent.filter((e) => e.workflowTaskTimedOutEventAttributes).length,
      workflowTaskFailures: beforeAgent.filter((e) => e.workflowTaskFailedEventAttributes).length,
      activityRetries: beforeAgent.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1).length,
      holderCheckDuringLease,
      grantsAhead,
      claimedAtOnce,
    },
  };
}

/** The one-hop baseline cut the same way: its one workflow task and its one activity task. */
export const ONE_HOP_SEGMENTS: readonly SegmentDef[] = [
  { id: 'signal', label: 'signal sent → recorded in the run' },
  { id: 'wft', label: 'signal → activity scheduled (workflow task)' },
  ...wftParts('wft'),
  { id: 'activity.queue', label: 'activity scheduled → running in the worker (activity task)' },
];

export function oneHopBreakdown(input: { t0: number; startedAt: number; history: History }): Breakdown {
  const events = input.history.events ?? [];
  const segments: Record<string, number> = {};
  const signaled = events.find((e) => e.workflowExecutionSignaledEventAttributes);
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes);
  if (signaled) segments.signal = at(signaled) - input.t0;
  if (signaled && scheduled) {
    segments.wft = at(scheduled) - at(signaled);
    const task = workflowTask(events, at(signaled), scheduled);
    if (task) {
      segments['wft.wait'] = task.wait;
      segments['wft.queue'] = task.queue;
      segments['wft.run'] = task.run;
    }
  }
  if (scheduled) segments['activity.queue'] = input.startedAt - at(scheduled);
  return {
    total: input.startedAt - input.t0,
    segments,
    nodeBootMs: 0,
    flags: {
      workflowTaskTimeouts: events.filter((e) => e.workflowTaskTimedOutEventAttributes).length,
      workflowTaskFailures: events.filter((e) => e.workflowTaskFailedEventAttributes).length,
      activityRetries: 0,
      holderCheckDuringLease: false,
      grantsAhead: 0,
      claimedAtOnce: false,
    },
  };
}
