// The fleet ledger's rules one by one, without Temporal: the order requests are served in, how
// the per-repo and global caps count, what a pause and a check do, how long the ledger
// remembers, and exactly which signal inputs it refuses. Each assertion here is one that a
// small change to the ledger (a `>=` for a `>`, a dropped condition) would break.
import { describe, expect, it } from 'vitest';
import { asCapacity, asLeaseRequest, compareRequests, FleetLedger, fleetStateFromInput, initialFleetState, ledgerFromHolders } from '../../src/workflows/fleet-ledger.js';
import type { FleetCapacity, LeaseRequest } from '../../src/workflows/messages.js';
import type { FleetState, Lease } from '../../src/workflows/state.js';

const MINUTE = 60_000;
const capacity: FleetCapacity = { globalSlots: 4, repoSlots: {}, agentNames: ['ada', 'grace', 'linus', 'barbara', 'ken'], holderCheckInterval: '1m', maxLeaseAge: '2h' };
const req = (id: string, over: Partial<LeaseRequest> = {}): LeaseRequest => ({ requestId: id, holderId: `wf-${id}`, holderRunId: `run-${id}`, repo: 'acme/api', priority: 2, queuedAt: 0, ...over });
const lease = (id: string, over: Partial<Lease> = {}): Lease => ({ requestId: id, holderId: `wf-${id}`, holderRunId: `run-${id}`, repo: 'acme/api', agentName: 'ada', grantedAt: 0, ...over });

function ledger(caps: Partial<FleetCapacity> = {}, holders: Lease[] = []): FleetLedger {
  return new FleetLedger(ledgerFromHolders({ ...capacity, ...caps }, 'fp', holders, 0));
}
const waitingIds = (l: FleetLedger) => l.state.waiting.map((w) => w.requestId);
const grantedIds = (l: FleetLedger, now = 0) => l.grantAvailable(now).map((g) => g.requestId);

describe('the order the fleet serves requests in', () => {
  it('is urgent, high, medium, low, then no priority, whatever order they arrived in', () => {
    const l = ledger({ globalSlots: 0 });
    for (const [id, priority] of [['none', 0], ['low', 4], ['medium', 3], ['urgent', 1], ['high', 2]] as const) l.request(req(id, { priority }), 0);
    expect(waitingIds(l)).toEqual(['urgent', 'high', 'medium', 'low', 'none']);
  });

  it('grants in that order when slots free up', () => {
    const l = ledger({ globalSlots: 2 });
    l.request(req('none', { priority: 0, queuedAt: 1 }), 0);
    l.request(req('low', { priority: 4, queuedAt: 2 }), 0);
    l.request(req('urgent', { priority: 1, queuedAt: 3 }), 0);
    expect(grantedIds(l)).toEqual(['urgent', 'low']);
    expect(waitingIds(l)).toEqual(['none']);
  });

  it('serves the same priority first come, first served', () => {
    const l = ledger({ globalSlots: 0 });
    l.request(req('late', { queuedAt: 300 }), 0);
    l.request(req('early', { queuedAt: 100 }), 0);
    l.request(req('middle', { queuedAt: 200 }), 0);
    expect(waitingIds(l)).toEqual(['early', 'middle', 'late']);
  });

  it('ranks priority before queue time, and an unknown priority with "none"', () => {
    expect(compareRequests(req('a', { priority: 4, queuedAt: 999 }), req('b', { priority: 1, queuedAt: 0 }))).toBeGreaterThan(0);
    expect(compareRequests(req('a', { priority: 1, queuedAt: 999 }), req('b', { priority: 4, queuedAt: 0 }))).toBeLessThan(0);
    expect(compareRequests(req('a', { priority: 4, queuedAt: 999 }), req('b', { priority: 0, queuedAt: 0 }))).toBeLessThan(0);
    expect(compareRequests(req('a', { priority: 7, queuedAt: 0 }), req('b', { priority: 0, queuedAt: 999 }))).toBeLessThan(0);
    expect(compareRequests(req('a', { priority: -1, queuedAt: 999 }), req('b', { priority: 4, queuedAt: 0 }))).toBeGreaterThan(0);
    expect(compareRequests(req('a', { queuedAt: 5 }), req('a', { queuedAt: 5 }))).toBe(0);
    expect(compareRequests(req('b'), req('a'))).toBeGreaterThan(0);
  });
});

