// Routes: what a delivery can do to the line. Each event mapper (`linear-events.ts`,
// `github-events.ts`) exports its table of routes, built from the same constants the mapper
// decides by, and a test holds the table to the mapper's behaviour on real payloads. The
// gateway counts every delivery by route (`conveyor_gateway_routes_total`), which is how the
// canary and the test suite say which routes they exercised (`conveyor routes`).
import type { GatewayAction } from './actions.js';

export type Ingress = 'linear' | 'github' | 'cli' | 'sweep';

export interface Route {
  ingress: Ingress;
  /** The event as its sender names it: `Issue.update`, `pull_request.opened`, `status`; for the
   * CLI the command, for the sweep its pass. */
  event: string;
  /** The condition that picks this route among the event's routes, in words. */
  when: string;
  /** What it does to the line: `start:issue-ready`, `signal:forge:checks`, `ignore:not-applicable`. */
  outcome: string;
}

/** The outcome a mapped delivery takes: the run it starts or the signal it sends, or why none. */
export function actionOutcome(action: GatewayAction): string {
  switch (action.kind) {
    case 'start':
      return `start:${action.event.kind}`;
    case 'signal':
    case 'signal-each': {
      const { signal } = action;
      return `signal:${signal.name}:${signal.name === 'operator' ? signal.event.command : signal.event.kind}`;
    }
    case 'ignore':
      return `ignore:${action.why}`;
    case 'invalid':
      return 'invalid';
  }
}

/** A blocker finished: the runs it blocked are told (`receive.ts`, `tellBlocked`). */
export const UNBLOCK_OUTCOME = 'signal-blocked:tracker:issue-updated';

/** One key per route, as the gateway's counter and the records of what ran use it. */
export function routeKey(route: Pick<Route, 'ingress' | 'event' | 'outcome'>): string {
  return `${route.ingress} ${route.event} → ${route.outcome}`;
}

/** The event name of a GitHub delivery, as the gateway counts it. */
export function githubEventName(eventName: string, action: unknown): string {
  return typeof action === 'string' ? `${eventName}.${action}` : eventName;
}
