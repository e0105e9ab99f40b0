// The LLM triage tier behind one small interface: given an escalated issue, a checked
// suggestion or a classified reason there is none. It never throws and never decides: triage
// escalates either way, and only a human edit or `/conveyor approve` dispatches.
import type { TriageAdvisorSettings, TriageModelProvider } from '../../config/triage-advisor.js';
import type { FailureClass } from '../../domain/failure.js';
import type { TriageAdvice } from '../../workflows/activity-types.js';
import { ModelCallError, type CallFailureKind, type FetchLike } from './model-call.js';
import { adviceText, advicePrompt, readAnswer, type AdviceRequest, type NonsenseReason } from './prompt.js';
import { anthropicModel, openaiModel, type AskModel } from './providers.js';

export type { AdviceIssue, AdviceRequest } from './prompt.js';

/** Why there is no suggestion: the call failed (`http`, `timeout`, `network`, `malformed`) or the
 * answer was unusable (`nonsense`, with the reason). */
export interface AdviceFailure {
  failureClass: FailureClass;
  kind: CallFailureKind | 'nonsense';
  nonsense?: NonsenseReason;
  status?: number;
  /** What happened, for the log (no key; the model's words bounded). */
  message: string;
}

export type AdviceOutcome =
  | { ok: true; advice: TriageAdvice }
  // An unusable answer was still paid for: its spend is reported beside the failure.
  | { ok: false; failure: AdviceFailure; spend?: { costUsd?: number; tokens: { input: number; output: number } } };

export interface TriageAdvisor {
  readonly provider: TriageModelProvider;
  readonly model: string;
  advise(request: AdviceRequest): Promise<AdviceOutcome>;
}

/** US dollars for an answer: its own figure when given, else tokens × the configured price. */
export function adviceCost(tokens: { input: number; output: number }, stated: number | undefined, price: TriageAdvisorSettings['pricePerMTok']): number | undefined {
  if (stated !== undefined) return stated;
  if (!price) return undefined;
  return (tokens.input * price.input + tokens.output * price.output) / 1_000_000;
}

export function createTriageAdvisor(settings: TriageAdvisorSettings, options: { fetch?: FetchLike } = {}): TriageAdvisor {
  const ask: AskModel = settings.provider === 'anthropic' ? anthropicModel(settings, options.fetch) : openaiModel(settings, options.fetch);
  return {
    provider: settings.provider,
    model: settings.model,
    async advise(request) {
      let answer;
      try {
        answer = await ask(advicePrompt(request));
      } catch (err) {
        if (err instanceof ModelCallError) return { ok: false, failure: { failureClass: err.failureClass, kind: err.kind, message: err.message, ...(err.status !== undefined ? { status: err.status } : {}) } };
        return { ok: false, failure: { failureClass: 'unknown', kind: 'network', message: err instanceof Error ? err.message : String(err) } };
      }
      const costUsd = adviceCost(answer.tokens, answer.costUsd, settings.pricePerMTok);
      const spend = { tokens: answer.tokens, ...(costUsd !== undefined ? { costUsd } : {}) };
      const read = readAnswer(request, answer.text);
      if (!read.ok) return { ok: false, failure: { failureClass: 'logic', kind: 'nonsense', nonsense: read.reason, message: `the model's answer was not usable (${read.reason}): ${read.detail}` }, spend };
      return {
        ok: true,
        advice: { text: adviceText(read), kind: read.kind, ...(read.kind === 'repo' ? { repo: read.repo } : {}), provider: settings.provider, model: settings.model, ...spend },
      };
    },
  };
}
