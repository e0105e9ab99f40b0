// Secrets never reach the tracker, the PR or the logs; failures are classed so that an error
// that can never succeed is not retried for half a day (a peer's users saw exactly that).
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { classifyError, toActivityFailure } from '../../src/activities/failure-classifier.js';
import { createRedactor } from '../../src/activities/redact.js';
import { IntegrationError } from '../../src/integrations/errors.js';

describe('the secret redactor', () => {
  const redact = createRedactor({ GITHUB_TOKEN: 'plain-token-value-123', LINEAR_WEBHOOK_SECRETS: 'old-secret-1,new-secret-2', HOME: '/root' });

  it('removes the factory\'s own secrets by value, including each of a rotation list', () => {
    const out = redact('token plain-token-value-123 and old-secret-1 / new-secret-2 in /root');
    expect(out).not.toMatch(/plain-token-value-123|old-secret-1|new-secret-2/);
    expect(out).toContain('/root');
  });

  it('removes common token shapes it was never told about', () => {
    const samples = ['ghp_' + 'a'.repeat(36), 'github_pat_' + 'B'.repeat(40), 'lin_api_' + 'c'.repeat(40), 'sk-ant-' + 'd'.repeat(40), 'https://user:pa55word@example.com/repo.git', 'Authorization: Bearer abc.def.ghi'];
    const secretPart = (sample: string) => (sample.includes('@') ? 'pa55word' : sample.slice(-12));
    for (const sample of samples) expect(redact(`see ${sample} here`)).not.toContain(secretPart(sample));
  });
});

describe('failure classes', () => {
  it('trusts the class an integration gave', () => {
    expect(classifyError(new IntegrationError('GitHub rejected GITHUB_TOKEN', 'auth', { service: 'github', status: 401 }))).toBe('auth');
  });

  it('classes raw errors by priority-ordered rules', () => {
    expect(classifyError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe('transient');
    expect(classifyError(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }))).toBe('resource');
    expect(classifyError(Object.assign(new Error('Bad credentials'), { status: 401 }))).toBe('auth');
    expect(classifyError(Object.assign(new Error('Validation Failed'), { status: 422 }))).toBe('logic');
    expect(classifyError(new TypeError('x is not a function'))).toBe('logic');
    expect(classifyError(new Error('something odd'))).toBe('unknown');
  });

  it('makes auth and logic non-retryable, and carries Retry-After on transient failures', () => {
    const auth = toActivityFailure(new IntegrationError('bad key', 'auth', { service: 'linear' }), (t) => t);
    expect(auth).toBeInstanceOf(ApplicationFailure);
    expect(auth).toMatchObject({ type: 'auth', nonRetryable: true });
    const limited = toActivityFailure(new IntegrationError('rate limited', 'transient', { service: 'github', status: 403, retryAfterMs: 30_000 }), (t) => t);
    expect(limited).toMatchObject({ type: 'transient', nonRetryable: false, nextRetryDelay: 30_000 });
  });

  it('scrubs secrets from the failure message it records', () => {
    const failure = toActivityFailure(new Error('push failed for https://x-access-token:ghp_' + 'z'.repeat(36) + '@github.com/a/b'), createRedactor({}));
    expect(failure.message).not.toContain('zzzzzzzz');
  });
});
