// A scripted world behind the activity boundary: an in-memory tracker and forge, and agents
// whose behaviour each test writes. Triage uses the real rules over the real config schema,
// so the workflow is exercised exactly as the worker runs it, minus the outside world.
import { Context } from '@temporalio/activity';
import { ApplicationFailure, type Client } from '@temporalio/client';
import type { FactoryConfig } from '../../src/config/factory-schema.js';
import type { ChecksSummary, MergeResult, PullRequest, ReviewSummary, TrackerIssue } from '../../src/domain/issue.js';
import { triage } from '../../src/domain/triage.js';
import type { BlockingIssue } from '../../src/domain/routing.js';
import { foldReviews, type ReviewInput } from '../../src/integrations/github/reviews.js';
import { createFleetActivities } from '../../src/activities/fleet-activities.js';
import { createLedgerActivities } from '../../src/activities/ledger-activities.js';
import { hiddenMarker } from '../../src/activities/line-activities.js';
import type { AgentHost, AgentRunInput, AgentRunResult, FleetActivities, LedgerActivities, LineActivities } from '../../src/workflows/activity-types.js';
import type { FleetCapacity } from '../../src/workflows/messages.js';
import { FACTORY_LOGIN, TEST_REVIEWER, testFactoryConfig } from './line-inputs.js';

export { FACTORY_LOGIN, TEST_REPO, TEST_REVIEWER, makeIssue, testCapacity, testFactoryConfig, testPolicy } from './line-inputs.js';

export interface PrRecord {
  pr: PullRequest;
  checks: ChecksSummary;
  /** Every review submitted, each on the head it was made on (GitHub's `commit_id`). */
  reviews: ReviewInput[];
}

export type ScriptedReviewState = 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED';

type AgentScript = (input: AgentRunInput, world: ScriptedWorld) => Promise<AgentRunResult>;

/** The default agent: commits one change and reports a summary. */
export const committingAgent: AgentScript = async (input, world) => {
  world.pushHead(input.branch);
  return { commits: 1, summary: `did ${input.issue.key}`, costUsd: 0.5 };
};

export class ScriptedWorld {
  readonly issues = new Map<string, TrackerIssue>();
  /** The unfinished issues that block an issue (Linear's "blocked by" relations), by issue id. */
  readonly blockers = new Map<string, BlockingIssue[]>();
  readonly comments: Array<{ issueId: string; body: string }> = [];
  readonly moves: Array<{ issueId: string; stateName: string }> = [];
  readonly prs = new Map<number, PrRecord>();
  readonly heads = new Map<string, string>();
  readonly merges: Array<{ number: number; sha: string; result: MergeResult }> = [];
  readonly agentRuns: AgentRunInput[] = [];
  readonly cleanups: string[] = [];
  readonly deletedBranches: string[] = [];
  runningAgents = 0;
  maxRunningAgents = 0;
  agent: AgentScript = committingAgent;
  /** The fleet this world's worker serves (the line harness sets it): what the fleet activities
   * query and what reviveFleet starts. */
  fleet: { taskQueue: string; capacity: FleetCapacity } | null = null;
  /** Stand-ins for fleet activities, read at each call: a holder check that fails for a while,
   * or a rebuild that looks at another task queue. */
  fleetActivities: Partial<FleetActivities> = {};
  /** Called after each merge gate read, so a test can move the world between reads. */
  onRead: ((record: PrRecord, world: ScriptedWorld) => void) | null = null;
  /** Called before a merge, so a test can push between green and merge. */
  beforeMerge: ((record: PrRecord, world: ScriptedWorld) => void) | null = null;
  /** What CI says about a new head: a test can make the first attempt fail. */
  ciFor: (sha: string, attempt: number) => ChecksSummary = (sha) => ({ sha, state: 'success', failures: [] });
  /** Reviewers without write access: their reviews never count. */
  readonly readOnlyReviewers = new Set<string>();
  /** Answers the forge gives to the next merges, before the scripted rule (head moved or merged). */
  readonly mergeRefusals: MergeResult[] = [];
  /** Pushes made by the publish step, and how many more of them fail first. */
  readonly pushes: string[] = [];
  /** The task queue each publish step ran from (host affinity sends it to the agent's host). */
  readonly publishedOn: string[] = [];
  /** The task queue each worktree removal ran from. */
  readonly cleanedOn: string[] = [];
  failPushes = 0;
  /** Called after a comment is stored: a test can throw, as an attempt that timed out after the write. */
  afterComment: ((body: string) => void) | null = null;
  /** Called before each tracker activity: a test can throw, as a tracker that is down. */
  trackerDown: (() => boolean) | null = null;
  private shaCounter = 0;
  private prCounter = 0;
  private reviewCounter = 0;

