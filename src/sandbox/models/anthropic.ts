// The Anthropic Messages API door: `POST /v1/messages` (streaming SSE), checked against the
// published request shape (https://docs.anthropic.com/en/api/messages) and answering with the
// published event sequence: message_start, content_block_start/delta/stop, message_delta,
// message_stop. Errors use the API's shape: {"type":"error","error":{"type","message"}}.
import { z } from 'zod';
import type { AnswerPart, Conversation, Fault, Usage } from './scripts.js';

const cacheControl = z.looseObject({ type: z.literal('ephemeral') }).optional();
const textBlock = z.looseObject({ type: z.literal('text'), text: z.string(), cache_control: cacheControl });
const imageBlock = z.looseObject({ type: z.literal('image'), source: z.looseObject({ type: z.string() }) });
const documentBlock = z.looseObject({ type: z.literal('document'), source: z.looseObject({ type: z.string() }) });
const toolUseBlock = z.looseObject({ type: z.literal('tool_use'), id: z.string().min(1), name: z.string().min(1), input: z.record(z.string(), z.unknown()) });
const toolResultBlock = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(z.union([textBlock, imageBlock, documentBlock]))]).optional(),
  is_error: z.boolean().optional(),
});
const thinkingBlock = z.looseObject({ type: z.literal('thinking'), thinking: z.string(), signature: z.string() });
const redactedThinkingBlock = z.looseObject({ type: z.literal('redacted_thinking'), data: z.string() });
const contentBlock = z.discriminatedUnion('type', [textBlock, imageBlock, documentBlock, toolUseBlock, toolResultBlock, thinkingBlock, redactedThinkingBlock]);
// Claude Code 2.1 also sends `system` turns inside `messages`, with a per-turn `output_config`
// (the mid-conversation and per-turn-control betas it announces in the anthropic-beta header).
const message = z.discriminatedUnion('role', [
  z.strictObject({ role: z.enum(['user', 'assistant']), content: z.union([z.string(), z.array(contentBlock)]) }),
  z.strictObject({ role: z.literal('system'), content: z.union([z.string(), z.array(textBlock)]), output_config: z.looseObject({ effort: z.string().optional() }).optional() }),
]);
const customTool = z.looseObject({ name: z.string().regex(/^[a-zA-Z0-9_-]{1,128}$/), description: z.string().optional(), input_schema: z.looseObject({ type: z.literal('object') }) });
// Server and client tools with a `type` (bash_20250124, web_search_…) have their own shapes.
const typedTool = z.looseObject({ type: z.string(), name: z.string() });

export const messagesRequest = z.looseObject({
  model: z.string().min(1),
  max_tokens: z.number().int().positive(),
  messages: z.array(message).min(1),
  system: z.union([z.string(), z.array(textBlock)]).optional(),
  tools: z.array(z.union([customTool, typedTool])).optional(),
  tool_choice: z.looseObject({ type: z.enum(['auto', 'any', 'tool', 'none']) }).optional(),
  stream: z.boolean().optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().optional(),
  top_k: z.number().int().optional(),
  stop_sequences: z.array(z.string()).optional(),
  metadata: z.looseObject({ user_id: z.string().nullable().optional() }).optional(),
  thinking: z.union([z.looseObject({ type: z.literal('enabled'), budget_tokens: z.number().int() }), z.looseObject({ type: z.enum(['disabled', 'adaptive']) })]).optional(),
});
export type MessagesRequest = z.infer<typeof messagesRequest>;

type Block = z.infer<typeof contentBlock>;
const blocksOf = (content: string | Block[]): Block[] => (typeof content === 'string' ? [{ type: 'text', text: content }] : content);

/** The request's shape and the API's own rules the schema cannot say; null when it is valid. */
export function checkMessagesRequest(body: unknown): { request: MessagesRequest } | { error: string } {
  const parsed = messagesRequest.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { error: `${issue.path.join('.') || 'body'}: ${issue.message}` };
  }
  const { messages } = parsed.data;
  if (messages[0]!.role !== 'user') return { error: 'messages: first message must use the "user" role' };
  // Every tool_use must be answered by a tool_result in the next message, and no tool_result may
  // answer a tool_use that was not just made: what the real API enforces on every request.
  // System turns sit between them without breaking the pair.
  const turns = messages.map((m, index) => ({ m, index })).filter(({ m }) => m.role !== 'system');
  for (let t = 0; t < turns.length; t += 1) {
    const { m, index } = turns[t]!;
    const blocks = blocksOf(m.content);
    const results = blocks.filter((b) => b.type === 'tool_result').map((b) => (b as { tool_use_id: string }).tool_use_id);
    if (results.length > 0) {
      const previous = t > 0 && turns[t - 1]!.m.role === 'assistant' ? blocksOf(turns[t - 1]!.m.content) : [];
      const uses = new Set(previous.filter((b) => b.type === 'tool_use').map((b) => (b as { id: string }).id));
      const unknown = results.find((id) => !uses.has(id));
      if (unknown) return { error: `messages.${index}.content: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${unknown}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.` };
    }
    if (m.role === 'assistant' && t + 1 < turns.length) {
      const uses = blocks.filter((b) => b.type === 'tool_use').map((b) => (b as { id: string }).id);
      const answered = new Set(blocksOf(turns[t + 1]!.m.content).filter((b) => b.type === 'tool_result').map((b) => (b as { tool_use_id: string }).tool_use_id));
      const missing = uses.find((id) => !answered.has(id));
      if (missing) return { error: `messages.${index}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.` };
    }
  }
  return { request: parsed.data };
}

