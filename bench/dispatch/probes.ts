// Timestamps from inside the worker's activities, taken by wrapping the integrations the real
// activities are built over (createConveyorWorker takes them as a dependency), so nothing in
// src/ is patched. They split what the run's history shows as one activity: the triage read
// into its tracker and forge calls, and runAgent into worktree preparation and the agent's
// spawn.
import { basename } from 'node:path';
import { issueKeyFromBranch } from '../../src/domain/naming.js';
import type { Integrations } from '../../src/workers/integrations.js';

export type ProbeName = 'getIssue' | 'findPullRequest' | 'moveIssue' | 'prepare' | 'agentRun';

export interface Span {
  start: number;
  end: number;
}

export class Probes {
  /** By issue id (tracker calls) or lowercased issue key (git and agent calls), first call only. */
  private readonly spans = new Map<string, Partial<Record<ProbeName, Span>>>();

  span(key: string, name: ProbeName): Span | undefined {
    return this.spans.get(key)?.[name];
  }

  /** Forget what a finished round recorded. */
  clear(): void {
    this.spans.clear();
  }

  private async time<T>(key: string, name: ProbeName, fn: () => Promise<T>): Promise<T> {
    const start = Date.now();
    try {
      return await fn();
    } finally {
      const end = Date.now();
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
        prepare: (input) => this.time(input.key.toLowerCase(), 'prepare', () => workspaces.prepare(input)),
      },
      agents: {
        run: (request) => this.time(basename(request.worktree.path), 'agentRun', () => agents.run(request)),
      },
    };
  }
}
