// The fleet's decisions without Temporal: caps, names, and which leases come back when.
// A leaked slot or name ("name already taken") stops the line as surely as a crash.
import { describe, expect, it } from 'vitest';
import { compareRequests, FleetLedger, initialFleetState, ledgerFromHolders } from '../../src/workflows/fleet-ledger.js';
import type { FleetCapacity, LeaseRequest } from '../../src/workflows/messages.js';
import type { Lease } from '../../src/workflows/state.js';

const SECOND = 1_000;
const capacity: FleetCapacity = { globalSlots: 2, repoSlots: { 'a/one': 1 }, agentNames: ['ada', 'grace', 'linus'], holderCheckInterval: '1m', maxLeaseAge: '2h' };
const req = (id: string, repo = 'a/two', priority = 2, queuedAt = 0, run = `run-${id}`): LeaseRequest => ({ requestId: id, holderId: `wf-${id}`, holderRunId: run, repo, priority, queuedAt });
const holder = (id: string, agentName: string, repo = 'a/two'): Lease => ({ requestId: id, holderId: `wf-${id}`, holderRunId: `run-${id}`, repo, agentName, grantedAt: 0 });

/** A ledger as a fresh fleet has it once its (empty) rebuild is done. */
function ledger(caps: FleetCapacity = capacity): FleetLedger {
  return new FleetLedger(ledgerFromHolders(caps, 'fp', [], 0));
}

