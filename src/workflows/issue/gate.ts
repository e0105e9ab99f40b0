// The merge gate: read the PR, decide from CI and review on its current head, merge pinned to
// that head, or wait (with a deadline) for the forge to say something changed.
import { boundText, DEFAULT_PAYLOAD_LIMIT } from '../../domain/bounded-text.js';
import { durationMs } from '../../domain/duration.js';
import type { PullRequestStatus } from '../../domain/issue.js';
import type { LinePolicy } from '../input.js';
import type { Outcome, Routing, Waits } from '../state.js';
import type { Ending, Run } from './run.js';

export type GateVerdict =
  | { kind: 'end'; outcome: Outcome; reason: string }
  | { kind: 'redispatch'; feedback: string }
  | { kind: 'close-synthetic' }
  | { kind: 'merge'; sha: string }
  | { kind: 'wait'; until: number; timeout: Ending };

type GateWaits = Pick<Waits, 'ciSha' | 'ciDeadlineAt' | 'reviewDeadlineAt' | 'refusedSha'>;

/**
 * What the gate does with one read of the PR. Pure: returns the verdict and the waits as they
 * must be from now on (a new head restarts the CI clock; the review clock starts once).
 */
export function gateVerdict(status: PullRequestStatus, waits: GateWaits, ctx: { routing: Routing; policy: LinePolicy; now: number }): { verdict: GateVerdict; waits: GateWaits } {
  const { pr, checks, review } = status;
  const { routing, policy, now } = ctx;
  const next = { ...waits };
  const end = (outcome: Outcome, reason: string) => ({ verdict: { kind: 'end', outcome, reason } as const, waits: next });
  if (pr.merged) return end('merged', `PR #${pr.number} was merged`);
  if (pr.state === 'closed') return end('pr-closed', `PR #${pr.number} was closed without merge`);

  if (checks.state === 'failure') {
    const failures = checks.failures.map((f) => `- ${f.name}: ${f.summary}`).join('\n');
    return { verdict: { kind: 'redispatch', feedback: boundText(`CI failed on ${checks.sha.slice(0, 7)}:\n${failures}`, policy.payloadLimit ?? DEFAULT_PAYLOAD_LIMIT) }, waits: next };
  }
  if (checks.state === 'pending') {
    if (next.ciSha !== checks.sha) {
      next.ciSha = checks.sha;
      next.ciDeadlineAt = now + durationMs(policy.timeouts.ci);
    }
    const reason = `CI did not finish on ${checks.sha.slice(0, 7)} within ${policy.timeouts.ci}`;
    return { verdict: { kind: 'wait', until: next.ciDeadlineAt!, timeout: { outcome: 'ci-timeout', reason } }, waits: next };
  }
  if (routing.synthetic) return { verdict: { kind: 'close-synthetic' }, waits: next };
  if (review.decision === 'CHANGES_REQUESTED') {
    const asked = review.requestedChanges.map((c) => `- ${c}`).join('\n');
    return { verdict: { kind: 'redispatch', feedback: boundText(`Changes requested in review:\n${asked}`, policy.payloadLimit ?? DEFAULT_PAYLOAD_LIMIT) }, waits: next };
  }
  next.reviewDeadlineAt ??= now + durationMs(policy.timeouts.review);
  if (routing.mergePolicy === 'on-green-with-review' && review.decision === 'APPROVED' && next.refusedSha !== pr.headSha) {
    // Pinned to the SHA the checks and the review were read for: a push in between makes the forge refuse.
    return { verdict: { kind: 'merge', sha: pr.headSha }, waits: next };
  }
  const reason = `no approved review within ${policy.timeouts.review}; the PR is kept for a human`;
  return { verdict: { kind: 'wait', until: next.reviewDeadlineAt, timeout: { outcome: 'review-timeout', reason } }, waits: next };
}

export type GateResult = Ending | { redispatch: string };

export async function mergeGate(run: Run): Promise<GateResult> {
  const { state, policy, acts } = run;
  const routing = state.routing!;
  for (;;) {
    run.note('merge-gate', `reading PR #${state.pr!.number}`);
    const seen = run.heard.forge;
    const status = await acts.forge.readPullRequest({ repo: routing.repo, number: state.pr!.number, baseRef: routing.baseBranch });
    state.pr = status.pr;
    const { verdict, waits } = gateVerdict(status, state.waits, { routing, policy, now: Date.now() });
    Object.assign(state.waits, waits);
    switch (verdict.kind) {
      case 'end':
        return { outcome: verdict.outcome, reason: verdict.reason };
      case 'redispatch':
        return { redispatch: verdict.feedback };
      case 'close-synthetic':
        await acts.forge.closePullRequest({ repo: routing.repo, number: status.pr.number, comment: 'Synthetic end-to-end check passed; closed by Conveyor, never merged.' });
        return { outcome: 'closed-synthetic', reason: `checks green on ${status.checks.sha.slice(0, 7)}; synthetic issue closed without merge` };
      case 'merge': {
        const merge = await acts.forge.mergePullRequest({ repo: routing.repo, number: status.pr.number, sha: verdict.sha });
        if (merge.merged) return { outcome: 'merged', reason: `merged PR #${status.pr.number} at ${verdict.sha.slice(0, 7)}` };
        state.waits.refusedSha = verdict.sha;
        run.note('merge-gate', `merge refused (${merge.reason}): ${merge.message}`);
        continue;
      }
      case 'wait': {
        if (!(await run.waitUntil(() => run.heard.forge > seen, verdict.until))) return verdict.timeout;
      }
    }
  }
}