  constructor(readonly config: FactoryConfig = testFactoryConfig()) {}

  addIssue(issue: TrackerIssue): TrackerIssue {
    this.issues.set(issue.id, issue);
    return issue;
  }

  editIssue(issueId: string, patch: Partial<TrackerIssue>): void {
    const issue = this.issues.get(issueId);
    if (!issue) throw new Error(`no issue ${issueId}`);
    this.issues.set(issueId, { ...issue, ...patch, updatedAt: new Date().toISOString() });
  }

  /** A new commit on the branch: the PR's head moves and CI starts over for it. */
  pushHead(branch: string): string {
    this.shaCounter += 1;
    const sha = `${this.shaCounter.toString(16).padStart(8, '0')}${'0'.repeat(32)}`;
    this.heads.set(branch, sha);
    for (const record of this.prs.values()) {
      if (record.pr.headRef === branch && record.pr.state === 'open') {
        record.pr = { ...record.pr, headSha: sha };
        record.checks = this.ciFor(sha, this.agentRuns.length);
      }
    }
    return sha;
  }

  /**
   * A human review of PR `number`, made on its current head, as GitHub records it. The gate
   * reads the decision the real `foldReviews` makes of all of them for the head it reads.
   */
  review(number: number, review: { state: ScriptedReviewState; user?: string; body?: string }): ReviewInput {
    const record = this.prs.get(number);
    if (!record) throw new Error(`no PR #${number}`);
    this.reviewCounter += 1;
    const submitted: ReviewInput = { id: this.reviewCounter, user: { login: review.user ?? TEST_REVIEWER }, state: review.state, body: review.body ?? '', commit_id: record.pr.headSha };
    record.reviews.push(submitted);
    return submitted;
  }

  /** The review decision for `headSha` (default: the PR's head now), as the GitHub forge makes it. */
  reviewSummary(record: PrRecord, headSha = record.pr.headSha): ReviewSummary {
    const repo = this.config.repos.find((r) => r.name === record.pr.repo);
    return foldReviews(record.reviews, headSha, {
      factoryLogin: FACTORY_LOGIN,
      hasWriteAccess: (login) => !this.readOnlyReviewers.has(login),
      approvalSurvivesPush: repo?.approvalSurvivesPush ?? false,
    });
  }

  prFor(branch: string): PrRecord | undefined {
    return [...this.prs.values()].find((r) => r.pr.headRef === branch);
  }

  commentsOn(issueId: string): string[] {
    return this.comments.filter((c) => c.issueId === issueId).map((c) => c.body);
  }

  /** The comments on an issue as a human reads them: the hidden marker after each cut off. */
  visibleCommentsOn(issueId: string): string[] {
    return this.commentsOn(issueId).map((c) => c.replace(/\n\n<!-- conveyor:[^>]*-->$/, ''));
  }

  /** How many times an agent was started for the issue. */
  agentRunsFor(issueId: string): number {
    return this.agentRuns.filter((r) => r.issue.id === issueId).length;
  }


  /** The tracker's move, as both the line's activities and the sweep's tracker double make it. */
  moveIssue(issueId: string, stateName: string): void {
    this.moves.push({ issueId, stateName });
    const issue = this.issues.get(issueId);
    if (issue) this.issues.set(issueId, { ...issue, state: { name: stateName, type: stateName === 'Todo' ? 'unstarted' : stateName === 'Done' ? 'completed' : 'started' } });
  }

  /** Labels added and removed, as the tracker does it (idempotent). */
  relabel(issueId: string, add: string[], remove: string[]): void {
    const issue = this.issues.get(issueId);
    if (!issue) return;
    const labels = [...issue.labels.filter((l) => !remove.includes(l)), ...add.filter((l) => !issue.labels.includes(l))];
    this.issues.set(issueId, { ...issue, labels, updatedAt: new Date().toISOString() });
  }

  movesOf(issueId: string): string[] {
    return this.moves.filter((m) => m.issueId === issueId).map((m) => m.stateName);
  }

