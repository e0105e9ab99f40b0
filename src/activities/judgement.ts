// Triage as the factory runs it: the issue, its blockers and its repo's graduation read fresh
// from the tracker and the forge, then the pure rules of `domain/triage.ts`. The triage
// activity and `conveyor triage` both go through here, so the dry run shows exactly what a run
// would decide.
import type { FactoryConfig } from '../config/factory-schema.js';
import { graduationEvidence, type GraduationEvidence } from '../domain/graduation.js';
import { isFinishedState, type PullRequest, type TrackerIssue } from '../domain/issue.js';
import { BRANCH_PREFIX, branchForIssue } from '../domain/naming.js';
import type { BlockingIssue } from '../domain/routing.js';
import { explainRoute, triage } from '../domain/triage.js';
import type { Forge } from '../integrations/forge.js';
import type { Tracker } from '../integrations/tracker.js';
import type { TriageResult } from '../workflows/activity-types.js';

/** Pull requests read per repo to count graduation: the newest ones. Older merges are not
 * counted; a repo this busy has long graduated or has a reason not to. */
export const GRADUATION_HISTORY = 100;
/** How long a repo's graduation, once read, is reused (the worker's judge; 0 reads every time). */
export const GRADUATION_TTL_MS = 5 * 60_000;
/** Issues followed up a chain of blockers looking for a cycle. */
const MAX_CHAIN = 25;


export interface Judge {
  /** Triage one issue, read fresh. */
  triageIssue(issueId: string): Promise<TriageResult>;
  /** Triage an issue already read (the `--all` listing carries everything triage needs). */
  triageRead(issue: TrackerIssue): Promise<TriageResult>;
  /** Where a repo stands on its way to autonomous merge, and which PRs count. */
  graduation(repo: string): Promise<GraduationEvidence>;
  /** Issue ids this one blocks that are not finished: the runs to tell when it changes. */
  blockedBy(issueId: string): Promise<Array<{ id: string; key: string }>>;
}

/** The unfinished issues `issueId` blocks, as the gateway asks when an issue finishes. */
export function blockedIssuesOf(tracker: Tracker): (issueId: string) => Promise<Array<{ id: string; key: string }>> {
  return async (issueId) => {
    const relations = await tracker.getBlockingRelations(issueId);
    return relations.blocks.filter((b) => !isFinishedState(b.state.type)).map((b) => ({ id: b.id, key: b.key }));
  };
}

export function createJudge(deps: { tracker: Tracker; forge: Forge; factory: FactoryConfig; graduationTtlMs?: number }): Judge {
  const { tracker, forge, factory } = deps;
  // Graduation moves when a human merges a factory PR, so a few minutes' reuse costs little and
  // spares the forge a history read per triage (a dry run over a backlog asks per issue).
  const ttlMs = deps.graduationTtlMs ?? GRADUATION_TTL_MS;
  const graduationCache = new Map<string, { at: number; evidence: Promise<GraduationEvidence> }>();

  async function readGraduation(repo: string): Promise<GraduationEvidence> {
    const needed = factory.repos.find((r) => r.name === repo)?.graduation.cleanMerges ?? 0;
    if (needed === 0) return { repo, counted: [], excluded: [], merged: 0, needed: 0, graduated: true };
    const [history, factoryLogin] = await Promise.all([forge.pullHistory(repo, { limit: GRADUATION_HISTORY, mergedByFor: BRANCH_PREFIX }), forge.factoryLogin()]);
    return graduationEvidence({ repo, history, factoryPrefix: BRANCH_PREFIX, factoryLogin, needed });
  }

  function graduation(repo: string): Promise<GraduationEvidence> {
    const cached = graduationCache.get(repo);
    if (cached && Date.now() - cached.at < ttlMs) return cached.evidence;
    const evidence = readGraduation(repo);
    graduationCache.set(repo, { at: Date.now(), evidence });
    evidence.catch(() => graduationCache.delete(repo));
    return evidence;
  }

  /** Unfinished blockers, and a cycle through this issue if following them leads back to it. */
  async function blockers(issue: TrackerIssue): Promise<{ blockedBy: BlockingIssue[]; cycle: string[] | null }> {
    const relations = await tracker.getBlockingRelations(issue.id);
    const open = relations.blockedBy.filter((b) => !isFinishedState(b.state.type));
    const blockedBy = open.map((b) => ({ id: b.id, key: b.key, state: b.state.name })).sort((x, y) => x.key.localeCompare(y.key, 'en', { numeric: true }));
    if (open.length === 0) return { blockedBy, cycle: null };
    // Breadth-first up the chain of unfinished blockers: reaching this issue again is a cycle
    // no one can finish, which must be escalated rather than waited on.
    const parents = new Map<string, { key: string; via: string | null }>([[issue.id, { key: issue.key, via: null }]]);
    let frontier = open.map((b) => ({ id: b.id, key: b.key, via: issue.id }));
    while (frontier.length > 0 && parents.size < MAX_CHAIN) {
      const next: typeof frontier = [];
      for (const node of frontier) {
        if (node.id === issue.id) {
          // Each step's `via` is the issue it blocks: read forward, the path is "blocks" order.
          const path = [issue.key];
          for (let at: string | null = node.via; at && at !== issue.id; at = parents.get(at)?.via ?? null) path.push(parents.get(at)?.key ?? at);
          return { blockedBy, cycle: [...path, issue.key] };
        }
        if (parents.has(node.id)) continue;
        parents.set(node.id, { key: node.key, via: node.via });
        const up = await tracker.getBlockingRelations(node.id);
        next.push(...up.blockedBy.filter((b) => !isFinishedState(b.state.type)).map((b) => ({ id: b.id, key: b.key, via: node.id })));
      }
      frontier = next;
    }
    return { blockedBy, cycle: null };
  }

  async function existingPr(issue: TrackerIssue, repos: string[]): Promise<PullRequest | null> {
    const branch = branchForIssue(issue.key, issue.id);
    for (const repo of repos) {
      const pr = await forge.findPullRequest(repo, branch);
      if (pr && (pr.state === 'open' || pr.merged)) return pr;
    }
    return null;
  }

  async function triageRead(issue: TrackerIssue): Promise<TriageResult> {
    const route = explainRoute(issue, factory);
    // Unroutable: the PR, if any, may be in any of the repos a human could have meant.
    const prRepos = route.repo ? [route.repo] : route.candidates;
    const repoConfig = route.repo ? factory.repos.find((r) => r.name === route.repo) : undefined;
    const [pr, blocking, grad] = await Promise.all([
      existingPr(issue, prRepos),
      blockers(issue),
      repoConfig?.mergePolicy === 'on-green-with-review' ? graduation(repoConfig.name) : Promise.resolve(null),
    ]);
    const result = triage(issue, factory, {
      existingPr: pr,
      blockedBy: blocking.blockedBy,
      graduation: grad ? { repo: grad.repo, merged: grad.merged, needed: grad.needed } : null,
    });
    if (blocking.cycle && result.category === 'blocked') {
      const cycle = blocking.cycle.join(' blocks ');
      return { ...result, blockerCycle: blocking.cycle, reason: `the issue is in a cycle of blockers (${cycle}): none of them can finish first. Remove one of the "blocks" relations in Linear` };
    }
    return result;
  }

  return {
    triageRead,
    async triageIssue(issueId) {
      return triageRead(await tracker.getIssue(issueId));
    },
    graduation,
    blockedBy: blockedIssuesOf(tracker),
  };
}
