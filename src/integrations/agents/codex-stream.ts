// Codex's `exec --json` lines: `thread.started` (the thread id, which `codex exec resume`
// takes), `turn.started`, `item.started`/`item.completed` (agent_message, command_execution,
// file_change, mcp_tool_call, …), `error` (also "Reconnecting… n/m" while it retries),
// `turn.completed` with token usage (no cost), and `turn.failed`. Usage is the thread's total,
// so a resumed thread's earlier tokens (the baseline) are taken off.
import { classifyModelError, num, obj, priceOf, str, toolParameter, type AgentProgress, type EventReader, type PricePerMTok, type Tokens } from './stream.js';

const TOOL_ITEMS = new Set(['command_execution', 'file_change', 'mcp_tool_call', 'web_search']);

/** A tool item as an action: what Codex did, and on what. */
function actionOf(item: Record<string, unknown>): AgentProgress {
  switch (item.type) {
    case 'command_execution':
      return { kind: 'action', action: 'Run', parameter: str(item.command) ?? '' };
    case 'file_change': {
      const changes = Array.isArray(item.changes) ? item.changes.map((c) => `${str(obj(c).kind) ?? 'change'} ${str(obj(c).path) ?? '?'}`) : [];
      return { kind: 'action', action: 'Edit', parameter: changes.join(', ') };
    }
    case 'mcp_tool_call':
      return { kind: 'action', action: `${str(item.server) ?? 'mcp'}.${str(item.tool) ?? 'tool'}`, parameter: toolParameter(item.arguments) };
    default:
      return { kind: 'action', action: 'Search', parameter: str(item.query) ?? '' };
  }
}

export function codexEvent(price: PricePerMTok, baseline: Tokens): EventReader {
  const toolIds = new Set<string>();
  let lastError: string | null = null;
  return {
    read(event, state, emit) {
      const type = str(event.type);
      if (type === 'thread.started') state.sessionId = str(event.thread_id) ?? state.sessionId;
      else if (type === 'turn.started') state.turns += 1;
      else if (type === 'item.started' || type === 'item.completed') {
        const item = obj(event.item);
        const id = str(item.id);
        if (TOOL_ITEMS.has(str(item.type) ?? '') && id !== null && !toolIds.has(id)) {
          toolIds.add(id);
          state.toolCalls += 1;
          emit(actionOf(item));
        }
        if (type === 'item.completed' && item.type === 'agent_message') state.summary = str(item.text) ?? state.summary;
        const text = str(item.text);
        if (type === 'item.completed' && (item.type === 'agent_message' || item.type === 'reasoning') && text !== null && text.trim() !== '') emit({ kind: 'thought', text });
      } else if (type === 'error') {
        lastError = str(event.message);
      } else if (type === 'turn.completed') {
        state.completed = true;
        const usage = obj(event.usage);
        // OpenAI counts cached input inside input_tokens and reasoning inside output_tokens.
        state.tokens = { input: Math.max(0, num(usage.input_tokens) - baseline.input), output: Math.max(0, num(usage.output_tokens) - baseline.output) };
        state.error = null;
      } else if (type === 'turn.failed') {
        const message = str(obj(event.error).message) ?? lastError ?? 'Codex reported a failed turn';
        state.error = { failureClass: classifyModelError(null, message), message };
      }
    },
    estimate(state) {
      return priceOf(state.tokens, price);
    },
  };
}
