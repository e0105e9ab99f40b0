// The merge gate: read the PR, decide from CI and review on its current head, merge pinned to
// that head, or wait (with a deadline) for the forge to say something changed.
import { boundText, DEFAULT_PAYLOAD_LIMIT } from '../../domain/bounded-text.js';
import { durationMs } from '../../domain/duration.js';
import type { MergeResult, PullRequestStatus } from '../../domain/issue.js';
import type { EndingsPolicy, LinePolicy } from '../input.js';
import type { Outcome, Routing, Waits } from '../state.js';
import type { Ending, Run } from './run.js';
import { endingsPolicy } from './settle.js';

export type GateVerdict =
  | { kind: 'end'; outcome: Outcome; reason: string }
  | { kind: 'redispatch'; feedback: string }
  | { kind: 'close-synthetic' }
  | { kind: 'merge'; sha: string }
  | { kind: 'wait'; until: number; timeout: Ending };

type GateWaits = Pick<Waits, 'ciSha' | 'ciDeadlineAt' | 'reviewDeadlineAt' | 'reviewSha' | 'refusedSha'>;

/**
 * What the gate does with one read of the PR. Pure: returns the verdict and the waits as they
 * must be from now on (a new head restarts the CI clock, and with `reviewWindowPerHead` the review
 * clock too; without it, as in runs started before that change, the review clock starts once).
 */
export function gateVerdict(
  status: PullRequestStatus,
  waits: GateWaits,
  ctx: { routing: Routing; policy: LinePolicy; now: number; reviewWindowPerHead?: boolean },
): { verdict: GateVerdict; waits: GateWaits } {
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
  // A human reviews a head: a new one (the agent answered CI or a review) gets a whole window.
  if (ctx.reviewWindowPerHead && next.reviewSha !== pr.headSha) {
    next.reviewSha = pr.headSha;
    next.reviewDeadlineAt = now + durationMs(policy.timeouts.review);
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

type RefusalWaits = Pick<Waits, 'refusedSha' | 'mergeRetrySha' | 'mergeRetries'>;

export type RefusalVerdict =
  | { kind: 'reread'; waits: RefusalWaits }
  | { kind: 'retry'; waits: RefusalWaits }
  | { kind: 'redispatch'; feedback: string; waits: RefusalWaits }
  | { kind: 'held'; comment: string; waits: RefusalWaits };

/**
 * What a refused merge means, and the waits from now on. A moved head is read again (the gate
 * decides on the new head); not-yet-mergeable is tried again on the same head a bounded number of
 * times; a conflict goes back to the agent with the files as feedback (a re-dispatch); anything
 * else (branch protection, retries used up) holds that head (`refusedSha`) until it moves, said
 * once on the issue. Pure.
 */
export function refusalVerdict(merge: Extract<MergeResult, { merged: false }>, sha: string, waits: RefusalWaits, policy: Pick<EndingsPolicy, 'mergeRetries'>, baseBranch: string): RefusalVerdict {
  const tried = waits.mergeRetrySha === sha ? (waits.mergeRetries ?? 0) : 0;
  const held = (comment: string): RefusalVerdict => ({ kind: 'held', comment, waits: { refusedSha: sha, mergeRetrySha: sha, mergeRetries: tried } });
  switch (merge.reason) {
    case 'head-moved':
    case 'closed':
      return { kind: 'reread', waits: { ...waits } };
    case 'not-ready':
      if (tried < policy.mergeRetries) return { kind: 'retry', waits: { refusedSha: waits.refusedSha, mergeRetrySha: sha, mergeRetries: tried + 1 } };
      return held(`Conveyor could not merge ${sha.slice(0, 7)} after ${tried} tries (${merge.message}). It waits for a new push or a human.`);
    case 'conflict': {
      const files = merge.conflicts && merge.conflicts.length > 0 ? `\nConflicting files:\n${merge.conflicts.map((f) => `- ${f}`).join('\n')}` : '';
      return {
        kind: 'redispatch',
        feedback: `The branch conflicts with ${baseBranch} at ${sha.slice(0, 7)}: merge origin/${baseBranch} into it and resolve the conflicts.${files}`,
        waits: { refusedSha: sha, mergeRetrySha: null, mergeRetries: 0 },
      };
    }
    case 'not-mergeable':
      return held(`GitHub refused to merge ${sha.slice(0, 7)}: ${merge.message}. Conveyor waits for a new push, a review or a human.`);
  }
}

export async function mergeGate(run: Run): Promise<GateResult> {
  const { state, policy, acts } = run;
  const routing = state.routing!;
  for (;;) {
    run.note('merge-gate', `reading PR #${state.pr!.number}`);
    const seen = run.heard.forge;
    const status = await acts.forge.readPullRequest.executeWithOptions({ summary: `read ${routing.repo}#${state.pr!.number}: head, checks, reviews` }, [{ repo: routing.repo, number: state.pr!.number, baseRef: routing.baseBranch }]);
    state.pr = status.pr;
    const { verdict, waits } = gateVerdict(status, state.waits, { routing, policy, now: Date.now(), reviewWindowPerHead: run.reviewWindowPerHead });
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
        const merge = await acts.forge.mergePullRequest.executeWithOptions({ summary: `merge ${routing.repo}#${status.pr.number} at ${verdict.sha.slice(0, 7)}` }, [{ repo: routing.repo, number: status.pr.number, sha: verdict.sha }]);
        if (merge.merged) return { outcome: 'merged', reason: `merged PR #${status.pr.number} at ${verdict.sha.slice(0, 7)}` };
        run.note('merge-gate', `merge refused (${merge.reason}): ${merge.message}`);
        if (!run.endingsFinal) {
          state.waits.refusedSha = verdict.sha;
          continue;
        }
        const refusal = refusalVerdict(merge, verdict.sha, state.waits, endingsPolicy(run), routing.baseBranch);
        Object.assign(state.waits, refusal.waits);
        if (refusal.kind === 'redispatch') return { redispatch: boundText(refusal.feedback, policy.payloadLimit ?? DEFAULT_PAYLOAD_LIMIT) };
        if (refusal.kind === 'retry') {
          // GitHub is still computing mergeability, or the base just moved: the same head, shortly.
          await run.waitUntil(() => false, Date.now() + durationMs(endingsPolicy(run).mergeRetryBackoff));
        } else if (refusal.kind === 'held') {
          await run.commentOnce(`merge-refused:${verdict.sha}`, refusal.comment);
        }
        continue;
      }
      case 'wait': {
        if (!(await run.waitUntil(() => run.heard.forge > seen, verdict.until))) return verdict.timeout;
      }
    }
  }
}
