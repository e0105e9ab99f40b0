// The OpenAI Responses API door: `POST /v1/responses` (streaming SSE), checked against the
// published request shape (https://platform.openai.com/docs/api-reference/responses/create)
// and answering with its event sequence: response.created, response.in_progress,
// response.output_item.added/done, response.completed (with usage). Errors use the API's shape:
// {"error":{"message","type","param","code"}}.
//
// Codex 0.169 sends its tools as an `additional_tools` input item (namespaces of tools, the
// "code mode" `exec` custom tool whose JavaScript calls `tools.apply_patch` and
// `tools.exec_command`) instead of the top-level `tools` array; that item is accepted as Codex
// sends it and the scripted answers call `exec`.
import { z } from 'zod';
import type { AnswerPart, Conversation, Fault, Usage } from './scripts.js';
import type { SseEvent } from './anthropic.js';

const inputText = z.looseObject({ type: z.enum(['input_text', 'output_text']), text: z.string() });
const inputImage = z.looseObject({ type: z.literal('input_image') });
const inputFile = z.looseObject({ type: z.literal('input_file') });
const messageItem = z.looseObject({
  type: z.literal('message'),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.union([z.string(), z.array(z.union([inputText, inputImage, inputFile, z.looseObject({ type: z.literal('refusal'), refusal: z.string() })]))]),
});
const functionCall = z.looseObject({ type: z.literal('function_call'), call_id: z.string().min(1), name: z.string().min(1), arguments: z.string() });
const toolOutput = z.union([z.string(), z.array(z.union([inputText, inputImage, inputFile]))]);
const functionCallOutput = z.looseObject({ type: z.literal('function_call_output'), call_id: z.string().min(1), output: toolOutput });
const customToolCall = z.looseObject({ type: z.literal('custom_tool_call'), call_id: z.string().min(1), name: z.string().min(1), input: z.string() });
const customToolCallOutput = z.looseObject({ type: z.literal('custom_tool_call_output'), call_id: z.string().min(1), output: toolOutput });
const reasoning = z.looseObject({ type: z.literal('reasoning'), summary: z.array(z.unknown()) });
const additionalTools = z.looseObject({ type: z.literal('additional_tools'), tools: z.array(z.looseObject({ type: z.string(), name: z.string() })) });
const item = z.discriminatedUnion('type', [messageItem, functionCall, functionCallOutput, customToolCall, customToolCallOutput, reasoning, additionalTools]);

export const responsesRequest = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(item)]),
  instructions: z.string().nullable().optional(),
  tools: z.array(z.looseObject({ type: z.string() })).optional(),
  tool_choice: z.union([z.enum(['none', 'auto', 'required']), z.looseObject({ type: z.string() })]).optional(),
  parallel_tool_calls: z.boolean().optional(),
  stream: z.boolean().optional(),
  store: z.boolean().optional(),
  include: z.array(z.string()).optional(),
  reasoning: z.looseObject({ effort: z.string().nullable().optional() }).nullable().optional(),
  text: z.looseObject({}).optional(),
  prompt_cache_key: z.string().optional(),
  previous_response_id: z.string().nullable().optional(),
  max_output_tokens: z.number().int().positive().nullable().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  client_metadata: z.record(z.string(), z.string()).optional(),
});
export type ResponsesRequest = z.infer<typeof responsesRequest>;
type Item = z.infer<typeof item>;

export function checkResponsesRequest(body: unknown): { request: ResponsesRequest } | { error: string; param: string | null } {
  const parsed = responsesRequest.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = issue.path.join('.') || null;
    return { error: `Invalid value for '${param ?? 'body'}': ${issue.message}`, param };
  }
  if (Array.isArray(parsed.data.input)) {
    // An output must answer a call made earlier in the input (the API answers 400 otherwise).
    const calls = new Set<string>();
    for (const [index, entry] of parsed.data.input.entries()) {
      if (entry.type === 'function_call' || entry.type === 'custom_tool_call') calls.add(entry.call_id);
      if ((entry.type === 'function_call_output' || entry.type === 'custom_tool_call_output') && !calls.has(entry.call_id)) {
        return { error: `No tool call found for ${entry.type} with call_id ${entry.call_id}.`, param: `input.${index}` };
      }
    }
  }
  return { request: parsed.data };
}

const textOf = (entry: Extract<Item, { type: 'message' }>): string => (typeof entry.content === 'string' ? entry.content : entry.content.flatMap((c) => ('text' in c && typeof c.text === 'string' ? [c.text] : [])).join('\n'));
/** Codex wraps context it adds in XML-like tags; the user's prompt is the other user text. */
const isContext = (text: string): boolean => /^\s*<[a-z_]+>/.test(text);

