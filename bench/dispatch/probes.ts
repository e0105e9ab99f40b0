// Timestamps from inside the worker's activities, taken by wrapping the integrations the real
// activities are built over (createConveyorWorker takes them as a dependency), so nothing in
// src/ is patched. They split what the run's history shows as one activity: the triage read
// into its tracker and forge calls, and runAgent into worktree preparation (waiting for the
// repo mirror's lock, then git) and the agent's spawn.
import { basename } from 'node:path';
import { issueKeyFromBranch } from '../../src/domain/naming.js';
import type { Integrations } from '../../src/workers/integrations.js';

export type ProbeName = 'getIssue' | 'findPullRequest' | 'moveIssue' | 'prepare' | 'agentRun';

export interface Span {
  start: number;
  end: number;
}

/** One operation on a repo's mirror: prepare and remove run one at a time per mirror. */
interface MirrorOp extends Span {
  repo: string;
  kind: 'prepare' | 'remove';
  key: string;
}

export class Probes {
  /** By issue id (tracker calls) or lowercased issue key (git and agent calls), first call only. */
  private readonly spans = new Map<string, Partial<Record<ProbeName, Span>>>();
  private readonly mirrorOps: MirrorOp[] = [];

  span(key: string, name: ProbeName): Span | undefined {
    return this.spans.get(key)?.[name];
  }

  /**
   * When a prepare got the mirror's lock. The workspaces take one lock per mirror in call order,
   * so an operation starts its work when it was called or when the one called before it on the
   * same mirror ended, whichever is later.
   */
  prepareLockAcquired(key: string): number | undefined {
    const own = this.mirrorOps.find((op) => op.kind === 'prepare' && op.key === key);
    if (!own) return undefined;
    let free = 0;
    for (const op of this.mirrorOps) {
      if (op.repo !== own.repo) continue;
      if (op === own) return Math.max(op.start, free);
      free = Math.max(free, op.end);
    }
    return undefined;
  }

  /** Forget what a finished round recorded. */
  clear(): void {
    this.spans.clear();
    this.mirrorOps.length = 0;
  }

  private async time<T>(key: string, name: ProbeName, fn: () => Promise<T>, mirror?: { repo: string; kind: 'prepare' | 'remove' }): Promise<T> {
    const start = Date.now();
    // Pushed at call time, so the list is in the order the lock is asked for.
    const op: MirrorOp | undefined = mirror ? { ...mirror, key, start, end: Number.POSITIVE_INFINITY } : undefined;
    if (op) this.mirrorOps.push(op);
    try {
      return await fn();
    } finally {
      const end = Date.now();
      if (op) op.end = end;
      const spans = this.spans.get(key) ?? {};
      spans[name] ??= { start, end };
      this.spans.set(key, spans);
    }
  }

  /** The same integrations, with the calls on a dispatch's path timed. */
  instrument(integrations: Integrations): Integrations {
    const { tracker, forge, workspaces, agents } = integrations;
    return {
      ...integrations,
      tracker: {
        ...tracker,
        getIssue: (issueId) => this.time(issueId, 'getIssue', () => tracker.getIssue(issueId)),
        moveIssue: (issueId, stateName) => this.time(issueId, 'moveIssue', () => tracker.moveIssue(issueId, stateName)),
      },
      forge: {
        ...forge,
        findPullRequest: (repo, branch) => this.time(issueKeyFromBranch(branch) ?? branch, 'findPullRequest', () => forge.findPullRequest(repo, branch)),
      },
      workspaces: {
        ...workspaces,
        prepare: (input) => this.time(input.key.toLowerCase(), 'prepare', () => workspaces.prepare(input), { repo: input.repo, kind: 'prepare' }),
        remove: (input) => this.time(`remove:${input.key.toLowerCase()}`, 'prepare', () => workspaces.remove(input), { repo: input.repo, kind: 'remove' }),
      },
      agents: {
        run: (request) => this.time(basename(request.worktree.path), 'agentRun', () => agents.run(request)),
      },
    };
  }
}
