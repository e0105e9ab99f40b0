// Agent endings are classed from what the process and its stream say, with the error shapes the
// real CLIs and provider APIs emit (Claude Code stream-json `result` events, codex `--json`
// events, Anthropic and OpenAI error JSON, Node's and the kernel's last words), so the share of
// `unknown` measures rules that need attention, not every crash.
import { describe, expect, it } from 'vitest';
import { classifyAgentEnding } from '../../src/activities/failure-classifier.js';

const claudeResult = (result: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: 'result', subtype: 'success', is_error: true, duration_ms: 412, duration_api_ms: 0, num_turns: 1, result, session_id: '0e5c0c8e-2b4f-4a51-9f0e-7f3f1b9d6a11', total_cost_usd: 0, usage: { input_tokens: 0, output_tokens: 0 }, ...extra });
const anthropicError = (status: number, type: string, message: string) => `API Error: ${status} ${JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_011CUqM5b2q1' })}`;
const openAiError = (code: string, type: string, message: string) => JSON.stringify({ error: { message, type, param: null, code } });
const codexError = (message: string) => JSON.stringify({ type: 'error', message });
const stream = (...lines: string[]) =>
  [JSON.stringify({ type: 'system', subtype: 'init', cwd: '/work/tree', session_id: 's1', tools: ['Read', 'Write', 'Bash'] }), JSON.stringify({ type: 'assistant', message: { content: [{ type: 'text', text: 'Working on it; a rate limit would be annoying.' }] } }), ...lines, '[conveyor] 2026-11-30T20:00:00.000Z exited with code 1 after 3 s'].join('\n');

const ended = (output: string, exitCode: number | null = 1, signal: string | null = null) => classifyAgentEnding({ exitCode, signal, output });