describe('the fleet ledger', () => {
  it('never grants past the global cap and hands out distinct names', () => {
    const l = ledger();
    ['1', '2', '3'].forEach((id) => l.request(req(id), 0));
    const grants = l.grantAvailable(0);
    expect(grants.map((g) => g.agentName)).toEqual(['ada', 'grace']);
    expect(l.state.waiting.map((w) => w.requestId)).toEqual(['3']);
  });

  it('lets a request for a free repo pass one whose repo is full', () => {
    const l = ledger();
    l.request(req('1', 'a/one', 1, 1), 0);
    l.request(req('2', 'a/one', 1, 2), 0);
    l.request(req('3', 'a/two', 3, 3), 0);
    expect(l.grantAvailable(0).map((g) => g.requestId)).toEqual(['1', '3']);
  });

  it('treats a replayed request or release as a no-op', () => {
    const l = ledger();
    l.request(req('1'), 0);
    l.request(req('1'), 0);
    expect(l.state.waiting).toHaveLength(1);
    const [grant] = l.grantAvailable(0);
    expect(l.request(req('1'), 0)).toMatchObject({ agentName: grant!.agentName });
    l.release({ requestId: '1', holderId: 'wf-1' }, 0);
    l.release({ requestId: '1', holderId: 'wf-1' }, 0);
    l.request(req('1'), 0);
    expect(l.state.waiting).toHaveLength(0);
    expect(l.state.leases).toHaveLength(0);
  });

  it('grants nothing before its ledger is rebuilt (a fresh fleet must first learn who holds what)', () => {
    const l = new FleetLedger(initialFleetState(capacity, 'fp'));
    l.request(req('1'), 0);
    expect(l.grantAvailable(0)).toEqual([]);
    l.rebuild([], 0);
    expect(l.grantAvailable(0).map((g) => g.requestId)).toEqual(['1']);
  });

  it('reclaims the leases of closed runs, not of other runs of the same workflow id (leases belong to runs)', () => {
    const l = ledger({ ...capacity, globalSlots: 1 });
    l.request(req('old', 'a/two', 2, 0, 'run-A'), 0);
    l.grantAvailable(0);
    // A new run of the same workflow asks with its own request id and waits for the slot.
    l.request({ ...req('new', 'a/two', 2, 0, 'run-B'), holderId: 'wf-old' }, 0);
    const later = 61 * SECOND;
    expect(l.holdersToCheck(later)).toEqual([
      { workflowId: 'wf-old', runId: 'run-A' },
      { workflowId: 'wf-old', runId: 'run-B' },
    ]);
    expect(l.reclaimClosed(['run-A'], later)).toBe(1);
    expect(l.state.reclaimedTotal).toBe(1);
    expect(l.grantAvailable(later)).toEqual([{ requestId: 'new', agentName: 'ada', holderId: 'wf-old' }]);
    expect(l.state.leases.map((x) => x.holderRunId)).toEqual(['run-B']);
  });

  it('drops a waiting request of a closed run without finishing it, so a false alarm costs only a re-ask', () => {
    const l = ledger({ ...capacity, globalSlots: 0 });
    l.request(req('1'), 0);
    expect(l.reclaimClosed(['run-1'], 61 * SECOND)).toBe(1);
    expect(l.state.waiting).toEqual([]);
    l.request(req('1'), 62 * SECOND);
    expect(l.state.waiting.map((w) => w.requestId)).toEqual(['1']);
  });

  it('moves a request asked again by a continued run (same request id, new run id) and re-sends a held grant', () => {
    const l = ledger({ ...capacity, globalSlots: 1 });
    l.request(req('1', 'a/two', 2, 0, 'run-1a'), 0);
    l.request(req('2', 'a/two', 2, 0, 'run-2a'), 0);
    l.grantAvailable(0);
    const moved = l.request(req('1', 'a/two', 2, 0, 'run-1b'), 100 * SECOND);
    expect(moved).toMatchObject({ requestId: '1', holderRunId: 'run-1b', agentName: 'ada', grantedAt: 100 * SECOND });
    expect(l.request(req('2', 'a/two', 2, 0, 'run-2b'), 100 * SECOND)).toBeNull();
    expect(l.state.waiting).toMatchObject([{ requestId: '2', holderRunId: 'run-2b' }]);
    // The old run ids are closed now; nothing that moved is reclaimed for them.
    expect(l.reclaimClosed(['run-1a', 'run-2a'], 200 * SECOND)).toBe(0);
    expect(l.state.leases).toHaveLength(1);
  });

  it('never reclaims an entry younger than one check interval: visibility may not show its run yet', () => {
    const l = ledger();
    l.request(req('1', 'a/two', 2, 30 * SECOND), 30 * SECOND);
    l.grantAvailable(30 * SECOND);
    l.request(req('2', 'a/two', 2, 40 * SECOND), 40 * SECOND);
    l.grantAvailable(40 * SECOND);
    l.request(req('3', 'a/two', 2, 45 * SECOND), 45 * SECOND);
    expect(l.holdersToCheck(60 * SECOND)).toEqual([]);
    expect(l.reclaimClosed(['run-1', 'run-2', 'run-3'], 60 * SECOND)).toBe(0);
    expect(l.state.leases).toHaveLength(2);
    expect(l.state.waiting).toHaveLength(1);
    expect(l.reclaimClosed(['run-1', 'run-2', 'run-3'], 105 * SECOND)).toBe(3);
  });

  it('reclaims a lease older than maxLeaseAge even though its run looks open (a wedged run holds forever)', () => {
    const l = ledger();
    l.request(req('1'), 0);
    l.grantAvailable(0);
    l.request(req('2'), 60 * 60 * SECOND);
    l.grantAvailable(60 * 60 * SECOND);
    expect(l.reclaimExpired(2 * 60 * 60 * SECOND)).toBe(0);
    expect(l.reclaimExpired(2 * 60 * 60 * SECOND + 1)).toBe(1);
    expect(l.state.leases.map((x) => x.requestId)).toEqual(['2']);
    expect(l.state.notes.at(-1)?.note).toContain('maxLeaseAge');
    expect(l.request(req('1'), 3 * 60 * 60 * SECOND)).toBeNull();
  });

  it('orders ties by request id in code-unit order, the same on every ICU build', () => {
    const ids = ['b', 'B', 'a', 'ä', 'A', '10', '9'];
    const sorted = ids.map((id) => req(id)).sort(compareRequests).map((r) => r.requestId);
    expect(sorted).toEqual(['10', '9', 'A', 'B', 'a', 'b', 'ä']);
  });

  it('ignores malformed requests, releases, configurations and pauses with a note, never a throw', () => {
    const l = ledger();
    l.request(req('1'), 0);
    l.grantAvailable(0);
    const before = JSON.stringify({ leases: l.state.leases, waiting: l.state.waiting, capacity: l.state.capacity, paused: l.state.paused });
    expect(l.request({ requestId: '2', holderId: 'wf-2', repo: 'a/two', priority: 2, queuedAt: 0 }, 0)).toBeNull();
    expect(l.request(null, 0)).toBeNull();
    expect(l.request({ ...req('1'), holderId: 'wf-someone-else' }, 0)).toBeNull();
    expect(l.release({ requestId: '1' }, 0)).toBe(false);
    expect(l.release({ requestId: '1', holderId: 'wf-someone-else' }, 0)).toBe(false);
    expect(l.configure({ capacity: { ...capacity, globalSlots: -1 }, fingerprint: 'x', by: 'me' }, 0)).toBe(false);
    expect(l.configure({ capacity: { ...capacity, holderCheckInterval: 'soon' }, fingerprint: 'x', by: 'me' }, 0)).toBe(false);
    expect(l.configure({ capacity, by: 'me' }, 0)).toBe(false);
    l.setPaused({ paused: 'yes' }, 0);
    expect(JSON.stringify({ leases: l.state.leases, waiting: l.state.waiting, capacity: l.state.capacity, paused: l.state.paused })).toBe(before);
    expect(l.state.notes).toHaveLength(9);
    expect(l.state.notes.every((n) => n.note.startsWith('ignored'))).toBe(true);
  });

  it('takes a valid configuration with its fingerprint and who applied it', () => {
    const l = ledger();
    expect(l.configure({ capacity: { ...capacity, globalSlots: 5 }, fingerprint: 'fp2', by: 'op@example.com' }, 42)).toBe(true);
    expect(l.state).toMatchObject({ fingerprint: 'fp2', configuredBy: 'op@example.com', configuredAt: 42, capacity: { globalSlots: 5 } });
    expect(l.memo()).toEqual({ capacity: { ...capacity, globalSlots: 5 }, fingerprint: 'fp2', configuredBy: 'op@example.com', configuredAt: 42 });
  });

  it('rebuilds from the holders the dispatched runs report, keeping their names out of new grants', () => {
    const state = ledgerFromHolders({ ...capacity, globalSlots: 3 }, 'fp', [holder('1', 'ada'), holder('2', 'linus'), holder('1', 'ada'), { requestId: '', holderId: 'x' } as unknown as Lease], 500);
    expect(state.leases.map((x) => [x.requestId, x.agentName, x.grantedAt])).toEqual([
      ['1', 'ada', 500],
      ['2', 'linus', 500],
    ]);
    expect(state.rebuiltAt).toBe(500);
    expect(state.notes).toHaveLength(1);
    const l = new FleetLedger(state);
    l.request(req('3'), 500);
    l.request(req('4'), 500);
    expect(l.grantAvailable(500).map((g) => g.agentName)).toEqual(['grace']);
  });

  it('merges a rebuild with what arrived before it: a re-asked held request becomes its lease (grant re-sent), a released one stays released', () => {
    const l = new FleetLedger(initialFleetState(capacity, 'fp'));
    l.request(req('1'), 0);
    l.release({ requestId: '2', holderId: 'wf-2' }, 0);
    // The holder of 1 asked again before the rebuild: it waits for its grant, so it gets it again.
    expect(l.rebuild([holder('1', 'grace'), holder('2', 'ada')], 10)).toMatchObject([{ requestId: '1', agentName: 'grace' }]);
    expect(l.state.waiting).toEqual([]);
    expect(l.state.leases.map((x) => [x.requestId, x.agentName])).toEqual([['1', 'grace']]);
  });

  it('survives a JSON round trip, as continue-as-new does to it', () => {
    const l = ledger();
    l.request(req('1'), 0);
    l.request(req('2'), 0);
    l.grantAvailable(0);
    const carried = new FleetLedger(JSON.parse(JSON.stringify(l.state)));
    carried.release({ requestId: '1', holderId: 'wf-1' }, 0);
    expect(carried.request(req('1'), 0)).toBeNull();
    expect(carried.state.leases.map((x) => x.requestId)).toEqual(['2']);
  });
});
