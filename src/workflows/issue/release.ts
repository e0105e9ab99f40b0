// The two last stations. Close runs on success; release runs whatever ended the run, in a
// non-cancellable scope: lease returned, worktree removed, and an issue whose dispatch was
// abandoned put back where a human sees it, with a comment saying why.
import type { PullRequest } from '../../domain/issue.js';
import type { IssueRunState, Outcome } from '../state.js';
import { hostGone } from './activities.js';
import { messageOf } from './failures.js';
import { returnLease } from './lease.js';
import type { Ending, Run } from './run.js';

const KEPT_FOR_A_HUMAN: readonly Outcome[] = ['review-timeout', 'ci-timeout', 'redispatch-limit', 'budget-exceeded'];

export interface ReleasePlan {
  cleanupWorkspace: boolean;
  /** The state the issue goes back to, or null to leave it. */
  moveTo: string | null;
  comment: string | null;
}

/** What release must do after `outcome`. Pure. */
export function releasePlan(state: Pick<IssueRunState, 'attempts' | 'pr' | 'routing' | 'branch' | 'reason'>, outcome: Outcome, abortBy: string | null): ReleasePlan {
  const plan: ReleasePlan = { cleanupWorkspace: state.branch !== null && state.routing !== null, moveTo: null, comment: null };
  if (!state.routing) return plan;
  const succeeded = outcome === 'merged' || outcome === 'closed-synthetic';
  // A dispatch abandoned before a PR existed (or whose PR was closed) puts the issue back to
  // ready, so no issue shows "in progress" with no live agent.
  const abandoned = state.attempts > 0 && (!state.pr || outcome === 'pr-closed') && !succeeded;
  if (abandoned) {
    const why = outcome === 'aborted' ? `aborted by ${abortBy ?? 'an operator'}` : `${outcome}: ${state.reason ?? 'no reason recorded'}`;
    const branchNote = state.pr ? ` The branch \`${state.branch}\` is kept for a human.` : '';
    return { ...plan, moveTo: state.routing.states.ready, comment: `Conveyor put this issue back to ready (${why}).${branchNote}` };
  }
  if (state.pr && KEPT_FOR_A_HUMAN.includes(outcome)) {
    return { ...plan, comment: `Conveyor stopped (${outcome}): ${state.reason}. ${state.pr.url} is kept for a human.` };
  }
  return plan;
}

export async function close(run: Run, ending: Ending): Promise<void> {
  if (ending.outcome !== 'merged' && ending.outcome !== 'closed-synthetic') return;
  const { state, acts } = run;
  const routing = state.routing!;
  run.note('closing', ending.reason);
  await acts.tracker.moveIssue({ issueId: state.issueId, stateName: routing.states.done });
  const pr = state.pr as PullRequest;
  await run.commentOnce(
    `closed:${ending.outcome}`,
    ending.outcome === 'merged' ? `Merged in ${pr.url} (${pr.headSha.slice(0, 7)}).` : `Synthetic check passed: ${pr.url} was closed without merge, as synthetic checks always are.`,
  );
  await acts.forge.deleteBranch({ repo: routing.repo, branch: state.branch! });
}

export async function release(run: Run, outcome: Outcome): Promise<void> {
  const { state, acts } = run;
  run.note('releasing', `releasing after ${outcome}`);
  const { step, report } = releaseSteps(run);
  const plan = releasePlan(state, outcome, run.abortBy);
  await step('return the lease', () => returnLease(run));
  if (plan.cleanupWorkspace) await step('remove the worktree', () => removeWorktree(run));
  if (plan.moveTo) await step('move the issue back', () => acts.tracker.moveIssue({ issueId: state.issueId, stateName: plan.moveTo! }));
  if (plan.comment) await step('comment on the issue', () => run.commentOnce(`released:${outcome}`, plan.comment!));
  report();
}

/**
 * Release steps that must all be tried: each failure (already retried by its activity) is kept,
 * not thrown, and `report` notes them all on the run once the last step has run.
 */
export function releaseSteps(run: Run): { step: (what: string, fn: () => Promise<unknown>) => Promise<void>; report: () => void } {
  const failures: string[] = [];
  return {
    async step(what, fn) {
      try {
        await fn();
      } catch (err) {
        failures.push(`${what}: ${messageOf(err)}`);
      }
    },
    report() {
      if (failures.length > 0) run.remember('releasing', `release steps failed: ${failures.join('; ')}`);
    },
  };
}

/**
 * Removes the run's worktree on the host that holds it (host-affinity runs; others on any host).
 * A host that is gone leaves it to its own reaper, which removes worktrees of closed runs at start.
 */
export async function removeWorktree(run: Run): Promise<void> {
  const { state, acts } = run;
  const input = { workflowId: run.workflowId, branch: state.branch!, repo: state.routing!.repo };
  const host = run.hostAffinity ? (state.host ?? null) : null;
  if (!host) return acts.workspace.cleanupWorkspace(input);
  try {
    await acts.onHost(host).cleanupWorkspace(input);
  } catch (err) {
    if (!hostGone(err)) throw err;
    run.remember(state.phase, `host ${host.id} is gone: its reaper removes the worktree when it runs again`);
  }
}