describe('the caps', () => {
  it('counts a per-repo cap against that repo only: leases in other repos leave its slots free', () => {
    const l = ledger({ globalSlots: 5, repoSlots: { 'acme/api': 2, 'acme/web': 1 } });
    l.request(req('web-1', { repo: 'acme/web', queuedAt: 1 }), 0);
    l.request(req('docs-1', { repo: 'acme/docs', queuedAt: 2 }), 0);
    l.request(req('docs-2', { repo: 'acme/docs', queuedAt: 3 }), 0);
    l.request(req('api-1', { repo: 'acme/api', queuedAt: 4 }), 0);
    l.request(req('api-2', { repo: 'acme/api', queuedAt: 5 }), 0);
    l.request(req('api-3', { repo: 'acme/api', queuedAt: 6 }), 0);
    l.request(req('web-2', { repo: 'acme/web', queuedAt: 7 }), 0);
    // Three leases elsewhere do not use up acme/api's two; its third and web's second wait.
    expect(grantedIds(l)).toEqual(['web-1', 'docs-1', 'docs-2', 'api-1', 'api-2']);
    expect(waitingIds(l)).toEqual(['api-3', 'web-2']);
  });

  it('lets a repo fill its cap exactly, and frees a slot of that repo when one of its leases is released', () => {
    const l = ledger({ repoSlots: { 'acme/api': 1 } });
    l.request(req('1'), 0);
    l.request(req('2'), 0);
    expect(grantedIds(l)).toEqual(['1']);
    expect(grantedIds(l)).toEqual([]);
    expect(l.release({ requestId: '1', holderId: 'wf-1' }, 0)).toBe(true);
    expect(grantedIds(l)).toEqual(['2']);
  });

  it('treats a repo cap of zero as a closed repo, and a repo with no cap as bounded by the global cap alone', () => {
    const l = ledger({ globalSlots: 3, repoSlots: { 'acme/frozen': 0 } });
    l.request(req('frozen', { repo: 'acme/frozen' }), 0);
    ['a', 'b', 'c', 'd'].forEach((id) => l.request(req(id), 0));
    expect(grantedIds(l)).toEqual(['a', 'b', 'c']);
    expect(waitingIds(l)).toEqual(['d', 'frozen']);
  });

  it('counts leases rebuilt from holders against both caps', () => {
    const l = ledger({ globalSlots: 3, repoSlots: { 'acme/api': 1 } }, [lease('held', { agentName: 'grace' })]);
    l.request(req('api'), 0);
    l.request(req('web', { repo: 'acme/web' }), 0);
    expect(l.grantAvailable(0)).toEqual([{ requestId: 'web', agentName: 'ada', holderId: 'wf-web' }]);
  });

  it('stops granting when every agent name is in use, even below the global cap', () => {
    const l = ledger({ globalSlots: 5, agentNames: ['ada', 'grace'] });
    ['1', '2', '3'].forEach((id) => l.request(req(id), 0));
    expect(l.grantAvailable(0).map((g) => g.agentName)).toEqual(['ada', 'grace']);
    expect(waitingIds(l)).toEqual(['3']);
    l.release({ requestId: '1', holderId: 'wf-1' }, 0);
    expect(l.grantAvailable(0)).toEqual([{ requestId: '3', agentName: 'ada', holderId: 'wf-3' }]);
  });

  it('stamps each lease with its grant time and counts grants and the most leases ever held at once', () => {
    const l = ledger({ globalSlots: 2 });
    ['1', '2', '3'].forEach((id) => l.request(req(id), 0));
    l.grantAvailable(7_000);
    expect(l.state.leases).toEqual([lease('1', { agentName: 'ada', grantedAt: 7_000 }), lease('2', { agentName: 'grace', grantedAt: 7_000 })]);
    l.release({ requestId: '1', holderId: 'wf-1' }, 8_000);
    l.grantAvailable(9_000);
    expect(l.state.grantsTotal).toBe(3);
    expect(l.state.maxConcurrentLeases).toBe(2);
  });
});

