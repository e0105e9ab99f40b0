// Conveyor's own metrics, beside the SDK's on the worker's /metrics: what operators ask ("is it
// dispatching? how do runs end? is anything waiting, and for how long? what do agents cost? is
// it wedged?"). Two sources, neither in workflow code:
//   - the activities, wrapped where the worker registers them: dispatches, agent runs and cost,
//     failures by class, what each merge-gate read found, merges;
//   - Temporal, read when /metrics is scraped (cached a few seconds): the fleet's state query
//     (leases held, queue, grants) and visibility counts (open runs by phase, outcomes, failure
//     classes, completions in the progress window).
// The wedge signal is progress-based: work queued, and neither a dispatch nor a completion over
// the whole window (a count of processes says nothing about a fleet stuck on a bad deploy).
import type { Client } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { FAILURE_CLASSES } from '../domain/failure.js';
import type { PullRequestStatus } from '../domain/issue.js';
import { fleetWorkflowId } from '../domain/naming.js';
import type { TriageAdvisor } from '../integrations/triage-advisor/advisor.js';
import type { AgentRunInput, LineActivities } from '../workflows/activity-types.js';
import { fleetStateQuery } from '../workflows/messages.js';
import { OUTCOMES, type FleetState, type Phase } from '../workflows/state.js';
import { ISSUE_WORKFLOW_TYPE } from '../workflows/workflow-types.js';

const PHASES: Record<Exclude<Phase, 'done'>, true> = { triage: true, escalated: true, 'waiting-on-blockers': true, held: true, queued: true, dispatched: true, 'awaiting-pr': true, 'merge-gate': true, closing: true, releasing: true, 'waiting-to-retry': true };

export interface WorkerMetrics {
  registry: Registry;
  dispatches: Counter<'repo' | 'agent'>;
  agentRuns: Counter<'repo' | 'result'>;
  agentCost: Counter<'repo' | 'agent'>;
  leaseWait: Histogram<'repo'>;
  activityFailures: Counter<'activity' | 'failure_class'>;
  gateReads: Counter<'repo' | 'verdict'>;
  merges: Counter<'repo' | 'result'>;
  triageAdvice: Counter<'provider' | 'result'>;
  triageAdviceCost: Counter<'provider' | 'model'>;
  triageAdviceTokens: Counter<'provider' | 'model' | 'direction'>;
  /** Record one dispatch's wait for its lease (seconds); used by the activity when the run says when it queued. */
  observeLeaseWait(repo: string, seconds: number): void;
}

export function createWorkerMetrics(): WorkerMetrics {
  const registry = new Registry();
  const leaseWait = new Histogram({
    name: 'conveyor_lease_wait_seconds',
    help: 'From a run asking the fleet for an agent slot to its agent activity starting',
    labelNames: ['repo'],
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600],
    registers: [registry],
  });
  return {
    registry,
    dispatches: new Counter({ name: 'conveyor_dispatches_total', help: 'Agent runs started by this worker', labelNames: ['repo', 'agent'], registers: [registry] }),
    agentRuns: new Counter({ name: 'conveyor_agent_runs_total', help: 'Agent runs ended on this worker: finished, or the failure class (agent-stalled, agent-timeout, transient, ...)', labelNames: ['repo', 'result'], registers: [registry] }),
    agentCost: new Counter({ name: 'conveyor_agent_cost_usd_total', help: 'US dollars the agents reported, by repo and agent name', labelNames: ['repo', 'agent'], registers: [registry] }),
    leaseWait,
    activityFailures: new Counter({ name: 'conveyor_activity_failures_total', help: 'Failed activity attempts on this worker by failure class', labelNames: ['activity', 'failure_class'], registers: [registry] }),
    gateReads: new Counter({
      name: 'conveyor_gate_reads_total',
      help: 'What each merge-gate read of a PR found: merged, closed, ci-red, ci-pending, changes-requested, approved, awaiting-review',
      labelNames: ['repo', 'verdict'],
      registers: [registry],
    }),
    merges: new Counter({ name: 'conveyor_merges_total', help: 'Merge calls by result: merged, head-moved, not-mergeable, closed', labelNames: ['repo', 'result'], registers: [registry] }),
    triageAdvice: new Counter({
      name: 'conveyor_triage_advice_total',
      help: 'Questions to the triage advisor by result: suggested, or why not (nonsense, or the call failure class: transient, auth, timeout, logic, unknown)',
      labelNames: ['provider', 'result'],
      registers: [registry],
    }),
    triageAdviceCost: new Counter({ name: 'conveyor_triage_advice_cost_usd_total', help: 'US dollars the triage advisor spent (stated by the response, or tokens × triageAdvisor.pricePerMTok)', labelNames: ['provider', 'model'], registers: [registry] }),
    triageAdviceTokens: new Counter({ name: 'conveyor_triage_advice_tokens_total', help: 'Tokens the triage advisor used, by direction (input, output)', labelNames: ['provider', 'model', 'direction'], registers: [registry] }),
    observeLeaseWait: (repo, seconds) => leaseWait.observe({ repo }, Math.max(0, seconds)),
  };
}

