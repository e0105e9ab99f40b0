// Routing as plain data: which rules fired for an issue, whether its team's `defaultRepo` was
// used, and which repos it could have gone to. Workflow code imports these types (through
// the triage result), so this module stays free of I/O and Node built-ins.

/** One routing rule whose every condition held for the issue. */
export interface RuleMatch {
  /** The rule's index under `routing` in factory.yaml. */
  rule: number;
  repo: string;
  agent: string | null;
  /** The conditions that held, readable: `team DEMO`, `label api`, `title /docs?/`. */
  conditions: string[];
}

export interface RouteTrace {
  /** The repo the issue goes to; null when routing escalates. */
  repo: string | null;
  /** Every rule whose conditions all held, in config order. */
  fired: RuleMatch[];
  /** No rule fired and the team's opt-in `defaultRepo` was used. */
  defaultUsed: boolean;
  /** When routing escalates: the repos a human can choose from (the fired rules' repos when
   * several fired; otherwise the repos this team's rules name, else every configured repo). */
  candidates: string[];
  /** Why there is no repo (`no-match`, `ambiguous`, `unknown-repo`); null when routed. */
  problem: 'no-match' | 'ambiguous' | 'unknown-repo' | null;
}

/** An unfinished issue that blocks another (a Linear "blocks" relation). */
export interface BlockingIssue {
  id: string;
  key: string;
  /** The blocker's workflow state name, e.g. "In Progress". */
  state: string;
}

/** A repo whose `on-green-with-review` is not yet in force: factory PRs merged clean by a
 * human so far, and how many it takes. Until then the repo merges as `never`. */
export interface Graduation {
  repo: string;
  merged: number;
  needed: number;
}

/** What `conveyor triage --all` sorts issues into. */
export type TriageCategory = 'dispatchable' | 'thin' | 'reserved' | 'unroutable' | 'blocked' | 'has-pr' | 'not-ready';