export function openaiConversation(request: ResponsesRequest): Conversation {
  const items: Item[] = typeof request.input === 'string' ? [{ type: 'message', role: 'user', content: request.input }] : request.input;
  let promptIndex = -1;
  let prompt = '';
  let cwd: string | null = null;
  items.forEach((entry, index) => {
    if (entry.type !== 'message' || entry.role !== 'user') return;
    const text = textOf(entry);
    cwd = /<cwd>([^<]+)<\/cwd>/.exec(text)?.[1] ?? cwd;
    if (!isContext(text)) {
      promptIndex = index;
      prompt = text;
    }
  });
  const toolResultsSincePrompt = items.slice(promptIndex + 1).filter((e) => e.type === 'function_call_output' || e.type === 'custom_tool_call_output').length;
  return { provider: 'openai', prompt, toolResultsSincePrompt, cwd };
}

export function openaiError(fault: Fault | 'invalid' | 'not-found', message?: string, param: string | null = null): { status: number; body: unknown; headers: Record<string, string> } {
  const table = {
    auth: { status: 401, type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.' },
    'rate-limit': { status: 429, type: 'requests', code: 'rate_limit_exceeded', message: 'Rate limit reached for requests. Please try again in 1s.' },
    overloaded: { status: 503, type: 'server_error', code: 'server_is_overloaded', message: 'The server is overloaded. Please try again later.' },
    'server-error': { status: 500, type: 'server_error', code: 'server_error', message: 'The server had an error while processing your request. Sorry about that!' },
    invalid: { status: 400, type: 'invalid_request_error', code: null, message: message ?? 'invalid request' },
    'not-found': { status: 404, type: 'invalid_request_error', code: 'not_found', message: message ?? 'Not found' },
  }[fault];
  const headers: Record<string, string> = { 'x-request-id': `req_${Math.random().toString(36).slice(2, 14)}` };
  if (fault === 'rate-limit') headers['retry-after'] = '1';
  return { status: table.status, body: { error: { message: table.message, type: table.type, param, code: table.code } }, headers };
}

/** The `exec` tool's JavaScript for a step: Codex runs it in its isolate, calling its nested tools. */
function execSource(part: Exclude<AnswerPart, { type: 'text' }>): string {
  if (part.type === 'write') {
    const patch = ['*** Begin Patch', `*** Add File: ${part.path}`, ...part.content.replace(/\n$/, '').split('\n').map((line) => `+${line}`), '*** End Patch', ''].join('\n');
    return `const result = await tools.apply_patch(${JSON.stringify(patch)});\ntext(JSON.stringify(result));\n`;
  }
  return `const result = await tools.exec_command({ cmd: ${JSON.stringify(part.command)} });\ntext(JSON.stringify(result));\n`;
}

export function openaiEvents(model: string, id: number, part: AnswerPart, usage: Usage): SseEvent[] {
  const response = { id: `resp_emu_${id}`, object: 'response', created_at: Math.floor(Date.now() / 1000), status: 'in_progress', model, output: [] as unknown[], usage: null };
  let seq = 0;
  const ev = (type: string, data: Record<string, unknown>): SseEvent => ({ event: type, data: { type, sequence_number: seq++, ...data } });
  const output =
    part.type === 'text'
      ? { type: 'message', id: `msg_emu_${id}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: part.text, annotations: [] }] }
      : { type: 'custom_tool_call', id: `ctc_emu_${id}`, call_id: `call_emu_${id}`, name: 'exec', input: execSource(part), status: 'completed' };
  const events = [ev('response.created', { response }), ev('response.in_progress', { response }), ev('response.output_item.added', { output_index: 0, item: { ...output, status: 'in_progress' } })];
  if (part.type === 'text') events.push(ev('response.output_text.delta', { item_id: output.id, output_index: 0, content_index: 0, delta: part.text }));
  events.push(ev('response.output_item.done', { output_index: 0, item: output }));
  events.push(
    ev('response.completed', {
      response: { ...response, status: 'completed', output: [output], usage: { input_tokens: usage.inputTokens, input_tokens_details: { cached_tokens: 0 }, output_tokens: usage.outputTokens, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: usage.inputTokens + usage.outputTokens } },
    }),
  );
  return events;
}

/** The whole response as a non-streaming request gets it: what `response.completed` carries. */
export function openaiResponse(model: string, id: number, part: AnswerPart, usage: Usage): unknown {
  const completed = openaiEvents(model, id, part, usage).at(-1)!.data as { response: unknown };
  return completed.response;
}
