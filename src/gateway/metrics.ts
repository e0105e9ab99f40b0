// The gateway's own Prometheus registry (never the global one, so two gateways in one
// process, as in tests, do not collide and nothing else leaks into /metrics).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type WebhookSource = 'linear' | 'github';

export interface GatewayMetrics {
  registry: Registry;
  /** Every HTTP request, by route and what became of it. */
  requests: Counter<'route' | 'outcome'>;
  /** Refused signatures and stale timestamps: a spike means a wrong secret or an attack. */
  verificationFailures: Counter<'source' | 'reason'>;
  /** Verified deliveries by source and event. Compare with signals to see duplicates dropped upstream. */
  deliveries: Counter<'source' | 'event'>;
  /** What verified deliveries led to: started, signalled, no-run, ignored, invalid, unavailable, error. */
  signals: Counter<'source' | 'result'>;
  /** Verified deliveries by route (`routes.ts`): which of the mappers' routes traffic takes;
   * `conveyor canary` and the test suite read it to say which routes they exercised. */
  routes: Counter<'ingress' | 'event' | 'outcome'>;
  /** Time spent handing a delivery to Temporal. */
  signalLatency: Histogram<'operation'>;
  /** Share of `unknown` among the failures of the last 7 days, and 1 while it is above 20%. */
  unknownFailureShare: Gauge;
  unknownFailureAlert: Gauge;
}

/** The failure share the gauges report, read when /metrics is scraped. */
export type FailureShareReader = () => Promise<{ unknownShare: number; alert: string | null } | null>;

export function createGatewayMetrics(failures?: FailureShareReader): GatewayMetrics {
  const registry = new Registry();
  return {
    registry,
    requests: new Counter({ name: 'conveyor_gateway_requests_total', help: 'HTTP requests by route and outcome', labelNames: ['route', 'outcome'], registers: [registry] }),
    verificationFailures: new Counter({
      name: 'conveyor_gateway_verification_failures_total',
      help: 'Webhook deliveries refused by signature or timestamp checks',
      labelNames: ['source', 'reason'],
      registers: [registry],
    }),
    deliveries: new Counter({ name: 'conveyor_gateway_deliveries_total', help: 'Verified webhook deliveries by source and event', labelNames: ['source', 'event'], registers: [registry] }),
    signals: new Counter({ name: 'conveyor_gateway_signals_total', help: 'What verified deliveries led to', labelNames: ['source', 'result'], registers: [registry] }),
    routes: new Counter({ name: 'conveyor_gateway_routes_total', help: 'Verified webhook deliveries by route: ingress, event and what the mapper made of it', labelNames: ['ingress', 'event', 'outcome'], registers: [registry] }),
    signalLatency: new Histogram({
      name: 'conveyor_gateway_signal_duration_seconds',
      help: 'Time to start or signal an issue run in Temporal',
      labelNames: ['operation'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    unknownFailureShare: new Gauge({
      name: 'conveyor_failures_unknown_ratio',
      help: 'Share of failed issue runs of the last 7 days whose failure class is unknown (from Temporal visibility)',
      registers: [registry],
      async collect() {
        const summary = await failures?.();
        if (summary) this.set(summary.unknownShare);
      },
    }),
    unknownFailureAlert: new Gauge({
      name: 'conveyor_failures_unknown_alert',
      help: '1 while more than 20% of the failures of the last 7 days are unknown: the failure rules need attention',
      registers: [registry],
      async collect() {
        const summary = await failures?.();
        if (summary) this.set(summary.alert ? 1 : 0);
      },
    }),
  };
}
