// The LLM triage tier in a real run on the dev server: the scripted world's triage, wrapped by
// the same `withTriageAdvice` the worker's triage activity uses, with a real advisor asking the
// model emulator over HTTP. The suggestion appears in the escalation comment and dispatches
// nothing: only `/conveyor approve` (thin) or an edit (unroutable) starts an agent; a failing
// model still gets the escalation posted, without a suggestion.
import type { Client } from '@temporalio/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hiddenMarkerTail } from '../../src/activities/line-activities.js';
import { withTriageAdvice } from '../../src/activities/triage-advice.js';
import { factorySchema } from '../../src/config/factory-schema.js';
import { triageAdvisorSettings } from '../../src/config/triage-advisor.js';
import type { TrackerIssue } from '../../src/domain/issue.js';
import { issueWorkflowId } from '../../src/domain/naming.js';
import { createTriageAdvisor, type TriageAdvisor } from '../../src/integrations/triage-advisor/advisor.js';
import { startModelEmulator, type ModelEmulator } from '../../src/sandbox/models/index.js';
import { operatorCommandSignal, trackerEventSignal } from '../../src/workflows/messages.js';
import { createLine, withLine, type Line } from '../helpers/line-harness.js';
import { makeIssue, ScriptedWorld, TEST_REPO } from '../helpers/scripted-line.js';
import { closeTestConnections } from '../helpers/temporal.js';

const KEY = 'sk-ant-triage-advice-workflow-test-0123456789';
const OTHER_REPO = 'acme/gadgets';

/** ENG has routing rules and no defaultRepo: an issue without `backend` or `frontend` is unroutable. */
const config = factorySchema.parse({
  tracker: { teams: [{ key: 'ENG' }], operators: ['op@example.com'] },
  repos: [{ name: TEST_REPO }, { name: OTHER_REPO }],
  routing: [
    { team: 'ENG', labels: ['backend'], repo: TEST_REPO },
    { team: 'ENG', labels: ['frontend'], repo: OTHER_REPO },
  ],
  agents: { default: 'scripted', providers: { scripted: { command: ['true'] } } },
  triageAdvisor: { provider: 'anthropic', model: 'claude-triage-test', timeout: '5s', pricePerMTok: { input: 3, output: 15 } },
});

/** The scripted world whose triage activity asks the advisor, as the worker's does. */
class AdvisedWorld extends ScriptedWorld {
  constructor(private readonly advisor: TriageAdvisor) {
    super(config);
  }

  override activities(client: Client): ReturnType<ScriptedWorld['activities']> {
    const acts = super.activities(client);
    return {
      ...acts,
      triageIssue: async (input) =>
        withTriageAdvice(await acts.triageIssue(input), {
          advisor: this.advisor,
          hasEscalationComment: async (issueId, marker) => this.commentsOn(issueId).some((c) => c.includes(hiddenMarkerTail(marker))),
          logger: pino({ level: 'silent' }),
          redact: (text) => text,
        }),
    };
  }
}

let emulator: ModelEmulator;
let advisor: TriageAdvisor;
beforeAll(async () => {
  emulator = await startModelEmulator({ anthropicKeys: [KEY], openaiKeys: [] });
  const settings = triageAdvisorSettings(config, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: emulator.url });
  if (!settings) throw new Error('the advisor should be on');
  advisor = createTriageAdvisor(settings);
});
afterAll(async () => {
  await emulator?.close();
  await closeTestConnections();
});

let deliveries = 0;
const signalEdit = (line: Line, issue: TrackerIssue) => line.client.workflow.getHandle(issueWorkflowId(issue.id)).signal(trackerEventSignal, { deliveryId: `edit-${(deliveries += 1)}`, kind: 'issue-updated' });
const triages = async (line: Line, issue: TrackerIssue) => (await line.state(issue)).history.filter((h) => h.phase === 'triage').length;

