import { createHash } from 'node:crypto';
import { REPO_ROLES, type CheckRunRecord, type CommentRecord, type PullRecord, type RepoRecord, type RepoRole, type ReviewRecord, type StatusRecord } from './types.js';

// Builders for GitHub's REST objects. Every field GitHub's OpenAPI description marks required
// is present (the emulator checks its own responses against that description), and every URL
// points back at the emulator, so a client that follows one stays inside the sandbox.

export interface Urls {
  /** REST base, e.g. http://127.0.0.1:8789/api/v3 */
  api: string;
  /** Web and git base, e.g. http://127.0.0.1:8789 */
  web: string;
}

type Json = Record<string, unknown>;

const EPOCH = '2024-01-01T00:00:00Z';

export function nodeId(kind: string, id: number): string {
  return Buffer.from(`0:${kind}${id}`).toString('base64');
}

/** Stable ids for logins, so a user keeps its id across restarts without being stored. */
export function userId(login: string): number {
  return createHash('sha256').update(login).digest().readUInt32BE(0) % 100_000_000;
}

export function userShape(urls: Urls, login: string): Json {
  const id = userId(login);
  const api = `${urls.api}/users/${login}`;
  return {
    login,
    id,
    node_id: nodeId('User', id),
    avatar_url: `${urls.web}/avatars/${login}`,
    gravatar_id: '',
    url: api,
    html_url: `${urls.web}/${login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: login.endsWith('[bot]') ? 'Bot' : 'User',
    user_view_type: 'public',
    site_admin: false,
  };
}

export function fullName(repo: RepoRecord): string {
  return `${repo.owner}/${repo.name}`;
}

/** A superset of `repository`, `full-repository` and `minimal-repository`. */
export function repoShape(urls: Urls, repo: RepoRecord, openIssues = 0): Json {
  const name = fullName(repo);
  const api = `${urls.api}/repos/${name}`;
  const html = `${urls.web}/${name}`;
  const host = new URL(urls.web).host;
  return {
    id: repo.id,
    node_id: nodeId('Repository', repo.id),
    name: repo.name,
    full_name: name,
    owner: userShape(urls, repo.owner),
    private: true,
    html_url: html,
    description: null,
    fork: false,
    url: api,
    archive_url: `${api}/{archive_format}{/ref}`,
    assignees_url: `${api}/assignees{/user}`,
    blobs_url: `${api}/git/blobs{/sha}`,
    branches_url: `${api}/branches{/branch}`,
    collaborators_url: `${api}/collaborators{/collaborator}`,
    comments_url: `${api}/comments{/number}`,
    commits_url: `${api}/commits{/sha}`,
    compare_url: `${api}/compare/{base}...{head}`,
    contents_url: `${api}/contents/{+path}`,
    contributors_url: `${api}/contributors`,
    deployments_url: `${api}/deployments`,
    downloads_url: `${api}/downloads`,
    events_url: `${api}/events`,
    forks_url: `${api}/forks`,
    git_commits_url: `${api}/git/commits{/sha}`,
    git_refs_url: `${api}/git/refs{/sha}`,
    git_tags_url: `${api}/git/tags{/sha}`,
    git_url: `git://${host}/${name}.git`,
    issue_comment_url: `${api}/issues/comments{/number}`,
    issue_events_url: `${api}/issues/events{/number}`,
    issues_url: `${api}/issues{/number}`,
    keys_url: `${api}/keys{/key_id}`,
    labels_url: `${api}/labels{/name}`,
    languages_url: `${api}/languages`,
    merges_url: `${api}/merges`,
    milestones_url: `${api}/milestones{/number}`,
    notifications_url: `${api}/notifications{?since,all,participating}`,
    pulls_url: `${api}/pulls{/number}`,
    releases_url: `${api}/releases{/id}`,
    ssh_url: `git@${host}:${name}.git`,
    stargazers_url: `${api}/stargazers`,
    statuses_url: `${api}/statuses/{sha}`,
    subscribers_url: `${api}/subscribers`,
    subscription_url: `${api}/subscription`,
    tags_url: `${api}/tags`,
    teams_url: `${api}/teams`,
    trees_url: `${api}/git/trees{/sha}`,
    clone_url: `${html}.git`,
    mirror_url: null,
    hooks_url: `${api}/hooks`,
    svn_url: html,
    homepage: null,
    language: null,
    forks_count: 0,
    forks: 0,
    stargazers_count: 0,
    watchers_count: 0,
    watchers: 0,
    size: 0,
    default_branch: repo.defaultBranch,
    open_issues_count: openIssues,
    open_issues: openIssues,
    is_template: false,
    topics: [],
    has_issues: true,
    has_projects: false,
    has_wiki: false,
    has_pages: false,
    has_downloads: false,
    has_discussions: false,
    archived: false,
    disabled: false,
    visibility: 'private',
    pushed_at: repo.pushedAt,
    created_at: repo.createdAt,
    updated_at: repo.pushedAt,
    permissions: { admin: true, maintain: true, push: true, triage: true, pull: true },
    allow_rebase_merge: false,
    allow_squash_merge: true,
    allow_merge_commit: true,
    allow_auto_merge: false,
    delete_branch_on_merge: false,
    allow_update_branch: false,
    allow_forking: false,
    web_commit_signoff_required: false,
    license: null,
    custom_properties: {},
    network_count: 0,
    subscribers_count: 0,
  };
}

