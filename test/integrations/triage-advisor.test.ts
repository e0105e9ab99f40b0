// The LLM triage tier over real HTTP against the model emulator, through both doors (Anthropic
// Messages, OpenAI Responses): a thin issue gets drafted criteria, an unroutable one a repo from
// its candidates only; a model that fails (500, 401, silence past the deadline, a body cut
// off) or answers nonsense (prose, an invented repo, nothing) gives no suggestion, a classed
// failure in the log, and never the key. The decision itself never changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTriageAdvice } from '../../src/activities/triage-advice.js';
import { factorySchema, type FactoryConfig } from '../../src/config/factory-schema.js';
import { triageAdvisorSettings, type TriageAdvisorSettings } from '../../src/config/triage-advisor.js';
import type { TrackerIssue } from '../../src/domain/issue.js';
import { escalationMarker } from '../../src/domain/naming.js';
import { triage } from '../../src/domain/triage.js';
import { createTriageAdvisor, type AdviceOutcome, type AdviceRequest } from '../../src/integrations/triage-advisor/advisor.js';
import { startModelEmulator, type ModelEmulator } from '../../src/sandbox/models/index.js';
import { SANDBOX_CREDENTIALS, SANDBOX_TRIAGE_MODEL, withSandboxAdvisor } from '../../src/sandbox/sandbox.js';
import type { Config } from '../../src/config/load.js';
import { triageVerdict } from '../../src/workflows/issue/triage.js';
import type { TriageResult } from '../../src/workflows/activity-types.js';
import { capturingLogger } from '../helpers/capture.js';
import { makeIssue } from '../helpers/scripted-line.js';

const ANTHROPIC_KEY = 'sk-ant-triage-advisor-test-0123456789abcdef';
const OPENAI_KEY = 'sk-triage-advisor-test-openai-0123456789abcdef';
const PRICE = { input: 3, output: 15 };
/** What the emulator reports for every triage answer (scripts.ts TRIAGE_USAGE). */
const TOKENS = { input: 900, output: 120 };

let emulator: ModelEmulator;
beforeAll(async () => {
  emulator = await startModelEmulator({ anthropicKeys: [ANTHROPIC_KEY], openaiKeys: [OPENAI_KEY] });
});
afterAll(async () => {
  await emulator?.close();
});

/** Two teams: ENG has rules and no defaultRepo (an issue no rule routes is unroutable); OPS a default. */
function factory(advisor: Record<string, unknown> = {}): FactoryConfig {
  return factorySchema.parse({
    tracker: { teams: [{ key: 'ENG' }], operators: ['op@example.com'] },
    repos: [{ name: 'acme/api' }, { name: 'acme/web' }],
    routing: [
      { team: 'ENG', labels: ['backend'], repo: 'acme/api' },
      { team: 'ENG', labels: ['frontend'], repo: 'acme/web' },
    ],
    agents: { default: 'scripted', providers: { scripted: { command: ['true'] } } },
    triageAdvisor: { pricePerMTok: PRICE, timeout: '2s', ...advisor },
  });
}

function settingsFor(provider: 'anthropic' | 'openai', overrides: Partial<TriageAdvisorSettings> = {}): TriageAdvisorSettings {
  const env = {
    CONVEYOR_TRIAGE_MODEL_PROVIDER: provider,
    CONVEYOR_TRIAGE_MODEL: provider === 'anthropic' ? 'claude-triage-test' : 'gpt-triage-test',
    ANTHROPIC_API_KEY: ANTHROPIC_KEY,
    ANTHROPIC_BASE_URL: emulator.url,
    OPENAI_API_KEY: OPENAI_KEY,
    OPENAI_BASE_URL: emulator.openaiBaseUrl,
  };
  const settings = triageAdvisorSettings(factory(), env);
  if (!settings) throw new Error('the advisor should be on');
  return { ...settings, ...overrides };
}

const THIN = (marker = '') => makeIssue({ title: `Make search faster ${marker}`.trim(), description: 'search is slow', labels: ['conveyor', 'backend'] });
const UNROUTABLE = (marker = '') => makeIssue({ title: `Fix the login button ${marker}`.trim(), labels: ['conveyor'] });

