// The wedge signal and the gate-read verdict as pure functions, without Temporal: a fleet is
// wedged when runs wait and a whole window passed with no dispatch and no completion; slow
// agents alone, an idle line, or a window not yet observed whole are not wedged.
import { describe, expect, it } from 'vitest';
import { gateReadVerdict, progressOver, type ProgressSample } from '../../src/workers/worker-metrics.js';
import type { PullRequestStatus } from '../../src/domain/issue.js';

const MIN = 60_000;
const sample = (at: number, grantsTotal: number | null, completions: number | null, queued: number | null): ProgressSample => ({ at: at * MIN, grantsTotal, completions, queued });

describe('progressOver', () => {
  it('counts dispatches as the growth of the fleet counter over the window', () => {
    const progress = progressOver([sample(0, 4, 0, 1), sample(10, 6, 0, 1), sample(30, 9, 1, 1)], 30 * MIN);
    expect(progress).toEqual({ dispatches: 5, completions: 1, windowCovered: true, wedged: false });
  });

  it('calls it wedged when runs wait and the whole window saw no dispatch and no completion', () => {
    expect(progressOver([sample(0, 7, 0, 2), sample(15, 7, 0, 3), sample(30, 7, 0, 4)], 30 * MIN).wedged).toBe(true);
  });

  it('does not before the window was observed whole', () => {
    expect(progressOver([sample(0, 7, 0, 2), sample(10, 7, 0, 3)], 30 * MIN)).toMatchObject({ windowCovered: false, wedged: false });
  });

  it('does not when nothing waits (an idle line), or when something completed', () => {
    expect(progressOver([sample(0, 7, 0, 0), sample(30, 7, 0, 0)], 30 * MIN).wedged).toBe(false);
    expect(progressOver([sample(0, 7, 0, 3), sample(30, 7, 1, 3)], 30 * MIN).wedged).toBe(false);
  });

  it('reads a drop of the fleet counter as a revived fleet counting from zero', () => {
    expect(progressOver([sample(0, 40, 0, 1), sample(30, 2, 0, 1)], 30 * MIN).dispatches).toBe(2);
  });

  it('counts no dispatches while the fleet does not answer', () => {
    expect(progressOver([sample(0, 5, 0, 1), sample(30, null, 0, 1)], 30 * MIN)).toMatchObject({ dispatches: 0, wedged: true });
  });
});

describe('gateReadVerdict', () => {
  const status = (over: { merged?: boolean; state?: 'open' | 'closed'; checks?: 'success' | 'failure' | 'pending'; decision?: string }): PullRequestStatus =>
    ({
      pr: { merged: over.merged ?? false, state: over.state ?? 'open' },
      checks: { state: over.checks ?? 'success', sha: 'a', failures: [] },
      review: { decision: over.decision ?? 'REVIEW_REQUIRED', requestedChanges: [] },
    }) as unknown as PullRequestStatus;

  it('weighs a read in the order the gate does', () => {
    expect(gateReadVerdict(status({ merged: true, state: 'closed', checks: 'failure' }))).toBe('merged');
    expect(gateReadVerdict(status({ state: 'closed' }))).toBe('closed');
    expect(gateReadVerdict(status({ checks: 'failure', decision: 'APPROVED' }))).toBe('ci-red');
    expect(gateReadVerdict(status({ checks: 'pending', decision: 'APPROVED' }))).toBe('ci-pending');
    expect(gateReadVerdict(status({ decision: 'CHANGES_REQUESTED' }))).toBe('changes-requested');
    expect(gateReadVerdict(status({ decision: 'APPROVED' }))).toBe('approved');
    expect(gateReadVerdict(status({}))).toBe('awaiting-review');
  });
});
