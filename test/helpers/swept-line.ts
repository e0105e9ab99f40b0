// A scripted line with the sweep's real activities on the line's own worker, over Tracker and
// Forge doubles of the line's world: what the sweep and the endings scenarios run on.
import type { Client } from '@temporalio/client';
import { createSweepActivities, type SweepActivities } from '../../src/activities/sweep-activities.js';
import type { Config } from '../../src/config/load.js';
import { temporalSchema } from '../../src/config/temporal-schema.js';
import type { PullRequest, TrackerIssue } from '../../src/domain/issue.js';
import { issueWorkflowId } from '../../src/domain/naming.js';
import type { Workspaces } from '../../src/integrations/agent.js';
import type { Forge } from '../../src/integrations/forge.js';
import type { Tracker } from '../../src/integrations/tracker.js';
import { runSweepNow } from '../../src/temporal/sweep-schedule.js';
import type { SweepSummary } from '../../src/workflows/sweep-workflow.js';
import { createLine, type Line } from './line-harness.js';
import { ScriptedWorld } from './scripted-line.js';

const notUsed = (what: string) => async (): Promise<never> => {
  throw new Error(`the sweep does not call ${what}`);
};

/** The tracker as the sweep sees it: Linear's coarse query (label, not completed), and the
 * moves and comments of compensation, into the same world the line's activities write. */
function trackerOver(world: ScriptedWorld): Tracker {
  return {
    async listIssues({ teamKeys, label }) {
      return [...world.issues.values()].filter(
        (i) => teamKeys.includes(i.team.key) && i.labels.includes(label) && i.state.type !== 'completed' && i.state.type !== 'canceled',
      );
    },
    async moveIssue(issueId, stateName) {
      world.moveIssue(issueId, stateName);
    },
    async comment(issueId, body) {
      world.comments.push({ issueId, body });
    },
    async hasComment(issueId, text) {
      return world.commentsOn(issueId).some((body) => body.includes(text));
    },
    getIssue: notUsed('Tracker.getIssue'),
    async getBlockingRelations(issueId) {
      // The world keeps the unfinished blockers only: a finished one is simply gone from it.
      const blockedBy = (world.blockers.get(issueId) ?? []).map((b) => ({ id: b.id, key: b.key, state: { name: b.state, type: 'started' as const } }));
      return { blockedBy, blocks: [] };
    },
    async addLabel(issueId, label) {
      world.relabel(issueId, [label], []);
    },
    async removeLabel(issueId, label) {
      world.relabel(issueId, [], [label]);
    },
  };
}

function forgeOver(world: ScriptedWorld): Forge {
  const record = (repo: string, match: (pr: PullRequest) => boolean) => {
    const found = [...world.prs.values()].find((r) => r.pr.repo === repo && match(r.pr));
    if (!found) throw new Error(`no PR in ${repo} matches`);
    return found;
  };
  return {
    async listOpenPullRequests(repo, headPrefix) {
      return [...world.prs.values()].map((r) => r.pr).filter((pr) => pr.repo === repo && pr.state === 'open' && pr.headRef.startsWith(headPrefix));
    },
    async getChecks(repo, sha) {
      return record(repo, (pr) => pr.headSha === sha).checks;
    },
    async getReviews(repo, number, headSha) {
      return world.reviewSummary(record(repo, (pr) => pr.number === number), headSha);
    },
    async findPullRequest(repo, headBranch) {
      const matching = [...world.prs.values()].map((r) => r.pr).filter((pr) => pr.repo === repo && pr.headRef === headBranch).sort((a, b) => b.number - a.number);
      return matching.find((pr) => pr.state === 'open') ?? matching[0] ?? null;
    },
    cloneUrl: () => {
      throw new Error('the sweep does not call Forge.cloneUrl');
    },
    pullHistory: notUsed('Forge.pullHistory'),
    factoryLogin: notUsed('Forge.factoryLogin'),
    gitAuthEnv: notUsed('Forge.gitAuthEnv'),
    pushBranch: notUsed('Forge.pushBranch'),
    openPullRequest: notUsed('Forge.openPullRequest'),
    getPullRequest: notUsed('Forge.getPullRequest'),
    merge: notUsed('Forge.merge'),
    closePullRequest: notUsed('Forge.closePullRequest'),
    hasComment: notUsed('Forge.hasComment'),
    deleteBranch: notUsed('Forge.deleteBranch'),
    comment: notUsed('Forge.comment'),
  };
}

/** The line's world with the sweep's activities on the line's own worker. */
export class SweptWorld extends ScriptedWorld {
  /** The line builds its worker from activities() before its task queue is known to the test. */
  taskQueue: string | null = null;
  /** Worktrees the sweep removed. */
  readonly removedWorktrees: Array<{ repo: string; branch: string; key: string }> = [];

  workspaces(): Workspaces {
    return {
      prepare: notUsed('Workspaces.prepare'),
      find: notUsed('Workspaces.find'),
      finalize: notUsed('Workspaces.finalize'),
      remove: async (input) => {
        this.removedWorktrees.push(input);
      },
    };
  }

  override activities(client: Client) {
    // Made once, on the first sweep (the task queue is set after createLine), and kept, as a
    // worker keeps its activities: the sweep remembers the nudges it sent.
    let made: SweepActivities | undefined;
    const sweep = (): SweepActivities => (made ??= this.makeSweep(client));
    return {
      ...super.activities(client),
      startReadyIssues: (input: Parameters<SweepActivities['startReadyIssues']>[0]) => sweep().startReadyIssues(input),
      signalOpenPullRequests: () => sweep().signalOpenPullRequests(),
      compensateClosedRuns: () => sweep().compensateClosedRuns(),
    };
  }

  private makeSweep(client: Client): SweepActivities {
    if (!this.taskQueue) throw new Error('SweptWorld.taskQueue is not set: set it right after createLine');
    const config: Config = {
      profile: 'sandbox',
      root: '/nonexistent',
      temporal: temporalSchema.parse({}),
      factory: this.config,
      taskQueue: this.taskQueue,
      files: { temporal: 'temporal.yaml', factory: 'factory.yaml' },
    };
    return createSweepActivities({ client, tracker: trackerOver(this), forge: forgeOver(this), workspaces: this.workspaces(), redact: (text) => text, config, taskQueue: this.taskQueue });
  }
}

export async function sweptLine(name: string, world = new SweptWorld(), policy: Parameters<typeof createLine>[0]['policy'] = {}): Promise<Line & { world: SweptWorld }> {
  // Long CI and review deadlines: runs wait at the merge gate while the test sweeps.
  const line = await createLine({ name, world, policy: { ci: '5m', review: '5m', escalation: '5m', ...policy } });
  world.taskQueue = line.taskQueue;
  return { ...line, world };
}

export const sweep = (line: Line): Promise<SweepSummary> => runSweepNow(line.client, { taskQueue: line.taskQueue, policy: line.policy });

export async function runsOf(line: Line, issue: Pick<TrackerIssue, 'id'>): Promise<string[]> {
  const runs: string[] = [];
  for await (const run of line.client.workflow.list({ query: `WorkflowId = '${issueWorkflowId(issue.id)}'` })) runs.push(run.runId);
  return runs;
}

