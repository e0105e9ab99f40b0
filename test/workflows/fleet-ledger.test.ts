import { describe, expect, it } from 'vitest';
import { FleetLedger, initialFleetState } from '../../src/workflows/fleet-ledger.js';

const capacity = { globalSlots: 2, repoSlots: { 'a/one': 1 }, agentNames: ['ada', 'grace', 'linus'], holderCheckInterval: '1m' };
const req = (id: string, repo = 'a/two', priority = 2, queuedAt = 0) => ({ requestId: id, holderId: `wf-${id}`, repo, priority, queuedAt });

describe('the fleet ledger', () => {
  it('never grants past the global cap and hands out distinct names', () => {
    const ledger = new FleetLedger(initialFleetState(capacity));
    ['1', '2', '3'].forEach((id) => ledger.request(req(id)));
    const grants = ledger.grantAvailable(0);
    expect(grants.map((g) => g.agentName)).toEqual(['ada', 'grace']);
    expect(ledger.state.waiting.map((w) => w.requestId)).toEqual(['3']);
  });

  it('lets a request for a free repo pass one whose repo is full', () => {
    const ledger = new FleetLedger(initialFleetState(capacity));
    ledger.request(req('1', 'a/one', 1, 1));
    ledger.request(req('2', 'a/one', 1, 2));
    ledger.request(req('3', 'a/two', 3, 3));
    expect(ledger.grantAvailable(0).map((g) => g.requestId)).toEqual(['1', '3']);
  });

  it('treats a replayed request or release as a no-op', () => {
    const ledger = new FleetLedger(initialFleetState(capacity));
    ledger.request(req('1'));
    ledger.request(req('1'));
    expect(ledger.state.waiting).toHaveLength(1);
    const [grant] = ledger.grantAvailable(0);
    expect(ledger.request(req('1'))).toMatchObject({ agentName: grant!.agentName });
    ledger.release({ requestId: '1', holderId: 'wf-1' });
    ledger.release({ requestId: '1', holderId: 'wf-1' });
    ledger.request(req('1'));
    expect(ledger.state.waiting).toHaveLength(0);
    expect(ledger.state.leases).toHaveLength(0);
  });

  it('reclaims leases and queued requests of closed holders', () => {
    const ledger = new FleetLedger(initialFleetState({ ...capacity, globalSlots: 1 }));
    ledger.request(req('1'));
    ledger.request(req('2'));
    ledger.grantAvailable(0);
    expect(ledger.reclaim(['wf-1', 'wf-2'])).toBe(2);
    expect(ledger.state.leases).toEqual([]);
    expect(ledger.state.waiting).toEqual([]);
  });

  it('survives a JSON round trip, as continue-as-new does to it', () => {
    const ledger = new FleetLedger(initialFleetState(capacity));
    ledger.request(req('1'));
    ledger.request(req('2'));
    ledger.grantAvailable(0);
    const carried = new FleetLedger(JSON.parse(JSON.stringify(ledger.state)));
    carried.release({ requestId: '1', holderId: 'wf-1' });
    expect(carried.request(req('1'))).toBeNull();
    expect(carried.state.leases.map((l) => l.requestId)).toEqual(['2']);
  });
});
