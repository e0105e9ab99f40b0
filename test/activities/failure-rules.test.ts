// Every rule of the failure classifier on its own: each provider error code, each wording a
// CLI or runtime uses, which stream events count as error reports, and the evidence kept.
// A rule no test reaches is a rule that can silently stop matching, and the `unknown` share
// (the alert at 20%) would grow with nobody knowing why.
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { classifyAgentEnding, classifyError, toActivityFailure } from '../../src/activities/failure-classifier.js';
import { IntegrationError } from '../../src/integrations/errors.js';

const ended = (output: string, exitCode: number | null = 1, signal: string | null = null) => classifyAgentEnding({ exitCode, signal, output });
/** An Anthropic-style error event carrying only a code: no text any rule would match. */
const codeOnly = (code: string) => JSON.stringify({ type: 'error', error: { type: code, message: 'see code' } });
/** A codex-style error event carrying only a message. */
const said = (message: string) => JSON.stringify({ type: 'error', message });

describe('agent endings: provider error codes', () => {
  it.each([
    ['auth', 'model authentication', ['authentication_error', 'permission_error', 'invalid_api_key', 'insufficient_quota', 'billing_not_active', 'account_deactivated']],
    ['resource', 'out of memory or disk', ['ENOMEM', 'ENOSPC']],
    ['logic', 'context too long', ['context_length_exceeded', 'request_too_large', 'string_above_max_length']],
    ['logic', 'turn limit', ['error_max_turns']],
    ['transient', 'rate limit or overload', ['rate_limit_error', 'overloaded_error', 'rate_limit_exceeded', 'server_error', 'api_error', 'service_unavailable']],
    ['timeout', 'deadline', ['ETIMEDOUT', 'timeout']],
  ] as const)('%s (%s) for each of its codes, the code named in the rule and kept as evidence', (failureClass, rule, codes) => {
    for (const code of codes) expect(ended(codeOnly(code)), code).toEqual({ failureClass, rule: `${rule} (${code})`, evidence: code });
  });

  it('reads a code from `code` and `subtype` as well as `type`, and from an item the event carries', () => {
    expect(ended(JSON.stringify({ error: { code: 'rate_limit_exceeded', message: 'slow down' } })).rule).toBe('rate limit or overload (rate_limit_exceeded)');
    expect(ended(JSON.stringify({ type: 'result', subtype: 'error_max_turns', is_error: false })).rule).toBe('turn limit (error_max_turns)');
    expect(ended(JSON.stringify({ type: 'turn.failed', item: { type: 'overloaded_error' } })).rule).toBe('rate limit or overload (overloaded_error)');
  });

  it('keeps the matching words as evidence when the code came with them', () => {
    const event = JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
    expect(ended(event)).toEqual({ failureClass: 'auth', rule: 'model authentication (authentication_error)', evidence: 'invalid x-api-key' });
  });

  it('reads an API error embedded in a text as JSON, and the text alone when the braces are not JSON', () => {
    const embedded = JSON.stringify({ type: 'result', is_error: true, result: 'API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"busy"}}' });
    expect(ended(embedded).rule).toBe('rate limit or overload (overloaded_error)');
    expect(ended(JSON.stringify({ type: 'error', message: 'failed {not json} with 503' }))).toEqual({ failureClass: 'transient', rule: 'rate limit or overload', evidence: 'failed {not json} with 503' });
  });

  it('stops reading nested errors past four levels', () => {
    const nest = (depth: number): unknown => (depth === 0 ? { type: 'rate_limit_error' } : { error: nest(depth - 1) });
    expect(ended(JSON.stringify({ type: 'error', error: nest(3) })).failureClass).toBe('transient');
    expect(ended(JSON.stringify({ type: 'error', error: nest(4) })).failureClass).toBe('unknown');
  });
});