/** What a merge-gate read found, in the order the gate weighs it (policy aside: the workflow decides). */
export function gateReadVerdict(status: PullRequestStatus): string {
  if (status.pr.merged) return 'merged';
  if (status.pr.state === 'closed') return 'closed';
  if (status.checks.state === 'failure') return 'ci-red';
  if (status.checks.state === 'pending') return 'ci-pending';
  if (status.review.decision === 'CHANGES_REQUESTED') return 'changes-requested';
  if (status.review.decision === 'APPROVED') return 'approved';
  return 'awaiting-review';
}

function failureClass(err: unknown): string {
  if (err instanceof ApplicationFailure && err.type) return err.type;
  return 'unknown';
}

type AnyActivity = (...args: never[]) => Promise<unknown>;

/**
 * The line's activities with metrics around them; behaviour unchanged. A run that publishes
 * when it queued for its lease (`queuedAt`, ms since epoch, on the agent input) gets its lease
 * wait recorded; see the README's metrics section for that contract.
 */
export function instrumentLineActivities(activities: LineActivities, metrics: WorkerMetrics): LineActivities {
  const counted: Record<string, AnyActivity> = {};
  for (const [name, fn] of Object.entries(activities) as Array<[string, (...args: unknown[]) => Promise<unknown>]>) {
    counted[name] = async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        if (!(err instanceof CancelledFailure)) metrics.activityFailures.inc({ activity: name, failure_class: failureClass(err) });
        throw err;
      }
    };
  }
  const line = counted as unknown as LineActivities;
  return {
    ...line,
    runAgent: async (input: AgentRunInput) => {
      const repo = input.routing.repo;
      metrics.dispatches.inc({ repo, agent: input.agentName });
      if (typeof input.queuedAt === 'number') metrics.observeLeaseWait(repo, (Date.now() - input.queuedAt) / 1000);
      try {
        const result = await line.runAgent(input);
        metrics.agentRuns.inc({ repo, result: 'finished' });
        metrics.agentCost.inc({ repo, agent: input.agentName }, result.costUsd);
        return result;
      } catch (err) {
        metrics.agentRuns.inc({ repo, result: err instanceof CancelledFailure ? 'cancelled' : failureClass(err) });
        throw err;
      }
    },
    readPullRequest: async (input) => {
      const status = await line.readPullRequest(input);
      metrics.gateReads.inc({ repo: input.repo, verdict: gateReadVerdict(status) });
      return status;
    },
    mergePullRequest: async (input) => {
      const result = await line.mergePullRequest(input);
      metrics.merges.inc({ repo: input.repo, result: result.merged ? 'merged' : result.reason });
      return result;
    },
  };
}

