// Holding one issue: an operator's `/conveyor hold` stops the issue before its next agent start,
// without touching any other issue or the fleet; `/conveyor release` lets it go on. A held issue
// waits before it asks the fleet for a slot, so it holds none.
import { durationMs } from '../../domain/duration.js';
import type { OperatorCommand } from '../messages.js';
import type { IssueRunState } from '../state.js';
import type { Ending, Run } from './run.js';

/** What a hold or release command does to the run's state, and the reply that says so. */
export function applyHoldCommand(state: IssueRunState, command: OperatorCommand, at: string): string {
  const from = `\`/conveyor ${command.command}\` from ${command.by}`;
  const hold = state.hold ?? null;
  if (command.command === 'hold') {
    if (hold) return `${from}: the issue is already held by ${hold.by} (since ${hold.at}); nothing changed.`;
    state.hold = { by: command.by, at };
    const running = state.phase === 'dispatched' || state.phase === 'awaiting-pr';
    return `${from}: accepted; no agent starts for this issue until \`/conveyor release\`${running ? ' (the agent already running finishes its attempt)' : ''}.`;
  }
  if (!hold) return `${from}: refused; the issue is not held. Nothing was kept for later.`;
  state.hold = null;
  return `${from}: accepted; the hold by ${hold.by} is lifted and the issue goes on.`;
}

/** Before an agent starts: waits while the issue is held. An ending when nobody releases it in time. */
export async function waitWhileHeld(run: Run): Promise<Ending | null> {
  const { state, policy } = run;
  if (!state.hold) return null;
  // Runs started before holds existed carry no hold timeout: the escalation window is the longest human wait they know.
  const timeout = policy.timeouts.hold ?? policy.timeouts.escalation;
  // Set once per hold: a continuation keeps it.
  state.waits.holdDeadlineAt ??= Date.now() + durationMs(timeout);
  run.note('held', `held by ${state.hold.by}; no agent starts until /conveyor release`);
  const released = await run.waitUntil(() => !state.hold, state.waits.holdDeadlineAt);
  if (!released) {
    const hold = state.hold!;
    return { outcome: 'hold-timeout', reason: `held by ${hold.by} since ${hold.at} and not released within ${timeout}` };
  }
  state.waits.holdDeadlineAt = null;
  run.remember('held', 'released; the issue goes on');
  return null;
}
