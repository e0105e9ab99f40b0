// The two model APIs the advisor can ask, each one non-streaming request with plain fetch:
//   - Anthropic Messages: POST {base}/v1/messages (https://docs.anthropic.com/en/api/messages)
//   - OpenAI Responses:   POST {base}/responses   (https://platform.openai.com/docs/api-reference/responses/create)
// Plain fetch rather than the vendors' SDKs: one small JSON call each, and the SDKs' own
// retries and timeouts would have to be turned off to keep triage's short deadline.
import { z } from 'zod';
import type { TriageAdvisorSettings } from '../../config/triage-advisor.js';
import { ModelCallError, postModelJson, type FetchLike } from './model-call.js';
import { SYSTEM_PROMPT } from './prompt.js';

export interface ModelAnswer {
  text: string;
  tokens: { input: number; output: number };
  /** US dollars, when the response states it (some gateways add `usage.cost`). */
  costUsd?: number;
}

export type AskModel = (prompt: string) => Promise<ModelAnswer>;

const ANTHROPIC_VERSION = '2023-06-01';

const anthropicMessage = z.looseObject({
  type: z.literal('message'),
  content: z.array(z.looseObject({ type: z.string(), text: z.string().optional() })),
  usage: z.looseObject({
    input_tokens: z.number(),
    output_tokens: z.number(),
    cache_creation_input_tokens: z.number().nullable().optional(),
    cache_read_input_tokens: z.number().nullable().optional(),
    cost: z.number().optional(),
  }),
});

const openaiResponse = z.looseObject({
  object: z.literal('response'),
  status: z.string().optional(),
  output: z.array(z.looseObject({ type: z.string(), content: z.array(z.looseObject({ type: z.string(), text: z.string().optional() })).optional() })),
  usage: z.looseObject({ input_tokens: z.number(), output_tokens: z.number(), cost: z.number().optional() }).nullable().optional(),
});

function shaped<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new ModelCallError(`${what} answered a body that is not its API's shape (${issue.path.join('.') || 'body'}: ${issue.message})`, 'logic', 'malformed');
}

export function anthropicModel(settings: TriageAdvisorSettings, fetch?: FetchLike): AskModel {
  const what = `the Anthropic Messages API (${settings.model})`;
  return async (prompt) => {
    const body = await postModelJson({
      url: `${settings.baseUrl}/v1/messages`,
      headers: { 'x-api-key': settings.apiKey, 'anthropic-version': ANTHROPIC_VERSION },
      body: { model: settings.model, max_tokens: settings.maxOutputTokens, temperature: 0, system: SYSTEM_PROMPT, messages: [{ role: 'user', content: prompt }] },
      timeoutMs: settings.timeoutMs,
      what,
      ...(fetch ? { fetch } : {}),
    });
    const message = shaped(anthropicMessage, body, what);
    const usage = message.usage;
    return {
      text: message.content.flatMap((block) => (block.type === 'text' && block.text ? [block.text] : [])).join(''),
      tokens: { input: usage.input_tokens + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0), output: usage.output_tokens },
      ...(usage.cost !== undefined ? { costUsd: usage.cost } : {}),
    };
  };
}

export function openaiModel(settings: TriageAdvisorSettings, fetch?: FetchLike): AskModel {
  const what = `the OpenAI Responses API (${settings.model})`;
  return async (prompt) => {
    const body = await postModelJson({
      url: `${settings.baseUrl}/responses`,
      headers: { authorization: `Bearer ${settings.apiKey}` },
      // Not stored: the issue text need not outlive the answer at the provider.
      body: { model: settings.model, instructions: SYSTEM_PROMPT, input: prompt, max_output_tokens: settings.maxOutputTokens, store: false, text: { format: { type: 'json_object' } } },
      timeoutMs: settings.timeoutMs,
      what,
      ...(fetch ? { fetch } : {}),
    });
    const response = shaped(openaiResponse, body, what);
    const text = response.output
      .filter((item) => item.type === 'message')
      .flatMap((item) => (item.content ?? []).flatMap((c) => (c.type === 'output_text' && c.text ? [c.text] : [])))
      .join('');
    return {
      text,
      tokens: { input: response.usage?.input_tokens ?? 0, output: response.usage?.output_tokens ?? 0 },
      ...(response.usage?.cost !== undefined ? { costUsd: response.usage.cost } : {}),
    };
  };
}