describe('agent endings: wordings', () => {
  it.each([
    ['auth', 'model authentication', ['Invalid API key', 'invalid x-api-key', 'Incorrect API key provided', 'HTTP 401 Unauthorized', '401: authentication required', 'authentication_failed', 'Please run /login', 'OAuth token has expired', 'OAuth token expired', 'Credit balance is too low', 'You exceeded your current quota']],
    ['resource', 'out of memory or disk', ['JavaScript heap out of memory', 'Reached heap limit', 'out of memory', 'Cannot allocate memory', 'No space left on device', 'write ENOSPC', 'spawn ENOMEM', 'Disk quota exceeded']],
    ['logic', 'context too long', ['prompt is too long', 'context length exceeded', 'context window is too long', 'maximum context length is 8192', 'too many tokens', 'input is too long', 'exceeds the context window', "ran out of room in the model's context window"]],
    ['logic', 'turn limit', ['Reached max turns (30)', 'reached the maximum number of turns']],
    ['logic', 'tool refused', ['This command requires approval', "you haven't granted it yet", 'permission to use Bash was denied', 'permission to use Edit denied', 'tool use was refused', 'tool use denied', 'sandbox denied the write', 'not allowed by the sandbox', 'not allowed by policy']],
    ['transient', 'rate limit or overload', ['rate limit reached', 'rate-limit', 'Too Many Requests', 'status 429', 'Overloaded', 'status 529', 'status 502', 'status 503', 'status 504', 'Service Unavailable', 'server_error', 'stream disconnected before completion', 'connection reset by peer', 'connection refused', 'read ECONNRESET', 'connect ECONNREFUSED', 'getaddrinfo EAI_AGAIN']],
    ['timeout', 'deadline', ['Request timed out', 'a timeout hit', 'deadline exceeded', 'connect ETIMEDOUT']],
  ] as const)('%s (%s) for each way it is said', (failureClass, rule, texts) => {
    for (const text of texts) expect(ended(said(text)), text).toEqual({ failureClass, rule, evidence: text });
  });

  it.each([
    ['a 401 that does not say why', 'status 401'],
    ['a status code inside a longer number', 'request 14290 failed'],
    ['a 500, which is not one of the overload codes', 'status 500'],
    ['"timeouts" in a word', 'set the timeouts option'],
  ])('leaves %s unmatched', (_, text) => {
    expect(ended(said(text)).rule).toBe('no rule matched');
  });

  it('tries rules in priority order: auth, resource, logic, then transient and timeout', () => {
    expect(ended([said('rate limit'), said('invalid api key')].join('\n')).failureClass).toBe('auth');
    expect(ended([said('timed out'), said('no space left on device')].join('\n')).failureClass).toBe('resource');
    expect(ended([said('503 service unavailable'), said('prompt is too long')].join('\n')).failureClass).toBe('logic');
    expect(ended([said('timed out'), said('overloaded')].join('\n')).failureClass).toBe('transient');
  });

  it('flattens and cuts long evidence to 240 characters', () => {
    const long = `rate limit\n\n  ${'x'.repeat(400)}`;
    const { evidence } = ended(said(long));
    expect(evidence).toBe(`rate limit ${'x'.repeat(229)}…`);
    expect(ended(said('rate limit\n\n\t hit')).evidence).toBe('rate limit hit');
  });
});

