// The reconcile sweep's side effects: what the tracker and the forge say now, compared with the
// runs Temporal has open. A webhook that was lost (sender outage, gateway down, a signal that
// reached a run already closing) is made harmless here: a ready issue with no open run is
// started, and every open factory PR nudges its run to re-read checks and reviews. A run that
// closed without reaching its release station (terminated, timed out) is compensated here too.
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Redactor } from './redact.js';
import type { Config } from '../config/load.js';
import type { TeamConfig } from '../config/factory-schema.js';
import { isFinishedState, type ChecksState, type PullRequest, type ReviewDecision, type TrackerIssue } from '../domain/issue.js';
import { BRANCH_PREFIX, branchForIssue, issueIdFromBranch, issueKeyFromBranch, issueWorkflowId } from '../domain/naming.js';
import { isReadyForFactory, routeIssue } from '../domain/triage.js';
import type { Workspaces } from '../integrations/agent.js';
import type { Forge } from '../integrations/forge.js';
import type { Tracker } from '../integrations/tracker.js';
import { signalIssue, signalWithStartIssue } from '../temporal/issue-runs.js';
import { repoWebUrl, type IssueRunSubject } from '../temporal/run-metadata.js';
import { listOpenIssueRuns, openRunPhase, type ListedIssueRun } from '../temporal/runs.js';
import { describeUnreleasedRun, howRunEnded, returnLeasesOf, type UnreleasedRun } from '../temporal/unreleased-runs.js';
import type { LinePolicy } from '../workflows/input.js';
import type { TrackerEvent } from '../workflows/messages.js';

export interface SweepDeps {
  client: Client;
  tracker: Tracker;
  forge: Forge;
  /** Worktrees of runs that never reached their release station are removed through it. */
  workspaces: Workspaces;
  /** What the sweep posts passes it, like everything else the factory posts. */
  redact: Redactor;
  config: Config;
  /** The line's task queue: runs the sweep starts go there. */
  taskQueue: string;
  logger?: Logger;
}

export interface ReadyIssuesSweep {
  /** Ready issues that had no open run and were started. */
  started: number;
  /** Ready issues whose run was already open: left alone, unless it waits on blockers. */
  alreadyRunning: number;
  /** Runs waiting on blockers that have all finished (their webhook was lost): told to re-read. */
  unblocked: number;
}

export interface PullRequestsSweep {
  /** Open factory PRs whose run was signalled to re-read the PR. */
  prsSignalled: number;
  /** Open factory PRs unchanged since this worker last nudged their run (same run, head SHA,
   * checks and review): not signalled again, so a PR waiting for days adds nothing to its run's
   * history. */
  prsUnchanged: number;
  /** Open factory PRs with no open run (a human's now): left alone. */
  prsWithoutRun: number;
  /** Runs waiting in the merge gate on a PR that is no longer open (merged or closed, and the
   * webhook lost): nudged once so they read it and finish. */
  gatesOnClosedPrs: number;
}

export interface ClosedRunsSweep {
  /** Issues the factory had moved on (in progress, in review) whose latest run was terminated or
   * timed out before its release station: compensated by this sweep (commented once, and put
   * back to ready unless a PR is kept for a human). */
  compensated: number;
}

export interface SweepActivities {
  startReadyIssues(input: { policy: LinePolicy }): Promise<ReadyIssuesSweep>;
  signalOpenPullRequests(): Promise<PullRequestsSweep>;
  compensateClosedRuns(): Promise<ClosedRunsSweep>;
}

/** Longest operator's terminate reason quoted in a comment; the rest stays in the run's history. */
const MAX_REASON_BYTES = 500;

/** How many runs' last PR nudges a worker remembers: far more than the open PRs of any backlog
 * (about 200 bytes each), and a forgotten one only costs one nudge the run drops. */
const REMEMBERED_NUDGES = 50_000;

/** The team's state the factory moved the issue to, if it is one the line moves issues to. */
function claimedState(issue: TrackerIssue, team: TeamConfig): 'in-progress' | 'in-review' | null {
  const state = issue.state.name.toLowerCase();
  if (state === team.inProgressState.toLowerCase()) return 'in-progress';
  if (state === team.inReviewState.toLowerCase()) return 'in-review';
  return null;
}

/**
 * The one comment a compensated issue gets. It names the closed run by its run id: that is the
 * mark a later sweep looks for (Tracker.hasComment), and what an engineer opens in the Web UI.
 */