export interface PullLive {
  headSha: string;
  baseSha: string;
  mergeable: boolean | null;
  mergeableState: string;
  commits: number;
  additions: number;
  deletions: number;
  changedFiles: number;
  comments: number;
}

/** `pull-request` (full) or `pull-request-simple` (list items lack the merge fields, as on GitHub). */
export function pullShape(urls: Urls, repo: RepoRecord, pr: PullRecord, live: PullLive, variant: 'full' | 'simple' = 'full'): Json {
  const name = fullName(repo);
  const api = `${urls.api}/repos/${name}`;
  const html = `${urls.web}/${name}/pull/${pr.number}`;
  const repository = repoShape(urls, repo);
  const side = (ref: string, sha: string): Json => ({ label: `${repo.owner}:${ref}`, ref, sha, user: userShape(urls, repo.owner), repo: repository });
  const shape: Json = {
    url: `${api}/pulls/${pr.number}`,
    id: pr.id,
    node_id: nodeId('PullRequest', pr.id),
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: `${api}/issues/${pr.number}`,
    commits_url: `${api}/pulls/${pr.number}/commits`,
    review_comments_url: `${api}/pulls/${pr.number}/comments`,
    review_comment_url: `${api}/pulls/comments{/number}`,
    comments_url: `${api}/issues/${pr.number}/comments`,
    statuses_url: `${api}/statuses/${live.headSha}`,
    number: pr.number,
    state: pr.state,
    locked: false,
    title: pr.title,
    user: userShape(urls, pr.user),
    body: pr.body,
    labels: [],
    milestone: null,
    active_lock_reason: null,
    created_at: pr.createdAt,
    updated_at: pr.updatedAt,
    closed_at: pr.closedAt,
    merged_at: pr.mergedAt,
    merge_commit_sha: pr.mergeCommitSha,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    head: side(pr.headRef, live.headSha),
    base: side(pr.baseRef, live.baseSha),
    _links: {
      self: { href: `${api}/pulls/${pr.number}` },
      html: { href: html },
      issue: { href: `${api}/issues/${pr.number}` },
      comments: { href: `${api}/issues/${pr.number}/comments` },
      review_comments: { href: `${api}/pulls/${pr.number}/comments` },
      review_comment: { href: `${api}/pulls/comments{/number}` },
      commits: { href: `${api}/pulls/${pr.number}/commits` },
      statuses: { href: `${api}/statuses/${live.headSha}` },
    },
    author_association: 'OWNER',
    auto_merge: null,
    draft: pr.draft,
  };
  if (variant === 'simple') return shape;
  return {
    ...shape,
    merged: pr.merged,
    mergeable: live.mergeable,
    rebaseable: live.mergeable,
    mergeable_state: live.mergeableState,
    merged_by: pr.mergedBy ? userShape(urls, pr.mergedBy) : null,
    comments: live.comments,
    review_comments: 0,
    maintainer_can_modify: false,
    commits: live.commits,
    additions: live.additions,
    deletions: live.deletions,
    changed_files: live.changedFiles,
  };
}

