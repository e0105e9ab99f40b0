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

// ── agent endings ───────────────────────────────────────────────────────────────────────
// An agent CLI that exits non-zero says why on its stream: Claude Code's final `result` event
// (`is_error`, the API error it gave up on in `result`, `permission_denials`), codex's `error`
// and `turn.failed` events, the provider's error JSON (Anthropic `{"type":"error","error":
// {"type":"rate_limit_error",…}}`, OpenAI `{"error":{"code":"rate_limit_exceeded",…}}`), and
// the runtime's own last words (Node's heap limit, ENOSPC). The rules read those, in priority
// order, and fall back to the exit code and signal; what matched is kept as evidence.

export interface AgentEnding {
  exitCode: number | null;
  signal: string | null;
  /** The end of the agent's output (its stream), newest last. */
  output: string;
}

export interface AgentVerdict {
  failureClass: FailureClass;
  /** The rule that decided, e.g. `anthropic authentication_error`. */
  rule: string;
  /** The words that matched, cut short (redact before showing). */
  evidence: string;
}

interface AgentRule {
  failureClass: FailureClass;
  rule: string;
  /** Provider error types or codes (Anthropic `error.type`, OpenAI `error.code`/`type`). */
  codes?: readonly string[];
  /** Words in an error text (a `result`, an `error` event's message, a stderr line). */
  text?: RegExp;
}

