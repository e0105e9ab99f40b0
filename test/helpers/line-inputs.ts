// The inputs every line test starts from: the test factory config, a line policy and fleet
// capacity that run in seconds, and well-specified issues. Pure: no Temporal client, no
// activities, so the pure tests (and `npm run mutation`, which loads them once per mutant) can
// use them cheaply; scripted-line.ts re-exports them for the workflow tests.
import { factorySchema, type FactoryConfig } from '../../src/config/factory-schema.js';
import type { TrackerIssue } from '../../src/domain/issue.js';
import type { EndingsPolicy, LinePolicy } from '../../src/workflows/input.js';
import type { FleetCapacity } from '../../src/workflows/messages.js';

export const TEST_REPO = 'acme/widgets';
/** The login the scripted forge acts as: its own reviews never count. */
export const FACTORY_LOGIN = 'conveyor-bot';
/** Who reviews when a test names nobody; has write access. */
export const TEST_REVIEWER = 'reviewer';

export function testFactoryConfig(overrides: { mergePolicy?: 'never' | 'on-green-with-review' } = {}): FactoryConfig {
  return factorySchema.parse({
    tracker: { teams: [{ key: 'ENG', defaultRepo: TEST_REPO }], operators: ['op@example.com'] },
    repos: [{ name: TEST_REPO, mergePolicy: overrides.mergePolicy ?? 'on-green-with-review' }],
    agents: { default: 'scripted', providers: { scripted: { command: ['true'] } } },
  });
}

export function testPolicy(
  fleetWorkflowId: string,
  overrides: Partial<LinePolicy['timeouts']> & { maxRedispatch?: number; continueAsNewAfterEvents?: number; budgetUsd?: number | null; endings?: Partial<EndingsPolicy> } = {},
): LinePolicy {
  const { maxRedispatch, continueAsNewAfterEvents, budgetUsd, endings, ...timeouts } = overrides;
  return {
    // Retry-later after 2 s, merge refusals tried again after half a second: scenarios run in seconds.
    endings: { retryLaterRuns: 2, retryBackoff: '2s', readyLabel: 'conveyor', blockedLabel: 'conveyor-blocked', maxStalls: 2, mergeRetries: 3, mergeRetryBackoff: '500ms', ...endings },
    timeouts: { agentIdle: '5s', agentTotal: '30s', prOpen: '10s', ci: '20s', review: '20s', escalation: '30s', queue: '60s', heartbeat: '300ms', ...timeouts },
    maxRedispatch: maxRedispatch ?? 3,
    budgetUsd: budgetUsd ?? null,
    fleetWorkflowId,
    continueAsNewAfterEvents: continueAsNewAfterEvents ?? 2_000,
    retry: { initialInterval: '100ms', maximumAttempts: 3 },
  };
}

/** Caps for a test's fleet: a holder check every second, so a reclaim shows within seconds. */
export function testCapacity(overrides: Partial<FleetCapacity> = {}): FleetCapacity {
  return { globalSlots: 3, repoSlots: {}, agentNames: ['ada', 'grace', 'linus', 'barbara'], holderCheckInterval: '1s', maxLeaseAge: '10m', ...overrides };
}

const WELL_SPECIFIED = `Add a /healthz endpoint that answers 200 with {"ok":true} so the load balancer can probe the service.

## Acceptance
- [ ] GET /healthz answers 200
- [ ] the body is {"ok":true}`;

let issueCounter = 0;
export function makeIssue(overrides: Partial<TrackerIssue> = {}): TrackerIssue {
  issueCounter += 1;
  const id = overrides.id ?? `00000000-0000-4000-8000-${String(Date.now() % 1e6).padStart(6, '0')}${String(issueCounter).padStart(6, '0')}`;
  return {
    id,
    key: `ENG-${issueCounter}`,
    title: `Issue ${issueCounter}`,
    description: WELL_SPECIFIED,
    url: `https://linear.example/eng/issue/ENG-${issueCounter}`,
    team: { id: 'team-eng', key: 'ENG' },
    project: null,
    labels: ['conveyor'],
    priority: 2,
    state: { name: 'Todo', type: 'unstarted' },
    assignee: null,
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    ...overrides,
  };
}
