// Claude Code's `--output-format stream-json --verbose` lines: `system/init` (session id),
// `system/api_retry` (the CLI retrying the API), `assistant` (one per content block, each with
// its message's id and usage), `user` (tool results), and one final `result` with
// `total_cost_usd`, `usage`, `is_error`, `api_error_status` and the answer text.
import { classifyModelError, num, obj, priceOf, str, toolParameter, type EventReader, type PricePerMTok, type Tokens } from './stream.js';

export function claudeEvent(price: PricePerMTok): EventReader {
  const usageByMessage = new Map<string, Tokens>();
  const toolIds = new Set<string>();
  let lastRetry: { status: number | null; error: string } | null = null;

  return {
    read(event, state, emit) {
      const type = str(event.type);
      const sessionId = str(event.session_id);
      if (sessionId) state.sessionId = sessionId;
      if (type === 'system' && event.subtype === 'api_retry') {
        lastRetry = { status: typeof event.error_status === 'number' ? event.error_status : null, error: str(event.error) ?? 'unknown' };
        return;
      }
      if (type === 'assistant') {
        const message = obj(event.message);
        const id = str(message.id);
        if (id === null || message.model === '<synthetic>') return;
        if (!usageByMessage.has(id)) state.turns += 1;
        const usage = obj(message.usage);
        // Cache reads cost a tenth of fresh input: counted so, as Anthropic bills them.
        usageByMessage.set(id, { input: num(usage.input_tokens) + num(usage.cache_creation_input_tokens) + num(usage.cache_read_input_tokens) / 10, output: num(usage.output_tokens) });
        for (const block of Array.isArray(message.content) ? message.content : []) {
          const b = obj(block);
          if (b.type === 'tool_use' && typeof b.id === 'string' && !toolIds.has(b.id)) {
            toolIds.add(b.id);
            state.toolCalls += 1;
            emit({ kind: 'action', action: str(b.name) ?? 'tool', parameter: toolParameter(b.input) });
          } else if (b.type === 'text' && typeof b.text === 'string' && b.text.trim() !== '') {
            emit({ kind: 'thought', text: b.text });
          } else if (b.type === 'thinking' && typeof b.thinking === 'string' && b.thinking.trim() !== '') {
            emit({ kind: 'thought', text: b.thinking });
          }
        }
        let input = 0;
        let output = 0;
        for (const u of usageByMessage.values()) {
          input += u.input;
          output += u.output;
        }
        state.tokens = { input: Math.round(input), output };
        return;
      }
      if (type === 'result') {
        state.completed = true;
        const usage = obj(event.usage);
        state.tokens = { input: num(usage.input_tokens) + num(usage.cache_creation_input_tokens) + num(usage.cache_read_input_tokens), output: num(usage.output_tokens) };
        state.costUsd = num(event.total_cost_usd);
        const result = str(event.result) ?? '';
        if (event.is_error === true) {
          const status = typeof event.api_error_status === 'number' ? event.api_error_status : (lastRetry?.status ?? null);
          state.error = { failureClass: classifyModelError(status, result || lastRetry?.error || ''), message: result || `Claude Code ended with an error (${str(event.subtype) ?? 'unknown'})` };
        } else {
          state.summary = result;
        }
      }
    },
    estimate(state) {
      return state.completed ? null : priceOf(state.tokens, price);
    },
  };
}
