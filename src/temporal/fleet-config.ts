// One fleet configuration per task queue: its fingerprint, and what differs between two, said
// in the words of factory.yaml so an operator knows which key to change.
import { createHash } from 'node:crypto';
import type { FleetCapacity } from '../workflows/messages.js';

/** JSON with object keys sorted at every level; arrays keep their order (agent names are tried in order). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function fleetFingerprint(capacity: FleetCapacity): string {
  return createHash('sha256').update(canonicalJson(capacity)).digest('hex');
}

export interface FleetChange {
  /** The factory.yaml key, e.g. `fleet.slots` or `repos[acme/widgets].slots`. */
  key: string;
  from: string;
  to: string;
}

const CONFIG_KEYS: Record<Exclude<keyof FleetCapacity, 'repoSlots'>, string> = {
  globalSlots: 'fleet.slots',
  agentNames: 'fleet.agentNames',
  holderCheckInterval: 'fleet.holderCheckInterval',
  maxLeaseAge: 'fleet.maxLeaseAge',
};

const show = (value: unknown) => (value === undefined ? '(unset)' : typeof value === 'string' ? value : JSON.stringify(value));

/** What changes going from `from` (the running fleet's; unknown for a fleet started by older code) to `to`. */
export function fleetChanges(from: Partial<FleetCapacity> | undefined, to: FleetCapacity): FleetChange[] {
  const changes: FleetChange[] = [];
  for (const [field, key] of Object.entries(CONFIG_KEYS) as Array<[keyof typeof CONFIG_KEYS, string]>) {
    if (canonicalJson(from?.[field]) !== canonicalJson(to[field])) changes.push({ key, from: show(from?.[field]), to: show(to[field]) });
  }
  const repos = [...new Set([...Object.keys(from?.repoSlots ?? {}), ...Object.keys(to.repoSlots)])].sort();
  for (const repo of repos) {
    const before = from?.repoSlots?.[repo];
    const after = to.repoSlots[repo];
    if (before !== after) changes.push({ key: `repos[${repo}].slots`, from: show(before), to: show(after) });
  }
  return changes;
}

export function formatChanges(changes: FleetChange[]): string {
  return changes.map((c) => `  - ${c.key}: ${c.from} → ${c.to}`).join('\n');
}

/** A worker whose fleet configuration differs from the running fleet's: it must not start. */
export class FleetConfigMismatchError extends Error {
  override readonly name = 'FleetConfigMismatchError';

  constructor(
    readonly taskQueue: string,
    readonly changes: FleetChange[],
    running: { fingerprint: string | null; configuredBy: string | null },
  ) {
    super(
      [
        `The fleet of task queue ${taskQueue} runs another configuration (fingerprint ${running.fingerprint?.slice(0, 12) ?? 'unknown'}${running.configuredBy ? `, set by ${running.configuredBy}` : ''}) than this worker's:`,
        formatChanges(changes),
        'All workers on a task queue run one fleet configuration, so this worker does not start.',
        'To change the fleet deliberately, run `conveyor fleet apply` with this configuration, then start the worker again;',
        "otherwise give this worker the fleet's configuration (see `conveyor fleet show`).",
      ].join('\n'),
    );
  }
}
