// The agent runtime as the activities use it: a worktree per issue, an agent CLI run in it
// as a child process with a scrubbed environment, and its process tree gone when it ends.
import type { ModelError, ProgressSink, StreamOptions, Tokens } from './agents/stream.js';
import type { AgentOwner } from './agent-records.js';
import type { RunFilesReport } from './run-files.js';

export interface Worktree {
  /** Absolute path of the checked-out worktree. */
  path: string;
  branch: string;
  baseRef: string;
  /** Handed out as a just-prepared worktree was left (`reuseWithinMs`), not created or reset now. */
  reused?: boolean;
}

export interface Workspaces {
  /**
   * A worktree of `repo` on `branch`: created from the remote branch when it exists (a
   * re-dispatch continues the same branch), else from `baseBranch`. Idempotent: an existing
   * worktree for the branch is reused after a hard reset to what the remote has.
   *
   * `reuseWithinMs`: when this process prepared the same repo, key, branch and baseBranch less
   * than that long ago, the worktree's `.git` is still there, its HEAD is still the commit it
   * was prepared at, nothing in it changed and no agent runs in it, it is returned as it is,
   * without a fetch (so without what was pushed since). Once: a full prepare's worktree is
   * reused at most one time, later calls prepare in full. On another host, or after the worker
   * restarted, the call prepares in full.
   */
  prepare(input: { repo: string; cloneUrl: string; authEnv: Record<string, string>; branch: string; baseBranch: string; key: string; reuseWithinMs?: number }): Promise<Worktree>;
  /**
   * Starts a whole `prepare` of the worktree in the background, without waiting for it:
   * triage calls it when it judges an issue ready, so the fetch and the checkout run while the run
   * claims its slot and its agent activity is scheduled. That activity's `prepare` (with
   * `reuseWithinMs`, on this host) then waits for it and takes the worktree as it was left,
   * reported as not `reused`, since the after-create hook has not run on it. It began after the
   * read that made the issue ready, which is as fresh as this dispatch needs. Never throws; a
   * failed one leaves nothing to reuse, and the activity prepares in full.
   */
  prepareAhead?(input: { repo: string; cloneUrl: string; authEnv: Record<string, string>; branch: string; baseBranch: string; key: string }): void;
  /** Commits the agent made, plus any changes it left uncommitted (committed by the factory). */
  finalize(worktree: Worktree, message: string): Promise<{ commitsAhead: number; headSha: string | null; subjects: string[] }>;
  /** The worktree already on this host for the branch (with whatever the agent left in it),
   * or null: never fetches or resets, so unpushed commits survive the lookup. */
  find(input: { repo: string; branch: string; key: string }): Promise<Worktree | null>;
  /** Removes the worktree and kills any process still running in it. Idempotent. */
  remove(input: { repo: string; branch: string; key: string }): Promise<void>;
}

export interface AgentSpec {
  /** argv; `{promptFile}`, `{worktree}` and `{resultFile}` are substituted. */
  command: string[];
  env: Record<string, string>;
  /** The CLI prints a JSON event stream on stdout (claude, codex): progress, cost, tokens,
   * session id and model errors come from it, and the idle timer watches its events. */
  stream?: StreamOptions;
  /** Give the prompt on stdin (else stdin is closed). */
  promptOnStdin?: boolean;
}

/** What the runner saw of the agent's work, from its event stream (absent for plain commands). */
export interface AgentReport {
  sessionId: string | null;
  tokens: Tokens | null;
  turns: number;
  toolCalls: number;
}

export interface AgentRunRequest {
  spec: AgentSpec;
  worktree: Worktree;
  prompt: string;
  idleTimeoutMs: number;
  totalTimeoutMs: number;
  /** Called at least every `heartbeatMs` while the agent lives, with a short progress note. */
  onHeartbeat: (progress: { outputBytes: number; lastOutputAt: number; events?: number; turns?: number; toolCalls?: number; costUsd?: number }) => void;
  /** Each thought and tool call the agent's event stream shows, as it comes (streaming CLIs only);
   * for an outside view of the run. A sink that throws is ignored. */
  onProgress?: ProgressSink;
  /** Spend allowed for this run (US dollars); past it, as the stream reports it, the agent is stopped. */
  budgetUsd?: number | null;
  heartbeatMs: number;
  /** Aborting kills the whole process tree. */
  signal: AbortSignal;
  /** The activity that runs the agent, recorded beside the worktree so the reaper can tell whether it still runs. */
  owner?: AgentOwner;
}

export type AgentExit =
  | ({ status: 'finished'; summary: string; costUsd: number; logFile: string } & Partial<AgentReport>)
  | ({ status: 'failed'; exitCode: number | null; signal: string | null; message: string; logFile: string; costUsd?: number; modelError?: ModelError | null } & Partial<AgentReport>)
  | ({ status: 'budget-exceeded'; message: string; costUsd: number; logFile: string } & Partial<AgentReport>)
  | ({ status: 'stalled'; message: string; logFile: string; costUsd?: number } & Partial<AgentReport>)
  | ({ status: 'timeout'; message: string; logFile: string; costUsd?: number } & Partial<AgentReport>)
  | { status: 'cancelled'; logFile: string };

export interface AgentRunner {
  run(request: AgentRunRequest): Promise<AgentExit>;
  /** Removes finished runs' files past their retention (run-files.ts), at most once per interval; null when not due or not configured. */
  pruneRunFiles?(): Promise<RunFilesReport | null>;
}
