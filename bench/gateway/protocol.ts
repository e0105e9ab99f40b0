// What the bench's driver (`run.ts`) and the process hosting the server under test
// (`target.ts`) say to each other over the fork IPC channel.

export type TargetKind = 'bare' | 'gateway-no-signal' | 'gateway-temporal';

export type TargetCommand =
  | { op: 'start'; target: 'bare' }
  | { op: 'start'; target: 'gateway-no-signal' }
  | { op: 'start'; target: 'gateway-temporal'; temporal: { address: string; namespace: string }; taskQueue: string }
  | { op: 'stop' }
  | { op: 'exit' };

export type TargetReply =
  | { op: 'ready' }
  | { op: 'started'; url: string }
  /**
   * `signalCalls`: calls that reached the refusing `IssueSignals` of the no-signal gateway.
   * `cpuMicros`: CPU time (user + system) the target process spent between start and stop,
   * which on a shared machine is steadier than requests per second.
   */
  | { op: 'stopped'; signalCalls: number; cpuMicros: number }
  | { op: 'error'; message: string };
