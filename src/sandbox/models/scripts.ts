// What the scripted model answers, decided from the conversation alone, like the demo agent is
// scripted by markers in its prompt. Provider-neutral: the Anthropic and OpenAI doors turn a
// step into their own wire format, and into tool calls their CLI really executes.
//
//   (none)                        write docs/<slug>.md, run a git command (claude commits;
//                                 codex's sandbox keeps .git read-only, so it runs `git status`
//                                 and the factory commits what it left), then a summary
//   [model:auth-fail]             401 on every request (a revoked key)
//   [model:rate-limit-once]       429 with Retry-After on the conversation's first request
//   [model:rate-limit]            429 on every request
//   [model:overloaded-once]       overloaded (Anthropic 529, OpenAI 503) once, then normal
//   [model:overloaded]            overloaded on every request
//   [model:cut-once]              the first answer is cut mid-stream (socket closed), then normal
//   [model:cut]                   every answer is cut mid-stream
//   [model:silent]                headers sent, then no event, the stream held open
//   [model:silent-once]           the first request held open like silent, then normal: an
//                                 agent busy until something kills it, whose next run works
//   [model:expensive]             every answer reports 2,000,000 input tokens (the usual steps)
//   [model:server-error]          500 (api_error / server_error) on every request
// A prompt with "## Feedback" in its newest user message writes docs/<slug>-revision.md instead.
//
// A triage advice prompt (its first line "Conveyor triage advice: <task>", as the triage
// advisor writes it) is answered with one JSON text: drafted criteria, or the first candidate
// repo. Besides the faults above, these markers in the issue script what comes back:
//   [model:triage-nonsense]       prose, not JSON
//   [model:triage-invented-repo]  a repo that is not among the candidates
//   [model:triage-empty]          no text at all

import { ADVICE_HEADER, ADVICE_TASKS, CANDIDATES_HEADING } from '../../integrations/triage-advisor/prompt.js';

export type ModelMarker =
  | 'auth-fail'
  | 'rate-limit-once'
  | 'rate-limit'
  | 'overloaded-once'
  | 'overloaded'
  | 'cut-once'
  | 'cut'
  | 'silent'
  | 'silent-once'
  | 'expensive'
  | 'server-error'
  | 'triage-nonsense'
  | 'triage-invented-repo'
  | 'triage-empty';

const MARKERS: readonly ModelMarker[] = [
  'auth-fail',
  'rate-limit-once',
  'rate-limit',
  'overloaded-once',
  'overloaded',
  'cut-once',
  'cut',
  'silent',
  'silent-once',
  'expensive',
  'server-error',
  'triage-nonsense',
  'triage-invented-repo',
  'triage-empty',
];

export type Fault = 'auth' | 'rate-limit' | 'overloaded' | 'server-error';

/** One answer of the model: a failure before any byte, a stream held open, or content. */
export type Step =
  | { kind: 'fail'; fault: Fault }
  | { kind: 'silent' }
  | { kind: 'answer'; content: AnswerPart; usage: Usage; cut: boolean };

export type AnswerPart =
  | { type: 'write'; path: string; content: string }
  | { type: 'command'; command: string }
  | { type: 'text'; text: string };

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

/** What a door read from the request, in neutral terms. */
export interface Conversation {
  provider: 'anthropic' | 'openai';
  /** The newest user text that is not a tool result (the prompt, or a resumed run's new prompt). */
  prompt: string;
  /** Tool results that came back since that prompt. */
  toolResultsSincePrompt: number;
  /** The agent's working directory, as the CLI told the model. */
  cwd: string | null;
}

export function markerIn(text: string): ModelMarker | null {
  return MARKERS.find((marker) => text.includes(`[model:${marker}]`)) ?? null;
}

function slugOf(title: string): string {
  return (
    title
      .toLowerCase()
      .replace(/\[(model|demo):[a-z-]+\]/g, '')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 50)
      .replace(/-+$/, '') || 'change'
  );
}

