import { CancelledFailure } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSessionReporter, type SessionReporterOptions } from '../../src/activities/agent-session-reporter.js';
import { sessionEnding } from '../../src/activities/line-activities.js';
import { createRedactor } from '../../src/activities/redact.js';
import { createLinearTracker } from '../../src/integrations/linear-tracker.js';
import { startLinearEmulator, type LinearEmulator, type SandboxIssue } from '../../src/sandbox/linear/index.js';

// The agent session reporter against the Linear emulator through the real tracker (@linear/sdk
// over HTTP): what an attempt's progress becomes in Linear, how a chatty stream is held back,
// that secrets never reach Linear, and that a failing Linear never fails the attempt.

const API_KEY = 'lin_api_reporter_test_key_0123456789';
const SECRET_TOKEN = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';
const logger = pino({ level: 'silent' });

describe('agent session reporter', () => {
  let emulator: LinearEmulator;
  let issue: SandboxIssue;

  beforeEach(async () => {
    emulator = await startLinearEmulator({ logger, apiKeys: [API_KEY] });
    emulator.createTeam({ key: 'ENG', name: 'Engineering' });
    issue = emulator.createIssue({ teamKey: 'ENG', title: 'Report me' });
  });

  afterEach(async () => {
    const { invalidDocuments } = emulator.state();
    await emulator.close();
    expect(invalidDocuments).toEqual([]);
  });

  const reporter = (overrides: Partial<SessionReporterOptions> = {}) =>
    createSessionReporter({
      sessions: createLinearTracker({ apiKey: API_KEY, apiUrl: emulator.url, logger }),
      issueId: issue.id,
      issueKey: issue.key,
      existingSessionId: null,
      intro: 'ada is working on ENG-1.',
      redact: createRedactor({ GITHUB_TOKEN: SECRET_TOKEN }),
      logger,
      minIntervalMs: 0,
      maxActivities: 50,
      ...overrides,
    });

  const entries = () => emulator.listAgentSessions(issue.id).map((s) => ({ status: s.status, activities: s.activities.map((a) => a.content) }));

  it('posts the intro, each tool call as an action, thoughts, and the ending as the response; the last thought equal to it is said once', async () => {
    const seen: string[] = [];
    const r = reporter({ onSession: (id) => seen.push(id) });
    r.progress({ kind: 'action', action: 'Write', parameter: 'docs/guide.md' });
    r.progress({ kind: 'thought', text: `Committing with token ${SECRET_TOKEN}` });
    r.progress({ kind: 'action', action: 'Bash', parameter: 'git commit -m "docs"' });
    r.progress({ kind: 'thought', text: 'Wrote the guide.' });
    await r.finish({ type: 'response', body: 'Wrote the guide.' });
    expect(entries()).toEqual([
      {
        status: 'complete',
        activities: [
          { type: 'thought', body: 'ada is working on ENG-1.' },
          { type: 'action', action: 'Write', parameter: 'docs/guide.md' },
          { type: 'thought', body: 'Committing with token [redacted]' },
          { type: 'action', action: 'Bash', parameter: 'git commit -m "docs"' },
          { type: 'response', body: 'Wrote the guide.' },
        ],
      },
    ]);
    expect(seen).toEqual([r.sessionId()]);
    expect(JSON.stringify(emulator.state().data)).not.toContain(SECRET_TOKEN);
  });

  it('holds a chatty stream back: posts spaced by minInterval, thoughts merged while they wait, progress capped with one note', async () => {
    const r = reporter({ minIntervalMs: 150, maxActivities: 4 });
    for (let i = 1; i <= 6; i += 1) r.progress({ kind: 'thought', text: `thought ${i}` });
    for (let i = 1; i <= 10; i += 1) r.progress({ kind: 'action', action: 'Read', parameter: `file${i}.ts` });
    // Let three posts go out at the pace of minInterval before the attempt ends (the end drains faster).
    while ((emulator.listAgentSessions(issue.id)[0]?.activities.length ?? 0) < 3) await new Promise((resolve) => setTimeout(resolve, 20));
    await r.finish({ type: 'error', body: 'The agent attempt ended `agent-failed`: exit 1' });
    const [session] = entries();
    const types = session!.activities.map((a) => a.type);
    // The intro went out at once; the six thoughts that waited behind it became one entry.
    expect(session!.activities[1]).toEqual({ type: 'thought', body: ['thought 1', 'thought 2', 'thought 3', 'thought 4', 'thought 5', 'thought 6'].join('\n\n') });
    expect(types).toEqual(['thought', 'thought', 'action', 'action', 'thought', 'error']);
    expect(session!.activities[4]).toMatchObject({ body: expect.stringMatching(/^8 more steps were not posted here \(tracker\.agentSessions\.maxActivities is 4\)/) });
    expect(session!.status).toBe('error');
    const times = emulator.listAgentSessions(issue.id)[0]!.activities.slice(0, 3).map((a) => Date.parse(a.createdAt));
    for (let i = 1; i < times.length; i += 1) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(140);
  });

  it('reuses the session an earlier try of the attempt opened', async () => {
    const first = reporter();
    await first.finish({ type: 'error', body: 'worker lost' });
    const again = reporter({ existingSessionId: first.sessionId() });
    again.progress({ kind: 'action', action: 'Edit', parameter: 'a.ts' });
    await again.finish({ type: 'response', body: 'done' });
    const sessions = entries();
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.status).toBe('complete');
    expect(sessions[0]!.activities.map((a) => a.type)).toEqual(['thought', 'error', 'thought', 'action', 'response']);
  });

  it('never fails the attempt: Linear refusing every post, or the session itself, is logged and the attempt goes on', async () => {
    emulator.injectFault({ operationName: 'createAgentActivity', status: 500, times: 100 });
    const r = reporter();
    for (let i = 0; i < 5; i += 1) r.progress({ kind: 'action', action: 'Read', parameter: `f${i}` });
    await expect(r.finish({ type: 'response', body: 'done' })).resolves.toBeUndefined();
    expect(entries()[0]!.activities).toEqual([]);
    emulator.clearFaults();

    emulator.injectFault({ operationName: 'agentSessionCreateOnIssue', status: 400, body: { errors: [{ message: 'Forbidden', extensions: { type: 'forbidden', code: 'FORBIDDEN', statusCode: 403 } }] }, times: 1 });
    const refused = reporter();
    refused.progress({ kind: 'thought', text: 'never posted' });
    await expect(refused.finish({ type: 'response', body: 'done' })).resolves.toBeUndefined();
    expect(refused.sessionId()).toBeNull();
    expect(entries()).toHaveLength(1);
  });

  it('drains what is queued at the end without waiting minInterval between posts (the run waits on it)', async () => {
    // Spaced at minInterval, the action and the response would need 20 s; the ending is waited
    // for 1 s at most, so only a short drain posts them.
    const r = reporter({ finishTimeoutMs: 1_000, minIntervalMs: 10_000 });
    r.progress({ kind: 'action', action: 'Read', parameter: 'slow' });
    await r.finish({ type: 'response', body: 'done' });
    expect(entries()[0]!.activities.map((a) => a.type)).toEqual(['thought', 'action', 'response']);
  });
});

describe('how an attempt ends in its session', () => {
  it('stopped by a cancel request: a response; failed: an error with its class and the log named, not located', () => {
    expect(sessionEnding(new CancelledFailure('cancelled'), { cancelRequested: true, workerShutdown: false, timedOut: false })).toMatchObject({ type: 'response', body: expect.stringMatching(/^Stopped:/) });
    const failed = ApplicationFailure.create({ type: 'agent-stalled', message: 'The agent reported no event for 10 min and was stopped; see /srv/conveyor/.data/workspaces/logs/eng-1-2.log.' });
    expect(sessionEnding(failed)).toEqual({ type: 'error', body: "The agent attempt ended `agent-stalled`: The agent reported no event for 10 min and was stopped; the worker's agent log eng-1-2.log has the details." });
  });

  it('interrupted by a worker shutting down: a thought, so the retried attempt goes on in the same session', () => {
    expect(sessionEnding(new CancelledFailure('shutdown'), { cancelRequested: false, workerShutdown: true, timedOut: false })).toMatchObject({ type: 'thought' });
    expect(sessionEnding(new CancelledFailure('timeout'), { cancelRequested: false, workerShutdown: false, timedOut: true })).toMatchObject({ type: 'error' });
  });
});
