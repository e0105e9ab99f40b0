// Every side effect of the issue line, as plain async functions built over injected clients.
// Tests hand in emulator-backed or failing dependencies; nothing here is patched.
import { CancelledFailure, Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { FactoryConfig } from '../config/factory-schema.js';
import { boundText, boundTexts, utf8Length } from '../domain/bounded-text.js';
import { durationMs } from '../domain/duration.js';
import type { ChecksSummary, ReviewSummary, TrackerIssue } from '../domain/issue.js';
import { BRANCH_PREFIX, branchForIssue, issueKeyFromBranch } from '../domain/naming.js';
import { triage } from '../domain/triage.js';
import type { AgentRunner, Workspaces } from '../integrations/agent.js';
import type { Forge } from '../integrations/forge.js';
import type { Tracker } from '../integrations/tracker.js';
import type { AgentFailureDetails, AgentRunInput, LineActivities } from '../workflows/activity-types.js';
import { toActivityFailure } from './failure-classifier.js';
import type { Redactor } from './redact.js';

export interface LineDeps {
  factory: FactoryConfig;
  /** The installation's root: `{root}` in an agent's command is replaced by it. */
  root: string;
  tracker: Tracker;
  forge: Forge;
  workspaces: Workspaces;
  agents: AgentRunner;
  redact: Redactor;
  logger: Logger;
}

export function buildPrompt(input: AgentRunInput): string {
  const { issue } = input;
  const sections = [
    `# ${issue.key}: ${issue.title}`,
    issue.description.trim(),
    ...(input.feedback ? [`## Feedback (attempt ${input.attempt})`, 'The previous attempt was sent back. Address this:', input.feedback] : []),
    '## How to work',
    [
      `You are working in a git worktree of ${input.routing.repo} on branch ${input.branch}.`,
      'Make the change the issue asks for, run what checks you can, and commit your work.',
      'Do not push and do not open a pull request: Conveyor does both when you finish.',
    ].join('\n'),
  ];
  return `${sections.join('\n\n')}\n`;
}

/** How a comment carries its idempotency marker: hidden in the rendered markdown, found by hasComment. */
export function hiddenMarker(marker: string): string {
  return `<!-- conveyor:${marker} -->`;
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

  /** The issue's worktree, fetched over the forge's git URL with its credential (or reused). */
  const prepareWorktree = async (target: { repo: string; branch: string; baseBranch: string; key: string }, reuseWithinMs?: number) =>
    workspaces.prepare({ ...target, cloneUrl: forge.cloneUrl(target.repo), authEnv: await forge.gitAuthEnv(), ...(reuseWithinMs !== undefined ? { reuseWithinMs } : {}) });

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

  return {
    triageIssue: classed('triageIssue', async ({ issueId }) => {
      const issue = await tracker.getIssue(issueId);
      const teamRepo = factory.tracker.teams.find((t) => t.key === issue.team.key)?.repo;
      const existing = teamRepo ? await forge.findPullRequest(teamRepo, branchForIssue(issue.key, issue.id)) : null;
      return triage(issue, factory, existing);
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
      const ctx = Context.current();
      const spec = factory.agents.providers[input.routing.agent];
      if (!spec) throw ApplicationFailure.create({ type: 'logic', nonRetryable: true, message: `agent "${input.routing.agent}" is not configured under agents.providers` });
      // Prepared moments ago by prepareWorkspace on this host: reused instead of fetched again.
      const worktree = await prepareWorktree({ repo: input.routing.repo, branch: input.branch, baseBranch: input.routing.baseBranch, key: input.issue.key }, input.reuseWorkspaceWithinMs);
      // The activity's own deadline bounds the agent; keep a margin to push and report.
      const totalMs = Math.max(1_000, (ctx.info.startToCloseTimeoutMs ?? durationMs('60m')) - 15_000);
      const exit = await agents.run({
        spec: { ...spec, command: spec.command.map((arg) => arg.replaceAll('{root}', deps.root)) },
        worktree,
        prompt: buildPrompt(input),
        idleTimeoutMs: durationMs(input.idleTimeout),
        totalTimeoutMs: totalMs,
        heartbeatMs: durationMs(input.heartbeatInterval),
        onHeartbeat: (progress) => ctx.heartbeat(progress),
        signal: ctx.cancellationSignal,
      });
      switch (exit.status) {
        case 'cancelled':
          throw new CancelledFailure('the run was cancelled; the agent process tree was killed');
        case 'stalled':
        case 'timeout':
        case 'failed': {
          // What the attempt spent travels with its failure: the run counts it for the issue.
          const details: AgentFailureDetails[] = [{ costUsd: exit.costUsd ?? 0 }];
          throw ApplicationFailure.create({ type: `agent-${exit.status}`, nonRetryable: true, message: exit.message, details });
        }
      }
      const done = await workspaces.finalize(worktree, `${input.issue.key}: ${input.issue.title}`);
      // Runs that publish in their own activity get the commits left in the worktree.
      if (done.commitsAhead > 0 && !input.publishSeparately) await forge.pushBranch({ repo: input.routing.repo, worktree: worktree.path, branch: input.branch });
      const summary = exit.summary.trim() || done.subjects.map((s) => `- ${s}`).join('\n');
      return { commits: done.commitsAhead, summary: bound("the agent's summary", redact(summary), 'the worker log', { issue: input.issue.key, agentLog: exit.logFile }), costUsd: exit.costUsd };
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
      await forge.comment(repo, number, bound('PR comment', redact(comment), 'the worker log', { repo, number }));
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
    }),
  };
}
