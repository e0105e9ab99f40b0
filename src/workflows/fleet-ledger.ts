// The fleet's bookkeeping as a plain class over plain data, so it is easy to test and survives
// continue-as-new unchanged. No Temporal APIs here: the workflow file drives it.
// Every signal input is validated here: a malformed one is ignored with a note, never thrown,
// because a throw in the fleet would stop every dispatch.
import { durationMs, isDuration } from '../domain/duration.js';
import type { FleetInput } from './input.js';
import type { FleetCapacity, FleetConfiguration, FleetMemo, LeaseGrant, LeaseRelease, LeaseRequest } from './messages.js';
import type { FleetState, Lease } from './state.js';

const DONE_IDS_KEPT = 2_000;
const NOTES_KEPT = 20;

/** What a fleet started with an unusable capacity runs with: it grants nothing until configured. */
const GRANT_NOTHING: FleetCapacity = { globalSlots: 0, repoSlots: {}, agentNames: [], holderCheckInterval: '1m', maxLeaseAge: '2h' };

export function initialFleetState(capacity: FleetCapacity, fingerprint: string): FleetState {
  return {
    capacity,
    fingerprint,
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
  };
}

/** The state a fleet run starts from: the carried state (filled up with defaults, so a state
 * carried by older code still works), or a fresh one that waits for its rebuild. */
export function fleetStateFromInput(input: FleetInput, now: number): FleetState {
  const capacity = asCapacity(input.capacity);
  const state = { ...initialFleetState(capacity ?? GRANT_NOTHING, typeof input.fingerprint === 'string' ? input.fingerprint : ''), ...input.state };
  if (!capacity && !input.state) addNote(state, `started with an unusable capacity ${show(input.capacity)}: granting nothing until conveyor fleet apply`, now);
  return state;
}

/** A fresh ledger holding exactly the leases of these holder runs (see FleetLedger.rebuild). */
export function ledgerFromHolders(capacity: FleetCapacity, fingerprint: string, holders: Lease[], now: number): FleetState {
  const ledger = new FleetLedger(initialFleetState(capacity, fingerprint));
  ledger.rebuild(holders, now);
  return ledger.state;
}

/** Code-unit order: the same everywhere (localeCompare depends on the ICU build). */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Priority 1 (urgent) … 4 (low) first, 0 (none) last; ties by the time the issue was queued. */
export function compareRequests(a: LeaseRequest, b: LeaseRequest): number {
  const rank = (p: number) => (p >= 1 && p <= 4 ? p : 5);
  return rank(a.priority) - rank(b.priority) || a.queuedAt - b.queuedAt || byCodeUnits(a.requestId, b.requestId);
}

export class FleetLedger {
  constructor(readonly state: FleetState) {}

  /** Queue a request unless it is already queued, held or finished (replayed signals are no-ops).
   * A request from another run of its holder (a continued run) moves the entry to that run.
   * Returns the lease when the request already holds one, so the grant can be sent again. */
  request(input: unknown, now: number): Lease | null {
    const req = asLeaseRequest(input);
    if (!req) return this.ignore('lease request', input, now);
    const held = this.state.leases.find((l) => l.requestId === req.requestId);
    if (held) {
      if (held.holderId !== req.holderId) return this.ignore(`request (lease held by ${held.holderId})`, input, now);
      if (held.holderRunId !== req.holderRunId) {
        held.holderRunId = req.holderRunId;
        // The new run may not be visible yet: it gets a full check interval before it is checked.
        held.grantedAt = now;
      }
      return held;
    }
    if (this.state.doneRequestIds.includes(req.requestId)) return null;
    const queued = this.state.waiting.find((w) => w.requestId === req.requestId);
    if (queued) {
      if (queued.holderId !== req.holderId) return this.ignore(`request (queued for ${queued.holderId})`, input, now);
      queued.holderRunId = req.holderRunId;
      return null;
    }
    this.state.waiting.push(req);
    this.state.waiting.sort(compareRequests);
    return null;
  }

  release(input: unknown, now: number): boolean {
    const rel = asLeaseRelease(input);
    if (!rel) {
      this.ignore('lease release', input, now);
      return false;
    }
    const entry = this.state.leases.find((l) => l.requestId === rel.requestId) ?? this.state.waiting.find((w) => w.requestId === rel.requestId);
    if (entry && entry.holderId !== rel.holderId) {
      this.ignore(`release (held by ${entry.holderId})`, input, now);
      return false;
    }
    this.drop(rel.requestId);
    this.markDone(rel.requestId);
    return entry !== undefined;
  }