describe('classifying agent endings', () => {
  it.each([
    ['Claude Code: invalid key, as the CLI words it', stream(claudeResult('Invalid API key · Please run /login')), 'auth'],
    ['Claude Code: Anthropic authentication_error', stream(claudeResult(anthropicError(401, 'authentication_error', 'invalid x-api-key'))), 'auth'],
    ['Claude Code: Anthropic permission_error', stream(claudeResult(anthropicError(403, 'permission_error', 'Your API key does not have permission to use the specified resource.'))), 'auth'],
    ['codex: OpenAI invalid_api_key', stream(codexError(`unexpected status 401 Unauthorized: ${openAiError('invalid_api_key', 'invalid_request_error', 'Incorrect API key provided: sk-proj-****abcd.')}`)), 'auth'],
    ['codex: OpenAI insufficient_quota', stream(codexError(`unexpected status 429 Too Many Requests: ${openAiError('insufficient_quota', 'insufficient_quota', 'You exceeded your current quota, please check your plan and billing details.')}`)), 'auth'],
    ['Claude Code: Anthropic rate_limit_error', stream(claudeResult(anthropicError(429, 'rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'))), 'transient'],
    ['Claude Code: Anthropic overloaded_error (529)', stream(claudeResult(anthropicError(529, 'overloaded_error', 'Overloaded'))), 'transient'],
    ['codex: turn.failed after retries on 429', stream(JSON.stringify({ type: 'turn.failed', error: { message: 'exceeded retry limit, last status: 429 Too Many Requests' } })), 'transient'],
    ['OpenAI rate_limit_exceeded JSON on stderr', stream(openAiError('rate_limit_exceeded', 'tokens', 'Rate limit reached for gpt-5 in organization org-x on tokens per min (TPM). Please try again in 6s.')), 'transient'],
    ['Claude Code: prompt too long', stream(claudeResult(anthropicError(400, 'invalid_request_error', 'prompt is too long: 215304 tokens > 200000 maximum'))), 'logic'],
    ['OpenAI context_length_exceeded', stream(codexError(`unexpected status 400 Bad Request: ${openAiError('context_length_exceeded', 'invalid_request_error', "This model's maximum context length is 128000 tokens.")}`)), 'logic'],
    ['codex: out of context window', stream(codexError("Codex ran out of room in the model's context window. Start a new conversation or clear earlier history before retrying.")), 'logic'],
    ['Claude Code: a refused tool (permission_denials)', stream(claudeResult('I could not run the tests.', { is_error: true, permission_denials: [{ tool_name: 'Bash', tool_use_id: 'toolu_01', tool_input: { command: 'npm test' } }] })), 'logic'],
    ['Claude Code: turn limit', stream(JSON.stringify({ type: 'result', subtype: 'error_max_turns', is_error: true, num_turns: 30, session_id: 's1' })), 'logic'],
    ['Node heap exhausted', stream('<--- Last few GCs --->', 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory'), 'resource'],
    ['disk full', stream("Error: ENOSPC: no space left on device, write '/work/tree/dist/bundle.js'"), 'resource'],
    ['Anthropic SDK timeout', stream(claudeResult('API Error: Request timed out.')), 'timeout'],
  ])('%s → %s', (_, output, failureClass) => {
    const verdict = ended(output);
    expect(verdict.failureClass).toBe(failureClass);
    expect(verdict.evidence.length).toBeGreaterThan(0);
  });

  it('ignores ordinary chatter that mentions an error word; only error events and error lines count', () => {
    const chatter = stream(JSON.stringify({ type: 'assistant', message: { content: [{ type: 'text', text: 'I will handle the 429 rate limit and the invalid api key case in the client.' }] } }));
    expect(ended(chatter).failureClass).toBe('unknown');
  });

  it('puts a reason that needs a human before one that would pass', () => {
    const both = stream(claudeResult(anthropicError(429, 'rate_limit_error', 'rate limited')), claudeResult(anthropicError(401, 'authentication_error', 'invalid x-api-key')));
    expect(ended(both)).toMatchObject({ failureClass: 'auth', rule: 'model authentication (authentication_error)' });
  });

  it('falls back to the exit: SIGKILL or 137 is resource, 126/127 logic, SIGTERM transient, anything else unknown', () => {
    expect(ended('', null, 'SIGKILL').failureClass).toBe('resource');
    expect(ended('', 137).failureClass).toBe('resource');
    expect(ended('sh: 1: claude: not found', 127).failureClass).toBe('logic');
    expect(ended('', null, 'SIGTERM').failureClass).toBe('transient');
    expect(ended('segfault-free but silent', 3)).toEqual({ failureClass: 'unknown', rule: 'no rule matched', evidence: 'exit 3' });
  });
});

describe('the failure a failed agent activity throws', () => {
  it('carries the class read from the end of the real log file as its type, redacts the evidence, and retries only transient', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { agentFailure } = await import('../../src/activities/line-activities.js');
    const { createRedactor } = await import('../../src/activities/redact.js');
    const dir = await mkdtemp(join(tmpdir(), 'agent-failure-'));
    try {
      const logFile = join(dir, 'eng-1-1.log');
      const key = 'sk-ant-api03-' + 'x'.repeat(40);
      // A long stream first: only the end of the log is read.
      await writeFile(logFile, `${'{"type":"assistant","message":{"content":[]}}\n'.repeat(5000)}${claudeResult(anthropicError(401, 'authentication_error', `invalid x-api-key ${key}`))}\n`);
      const exit = { status: 'failed' as const, exitCode: 1, signal: null, message: `The agent exited with code 1; see ${logFile}.`, logFile };
      const auth = await agentFailure(exit, createRedactor({}));
      expect(auth).toMatchObject({ type: 'auth', nonRetryable: true });
      expect(auth.message).toMatch(/Classed auth \(model authentication \(authentication_error\)\)/);
      expect(auth.message).not.toContain(key);

      await writeFile(logFile, `${claudeResult(anthropicError(529, 'overloaded_error', 'Overloaded'))}\n`);
      expect(await agentFailure(exit, createRedactor({}))).toMatchObject({ type: 'transient', nonRetryable: false });
      expect(await agentFailure({ ...exit, logFile: join(dir, 'missing.log'), exitCode: 5 }, createRedactor({}))).toMatchObject({ type: 'unknown', nonRetryable: true });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
