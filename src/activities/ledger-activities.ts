// An issue's ledger across its runs: each run keeps it in its memo (LEDGER_MEMO_KEY), and the
// issue's next run reads it from the latest closed run of the same workflow id, with one
// visibility query. The memo survives the run however it ended (completed, failed, terminated),
// and needs no worker to read, unlike a query.
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { LedgerActivities } from '../workflows/activity-types.js';
import { LEDGER_MEMO_KEY } from '../workflows/messages.js';
import type { IssueLedger } from '../workflows/state.js';

const count = z.number().nonnegative();
/** Checked, not trusted: a memo written by another build (or by hand) must not poison a run. */
const ledgerShape = z.object({
  runs: count,
  agentRuns: count,
  costUsd: count,
  sinceGoAhead: z.object({ agentRuns: count, costUsd: count, retries: count, stalls: count }),
  endings: z.array(z.object({ outcome: z.string(), kind: z.enum(['success', 'ignored', 'retry-later', 'blocked']), at: z.number(), reason: z.string() })),
});

export function createLedgerActivities(deps: { client: Client }): LedgerActivities {
  return {
    async readIssueLedger({ workflowId }) {
      const quoted = `'${workflowId.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
      let latest: { closedAt: number; memo: unknown } | null = null;
      for await (const execution of deps.client.workflow.list({ query: `WorkflowId = ${quoted} AND ExecutionStatus != 'Running'` })) {
        const closedAt = execution.closeTime?.getTime() ?? 0;
        if (!latest || closedAt > latest.closedAt) latest = { closedAt, memo: execution.memo?.[LEDGER_MEMO_KEY] };
      }
      if (!latest || latest.memo === undefined) return null;
      const parsed = ledgerShape.safeParse(latest.memo);
      return parsed.success ? (parsed.data as IssueLedger) : null;
    },
  };
}
