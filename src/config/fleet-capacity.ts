// The fleet's caps as this installation's config sets them. The worker starts the fleet with
// them and `conveyor fleet apply` sends them: one function builds them, so both agree.
import { durationMs, formatDuration } from '../domain/duration.js';
import type { FleetCapacity } from '../workflows/messages.js';
import type { Config } from './load.js';

export function fleetCapacity(config: Config): FleetCapacity {
  const { fleet, repos, policies } = config.factory;
  return {
    globalSlots: fleet.slots,
    repoSlots: Object.fromEntries(repos.filter((r) => r.slots !== undefined).map((r) => [r.name, r.slots!])),
    agentNames: fleet.agentNames,
    holderCheckInterval: fleet.holderCheckInterval,
    // Longer than any healthy holder keeps its lease: an agent's whole time, twice, and a margin.
    maxLeaseAge: fleet.maxLeaseAge ?? formatDuration(2 * durationMs(policies.timeouts.agentTotal) + durationMs('10m')),
  };
}
