// Bench-only workflow code, bundled on its own for the baseline's worker and task queue (never
// part of src/workflows): the raw signal-with-start an issue run is measured against.
import { condition, defineSignal, proxySinks, setHandler, type Sinks } from '@temporalio/workflow';

export const readySignal = defineSignal<[string]>('ready');

export interface BaselineSinks extends Sinks {
  bench: {
    /** Called once the run has taken its starting signal: the moment the baseline counts. */
    handled(deliveryId: string): void;
  };
}

const { bench } = proxySinks<BaselineSinks>();

/** Takes the signal it was started with, tells the bench, and ends (a closed run holds no cache). */
export async function bareSignalWorkflow(): Promise<void> {
  let delivery: string | null = null;
  setHandler(readySignal, (deliveryId) => {
    delivery = deliveryId;
  });
  await condition(() => delivery !== null);
  bench.handled(delivery!);
}
