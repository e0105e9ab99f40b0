import type { ChecksSummary } from '../../domain/issue.js';

// Folds check runs and commit statuses on one SHA into one verdict, the way branch protection
// would judge the merge: only required checks count when some are required; otherwise every
// check reported on the SHA counts.

export interface CheckRunInput {
  id: number;
  name: string;
  status: string;
  conclusion: string | null;
  output: { title: string | null; summary: string | null };
}

export interface StatusInput {
  id: number;
  context: string;
  state: string;
  description: string | null;
}

type Verdict = { state: 'pending' } | { state: 'success' } | { state: 'failure'; summary: string };

const PASSING_CONCLUSIONS = new Set(['success', 'neutral', 'skipped']);

function fromRun(run: CheckRunInput): Verdict {
  if (run.status !== 'completed') return { state: 'pending' };
  if (run.conclusion && PASSING_CONCLUSIONS.has(run.conclusion)) return { state: 'success' };
  const summary = [run.output.title, run.output.summary].filter((part): part is string => Boolean(part)).join('\n');
  return { state: 'failure', summary: summary || `concluded ${run.conclusion ?? 'without a conclusion'}` };
}

function fromStatus(status: StatusInput): Verdict {
  if (status.state === 'success') return { state: 'success' };
  if (status.state === 'pending') return { state: 'pending' };
  return { state: 'failure', summary: status.description ?? `status ${status.state}` };
}

/** Latest run per name (reruns supersede), latest status per context. */
function verdictsByName(runs: CheckRunInput[], statuses: StatusInput[]): Map<string, Verdict[]> {
  const byName = new Map<string, Verdict[]>();
  const latestRun = new Map<string, CheckRunInput>();
  for (const run of runs) {
    const seen = latestRun.get(run.name);
    if (!seen || run.id > seen.id) latestRun.set(run.name, run);
  }
  const latestStatus = new Map<string, StatusInput>();
  for (const status of statuses) {
    const seen = latestStatus.get(status.context);
    if (!seen || status.id > seen.id) latestStatus.set(status.context, status);
  }
  const add = (name: string, verdict: Verdict): void => {
    byName.set(name, [...(byName.get(name) ?? []), verdict]);
  };
  for (const run of latestRun.values()) add(run.name, fromRun(run));
  for (const status of latestStatus.values()) add(status.context, fromStatus(status));
  return byName;
}

/**
 * `required` null or empty: nothing is required, so every reported check counts; a SHA with no
 * checks at all is pending (CI may not have registered yet), never green by default.
 */
export function foldChecks(sha: string, required: string[] | null, runs: CheckRunInput[], statuses: StatusInput[]): ChecksSummary {
  const byName = verdictsByName(runs, statuses);
  const considered = required && required.length > 0 ? required : [...byName.keys()];
  const failures: ChecksSummary['failures'] = [];
  let pending = considered.length === 0;
  for (const name of considered) {
    const verdicts = byName.get(name);
    if (!verdicts || verdicts.length === 0) {
      pending = true;
      continue;
    }
    const failed = verdicts.find((v): v is Extract<Verdict, { state: 'failure' }> => v.state === 'failure');
    if (failed) failures.push({ name, summary: failed.summary });
    else if (verdicts.some((v) => v.state === 'pending')) pending = true;
  }
  return { sha, state: failures.length > 0 ? 'failure' : pending ? 'pending' : 'success', failures };
}
