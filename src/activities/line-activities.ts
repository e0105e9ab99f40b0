// Every side effect of the issue line, as plain async functions built over injected clients.
// Tests hand in emulator-backed or failing dependencies; nothing here is patched.
import { open, type FileHandle } from 'node:fs/promises';
import { CancelledFailure, Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { FactoryConfig } from '../config/factory-schema.js';
import { boundText, boundTexts, utf8Length } from '../domain/bounded-text.js';
import { durationMs } from '../domain/duration.js';
import type { ChecksSummary, ReviewSummary, TrackerIssue } from '../domain/issue.js';
import { BRANCH_PREFIX, branchForIssue, issueKeyFromBranch } from '../domain/naming.js';
import { rm } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { AgentExit, AgentRunner, Workspaces } from '../integrations/agent.js';
import { agentLaunch } from '../integrations/agents/launch.js';
import type { AgentProgress } from '../integrations/agents/stream.js';
import type { Forge } from '../integrations/forge.js';
import type { RepoHooks } from '../integrations/repo-hooks.js';
import { buildRepoPrompt, defaultPrompt } from '../integrations/repo-prompt.js';
import type { AgentSessions, Tracker } from '../integrations/tracker.js';
import type { TriageAdvisor } from '../integrations/triage-advisor/advisor.js';
import type { AgentFailureDetails, AgentHost, AgentRunInput, AgentRunResult, LineActivities } from '../workflows/activity-types.js';
import { createSessionReporter, type SessionEnding, type SessionReporter } from './agent-session-reporter.js';
import { classifyAgentEnding, toActivityFailure } from './failure-classifier.js';
import { createJudge } from './judgement.js';
import type { Redactor } from './redact.js';
import { withTriageAdvice } from './triage-advice.js';

export interface LineDeps {
  factory: FactoryConfig;
  /** The installation's root: `{root}` in an agent's command is replaced by it. */
  root: string;
  tracker: Tracker;
  forge: Forge;
  workspaces: Workspaces;
  agents: AgentRunner;
  /** Model API keys for claude/codex agents, by variable name (each agent gets only its own). */
  agentSecrets?: Record<string, string>;
  redact: Redactor;
  logger: Logger;
  /** The repo's `.conveyor/hooks/*` (after-create, before-run, after-run); absent: none run. */
  hooks?: RepoHooks;
  /** This worker's host and the queue only it polls: an agent's result names it, so the run sends
   * the worktree steps there. Absent: results name no host, and those steps go to any worker. */
  host?: AgentHost;
  /** The LLM triage tier (off by default): suggestions for thin and unroutable escalations. */
  advisor?: TriageAdvisor;
  /** Linear agent sessions (`tracker.agentSessions.enabled`): each agent attempt posts its
   * progress to a session on the issue. Absent: nothing is posted. */
  agentSessions?: AgentSessions;
}

/** What an attempt's ending says in its agent session: a response when it finished or was
 * stopped, an error when it failed, a thought when it was only interrupted and will go on. */
export function sessionEnding(err: unknown, cancellation?: { cancelRequested: boolean; workerShutdown: boolean; timedOut: boolean }): SessionEnding {
  if (err instanceof CancelledFailure) {
    if (cancellation?.workerShutdown) return { type: 'thought', body: 'This worker is shutting down; Temporal gives the attempt to another worker, which goes on in this session.' };
    if (cancellation?.timedOut) return { type: 'error', body: 'The attempt timed out (its worker stopped heartbeating); Temporal retries it, or the run ends it.' };
    return { type: 'response', body: 'Stopped: the run was cancelled (aborted by an operator, or stopped in this session), and the agent\'s process tree was killed. Nothing of this attempt is published.' };
  }
  const message = err instanceof Error ? err.message : String(err);
  // The worker's paths mean nothing in Linear: the log is named, not located.
  const readable = message.replace(/(?:;\s*)?see (\/\S*\/)?([^/\s]+\.log)\.?/g, '; the worker\'s agent log $2 has the details.');
  if (err instanceof ApplicationFailure) return { type: 'error', body: `The agent attempt ended \`${err.type ?? 'failed'}\`: ${readable}` };
  return { type: 'error', body: `The agent attempt failed: ${readable}` };
}

/** The agent session key of one attempt of one run, for the reuse of its session within this worker. */
function attemptKey(workflowId: string, runId: string, attempt: number): string {
  return `${workflowId}/${runId}#${attempt}`;
}

/** How much of the end of an agent's log is read to class its failure: the final events. */
const AGENT_TAIL_BYTES = 64 * 1024;

/** The last `bytes` of a file as text; empty when it cannot be read (the class is then from the exit alone). */
async function readTail(file: string, bytes: number): Promise<string> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, 'r');
    const { size } = await handle.stat();
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } catch {
    return '';
  } finally {
    await handle?.close();
  }
}

