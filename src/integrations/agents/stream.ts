// An agent CLI's event stream (JSON lines on stdout) turned into what the factory needs while
// the agent runs and when it ends: progress (events, turns, tool calls: the idle timer watches
// parsed events, not bytes), spend so far (for the budget), and the outcome (summary, cost,
// tokens, session id, and a model-side error with its failure class).
import { claudeEvent } from './claude-stream.js';
import { codexEvent } from './codex-stream.js';

export type StreamFormat = 'claude' | 'codex';

export interface Tokens {
  input: number;
  output: number;
}

/** US dollars per million tokens: what a run's spend is estimated with until the CLI reports it. */
export interface PricePerMTok {
  input: number;
  output: number;
}

export interface StreamOptions {
  format: StreamFormat;
  price: PricePerMTok;
  /** Tokens a resumed session had already reported before this run (Codex reports thread totals). */
  baseline?: Tokens;
}

/** A model-side failure the CLI reported: its class decides retry (transient) or escalate (auth). */
export interface ModelError {
  failureClass: 'auth' | 'transient' | 'unknown';
  message: string;
}

export interface StreamState {
  events: number;
  turns: number;
  toolCalls: number;
  sessionId: string | null;
  /** Spend so far: the CLI's own figure once it reported one, else estimated from tokens. */
  costUsd: number;
  tokens: Tokens;
  /** The CLI's final answer text, when it finished. */
  summary: string | null;
  error: ModelError | null;
  /** Whether the CLI reported the end of its work (Claude's `result`, Codex's `turn.completed`). */
  completed: boolean;
}

/**
 * One step of the agent's work as its stream shows it, for an outside view of the run (Linear's
 * agent session): what it thought (assistant text, reasoning) and what it did (a tool call, with
 * what it was called on). The run's outcome (summary, failure) is not one of these: it comes
 * from the exit.
 */
export type AgentProgress = { kind: 'thought'; text: string } | { kind: 'action'; action: string; parameter: string };

export type ProgressSink = (progress: AgentProgress) => void;

/** What one provider's parser does with one parsed JSON line. */
export interface EventReader {
  read(event: Record<string, unknown>, state: StreamState, emit: ProgressSink): void;
  /** Spend estimated from what the stream showed so far (null: take the state's costUsd). */
  estimate(state: StreamState): number | null;
}

export interface StreamParser {
  /** Feeds raw stdout; returns how many events (complete JSON lines) it held. */
  feed(chunk: Buffer | string): number;
  readonly state: StreamState;
}

/** A JSON line longer than this is skipped (counted as an event, not parsed). */
const MAX_LINE_CHARS = 8 * 1024 * 1024;

export function classifyModelError(status: number | null, message: string): ModelError['failureClass'] {
  if (status === 401 || status === 403 || /\b401\b|unauthori[sz]ed|invalid api key|authentication/i.test(message)) return 'auth';
  if (status === 429 || status === 529 || (status !== null && status >= 500)) return 'transient';
  if (/\b(429|5\d\d)\b|rate.?limit|overloaded|at capacity|connection|disconnected|ECONNRESET|timed? ?out|network|try again/i.test(message)) return 'transient';
  return 'unknown';
}

/** The part of a tool call's input that says what it works on: a path, a command, a pattern; else the input as JSON. */
export function toolParameter(input: unknown): string {
  const fields = obj(input);
  for (const key of ['file_path', 'notebook_path', 'path', 'command', 'cmd', 'pattern', 'url', 'query', 'description', 'prompt']) {
    const value = fields[key];
    if (typeof value === 'string' && value.trim() !== '') return value;
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(' ');
  }
  const json = input === undefined ? '' : JSON.stringify(input);
  return json === '{}' ? '' : json;
}

export function createStreamParser(options: StreamOptions, onProgress?: ProgressSink): StreamParser {
  const reader: EventReader = options.format === 'claude' ? claudeEvent(options.price) : codexEvent(options.price, options.baseline ?? { input: 0, output: 0 });
  const state: StreamState = { events: 0, turns: 0, toolCalls: 0, sessionId: null, costUsd: 0, tokens: { input: 0, output: 0 }, summary: null, error: null, completed: false };
  let pending = '';
  let skipping = false;
  // Whoever watches the progress must never break the parse (and with it the idle timer and the budget).
  const emit: ProgressSink = (progress) => {
    try {
      onProgress?.(progress);
    } catch {
      // the sink logs its own failures
    }
  };

  const line = (text: string): void => {
    const trimmed = text.trim();
    if (trimmed === '') return;
    state.events += 1;
    let event: unknown;
    try {
      event = JSON.parse(trimmed);
    } catch {
      return; // a CLI's stray non-JSON line is still a sign of life, nothing more
    }
    if (event === null || typeof event !== 'object' || Array.isArray(event)) return;
    reader.read(event as Record<string, unknown>, state, emit);
    const estimate = reader.estimate(state);
    if (estimate !== null) state.costUsd = estimate;
  };

  return {
    state,
    feed(chunk) {
      const before = state.events;
      pending += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      let newline = pending.indexOf('\n');
      while (newline !== -1) {
        const text = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (skipping) {
          skipping = false;
          state.events += 1;
        } else line(text);
        newline = pending.indexOf('\n');
      }
      if (pending.length > MAX_LINE_CHARS) {
        pending = '';
        skipping = true;
      }
      return state.events - before;
    },
  };
}

export const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
export const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
export const obj = (value: unknown): Record<string, unknown> => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {});
export const priceOf = (tokens: Tokens, price: PricePerMTok): number => (tokens.input * price.input + tokens.output * price.output) / 1_000_000;
