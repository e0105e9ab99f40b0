import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createStreamParser, type AgentProgress, type StreamOptions } from '../../src/integrations/agents/stream.js';

// The stream parsers on event lines recorded from the real CLIs (Claude Code 2.1.328, Codex
// 0.169.0) against the model emulator: what the runner learns from each kind of run.

const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`../fixtures/agent-streams/${name}.jsonl`, import.meta.url)), 'utf8');
const CLAUDE: StreamOptions = { format: 'claude', price: { input: 4, output: 20 } };
const CODEX: StreamOptions = { format: 'codex', price: { input: 1.25, output: 10 } };

function parse(options: StreamOptions, name: string, chunkSize = 97) {
  const parser = createStreamParser(options);
  const text = fixture(name);
  let events = 0;
  // Chunks that cut lines anywhere, as pipes deliver them.
  for (let i = 0; i < text.length; i += chunkSize) events += parser.feed(text.slice(i, i + chunkSize));
  return { state: parser.state, events, lines: text.split('\n').filter((l) => l.trim() !== '').length };
}

describe('Claude Code stream-json', () => {
  it('reads a write-and-commit run: turns, tool calls, summary, the CLI’s cost, tokens and session', () => {
    const { state, events, lines } = parse(CLAUDE, 'claude-edit-commit');
    expect(events).toBe(lines);
    expect(state).toMatchObject({ turns: 3, toolCalls: 2, completed: true, error: null, summary: 'Wrote docs/add-a-widget-guide.md and committed it.' });
    expect(state.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(state.costUsd).toBeCloseTo(0.0234, 6);
    expect(state.tokens).toEqual({ input: 3600, output: 450 });
  });

  it('estimates spend from each message’s usage before the result arrives', () => {
    const parser = createStreamParser(CLAUDE);
    const assistantLines = fixture('claude-edit-commit').split('\n').filter((l) => l.includes('"type":"assistant"'));
    parser.feed(`${assistantLines[0]}\n`);
    // 1,200 input and 1 output token at $4 / $20 per million.
    expect(parser.state.costUsd).toBeCloseTo((1200 * 4 + 1 * 20) / 1e6, 9);
    expect(parser.state.completed).toBe(false);
  });

  it('keeps the same session id on a resumed run', () => {
    const first = parse(CLAUDE, 'claude-edit-commit').state.sessionId;
    const resumed = parse(CLAUDE, 'claude-resume').state;
    expect(resumed.sessionId).toBe(first);
    expect(resumed.summary).toMatch(/^Revised/);
  });

  it('classes a 401 as auth, an overload and a cut connection as transient', () => {
    expect(parse(CLAUDE, 'claude-401').state.error).toMatchObject({ failureClass: 'auth', message: expect.stringMatching(/Invalid API key/) });
    expect(parse(CLAUDE, 'claude-529').state.error).toMatchObject({ failureClass: 'transient' });
    expect(parse(CLAUDE, 'claude-stream-cut').state.error).toMatchObject({ failureClass: 'transient', message: expect.stringMatching(/Connection to the API was lost/) });
  });
});

describe('Codex exec --json', () => {
  it('reads an edit run: the thread id, tool items, the last agent message and token usage', () => {
    const { state, events, lines } = parse(CODEX, 'codex-edit', 61);
    expect(events).toBe(lines);
    expect(state).toMatchObject({ turns: 1, toolCalls: 2, completed: true, error: null, summary: 'Wrote docs/add-a-widget-guide.md.', tokens: { input: 3600, output: 450 } });
    expect(state.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(state.costUsd).toBeCloseTo((3600 * 1.25 + 450 * 10) / 1e6, 9);
  });

  it('takes a resumed thread’s earlier tokens off its totals', () => {
    const first = parse(CODEX, 'codex-edit').state;
    const resumed = parse({ ...CODEX, baseline: first.tokens }, 'codex-resume').state;
    expect(resumed.sessionId).toBe(first.sessionId);
    expect(resumed.tokens).toEqual({ input: 3600, output: 450 });
  });

  it('classes a 401 as auth, a full model and a cut stream as transient', () => {
    expect(parse(CODEX, 'codex-401').state.error).toMatchObject({ failureClass: 'auth' });
    expect(parse(CODEX, 'codex-503').state.error).toMatchObject({ failureClass: 'transient' });
    expect(parse(CODEX, 'codex-stream-cut').state.error).toMatchObject({ failureClass: 'transient' });
  });
});

describe('the line reader', () => {
  it('counts a non-JSON line as a sign of life and skips an oversized one without holding it', () => {
    const parser = createStreamParser(CLAUDE);
    expect(parser.feed('not json\n')).toBe(1);
    parser.feed('x'.repeat(9 * 1024 * 1024));
    expect(parser.feed('tail\n{"type":"system","subtype":"init","session_id":"s-1"}\n')).toBe(2);
    expect(parser.state.sessionId).toBe('s-1');
  });
});

describe('progress for an outside view (Linear agent sessions)', () => {
  function progressOf(options: StreamOptions, name: string): AgentProgress[] {
    const seen: AgentProgress[] = [];
    const parser = createStreamParser(options, (p) => seen.push(p));
    const text = fixture(name);
    for (let i = 0; i < text.length; i += 61) parser.feed(text.slice(i, i + 61));
    return seen;
  }

  it('Claude Code: each tool call once, as an action on what it touched, and the assistant text as a thought', () => {
    const seen = progressOf(CLAUDE, 'claude-edit-commit');
    expect(seen.filter((p) => p.kind === 'action')).toEqual([
      { kind: 'action', action: 'Write', parameter: expect.stringMatching(/docs\/add-a-widget-guide\.md$/) },
      { kind: 'action', action: 'Bash', parameter: expect.stringMatching(/^git /) },
    ]);
    expect(seen.filter((p) => p.kind === 'thought')).toEqual([{ kind: 'thought', text: 'Wrote docs/add-a-widget-guide.md and committed it.' }]);
  });

  it('Codex: file changes and commands once each (started and completed are one call), and its message as a thought', () => {
    const seen = progressOf(CODEX, 'codex-edit');
    expect(seen.filter((p) => p.kind === 'action').map((p) => (p.kind === 'action' ? p.action : ''))).toEqual(['Edit', 'Run']);
    expect(seen.filter((p) => p.kind === 'thought')).toHaveLength(1);
  });

  it('a sink that throws does not stop the parse', () => {
    const parser = createStreamParser(CLAUDE, () => {
      throw new Error('the sink broke');
    });
    parser.feed(fixture('claude-edit-commit'));
    expect(parser.state).toMatchObject({ toolCalls: 2, completed: true });
  });
});
