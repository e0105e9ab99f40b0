// Every intended change to workflow code that runs in flight ships behind `patched(id)`, so
// runs started on the old code replay unchanged (issue runs live 7–21 days; the fleet for
// ever). The deprecation path of a patch, one deploy at a time:
//   1. ship `if (patched(id)) new else old` — old runs replay the old branch, new runs take the new;
//   2. once no open run started before step 1 (older than the longest run: 21 days plus the
//      escalation window), ship `deprecatePatch(id)` with only the new branch;
//   3. once no open run predates step 2, delete the call and the id here.
// The archived histories in test/histories/archive/<id>/ are what step 1 must keep replaying;
// delete them with step 3.
export const PATCHES = {
  /** Move the issue to In Progress while the agent starts, not before: one round trip less per dispatch. */
  moveWhileAgentStarts: 'move-to-in-progress-while-agent-starts',
  /** Prepare the worktree while waiting for an agent slot, not inside the agent activity after it. */
  prepareWhileQueued: 'prepare-workspace-while-queued',
  /** Endings are final (blocked or retry later), a ledger per issue, commands answered in every
   * phase, merge refusals classified, publishing split from the agent. */
  endingsFinal: 'endings-final',
  /** The review window restarts on each new head: a re-dispatch late in one head's window gives
   * the next head a full window, not what was left. */
  reviewWindowPerHead: 'review-window-per-head',
  /** Publishing the agent's commits and removing its worktree run on the task queue of the host
   * that ran the agent; a host gone past policies.timeouts.hostGone re-dispatches elsewhere. */
  hostAffinity: 'host-affinity',
  /** A ready issue's run triages and claims its lease inside the workflow task that started it
   * (local activities, the lease by update): its agent is scheduled by that same task. */
  dispatchInOneTask: 'dispatch-in-one-workflow-task',
  /** A thin issue's escalation comment is posted by a local activity in the run's workflow task
   * (on the dispatch-in-one-task path), so an escalation costs one workflow task, not two and an
   * activity task. And this one marker stands for every patch above: a run that records it takes
   * all of them without asking for each (a marker costs two events, with its TemporalChangeVersion
   * upsert: ten per dispatched run become two). */
  escalateInOneTask: 'escalate-in-one-workflow-task',
} as const;
