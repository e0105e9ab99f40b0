// The schema of `instance/factory.yaml`: this installation's teams, repos, routing, policies
// and agents. Every default named in DESIGN.md's "Domain and defaults" lives here.
import { z } from 'zod';
import { DEFAULT_PAYLOAD_LIMIT } from '../domain/bounded-text.js';
import { BYTE_SIZE_HINT, parseByteSize } from '../domain/byte-size.js';
import { durationMs, isDuration } from '../domain/duration.js';

const duration = z.string().refine(isDuration, { message: 'expected a duration such as 30s, 10m, 2h or 7d' });
/** Bounds of `policies.payloadLimit`: below the floor a cut text is mostly its note; above the
 * ceiling a run's payload (several bounded texts: feedback, summary, description) nears Temporal's
 * 512 KB warning and 2 MB limit per payload. */
export const PAYLOAD_LIMIT_MIN = 1024;
export const PAYLOAD_LIMIT_MAX = 256 * 1024;

const byteSize = z.union([z.number(), z.string()], { error: `expected ${BYTE_SIZE_HINT}` }).transform((value, ctx) => {
  const bytes = parseByteSize(value);
  if (bytes === null) {
    ctx.issues.push({ code: 'custom', input: value, message: `expected ${BYTE_SIZE_HINT}; got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  if (bytes < PAYLOAD_LIMIT_MIN || bytes > PAYLOAD_LIMIT_MAX) {
    ctx.issues.push({ code: 'custom', input: value, message: `${JSON.stringify(value)} is ${bytes} bytes; use between 1KiB and 256KiB (Temporal refuses a payload over 2 MB, and a run carries several of these texts in one)` });
    return z.NEVER;
  }
  return bytes;
});

const repoName = z.string().regex(/^[\w.-]+\/[\w.-]+$/, { message: 'expected a repository as owner/name' });

const TEAM_REPO_REMOVED =
  'a team no longer names a repo: it was a silent default that routed every issue no rule matched. ' +
  'Write `defaultRepo: <owner/name>` to keep sending those issues there on purpose (triage then says the default was used), ' +
  'or drop it and add routing rules (`routing: [{ team, project, labels, titlePattern, descriptionPattern, repo }]`): an issue no rule routes is escalated';

export const teamSchema = z
  .strictObject({
    key: z.string().min(1),
    /** Refused with a message saying what to write instead (see TEAM_REPO_REMOVED). */
    repo: z.unknown().optional(),
    /** Opt-in: where this team's issues go when no routing rule fires. Absent: they escalate. */
    defaultRepo: repoName.optional(),
    /** A state name that also counts as ready; any state of type `unstarted` always does. */
    readyState: z.string().default('Todo'),
    inProgressState: z.string().default('In Progress'),
    inReviewState: z.string().default('In Review'),
    doneState: z.string().default('Done'),
  })
  .superRefine((team, ctx) => {
    if (team.repo !== undefined) ctx.addIssue({ code: 'custom', path: ['repo'], message: TEAM_REPO_REMOVED });
  })
  .transform(({ repo: _removed, ...team }) => team);

export const repoSchema = z.strictObject({
  name: repoName,
  baseBranch: z.string().default('main'),
  mergePolicy: z.enum(['never', 'on-green-with-review']).default('never'),
  /** Required check names; when absent, the branch protection of the base branch decides. */
  requiredChecks: z.array(z.string()).optional(),
  /**
   * Whether an approval made on an older head still counts after a push (GitHub's behaviour
   * without "Dismiss stale pull request approvals"). Default false: the merge gate merges only
   * a head SHA a reviewer with write access approved, whatever the branch protection says.
   */
  approvalSurvivesPush: z.boolean().optional(),
  /** Agents at once on this repo; absent = only the global cap applies. */
  slots: z.number().int().positive().optional(),
  /**
   * `on-green-with-review` takes effect only after this many factory PRs in the repo were
   * merged by a human with no follow-up fix (counted from the forge); until then the repo
   * merges as `never`. 0 turns graduation off.
   */
  graduation: z.strictObject({ cleanMerges: z.number().int().min(0).default(3) }).prefault({}),
});

function isRegex(pattern: string): boolean {
  try {
    new RegExp(pattern, 'i');
    return true;
  } catch {
    return false;
  }
}

const pattern = z.string().min(1).refine(isRegex, { message: 'expected a regular expression (JavaScript syntax, matched case-insensitively)' });

/**
 * A routing rule: every condition given must hold (labels: all of them). An issue goes to a
 * repo when the rules that fire all name that repo; none firing uses the team's `defaultRepo`
 * if it has one, and otherwise, or when fired rules name different repos, triage escalates.
 */
export const routeSchema = z
  .strictObject({
    team: z.string().optional(),
    project: z.string().optional(),
    /** One label; kept for configs written before `labels`. */
    label: z.string().optional(),
    labels: z.array(z.string()).min(1).optional(),
    titlePattern: pattern.optional(),
    descriptionPattern: pattern.optional(),
    repo: repoName,
    agent: z.string().optional(),
  })
  .refine((r) => [r.team, r.project, r.label, r.labels, r.titlePattern, r.descriptionPattern].some((c) => c !== undefined), {
    message: 'a routing rule needs at least one condition (team, project, label, labels, titlePattern, descriptionPattern); for a catch-all, set defaultRepo on the team',
  });

const commandAgentSchema = z.strictObject({
  provider: z.literal('command'),
  /** argv of the agent CLI; `{promptFile}`, `{resultFile}`, `{worktree}` and `{root}` (the installation) are substituted. */
  command: z.array(z.string()).min(1),
  /** Extra environment for the agent. The process gets nothing else but PATH, HOME and LANG. */
  env: z.record(z.string(), z.string()).default({}),
});

const pricePerMTok = z.strictObject({ input: z.number().nonnegative(), output: z.number().nonnegative() });

/** Claude Code or Codex, driven through their JSON event streams (src/integrations/agents/). */
const cliAgentFields = {
  /** The CLI; default `<root>/node_modules/.bin/<claude|codex>` when installed there, else on PATH. `{root}` is substituted. */
  executable: z.string().optional(),
  model: z.string().optional(),
  /** The model API's base URL (the sandbox points it at its model emulator); the CLI's default when absent. */
  baseUrl: z.url().optional(),
  /** The worker's environment variable holding the model API key; only this one reaches the agent. */
  apiKeyEnv: z.string().optional(),
  /** US dollars per million tokens, to estimate spend mid-run for the budget (Claude Code's
   * final figure replaces the estimate; Codex reports tokens only). */
  pricePerMTok: pricePerMTok.optional(),
  /** How often the CLI itself retries a failed model request before it gives up (its default when absent). */
  maxRetries: z.number().int().min(0).optional(),
  /** Extra environment for the agent. */
  env: z.record(z.string(), z.string()).default({}),
};

const claudeAgentSchema = z.strictObject({
  provider: z.literal('claude'),
  ...cliAgentFields,
  /** Tools allowed beyond file edits in the worktree (Claude Code's `--allowedTools` rules). */
  allowedTools: z.array(z.string()).default(['Bash(git:*)']),
});

const codexAgentSchema = z.strictObject({ provider: z.literal('codex'), ...cliAgentFields });

/** An entry without `provider` is a plain command, as before providers existed. */
export const agentSchema = z.preprocess(
  (value) => (value !== null && typeof value === 'object' && !Array.isArray(value) && !('provider' in value) ? { provider: 'command', ...value } : value),
  z.discriminatedUnion('provider', [commandAgentSchema, claudeAgentSchema, codexAgentSchema]),
);
export type AgentConfig = z.infer<typeof agentSchema>;

/** The shortest `agents.runFiles.maxAge`: a run's log must still be there when a human follows the escalation that points to it. */
export const RUN_FILES_MIN_AGE_MS = 3_600_000;

/** The most the triage advisor may hold up a triage: the triage activity also reads the tracker
 * and the forge within its one-minute limit, and a model call must never be the reason it fails. */
export const TRIAGE_ADVISOR_MAX_TIMEOUT_MS = 30_000;

/**
 * The LLM triage tier: a model drafts acceptance criteria for a thin issue and picks one of
 * the candidate repos for an unroutable one, as suggestions in the escalation comment. Off
 * unless a provider is named here or in CONVEYOR_TRIAGE_MODEL_PROVIDER (which overrides this,
 * `off` included): it sends the issue's text to the provider.
 */
export const triageAdvisorSchema = z.strictObject({
  provider: z.enum(['anthropic', 'openai', 'off']).optional(),
  /** The model name as the provider spells it; CONVEYOR_TRIAGE_MODEL overrides it. */
  model: z.string().min(1).optional(),
  /** The API's base URL; else ANTHROPIC_BASE_URL or OPENAI_BASE_URL, else the vendor's. */
  baseUrl: z.url().optional(),
  /** The worker's environment variable holding the key; default ANTHROPIC_API_KEY or OPENAI_API_KEY. */
  apiKeyEnv: z.string().min(1).optional(),
  /** How long triage waits for the model before it escalates without a suggestion. */
  timeout: duration.refine((d) => !isDuration(d) || durationMs(d) <= TRIAGE_ADVISOR_MAX_TIMEOUT_MS, { message: 'at most 30s: triage must never wait long on the model' }).default('15s'),
  maxOutputTokens: z.number().int().positive().max(8192).default(1024),
  /** US dollars per million tokens, to put a cost on each answer (a response that states its own cost wins). */
  pricePerMTok: pricePerMTok.optional(),
});
export type TriageAdvisorConfig = z.infer<typeof triageAdvisorSchema>;

export const policiesSchema = z.strictObject({
  timeouts: z
    .strictObject({
      agentIdle: duration.default('10m'),
      agentTotal: duration.default('60m'),
      prOpen: duration.default('5m'),
      ci: duration.default('60m'),
      review: duration.default('7d'),
      escalation: duration.default('14d'),
      /** How long the publish step waits for the host that holds the agent's worktree before the agent
       * runs again elsewhere from the pushed branch (that host is gone: stopped, lost). */
      hostGone: duration.default('5m'),
      /** How long an issue held by an operator waits for its release before the run ends as `hold-timeout`. */
      hold: duration.default('14d'),
      /** How long an issue may wait for an agent slot before the run ends as `queue-timeout`. */
      queue: duration.default('24h'),
      heartbeat: duration.default('30s'),
    })
    .prefault({}),
  maxRedispatch: z.number().int().min(0).default(3),
  /** How often the reconcile sweep looks for ready issues without a run and PRs whose events were lost. */
  sweepInterval: duration.default('5m'),
  /** How often each worker's reaper kills agents nobody supervises and removes worktrees of closed runs. */
  reapInterval: duration.default('1m'),
  budgetUsd: z.number().positive().nullable().default(null),
  thinDescriptionChars: z.number().int().min(0).default(140),
  reservedLabels: z.array(z.string()).default(['needs-design', 'reserved']),
  syntheticLabel: z.string().default('conveyor-e2e'),
  readyLabel: z.string().default('conveyor'),
  /** Replaces `readyLabel` on a blocked issue: nothing restarts it until a human re-adds the ready label or says `/conveyor retry`. */
  blockedLabel: z.string().default('conveyor-blocked'),
  /** Infrastructure endings (worker lost, outage, no slot) are tried again this many more times, `backoff` apart, then the issue is blocked. */
  retryLater: z.strictObject({ runs: z.number().int().min(0).default(2), backoff: duration.default('30m') }).prefault({}),
  /** A merge refused as not yet mergeable (GitHub still computing, base just moved) is tried again on the same head, `backoff` apart. */
  mergeRetries: z.strictObject({ attempts: z.number().int().min(0).default(5), backoff: duration.default('30s') }).prefault({}),
  /**
   * The most UTF-8 bytes one text from outside (a CI failure summary, all of a PR's failure
   * summaries together, the agent's summary, a comment) may carry into a Temporal payload; a
   * longer one is cut with a note, and logged whole. A byte count or e.g. `16KiB`; parsed to bytes.
   */
  payloadLimit: byteSize.default(DEFAULT_PAYLOAD_LIMIT),
});

/**
 * Conveyor as an agent in Linear (off by default): each agent attempt opens an agent session on
 * the issue and posts its progress there (thoughts, tool calls as actions, the summary as the
 * response, a failure as an error), and stopping the session in Linear aborts the run.
 */
export const agentSessionsSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /** The least time between two posts to one session; thoughts that arrive in between are merged into one. */
  minInterval: duration.default('2s'),
  /** The most progress entries (thoughts and actions) one attempt posts; its response or error is always posted. */
  maxActivities: z.number().int().min(1).default(60),
  /**
   * The Linear app user Conveyor's sessions belong to (the `appUserId` of its AgentSessionEvent
   * webhooks). When set, the gateway obeys a stop only on that user's sessions; when absent, it
   * trusts Linear to send AgentSessionEvents only to the app that owns the session.
   */
  appUserId: z.string().min(1).optional(),
});
export type AgentSessionsConfig = z.infer<typeof agentSessionsSchema>;

export const factorySchema = z.strictObject({
  tracker: z
    .strictObject({
      kind: z.literal('linear').default('linear'),
      /** Override for the sandbox emulator; the real API when absent. */
      apiUrl: z.url().optional(),
      teams: z.array(teamSchema).min(1, { message: 'list at least one team the factory may act on' }),
      /** Users whose `/conveyor …` comments are obeyed (email or name); also who may stop an agent session. */
      operators: z.array(z.string()).default([]),
      agentSessions: agentSessionsSchema.prefault({}),
    }),
  forge: z
    .strictObject({
      kind: z.literal('github').default('github'),
      apiUrl: z.url().optional(),
      gitUrl: z.url().optional(),
    })
    .prefault({}),
  repos: z.array(repoSchema).min(1, { message: 'list at least one repository the factory may push to' }),
  routing: z.array(routeSchema).default([]),
  fleet: z
    .strictObject({
      slots: z.number().int().positive().default(3),
      agentNames: z.array(z.string()).min(1).default(['ada', 'grace', 'linus', 'barbara', 'ken', 'margaret']),
      holderCheckInterval: duration.default('1m'),
      /** A lease older than this is reclaimed even if its run looks open (a wedged run).
       * Absent: 2 × policies.timeouts.agentTotal + 10m (see fleetCapacity). */
      maxLeaseAge: duration.optional(),
    })
    .prefault({}),
  agents: z
    .strictObject({
      default: z.string(),
      providers: z.record(z.string(), agentSchema),
      /**
       * The unprivileged user agents run as: a user name or `uid:gid`. Needed when the worker
       * runs as root (an agent of the same user could read the worker's /proc/<pid>/environ).
       */
      runAs: z.string().min(1).optional(),
      /**
       * How long the runner keeps a finished run's prompt, log and result files (workspaceDir's
       * prompts/, logs/, results/): a run's files go once they are older than `maxAge` or the run
       * is not among the `maxPerIssue` newest of its issue. A running agent's files always stay.
       */
      runFiles: z
        .strictObject({
          maxAge: duration.refine((d) => !isDuration(d) || durationMs(d) >= RUN_FILES_MIN_AGE_MS, { message: 'at least 1h: an escalation points a human at the run\'s log, which must still be there when they read it' }).default('14d'),
          maxPerIssue: z.number({ error: 'expected a whole number of runs, e.g. 20' }).int({ error: 'expected a whole number of runs, e.g. 20' }).min(1, { error: 'at least 1: the newest run\'s log is the one an escalation points to' }).default(20),
        })
        .prefault({}),
    }),
  policies: policiesSchema.prefault({}),
  /** Time limits of the repo's own workspace hooks (`.conveyor/hooks/<name>`); a hook past its limit is killed and fails the step. */
  hooks: z
    .strictObject({
      afterCreate: duration.default('5m'),
      beforeRun: duration.default('5m'),
      afterRun: duration.default('5m'),
      beforeRemove: duration.default('2m'),
    })
    .prefault({}),
  triageAdvisor: triageAdvisorSchema.prefault({}),
  /** Where worktrees and repo mirrors live on the worker host. */
  workspaceDir: z.string().default('.data/workspaces'),
});

export type FactoryConfig = z.infer<typeof factorySchema>;
export type TeamConfig = z.infer<typeof teamSchema>;
export type RepoConfig = z.infer<typeof repoSchema>;
export type RouteConfig = z.infer<typeof routeSchema>;
export type Policies = z.infer<typeof policiesSchema>;
