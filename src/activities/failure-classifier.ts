// Every failed activity is put in a class (priority-ordered rules); the class picks the retry
// behaviour: transient retries with backoff (honouring Retry-After), auth and logic never do.
import { ApplicationFailure } from '@temporalio/activity';
import type { FailureClass } from '../domain/failure.js';
import { NON_RETRYABLE_CLASSES } from '../domain/failure.js';
import { IntegrationError } from '../integrations/errors.js';

interface Rule {
  failureClass: FailureClass;
  test: (err: Error & { code?: string; status?: number }) => boolean;
}

const RULES: Rule[] = [
  { failureClass: 'auth', test: (e) => e.status === 401 || /unauthori[sz]ed|bad credentials|authentication/i.test(e.message) },
  { failureClass: 'resource', test: (e) => e.code === 'ENOSPC' || e.code === 'EMFILE' || e.code === 'ENOMEM' || /no space left|out of memory/i.test(e.message) },
  { failureClass: 'timeout', test: (e) => e.code === 'ETIMEDOUT' || e.name === 'TimeoutError' || /timed? ?out/i.test(e.message) },
  {
    failureClass: 'transient',
    test: (e) =>
      ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET'].includes(e.code ?? '') ||
      (e.status !== undefined && (e.status === 429 || e.status >= 500)) ||
      /socket hang up|fetch failed|network|temporarily unavailable/i.test(e.message),
  },
  { failureClass: 'logic', test: (e) => e.status !== undefined && e.status >= 400 && e.status < 500 },
  { failureClass: 'logic', test: (e) => e instanceof TypeError || e instanceof RangeError || e instanceof SyntaxError },
];

export function classifyError(err: unknown): FailureClass {
  if (err instanceof IntegrationError) return err.failureClass;
  if (err instanceof ApplicationFailure && err.type && ['transient', 'auth', 'logic', 'resource', 'timeout', 'unknown'].includes(err.type)) return err.type as FailureClass;
  if (!(err instanceof Error)) return 'unknown';
  return RULES.find((rule) => rule.test(err))?.failureClass ?? 'unknown';
}

/** What an activity throws: the class as the failure type, retryability and Retry-After on it. */
export function toActivityFailure(err: unknown, redact: (text: string) => string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const failureClass = classifyError(err);
  const message = redact(err instanceof Error ? err.message : String(err));
  const retryAfterMs = err instanceof IntegrationError ? err.details.retryAfterMs : undefined;
  return ApplicationFailure.create({
    type: failureClass,
    message,
    nonRetryable: NON_RETRYABLE_CLASSES.includes(failureClass),
    nextRetryDelay: failureClass === 'transient' && retryAfterMs ? retryAfterMs : undefined,
  });
}
