// How a long-running process stops on SIGTERM or SIGINT: the first signal starts the drain; a
// second one exits at once; a hard deadline exits whatever is still running. Signals that
// arrive together with the first (a terminal's Ctrl-C reaches npm, tsx and node, and npm and
// tsx pass it on again) are the same request, not a second one.
export type StopReason = 'second-signal' | 'deadline';

export interface GracefulStopOptions {
  /** Called once, on the first signal: stop polling and let in-flight work finish or cancel. */
  drain(signal: NodeJS.Signals): void;
  /** Called at most once, on a second signal or at the deadline: kill what is left and exit. */
  exitNow(reason: StopReason, signal: NodeJS.Signals): void | Promise<void>;
  /** From the first signal to `exitNow('deadline')`. */
  deadlineMs: number;
  /** Signals this soon after the first are relays of it (default 500 ms). */
  relayWindowMs?: number;
}

export interface GracefulStop {
  /** When the first signal came (ms since epoch), or null. */
  readonly requestedAt: number | null;
  /** Resolves with the first signal. */
  readonly requested: Promise<NodeJS.Signals>;
  dispose(): void;
}

export function gracefulStop(options: GracefulStopOptions): GracefulStop {
  const relayWindowMs = options.relayWindowMs ?? 500;
  let requestedAt: number | null = null;
  let exiting = false;
  let deadline: NodeJS.Timeout | undefined;
  let resolveRequested!: (signal: NodeJS.Signals) => void;
  const requested = new Promise<NodeJS.Signals>((resolve) => (resolveRequested = resolve));

  const exitNow = (reason: StopReason, signal: NodeJS.Signals) => {
    if (exiting) return;
    exiting = true;
    void Promise.resolve(options.exitNow(reason, signal));
  };
  const on = (signal: NodeJS.Signals) => {
    if (requestedAt === null) {
      requestedAt = Date.now();
      // Unref'd: a drain that finishes early must not be kept waiting for it.
      deadline = setTimeout(() => exitNow('deadline', signal), options.deadlineMs);
      deadline.unref();
      resolveRequested(signal);
      options.drain(signal);
    } else if (Date.now() - requestedAt > relayWindowMs) {
      exitNow('second-signal', signal);
    }
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    get requestedAt() {
      return requestedAt;
    },
    requested,
    dispose() {
      clearTimeout(deadline);
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

/** The conventional exit status of a process ended by `signal`. */
export function signalExitCode(signal: NodeJS.Signals): number {
  const number = ({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTERM: 15 } as Partial<Record<NodeJS.Signals, number>>)[signal];
  return number === undefined ? 1 : 128 + number;
}