export function compensationComment(input: { run: Pick<UnreleasedRun, 'workflowId' | 'runId'>; ending: string; branch: string; pr: PullRequest | null; stateName: string; readyLabel: string; blockedLabel: string }): string {
  const { run, ending, branch, pr } = input;
  const what = `Conveyor's run for this issue was ${ending} before it could clean up`;
  const next =
    pr && pr.merged
      ? `. ${pr.url} was merged; the issue stays in "${input.stateName}" for a human to close.`
      : pr && pr.state === 'open'
        ? `. ${pr.url} and the branch \`${branch}\` are kept for a human; the issue is left in review.`
        : `; the issue is back to ready.${pr ? ` The branch \`${branch}\` of the closed ${pr.url} is kept for a human.` : ''}`;
  const again = `\n\nThe issue is blocked (label \`${input.blockedLabel}\`): nothing restarts it on its own. To go again, re-add the \`${input.readyLabel}\` label or comment \`/conveyor retry\`.`;
  return `${what}${next}${again}\n\nRun: \`${run.workflowId}\` / \`${run.runId}\``;
}

/**
 * The delivery id of a sweep's start: a function of the issue's last change, so two sweeps of
 * an unchanged issue (or a sweep racing the webhook's start) are one delivery to the run.
 */
export function sweepIssueDeliveryId(issue: Pick<TrackerIssue, 'id' | 'updatedAt'>): string {
  return `sweep:${issue.id}:${issue.updatedAt}`;
}

/**
 * The delivery id of a sweep's PR nudge: everything the merge gate decides on (head SHA, checks
 * verdict, review decision). The head SHA alone is not enough: checks going green and a review
 * approving leave it unchanged, so a nudge sent while checks were pending would make the run
 * drop the later, decisive one as a redelivery. With the verdicts in the id, an unchanged PR is
 * nudged once and a changed one again.
 */
export function sweepPullRequestDeliveryId(pr: Pick<PullRequest, 'repo' | 'number' | 'headSha'>, checks: ChecksState, review: ReviewDecision): string {
  return `sweep:pr:${pr.repo}#${pr.number}:${pr.headSha}:${checks}:${review}`;
}

