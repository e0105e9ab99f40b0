// One issue, one run: triage → dispatch → await PR → merge gate → close → release.
// Deterministic and free of I/O: every side effect is an activity, every wait has a deadline
// with a named outcome, and the release station runs whatever ends the run. The run's place
// on the line (`state.station`) and everything its waits need travel across continue-as-new.
import { CancellationScope, allHandlersFinished, condition, continueAsNew, isCancellation } from '@temporalio/workflow';
import type { IssueRunInput } from '../input.js';
import type { IssueRunState } from '../state.js';
import { dispatch, publish } from './dispatch.js';
import { escalateRedispatchLimit } from './escalation.js';
import { mergeGate } from './gate.js';
import { close, release } from './release.js';
import { ContinueAsNewRequested, startRun, type Ending, type Run } from './run.js';
import { settle } from './settle.js';
import { triage } from './triage.js';

export async function issueWorkflow(input: IssueRunInput): Promise<IssueRunState> {
  const run = startRun(input);
  const { state } = run;
  let ending: Ending;
  let cancelledByTemporal: unknown = null;
  try {
    ending = await run.scope.run(async () => {
      const ended = await walkTheLine(run);
      await close(run, ended);
      return ended;
    });
  } catch (err) {
    if (err instanceof ContinueAsNewRequested) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof issueWorkflow>({ ...input, resume: state });
    }
    if (isCancellation(err)) {
      if (run.abortBy === null) cancelledByTemporal = err;
      ending = { outcome: 'aborted', reason: run.abortBy ? `aborted by ${run.abortBy}` : 'the run was cancelled' };
    } else {
      const failureClass = run.recordFailure(err);
      ending = { outcome: 'failed', reason: `${failureClass} failure: ${state.reason}` };
    }
  }
  state.outcome = ending.outcome;
  state.reason = ending.reason;
  if (run.endingsFinal) {
    // Settling may block the issue, or wait out a backoff and try again as a new run.
    const settled = await CancellationScope.nonCancellable(() => settle(run, ending));
    if (settled.next === 'retry') {
      await condition(allHandlersFinished);
      return continueAsNew<typeof issueWorkflow>({ ...input, resume: settled.resume });
    }
  } else {
    await CancellationScope.nonCancellable(() => release(run, ending.outcome));
  }
  run.note('done', `${state.outcome}: ${state.reason}`);
  await condition(allHandlersFinished);
  if (cancelledByTemporal) throw cancelledByTemporal;
  return state;
}

/** The stations in order, starting where the run (or the run it continues) stood. */
async function walkTheLine(run: Run): Promise<Ending> {
  const { state, policy } = run;
  if (state.station === 'triage') {
    const stop = await triage(run);
    if (stop) return stop;
    state.station = 'dispatch';
  }
  for (;;) {
    if (state.station === 'dispatch') {
      const stop = await dispatch(run);
      if (stop) return stop;
      state.station = state.unpublished ? 'publish' : 'gate';
    }
    if (state.station === 'publish') {
      const published = await publish(run);
      if (published && 'outcome' in published) return published;
      if (published) {
        // The host holding the agent's commits is gone: the agent goes again, like a gate's re-dispatch.
        state.feedback = published.redispatch;
        state.station = state.redispatches >= policy.maxRedispatch ? 'redispatch-escalation' : 'dispatch';
      } else {
        state.station = 'gate';
      }
    }
    if (state.station === 'gate') {
      const gate = await mergeGate(run);
      if ('outcome' in gate) return gate;
      state.feedback = gate.redispatch;
      state.station = state.redispatches >= policy.maxRedispatch ? 'redispatch-escalation' : 'dispatch';
    }
    if (state.station === 'redispatch-escalation') {
      if (!(await escalateRedispatchLimit(run))) {
        return { outcome: 'redispatch-limit', reason: `still failing after ${policy.maxRedispatch} re-dispatches and nobody asked for a retry` };
      }
    }
    state.redispatches += 1;
    state.station = 'dispatch';
    run.note('dispatched', `re-dispatching with feedback (${state.redispatches}/${policy.maxRedispatch})`);
  }
}
