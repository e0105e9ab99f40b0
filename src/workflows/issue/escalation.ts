// After the limit of re-dispatches: escalate once and wait for an operator's `/conveyor retry`.
import { durationMs } from '../../domain/duration.js';
import type { Run } from './run.js';

/** True when an operator asked for another round, false when the escalation timed out. */
export async function escalateRedispatchLimit(run: Run): Promise<boolean> {
  const { state, policy } = run;
  run.note('escalated', `re-dispatched ${state.redispatches} times; still failing`);
  // Marked by the agent run it follows: a continuation mid-wait does not post it again.
  await run.commentOnce(
    `redispatch-limit:${state.attempts}`,
    `Conveyor stopped re-dispatching after ${state.redispatches} attempts. Last feedback:\n\n${state.feedback ?? '(none)'}\n\nComment \`/conveyor retry\` to try again.`,
  );
  state.waits.escalationDeadlineAt ??= Date.now() + durationMs(policy.timeouts.escalation);
  if (run.endingsFinal) run.accept({ retry: 'the agent is re-dispatched with the last feedback' });
  for (;;) {
    if (!(await run.waitUntil(() => state.operatorQueue.length > 0, state.waits.escalationDeadlineAt))) return false;
    if (run.takeCommand()!.command === 'retry') {
      state.waits.escalationDeadlineAt = null;
      state.redispatches = 0;
      if (run.endingsFinal) run.accept(null);
      return true;
    }
  }
}