/** The triage advisor with its questions, spend and tokens counted; answers unchanged. */
export function instrumentTriageAdvisor(advisor: TriageAdvisor, metrics: WorkerMetrics): TriageAdvisor {
  const { provider, model } = advisor;
  return {
    provider,
    model,
    async advise(request) {
      const outcome = await advisor.advise(request);
      const spend = outcome.ok ? outcome.advice : outcome.spend;
      metrics.triageAdvice.inc({ provider, result: outcome.ok ? 'suggested' : outcome.failure.kind === 'nonsense' ? 'nonsense' : outcome.failure.failureClass });
      if (spend?.costUsd !== undefined) metrics.triageAdviceCost.inc({ provider, model }, spend.costUsd);
      if (spend) {
        metrics.triageAdviceTokens.inc({ provider, model, direction: 'input' }, spend.tokens.input);
        metrics.triageAdviceTokens.inc({ provider, model, direction: 'output' }, spend.tokens.output);
      }
      return outcome;
    },
  };
}

export interface ProgressSample {
  at: number;
  /** The fleet's grants since it started (null: the fleet did not answer). */
  grantsTotal: number | null;
  /** Issue runs closed in the window ending at `at` (null: visibility did not answer). */
  completions: number | null;
  /** Runs waiting for a slot (visibility: phase queued). */
  queued: number | null;
}

export interface Progress {
  dispatches: number;
  completions: number;
  /** Samples cover the whole window: until then nothing is called wedged. */
  windowCovered: boolean;
  wedged: boolean;
}

/**
 * Progress over the window ending at the newest sample: grants (dispatches) from the difference
 * of the fleet's counter, completions as visibility counted them. Wedged: runs are waiting, and
 * over a whole window not one was dispatched nor one completed. A fleet that was revived
 * restarts its counter; a drop counts as a restart.
 */
export function progressOver(samples: ProgressSample[], windowMs: number): Progress {
  const latest = samples.at(-1);
  if (!latest) return { dispatches: 0, completions: 0, windowCovered: false, wedged: false };
  const start = latest.at - windowMs;
  const base = [...samples].reverse().find((s) => s.at <= start && s.grantsTotal !== null) ?? samples.find((s) => s.grantsTotal !== null);
  const now = latest.grantsTotal;
  const dispatches = now === null || !base || base.grantsTotal === null ? 0 : now >= base.grantsTotal ? now - base.grantsTotal : now;
  const completions = latest.completions ?? 0;
  const windowCovered = samples[0]!.at <= start;
  const wedged = windowCovered && (latest.queued ?? 0) > 0 && dispatches === 0 && completions === 0;
  return { dispatches, completions, windowCovered, wedged };
}

export interface FleetCollectorOptions {
  client: Client;
  taskQueue: string;
  windowMs: number;
  /** Reads of Temporal are reused for this long, so a burst of scrapes is one read (default 5 s). */
  cacheMs?: number;
  now?: () => number;
}