/**
 * What a failed agent activity throws: its class (from the exit and the end of its log) as the
 * failure's type, which the run records as ConveyorFailureClass; the rule and the evidence,
 * redacted, in the message. Only a passing cause (rate limit, overload) may be tried again.
 */
export async function agentFailure(exit: Extract<AgentExit, { status: 'failed' }>, redact: Redactor, details?: unknown[]): Promise<ApplicationFailure> {
  const verdict = classifyAgentEnding({ exitCode: exit.exitCode, signal: exit.signal, output: await readTail(exit.logFile, AGENT_TAIL_BYTES) });
  return ApplicationFailure.create({
    type: verdict.failureClass,
    nonRetryable: verdict.failureClass !== 'transient',
    message: `${exit.message} Classed ${verdict.failureClass} (${verdict.rule}): ${redact(verdict.evidence)}`,
    ...(details ? { details } : {}),
  });
}

/** The factory's prompt for a repo without `.conveyor/prompt.md` (see integrations/repo-prompt.ts). */
export function buildPrompt(input: AgentRunInput): string {
  return defaultPrompt({ issue: input.issue, repo: input.routing.repo, branch: input.branch, baseBranch: input.routing.baseBranch, attempt: input.attempt, feedback: input.feedback });
}

/** How a comment carries its idempotency marker: hidden in the rendered markdown, found by hasComment. */
export function hiddenMarker(marker: string): string {
  return `<!-- conveyor:${marker} -->`;
}

/**
 * The end of a hidden marker whatever comes before `marker`: the issue workflow prefixes its
 * markers with the run chain's id, and this finds the comment of any run of the issue.
 */
export function hiddenMarkerTail(marker: string): string {
  return `:${marker} -->`;
}

/** A failed check's name is a label, not a log: long ones are cut hard. */
const MAX_NAME_BYTES = 256;
/** The smallest share of the limit worth giving one text of a list; texts past it are counted, not listed. */
const MIN_SHARE_BYTES = 1024;

function prBody(issue: TrackerIssue, summary: string): string {
  return [`Resolves [${issue.key}](${issue.url}): ${issue.title}`, '', '## Summary', summary || '(no summary)', '', '---', '_Opened by Conveyor. The agent wrote the commits; Conveyor pushed the branch._'].join('\n');
}