describe('agent endings: which lines are error reports', () => {
  it('reads a Claude Code result only when it is an error', () => {
    expect(ended(JSON.stringify({ type: 'result', is_error: true, subtype: 'success', result: 'Overloaded' })).failureClass).toBe('transient');
    expect(ended(JSON.stringify({ type: 'result', is_error: false, subtype: 'error_during_execution', result: 'Overloaded' })).failureClass).toBe('transient');
    expect(ended(JSON.stringify({ type: 'result', is_error: false, subtype: 'success', result: 'Handled the 429 rate limit case' })).failureClass).toBe('unknown');
    expect(ended(JSON.stringify({ type: 'result', is_error: 'yes', result: 'Overloaded' })).failureClass).toBe('unknown');
    expect(ended(JSON.stringify({ type: 'result', is_error: false, subtype: 7, result: 'Overloaded' })).failureClass).toBe('unknown');
  });

  it.each(['error', 'turn.failed', 'response.failed'])('reads a `%s` event', (type) => {
    expect(ended(JSON.stringify({ type, message: 'rate limit' })).failureClass).toBe('transient');
  });

  it('reads any event with an error, and none whose error is null', () => {
    expect(ended(JSON.stringify({ type: 'item.completed', error: 'rate limit' })).failureClass).toBe('transient');
    expect(ended(JSON.stringify({ type: 'item.completed', error: null, message: 'rate limit' })).failureClass).toBe('unknown');
    expect(ended(JSON.stringify({ type: 'item.completed', message: 'rate limit' })).failureClass).toBe('unknown');
  });

  it('reads a refused tool from the permission denials of the final result, named or not', () => {
    const denied = (denials: unknown[]) => JSON.stringify({ type: 'result', is_error: false, subtype: 'success', result: 'done', permission_denials: denials });
    expect(ended(denied([{ tool_name: 'Bash' }]))).toEqual({ failureClass: 'logic', rule: 'tool refused', evidence: 'permission to use Bash denied' });
    // A denial that does not name its tool is still a refused tool, not an unknown crash.
    expect(ended(denied([{ tool_use_id: 'toolu_1' }]))).toEqual({ failureClass: 'logic', rule: 'tool refused', evidence: 'permission to use a tool denied' });
    expect(ended(denied([{ tool_name: 42 }])).rule).toBe('tool refused');
    expect(ended(denied([])).rule).toBe('no rule matched');
    expect(ended(JSON.stringify({ type: 'assistant', permission_denials: [{ tool_name: 'Bash' }] })).rule).toBe('no rule matched');
  });

  it('reads plain lines only when they read as an error, and never its own [conveyor] lines', () => {
    for (const line of ['Error: connect ECONNREFUSED 127.0.0.1:443', 'fatal: unable to access: connection refused', 'Killed: rate limit', 'request timed out', 'exceeded rate limit', 'denied: rate limit', 'refused: overloaded', 'unauthorised: rate limit', 'no space left on device', 'out of memory']) {
      expect(ended(`some output\n${line}`).rule, line).not.toBe('no rule matched');
    }
    expect(ended('the client now handles rate limit responses').rule).toBe('no rule matched');
    expect(ended('[conveyor] agent killed: rate limit of the fleet').rule).toBe('no rule matched');
  });

  it('treats a line that starts like JSON but is not as plain text', () => {
    expect(ended('{ fatal: rate limit').failureClass).toBe('transient');
    expect(ended('["error", "rate limit"]').failureClass).toBe('transient');
  });
});

describe('agent endings: the exit alone', () => {
  it('names the evidence it had', () => {
    expect(ended('', 1, 'SIGKILL')).toEqual({ failureClass: 'resource', rule: 'killed (SIGKILL: the kernel OOM killer, most often)', evidence: 'SIGKILL' });
    expect(ended('', 137)).toEqual({ failureClass: 'resource', rule: 'killed (SIGKILL: the kernel OOM killer, most often)', evidence: 'exit 137' });
    expect(ended('', 126)).toEqual({ failureClass: 'logic', rule: 'command not runnable', evidence: 'exit 126' });
    expect(ended('', 127)).toEqual({ failureClass: 'logic', rule: 'command not runnable', evidence: 'exit 127' });
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) expect(ended('', null, signal)).toEqual({ failureClass: 'transient', rule: 'stopped from outside', evidence: signal });
    expect(ended('', null, 'SIGSEGV')).toEqual({ failureClass: 'unknown', rule: 'no rule matched', evidence: 'signal SIGSEGV' });
    expect(ended('', null, null)).toEqual({ failureClass: 'unknown', rule: 'no rule matched', evidence: 'exit ?' });
    expect(ended('', 128)).toEqual({ failureClass: 'unknown', rule: 'no rule matched', evidence: 'exit 128' });
  });
});