export function createSweepActivities(deps: SweepDeps): SweepActivities {
  const { client, tracker, forge, workspaces, redact, config, taskQueue, logger } = deps;
  const factory = config.factory;

  /**
   * The last PR nudge this worker delivered to each issue run (workflow id → run id and delivery
   * id). The run drops a delivery it has seen, so sending the same one again changes nothing but
   * its history (the signal and a workflow task, every sweep interval, for as long as the PR waits
   * for a review). Kept in memory: another worker, or this one after a restart, nudges once more.
   */
  const lastNudge = new Map<string, string>();
  const nudgeKey = (runId: string, deliveryId: string): string => `${runId} ${deliveryId}`;
  const rememberNudge = (workflowId: string, key: string): void => {
    lastNudge.delete(workflowId); // re-inserted last: the map's order is least recently nudged first
    lastNudge.set(workflowId, key);
    if (lastNudge.size > REMEMBERED_NUDGES) lastNudge.delete(lastNudge.keys().next().value as string);
  };

  /** The task queue's open issue runs, one listing, heartbeating while a long one pages; none
   * asked for when there is nothing to look up in it. */
  const listOpenRuns = async (phase: string, needed = true): Promise<Map<string, ListedIssueRun>> =>
    needed ? listOpenIssueRuns(client, taskQueue, (listed) => Context.current().heartbeat({ phase, listedRuns: listed })) : new Map();

  /**
   * Does what the run's release station would have done. Each step is idempotent, and the comment
   * is posted once per closed run (marked by its run id), so a retried or later sweep repeats
   * nothing: an issue put back to ready is no longer a candidate, and one whose PR is kept for a
   * human is found marked and left alone. Returns whether the sweep changed anything.
   */
  async function compensate(issue: TrackerIssue, team: TeamConfig, claimed: 'in-progress' | 'in-review', run: UnreleasedRun): Promise<boolean> {
    // The run's own names win: the issue may have moved team (new key) since its branch was made.
    const repo = run.repo ?? routeIssue(issue, factory)?.repo ?? null;
    const branch = branchForIssue(run.issueKey ?? issue.key, issue.id);
    const pr = repo ? await forge.findPullRequest(repo, branch) : null;
    const prKept = pr !== null && (pr.state === 'open' || pr.merged);
    let changed = false;
    if (!(await tracker.hasComment(issue.id, run.runId))) {
      // Lease and worktree before the comment: once the mark is posted, nothing is redone.
      const returned = await returnLeasesOf(client, taskQueue, run);
      if (returned === null) logger?.warn({ workflowId: run.workflowId }, 'could not ask the fleet for the leases of a closed run; its holder check reclaims them');
      const key = issueKeyFromBranch(branch);
      if (repo && key) await workspaces.remove({ repo, branch, key });
      const body = compensationComment({ run, ending: await howRunEnded(client, run, MAX_REASON_BYTES), branch, pr, stateName: issue.state.name, readyLabel: factory.policies.readyLabel, blockedLabel: factory.policies.blockedLabel });
      await tracker.comment(issue.id, redact(body));
      logger?.info({ issue: issue.key, workflowId: run.workflowId, runId: run.runId, status: run.status, leasesReturned: returned, prKept }, 'compensated a run that closed without its release station');
      changed = true;
    }
    // Not "in progress" with no live agent: back to ready, or on to review when its PR is open.
    const target = !prKept ? team.readyState : pr.state === 'open' && claimed === 'in-progress' ? team.inReviewState : null;
    // A terminated run is a human act, so its issue is blocked like any final ending: the blocked
    // label before the move, so the issue is never ready-and-labelled for a sweep to start again.
    if (issue.labels.includes(factory.policies.readyLabel) || !issue.labels.includes(factory.policies.blockedLabel)) {
      await tracker.addLabel(issue.id, factory.policies.blockedLabel);
      await tracker.removeLabel(issue.id, factory.policies.readyLabel);
      changed = true;
    }
    if (target) {
      await tracker.moveIssue(issue.id, target);
      changed = true;
    }
    return changed;
  }

  /** The issue as the Web UI shows a run the sweep starts: it has read the issue, so it routes it
   * (the run's triage decides again; this is only the summary's repo link). */
  const runSubject = (issue: TrackerIssue): IssueRunSubject => {
    const repo = routeIssue(issue, factory)?.repo;
    return { id: issue.id, key: issue.key, title: issue.title, url: issue.url, ...(repo ? { repo: { name: repo, url: repoWebUrl(repo, factory.forge.apiUrl) } } : {}) };
  };

  /** The phase of the issue's open run, null when none. Describing first keeps open runs' histories free of sweep signals. */
  const openPhaseOf = (issueId: string) => openRunPhase(client, issueWorkflowId(issueId));

  /**
   * A run waiting on blockers that have all finished missed the webhook that would have woken it:
   * told once per set of finished blockers (the delivery id), so a run still waiting on a new
   * blocker is told again only when that one finishes too.
   */
  const unblockIfFinished = async (issue: TrackerIssue): Promise<boolean> => {
    const { blockedBy } = await tracker.getBlockingRelations(issue.id);
    if (blockedBy.some((b) => !isFinishedState(b.state.type))) return false;
    const finished = blockedBy.map((b) => b.id).sort().join(',');
    const event: TrackerEvent = { kind: 'issue-updated', deliveryId: `sweep:unblocked:${issue.id}:${finished}` };
    return signalIssue(client, issue.id, { name: 'tracker', event });
  };

  return {
    async startReadyIssues({ policy }) {
      const listed = await tracker.listIssues({ teamKeys: factory.tracker.teams.map((t) => t.key), label: factory.policies.readyLabel });
      // The tracker's query is coarse (label and not completed); the factory's own rule decides.
      const ready = listed.filter((issue) => isReadyForFactory(issue, factory) === null);
      const result: ReadyIssuesSweep = { started: 0, alreadyRunning: 0, unblocked: 0 };
      // A backlog of waiting issues (escalated, in review) is ready and has a run: the listing
      // answers for all of them at once. Only an issue it shows no run for is described, since
      // the listing lags a run started a moment ago.
      const open = await listOpenRuns('ready-issues', ready.length > 0);
      // One at a time: a sweep is background work and must not crowd out webhook starts.
      for (const [index, issue] of ready.entries()) {
        Context.current().heartbeat({ phase: 'ready-issues', index, of: ready.length });
        const phase = open.get(issue.id)?.phase ?? (await openPhaseOf(issue.id));
        if (phase !== null) {
          result.alreadyRunning += 1;
          if (phase === 'waiting-on-blockers' && (await unblockIfFinished(issue))) result.unblocked += 1;
          continue;
        }
        // A run started by a webhook between the describe and here only receives this event,
        // which its triage treats like any other nudge: signal-with-start never starts twice.
        const event: TrackerEvent = { kind: 'issue-ready', deliveryId: sweepIssueDeliveryId(issue) };
        await signalWithStartIssue({ client, taskQueue, policy }, runSubject(issue), event);
        result.started += 1;
      }
      return result;
    },

    async signalOpenPullRequests() {
      const result: PullRequestsSweep = { prsSignalled: 0, prsUnchanged: 0, prsWithoutRun: 0, gatesOnClosedPrs: 0 };
      const openPrs = new Set<string>();
      const open = await listOpenRuns('pull-requests');
      for (const repo of factory.repos) {
        const pulls = await forge.listOpenPullRequests(repo.name, BRANCH_PREFIX);
        for (const pr of pulls) openPrs.add(`${repo.name}#${pr.number}`);
        for (const [index, pr] of pulls.entries()) {
          Context.current().heartbeat({ phase: 'pull-requests', repo: repo.name, index, of: pulls.length });
          // The same rule as the gateway: the head branch alone names the issue, with no lookup.
          const issueId = issueIdFromBranch(pr.headRef);
          if (!issueId) continue;
          // A PR left to a human (its run ended) costs no forge read. A run opened since the
          // listing is not nudged: a new run reads its PR itself.
          const run = open.get(issueId);
          if (!run) {
            result.prsWithoutRun += 1;
            continue;
          }
          // Read only to tell news from no news (see sweepPullRequestDeliveryId); the run
          // re-reads checks and reviews itself, so nothing read here is trusted by it.
          const [checks, review] = await Promise.all([forge.getChecks(repo.name, pr.headSha, pr.baseRef), forge.getReviews(repo.name, pr.number, pr.headSha)]);
          const deliveryId = sweepPullRequestDeliveryId({ ...pr, repo: repo.name }, checks.state, review.decision);
          const workflowId = issueWorkflowId(issueId);
          const key = nudgeKey(run.runId, deliveryId);
          if (lastNudge.get(workflowId) === key) {
            result.prsUnchanged += 1;
            continue;
          }
          const delivered = await signalIssue(client, issueId, { name: 'forge', event: { deliveryId, kind: 'pull-request', prNumber: pr.number, headSha: pr.headSha } });
          if (delivered) {
            rememberNudge(workflowId, key);
            result.prsSignalled += 1;
          } else result.prsWithoutRun += 1;
        }
      }
      // A PR merged or closed by a human whose webhook was lost is not in the open list; its run
      // would wait out its CI or review deadline. Runs are found by their search attributes.
      for (const [issueId, { phase, pr }] of open) {
        if (phase !== 'merge-gate' || !pr || openPrs.has(pr)) continue;
        const delivered = await signalIssue(client, issueId, { name: 'forge', event: { deliveryId: `sweep:pr-gone:${pr}`, kind: 'pull-request' } });
        if (delivered) result.gatesOnClosedPrs += 1;
      }
      return result;
    },

    async compensateClosedRuns() {
      const listed = await tracker.listIssues({ teamKeys: factory.tracker.teams.map((t) => t.key), label: factory.policies.readyLabel });
      const candidates = listed.flatMap((issue) => {
        const team = factory.tracker.teams.find((t) => t.key === issue.team.key);
        const claimed = team ? claimedState(issue, team) : null;
        return team && claimed ? [{ issue, team, claimed }] : [];
      });
      const result: ClosedRunsSweep = { compensated: 0 };
      // A candidate the listing shows open is left alone (were its run closing just now, the next
      // sweep finds it). The others are described: the listing lags, and only a describe answers
      // for the latest run of the id at once. A lagging index could show an old terminated run
      // while a new one is already live, and compensating a live run would move its issue from
      // under its agent.
      const open = await listOpenRuns('closed-runs', candidates.length > 0);
      for (const [index, { issue, team, claimed }] of candidates.entries()) {
        Context.current().heartbeat({ phase: 'closed-runs', index, of: candidates.length });
        if (open.has(issue.id)) continue;
        const run = await describeUnreleasedRun(client, issueWorkflowId(issue.id), taskQueue);
        if (!run) continue;
        if (await compensate(issue, team, claimed, run)) result.compensated += 1;
      }
      return result;
    },
  };
}
