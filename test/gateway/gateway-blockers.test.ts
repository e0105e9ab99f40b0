// When a blocking issue finishes, its webhook tells the runs it blocked: the Linear emulator
// sends its real signed deliveries to the gateway over HTTP, and the gateway reads which issues
// the finished one blocks through the real @linear/sdk. A recording double stands for Temporal.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blockedIssuesOf } from '../../src/activities/judgement.js';
import { settledBlocker } from '../../src/gateway/linear-events.js';
import type { StartedGateway } from '../../src/gateway/server.js';
import { createLinearTracker } from '../../src/integrations/linear-tracker.js';
import { startLinearEmulator, type LinearEmulator } from '../../src/sandbox/linear/index.js';
import { eventually } from '../helpers/temporal.js';
import { LINEAR_SECRET, RecordingSignals, linearIssuePayload, startTestGateway } from './fixtures.js';

const KEY = 'lin_api_gateway_blockers_7e1f';

let linear: LinearEmulator;
let gateway: StartedGateway;
let signals: RecordingSignals;

async function start(blockedBy?: (issueId: string) => Promise<Array<{ id: string; key: string }>>): Promise<void> {
  const tracker = createLinearTracker({ apiKey: KEY, apiUrl: linear.url });
  gateway = await startTestGateway({ signals, blockedBy: blockedBy ?? blockedIssuesOf(tracker) });
  linear.addWebhook({ url: `${gateway.url}/webhooks/linear`, secret: LINEAR_SECRET });
}

beforeEach(async () => {
  signals = new RecordingSignals();
  linear = await startLinearEmulator({ apiKeys: [KEY], logger: pino({ level: 'silent' }) });
  linear.createTeam({ key: 'ENG', name: 'Engineering' });
});

afterEach(async () => {
  await gateway?.close();
  await linear.close();
});

const unblockSignals = () => signals.calls.filter((c) => c.op === 'signal' && c.signal.name === 'tracker' && c.signal.event.deliveryId.includes(':unblocked-by:'));

describe('a blocker finishing tells the runs it blocked', () => {
  it('signals trackerEvent to each unfinished issue the finished one blocks, and nothing while it is only in progress', async () => {
    await start();
    const blocker = linear.createIssue({ teamKey: 'ENG', title: 'Design tokens', stateName: 'Todo' });
    const first = linear.createIssue({ teamKey: 'ENG', title: 'Theme the widgets', labels: ['conveyor'], stateName: 'Todo' });
    const second = linear.createIssue({ teamKey: 'ENG', title: 'Dark mode', labels: ['conveyor'], stateName: 'Backlog' });
    const done = linear.createIssue({ teamKey: 'ENG', title: 'Old work', stateName: 'Done' });
    for (const blocked of [first, second, done]) linear.createRelation({ issue: blocker.key, relatedIssue: blocked.key, type: 'blocks' });

    linear.updateIssue(blocker.id, { stateName: 'In Progress' });
    await linear.webhooksSettled();
    expect(unblockSignals()).toEqual([]);

    linear.updateIssue(blocker.id, { stateName: 'Done' });
    await linear.webhooksSettled();
    await eventually('blocked runs told', async () => unblockSignals().length === 2);
    expect(unblockSignals().map((c) => (c.op === 'signal' ? c.issueId : null)).sort()).toEqual([first.id, second.id].sort());
    // The finished issue already done is not told; the blocker's own delivery went to its run.
    expect(signals.calls.some((c) => c.op === 'signal' && c.issueId === done.id)).toBe(false);
    // Counted as its own route (conveyor routes: "the issue finished and blocks others").
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toContain('conveyor_gateway_routes_total{ingress="linear",event="Issue.update",outcome="signal-blocked:tracker:issue-updated"} 1');
  });

  it('a failing lookup leaves the delivery accepted (the sweep is the backstop)', async () => {
    let asked = 0;
    await start(async () => {
      asked += 1;
      throw new Error('Linear is down');
    });
    const blocker = linear.createIssue({ teamKey: 'ENG', title: 'Design tokens', stateName: 'In Progress' });
    linear.updateIssue(blocker.id, { stateName: 'Canceled' });
    await linear.webhooksSettled();
    const delivery = linear.deliveries.at(-1)!;
    expect(delivery).toMatchObject({ status: 'delivered', responseStatus: 200 });
    expect(asked).toBe(1);
    expect(unblockSignals()).toEqual([]);
  });
});

describe('settledBlocker', () => {
  it('is the issue when its state changed to completed or canceled, or it was removed; null otherwise', () => {
    const moved = (type: string) => ({ ...linearIssuePayload({ state: { name: 'X', type } }), updatedFrom: { stateId: 'old' } });
    expect(settledBlocker(moved('completed'))).toEqual({ id: expect.any(String), key: 'ENG-42' });
    expect(settledBlocker(moved('canceled'))).not.toBeNull();
    expect(settledBlocker(moved('started'))).toBeNull();
    // Still Done, but something else changed (a label): the runs were told when it got there.
    expect(settledBlocker({ ...linearIssuePayload({ state: { name: 'Done', type: 'completed' } }), updatedFrom: { labelIds: [] } })).toBeNull();
    expect(settledBlocker(linearIssuePayload({ action: 'remove' }))).not.toBeNull();
    expect(settledBlocker({ type: 'Comment', action: 'create', data: {} })).toBeNull();
  });
});

describe('the unknown-failure alert on the gateway', () => {
  it('/readyz carries the failure detail and /metrics the unknown share and alert gauges', async () => {
    signals = new RecordingSignals();
    const { summarizeFailures } = await import('../../src/temporal/failure-report.js');
    const now = Date.now();
    const rows = [
      { issueKey: 'ENG-1', repo: 'acme/widgets', failureClass: 'unknown' as const, at: now - 1000, phase: 'done:failed' },
      { issueKey: 'ENG-2', repo: 'acme/widgets', failureClass: 'auth' as const, at: now - 1000, phase: 'done:failed' },
    ];
    let reads = 0;
    gateway = await startTestGateway({
      signals,
      failures: async () => {
        reads += 1;
        return summarizeFailures(rows, { since: now - 7 * 86_400_000, until: now + 1 });
      },
    });
    const ready = (await (await fetch(`${gateway.url}/readyz`)).json()) as { status: string; failures: { unknownShare: number; alert: string | null; total: number } };
    expect(ready).toMatchObject({ status: 'ready', failures: { total: 2, unknownShare: 0.5 } });
    expect(ready.failures.alert).toMatch(/50% of the 2 failures .* are unknown/);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/^conveyor_failures_unknown_ratio 0\.5$/m);
    expect(metrics).toMatch(/^conveyor_failures_unknown_alert 1$/m);
    expect(reads).toBeGreaterThan(0);
  });
});