describe('the triage advisor in a run', () => {
  it('puts drafted criteria for a thin issue in the escalation comment, and only /conveyor approve dispatches', async () => {
    const line = await createLine({ name: 'advice-thin', world: new AdvisedWorld(advisor) });
    const issue = line.world.addIssue(makeIssue({ title: 'Cache the search results', description: 'search is slow', labels: ['conveyor', 'backend'] }));
    await withLine(line, async () => {
      await line.start(issue);
      const [comment] = await line.until('the escalation comment', () => (line.world.commentsOn(issue.id).length > 0 ? line.world.commentsOn(issue.id) : undefined));
      expect(comment).toMatch(/too thin/);
      expect(comment).toContain('**Suggestion** from a model (anthropic claude-triage-test), not acted on');
      expect(comment).toContain('- [ ] Cache the search results works as the issue describes');
      expect((await line.state(issue)).phase).toBe('escalated');

      // A re-read (here with no edit) asks nothing new and starts nothing: the advice is no approval.
      const asked = emulator.requests.length;
      await signalEdit(line, issue);
      await line.until('a second triage', async () => (await triages(line, issue)) >= 2);
      await line.until('back in escalation', async () => (await line.state(issue)).phase === 'escalated');
      expect(line.world.agentRuns).toHaveLength(0);
      expect(line.world.commentsOn(issue.id)).toHaveLength(1);
      expect(emulator.requests.length).toBe(asked);

      await line.client.workflow.getHandle(issueWorkflowId(issue.id)).signal(operatorCommandSignal, { deliveryId: 'op-approve', command: 'approve', by: 'op@example.com' });
      await line.until('a dispatch after the approval', () => line.world.agentRuns.length === 1);
      // The agent gets the issue as it is: the suggestion was never written into it.
      expect(line.world.agentRuns[0]!.issue.description).toBe('search is slow');
    });
  });

  it('suggests a candidate repo for an unroutable issue; only an edit that routes it dispatches', async () => {
    const line = await createLine({ name: 'advice-unroutable', world: new AdvisedWorld(advisor) });
    const issue = line.world.addIssue(makeIssue({ title: 'Fix the flaky export' }));
    await withLine(line, async () => {
      await line.start(issue);
      const [comment] = await line.until('the escalation comment', () => (line.world.commentsOn(issue.id).length > 0 ? line.world.commentsOn(issue.id) : undefined));
      expect(comment).toMatch(/no routing rule matches/);
      expect(comment).toContain(`This issue looks like it belongs in \`${TEST_REPO}\``);
      expect(comment).not.toContain('/conveyor approve');

      // Unroutable is not overridable: an approval is refused, suggestion or not.
      await line.client.workflow.getHandle(issueWorkflowId(issue.id)).signal(operatorCommandSignal, { deliveryId: 'op-approve-2', command: 'approve', by: 'op@example.com' });
      const reply = await line.until('the reply to the approval', () => line.world.commentsOn(issue.id).find((c) => c.includes('/conveyor approve` from op@example.com')));
      expect(reply).toContain('refused');
      expect((await line.state(issue)).phase).toBe('escalated');
      expect(line.world.agentRuns).toHaveLength(0);

      line.world.editIssue(issue.id, { labels: ['conveyor', 'backend'] });
      await signalEdit(line, issue);
      await line.until('a dispatch after the edit', () => line.world.agentRuns.length === 1);
      expect(line.world.agentRuns[0]!.routing.repo).toBe(TEST_REPO);
    });
  });

  it('posts the escalation without a suggestion when the model fails or answers nonsense', async () => {
    const line = await createLine({ name: 'advice-fails', world: new AdvisedWorld(advisor) });
    const failing = line.world.addIssue(makeIssue({ title: 'Speed up the import [model:server-error]', description: 'slow', labels: ['conveyor', 'backend'] }));
    const invented = line.world.addIssue(makeIssue({ title: 'Route me [model:triage-invented-repo]' }));
    await withLine(line, async () => {
      await Promise.all([line.start(failing), line.start(invented)]);
      const comments = await line.until('both escalation comments', () => {
        const all = [...line.world.commentsOn(failing.id), ...line.world.commentsOn(invented.id)];
        return all.length === 2 ? all : undefined;
      });
      expect(comments[0]).toMatch(/too thin/);
      expect(comments[1]).toMatch(/no routing rule matches/);
      for (const comment of comments) {
        expect(comment).not.toContain('Suggestion');
        expect(comment).not.toContain('made-up-by-the-model');
      }
      expect(line.world.agentRuns).toHaveLength(0);
    });
  });
});