/** REST uses upper-case review states, webhooks lower-case. */
export function reviewShape(urls: Urls, repo: RepoRecord, review: ReviewRecord, flavour: 'rest' | 'webhook' = 'rest'): Json {
  const name = fullName(repo);
  const html = `${urls.web}/${name}/pull/${review.number}#pullrequestreview-${review.id}`;
  const pullUrl = `${urls.api}/repos/${name}/pulls/${review.number}`;
  return {
    id: review.id,
    node_id: nodeId('PullRequestReview', review.id),
    user: userShape(urls, review.user),
    body: review.body,
    state: flavour === 'rest' ? review.state : review.state.toLowerCase(),
    html_url: html,
    pull_request_url: pullUrl,
    _links: { html: { href: html }, pull_request: { href: pullUrl } },
    submitted_at: review.state === 'PENDING' ? undefined : review.submittedAt,
    commit_id: review.commitId,
    author_association: review.user === repo.owner ? 'OWNER' : 'COLLABORATOR',
  };
}

export const CI_APP = {
  id: 4242,
  slug: 'conveyor-sandbox-ci',
  name: 'Conveyor Sandbox CI',
  description: 'Runs .conveyor/check.sh for the GitHub sandbox',
  permissions: { checks: 'write', metadata: 'read', pull_requests: 'read' },
  events: ['check_run', 'check_suite', 'pull_request'],
};

export interface AppDescription {
  id: number;
  slug: string;
  name: string;
  description: string;
  permissions: Record<string, string>;
  events: string[];
}

/** GitHub's `integration`: the CI app on check runs, or the app a JWT proves (GET /app). */
export function appShape(urls: Urls, owner: string, app: AppDescription = CI_APP): Json {
  return {
    id: app.id,
    slug: app.slug,
    node_id: nodeId('App', app.id),
    client_id: 'Iv1.sandbox',
    owner: userShape(urls, owner),
    name: app.name,
    description: app.description,
    external_url: urls.web,
    html_url: `${urls.web}/apps/${app.slug}`,
    created_at: EPOCH,
    updated_at: EPOCH,
    permissions: app.permissions,
    events: app.events,
  };
}

/** GET /user: the account a token acts as, with the public profile fields GitHub always sends. */
export function authenticatedUserShape(urls: Urls, login: string): Json {
  return {
    ...userShape(urls, login),
    name: login,
    company: null,
    blog: '',
    location: null,
    email: null,
    hireable: null,
    bio: null,
    twitter_username: null,
    public_repos: 0,
    public_gists: 0,
    followers: 0,
    following: 0,
    created_at: EPOCH,
    updated_at: EPOCH,
  };
}

/** GET …/collaborators/{username}/permission: `permission` is the legacy base role
 * (maintain reads as write, triage as read), `role_name` the role itself. */
export function collaboratorPermissionShape(urls: Urls, login: string, role: RepoRole | null): Json {
  const permission = role === 'maintain' ? 'write' : role === 'triage' ? 'read' : (role ?? 'read');
  // REPO_ROLES runs from the most to the least access; someone who is no collaborator reads.
  const level = (r: RepoRole) => REPO_ROLES.length - REPO_ROLES.indexOf(r);
  const held = level(role ?? 'read');
  const at = (r: RepoRole) => held >= level(r);
  return {
    permission,
    role_name: role ?? 'read',
    user: {
      ...userShape(urls, login),
      permissions: { pull: true, triage: at('triage'), push: at('write'), maintain: at('maintain'), admin: at('admin') },
      role_name: role ?? 'read',
    },
  };
}

