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

/** In order; the top-level ones tile [ready webhook, agent process start]. */
export const SEGMENTS: readonly SegmentDef[] = [
  { id: 'ingress', label: 'ready webhook → run started (emulator, gateway, signal-with-start)' },
  { id: 'wft.start', label: 'run started → triageIssue scheduled (workflow task)' },
  ...wftParts('wft.start'),
  { id: 'triage.queue', label: 'triageIssue scheduled → started (activity task)' },
  { id: 'triage.run', label: 'triageIssue running' },
  { id: 'triage.getIssue', label: 'tracker read (getIssue)', sub: true },
  { id: 'triage.findPr', label: 'PR lookup (findPullRequest)', sub: true },
  { id: 'wft.lease', label: 'triage done → requestLease sent (workflow task)' },
  ...wftParts('wft.lease'),
  { id: 'lease', label: 'lease round trip: requestLease sent → leaseGranted received' },
  { id: 'lease.toFleet', label: 'signal reaches the fleet', sub: true },
  { id: 'lease.fleet.wait', label: 'fleet: its earlier tasks (grants sent before, holder check)', sub: true },
  { id: 'lease.fleet.queue', label: 'fleet: task queue', sub: true },
  { id: 'lease.fleet.run', label: 'fleet: worker', sub: true },
  { id: 'lease.toIssue', label: 'grant reaches the run', sub: true },
  { id: 'wft.move', label: 'grant → moveIssue scheduled (workflow task)' },
  ...wftParts('wft.move'),
  { id: 'move.queue', label: 'moveIssue scheduled → started (activity task)' },
  { id: 'move.run', label: 'moveIssue running (In Progress)' },
  { id: 'wft.agent', label: 'moved → runAgent scheduled (workflow task)' },
  ...wftParts('wft.agent'),
  { id: 'agent.queue', label: 'runAgent scheduled → started (activity task)' },
  { id: 'agent.toPrepare', label: 'runAgent started → worktree prepare called' },
  { id: 'prepare', label: 'worktree prepare (a shared fetch, worktree add under the repo’s lock)' },
  { id: 'spawn', label: 'prepared → agent process started (runner, spawn)' },
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
  granted: HistoryEvent | undefined;
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
        if (request && !requests.has(request.requestId)) requests.set(request.requestId, { events, received: event, granted: undefined });
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

export function breakdown(input: { t0: number; agent: AgentStart; issueId: string; history: History; fleet: Map<string, FleetRequest>; probes: Probes }): Breakdown {
  const { t0, agent, history, probes } = input;
  const events = history.events ?? [];
  const key = agent.key;
  const segments: Record<string, number> = {};
  const put = (id: string, value: number | undefined) => {
    if (value !== undefined && Number.isFinite(value)) segments[id] = value;
  };
  const putTask = (id: string, from: number, command: HistoryEvent) => {
    put(id, at(command) - from);
    const task = workflowTask(events, from, command);
    if (!task) return;
    put(`${id}.wait`, task.wait);
    put(`${id}.queue`, task.queue);
    put(`${id}.run`, task.run);
  };

  const started = events.find((e) => e.workflowExecutionStartedEventAttributes);
  const triage = activity(events, 'triageIssue');
  const request = events.find((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === 'requestLease');
  const requestId = request ? firstPayload<{ requestId: string }>(request.signalExternalWorkflowExecutionInitiatedEventAttributes!.input)?.requestId : undefined;
  const grant = events.find((e) => {
    const signaled = e.workflowExecutionSignaledEventAttributes;
    return signaled?.signalName === 'leaseGranted' && firstPayload<{ requestId: string }>(signaled.input)?.requestId === requestId;
  });
  const move = activity(events, 'moveIssue');
  const runAgent = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runAgent');
  const runAgentStarted = runAgent ? events.find((e) => Number(e.activityTaskStartedEventAttributes?.scheduledEventId ?? -1) === idOf(runAgent)) : undefined;
  const prepare = probes.span(key, 'prepare');
  const agentRun = probes.span(key, 'agentRun');

  if (started) put('ingress', at(started) - t0);
  if (started && triage) putTask('wft.start', at(started), triage.scheduled);
  if (triage) {
    put('triage.queue', at(triage.started) - at(triage.scheduled));
    put('triage.run', at(triage.completed) - at(triage.started));
    const read = probes.span(input.issueId, 'getIssue');
    const lookup = probes.span(key, 'findPullRequest');
    if (read) put('triage.getIssue', read.end - read.start);
    if (lookup) put('triage.findPr', lookup.end - lookup.start);
  }
  if (triage && request) putTask('wft.lease', at(triage.completed), request);
  if (request && grant) {
    put('lease', at(grant) - at(request));
    const fleet = requestId ? input.fleet.get(requestId) : undefined;
    if (fleet?.granted) {
      put('lease.toFleet', at(fleet.received) - at(request));
      const task = workflowTask(fleet.events, at(fleet.received), fleet.granted);
      if (task) {
        put('lease.fleet.wait', task.wait);
        put('lease.fleet.queue', task.queue);
        put('lease.fleet.run', task.run);
      }
      put('lease.toIssue', at(grant) - at(fleet.granted));
    }
  }
  if (grant && move) putTask('wft.move', at(grant), move.scheduled);
  if (move) {
    put('move.queue', at(move.started) - at(move.scheduled));
    put('move.run', at(move.completed) - at(move.started));
  }
  if (move && runAgent) putTask('wft.agent', at(move.completed), runAgent);
  if (runAgent && runAgentStarted) put('agent.queue', at(runAgentStarted) - at(runAgent));
  if (runAgentStarted && prepare) put('agent.toPrepare', prepare.start - at(runAgentStarted));
  if (prepare) put('prepare', prepare.end - prepare.start);
  if (prepare) put('spawn', agent.processStartedAt - prepare.end);
  if (agentRun) put('spawn.exec', agent.processStartedAt - agentRun.start);

  const fleet = requestId ? input.fleet.get(requestId) : undefined;
  let holderCheckDuringLease = false;
  let grantsAhead = 0;
  if (fleet?.granted) {
    const from = idOf(fleet.received);
    const to = idOf(fleet.granted);
    for (const e of fleet.events) {
      const id = idOf(e);
      if (id <= from || id >= to) continue;
      if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'findClosedWorkflows' || e.activityTaskCompletedEventAttributes) holderCheckDuringLease = true;
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
    },
  };
}
