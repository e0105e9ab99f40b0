// The LLM triage tier on the whole sandbox: an issue filed in the Linear emulator reaches the
// gateway by webhook, its run's triage activity asks the model emulator (the OpenAI Responses
// door) through the worker's own advisor, and the escalation comment in Linear carries the
// drafted criteria while the run waits for a human; the worker's metrics count the question.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueWorkflowId } from '../../src/domain/naming.js';
import { DEMO_TEAM, seedDemoRepo } from '../../src/sandbox/demo.js';
import { SANDBOX_TRIAGE_MODEL } from '../../src/sandbox/sandbox.js';
import { issueStateQuery } from '../../src/workflows/messages.js';
import { createWorkerMetrics } from '../../src/workers/worker-metrics.js';
import { startE2eFactory, type E2eFactory } from '../helpers/e2e-factory.js';
import { eventually } from '../helpers/temporal.js';

let factory: E2eFactory;
const metrics = createWorkerMetrics();

beforeAll(async () => {
  factory = await startE2eFactory('e2e-advice', { demo: false, metrics, triageAdvisor: 'openai' });
  await seedDemoRepo(factory.sandbox);
}, 120_000);

afterAll(async () => {
  await factory?.cleanup();
});

describe('the triage advisor on the sandbox', () => {
  it('puts drafted criteria in the escalation comment of a thin issue filed in Linear, and starts nothing', async () => {
    expect(factory.integrations.advisor).toMatchObject({ provider: 'openai', model: SANDBOX_TRIAGE_MODEL });
    const issue = factory.sandbox.linear.createIssue({ teamKey: DEMO_TEAM, title: 'Polish the widget list', description: 'make it nicer', priority: 2, labels: ['conveyor'], stateName: 'Todo' });
    const [comment] = await eventually('the escalation comment', () => {
      const bodies = factory.sandbox.linear.listComments(issue.id).map((c) => c.body);
      return bodies.length > 0 && bodies;
    }, 60_000, 250);
    expect(comment).toMatch(/too thin to dispatch/);
    expect(comment).toContain(`**Suggestion** from a model (openai ${SANDBOX_TRIAGE_MODEL}), not acted on`);
    expect(comment).toContain('- [ ] Polish the widget list works as the issue describes');

    const state = await factory.client.workflow.getHandle(issueWorkflowId(issue.id)).query(issueStateQuery);
    expect(state.phase).toBe('escalated');
    expect(state.attempts).toBe(0);
    expect(factory.sandbox.linear.getIssue(issue.id)!.state.name).toBe('Todo');
    expect(factory.sandbox.models.requests.filter((r) => r.provider === 'openai').map((r) => r.answer)).toEqual(['whole']);
    expect(factory.sandbox.models.invalidRequests).toEqual([]);
    expect(await metrics.registry.metrics()).toContain('conveyor_triage_advice_total{provider="openai",result="suggested"} 1');
  });
});