function minimalPull(urls: Urls, repo: RepoRecord, pr: PullRecord, headSha: string): Json {
  const api = `${urls.api}/repos/${fullName(repo)}`;
  const repoRef = { id: repo.id, url: api, name: repo.name };
  return {
    id: pr.id,
    number: pr.number,
    url: `${api}/pulls/${pr.number}`,
    head: { ref: pr.headRef, sha: headSha, repo: repoRef },
    base: { ref: pr.baseRef, sha: pr.baseSha, repo: repoRef },
  };
}

export function checkRunShape(urls: Urls, repo: RepoRecord, run: CheckRunRecord, pulls: PullRecord[]): Json {
  const api = `${urls.api}/repos/${fullName(repo)}`;
  const html = `${urls.web}/${fullName(repo)}/runs/${run.id}`;
  return {
    id: run.id,
    head_sha: run.headSha,
    node_id: nodeId('CheckRun', run.id),
    external_id: String(run.id),
    url: `${api}/check-runs/${run.id}`,
    html_url: html,
    details_url: html,
    status: run.status,
    conclusion: run.conclusion,
    started_at: run.startedAt,
    completed_at: run.completedAt,
    output: {
      title: run.output.title,
      summary: run.output.summary,
      text: null,
      annotations_count: 0,
      annotations_url: `${api}/check-runs/${run.id}/annotations`,
    },
    name: run.name,
    check_suite: { id: run.suiteId },
    app: appShape(urls, repo.owner),
    pull_requests: pulls.map((pr) => minimalPull(urls, repo, pr, run.headSha)),
  };
}

export function checkSuiteShape(urls: Urls, repo: RepoRecord, runs: CheckRunRecord[], pulls: PullRecord[], headCommit: Json | null): Json {
  const first = runs[0];
  if (!first) throw new Error('a check suite needs at least one check run');
  const api = `${urls.api}/repos/${fullName(repo)}`;
  const done = runs.every((run) => run.status === 'completed');
  const failed = runs.find((run) => run.conclusion && !['success', 'neutral', 'skipped'].includes(run.conclusion));
  return {
    id: first.suiteId,
    node_id: nodeId('CheckSuite', first.suiteId),
    head_branch: first.headBranch,
    head_sha: first.headSha,
    status: done ? 'completed' : 'in_progress',
    conclusion: done ? (failed?.conclusion ?? 'success') : null,
    url: `${api}/check-suites/${first.suiteId}`,
    before: null,
    after: first.headSha,
    pull_requests: pulls.map((pr) => minimalPull(urls, repo, pr, first.headSha)),
    app: appShape(urls, repo.owner),
    created_at: first.startedAt,
    updated_at: runs.map((run) => run.completedAt ?? run.startedAt).sort().at(-1),
    latest_check_runs_count: runs.length,
    check_runs_url: `${api}/check-suites/${first.suiteId}/check-runs`,
    head_commit: headCommit,
  };
}

export function statusShape(urls: Urls, repo: RepoRecord, status: StatusRecord): Json {
  return {
    url: `${urls.api}/repos/${fullName(repo)}/statuses/${status.sha}`,
    avatar_url: `${urls.web}/avatars/${status.creator}`,
    id: status.id,
    node_id: nodeId('StatusContext', status.id),
    state: status.state,
    description: status.description,
    target_url: status.targetUrl,
    context: status.context,
    created_at: status.createdAt,
    updated_at: status.updatedAt,
    creator: userShape(urls, status.creator),
  };
}

/** GitHub folds statuses by context (latest wins); no statuses at all reads as pending. */
export function combinedStatusShape(urls: Urls, repo: RepoRecord, sha: string, statuses: StatusRecord[]): Json {
  const latest = new Map<string, StatusRecord>();
  for (const status of [...statuses].sort((a, b) => a.id - b.id)) latest.set(status.context, status);
  const current = [...latest.values()];
  const states = current.map((status) => status.state);
  const state = states.some((s) => s === 'error' || s === 'failure')
    ? 'failure'
    : states.length === 0 || states.includes('pending')
      ? 'pending'
      : 'success';
  const api = `${urls.api}/repos/${fullName(repo)}`;
  return {
    state,
    statuses: current.map((status) => {
      const { creator: _creator, ...simple } = statusShape(urls, repo, status);
      return simple;
    }),
    sha,
    total_count: current.length,
    repository: repoShape(urls, repo),
    commit_url: `${api}/commits/${sha}`,
    url: `${api}/commits/${sha}/status`,
  };
}

