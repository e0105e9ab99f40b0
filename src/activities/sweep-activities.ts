// The reconcile sweep's side effects: what the tracker and the forge say now, compared with the
// runs Temporal has open. A webhook that was lost (sender outage, gateway down, a signal that
// reached a run already closing) is made harmless here: a ready issue with no open run is
// started, and every open factory PR nudges its run to re-read checks and reviews.
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Config } from '../config/load.js';
import type { ChecksState, PullRequest, ReviewDecision, TrackerIssue } from '../domain/issue.js';
import { BRANCH_PREFIX, issueIdFromBranch, issueWorkflowId } from '../domain/naming.js';
import { isReadyForFactory } from '../domain/triage.js';
import type { Forge } from '../integrations/forge.js';
import type { Tracker } from '../integrations/tracker.js';
import { signalIssue, signalWithStartIssue } from '../temporal/issue-runs.js';
import { isRunOpen } from '../temporal/runs.js';
import type { LinePolicy } from '../workflows/input.js';
import type { TrackerEvent } from '../workflows/messages.js';
import { ISSUE_WORKFLOW_TYPE } from '../workflows/workflow-types.js';

export interface SweepDeps {
  client: Client;
  tracker: Tracker;
  forge: Forge;
  config: Config;
  /** The line's task queue: runs the sweep starts go there. */
  taskQueue: string;
}

export interface ReadyIssuesSweep {
  /** Ready issues that had no open run and were started. */
  started: number;
  /** Ready issues whose run was already open: left alone, not even signalled. */
  alreadyRunning: number;
}

export interface PullRequestsSweep {
  /** Open factory PRs whose run was signalled to re-read the PR. */
  prsSignalled: number;
  /** Open factory PRs with no open run (a human's now): left alone. */
  prsWithoutRun: number;
  /** Runs waiting in the merge gate on a PR that is no longer open (merged or closed, and the
   * webhook lost): nudged once so they read it and finish. */
  gatesOnClosedPrs: number;
}

export interface SweepActivities {
  startReadyIssues(input: { policy: LinePolicy }): Promise<ReadyIssuesSweep>;
  signalOpenPullRequests(): Promise<PullRequestsSweep>;
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
  const { client, tracker, forge, config, taskQueue } = deps;
  const factory = config.factory;

  /** Whether the issue's latest run is open. Describing first keeps open runs' histories free of sweep signals. */
  const hasOpenRun = (issueId: string) => isRunOpen(client, issueWorkflowId(issueId));

  return {
    async startReadyIssues({ policy }) {
      const listed = await tracker.listIssues({ teamKeys: factory.tracker.teams.map((t) => t.key), label: factory.policies.readyLabel });
      // The tracker's query is coarse (label and not completed); the factory's own rule decides.
      const ready = listed.filter((issue) => isReadyForFactory(issue, factory) === null);
      const result: ReadyIssuesSweep = { started: 0, alreadyRunning: 0 };
      // One at a time: a sweep is background work and must not crowd out webhook starts.
      for (const [index, issue] of ready.entries()) {
        Context.current().heartbeat({ phase: 'ready-issues', index, of: ready.length });
        if (await hasOpenRun(issue.id)) {
          result.alreadyRunning += 1;
          continue;
        }
        // A run started by a webhook between the describe and here only receives this event,
        // which its triage treats like any other nudge: signal-with-start never starts twice.
        const event: TrackerEvent = { kind: 'issue-ready', deliveryId: sweepIssueDeliveryId(issue) };
        await signalWithStartIssue({ client, taskQueue, policy }, { id: issue.id, key: issue.key }, event);
        result.started += 1;
      }
      return result;
    },

    async signalOpenPullRequests() {
      const result: PullRequestsSweep = { prsSignalled: 0, prsWithoutRun: 0, gatesOnClosedPrs: 0 };
      const openPrs = new Set<string>();
      for (const repo of factory.repos) {
        const pulls = await forge.listOpenPullRequests(repo.name, BRANCH_PREFIX);
        for (const pr of pulls) openPrs.add(`${repo.name}#${pr.number}`);
        for (const [index, pr] of pulls.entries()) {
          Context.current().heartbeat({ phase: 'pull-requests', repo: repo.name, index, of: pulls.length });
          // The same rule as the gateway: the head branch alone names the issue, with no lookup.
          const issueId = issueIdFromBranch(pr.headRef);
          if (!issueId) continue;
          // A PR left to a human (its run ended) costs one describe, not two forge reads.
          if (!(await hasOpenRun(issueId))) {
            result.prsWithoutRun += 1;
            continue;
          }
          // Read only to tell news from no news (see sweepPullRequestDeliveryId); the run
          // re-reads checks and reviews itself, so nothing read here is trusted by it.
          const [checks, review] = await Promise.all([forge.getChecks(repo.name, pr.headSha, pr.baseRef), forge.getReviews(repo.name, pr.number)]);
          const delivered = await signalIssue(client, issueId, {
            name: 'forge',
            event: { deliveryId: sweepPullRequestDeliveryId({ ...pr, repo: repo.name }, checks.state, review.decision), kind: 'pull-request', prNumber: pr.number, headSha: pr.headSha },
          });
          if (delivered) result.prsSignalled += 1;
          else result.prsWithoutRun += 1;
        }
      }
      // A PR merged or closed by a human whose webhook was lost is not in the open list; its run
      // would wait out its CI or review deadline. Runs are found by their search attributes.
      const query = `WorkflowType = '${ISSUE_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}' AND ConveyorPhase = 'merge-gate'`;
      for await (const run of client.workflow.list({ query })) {
        const pr = (run.searchAttributes as Record<string, unknown[] | undefined>).ConveyorPR?.[0];
        if (typeof pr !== 'string' || openPrs.has(pr)) continue;
        const issueId = run.workflowId.slice(issueWorkflowId('').length);
        const delivered = await signalIssue(client, issueId, { name: 'forge', event: { deliveryId: `sweep:pr-gone:${pr}`, kind: 'pull-request' } });
        if (delivered) result.gatesOnClosedPrs += 1;
      }
      return result;
    },
  };
}