  /** Take over the leases that the dispatched runs say they hold (a fresh or revived fleet).
   * Requests queued meanwhile for those ids become the leases; released ids stay released.
   * Returns those leases whose holders asked again meanwhile: they wait for their grant. */
  rebuild(holders: Lease[], now: number): Lease[] {
    const asked: Lease[] = [];
    for (const input of holders) {
      const lease = asLease(input);
      if (!lease) {
        this.ignore('lease holder', input, now);
        continue;
      }
      if (this.state.doneRequestIds.includes(lease.requestId) || this.state.leases.some((l) => l.requestId === lease.requestId)) continue;
      const queued = this.state.waiting.find((w) => w.requestId === lease.requestId);
      this.drop(lease.requestId);
      const held = { ...lease, holderRunId: queued?.holderRunId ?? lease.holderRunId, grantedAt: now };
      this.state.leases.push(held);
      if (queued) asked.push(held);
    }
    this.state.maxConcurrentLeases = Math.max(this.state.maxConcurrentLeases, this.state.leases.length);
    this.state.rebuiltAt = now;
    return asked;
  }

  /** The runs to ask Temporal about: holders recorded at least one check interval ago, since
   * visibility may not show a run that just started (or just continued) as open yet. */
  holdersToCheck(now: number): Array<{ workflowId: string; runId: string }> {
    const { leases, waiting } = this.checkable(now);
    const runs = new Map<string, string>();
    for (const entry of [...leases, ...waiting]) runs.set(entry.holderRunId, entry.holderId);
    return [...runs].map(([runId, workflowId]) => ({ workflowId, runId }));
  }

  /** Reclaim the leases, and drop the waiting requests, of runs that are not open. A dropped
   * request is not finished: if its run was open after all, its next ask queues it again. */
  reclaimClosed(closedRunIds: string[], now: number): number {
    const closed = new Set(closedRunIds);
    const { leases, waiting } = this.checkable(now);
    const goneLeases = leases.filter((l) => closed.has(l.holderRunId));
    const goneRequests = waiting.filter((w) => closed.has(w.holderRunId));
    for (const lease of goneLeases) this.reclaim(lease.requestId);
    for (const request of goneRequests) this.drop(request.requestId);
    return goneLeases.length + goneRequests.length;
  }

  /** Reclaim leases older than maxLeaseAge, even of runs that look open: a wedged run holds forever. */
  reclaimExpired(now: number): number {
    const maxAge = durationMs(this.state.capacity.maxLeaseAge);
    const expired = this.state.leases.filter((l) => now - l.grantedAt > maxAge);
    for (const lease of expired) {
      this.reclaim(lease.requestId);
      this.addNote(`reclaimed lease ${lease.requestId} (${lease.agentName}) of ${lease.holderId}: older than maxLeaseAge ${this.state.capacity.maxLeaseAge}`, now);
    }
    return expired.length;
  }

  checkSucceeded(now: number): void {
    this.state.lastHolderCheckAt = now;
    this.state.lastHolderCheckError = null;
    this.state.lastHolderCheckErrorAt = null;
  }

  checkFailed(error: string, now: number): void {
    this.state.lastHolderCheckError = error;
    this.state.lastHolderCheckErrorAt = now;
  }

  configure(input: unknown, now: number): boolean {
    const config = asConfiguration(input);
    if (!config) {
      this.ignore('configuration', input, now);
      return false;
    }
    this.state.capacity = config.capacity;
    this.state.fingerprint = config.fingerprint;
    this.state.configuredBy = config.by;
    this.state.configuredAt = now;
    return true;
  }

  setPaused(input: unknown, now: number): void {
    if (!isRecord(input) || typeof input.paused !== 'boolean') {
      this.ignore('pause', input, now);
      return;
    }
    this.state.paused = input.paused;
  }

  holderCheckIntervalMs(): number {
    return durationMs(this.state.capacity.holderCheckInterval);
  }

  memo(): FleetMemo {
    const { capacity, fingerprint, configuredBy, configuredAt } = this.state;
    return { capacity, fingerprint, configuredBy, configuredAt };
  }

