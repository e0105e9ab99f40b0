// `conveyor failures`: the breakdown by class, repo and day comes from Temporal visibility (the
// ConveyorFailureClass each failed run records), and more than 20% unknown raises the alert.
// The query runs against the real dev server: runs are started with the search attributes a
// failed run publishes (no worker picks them up), some closed, one outside the window.
import { describe, expect, it } from 'vitest';
import { failureReport, formatFailures, summarizeFailures, type FailureRow } from '../../src/temporal/failure-report.js';
import { FailureClassKey, IssueKey, Repo } from '../../src/workflows/search-attributes.js';
import { ISSUE_WORKFLOW_TYPE } from '../../src/workflows/workflow-types.js';
import { eventually, testClient, uniqueId, uniqueTaskQueue } from '../helpers/temporal.js';

const DAY = 86_400_000;
const now = Date.parse('2026-11-30T12:00:00Z');
const row = (failureClass: FailureRow['failureClass'], repo: string, daysAgo: number): FailureRow => ({ issueKey: 'ENG-1', repo, failureClass, at: now - daysAgo * DAY, phase: 'done:failed' });

describe('summarizeFailures', () => {
  it('breaks failures down by class, repo and day, within the window only', () => {
    const rows = [row('transient', 'acme/api', 0), row('auth', 'acme/api', 1), row('logic', 'acme/web', 1), row('unknown', 'acme/web', 6), row('unknown', 'acme/web', 9)];
    const summary = summarizeFailures(rows, { since: now - 7 * DAY, until: now + 1 });
    expect(summary.total).toBe(4);
    expect(summary.byClass).toEqual({ transient: 1, auth: 1, logic: 1, resource: 0, timeout: 0, unknown: 1 });
    expect(summary.byRepo).toEqual([
      { repo: 'acme/api', total: 2, byClass: expect.objectContaining({ transient: 1, auth: 1 }) },
      { repo: 'acme/web', total: 2, byClass: expect.objectContaining({ logic: 1, unknown: 1 }) },
    ]);
    expect(summary.timeline).toHaveLength(8);
    expect(summary.timeline.map((d) => d.total)).toEqual([0, 1, 0, 0, 0, 0, 2, 1]);
    expect(summary.unknownShare).toBe(0.25);
    expect(summary.alert).toMatch(/25% of the 4 failures .* are unknown \(over 20%\): the failure rules need attention/);
  });

  it('raises no alert at exactly 20% unknown, nor with no failures', () => {
    const rows = [row('unknown', 'r', 0), ...['transient', 'auth', 'logic', 'timeout'].map((c) => row(c as FailureRow['failureClass'], 'r', 0))];
    expect(summarizeFailures(rows, { since: now - DAY, until: now + 1 })).toMatchObject({ unknownShare: 0.2, alert: null });
    expect(summarizeFailures([], { since: now - DAY, until: now + 1 })).toMatchObject({ total: 0, unknownShare: 0, alert: null });
  });

  it('formats a table a human reads, with the alert last', () => {
    const text = formatFailures(summarizeFailures([row('unknown', 'acme/web', 0), row('auth', 'acme/api', 0)], { since: now - 2 * DAY, until: now + 1 }));
    expect(text).toMatch(/Failures from .*: 2 \(unknown 50%\)/);
    expect(text).toMatch(/acme\/web\s+0\s+0\s+0\s+0\s+0\s+1\s+1/);
    expect(text).toMatch(/ALERT: 50% of the 2 failures/);
  });
});

describe('failureReport against Temporal visibility', () => {
  it('reads the class and repo each failed run recorded, open or closed, and leaves runs without a class out', async () => {
    const client = await testClient();
    const taskQueue = uniqueTaskQueue('failures');
    const start = (key: string, attrs: { failureClass?: string; repo: string }) =>
      client.workflow.start(ISSUE_WORKFLOW_TYPE, {
        taskQueue,
        workflowId: uniqueId('failures'),
        args: [],
        typedSearchAttributes: [
          { key: IssueKey, value: key },
          { key: Repo, value: attrs.repo },
          ...(attrs.failureClass ? [{ key: FailureClassKey, value: attrs.failureClass }] : []),
        ],
      });
    const handles = await Promise.all([
      start('ENG-1', { failureClass: 'auth', repo: 'acme/api' }),
      start('ENG-2', { failureClass: 'unknown', repo: 'acme/web' }),
      start('ENG-3', { failureClass: 'transient', repo: 'acme/api' }),
      start('ENG-4', { repo: 'acme/api' }),
    ]);
    // Closed runs count by their close time; the open one by its start.
    await handles[0]!.terminate('test: a failed run that ended');
    await handles[1]!.terminate('test: a failed run that ended');

    const summary = await eventually('visibility caught up', async () => {
      const report = await failureReport(client, { taskQueue, window: '1d' });
      return report.total === 3 && report;
    });
    expect(summary.byClass).toMatchObject({ auth: 1, unknown: 1, transient: 1 });
    expect(summary.byRepo.map((r) => [r.repo, r.total])).toEqual([
      ['acme/api', 2],
      ['acme/web', 1],
    ]);
    expect(summary.unknownShare).toBeCloseTo(1 / 3);
    expect(summary.alert).toMatch(/33% of the 3 failures/);
    await handles[2]!.terminate('test cleanup');
    await handles[3]!.terminate('test cleanup');
  });
});
