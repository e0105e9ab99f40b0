// The schema of `instance/factory.yaml`: this installation's teams, repos, routing, policies
// and agents. Every default named in DESIGN.md's "Domain and defaults" lives here.
import { z } from 'zod';
import { DEFAULT_PAYLOAD_LIMIT } from '../domain/bounded-text.js';
import { BYTE_SIZE_HINT, parseByteSize } from '../domain/byte-size.js';
import { isDuration } from '../domain/duration.js';

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

export const teamSchema = z.strictObject({
  key: z.string().min(1),
  /** Where issues of this team go unless a routing rule says otherwise. */
  repo: repoName,
  /** A state name that also counts as ready; any state of type `unstarted` always does. */
  readyState: z.string().default('Todo'),
  inProgressState: z.string().default('In Progress'),
  inReviewState: z.string().default('In Review'),
  doneState: z.string().default('Done'),
});

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
});

export const routeSchema = z.strictObject({
  team: z.string().optional(),
  project: z.string().optional(),
  label: z.string().optional(),
  repo: repoName,
  agent: z.string().optional(),
});

export const agentSchema = z.strictObject({
  /** argv of the agent CLI; `{promptFile}`, `{resultFile}`, `{worktree}` and `{root}` (the installation) are substituted. */
  command: z.array(z.string()).min(1),
  /** Extra environment for the agent. The process gets nothing else but PATH, HOME and LANG. */
  env: z.record(z.string(), z.string()).default({}),
});

export const policiesSchema = z.strictObject({
  timeouts: z
    .strictObject({
      agentIdle: duration.default('10m'),
      agentTotal: duration.default('60m'),
      prOpen: duration.default('5m'),
      ci: duration.default('60m'),
      review: duration.default('7d'),
      escalation: duration.default('14d'),
      /** How long an issue may wait for an agent slot before the run ends as `queue-timeout`. */
      queue: duration.default('24h'),
      heartbeat: duration.default('30s'),
    })
    .prefault({}),
  maxRedispatch: z.number().int().min(0).default(3),
  /** How often the reconcile sweep looks for ready issues without a run and PRs whose events were lost. */
  sweepInterval: duration.default('5m'),
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

export const factorySchema = z.strictObject({
  tracker: z
    .strictObject({
      kind: z.literal('linear').default('linear'),
      /** Override for the sandbox emulator; the real API when absent. */
      apiUrl: z.url().optional(),
      teams: z.array(teamSchema).min(1, { message: 'list at least one team the factory may act on' }),
      /** Users whose `/conveyor …` comments are obeyed (email or name). */
      operators: z.array(z.string()).default([]),
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
    }),
  policies: policiesSchema.prefault({}),
  /** Where worktrees and repo mirrors live on the worker host. */
  workspaceDir: z.string().default('.data/workspaces'),
});

export type FactoryConfig = z.infer<typeof factorySchema>;
export type TeamConfig = z.infer<typeof teamSchema>;
export type RepoConfig = z.infer<typeof repoSchema>;
export type Policies = z.infer<typeof policiesSchema>;