/** Gauges read from Temporal on scrape: the fleet, runs by phase and outcome, progress and the wedge. */
export function registerFleetCollectors(metrics: WorkerMetrics, options: FleetCollectorOptions): void {
  const { client, taskQueue, windowMs } = options;
  const now = options.now ?? Date.now;
  const cacheMs = options.cacheMs ?? 5_000;
  // Every gauge's collect is the same cached refresh: prom-client reads the gauges in parallel.
  const common = { registers: [metrics.registry], collect: () => refresh() };
  const leasesHeld = new Gauge({ name: 'conveyor_leases_held', help: 'Agent slots the fleet has leased out now', ...common });
  const queueDepth = new Gauge({ name: 'conveyor_queue_depth', help: 'Runs waiting in the fleet for an agent slot', ...common });
  const oldestWait = new Gauge({ name: 'conveyor_queue_oldest_wait_seconds', help: 'How long the longest-waiting run has waited for a slot', ...common });
  const paused = new Gauge({ name: 'conveyor_fleet_paused', help: '1 while the fleet is paused (conveyor pause)', ...common });
  const grants = new Gauge({ name: 'conveyor_fleet_grants', help: 'Leases the fleet granted since it started (continue-as-new keeps the count)', ...common });
  const up = new Gauge({ name: 'conveyor_metrics_source_up', help: '1 when the last read of this source (fleet, visibility) succeeded', labelNames: ['source'], ...common });
  const open = new Gauge({ name: 'conveyor_runs_open', help: 'Open issue runs by phase (visibility)', labelNames: ['phase'], ...common });
  const outcomes = new Gauge({ name: 'conveyor_run_outcomes', help: 'Finished issue runs by outcome, within the namespace retention (visibility)', labelNames: ['outcome'], ...common });
  const classes = new Gauge({ name: 'conveyor_runs_by_failure_class', help: 'Issue runs that recorded a failure, by class (visibility)', labelNames: ['failure_class'], ...common });
  const windowSeconds = windowMs / 1000;
  const dispatchesInWindow = new Gauge({ name: 'conveyor_progress_dispatches', help: `Leases granted over the progress window (${windowSeconds} s)`, ...common });
  const completionsInWindow = new Gauge({ name: 'conveyor_progress_completions', help: `Issue runs finished over the progress window (${windowSeconds} s)`, ...common });
  const wedged = new Gauge({ name: 'conveyor_wedged', help: 'Progress-based: 1 when runs wait for a slot and the whole window saw no dispatch and no completion', ...common });

  const samples: ProgressSample[] = [];
  const base = `WorkflowType = '${ISSUE_WORKFLOW_TYPE}' AND TaskQueue = '${taskQueue}'`;
  const count = async (query: string) => Number((await client.workflow.count(`${base} AND ${query}`)).count);

  async function readFleet(): Promise<FleetState | null> {
    try {
      const state = await client.workflow.getHandle(fleetWorkflowId(taskQueue)).query(fleetStateQuery);
      up.set({ source: 'fleet' }, 1);
      return state;
    } catch {
      up.set({ source: 'fleet' }, 0);
      return null;
    }
  }

  async function readVisibility(at: number): Promise<{ completions: number; queued: number } | null> {
    try {
      const phases = Object.keys(PHASES);
      const names: readonly string[] = OUTCOMES;
      const since = new Date(at - windowMs).toISOString();
      const [byPhase, byOutcome, byClass, completions] = await Promise.all([
        Promise.all(phases.map((phase) => count(`ExecutionStatus = 'Running' AND ConveyorPhase = '${phase}'`))),
        Promise.all(names.map((outcome) => count(`ConveyorPhase = 'done:${outcome}'`))),
        Promise.all(FAILURE_CLASSES.map((c) => count(`ConveyorFailureClass = '${c}'`))),
        count(`ExecutionStatus != 'Running' AND ConveyorPhase STARTS_WITH 'done:' AND CloseTime > '${since}'`),
      ]);
      phases.forEach((phase, i) => open.set({ phase }, byPhase[i]!));
      names.forEach((outcome, i) => outcomes.set({ outcome }, byOutcome[i]!));
      FAILURE_CLASSES.forEach((c, i) => classes.set({ failure_class: c }, byClass[i]!));
      up.set({ source: 'visibility' }, 1);
      return { completions, queued: byPhase[phases.indexOf('queued')]! };
    } catch {
      up.set({ source: 'visibility' }, 0);
      return null;
    }
  }

  let last: { at: number; done: Promise<void> } | null = null;
  function refresh(): Promise<void> {
    const at = now();
    if (last && at - last.at < cacheMs) return last.done;
    const done = (async () => {
      const [fleet, visibility] = await Promise.all([readFleet(), readVisibility(at)]);
      if (fleet) {
        leasesHeld.set(fleet.leases.length);
        queueDepth.set(fleet.waiting.length);
        oldestWait.set(fleet.waiting.length ? Math.max(0, (at - Math.min(...fleet.waiting.map((w) => w.queuedAt))) / 1000) : 0);
        paused.set(fleet.paused ? 1 : 0);
        grants.set(fleet.grantsTotal);
      }
      samples.push({ at, grantsTotal: fleet?.grantsTotal ?? null, completions: visibility?.completions ?? null, queued: visibility?.queued ?? fleet?.waiting.length ?? null });
      // Keep one sample at or before the window's start, so the difference covers it whole.
      while (samples.length > 2 && samples[1]!.at <= at - windowMs) samples.shift();
      const progress = progressOver(samples, windowMs);
      dispatchesInWindow.set(progress.dispatches);
      completionsInWindow.set(progress.completions);
      wedged.set(progress.wedged ? 1 : 0);
    })();
    last = { at, done };
    return done;
  }
}
