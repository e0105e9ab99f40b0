#!/usr/bin/env node
// A stand-in for `claude -p --output-format stream-json --verbose`: reads the prompt on stdin,
// prints Claude Code's event lines (system/init, assistant blocks with thinking, text and
// tool_use, user tool results, the final result) and does what its tool calls say in its
// working directory (writes a file, commits it), so a run through the `claude` provider streams
// real progress without a model. `[scripted:hang]` in the prompt: after the first tool call it
// records its pid in $SCRIPTED_AGENT_PIDS/<pid> and waits to be killed. `[scripted:flaky]`: the
// first run (no $SCRIPTED_AGENT_PIDS/flaky-done yet) ends after its first tool call the way Claude
// Code ends on an overloaded API (a result with is_error and status 529), a transient failure.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setInterval } from 'node:timers';

const prompt = await new Promise((resolve) => {
  let text = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => (text += chunk));
  process.stdin.on('end', () => resolve(text));
});
const session = randomUUID();
const emit = (event) => process.stdout.write(`${JSON.stringify({ ...event, session_id: session, uuid: randomUUID() })}\n`);
const usage = { input_tokens: 1000, output_tokens: 50, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
const assistant = (id, block) => emit({ type: 'assistant', message: { id, type: 'message', role: 'assistant', model: 'scripted', content: [block], usage } });
const git = (...args) => execFileSync('git', ['-c', 'user.name=scripted-claude', '-c', 'user.email=scripted@users.noreply.local', '-c', 'commit.gpgsign=false', ...args], { encoding: 'utf8' });

emit({ type: 'system', subtype: 'init', cwd: process.cwd(), tools: ['Write', 'Bash'], model: 'scripted', permissionMode: 'acceptEdits' });
assistant('msg_1', { type: 'thinking', thinking: 'The issue asks for a notes page; I will write docs/notes.md and commit it.', signature: 'x' });
assistant('msg_1', { type: 'text', text: 'Writing the notes page.' });
const file = join(process.cwd(), 'docs', 'notes.md');
assistant('msg_1', { type: 'tool_use', id: 'toolu_1', name: 'Write', input: { file_path: file, content: '# Notes\n' } });
mkdirSync(join(process.cwd(), 'docs'), { recursive: true });
writeFileSync(file, `# Notes\n\nWritten by the scripted agent.\n`);
emit({ type: 'user', message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'File created' }] } });

const flakyMark = join(process.env.SCRIPTED_AGENT_PIDS ?? '/nonexistent', 'flaky-done');
if (prompt.includes('[scripted:flaky]') && process.env.SCRIPTED_AGENT_PIDS && !existsSync(flakyMark)) {
  writeFileSync(flakyMark, 'failed once\n');
  emit({ type: 'result', subtype: 'error_during_execution', is_error: true, api_error_status: 529, result: 'API Error: 529 Overloaded', total_cost_usd: 0.001, usage });
  process.exitCode = 1;
} else if (prompt.includes('[scripted:hang]')) {
  const dir = process.env.SCRIPTED_AGENT_PIDS;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, String(process.pid)), prompt.slice(0, 200));
  }
  assistant('msg_2', { type: 'text', text: 'Thinking it over for a long while.' });
  // Alive, and quiet, until the runner kills the group.
  setInterval(() => {}, 60_000);
} else {
  assistant('msg_2', { type: 'tool_use', id: 'toolu_2', name: 'Bash', input: { command: 'git add docs/notes.md && git commit -m "Add notes"', description: 'Commit the notes' } });
  git('add', 'docs/notes.md');
  git('commit', '--quiet', '--message', 'Add notes');
  emit({ type: 'user', message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_2', content: '1 file changed' }] } });
  assistant('msg_3', { type: 'text', text: 'Added docs/notes.md and committed it.' });
  emit({ type: 'result', subtype: 'success', is_error: false, result: 'Added docs/notes.md and committed it.', total_cost_usd: 0.0123, usage: { ...usage, input_tokens: 3000, output_tokens: 150 }, num_turns: 3 });
}