export function createLineActivities(deps: LineDeps): LineActivities {
  const { tracker, forge, workspaces, agents, redact, factory } = deps;
  const limit = factory.policies.payloadLimit;
  const judge = createJudge({ tracker, forge, factory });
  /** Where a claude/codex agent's HOME and sessions live across the issue's runs (named as its worktree). */
  const agentStateDir = (worktreeName: string) => resolve(deps.root, factory.workspaceDir, 'agent-state', worktreeName);

  /** Failures leave as classed ApplicationFailures, with secrets scrubbed from the message. */
  const classed =
    <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } catch (err) {
        if (err instanceof CancelledFailure) throw err;
        const failure = toActivityFailure(err, redact);
        deps.logger.warn({ activity: name, failureClass: failure.type, err: failure.message }, 'activity failed');
        throw failure;
      }
    };

  /** A hook heartbeats its activity and dies with it; `details` keeps what the activity must not lose (its agent session). */
  const hookLink = (details: () => Record<string, unknown> = () => ({})) => {
    const ctx = Context.current();
    return { signal: ctx.cancellationSignal, onHeartbeat: () => ctx.heartbeat({ hook: true, ...details() }) };
  };

  /** Sessions opened by this worker, per run and attempt: a retry on this host finds its session even if no heartbeat recorded it. */
  const openedSessions = new Map<string, string>();
  const sessionsConfig = factory.tracker.agentSessions;

  /** The attempt's agent session reporter, or null when sessions are off. Reuses the session an earlier try opened. */
  const sessionReporter = (input: AgentRunInput): SessionReporter | null => {
    if (!deps.agentSessions) return null;
    const ctx = Context.current();
    const execution = ctx.info.workflowExecution;
    const key = attemptKey(execution?.workflowId ?? input.workflowId, execution?.runId ?? '', input.attempt);
    const recorded = (ctx.info.heartbeatDetails as { agentSessionId?: unknown } | undefined)?.agentSessionId;
    const existing = typeof recorded === 'string' ? recorded : (openedSessions.get(key) ?? null);
    if (openedSessions.size > 1000) openedSessions.clear();
    return createSessionReporter({
      sessions: deps.agentSessions,
      issueId: input.issue.id,
      issueKey: input.issue.key,
      existingSessionId: existing,
      intro: `Conveyor's agent ${input.agentName} is working on ${input.issue.key} in ${input.routing.repo} on \`${input.branch}\` (attempt ${input.attempt}${ctx.info.attempt > 1 ? `, try ${ctx.info.attempt}` : ''})${input.feedback ? ', with feedback from CI or review' : ''}.`,
      redact,
      logger: deps.logger,
      minIntervalMs: durationMs(sessionsConfig.minInterval),
      maxActivities: sessionsConfig.maxActivities,
      onSession: (id) => {
        openedSessions.set(key, id);
        ctx.heartbeat({ agentSessionId: id });
      },
    });
  };

  /** The issue's worktree, fetched over the forge's git URL with its credential (or reused). */
  const prepareWorktree = async (target: { repo: string; branch: string; baseBranch: string; key: string }, reuseWithinMs?: number, details?: () => Record<string, unknown>) => {
    const worktree = await workspaces.prepare({ ...target, cloneUrl: forge.cloneUrl(target.repo), authEnv: await forge.gitAuthEnv(), ...(reuseWithinMs !== undefined ? { reuseWithinMs } : {}) });
    if (!worktree.reused) await deps.hooks?.run('after-create', { worktree: worktree.path, branch: worktree.branch, issueKey: target.key, ...hookLink(details) });
    return worktree;
  };

  /** Starts preparing the worktree a coming dispatch needs (see Workspaces.prepareAhead); never fails the caller. */
  const prepareAheadFor = (target: { repo: string; branch: string; baseBranch: string; key: string }): void => {
    if (!workspaces.prepareAhead) return;
    forge.gitAuthEnv().then(
      (authEnv) => workspaces.prepareAhead?.({ ...target, cloneUrl: forge.cloneUrl(target.repo), authEnv }),
      (err: unknown) => deps.logger.info({ repo: target.repo, err: String(err) }, 'no git credential to prepare the worktree ahead; the agent activity prepares it'),
    );
  };

  /** Logs the whole text (redacted) when a bound cut it, so the note's "worker log" is true. */
  const logCut = (what: string, full: string, bounded: string, fields: Record<string, unknown> = {}): void => {
    if (bounded === full) return;
    deps.logger.info({ ...fields, what, bytes: utf8Length(full), limit, fullText: redact(full) }, `${what} was cut to policies.payloadLimit; the whole text follows`);
  };

  /** One text bound to the limit; the whole of it logged when cut. */
  const bound = (what: string, text: string, fullTextAt = 'the worker log', fields: Record<string, unknown> = {}): string => {
    const bounded = boundText(text, limit, fullTextAt);
    logCut(what, text, bounded, fields);
    return bounded;
  };

  /** How many texts of a list are kept: as many as can each have a useful share of the limit. */
  const listed = Math.max(1, Math.floor(limit / MIN_SHARE_BYTES));
  /** Room for the line that counts what was not listed. */
  const omittedLineBytes = 256;

  /**
   * Texts that travel in one payload, bound to `budget` bytes together (each cut to its share,
   * see boundTexts); the whole of each cut or unlisted text is logged.
   */
  const boundList = (what: string, texts: string[], budget: number, fullTextAt: string, fields: Record<string, unknown>): string[] => {
    const kept = boundTexts(texts.slice(0, listed), budget, fullTextAt);
    texts.forEach((text, index) => logCut(`${what} ${index + 1} of ${texts.length}`, text, kept[index] ?? '', fields));
    return kept;
  };

  /** CI failures: each summary and all of them together (names included) within the limit. */
  const boundChecks = (checks: ChecksSummary, fullTextAt: string, fields: Record<string, unknown>): ChecksSummary => {
    if (checks.failures.length === 0) return checks;
    const shown = checks.failures.slice(0, listed);
    const omitted = checks.failures.length - shown.length;
    const names = shown.map((f) => boundText(f.name, MAX_NAME_BYTES));
    // At most a quarter of the limit each (see MIN_SHARE_BYTES): the summaries keep half or more.
    const budget = limit - names.reduce((sum, name) => sum + utf8Length(name), 0) - (omitted > 0 ? omittedLineBytes : 0);
    const summaries = boundList('CI failure summary', checks.failures.map((f) => f.summary), budget, fullTextAt, fields);
    const failures = shown.map((_, index) => ({ name: names[index]!, summary: summaries[index]! }));
    if (omitted > 0) failures.push({ name: `${omitted} more failed checks`, summary: `not listed here; see ${fullTextAt}` });
    return { ...checks, failures };
  };

  /** Change requests are people's words, and as unbounded as a CI log: the same rule. */
  const boundReview = (review: ReviewSummary, fullTextAt: string, fields: Record<string, unknown>): ReviewSummary => {
    if (review.requestedChanges.length === 0) return review;
    const omitted = Math.max(0, review.requestedChanges.length - listed);
    const kept = boundList('change request', review.requestedChanges, limit - (omitted > 0 ? omittedLineBytes : 0), fullTextAt, fields);
    return { ...review, requestedChanges: omitted > 0 ? [...kept, `… ${omitted} more change requests; see ${fullTextAt}`] : kept };
  };

  /** One agent attempt: worktree, prompt, hooks, the agent, and its commits; `reporter` (when sessions are on) hears its progress. */
  const runAgentAttempt = async (input: AgentRunInput, reporter: SessionReporter | null): Promise<AgentRunResult> => {
    const ctx = Context.current();
    // Every heartbeat keeps the attempt's agent session, so a retry of the activity posts to the same one.
    const sessionDetails = (): Record<string, unknown> => {
      const id = reporter?.sessionId() ?? null;
      return id === null ? {} : { agentSessionId: id };
    };
    const provider = factory.agents.providers[input.routing.agent];
    if (!provider) throw ApplicationFailure.create({ type: 'logic', nonRetryable: true, message: `agent "${input.routing.agent}" is not configured under agents.providers` });
    // Prepared moments ago on this host (by prepareWorkspace, or ahead by triage): taken instead of fetched again.
    const worktree = await prepareWorktree({ repo: input.routing.repo, branch: input.branch, baseBranch: input.routing.baseBranch, key: input.issue.key }, input.reuseWorkspaceWithinMs, sessionDetails);
    // The activity's own deadline bounds the agent; keep a margin to push and report.
    const totalMs = Math.max(1_000, (ctx.info.startToCloseTimeoutMs ?? durationMs('60m')) - 15_000);
    const launch = await agentLaunch(provider, {
      root: deps.root,
      stateDir: agentStateDir(basename(worktree.path)),
      secrets: deps.agentSecrets ?? {},
      resumeSessionId: input.resumeSessionId ?? null,
    });
    const hookContext = { worktree: worktree.path, branch: worktree.branch, issueKey: input.issue.key, ...hookLink(sessionDetails) };
    const prompt = await buildRepoPrompt(worktree.path, { issue: input.issue, repo: input.routing.repo, branch: input.branch, baseBranch: input.routing.baseBranch, attempt: input.attempt, feedback: input.feedback }, (fields, message) => deps.logger.warn(fields, message));
    await deps.hooks?.run('before-run', hookContext);
    const exit = await agents.run({
      spec: launch.spec,
      budgetUsd: input.budgetRemainingUsd ?? null,
      worktree,
      prompt,
      idleTimeoutMs: durationMs(input.idleTimeout),
      totalTimeoutMs: totalMs,
      heartbeatMs: durationMs(input.heartbeatInterval),
      onHeartbeat: (progress) => ctx.heartbeat({ ...progress, ...sessionDetails() }),
      // Paths in the worktree read as the repo's own (docs/notes.md), not the worker's folders.
      ...(reporter ? { onProgress: (progress: AgentProgress) => reporter.progress(progress.kind === 'action' ? { ...progress, parameter: progress.parameter.replaceAll(`${worktree.path}/`, '') } : progress) } : {}),
      signal: ctx.cancellationSignal,
      ...(ctx.info.workflowExecution ? { owner: { workflowId: ctx.info.workflowExecution.workflowId, runId: ctx.info.workflowExecution.runId, activityId: ctx.info.activityId, attempt: ctx.info.attempt, taskQueue: ctx.info.taskQueue } } : {}),
    });
    await launch.afterRun?.(exit).catch((err: unknown) => deps.logger.warn({ err: String(err) }, 'could not record the agent session for the next run'));
    switch (exit.status) {
      case 'cancelled':
        throw new CancelledFailure('the run was cancelled; the agent process tree was killed');
      case 'stalled':
      case 'timeout': {
        // What the attempt spent travels with its failure: the run counts it for the issue.
        const details: AgentFailureDetails[] = [{ costUsd: exit.costUsd ?? 0 }];
        throw ApplicationFailure.create({ type: `agent-${exit.status}`, nonRetryable: true, message: exit.message, details });
      }
      case 'budget-exceeded':
        throw ApplicationFailure.create({ type: 'budget-exceeded', nonRetryable: true, message: exit.message, details: [{ costUsd: exit.costUsd, tokens: exit.tokens ?? null, sessionId: exit.sessionId ?? null }] });
      case 'failed': {
        // The spend of a failed attempt travels in the details, so the issue's ledger can count it.
        const details = [{ costUsd: exit.costUsd ?? 0, tokens: exit.tokens ?? null, sessionId: exit.sessionId ?? null }];
        // The model refused or failed (the CLI said so in its stream): a revoked key never
        // heals by retrying; a rate limit, an overload or a cut stream may.
        const modelClass = exit.modelError?.failureClass;
        if (modelClass === 'auth') throw ApplicationFailure.create({ type: 'auth', nonRetryable: true, message: redact(exit.message), details });
        if (modelClass === 'transient') throw ApplicationFailure.create({ type: 'transient', message: redact(exit.message), details });
        // Otherwise the class comes from the exit and the end of the log; it is the failure's
        // type, which the run records (ConveyorFailureClass); the outcome stays agent-failed.
        const failure = await agentFailure(exit, redact, details);
        deps.logger.warn({ issue: input.issue.key, failureClass: failure.type, agentLog: exit.logFile }, 'agent failed');
        throw failure;
      }
    }
    await deps.hooks?.run('after-run', hookContext);
    const done = await workspaces.finalize(worktree, `${input.issue.key}: ${input.issue.title}`);
    // Runs that publish in their own activity get the commits left in the worktree.
    if (done.commitsAhead > 0 && !input.publishSeparately) await forge.pushBranch({ repo: input.routing.repo, worktree: worktree.path, branch: input.branch });
    const summary = exit.summary.trim() || done.subjects.map((s) => `- ${s}`).join('\n');
    return { commits: done.commitsAhead, summary: bound("the agent's summary", redact(summary), 'the worker log', { issue: input.issue.key, agentLog: exit.logFile }), costUsd: exit.costUsd, sessionId: exit.sessionId ?? null, tokens: exit.tokens ?? null, ...(deps.host ? { host: deps.host } : {}) };
  };

  return {
    triageIssue: classed('triageIssue', async ({ issueId }) => {
      const result = await judge.triageIssue(issueId);
      // Ready: its worktree is prepared now, while the run claims a slot and schedules the agent.
      if (result.decision === 'dispatch' && result.issue && result.routing) {
        prepareAheadFor({ repo: result.routing.repo, branch: branchForIssue(result.issue.key, result.issue.id), baseBranch: result.routing.baseBranch, key: result.issue.key });
      }
      if (!deps.advisor) return result;
      return withTriageAdvice(result, {
        advisor: deps.advisor,
        hasEscalationComment: (id, marker) => tracker.hasComment(id, hiddenMarkerTail(marker)),
        logger: deps.logger.child({ part: 'triage-advisor' }),
        redact,
      });
    }),

    moveIssue: classed('moveIssue', ({ issueId, stateName }) => tracker.moveIssue(issueId, stateName)),

    commentOnIssue: classed('commentOnIssue', async ({ issueId, body, marker }) => {
      const text = bound('issue comment', redact(body), 'the worker log', { issueId });
      if (!marker) return tracker.comment(issueId, text);
      const hidden = hiddenMarker(marker);
      // An earlier attempt may have posted it and timed out before it could say so.
      if (await tracker.hasComment(issueId, hidden)) return;
      await tracker.comment(issueId, `${text}\n\n${hidden}`);
    }),

    relabelIssue: classed('relabelIssue', async ({ issueId, add, remove }) => {
      for (const label of add) await tracker.addLabel(issueId, label);
      for (const label of remove) await tracker.removeLabel(issueId, label);
    }),

    runAgent: classed('runAgent', async (input) => {
      const reporter = sessionReporter(input);
      try {
        const result = await runAgentAttempt(input, reporter);
        if (reporter) await reporter.finish({ type: 'response', body: `${result.summary || '(no summary)'}\n\n${result.commits} commit${result.commits === 1 ? '' : 's'} on \`${input.branch}\`; Conveyor opens the pull request.` });
        return result;
      } catch (err) {
        if (reporter) await reporter.finish(sessionEnding(err, Context.current().cancellationDetails));
        throw err;
      }
    }),

    publishPullRequest: classed('publishPullRequest', async ({ issue, routing, branch, summary, push }) => {
      if (push) {
        // The worktree as the agent left it: found, never prepared (a prepare would reset it).
        const worktree = await workspaces.find({ repo: routing.repo, branch, key: issue.key });
        if (!worktree) {
          throw ApplicationFailure.create({
            type: 'logic',
            nonRetryable: true,
            message: `the worktree of ${branch} is not on this host, so the agent's unpushed commits cannot be published from here; run the worker that ran the agent, or re-add the label to start over`,
          });
        }
        await forge.pushBranch({ repo: routing.repo, worktree: worktree.path, branch });
      }
      return forge.openPullRequest({ repo: routing.repo, head: branch, base: routing.baseBranch, title: `${issue.key}: ${issue.title}`, body: bound('PR body', redact(prBody(issue, summary)), 'the worker log', { issue: issue.key }) });
    }),

    readPullRequest: classed('readPullRequest', async ({ repo, number, baseRef }) => {
      const pr = await forge.getPullRequest(repo, number);
      const [checks, review] = await Promise.all([forge.getChecks(repo, pr.headSha, baseRef), forge.getReviews(repo, number, pr.headSha)]);
      // Failure summaries and review bodies have no natural bound, and this result travels into
      // the run's state, the agent's input and the continue-as-new input: past Temporal's blob
      // limit the server would fail the run before its release station ran.
      const fields = { repo, number, sha: checks.sha };
      return { pr, checks: boundChecks(checks, `the worker log and the checks of ${repo}#${number}`, fields), review: boundReview(review, `the worker log and the reviews of ${repo}#${number}`, fields) };
    }),

    mergePullRequest: classed('mergePullRequest', ({ repo, number, sha }) => forge.merge(repo, number, sha)),

    closePullRequest: classed('closePullRequest', async ({ repo, number, comment }) => {
      // The factory closes a PR once: its closing comment is marked by the PR, so an attempt that
      // timed out after GitHub took the comment is retried, finds it, and only closes.
      const hidden = hiddenMarker(`close:${repo}#${number}`);
      if (!(await forge.hasComment(repo, number, hidden))) {
        await forge.comment(repo, number, `${bound('PR comment', redact(comment), 'the worker log', { repo, number })}\n\n${hidden}`);
      }
      await forge.closePullRequest(repo, number);
    }),

    deleteBranch: classed('deleteBranch', async ({ repo, branch }) => {
      // Only ever a factory branch: a bug upstream must not be able to delete main.
      if (!branch.startsWith(BRANCH_PREFIX)) throw ApplicationFailure.create({ type: 'logic', nonRetryable: true, message: `refusing to delete ${branch}: not a factory branch` });
      await forge.deleteBranch(repo, branch);
    }),

    prepareWorkspace: classed('prepareWorkspace', async ({ repo, branch, baseBranch, issueKey }) => {
      await prepareWorktree({ repo, branch, baseBranch, key: issueKey });
    }),

    cleanupWorkspace: classed('cleanupWorkspace', async ({ branch, repo }) => {
      const key = issueKeyFromBranch(branch);
      if (key) await workspaces.remove({ repo, branch, key });
      // The agent CLI's sessions were kept for re-dispatches; the issue's line is over.
      if (key) await rm(agentStateDir(key.toLowerCase()), { recursive: true, force: true });
    }),
  };
}
