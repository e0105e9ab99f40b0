#!/usr/bin/env node
// The scripted demo agent: a stand-in for Claude Code, Codex or Aider that really edits and
// commits in its worktree, so `npm run dev` and the end-to-end tests exercise the whole line.
// Markers in the prompt script its behaviour:
//   (none)                   write docs/<slug of title>.md and commit it
//   [demo:fail-ci-once]      first attempt also commits .conveyor/ci-should-fail (the sandbox CI
//                            fails while it exists); a re-dispatch with "## Feedback" removes it
//   [demo:hang]              print nothing and never exit
//   [demo:crash]             exit 3 without committing
//   [demo:flood]             write ~50 MB to stdout, then do the default work
//   [demo:steal-secrets]     report which factory credentials its environment holds (names only)
//   [demo:no-commit]         exit 0 without changes and without a result file
// Usage: node scripts/demo-agent.mjs [promptFile] [resultFile]; both default to the
// CONVEYOR_PROMPT_FILE / CONVEYOR_RESULT_FILE variables the runner sets.

import { Buffer } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const promptFile = process.argv[2] ?? process.env.CONVEYOR_PROMPT_FILE;
const resultFile = process.argv[3] ?? process.env.CONVEYOR_RESULT_FILE;
const worktree = process.env.CONVEYOR_WORKTREE ?? process.cwd();
const CI_MARKER = '.conveyor/ci-should-fail';
const FACTORY_SECRETS = ['LINEAR_API_KEY', 'GITHUB_TOKEN', 'TEMPORAL_API_KEY'];

function say(line) {
  process.stdout.write(`demo-agent: ${line}\n`);
}

function git(...args) {
  return execFileSync('git', ['-c', 'user.name=demo-agent', '-c', 'user.email=demo-agent@users.noreply.local', '-c', 'commit.gpgsign=false', ...args], { cwd: worktree, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function commit(paths, message) {
  if (paths.length > 0) git('add', '--', ...paths);
  git('commit', '--quiet', '--message', message);
  say(`committed: ${message}`);
}

function writeResult(result) {
  if (resultFile) writeFileSync(resultFile, JSON.stringify(result));
}

/** Title: the first heading (or first line); description: the text up to the next "##" section. */
function parsePrompt(text) {
  const feedbackMatch = /^##\s+Feedback\b.*$/im.exec(text);
  const feedback = feedbackMatch ? text.slice(feedbackMatch.index + feedbackMatch[0].length).split(/^##\s/m)[0].trim() : null;
  const lines = text.split('\n');
  const titleIndex = Math.max(
    lines.findIndex((line) => /^#\s+\S/.test(line)),
    0,
  );
  const title = (lines[titleIndex] ?? 'change').replace(/^#+\s*/, '').replace(/\[demo:[a-z-]+\]/g, '').trim() || 'change';
  const rest = lines.slice(titleIndex + 1).join('\n');
  const description = rest.split(/^##\s+Feedback\b/im)[0].replace(/\[demo:[a-z-]+\]/g, '').trim();
  return { title, description, feedback };
}

function slugOf(title) {
  return (
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 50)
      .replace(/-+$/, '') || 'change'
  );
}

/** Writes or revises docs/<slug>.md; returns the path relative to the worktree. */
function writeDoc(title, description, feedback) {
  const relative = join('docs', `${slugOf(title)}.md`);
  const absolute = join(worktree, relative);
  mkdirSync(dirname(absolute), { recursive: true });
  if (!existsSync(absolute)) {
    writeFileSync(absolute, `# ${title}\n\n${description || '(no description)'}\n\n_Written by the Conveyor demo agent._\n`);
  } else {
    appendFileSync(absolute, `\n## Revision\n\n${feedback ? `Addressed feedback:\n\n${feedback}\n` : 'Revisited.\n'}`);
  }
  return relative;
}

async function flood() {
  const chunk = Buffer.alloc(1024 * 1024, 'x');
  for (let i = 0; i < 50; i += 1) {
    if (!process.stdout.write(chunk)) await new Promise((resolve) => process.stdout.once('drain', resolve));
  }
  process.stdout.write('\n');
}

async function main() {
  if (!promptFile) {
    process.stderr.write('demo-agent: no prompt file: pass it as the first argument or set CONVEYOR_PROMPT_FILE\n');
    return 2;
  }
  const prompt = readFileSync(promptFile, 'utf8');
  const has = (marker) => prompt.includes(`[demo:${marker}]`);

  if (has('hang')) {
    // Silent and alive: exactly what the idle timeout is for.
    for (;;) await sleep(60_000);
  }

  say(`read the prompt (${prompt.length} characters)`);
  if (has('crash')) {
    process.stderr.write('demo-agent: crashing as scripted\n');
    return 3;
  }
  if (has('no-commit')) {
    say('nothing to change');
    return 0;
  }
  if (has('flood')) {
    say('flooding stdout with ~50 MB');
    await flood();
  }

  const { title, description, feedback } = parsePrompt(prompt);
  const notes = [];
  if (feedback !== null) say('this is a re-dispatch: addressing the feedback');

  if (has('fail-ci-once') && feedback === null) {
    const doc = writeDoc(title, description, null);
    const marker = join(worktree, CI_MARKER);
    mkdirSync(dirname(marker), { recursive: true });
    writeFileSync(marker, 'The demo agent was scripted to fail CI once ([demo:fail-ci-once]).\n');
    commit([doc, CI_MARKER], `Add ${doc}`);
    notes.push(`Added ${doc}.`);
  } else if (feedback !== null && existsSync(join(worktree, CI_MARKER))) {
    rmSync(join(worktree, CI_MARKER));
    git('rm', '--quiet', '--cached', '--ignore-unmatch', '--', CI_MARKER);
    commit([], 'Fix CI: remove the failing check marker');
    notes.push('Fixed the failing CI check.');
  } else {
    const doc = writeDoc(title, description, feedback);
    say(`wrote ${doc}`);
    commit([doc], feedback === null ? `Add ${doc}` : `Address feedback in ${doc}`);
    notes.push(feedback === null ? `Added ${doc} describing "${title}".` : `Revised ${doc} to address the feedback.`);
  }

  if (has('steal-secrets')) {
    const found = FACTORY_SECRETS.map((name) => `${name} ${process.env[name] === undefined ? 'absent' : 'present'}`);
    notes.push(`Factory credentials in my environment: ${found.join(', ')}.`);
  }

  writeResult({ summary: notes.join(' '), costUsd: 0.01 });
  say('done');
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`demo-agent: ${error instanceof Error ? (error.stderr ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