describe('activity errors', () => {
  const err = (message: string, extra: { code?: string; status?: number; name?: string } = {}) => Object.assign(new Error(message), extra);

  it.each([
    ['auth', err('nope', { status: 401 })],
    ['auth', err('Unauthorized')],
    ['auth', err('request unauthorised')],
    ['auth', err('Bad credentials')],
    ['auth', err('Authentication failed for repo')],
    ['resource', err('x', { code: 'ENOSPC' })],
    ['resource', err('x', { code: 'EMFILE' })],
    ['resource', err('x', { code: 'ENOMEM' })],
    ['resource', err('No space left on device')],
    ['resource', err('worker ran out of memory')],
    ['timeout', err('x', { code: 'ETIMEDOUT' })],
    ['timeout', err('x', { name: 'TimeoutError' })],
    ['timeout', err('operation timed out')],
    ['timeout', err('request timeout')],
    ['timeout', err('time out waiting')],
    ...['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET'].map((code) => ['transient', err('x', { code })] as const),
    ['transient', err('x', { status: 429 })],
    ['transient', err('x', { status: 500 })],
    ['transient', err('x', { status: 503 })],
    ['transient', err('socket hang up')],
    ['transient', err('fetch failed')],
    ['transient', err('Network is down')],
    ['transient', err('Service temporarily unavailable')],
    ['logic', err('x', { status: 400 })],
    ['logic', err('x', { status: 499 })],
    ['logic', new RangeError('bad length')],
    ['logic', new SyntaxError('Unexpected token')],
    ['unknown', err('x', { status: 399 })],
    ['unknown', err('x', { code: 'EWHATEVER' })],
  ] as const)('%s: %s', (failureClass, error) => {
    expect(classifyError(error)).toBe(failureClass);
  });

  it('takes the class an ApplicationFailure carries when it is one of the classes, and reads it like any error otherwise', () => {
    for (const type of ['transient', 'auth', 'logic', 'resource', 'timeout', 'unknown']) expect(classifyError(ApplicationFailure.create({ type, message: 'rate limit' }))).toBe(type);
    expect(classifyError(ApplicationFailure.create({ type: 'Custom', message: 'socket hang up' }))).toBe('transient');
    expect(classifyError(ApplicationFailure.create({ message: 'Bad credentials' }))).toBe('auth');
  });

  it('calls anything that is not an Error unknown', () => {
    expect(classifyError('timed out')).toBe('unknown');
    expect(classifyError({ status: 401, message: 'Unauthorized' })).toBe('unknown');
    expect(classifyError(null)).toBe('unknown');
  });

  it('passes an ApplicationFailure through as it is', () => {
    const failure = ApplicationFailure.create({ type: 'logic', message: 'already classed' });
    expect(toActivityFailure(failure, () => 'redacted')).toBe(failure);
  });

  it('throws the class as the type with the redacted message, retrying only what can pass', () => {
    const redact = (text: string) => text.replace('s3cret', '[redacted]');
    expect(toActivityFailure(err('token s3cret refused', { status: 422 }), redact)).toMatchObject({ type: 'logic', message: 'token [redacted] refused', nonRetryable: true, nextRetryDelay: undefined });
    expect(toActivityFailure(err('socket hang up'), redact)).toMatchObject({ type: 'transient', nonRetryable: false, nextRetryDelay: undefined });
    expect(toActivityFailure(err('No space left on device'), redact)).toMatchObject({ type: 'resource', nonRetryable: false });
    expect(toActivityFailure('a thrown s3cret string', redact)).toMatchObject({ type: 'unknown', message: 'a thrown [redacted] string', nonRetryable: false });
  });

  it('carries Retry-After only on a transient failure', () => {
    expect(toActivityFailure(new IntegrationError('slow down', 'transient', { service: 'github', retryAfterMs: 12_000 }), (t) => t)).toMatchObject({ nextRetryDelay: 12_000 });
    expect(toActivityFailure(new IntegrationError('bad key', 'auth', { service: 'github', retryAfterMs: 12_000 }), (t) => t)).toMatchObject({ type: 'auth', nonRetryable: true, nextRetryDelay: undefined });
    expect(toActivityFailure(new IntegrationError('slow down', 'transient', { service: 'github' }), (t) => t)).toMatchObject({ nextRetryDelay: undefined });
  });
});
