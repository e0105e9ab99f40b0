// The fleet's bookkeeping as a plain class over plain data, so it is easy to test and survives
// continue-as-new unchanged. No Temporal APIs here: the workflow file drives it.
import type { FleetCapacity, LeaseGrant, LeaseRelease, LeaseRequest } from './messages.js';
import type { FleetState, Lease } from './state.js';

const DONE_IDS_KEPT = 2_000;

export function initialFleetState(capacity: FleetCapacity): FleetState {
  return { capacity, paused: false, leases: [], waiting: [], doneRequestIds: [], maxConcurrentLeases: 0, grantsTotal: 0, reclaimedTotal: 0 };
}

/** Priority 1 (urgent) … 4 (low) first, 0 (none) last; ties by the time the issue was queued. */
export function compareRequests(a: LeaseRequest, b: LeaseRequest): number {
  const rank = (p: number) => (p >= 1 && p <= 4 ? p : 5);
  return rank(a.priority) - rank(b.priority) || a.queuedAt - b.queuedAt || a.requestId.localeCompare(b.requestId);
}

export class FleetLedger {
  constructor(readonly state: FleetState) {}

  /** Queue a request unless it is already queued, held or finished (replayed signals are no-ops).
   * Returns the lease when the request already holds one, so the grant can be sent again. */
  request(req: LeaseRequest): Lease | null {
    const held = this.state.leases.find((l) => l.requestId === req.requestId);
    if (held) return held;
    if (this.state.doneRequestIds.includes(req.requestId)) return null;
    if (this.state.waiting.some((w) => w.requestId === req.requestId)) return null;
    this.state.waiting.push(req);
    this.state.waiting.sort(compareRequests);
    return null;
  }

  release(rel: LeaseRelease): boolean {
    const before = this.state.leases.length + this.state.waiting.length;
    this.state.leases = this.state.leases.filter((l) => l.requestId !== rel.requestId);
    this.state.waiting = this.state.waiting.filter((w) => w.requestId !== rel.requestId);
    this.markDone(rel.requestId);
    return this.state.leases.length + this.state.waiting.length < before;
  }

  /** Return every lease and request of holders that have closed. */
  reclaim(closedHolderIds: string[]): number {
    const closed = new Set(closedHolderIds);
    const gone = [...this.state.leases.filter((l) => closed.has(l.holderId)), ...this.state.waiting.filter((w) => closed.has(w.holderId))];
    for (const g of gone) this.release({ requestId: g.requestId, holderId: g.holderId });
    this.state.reclaimedTotal += gone.length;
    return gone.length;
  }

  configure(capacity: FleetCapacity): void {
    this.state.capacity = capacity;
  }

  setPaused(paused: boolean): void {
    this.state.paused = paused;
  }

  holderIds(): string[] {
    return [...new Set([...this.state.leases.map((l) => l.holderId), ...this.state.waiting.map((w) => w.holderId)])];
  }

  /** Grant what the caps allow, in queue order; a request whose repo is full waits without
   * blocking requests for other repos behind it. */
  grantAvailable(now: number): Array<LeaseGrant & { holderId: string }> {
    if (this.state.paused) return [];
    const grants: Array<LeaseGrant & { holderId: string }> = [];
    const { capacity } = this.state;
    for (const req of [...this.state.waiting]) {
      if (this.state.leases.length >= capacity.globalSlots) break;
      const repoCap = capacity.repoSlots[req.repo];
      if (repoCap !== undefined && this.state.leases.filter((l) => l.repo === req.repo).length >= repoCap) continue;
      const used = new Set(this.state.leases.map((l) => l.agentName));
      const agentName = capacity.agentNames.find((n) => !used.has(n));
      if (!agentName) break;
      this.state.waiting = this.state.waiting.filter((w) => w.requestId !== req.requestId);
      this.state.leases.push({ requestId: req.requestId, holderId: req.holderId, repo: req.repo, agentName, grantedAt: now });
      this.state.grantsTotal += 1;
      this.state.maxConcurrentLeases = Math.max(this.state.maxConcurrentLeases, this.state.leases.length);
      grants.push({ requestId: req.requestId, agentName, holderId: req.holderId });
    }
    return grants;
  }

  private markDone(requestId: string): void {
    if (!this.state.doneRequestIds.includes(requestId)) this.state.doneRequestIds.push(requestId);
    if (this.state.doneRequestIds.length > DONE_IDS_KEPT) this.state.doneRequestIds.splice(0, this.state.doneRequestIds.length - DONE_IDS_KEPT);
  }
}