// Priority: a reason that needs a human (auth, a resource, the task itself) outranks one that
// passes (a rate limit seen on the way, a retried timeout).
const AGENT_RULES: readonly AgentRule[] = [
  { failureClass: 'auth', rule: 'model authentication', codes: ['authentication_error', 'permission_error', 'invalid_api_key', 'insufficient_quota', 'billing_not_active', 'account_deactivated'], text: /invalid (x-)?api[- ]key|incorrect api key|401 unauthorized|\b401\b.*(unauthori[sz]ed|authentication)|authentication_failed|please run \/login|oauth token (has )?expired|credit balance is too low|exceeded your current quota/i },
  { failureClass: 'resource', rule: 'out of memory or disk', codes: ['ENOMEM', 'ENOSPC'], text: /heap out of memory|reached heap limit|out of memory|cannot allocate memory|no space left on device|\bENOSPC\b|\bENOMEM\b|disk quota exceeded/i },
  { failureClass: 'logic', rule: 'context too long', codes: ['context_length_exceeded', 'request_too_large', 'string_above_max_length'], text: /prompt is too long|context (length|window) (exceeded|is too long)|maximum context length|too many tokens|input is too long|exceeds the context window|ran out of room in the model's context window/i },
  { failureClass: 'logic', rule: 'turn limit', codes: ['error_max_turns'], text: /reached (the )?max(imum)? (number of )?turns/i },
  { failureClass: 'logic', rule: 'tool refused', text: /requires approval|haven't granted it yet|permission to use (\w+|a tool) (was )?denied|tool use (was )?(refused|denied)|sandbox denied|not allowed by (the )?(sandbox|policy)/i },
  { failureClass: 'transient', rule: 'rate limit or overload', codes: ['rate_limit_error', 'overloaded_error', 'rate_limit_exceeded', 'server_error', 'api_error', 'service_unavailable'], text: /rate[- ]limit|too many requests|\b429\b|overloaded|\b529\b|\b50[234]\b|service unavailable|server_error|stream disconnected|connection (reset|refused)|ECONNRESET|ECONNREFUSED|EAI_AGAIN/i },
  { failureClass: 'timeout', rule: 'deadline', codes: ['ETIMEDOUT', 'timeout'], text: /timed out|\btimeout\b|deadline exceeded|ETIMEDOUT/i },
];

function cut(text: string, max = 240): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** The error signals in one parsed stream line: codes and texts worth matching. */
function errorSignals(event: unknown): { codes: string[]; texts: string[] } {
  const codes: string[] = [];
  const texts: string[] = [];
  const walk = (value: unknown, depth: number): void => {
    if (depth > 4 || value === null || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    for (const key of ['type', 'subtype', 'code']) if (typeof record[key] === 'string') codes.push(record[key]);
    for (const key of ['message', 'result', 'error']) {
      const text = record[key];
      if (typeof text !== 'string') continue;
      texts.push(text);
      // An API error embedded as text (Claude Code: `API Error: 401 {"type":"error",…}`).
      const json = /\{.*\}/s.exec(text)?.[0];
      if (!json) continue;
      try {
        walk(JSON.parse(json), depth + 1);
      } catch {
        // not JSON after all: the text alone is matched
      }
    }
    for (const key of ['error', 'item']) if (record[key] && typeof record[key] === 'object') walk(record[key], depth + 1);
  };
  walk(event, 0);
  return { codes, texts };
}

/** Whether a parsed stream line is an error report (not ordinary chatter that mentions one). */
function isErrorEvent(event: Record<string, unknown>): boolean {
  if (event['type'] === 'result') return event['is_error'] === true || (typeof event['subtype'] === 'string' && event['subtype'].startsWith('error'));
  if (event['type'] === 'error' || event['type'] === 'turn.failed' || event['type'] === 'response.failed') return true;
  if ('error' in event && event['error'] !== null && event['error'] !== undefined) return true;
  return false;
}

/** Classifies how an agent process ended from its exit and the end of its output. */
export function classifyAgentEnding(ending: AgentEnding): AgentVerdict {
  const codes: string[] = [];
  const texts: string[] = [];
  for (const line of ending.output.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed) continue;
    if (trimmed.startsWith('{')) {
      let event: unknown;
      try {
        event = JSON.parse(trimmed);
      } catch {
        event = undefined;
      }
      if (event && typeof event === 'object' && !Array.isArray(event)) {
        const record = event as Record<string, unknown>;
        // Claude Code lists the tool calls it refused on its final result.
        if (record['type'] === 'result' && Array.isArray(record['permission_denials']) && record['permission_denials'].length > 0) {
          const denied = record['permission_denials'][0] as { tool_name?: unknown } | undefined;
          texts.push(`permission to use ${typeof denied?.tool_name === 'string' ? denied.tool_name : 'a tool'} denied`);
        }
        if (!isErrorEvent(record)) continue;
        const found = errorSignals(record);
        codes.push(...found.codes);
        texts.push(...found.texts);
        continue;
      }
    }
    // Plain text (stderr, a crash): only lines that read as an error count.
    if (/error|fatal|denied|refused|exceeded|unauthori[sz]ed|killed|timed out|no space|out of memory/i.test(trimmed) && !trimmed.startsWith('[conveyor]')) texts.push(trimmed);
  }
  for (const rule of AGENT_RULES) {
    const code = rule.codes?.find((c) => codes.includes(c));
    if (code) return { failureClass: rule.failureClass, rule: `${rule.rule} (${code})`, evidence: cut(texts.find((t) => rule.text?.test(t)) ?? code) };
    const text = rule.text ? texts.find((t) => rule.text!.test(t)) : undefined;
    if (text) return { failureClass: rule.failureClass, rule: rule.rule, evidence: cut(text) };
  }
  // Nothing said why: what the process itself shows.
  if (ending.signal === 'SIGKILL' || ending.exitCode === 137) return { failureClass: 'resource', rule: 'killed (SIGKILL: the kernel OOM killer, most often)', evidence: ending.signal ?? 'exit 137' };
  if (ending.exitCode === 126 || ending.exitCode === 127) return { failureClass: 'logic', rule: 'command not runnable', evidence: `exit ${ending.exitCode}` };
  if (ending.signal === 'SIGTERM' || ending.signal === 'SIGINT' || ending.signal === 'SIGHUP') return { failureClass: 'transient', rule: 'stopped from outside', evidence: ending.signal };
  return { failureClass: 'unknown', rule: 'no rule matched', evidence: ending.signal ? `signal ${ending.signal}` : `exit ${ending.exitCode ?? '?'}` };
}