function titleOf(prompt: string): string {
  const heading = prompt.split('\n').find((line) => /^#\s+\S/.test(line)) ?? prompt.split('\n')[0] ?? 'change';
  return heading.replace(/^#+\s*/, '').replace(/\[(model|demo):[a-z-]+\]/g, '').trim() || 'change';
}

const NORMAL_USAGE: Usage = { inputTokens: 1_200, outputTokens: 150 };
const TRIAGE_USAGE: Usage = { inputTokens: 900, outputTokens: 120 };

/** The answer to a triage advice prompt, or null when the prompt is not one. */
function triageAdviceAnswer(prompt: string, marker: ModelMarker | null): string | null {
  // The advisor writes the task on the prompt's first line.
  const first = prompt.split('\n', 1)[0] ?? '';
  if (!first.startsWith(ADVICE_HEADER)) return null;
  const task = first.slice(ADVICE_HEADER.length).trim();
  if (marker === 'triage-empty') return '';
  if (marker === 'triage-nonsense') return 'This issue seems fine to me; I would just go ahead and start.';
  if (task === ADVICE_TASKS.criteria) {
    const title = /^Title: (.*)$/m.exec(prompt)?.[1]?.trim() ?? 'the change';
    return JSON.stringify({ criteria: [`${title} works as the issue describes`, 'a test covers the new behaviour', 'the README says how to use it'] });
  }
  const candidates = prompt.split(CANDIDATES_HEADING)[1]?.split('\n').flatMap((line) => /^- (\S+)$/.exec(line.trim())?.slice(1) ?? []) ?? [];
  const repo = marker === 'triage-invented-repo' ? 'acme/made-up-by-the-model' : (candidates[0] ?? 'acme/no-candidates-given');
  return JSON.stringify({ repo, why: 'its title and labels match what that repo holds' });
}

const EXPENSIVE_USAGE: Usage = { inputTokens: 2_000_000, outputTokens: 150 };

/**
 * The step for this request. `firstOfConversation` is true the first time the emulator sees
 * this prompt (a `-once` fault fires then and never again for it).
 */
export function nextStep(conversation: Conversation, firstOfConversation: boolean): Step {
  const marker = markerIn(conversation.prompt);
  if (marker === 'auth-fail') return { kind: 'fail', fault: 'auth' };
  if (marker === 'rate-limit' || (marker === 'rate-limit-once' && firstOfConversation)) return { kind: 'fail', fault: 'rate-limit' };
  if (marker === 'overloaded' || (marker === 'overloaded-once' && firstOfConversation)) return { kind: 'fail', fault: 'overloaded' };
  if (marker === 'server-error') return { kind: 'fail', fault: 'server-error' };
  if (marker === 'silent' || (marker === 'silent-once' && firstOfConversation)) return { kind: 'silent' };
  const cut = marker === 'cut' || (marker === 'cut-once' && firstOfConversation);
  const usage = marker === 'expensive' ? EXPENSIVE_USAGE : NORMAL_USAGE;
  const advice = triageAdviceAnswer(conversation.prompt, marker);
  if (advice !== null) return { kind: 'answer', content: { type: 'text', text: advice }, usage: TRIAGE_USAGE, cut };

  const title = titleOf(conversation.prompt);
  const revision = /^##\s+Feedback\b/m.test(conversation.prompt);
  const relative = `docs/${slugOf(title)}${revision ? '-revision' : ''}.md`;
  const path = conversation.provider === 'anthropic' && conversation.cwd ? `${conversation.cwd.replace(/\/+$/, '')}/${relative}` : relative;
  const message = `${title}${revision ? ' (revision)' : ''}`.replaceAll("'", '');
  const steps: AnswerPart[] = [
    { type: 'write', path, content: `# ${title}\n\n${revision ? 'Revised after feedback.' : 'Written by the scripted model.'}\n` },
    conversation.provider === 'anthropic'
      ? { type: 'command', command: `git add -A && git -c user.name=scripted-model -c user.email=scripted-model@users.noreply.local -c commit.gpgsign=false commit --quiet -m '${message}'` }
      : { type: 'command', command: 'git status --short' },
    { type: 'text', text: `${revision ? 'Revised' : 'Wrote'} ${relative}${conversation.provider === 'anthropic' ? ' and committed it' : ''}.` },
  ];
  const content = steps[Math.min(conversation.toolResultsSincePrompt, steps.length - 1)]!;
  return { kind: 'answer', content, usage, cut };
}
