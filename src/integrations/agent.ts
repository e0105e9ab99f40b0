// The agent runtime as the activities use it: a worktree per issue, an agent CLI run in it
// as a child process with a scrubbed environment, and its process tree gone when it ends.

export interface Worktree {
  /** Absolute path of the checked-out worktree. */
  path: string;
  branch: string;
  baseRef: string;
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
}

export interface AgentRunRequest {
  spec: AgentSpec;
  worktree: Worktree;
  prompt: string;
  idleTimeoutMs: number;
  totalTimeoutMs: number;
  /** Called at least every `heartbeatMs` while the agent lives, with a short progress note. */
  onHeartbeat: (progress: { outputBytes: number; lastOutputAt: number }) => void;
  heartbeatMs: number;
  /** Aborting kills the whole process tree. */
  signal: AbortSignal;
}

export type AgentExit =
  | { status: 'finished'; summary: string; costUsd: number; logFile: string }
  | { status: 'failed'; exitCode: number | null; signal: string | null; message: string; logFile: string; costUsd?: number }
  | { status: 'stalled'; message: string; logFile: string; costUsd?: number }
  | { status: 'timeout'; message: string; logFile: string; costUsd?: number }
  | { status: 'cancelled'; logFile: string };

export interface AgentRunner {
  run(request: AgentRunRequest): Promise<AgentExit>;
}
