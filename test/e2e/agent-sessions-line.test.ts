// Conveyor as an agent in Linear (tracker.agentSessions), end to end on the sandbox: the real
// gateway, worker and issue workflow on the test run's Temporal dev server, the Linear emulator
// reached through @linear/sdk, and an agent driven through the `claude` provider whose event
// stream is scripted (test/helpers/scripted-claude.mjs: it really writes and commits in its
// worktree). Its progress must show in the issue's agent session; stop pressed in that session
// must abort the run through the gateway and kill the agent; with the switch off, no session.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FactoryConfig } from '../../src/config/factory-schema.js';
import { issueWorkflowId } from '../../src/domain/naming.js';
import { seedDemoRepo, DEMO_OPERATOR } from '../../src/sandbox/demo.js';
import { issueStateQuery } from '../../src/workflows/messages.js';
import { startE2eFactory, type E2eFactory } from '../helpers/e2e-factory.js';
import { eventually } from '../helpers/temporal.js';

const ACCEPTANCE = '\n\nAcceptance: docs/notes.md exists and says who wrote it, and the change is committed on the factory branch.';

/** The sandbox's factory with the scripted stream agent as the default, and agent sessions on or off. */
function withScriptedAgent(pidsDir: string, sessions: boolean) {
  return (factory: FactoryConfig): FactoryConfig => ({
    ...factory,
    tracker: { ...factory.tracker, agentSessions: { ...factory.tracker.agentSessions, enabled: sessions, minInterval: '200ms' } },
    // Heartbeats carry the cancellation to the agent activity: a short one makes the stop quick.
    policies: { ...factory.policies, timeouts: { ...factory.policies.timeouts, heartbeat: '1s' } },
    agents: {
      ...factory.agents,
      default: 'scripted',
      providers: {
        ...factory.agents.providers,
        scripted: { provider: 'claude', executable: '{root}/test/helpers/scripted-claude.mjs', allowedTools: ['Bash(git:*)'], env: { SCRIPTED_AGENT_PIDS: pidsDir } },
      },
    },
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('Linear agent sessions on', () => {
  let factory: E2eFactory;
  const pidsDir = mkdtempSync(join(tmpdir(), 'conveyor-scripted-pids-'));

  beforeAll(async () => {
    factory = await startE2eFactory('agent-sessions-on', { demo: false, factory: withScriptedAgent(pidsDir, true) });
    await seedDemoRepo(factory.sandbox);
  }, 120_000);
  afterAll(async () => {
    await factory?.cleanup();
    rmSync(pidsDir, { recursive: true, force: true });
  });

  it("shows the agent's thoughts, tool calls and summary in the issue's agent session", async () => {
    const { linear } = factory.sandbox;
    const issue = linear.createIssue({ teamKey: 'DEMO', title: 'Write the widget notes', description: `Write a notes page for the widgets library in docs/notes.md.${ACCEPTANCE}`, priority: 2, labels: ['conveyor'], stateName: 'Todo' });
    const run = factory.client.workflow.getHandle(issueWorkflowId(issue.id));
    const state = await eventually('the PR opened from the scripted agent', async () => {
      const s = await run.query(issueStateQuery).catch(() => null);
      return s?.pr ? s : undefined;
    }, 120_000, 500);
    expect(state.attempts).toBe(1);

    const [session, ...others] = await eventually('the session ended with the response', () => {
      const sessions = linear.listAgentSessions(issue.id);
      return sessions[0]?.status === 'complete' ? sessions : undefined;
    }, 30_000, 200);
    expect(others).toEqual([]);
    expect(session!.appUserId).toBe(linear.viewer().id);
    const contents = session!.activities.map((a) => a.content);
    expect(contents[0]).toMatchObject({ type: 'thought', body: expect.stringMatching(new RegExp(`working on ${issue.key} in demo/widgets .*attempt 1`)) });
    // The thinking and the text before the first tool call, as thoughts.
    expect(contents.filter((c) => c.type === 'thought').map((c) => c.body).join('\n')).toContain('The issue asks for a notes page');
    expect(contents.filter((c) => c.type === 'action')).toEqual([
      { type: 'action', action: 'Write', parameter: 'docs/notes.md' },
      { type: 'action', action: 'Bash', parameter: 'git add docs/notes.md && git commit -m "Add notes"' },
    ]);
    expect(contents.at(-1)).toEqual({ type: 'response', body: expect.stringMatching(/^Added docs\/notes\.md and committed it\.\n\n1 commit on `conveyor\//) });
    expect(contents.filter((c) => c.type === 'response' || c.type === 'error')).toHaveLength(1);

    // Every document the SDK sent validated against Linear's schema, and the gateway took the
    // `created` event the emulator sent for the new session without acting on it.
    expect(linear.invalidDocuments).toEqual([]);
    await linear.webhooksSettled();
    const created = linear.deliveries.filter((d) => d.event === 'AgentSessionEvent');
    expect(created.map((d) => [d.action, d.status, d.responseStatus])).toEqual([['created', 'delivered', 202]]);
  }, 180_000);

  it('a retried agent activity posts to the session its first try opened', async () => {
    const { linear } = factory.sandbox;
    const issue = linear.createIssue({ teamKey: 'DEMO', title: 'Write the widget notes again', description: `Write a notes page for the widgets library in docs/notes.md. [scripted:flaky]${ACCEPTANCE}`, priority: 2, labels: ['conveyor'], stateName: 'Todo' });
    const run = factory.client.workflow.getHandle(issueWorkflowId(issue.id));
    await eventually('the PR opened after the retried attempt', async () => {
      const s = await run.query(issueStateQuery).catch(() => null);
      return s?.pr ? s : undefined;
    }, 120_000, 500);
    const sessions = await eventually('the session ended with the response', () => {
      const found = linear.listAgentSessions(issue.id);
      return found[0]?.status === 'complete' ? found : undefined;
    }, 30_000, 200);
    // One session for the attempt: the first try's error (a transient 529, retried by Temporal),
    // then the second try's entries, in the same session.
    expect(sessions).toHaveLength(1);
    const contents = sessions[0]!.activities.map((a) => a.content);
    const errorAt = contents.findIndex((c) => c.type === 'error');
    expect(contents[errorAt]).toMatchObject({ body: expect.stringMatching(/^The agent attempt ended `transient`: .*529/) });
    expect(contents.slice(errorAt + 1)[0]).toMatchObject({ type: 'thought', body: expect.stringContaining('attempt 1, try 2') });
    expect(contents.at(-1)).toMatchObject({ type: 'response' });
    expect(contents.filter((c) => c.type === 'action').map((c) => c.action)).toEqual(['Write', 'Write', 'Bash']);
  }, 180_000);

  it('stop pressed in the session aborts the run through the gateway and kills the agent', async () => {
    const { linear } = factory.sandbox;
    const issue = linear.createIssue({ teamKey: 'DEMO', title: 'Ponder the widget notes', description: `Write a notes page for the widgets library, slowly. [scripted:hang]${ACCEPTANCE}`, priority: 2, labels: ['conveyor'], stateName: 'Todo' });
    const before = new Set(readdirSync(pidsDir));
    const pid = await eventually('the scripted agent running', () => {
      const fresh = readdirSync(pidsDir).filter((name) => !before.has(name));
      return fresh.length === 1 ? Number(fresh[0]) : undefined;
    }, 120_000, 200);
    expect(alive(pid)).toBe(true);
    const session = await eventually('its tool call in the session', () => {
      const found = linear.listAgentSessions(issue.id)[0];
      return found?.activities.some((a) => a.content.type === 'action') ? found : undefined;
    }, 30_000, 200);
    expect(session.status).toBe('active');

    // What the stop button in Linear does: a prompt with signal stop, sent as AgentSessionEvent prompted.
    const pressed = await fetch(`${linear.baseUrl}/_sandbox/agent-sessions/${session.id}/stop`, { method: 'POST', body: JSON.stringify({ userEmail: DEMO_OPERATOR.email }) });
    expect(pressed.status).toBe(201);

    const run = factory.client.workflow.getHandle(issueWorkflowId(issue.id));
    const state = await eventually('the run aborted', async () => {
      const s = await run.query(issueStateQuery).catch(() => null);
      return s?.outcome ? s : undefined;
    }, 60_000, 200);
    expect(state).toMatchObject({ outcome: 'aborted', reason: expect.stringContaining(`aborted by ${DEMO_OPERATOR.email}`) });
    // The abort cancelled the agent activity, whose runner killed the agent's whole process group.
    expect(alive(pid)).toBe(false);
    await linear.webhooksSettled();
    const prompted = linear.deliveries.filter((d) => d.event === 'AgentSessionEvent' && d.action === 'prompted');
    expect(prompted.map((d) => [d.status, d.responseStatus])).toEqual([['delivered', 200]]);

    // The session says it stopped, and the blocked comment says who aborted it.
    const ended = await eventually('the session closed with a stopped response', () => {
      const found = linear.listAgentSessions(issue.id)[0];
      return found?.status === 'complete' ? found : undefined;
    }, 30_000, 200);
    expect(ended.activities.at(-1)?.content).toMatchObject({ type: 'response', body: expect.stringMatching(/^Stopped: the run was cancelled/) });
    expect(ended.activities.filter((a) => a.signal === 'stop').map((a) => a.user.email)).toEqual([DEMO_OPERATOR.email]);
    await eventually('the abort comment', () => linear.listComments(issue.id).some((c) => c.body.includes(`aborted by ${DEMO_OPERATOR.email}`)) || undefined, 30_000, 200);
    expect(existsSync(join(pidsDir, String(pid)))).toBe(true);
  }, 180_000);
});

describe('Linear agent sessions off (the default)', () => {
  let factory: E2eFactory;
  const pidsDir = mkdtempSync(join(tmpdir(), 'conveyor-scripted-pids-'));

  beforeAll(async () => {
    factory = await startE2eFactory('agent-sessions-off', { demo: false, factory: withScriptedAgent(pidsDir, false) });
    await seedDemoRepo(factory.sandbox);
  }, 120_000);
  afterAll(async () => {
    await factory?.cleanup();
    rmSync(pidsDir, { recursive: true, force: true });
  });

  it('opens no session and posts nothing, though the agent streams the same progress', async () => {
    expect(factory.config.factory.tracker.agentSessions.enabled).toBe(false);
    const { linear } = factory.sandbox;
    const issue = linear.createIssue({ teamKey: 'DEMO', title: 'Write the widget notes quietly', description: `Write a notes page for the widgets library in docs/notes.md.${ACCEPTANCE}`, priority: 2, labels: ['conveyor'], stateName: 'Todo' });
    const run = factory.client.workflow.getHandle(issueWorkflowId(issue.id));
    await eventually('the PR opened', async () => {
      const s = await run.query(issueStateQuery).catch(() => null);
      return s?.pr ? s : undefined;
    }, 120_000, 500);
    expect(linear.listAgentSessions(issue.id)).toEqual([]);
    expect(linear.state().data.agentActivities).toEqual([]);
    await linear.webhooksSettled();
    expect(linear.deliveries.filter((d) => d.event === 'AgentSessionEvent')).toEqual([]);
  }, 180_000);
});