function triaged(issue: TrackerIssue): TriageResult {
  return triage(issue, factory(), null);
}

function requestOf(result: TriageResult): AdviceRequest {
  const issue = result.issue!;
  const view = { key: issue.key, title: issue.title, description: issue.description, team: issue.team.key, project: issue.project, labels: issue.labels };
  return result.category === 'thin' ? { kind: 'criteria', issue: view, reason: result.reason } : { kind: 'repo', issue: view, reason: result.reason, candidates: result.route!.candidates };
}

function failureOf(outcome: AdviceOutcome) {
  if (outcome.ok) throw new Error(`expected no suggestion, got ${outcome.advice.text}`);
  return outcome;
}

describe.each(['anthropic', 'openai'] as const)('the triage advisor through the %s API', (provider) => {
  const advise = (issue: TrackerIssue, overrides: Partial<TriageAdvisorSettings> = {}) => createTriageAdvisor(settingsFor(provider, overrides)).advise(requestOf(triaged(issue)));

  it('drafts acceptance criteria for a thin issue, with tokens and cost from the price table', async () => {
    const issue = THIN();
    expect(triaged(issue).category).toBe('thin');
    const outcome = await advise(issue);
    if (!outcome.ok) throw new Error(outcome.failure.message);
    expect(outcome.advice).toMatchObject({ kind: 'criteria', provider, tokens: TOKENS });
    expect(outcome.advice.text).toContain('- [ ] Make search faster works as the issue describes');
    expect(outcome.advice.text.split('\n').filter((l) => l.startsWith('- [ ] '))).toHaveLength(3);
    expect(outcome.advice.costUsd).toBeCloseTo((TOKENS.input * PRICE.input + TOKENS.output * PRICE.output) / 1e6, 12);
  });

  it('suggests one of the candidate repos for an unroutable issue', async () => {
    const issue = UNROUTABLE();
    const result = triaged(issue);
    expect(result.category).toBe('unroutable');
    expect(result.route!.candidates).toEqual(['acme/api', 'acme/web']);
    const outcome = await advise(issue);
    if (!outcome.ok) throw new Error(outcome.failure.message);
    expect(outcome.advice.kind).toBe('repo');
    expect(result.route!.candidates).toContain(outcome.advice.repo);
    expect(outcome.advice.text).toContain(`\`${outcome.advice.repo}\``);
  });

  it('refuses a repo the model invented, and still counts what the answer cost', async () => {
    const { failure, spend } = failureOf(await advise(UNROUTABLE('[model:triage-invented-repo]')));
    expect(failure).toMatchObject({ kind: 'nonsense', nonsense: 'invented-repo', failureClass: 'logic' });
    expect(failure.message).toContain('acme/made-up-by-the-model');
    expect(spend?.tokens).toEqual(TOKENS);
  });

  it('gives no suggestion for prose or an empty answer', async () => {
    expect(failureOf(await advise(THIN('[model:triage-nonsense]'))).failure).toMatchObject({ kind: 'nonsense', nonsense: 'unparseable' });
    expect(failureOf(await advise(THIN('[model:triage-empty]'))).failure).toMatchObject({ kind: 'nonsense', nonsense: 'empty' });
  });

  it('classes a 500 as transient, a refused key as auth, silence past the deadline as timeout, a cut body as transient', async () => {
    expect(failureOf(await advise(THIN('[model:server-error]'))).failure).toMatchObject({ kind: 'http', status: 500, failureClass: 'transient' });
    expect(failureOf(await advise(THIN(), { apiKey: 'sk-wrong-key-for-the-emulator-000000' })).failure).toMatchObject({ kind: 'http', status: 401, failureClass: 'auth' });
    expect(failureOf(await advise(THIN('[model:silent]'), { timeoutMs: 300 })).failure).toMatchObject({ kind: 'timeout', failureClass: 'timeout' });
    expect(failureOf(await advise(THIN('[model:cut]'))).failure).toMatchObject({ kind: 'network', failureClass: 'transient' });
  });

  it('sends requests the real API would accept', () => {
    expect(emulator.invalidRequests).toEqual([]);
  });
});