export function commentShape(urls: Urls, repo: RepoRecord, comment: CommentRecord): Json {
  const api = `${urls.api}/repos/${fullName(repo)}`;
  return {
    id: comment.id,
    node_id: nodeId('IssueComment', comment.id),
    url: `${api}/issues/comments/${comment.id}`,
    html_url: `${urls.web}/${fullName(repo)}/pull/${comment.number}#issuecomment-${comment.id}`,
    body: comment.body,
    user: userShape(urls, comment.user),
    created_at: comment.createdAt,
    updated_at: comment.updatedAt,
    issue_url: `${api}/issues/${comment.number}`,
    author_association: comment.user === repo.owner ? 'OWNER' : 'COLLABORATOR',
  };
}

export interface CommitInfo {
  sha: string;
  tree: string;
  parents: string[];
  authorName: string;
  authorEmail: string;
  authorDate: string;
  committerName: string;
  committerEmail: string;
  committerDate: string;
  message: string;
}

export function commitShape(urls: Urls, repo: RepoRecord, commit: CommitInfo): Json {
  const api = `${urls.api}/repos/${fullName(repo)}`;
  const html = `${urls.web}/${fullName(repo)}/commit/${commit.sha}`;
  return {
    url: `${api}/commits/${commit.sha}`,
    sha: commit.sha,
    node_id: Buffer.from(`0:Commit${commit.sha}`).toString('base64'),
    html_url: html,
    comments_url: `${api}/commits/${commit.sha}/comments`,
    commit: {
      url: `${api}/git/commits/${commit.sha}`,
      author: { name: commit.authorName, email: commit.authorEmail, date: commit.authorDate },
      committer: { name: commit.committerName, email: commit.committerEmail, date: commit.committerDate },
      message: commit.message,
      comment_count: 0,
      tree: { sha: commit.tree, url: `${api}/git/trees/${commit.tree}` },
    },
    author: null,
    committer: null,
    parents: commit.parents.map((sha) => ({ sha, url: `${api}/commits/${sha}`, html_url: `${urls.web}/${fullName(repo)}/commit/${sha}` })),
  };
}

/** Webhook `head_commit` of a check suite. */
export function headCommitShape(commit: CommitInfo): Json {
  return {
    id: commit.sha,
    tree_id: commit.tree,
    message: commit.message,
    timestamp: commit.committerDate,
    author: { name: commit.authorName, email: commit.authorEmail },
    committer: { name: commit.committerName, email: commit.committerEmail },
  };
}

export function statusCheckPolicyShape(urls: Urls, repo: RepoRecord, branch: string, contexts: string[]): Json {
  const url = `${urls.api}/repos/${fullName(repo)}/branches/${encodeURIComponent(branch)}/protection/required_status_checks`;
  return {
    url,
    strict: false,
    contexts,
    checks: contexts.map((context) => ({ context, app_id: null })),
    contexts_url: `${url}/contexts`,
  };
}

export function branchShape(urls: Urls, repo: RepoRecord, branch: string, commit: CommitInfo, requiredChecks: string[] | undefined): Json {
  const api = `${urls.api}/repos/${fullName(repo)}`;
  const protectionUrl = `${api}/branches/${encodeURIComponent(branch)}/protection`;
  return {
    name: branch,
    commit: commitShape(urls, repo, commit),
    _links: { html: `${urls.web}/${fullName(repo)}/tree/${branch}`, self: `${api}/branches/${encodeURIComponent(branch)}` },
    protected: requiredChecks !== undefined,
    protection: {
      enabled: requiredChecks !== undefined,
      required_status_checks: {
        enforcement_level: requiredChecks ? 'non_admins' : 'off',
        contexts: requiredChecks ?? [],
        checks: (requiredChecks ?? []).map((context) => ({ context, app_id: null })),
      },
    },
    protection_url: protectionUrl,
  };
}
