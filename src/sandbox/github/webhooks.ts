import { createHmac, randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { SandboxLogger } from './types.js';

// Deliveries signed and framed exactly as GitHub frames them, so the gateway's real
// verification code is what the sandbox exercises. Delivery is asynchronous with a few
// retries: a slow or dead receiver delays nothing and can never crash the emulator.

export interface WebhookTarget {
  url: string;
  secret: string;
}

export interface Delivery {
  id: string;
  event: string;
  action: string | null;
  url: string;
  payload: Record<string, unknown>;
  /** The exact bytes sent and signed. */
  body: string;
  signature: string;
  attempts: number;
  /** HTTP status of the last attempt; null when it never got an answer. */
  status: number | null;
  delivered: boolean;
  error: string | null;
  createdAt: string;
}

export function signWebhookBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

const MAX_KEPT = 1000;

export class WebhookSender {
  readonly deliveries: Delivery[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();

  constructor(
    private readonly targets: WebhookTarget[],
    private readonly logger: SandboxLogger,
    private readonly retryDelaysMs: number[] = [200, 1000, 3000],
  ) {
    // Every pending delivery listens for close(); hundreds at once are normal, not a leak.
    setMaxListeners(0, this.abort.signal);
  }

  send(event: string, payload: Record<string, unknown>): void {
    const body = JSON.stringify(payload);
    for (const target of this.targets) {
      const delivery: Delivery = {
        id: randomUUID(),
        event,
        action: typeof payload.action === 'string' ? payload.action : null,
        url: target.url,
        payload,
        body,
        signature: signWebhookBody(target.secret, body),
        attempts: 0,
        status: null,
        delivered: false,
        error: null,
        createdAt: new Date().toISOString(),
      };
      this.deliveries.push(delivery);
      if (this.deliveries.length > MAX_KEPT) this.deliveries.splice(0, this.deliveries.length - MAX_KEPT);
      const run = this.deliver(delivery).finally(() => this.inFlight.delete(run));
      this.inFlight.add(run);
    }
  }

  /** Resolves when every delivery started so far has succeeded or given up. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  close(): void {
    this.abort.abort();
  }

  clear(): void {
    this.deliveries.length = 0;
  }

  private async deliver(delivery: Delivery): Promise<void> {
    for (let attempt = 0; attempt <= this.retryDelaysMs.length && !this.abort.signal.aborted; attempt += 1) {
      if (attempt > 0) await abortableSleep(this.retryDelaysMs[attempt - 1] ?? 1000, this.abort.signal);
      if (this.abort.signal.aborted) break;
      delivery.attempts += 1;
      try {
        const response = await fetch(delivery.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'GitHub-Hookshot/sandbox',
            'x-github-event': delivery.event,
            'x-github-delivery': delivery.id,
            'x-github-hook-id': '1',
            'x-github-hook-installation-target-type': 'repository',
            'x-hub-signature-256': delivery.signature,
          },
          body: delivery.body,
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(10_000)]),
        });
        delivery.status = response.status;
        await response.body?.cancel();
        // GitHub does not retry 4xx either: the receiver rejected the delivery on purpose.
        if (response.ok || (response.status >= 400 && response.status < 500)) {
          delivery.delivered = response.ok;
          delivery.error = response.ok ? null : `receiver answered ${response.status}`;
          return;
        }
        delivery.error = `receiver answered ${response.status}`;
      } catch (error) {
        delivery.error = error instanceof Error ? error.message : String(error);
      }
    }
    this.logger.warn({ delivery: delivery.id, event: delivery.event, url: delivery.url, error: delivery.error }, 'webhook delivery gave up');
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (a closing emulator stops waiting). */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