describe('the triage activity with the advisor', () => {
  const advisorFor = (provider: 'anthropic' | 'openai' = 'anthropic') => createTriageAdvisor(settingsFor(provider));
  const deps = (commented = false) => {
    const { logger, lines } = capturingLogger();
    const asked: string[] = [];
    return {
      lines,
      asked,
      deps: {
        advisor: advisorFor(),
        hasEscalationComment: async (_id: string, marker: string) => {
          asked.push(marker);
          return commented;
        },
        logger,
        redact: (text: string) => text.split(ANTHROPIC_KEY).join('[redacted]'),
      },
    };
  };

  it('attaches the suggestion to a thin escalation without changing the decision, and the comment shows it', async () => {
    const plain = triaged(THIN());
    const { deps: d, asked } = deps();
    const advised = await withTriageAdvice(plain, d);
    expect(advised.advice?.kind).toBe('criteria');
    expect({ ...advised, advice: undefined }).toEqual({ ...plain, advice: undefined });
    expect(asked).toEqual([escalationMarker(plain.reason)]);

    const without = triageVerdict(plain, { approved: false });
    const withAdvice = triageVerdict(advised, { approved: false });
    if (without.kind !== 'escalate' || withAdvice.kind !== 'escalate') throw new Error('expected escalations');
    // The once-only comment logic is untouched: the same marker, with or without advice.
    expect(withAdvice.marker).toBe(`escalation:${plain.reason}`);
    expect(withAdvice.marker).toBe(without.marker);
    expect(withAdvice.comment.startsWith(without.comment)).toBe(true);
    expect(withAdvice.comment).toContain('**Suggestion** from a model (anthropic claude-triage-test), not acted on');
    expect(withAdvice.comment).toContain('- [ ] Make search faster works as the issue describes');
    // Advice is no approval: an unapproved thin issue still escalates.
    expect(triageVerdict(advised, { approved: false }).kind).toBe('escalate');
  });

  it('never asks for a dispatchable, reserved or blocked issue', async () => {
    const { deps: d, asked } = deps();
    const before = emulator.requests.length;
    const dispatchable = triaged(makeIssue({ labels: ['conveyor', 'backend'] }));
    const reserved = triaged(makeIssue({ labels: ['conveyor', 'backend', 'needs-design'] }));
    expect([dispatchable.decision, reserved.category]).toEqual(['dispatch', 'reserved']);
    expect(await withTriageAdvice(dispatchable, d)).toBe(dispatchable);
    expect(await withTriageAdvice(reserved, d)).toBe(reserved);
    expect(asked).toEqual([]);
    expect(emulator.requests.length).toBe(before);
  });

  it('does not ask again once the escalation was commented (the advice could not be shown)', async () => {
    const { deps: d } = deps(true);
    const before = emulator.requests.length;
    const plain = triaged(THIN());
    expect(await withTriageAdvice(plain, d)).toBe(plain);
    expect(emulator.requests.length).toBe(before);
  });

  it('an advisor that throws (a bug) still leaves the triage as the rules made it', async () => {
    const { deps: d, lines } = deps();
    const plain = triaged(THIN());
    const broken = { provider: 'anthropic' as const, model: 'broken', advise: () => Promise.reject(new Error('boom')) };
    expect(await withTriageAdvice(plain, { ...d, advisor: broken })).toBe(plain);
    expect(lines.join('\n')).toContain('the triage advisor threw: boom');
  });

  it('escalates without a suggestion when the model fails, logging the class and never the key', async () => {
    const { deps: d, lines } = deps();
    const plain = triaged(THIN('[model:server-error]'));
    const advised = await withTriageAdvice(plain, d);
    expect(advised.advice).toBeUndefined();
    const verdict = triageVerdict(advised, { approved: false });
    expect(verdict).toMatchObject({ kind: 'escalate', marker: `escalation:${plain.reason}` });
    expect(verdict.kind === 'escalate' && verdict.comment).not.toContain('Suggestion');
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'triage advisor gave no suggestion; the escalation is posted without one');
    expect(logged).toMatchObject({ failureClass: 'transient', failureKind: 'http', status: 500, provider: 'anthropic' });
    expect(lines.join('\n')).not.toContain(ANTHROPIC_KEY);
  });
});

