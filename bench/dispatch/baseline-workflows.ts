// Bench-only workflow code, bundled on its own for the baseline's worker and task queue (never
// part of src/workflows): one hop, a signal that starts a bare activity.
import { condition, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';

export interface OneHopActivities {
  /** Does nothing but note, in the bench's process, the moment it started. */
  hop(): Promise<void>;
}

export const goSignal = defineSignal('go');

const { hop } = proxyActivities<OneHopActivities>({ startToCloseTimeout: '1m' });

/** Waits for `go`, then runs the no-op activity: the hop the bench measures. */
export async function oneHopWorkflow(): Promise<void> {
  let go = false;
  setHandler(goSignal, () => {
    go = true;
  });
  await condition(() => go);
  await hop();
}