  /** Grant what the caps allow, in queue order; a request whose repo is full waits without
   * blocking requests for other repos behind it. Nothing before the ledger is rebuilt. */
  grantAvailable(now: number): Array<LeaseGrant & { holderId: string }> {
    if (this.state.paused || this.state.rebuiltAt === null) return [];
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
      this.state.leases.push({ requestId: req.requestId, holderId: req.holderId, holderRunId: req.holderRunId, repo: req.repo, agentName, grantedAt: now });
      this.state.grantsTotal += 1;
      this.state.maxConcurrentLeases = Math.max(this.state.maxConcurrentLeases, this.state.leases.length);
      grants.push({ requestId: req.requestId, agentName, holderId: req.holderId });
    }
    return grants;
  }

  addNote(note: string, now: number): void {
    addNote(this.state, note, now);
  }

  /** Entries recorded at least one check interval ago. */
  private checkable(now: number): { leases: Lease[]; waiting: LeaseRequest[] } {
    const interval = this.holderCheckIntervalMs();
    return { leases: this.state.leases.filter((l) => now - l.grantedAt >= interval), waiting: this.state.waiting.filter((w) => now - w.queuedAt >= interval) };
  }

  private reclaim(requestId: string): void {
    this.drop(requestId);
    this.markDone(requestId);
    this.state.reclaimedTotal += 1;
  }

  private drop(requestId: string): void {
    this.state.leases = this.state.leases.filter((l) => l.requestId !== requestId);
    this.state.waiting = this.state.waiting.filter((w) => w.requestId !== requestId);
  }

  private ignore(what: string, input: unknown, now: number): null {
    this.addNote(`ignored a malformed or foreign ${what}: ${show(input)}`, now);
    return null;
  }

  private markDone(requestId: string): void {
    if (!this.state.doneRequestIds.includes(requestId)) this.state.doneRequestIds.push(requestId);
    if (this.state.doneRequestIds.length > DONE_IDS_KEPT) this.state.doneRequestIds.splice(0, this.state.doneRequestIds.length - DONE_IDS_KEPT);
  }
}

function addNote(state: FleetState, note: string, now: number): void {
  state.notes.push({ at: now, note });
  if (state.notes.length > NOTES_KEPT) state.notes.splice(0, state.notes.length - NOTES_KEPT);
}

// ── input validation: copies only the known fields, so nothing stray travels in the state ──

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
const isText = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;
const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isPositiveDuration = (value: unknown): value is string => typeof value === 'string' && isDuration(value) && durationMs(value) > 0;

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

export function asLeaseRequest(v: unknown): LeaseRequest | null {
  if (!isRecord(v) || !isText(v.requestId) || !isText(v.holderId) || !isText(v.holderRunId) || !isText(v.repo) || !isTime(v.priority) || !isTime(v.queuedAt)) return null;
  return { requestId: v.requestId, holderId: v.holderId, holderRunId: v.holderRunId, repo: v.repo, priority: v.priority, queuedAt: v.queuedAt };
}

function asLeaseRelease(v: unknown): LeaseRelease | null {
  if (!isRecord(v) || !isText(v.requestId) || !isText(v.holderId)) return null;
  return { requestId: v.requestId, holderId: v.holderId };
}

function asLease(v: unknown): Lease | null {
  if (!isRecord(v) || !isText(v.requestId) || !isText(v.holderId) || !isText(v.holderRunId) || typeof v.repo !== 'string' || typeof v.agentName !== 'string') return null;
  return { requestId: v.requestId, holderId: v.holderId, holderRunId: v.holderRunId, repo: v.repo, agentName: v.agentName, grantedAt: isTime(v.grantedAt) ? v.grantedAt : 0 };
}

export function asCapacity(v: unknown): FleetCapacity | null {
  if (!isRecord(v) || !isCount(v.globalSlots) || !isRecord(v.repoSlots) || !Array.isArray(v.agentNames)) return null;
  if (!isPositiveDuration(v.holderCheckInterval) || !isPositiveDuration(v.maxLeaseAge)) return null;
  const repoSlots = Object.entries(v.repoSlots);
  if (!repoSlots.every(([, slots]) => isCount(slots))) return null;
  const agentNames: unknown[] = v.agentNames;
  if (!agentNames.every(isText) || new Set(agentNames).size !== agentNames.length) return null;
  return { globalSlots: v.globalSlots, repoSlots: Object.fromEntries(repoSlots) as Record<string, number>, agentNames: [...agentNames], holderCheckInterval: v.holderCheckInterval, maxLeaseAge: v.maxLeaseAge };
}

function asConfiguration(v: unknown): FleetConfiguration | null {
  if (!isRecord(v) || !isText(v.fingerprint) || !isText(v.by)) return null;
  const capacity = asCapacity(v.capacity);
  return capacity && { capacity, fingerprint: v.fingerprint, by: v.by };
}