describe('turning the tier on', () => {
  const KEYS = { ANTHROPIC_API_KEY: ANTHROPIC_KEY, OPENAI_API_KEY: OPENAI_KEY };

  it('is off by default, even with model keys in the environment', () => {
    expect(triageAdvisorSettings(factory(), KEYS)).toBeNull();
  });

  it('takes the provider and model from the environment over the file, and `off` turns a configured one off', () => {
    const fromFile = factory({ provider: 'openai', model: 'gpt-file' });
    expect(triageAdvisorSettings(fromFile, KEYS)).toMatchObject({ provider: 'openai', model: 'gpt-file', baseUrl: 'https://api.openai.com/v1', apiKeyEnv: 'OPENAI_API_KEY', timeoutMs: 2_000 });
    expect(triageAdvisorSettings(fromFile, { ...KEYS, CONVEYOR_TRIAGE_MODEL_PROVIDER: 'anthropic', CONVEYOR_TRIAGE_MODEL: 'claude-env' })).toMatchObject({
      provider: 'anthropic',
      model: 'claude-env',
      baseUrl: 'https://api.anthropic.com',
    });
    expect(triageAdvisorSettings(fromFile, { ...KEYS, CONVEYOR_TRIAGE_MODEL_PROVIDER: 'off' })).toBeNull();
  });

  it('says what is missing when it is on but cannot work, without showing a key', () => {
    expect(() => triageAdvisorSettings(factory(), { CONVEYOR_TRIAGE_MODEL_PROVIDER: 'anthropic', CONVEYOR_TRIAGE_MODEL: 'm' })).toThrow(/ANTHROPIC_API_KEY is not set/);
    expect(() => triageAdvisorSettings(factory(), { ...KEYS, CONVEYOR_TRIAGE_MODEL_PROVIDER: 'anthropic' })).toThrow(/names no model: set CONVEYOR_TRIAGE_MODEL/);
    expect(() => triageAdvisorSettings(factory(), { ...KEYS, CONVEYOR_TRIAGE_MODEL_PROVIDER: 'gemini' })).toThrow(/CONVEYOR_TRIAGE_MODEL_PROVIDER: expected anthropic, openai or off/);
    expect(() => triageAdvisorSettings(factory({ apiKeyEnv: 'TRIAGE_KEY' }), { ...KEYS, CONVEYOR_TRIAGE_MODEL_PROVIDER: 'openai', CONVEYOR_TRIAGE_MODEL: 'm' })).toThrow(/TRIAGE_KEY is not set/);
  });

  it('in the sandbox, asks the model emulator with the sandbox key, whatever base URL the shell has', () => {
    const config = { factory: factory() } as Config;
    const env = { ...SANDBOX_CREDENTIALS, CONVEYOR_TRIAGE_MODEL_PROVIDER: 'anthropic', ANTHROPIC_BASE_URL: 'https://api.anthropic.com' };
    expect(withSandboxAdvisor(config, { ...SANDBOX_CREDENTIALS }, emulator)).toBe(config);
    const settings = triageAdvisorSettings(withSandboxAdvisor(config, env, emulator).factory, env);
    expect(settings).toMatchObject({ provider: 'anthropic', model: SANDBOX_TRIAGE_MODEL, baseUrl: emulator.url, apiKey: SANDBOX_CREDENTIALS.ANTHROPIC_API_KEY });
    const openai = { ...env, CONVEYOR_TRIAGE_MODEL_PROVIDER: 'openai' };
    expect(triageAdvisorSettings(withSandboxAdvisor(config, openai, emulator).factory, openai)).toMatchObject({ provider: 'openai', baseUrl: emulator.openaiBaseUrl });
  });

  it('refuses a timeout that would hold triage up', () => {
    expect(() => factory({ timeout: '2m' })).toThrow(/at most 30s/);
  });
});
