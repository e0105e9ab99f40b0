// The worker's own triage activity with the advisor on, against the Linear, GitHub and model
// emulators over HTTP: the advice rides on the result, the escalation comment the workflow posts
// carries it into Linear, a re-read after that comment asks the model nothing, and the worker's
// metrics count the question, its tokens and its cost.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLineActivities } from '../../src/activities/line-activities.js';
import { createRedactor } from '../../src/activities/redact.js';
import { factorySchema } from '../../src/config/factory-schema.js';
import { triageAdvisorSettings } from '../../src/config/triage-advisor.js';
import type { AgentRunner, Workspaces } from '../../src/integrations/agent.js';
import { createGitHubForge } from '../../src/integrations/github-forge.js';
import { createLinearTracker } from '../../src/integrations/linear-tracker.js';
import { createTriageAdvisor } from '../../src/integrations/triage-advisor/advisor.js';
import { startGitHubEmulator, type GitHubEmulator } from '../../src/sandbox/github/index.js';
import { startLinearEmulator, type LinearEmulator } from '../../src/sandbox/linear/index.js';
import { startModelEmulator, type ModelEmulator } from '../../src/sandbox/models/index.js';
import { triageVerdict } from '../../src/workflows/issue/triage.js';
import type { LineActivities } from '../../src/workflows/activity-types.js';
import { createWorkerMetrics, instrumentTriageAdvisor, type WorkerMetrics } from '../../src/workers/worker-metrics.js';
import { capturingLogger } from '../helpers/capture.js';

const LINEAR_KEY = 'lin_api_triage_advice_activity_0a1b2c';
const GITHUB_TOKEN = 'ghs_sandboxTokenForTriageAdviceTests0123';
const MODEL_KEY = 'sk-triage-advice-activity-openai-0123456789';

let root: string;
let linear: LinearEmulator;
let github: GitHubEmulator;
let models: ModelEmulator;
let activities: LineActivities;
let metrics: WorkerMetrics;
let logs: string[];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'conveyor-triage-advice-'));
  linear = await startLinearEmulator({ apiKeys: [LINEAR_KEY], logger: pino({ level: 'silent' }) });
  github = await startGitHubEmulator({ dataDir: root, tokens: [GITHUB_TOKEN], botLogin: 'conveyor-bot', ciDelayMs: 10 });
  models = await startModelEmulator({ anthropicKeys: [], openaiKeys: [MODEL_KEY] });
  linear.createTeam({ key: 'ENG', name: 'Engineering' });
  for (const name of ['api', 'web']) await github.createRepo({ owner: 'acme', name, defaultBranch: 'main', files: { 'README.md': `# ${name}\n` } });
  const factory = factorySchema.parse({
    tracker: { teams: [{ key: 'ENG' }] },
    repos: [{ name: 'acme/api' }, { name: 'acme/web' }],
    routing: [
      { team: 'ENG', labels: ['backend'], repo: 'acme/api' },
      { team: 'ENG', labels: ['frontend'], repo: 'acme/web' },
    ],
    agents: { default: 'demo', providers: { demo: { command: ['true'] } } },
    triageAdvisor: { pricePerMTok: { input: 2, output: 8 } },
  });
  const env = { CONVEYOR_TRIAGE_MODEL_PROVIDER: 'openai', CONVEYOR_TRIAGE_MODEL: 'gpt-triage-test', OPENAI_API_KEY: MODEL_KEY, OPENAI_BASE_URL: models.openaiBaseUrl, LINEAR_API_KEY: LINEAR_KEY, GITHUB_TOKEN };
  metrics = createWorkerMetrics();
  const captured = capturingLogger();
  logs = captured.lines;
  activities = createLineActivities({
    factory,
    root,
    tracker: createLinearTracker({ apiKey: LINEAR_KEY, apiUrl: linear.url }),
    forge: createGitHubForge({ token: GITHUB_TOKEN, baseUrl: github.url, gitBaseUrl: github.webUrl, retry: { unitMs: 10, spaceWrites: false } }),
    workspaces: {} as Workspaces,
    agents: {} as AgentRunner,
    redact: createRedactor(env),
    logger: captured.logger,
    advisor: instrumentTriageAdvisor(createTriageAdvisor(triageAdvisorSettings(factory, env)!), metrics),
  });
});

afterAll(async () => {
  expect(linear?.invalidDocuments).toEqual([]);
  expect(models?.invalidRequests).toEqual([]);
  await linear?.close();
  await github?.close();
  await models?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('triageIssue with the advisor on', () => {
  it('suggests a candidate for an unroutable issue, the posted escalation carries it, and a re-read asks nothing', async () => {
    const issue = linear.createIssue({ teamKey: 'ENG', title: 'Export the report as CSV', description: 'x'.repeat(150) + '\n\n## Acceptance\n- [ ] a CSV downloads', labels: ['conveyor'], stateName: 'Todo' });
    const result = await activities.triageIssue({ issueId: issue.id, workflowId: 'wf' });
    expect(result).toMatchObject({ decision: 'escalate', category: 'unroutable', overridable: false, routing: null });
    expect(result.advice).toMatchObject({ kind: 'repo', repo: 'acme/api', provider: 'openai', model: 'gpt-triage-test', tokens: { input: 900, output: 120 } });
    expect(result.advice!.costUsd).toBeCloseTo((900 * 2 + 120 * 8) / 1e6, 12);

    // What the triage station posts: the verdict's comment under its marker, prefixed by the run chain.
    const verdict = triageVerdict(result, { approved: false });
    if (verdict.kind !== 'escalate') throw new Error('expected an escalation');
    await activities.commentOnIssue({ issueId: issue.id, body: verdict.comment, marker: `run-chain-1:${verdict.marker}` });
    const [posted] = linear.listComments(issue.id);
    expect(posted?.body).toContain('This issue looks like it belongs in `acme/api`');

    const asked = models.requests.length;
    const again = await activities.triageIssue({ issueId: issue.id, workflowId: 'wf' });
    expect(again.advice).toBeUndefined();
    expect(again.decision).toBe('escalate');
    expect(models.requests.length).toBe(asked);

    const text = await metrics.registry.metrics();
    expect(text).toContain('conveyor_triage_advice_total{provider="openai",result="suggested"} 1');
    expect(text).toContain('conveyor_triage_advice_tokens_total{provider="openai",model="gpt-triage-test",direction="input"} 900');
    expect(text).toMatch(/conveyor_triage_advice_cost_usd_total\{provider="openai",model="gpt-triage-test"\} 0\.00276/);
  });

  it('a model that cuts its answer leaves the thin escalation as it was, counted and logged as transient', async () => {
    const issue = linear.createIssue({ teamKey: 'ENG', title: 'Tidy the logs [model:cut]', description: 'too short', labels: ['conveyor', 'backend'], stateName: 'Todo' });
    const result = await activities.triageIssue({ issueId: issue.id, workflowId: 'wf' });
    expect(result).toMatchObject({ decision: 'escalate', category: 'thin', overridable: true });
    expect(result.advice).toBeUndefined();
    expect(await metrics.registry.metrics()).toContain('conveyor_triage_advice_total{provider="openai",result="transient"} 1');
    const warned = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.issue === issue.key && l.failureClass === 'transient');
    expect(warned).toMatchObject({ failureKind: 'network', provider: 'openai' });
    expect(logs.join('\n')).not.toContain(MODEL_KEY);
  });
});