describe('pausing', () => {
  it('grants nothing while paused and everything that fits once resumed', () => {
    const l = ledger();
    l.request(req('1'), 0);
    l.setPaused({ paused: true }, 0);
    expect(l.state.paused).toBe(true);
    expect(l.grantAvailable(0)).toEqual([]);
    expect(waitingIds(l)).toEqual(['1']);
    l.setPaused({ paused: false }, 0);
    expect(l.state.paused).toBe(false);
    expect(grantedIds(l)).toEqual(['1']);
  });

  it('ignores a pause signal that is not an object with a boolean', () => {
    const l = ledger();
    for (const bad of [null, 'pause', [true], { paused: 1 }]) l.setPaused(bad, 5);
    expect(l.state.paused).toBe(false);
    expect(l.state.notes.map((n) => n.note)).toEqual(Array(4).fill(expect.stringMatching(/^ignored a malformed or foreign pause: /)));
  });
});

describe('requests and releases', () => {
  it('keeps a lease\'s grant time when the same run asks again (a replayed signal), and restarts it for a continued run', () => {
    const l = ledger();
    l.request(req('1'), 0);
    l.grantAvailable(1_000);
    expect(l.request(req('1'), 50_000)).toMatchObject({ grantedAt: 1_000, holderRunId: 'run-1' });
    expect(l.request(req('1', { holderRunId: 'run-1-next' }), 60_000)).toMatchObject({ grantedAt: 60_000, holderRunId: 'run-1-next' });
  });

  it('refuses a request for an id queued for another workflow, leaving the queued one as it was', () => {
    const l = ledger({ globalSlots: 0 });
    l.request(req('1'), 0);
    expect(l.request(req('1', { holderId: 'wf-intruder', holderRunId: 'run-x' }), 3)).toBeNull();
    expect(l.state.waiting).toEqual([req('1')]);
    expect(l.state.notes).toEqual([{ at: 3, note: expect.stringMatching(/^ignored a malformed or foreign request \(queued for wf-1\): \{"requestId":"1","holderId":"wf-intruder"/) }]);
  });

  it('refuses a request for an id leased to another workflow and says who holds it', () => {
    const l = ledger();
    l.request(req('1'), 0);
    l.grantAvailable(0);
    expect(l.request(req('1', { holderId: 'wf-intruder' }), 4)).toBeNull();
    expect(l.state.leases).toMatchObject([{ requestId: '1', holderId: 'wf-1', holderRunId: 'run-1' }]);
    expect(l.state.notes.at(-1)).toEqual({ at: 4, note: expect.stringContaining('request (lease held by wf-1)') });
  });

  it('releases a waiting request too: it leaves the queue and is never queued again', () => {
    const l = ledger({ globalSlots: 0 });
    l.request(req('1'), 0);
    l.request(req('2'), 0);
    expect(l.release({ requestId: '1', holderId: 'wf-1' }, 0)).toBe(true);
    expect(waitingIds(l)).toEqual(['2']);
    expect(l.state.doneRequestIds).toEqual(['1']);
    expect(l.request(req('1'), 0)).toBeNull();
    expect(waitingIds(l)).toEqual(['2']);
  });

  it('answers false for a release of an id it never saw, and remembers it so a late request is not queued', () => {
    const l = ledger();
    expect(l.release({ requestId: 'ghost', holderId: 'wf-ghost' }, 0)).toBe(false);
    expect(l.state.notes).toEqual([]);
    expect(l.request(req('ghost'), 0)).toBeNull();
    expect(l.state.waiting).toEqual([]);
  });

  it('refuses a release of a queued request by another workflow, keeping it queued', () => {
    const l = ledger({ globalSlots: 0 });
    l.request(req('1'), 0);
    expect(l.release({ requestId: '1', holderId: 'wf-intruder' }, 9)).toBe(false);
    expect(waitingIds(l)).toEqual(['1']);
    expect(l.state.doneRequestIds).toEqual([]);
    expect(l.state.notes).toEqual([{ at: 9, note: expect.stringContaining('release (held by wf-1)') }]);
  });

  it('remembers the last 2000 finished ids, forgetting the oldest first', () => {
    const l = ledger();
    for (let i = 0; i < 2_001; i += 1) l.release({ requestId: `r${i}`, holderId: `wf-r${i}` }, 0);
    expect(l.state.doneRequestIds).toHaveLength(2_000);
    expect(l.state.doneRequestIds[0]).toBe('r1');
    expect(l.state.doneRequestIds.at(-1)).toBe('r2000');
    // A release replayed for an id it still remembers is not recorded twice.
    l.release({ requestId: 'r2000', holderId: 'wf-r2000' }, 0);
    expect(l.state.doneRequestIds).toHaveLength(2_000);
    expect(l.state.doneRequestIds.filter((id) => id === 'r2000')).toHaveLength(1);
  });

  it('keeps the 20 newest notes', () => {
    const l = ledger();
    for (let i = 0; i < 25; i += 1) l.addNote(`note ${i}`, i);
    expect(l.state.notes).toHaveLength(20);
    expect(l.state.notes[0]).toEqual({ at: 5, note: 'note 5' });
    expect(l.state.notes.at(-1)).toEqual({ at: 24, note: 'note 24' });
  });

  it('keeps a malformed input of exactly 200 characters whole in its note', () => {
    const l = ledger();
    const input = { requestId: 'y'.repeat(200 - '{"requestId":""}'.length) };
    expect(JSON.stringify(input)).toHaveLength(200);
    l.request(input, 0);
    expect(l.state.notes[0]?.note).toBe(`ignored a malformed or foreign lease request: ${JSON.stringify(input)}`);
  });

  it('cuts a long malformed input to 200 characters in its note, and names an undefined one', () => {
    const l = ledger();
    l.request({ requestId: 'x'.repeat(300) }, 0);
    l.request(undefined, 0);
    const [long, missing] = l.state.notes.map((n) => n.note);
    expect(long).toBe(`ignored a malformed or foreign lease request: ${JSON.stringify({ requestId: 'x'.repeat(300) }).slice(0, 200)}…`);
    expect(missing).toBe('ignored a malformed or foreign lease request: undefined');
  });
});

describe('holder checks', () => {
  it('asks about each holder run once, the lease and a request of the same run together, from exactly one interval on', () => {
    const l = ledger();
    l.request(req('1'), 0);
    l.grantAvailable(0);
    l.request(req('2', { holderId: 'wf-1', holderRunId: 'run-1', queuedAt: 0 }), 0);
    expect(l.holdersToCheck(MINUTE - 1)).toEqual([]);
    expect(l.holdersToCheck(MINUTE)).toEqual([{ workflowId: 'wf-1', runId: 'run-1' }]);
    expect(l.reclaimClosed(['run-1'], MINUTE)).toBe(2);
    expect(l.state.leases).toEqual([]);
    expect(l.state.waiting).toEqual([]);
  });

  it('leaves open runs alone and counts only what it reclaimed', () => {
    const l = ledger();
    ['1', '2'].forEach((id) => l.request(req(id), 0));
    l.grantAvailable(0);
    expect(l.reclaimClosed(['run-unrelated'], 2 * MINUTE)).toBe(0);
    expect(l.reclaimClosed(['run-2'], 2 * MINUTE)).toBe(1);
    expect(l.state.leases.map((x) => x.requestId)).toEqual(['1']);
    expect(l.state.reclaimedTotal).toBe(1);
    expect(l.state.doneRequestIds).toEqual(['2']);
  });

  it('records a failed check with its error until one succeeds', () => {
    const l = ledger();
    l.checkFailed('visibility unavailable', 10);
    expect(l.state).toMatchObject({ lastHolderCheckError: 'visibility unavailable', lastHolderCheckErrorAt: 10, lastHolderCheckAt: null });
    l.checkFailed('still unavailable', 20);
    expect(l.state).toMatchObject({ lastHolderCheckError: 'still unavailable', lastHolderCheckErrorAt: 20 });
    l.checkSucceeded(30);
    expect(l.state).toMatchObject({ lastHolderCheckError: null, lastHolderCheckErrorAt: null, lastHolderCheckAt: 30 });
  });

  it('reads its check interval from the capacity in force', () => {
    const l = ledger({ holderCheckInterval: '90s' });
    expect(l.holderCheckIntervalMs()).toBe(90_000);
    l.configure({ capacity: { ...capacity, holderCheckInterval: '5m' }, fingerprint: 'fp2', by: 'op' }, 0);
    expect(l.holderCheckIntervalMs()).toBe(5 * MINUTE);
  });

  it('reclaims every lease past maxLeaseAge at once, notes each, and counts them', () => {
    const l = ledger({ maxLeaseAge: '10m' });
    ['1', '2', '3'].forEach((id) => l.request(req(id), 0));
    l.grantAvailable(0);
    l.release({ requestId: '3', holderId: 'wf-3' }, 0);
    l.request(req('4'), 0);
    l.grantAvailable(5 * MINUTE);
    expect(l.reclaimExpired(10 * MINUTE + 1)).toBe(2);
    expect(l.state.leases.map((x) => x.requestId)).toEqual(['4']);
    expect(l.state.reclaimedTotal).toBe(2);
    expect(l.state.notes.map((n) => n.note)).toEqual([
      'reclaimed lease 1 (ada) of wf-1: older than maxLeaseAge 10m',
      'reclaimed lease 2 (grace) of wf-2: older than maxLeaseAge 10m',
    ]);
  });
});

describe('rebuilding from the holders', () => {
  it('counts the rebuilt leases as the most held at once, and never lowers that count', () => {
    const l = ledger({}, [lease('1', { agentName: 'ada' }), lease('2', { agentName: 'grace' })]);
    expect(l.state.maxConcurrentLeases).toBe(2);
    l.release({ requestId: '1', holderId: 'wf-1' }, 0);
    l.rebuild([], 5);
    expect(l.state.maxConcurrentLeases).toBe(2);
    expect(l.state.rebuiltAt).toBe(5);
  });

  it('skips a holder whose id it already leases, and one already finished', () => {
    const l = ledger({}, [lease('1', { agentName: 'ada', holderRunId: 'run-a' })]);
    l.release({ requestId: 'done', holderId: 'wf-done' }, 0);
    expect(l.rebuild([lease('1', { agentName: 'grace', holderRunId: 'run-b' }), lease('done', { agentName: 'linus' })], 5)).toEqual([]);
    expect(l.state.leases).toEqual([lease('1', { agentName: 'ada', holderRunId: 'run-a' })]);
  });

  it('takes the run id of a holder that asked again meanwhile, and gives back its lease to re-send', () => {
    const l = new FleetLedger(initialFleetState(capacity, 'fp'));
    l.request(req('1', { holderRunId: 'run-1-next' }), 0);
    const asked = l.rebuild([lease('1', { agentName: 'linus', holderRunId: 'run-1', grantedAt: 3 })], 50);
    expect(asked).toEqual([lease('1', { agentName: 'linus', holderRunId: 'run-1-next', grantedAt: 50 })]);
    expect(l.state.leases).toEqual(asked);
  });

  it('gives back no lease to re-send when nobody asked again, whatever else is queued', () => {
    const l = new FleetLedger(initialFleetState(capacity, 'fp'));
    l.request(req('other', { holderRunId: 'run-other' }), 0);
    expect(l.rebuild([lease('1', { agentName: 'ada' })], 10)).toEqual([]);
    expect(l.state.leases).toEqual([lease('1', { agentName: 'ada', grantedAt: 10 })]);
    expect(waitingIds(l)).toEqual(['other']);
  });

  it('refuses a holder that is not an object or lacks its request or workflow id', () => {
    const state = ledgerFromHolders(capacity, 'fp', [null as unknown as Lease, [lease('0')] as unknown as Lease, { ...lease('1'), requestId: '' }, { ...lease('2'), holderId: '' }, lease('3', { agentName: 'ada' })], 0);
    expect(state.leases.map((x) => x.requestId)).toEqual(['3']);
    expect(state.notes).toHaveLength(4);
  });

  it('accepts a holder without a grant time as granted at the rebuild, and refuses one missing its agent name', () => {
    const { grantedAt: _dropped, ...noTime } = lease('1', { agentName: 'ada' });
    const { agentName: _name, ...noName } = lease('2');
    const state = ledgerFromHolders(capacity, 'fp', [noTime as Lease, noName as Lease, { ...lease('3'), holderRunId: '' }, { ...lease('4'), repo: 7 } as unknown as Lease], 77);
    expect(state.leases).toEqual([lease('1', { agentName: 'ada', grantedAt: 77 })]);
    expect(state.notes).toHaveLength(3);
    expect(state.notes.every((n) => n.note.startsWith('ignored a malformed or foreign lease holder: '))).toBe(true);
  });
});

describe('the state a fleet run starts from', () => {
  it('is a fresh ledger for its capacity when nothing was carried, with every counter at zero', () => {
    const state = fleetStateFromInput({ capacity, fingerprint: 'fp1' }, 0);
    expect(state).toEqual(initialFleetState(capacity, 'fp1'));
    expect(state).toEqual({
      capacity,
      fingerprint: 'fp1',
      configuredBy: null,
      configuredAt: null,
      paused: false,
      leases: [],
      waiting: [],
      doneRequestIds: [],
      rebuiltAt: null,
      lastHolderCheckAt: null,
      lastHolderCheckError: null,
      lastHolderCheckErrorAt: null,
      notes: [],
      maxConcurrentLeases: 0,
      grantsTotal: 0,
      reclaimedTotal: 0,
    });
  });

  it('is the carried state, filled up with the fields older code did not carry', () => {
    const carried = { capacity, fingerprint: 'fp-old', leases: [lease('1')], rebuiltAt: 5, paused: true } as unknown as FleetState;
    const state = fleetStateFromInput({ capacity: { ...capacity, globalSlots: 9 }, fingerprint: 'fp-new', state: carried }, 0);
    expect(state).toMatchObject({ fingerprint: 'fp-old', leases: [lease('1')], rebuiltAt: 5, paused: true, waiting: [], doneRequestIds: [], grantsTotal: 0, capacity: { globalSlots: 4 } });
  });

  it('grants nothing, and says why, when started with an unusable capacity', () => {
    const state = fleetStateFromInput({ capacity: { ...capacity, globalSlots: -2 }, fingerprint: 7 as unknown as string }, 42);
    expect(state.capacity).toEqual({ globalSlots: 0, repoSlots: {}, agentNames: [], holderCheckInterval: '1m', maxLeaseAge: '2h' });
    expect(state.fingerprint).toBe('');
    expect(state.notes).toEqual([{ at: 42, note: expect.stringMatching(/^started with an unusable capacity \{"globalSlots":-2,.*: granting nothing until conveyor fleet apply$/) }]);
    const l = new FleetLedger(state);
    l.rebuild([], 42);
    l.request(req('1'), 42);
    expect(l.grantAvailable(42)).toEqual([]);
  });

  it('keeps a carried state as it is even when the capacity given beside it is unusable', () => {
    const carried = initialFleetState(capacity, 'fp');
    const state = fleetStateFromInput({ capacity: null as unknown as FleetCapacity, fingerprint: 'fp', state: carried }, 1);
    expect(state.capacity).toEqual(capacity);
    expect(state.notes).toEqual([]);
  });
});

describe('which signal inputs the ledger accepts', () => {
  it('takes a lease request with every field, and copies only those fields', () => {
    expect(asLeaseRequest({ ...req('1'), stray: 'x' })).toEqual(req('1'));
    expect(asLeaseRequest(req('1', { priority: 0, queuedAt: 0 }))).toEqual(req('1', { priority: 0, queuedAt: 0 }));
  });

  for (const [field, value] of [
    ['requestId', ''],
    ['holderId', ''],
    ['holderRunId', ''],
    ['repo', ''],
    ['requestId', 5],
    ['priority', '1'],
    ['priority', Number.NaN],
    ['queuedAt', Number.POSITIVE_INFINITY],
    ['queuedAt', null],
  ] as const) {
    it(`refuses a lease request whose ${field} is ${JSON.stringify(value) ?? String(value)}`, () => {
      expect(asLeaseRequest({ ...req('1'), [field]: value })).toBeNull();
    });
  }

  it('refuses a lease request that is not an object', () => {
    for (const bad of [null, undefined, 'req', 3, [req('1')]]) expect(asLeaseRequest(bad)).toBeNull();
  });

  it('takes a capacity with whole non-negative counts, distinct names and positive durations', () => {
    const full = { globalSlots: 0, repoSlots: { 'acme/api': 0, 'acme/web': 2 }, agentNames: ['ada'], holderCheckInterval: '30s', maxLeaseAge: '1h', stray: true };
    const { stray: _stray, ...expected } = full;
    expect(asCapacity(full)).toEqual(expected);
    expect(asCapacity({ ...capacity, agentNames: [] })).toEqual({ ...capacity, agentNames: [] });
  });

  for (const [what, bad] of [
    ['a negative global cap', { globalSlots: -1 }],
    ['a fractional global cap', { globalSlots: 1.5 }],
    ['a global cap given as text', { globalSlots: '2' }],
    ['repo caps that are a list', { repoSlots: [1] }],
    ['a negative repo cap', { repoSlots: { 'acme/api': -1 } }],
    ['a fractional repo cap', { repoSlots: { 'acme/api': 0.5 } }],
    ['agent names that are not a list', { agentNames: 'ada' }],
    ['an empty agent name', { agentNames: ['ada', ''] }],
    ['a repeated agent name', { agentNames: ['ada', 'grace', 'ada'] }],
    ['a zero check interval', { holderCheckInterval: '0s' }],
    ['a check interval that is not a duration', { holderCheckInterval: 'often' }],
    ['a check interval given as a number', { holderCheckInterval: 60_000 }],
    ['a zero lease age', { maxLeaseAge: '0m' }],
    ['a lease age that is not a duration', { maxLeaseAge: 'forever' }],
  ] as const) {
    it(`refuses a capacity with ${what}`, () => {
      expect(asCapacity({ ...capacity, ...bad })).toBeNull();
    });
  }

  it('refuses a capacity that is not an object', () => {
    for (const bad of [null, 'all', [capacity]]) expect(asCapacity(bad)).toBeNull();
  });

  it('refuses a configuration without a fingerprint or without who applied it, and keeps the capacity in force', () => {
    const l = ledger();
    expect(l.configure({ capacity, fingerprint: '', by: 'op' }, 0)).toBe(false);
    expect(l.configure({ capacity, fingerprint: 'fp2', by: '' }, 0)).toBe(false);
    expect(l.configure({ capacity: { ...capacity, globalSlots: 9 }, fingerprint: 'fp2' }, 0)).toBe(false);
    expect(l.configure('apply', 0)).toBe(false);
    expect(l.state).toMatchObject({ capacity, fingerprint: 'fp', configuredBy: null, configuredAt: null });
    expect(l.state.notes.map((n) => n.note)).toEqual(Array(4).fill(expect.stringMatching(/^ignored a malformed or foreign configuration: /)));
  });

  it('refuses a release without both ids', () => {
    const l = ledger();
    expect(l.release({ requestId: '', holderId: 'wf-1' }, 0)).toBe(false);
    expect(l.release({ holderId: 'wf-1' }, 0)).toBe(false);
    expect(l.release({ requestId: '1', holderId: '' }, 0)).toBe(false);
    expect(l.release('1', 0)).toBe(false);
    expect(l.state.doneRequestIds).toEqual([]);
    expect(l.state.notes.map((n) => n.note)).toEqual(Array(4).fill(expect.stringMatching(/^ignored a malformed or foreign lease release: /)));
  });
});
