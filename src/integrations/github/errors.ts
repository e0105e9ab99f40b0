import { IntegrationError } from '../errors.js';

// GitHub's refusals, sorted into failure classes. The class decides whether Temporal retries
// (transient, honouring GitHub's advised wait) or escalates (auth, logic). Messages name the
// credential and the operation, never a credential's value.

interface HttpLikeError {
  status: number;
  message: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

function isHttpLike(error: unknown): error is HttpLikeError {
  return typeof error === 'object' && error !== null && typeof (error as { status?: unknown }).status === 'number';
}

function header(error: HttpLikeError, name: string): string | undefined {
  const value = error.response?.headers?.[name];
  return value === undefined ? undefined : String(value);
}

/** GitHub's own words: `message` plus any validation `errors`. */
function githubMessage(error: HttpLikeError): string {
  const data = error.response?.data;
  if (typeof data !== 'object' || data === null) return error.message;
  const { message, errors } = data as { message?: unknown; errors?: unknown };
  const details = Array.isArray(errors)
    ? errors.map((e) => (typeof e === 'string' ? e : typeof e === 'object' && e !== null ? ((e as { message?: string }).message ?? `${(e as { field?: string }).field ?? ''} ${(e as { code?: string }).code ?? ''}`.trim()) : '')).filter(Boolean)
    : [];
  return [typeof message === 'string' ? message : error.message, ...details].join(': ');
}

/** How long GitHub asks us to wait, from `retry-after` (seconds) or `x-ratelimit-reset` (epoch seconds). */
export function retryAfterMs(error: HttpLikeError, now = Date.now()): number | undefined {
  const retryAfter = header(error, 'retry-after');
  if (retryAfter !== undefined && Number.isFinite(Number(retryAfter))) return Math.max(Number(retryAfter) * 1000, 0);
  const reset = header(error, 'x-ratelimit-reset');
  if (reset !== undefined && Number.isFinite(Number(reset))) return Math.max(Number(reset) * 1000 - now, 0);
  return undefined;
}

export function isRateLimited(error: HttpLikeError): boolean {
  if (error.status === 429) return true;
  if (error.status !== 403) return false;
  return header(error, 'x-ratelimit-remaining') === '0' || header(error, 'retry-after') !== undefined || /rate limit/i.test(githubMessage(error));
}

export function scrub(text: string, secrets: string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length >= 4) result = result.split(secret).join('[REDACTED]');
  }
  return result;
}

export interface ClassifyContext {
  /** What we were doing, e.g. `merging acme/widgets#4`. */
  action: string;
  /** The credential's name, e.g. `GITHUB_TOKEN`; never its value. */
  credential: string;
  /** Values that must never appear in a message. */
  secrets: string[];
}

export function toIntegrationError(error: unknown, ctx: ClassifyContext): IntegrationError {
  if (error instanceof IntegrationError) return error;
  const say = (text: string): string => scrub(text, ctx.secrets);
  if (!isHttpLike(error)) {
    const reason = error instanceof Error ? error.message : String(error);
    return new IntegrationError(say(`Could not reach GitHub while ${ctx.action}: ${reason}. Will retry; check the network and the GitHub base URL if it persists.`), 'transient', { service: 'github' });
  }
  const status = error.status;
  const said = githubMessage(error);
  const details = { service: 'github' as const, status };
  if (status === 401) {
    return new IntegrationError(say(`GitHub rejected ${ctx.credential} (401 ${said}) while ${ctx.action}: the credential is invalid, expired or revoked. Replace it and restart the worker.`), 'auth', details);
  }
  if (isRateLimited(error)) {
    const wait = retryAfterMs(error);
    return new IntegrationError(
      say(`GitHub rate limit hit while ${ctx.action} (${status} ${said})${wait !== undefined ? `; GitHub asks to wait ${Math.ceil(wait / 1000)} s` : ''}. Retrying later.`),
      'transient',
      { ...details, ...(wait !== undefined ? { retryAfterMs: wait } : {}) },
    );
  }
  if (status === 403) {
    return new IntegrationError(say(`GitHub refused ${ctx.action} (403 ${said}): ${ctx.credential} lacks the permission for it. Grant the permission (contents, pull requests, checks) or use another credential.`), 'auth', details);
  }
  if (status === 404) {
    return new IntegrationError(say(`GitHub found nothing while ${ctx.action} (404 ${said}): check the repository name and that ${ctx.credential} can see it.`), 'logic', details);
  }
  if (status === 422) {
    return new IntegrationError(say(`GitHub refused ${ctx.action} as invalid (422 ${said}).`), 'logic', details);
  }
  if (status >= 500) {
    return new IntegrationError(say(`GitHub failed while ${ctx.action} (${status} ${said}). Will retry.`), 'transient', details);
  }
  return new IntegrationError(say(`GitHub refused ${ctx.action} (${status} ${said}).`), 'logic', details);
}