const isReminder = (text: string): boolean => text.trimStart().startsWith('<system-reminder>');

/** The neutral view of a Messages request. */
export function anthropicConversation(request: MessagesRequest): Conversation {
  let promptIndex = -1;
  let prompt = '';
  request.messages.forEach((m, i) => {
    if (m.role !== 'user') return;
    const texts = blocksOf(m.content).flatMap((b) => (b.type === 'text' && !isReminder(b.text) ? [b.text] : []));
    if (texts.length > 0 && !blocksOf(m.content).some((b) => b.type === 'tool_result')) {
      promptIndex = i;
      prompt = texts.join('\n');
    }
  });
  const toolResultsSincePrompt = request.messages.slice(promptIndex + 1).reduce((n, m) => n + blocksOf(m.content).filter((b) => b.type === 'tool_result').length, 0);
  const systemTurns = request.messages.filter((m) => m.role === 'system').flatMap((m) => blocksOf(m.content).flatMap((b) => (b.type === 'text' ? [b.text] : [])));
  const system = [typeof request.system === 'string' ? request.system : (request.system ?? []).map((b) => b.text).join('\n'), ...systemTurns].join('\n');
  const cwd = /(?:Primary working directory|Working directory|cwd):\s*(\/\S+)/i.exec(system)?.[1] ?? null;
  return { provider: 'anthropic', prompt, toolResultsSincePrompt, cwd };
}

export function anthropicError(fault: Fault | 'invalid' | 'not-found', message?: string): { status: number; body: unknown; headers: Record<string, string> } {
  const table = {
    auth: { status: 401, type: 'authentication_error', message: 'invalid x-api-key' },
    'rate-limit': { status: 429, type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' },
    overloaded: { status: 529, type: 'overloaded_error', message: 'Overloaded' },
    'server-error': { status: 500, type: 'api_error', message: 'Internal server error' },
    invalid: { status: 400, type: 'invalid_request_error', message: message ?? 'invalid request' },
    'not-found': { status: 404, type: 'not_found_error', message: message ?? 'Not found' },
  }[fault];
  const headers: Record<string, string> = { 'request-id': `req_${Math.random().toString(36).slice(2, 14)}` };
  if (fault === 'rate-limit') headers['retry-after'] = '1';
  if (fault === 'overloaded') headers['x-should-retry'] = 'true';
  return { status: table.status, body: { type: 'error', error: { type: table.type, message: table.message }, request_id: headers['request-id'] }, headers };
}

export interface SseEvent {
  event: string;
  data: unknown;
}

/** The event sequence of one streamed message; `cutAfter` events are sent when the stream is cut. */
export function anthropicEvents(model: string, id: number, part: AnswerPart, usage: Usage): SseEvent[] {
  const message = { id: `msg_emu_${id}`, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: usage.inputTokens, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } };
  const events: SseEvent[] = [{ event: 'message_start', data: { type: 'message_start', message } }, { event: 'ping', data: { type: 'ping' } }];
  if (part.type === 'text') {
    events.push({ event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } });
    // Two deltas, so a cut stream can stop between them.
    const half = Math.ceil(part.text.length / 2);
    for (const text of [part.text.slice(0, half), part.text.slice(half)]) events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } } });
  } else {
    const [name, input] = part.type === 'write' ? ['Write', { file_path: part.path, content: part.content }] : ['Bash', { command: part.command, description: 'Run a git command' }];
    events.push({ event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: `toolu_emu_${id}`, name, input: {} } } });
    const json = JSON.stringify(input);
    const half = Math.ceil(json.length / 2);
    for (const partial of [json.slice(0, half), json.slice(half)]) events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: partial } } });
  }
  events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } });
  events.push({ event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: part.type === 'text' ? 'end_turn' : 'tool_use', stop_sequence: null }, usage: { output_tokens: usage.outputTokens } } });
  events.push({ event: 'message_stop', data: { type: 'message_stop' } });
  return events;
}

/** The whole message as a non-streaming request gets it (`stream` absent or false). */
export function anthropicMessage(model: string, id: number, part: AnswerPart, usage: Usage): unknown {
  const content =
    part.type === 'text'
      ? [{ type: 'text', text: part.text }]
      : [{ type: 'tool_use', id: `toolu_emu_${id}`, name: part.type === 'write' ? 'Write' : 'Bash', input: part.type === 'write' ? { file_path: part.path, content: part.content } : { command: part.command, description: 'Run a git command' } }];
  return {
    id: `msg_emu_${id}`,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: part.type === 'text' ? 'end_turn' : 'tool_use',
    stop_sequence: null,
    usage: { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  };
}
