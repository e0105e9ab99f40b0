// One agent attempt as a Linear agent session (`tracker.agentSessions`): the session is opened
// when the attempt starts (or the one an earlier try of the same attempt opened is reused), the
// agent's progress is posted to it as it streams, and the attempt's ending closes it with a
// response (finished, or stopped) or an error.
//
// Linear is a view here, never a dependency: nothing this does can fail or hold up the run. Posts
// go out one at a time, in order, at least `minIntervalMs` apart; thoughts that arrive while a
// post waits are merged into one; past `maxActivities` progress entries, further progress is
// counted, not posted (one note says how many). The final entry is always posted, after what is
// queued, and waited for at most a few seconds. Every text passes the redactor first.
import type { Logger } from 'pino';
import type { Redactor } from './redact.js';
import type { AgentProgress } from '../integrations/agents/stream.js';
import type { AgentActivityContent, AgentSessions } from '../integrations/tracker.js';

export interface SessionReporterOptions {
  sessions: AgentSessions;
  issueId: string;
  issueKey: string;
  /** A session an earlier try of this attempt opened (heartbeat details): reused, not opened again. */
  existingSessionId: string | null;
  /** The first entry: who works on what. */
  intro: string;
  redact: Redactor;
  logger: Logger;
  minIntervalMs: number;
  maxActivities: number;
  /** Told the session's id once it is known (the activity records it in its heartbeat). */
  onSession?: (sessionId: string) => void;
  /** How long `finish` waits for the queue to drain; default 10 s. */
  finishTimeoutMs?: number;
}

/** How an attempt ends in its session: `response` and `error` close it; a `thought` leaves it open for a retry. */
export interface SessionEnding {
  type: 'response' | 'error' | 'thought';
  body: string;
}

export interface SessionReporter {
  /** The session's id once opened; null before, or when opening failed. */
  readonly sessionId: () => string | null;
  progress(progress: AgentProgress): void;
  /** Posts the ending after everything queued; resolves when posted, or after the timeout. */
  finish(ending: SessionEnding): Promise<void>;
}

/** Cuts that keep one entry readable in Linear's panel and bounded in size. */
const LIMITS = { thought: 4_000, action: 120, parameter: 400, final: 12_000 } as const;
/** After this many failed posts in a row the session is given up for the attempt: Linear is down or refusing. */
const MAX_FAILURES_IN_A_ROW = 3;
/** At the end, what is still queued goes out this far apart (the run is waiting on it). */
const DRAIN_INTERVAL_MS = 100;

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function createSessionReporter(options: SessionReporterOptions): SessionReporter {
  const { sessions, redact, logger } = options;
  const log = logger.child({ issue: options.issueKey, part: 'agent-session' });
  const queue: AgentActivityContent[] = [];
  let sessionId: string | null = options.existingSessionId;
  let progressQueued = 0;
  let dropped = 0;
  let failuresInARow = 0;
  let givenUp = false;
  let interval = options.minIntervalMs;
  let lastPostAt = 0;
  let pumping: Promise<void> | null = null;
  /** Entries nothing merges into (the intro: who works on what stays its own line). */
  const sealed = new WeakSet<AgentActivityContent>();
  const mergeable = (): Extract<AgentActivityContent, { body: string }> | null => {
    const last = queue[queue.length - 1];
    return last?.type === 'thought' && !sealed.has(last) ? last : null;
  };

  const opened: Promise<string | null> = (async () => {
    if (sessionId !== null) return sessionId;
    try {
      sessionId = await sessions.createAgentSession({ issueId: options.issueId });
      options.onSession?.(sessionId);
      log.info({ agentSessionId: sessionId }, 'agent session opened in the tracker');
      return sessionId;
    } catch (err) {
      givenUp = true;
      log.warn({ err: redact(err instanceof Error ? err.message : String(err)) }, 'could not open an agent session in the tracker; the run goes on without one');
      return null;
    }
  })();

  const post = async (id: string, content: AgentActivityContent): Promise<void> => {
    try {
      await sessions.postAgentActivity(id, content);
      failuresInARow = 0;
    } catch (err) {
      failuresInARow += 1;
      log.warn({ agentSessionId: id, type: content.type, failuresInARow, err: redact(err instanceof Error ? err.message : String(err)) }, 'could not post to the agent session; the run goes on');
      if (failuresInARow >= MAX_FAILURES_IN_A_ROW) {
        givenUp = true;
        log.warn({ agentSessionId: id }, `${MAX_FAILURES_IN_A_ROW} posts to the agent session failed in a row; no more are tried for this attempt`);
      }
    }
  };

  const pump = async (): Promise<void> => {
    const id = await opened;
    while (queue.length > 0 && !givenUp && id !== null) {
      const wait = lastPostAt + interval - Date.now();
      if (wait > 0) await sleep(wait);
      const next = queue.shift()!;
      await post(id, next);
      // Counted from when Linear answered: the gap holds between what Linear receives, however slow it is.
      lastPostAt = Date.now();
    }
    if (givenUp) queue.length = 0;
  };

  const kick = (): void => {
    pumping ??= pump().finally(() => {
      pumping = null;
      if (queue.length > 0 && !givenUp) kick();
    });
  };

  const enqueue = (content: AgentActivityContent): void => {
    if (givenUp) return;
    const last = mergeable();
    // Thoughts that pile up behind a waiting post become one entry.
    if (content.type === 'thought' && last) {
      last.body = cut(`${last.body}\n\n${content.body}`, LIMITS.thought);
      return;
    }
    queue.push(content);
    kick();
  };

  const intro: AgentActivityContent = { type: 'thought', body: cut(redact(options.intro), LIMITS.thought) };
  sealed.add(intro);
  enqueue(intro);
  progressQueued = 1;

  return {
    sessionId: () => sessionId,

    progress(progress) {
      if (givenUp) return;
      const mergesIntoLast = progress.kind === 'thought' && mergeable() !== null;
      if (!mergesIntoLast && progressQueued >= options.maxActivities) {
        dropped += 1;
        return;
      }
      if (!mergesIntoLast) progressQueued += 1;
      if (progress.kind === 'thought') enqueue({ type: 'thought', body: cut(redact(progress.text.trim()), LIMITS.thought) });
      else enqueue({ type: 'action', action: cut(redact(progress.action), LIMITS.action), parameter: cut(redact(progress.parameter), LIMITS.parameter) });
    },

    async finish(ending) {
      if (givenUp) return;
      const body = cut(redact(ending.body.trim()) || '(no summary)', LIMITS.final);
      // The agent's last words are usually its summary: said once, as the response.
      const last = mergeable();
      if (last && last.body.trim() !== '' && body.startsWith(last.body.trim())) queue.pop();
      if (dropped > 0) queue.push({ type: 'thought', body: `${dropped} more steps were not posted here (tracker.agentSessions.maxActivities is ${options.maxActivities}); the worker's agent log has them all.` });
      queue.push({ type: ending.type, body });
      interval = Math.min(interval, DRAIN_INTERVAL_MS);
      kick();
      const timeoutMs = options.finishTimeoutMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      const drained = (async () => {
        while (pumping) await pumping;
      })();
      const outcome = await Promise.race([drained.then(() => 'drained' as const), new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)))]);
      clearTimeout(timer);
      if (outcome === 'late') {
        givenUp = true;
        log.warn({ agentSessionId: sessionId, unposted: queue.length }, `the agent session did not take the attempt's ending within ${timeoutMs} ms; the run goes on without it`);
      }
    },
  };
}
