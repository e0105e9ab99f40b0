// A closed-loop load generator: `concurrency` callers, each starting its next call when the
// last one answered, so the figures are what the target sustains rather than what was offered.
// The same loop drives HTTP requests and direct Temporal calls, so both sides of a ratio are
// measured alike.
import { Agent, request } from 'node:http';
import { median, percentile } from './stats.js';

export interface RoundResult {
  completed: number;
  elapsedMs: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers by status; a direct call that resolved counts as 200, one that threw as 0. */
  statuses: Record<number, number>;
  firstError: string | null;
  /**
   * CPU time (user + system, µs) the serving side spent per completed call: the target process
   * for a server, the driver for the direct Temporal loop. Set by the caller once measured.
   */
  cpuUsPerCall?: number;
}

export interface LoopOptions {
  concurrency: number;
  /** Stop after this many calls (each index is called once)… */
  total?: number;
  /** …or once this much time has passed. */
  durationMs?: number;
  /** One call; resolves to the status it ended with. */
  call: (index: number) => Promise<number>;
}

export async function closedLoop(options: LoopOptions): Promise<RoundResult> {
  const { concurrency, total, durationMs, call } = options;
  if (total === undefined && durationMs === undefined) throw new Error('closedLoop needs total or durationMs');
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let firstError: string | null = null;
  let next = 0;
  const started = performance.now();
  const deadline = durationMs === undefined ? Infinity : started + durationMs;

  const caller = async () => {
    for (;;) {
      const index = next++;
      if ((total !== undefined && index >= total) || performance.now() >= deadline) return;
      const t0 = performance.now();
      let status: number;
      try {
        status = await call(index);
      } catch (err) {
        status = 0;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
      latencies.push(performance.now() - t0);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  const elapsedMs = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return {
    completed: latencies.length,
    elapsedMs,
    rps: (latencies.length / elapsedMs) * 1000,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    statuses,
    firstError,
  };
}

export interface HttpDelivery {
  headers: Record<string, string>;
  body: Buffer;
}

/** A keep-alive HTTP client over node:http (undici is not a dependency here). */
export function httpPoster(concurrency: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  return {
    post(url: URL, delivery: HttpDelivery): Promise<number> {
      return new Promise((resolve, reject) => {
        const req = request(
          url,
          { method: 'POST', agent, headers: { ...delivery.headers, 'content-length': String(delivery.body.length) } },
          (res) => {
            // Read the answer to the end so the socket goes back to the pool.
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(delivery.body);
      });
    },
    close: () => agent.destroy(),
  };
}

/** Per-scenario figures: medians over the rounds of one side. */
export function summarize(rounds: readonly RoundResult[]): { rps: number; p50Ms: number; p99Ms: number; cpuUsPerCall: number } {
  return {
    rps: median(rounds.map((r) => r.rps)),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    cpuUsPerCall: median(rounds.flatMap((r) => (r.cpuUsPerCall === undefined ? [] : [r.cpuUsPerCall]))),
  };
}