  /**
   * The activities of one worker of the world. `host` names the host the worker stands for (read
   * at each agent run, so a test can hand the shared queue to another host): an agent's result
   * carries it, as the real line activities do with their worker's host.
   */
  activities(client: Client, options: { host?: () => AgentHost } = {}): LineActivities & FleetActivities & LedgerActivities {
    // The activities close over the world; arrow functions would lose their names in errors.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const world = this;
    const fleet = (): FleetActivities => {
      if (!world.fleet) throw new Error('ScriptedWorld.fleet is not set: set it before the worker runs (createLine does)');
      return { ...createFleetActivities({ client, ...world.fleet }), ...world.fleetActivities };
    };
    const tracker = () => {
      if (world.trackerDown?.()) throw ApplicationFailure.create({ type: 'transient', message: 'the tracker is down (scripted outage)' });
    };
    return {
      ...createLedgerActivities({ client }),
      async findClosedHolders(input) {
        return fleet().findClosedHolders(input);
      },
      async listLeaseHolders() {
        return fleet().listLeaseHolders();
      },
      async reviveFleet() {
        return fleet().reviveFleet();
      },
      async claimLease(input) {
        return fleet().claimLease(input);
      },
      async triageIssue({ issueId }) {
        tracker();
        const issue = world.issues.get(issueId);
        if (!issue) throw ApplicationFailure.create({ type: 'logic', message: `issue ${issueId} not found`, nonRetryable: true });
        const branchPr = [...world.prs.values()].find((r) => r.pr.headRef.endsWith(issue.id))?.pr ?? null;
        const blockedBy = world.blockers.get(issueId) ?? [];
        return triage(issue, world.config, { existingPr: branchPr, blockedBy });
      },
      async moveIssue({ issueId, stateName }) {
        tracker();
        world.moveIssue(issueId, stateName);
      },
      async commentOnIssue({ issueId, body, marker }) {
        tracker();
        const hidden = marker ? hiddenMarker(marker) : null;
        if (hidden && world.comments.some((c) => c.issueId === issueId && c.body.includes(hidden))) return;
        const text = hidden ? `${body}\n\n${hidden}` : body;
        world.comments.push({ issueId, body: text });
        world.afterComment?.(text);
      },
      async relabelIssue({ issueId, add, remove }) {
        tracker();
        world.relabel(issueId, add, remove);
      },
      async runAgent(input) {
        world.agentRuns.push(input);
        world.runningAgents += 1;
        world.maxRunningAgents = Math.max(world.maxRunningAgents, world.runningAgents);
        try {
          const host = options.host?.();
          const result = await world.agent(input, world);
          return host ? { ...result, host } : result;
        } finally {
          world.runningAgents -= 1;
        }
      },
      async publishPullRequest({ routing, branch, push }) {
        world.publishedOn.push(Context.current().info.taskQueue);
        if (push) {
          if (world.failPushes > 0) {
            world.failPushes -= 1;
            throw ApplicationFailure.create({ type: 'transient', message: 'git push failed: the remote hung up (scripted)' });
          }
          world.pushes.push(branch);
        }
        const existing = world.prFor(branch);
        if (existing && existing.pr.state === 'open') return existing.pr;
        world.prCounter += 1;
        const headSha = world.heads.get(branch) ?? world.pushHead(branch);
        const pr: PullRequest = {
          number: world.prCounter,
          url: `https://github.example/${routing.repo}/pull/${world.prCounter}`,
          repo: routing.repo,
          headRef: branch,
          headSha,
          baseRef: routing.baseBranch,
          state: 'open',
          merged: false,
          draft: false,
          mergeable: true,
        };
        world.prs.set(pr.number, { pr, checks: world.ciFor(headSha, world.agentRuns.length), reviews: [] });
        return pr;
      },
      async readPullRequest({ number }) {
        const record = world.prs.get(number);
        if (!record) throw ApplicationFailure.create({ type: 'logic', message: `no PR #${number}`, nonRetryable: true });
        const snapshot = { ...structuredClone({ pr: record.pr, checks: record.checks }), review: world.reviewSummary(record) };
        world.onRead?.(record, world);
        return snapshot;
      },
      async mergePullRequest({ number, sha }) {
        const record = world.prs.get(number)!;
        world.beforeMerge?.(record, world);
        const refusal = world.mergeRefusals.shift();
        const result: MergeResult = refusal
          ? refusal
          : record.pr.headSha !== sha
            ? { merged: false, reason: 'head-moved', message: 'Head branch was modified. Review and try the merge again.' }
            : { merged: true, sha: `merge-of-${sha}` };
        if (result.merged) record.pr = { ...record.pr, state: 'closed', merged: true };
        world.merges.push({ number, sha, result });
        return result;
      },
      async closePullRequest({ number }) {
        const record = world.prs.get(number)!;
        record.pr = { ...record.pr, state: 'closed' };
      },
      async deleteBranch({ branch }) {
        world.deletedBranches.push(branch);
      },
      async prepareWorkspace() {
        // Nothing to prepare in a scripted world: its agents edit no files.
      },
      async cleanupWorkspace({ workflowId }) {
        world.cleanups.push(workflowId);
        world.cleanedOn.push(Context.current().info.taskQueue);
      },
    };
  }
}

/** An agent that heartbeats until cancelled, so a test can abort it mid-run. */
export const hangingAgent: AgentScript = async () => {
  const ctx = Context.current();
  for (;;) {
    ctx.heartbeat();
    await ctx.sleep(100);
  }
};
