// One JSON request to a model API with plain fetch, under a hard deadline, and every way it can
// fail put in a failure class. No retries: triage must never wait long on a suggestion, and a
// suggestion missed is an escalation without one, not a fault.
import type { FailureClass } from '../../domain/failure.js';

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** How a call failed: `http` (the API refused), `timeout`, `network` (no answer or the body cut
 * off mid-way), `malformed` (a 200 whose body is not the API's shape). */
export type CallFailureKind = 'http' | 'timeout' | 'network' | 'malformed';

export class ModelCallError extends Error {
  override readonly name = 'ModelCallError';
  constructor(
    message: string,
    readonly failureClass: FailureClass,
    readonly kind: CallFailureKind,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The API's own words on a refusal, bounded: `{error: {message}}` (Anthropic, OpenAI) or the text. */
function refusalMessage(body: string): string {
  let message = body;
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown; type?: unknown } };
    if (parsed.error && typeof parsed.error.message === 'string') message = `${typeof parsed.error.type === 'string' ? `${parsed.error.type}: ` : ''}${parsed.error.message}`;
  } catch {
    // Not JSON (a proxy's HTML page): its first words say enough.
  }
  message = message.replace(/\s+/g, ' ').trim();
  return message.length > 300 ? `${message.slice(0, 299)}…` : message;
}

function statusClass(status: number): FailureClass {
  if (status === 401 || status === 403) return 'auth';
  if (status === 408) return 'timeout';
  if (status === 429 || status >= 500) return 'transient';
  return 'logic';
}

/** POSTs `body` as JSON and returns the parsed JSON answer, or throws ModelCallError. */
export async function postModelJson(options: { url: string; headers: Record<string, string>; body: unknown; timeoutMs: number; fetch?: FetchLike; what: string }): Promise<unknown> {
  const doFetch = options.fetch ?? fetch;
  // One deadline for the headers and the whole body: a stream held open or cut is caught too.
  const signal = AbortSignal.timeout(options.timeoutMs);
  const timedOut = () => new ModelCallError(`${options.what} did not answer within ${options.timeoutMs} ms`, 'timeout', 'timeout');
  let response: Response;
  try {
    response = await doFetch(options.url, { method: 'POST', headers: { 'content-type': 'application/json', ...options.headers }, body: JSON.stringify(options.body), signal });
  } catch (err) {
    if (signal.aborted) throw timedOut();
    throw new ModelCallError(`${options.what} could not be reached: ${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)}`, 'transient', 'network');
  }
  let text: string;
  try {
    text = await response.text();
  } catch (err) {
    if (signal.aborted) throw timedOut();
    throw new ModelCallError(`${options.what} cut its answer off mid-way (HTTP ${response.status}): ${err instanceof Error ? err.message : String(err)}`, 'transient', 'network', response.status);
  }
  if (!response.ok) throw new ModelCallError(`${options.what} answered HTTP ${response.status}: ${refusalMessage(text)}`, statusClass(response.status), 'http', response.status);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ModelCallError(`${options.what} answered HTTP ${response.status} with a body that is not JSON (${text.length} bytes)`, 'logic', 'malformed', response.status);
  }
}
