// Plain records the emulator keeps in `state.json`. They hold only what GitHub itself would
// have to remember; everything derivable (URLs, head SHAs, mergeability) is computed per
// request from the bare repositories, so the REST view can never disagree with git.

export type LogFn = (fields: Record<string, unknown>, message: string) => void;

/** The subset of a pino logger the sandbox writes to. */
export interface SandboxLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

export const silentLogger: SandboxLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

export interface RepoRecord {
  id: number;
  owner: string;
  name: string;
  defaultBranch: string;
  createdAt: string;
  pushedAt: string;
  /** Issues and pulls share one number sequence on GitHub. */
  nextNumber: number;
  /** branch → required status check contexts */
  protection: Record<string, { requiredChecks: string[] }>;
  /**
   * login → role on this repo, besides the owner (admin) and the factory's bot (write). Absent
   * in state written before collaborators existed: then only the default reviewer has write.
   */
  collaborators?: Record<string, RepoRole>;
}

/** GitHub's repository roles; the REST `permission` field folds maintain into write and triage into read. */
export type RepoRole = 'admin' | 'maintain' | 'write' | 'triage' | 'read';

export const REPO_ROLES: readonly RepoRole[] = ['admin', 'maintain', 'write', 'triage', 'read'];

/** Who approves or requests changes through the admin API when no user is named; has write on every new repo. */
export const DEFAULT_REVIEWER = 'sandbox-reviewer';

export interface PullRecord {
  id: number;
  repo: string;
  number: number;
  title: string;
  body: string | null;
  user: string;
  headRef: string;
  /** Last head SHA the emulator saw; the live branch head wins while the branch exists. */
  headSha: string;
  baseRef: string;
  baseSha: string;
  state: 'open' | 'closed';
  draft: boolean;
  merged: boolean;
  mergedAt: string | null;
  mergedBy: string | null;
  mergeCommitSha: string | null;
  closedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export type ReviewState = 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED' | 'PENDING';

export interface ReviewRecord {
  id: number;
  repo: string;
  number: number;
  user: string;
  body: string;
  state: ReviewState;
  commitId: string;
  submittedAt: string;
}

export type CheckStatus = 'queued' | 'in_progress' | 'completed';
export type CheckConclusion = 'success' | 'failure' | 'neutral' | 'cancelled' | 'skipped' | 'timed_out' | 'action_required';

export interface CheckRunRecord {
  id: number;
  suiteId: number;
  repo: string;
  headSha: string;
  headBranch: string | null;
  name: string;
  status: CheckStatus;
  conclusion: CheckConclusion | null;
  startedAt: string;
  completedAt: string | null;
  output: { title: string | null; summary: string | null };
}

export type CommitState = 'error' | 'failure' | 'pending' | 'success';

export interface StatusRecord {
  id: number;
  repo: string;
  sha: string;
  context: string;
  state: CommitState;
  description: string | null;
  targetUrl: string | null;
  creator: string;
  createdAt: string;
  updatedAt: string;
}

export interface CommentRecord {
  id: number;
  repo: string;
  number: number;
  user: string;
  body: string;
  createdAt: string;
  updatedAt: string;
}

export interface SandboxState {
  version: 1;
  nextId: number;
  repos: Record<string, RepoRecord>;
  pulls: PullRecord[];
  reviews: ReviewRecord[];
  checkRuns: CheckRunRecord[];
  statuses: StatusRecord[];
  comments: CommentRecord[];
}

export function emptyState(): SandboxState {
  return { version: 1, nextId: 1000, repos: {}, pulls: [], reviews: [], checkRuns: [], statuses: [], comments: [] };
}

/** An HTTP-level error with GitHub's body shape; handlers throw it, the server renders it. */
export class GitHubHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: { errors?: unknown[]; documentationUrl?: string; headers?: Record<string, string> } = {},
  ) {
    super(message);
  }
}
