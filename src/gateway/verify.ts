// Signature and freshness checks, run on the raw body before anything else reads it. Both
// sources accept several secrets at once, so a secret can be rotated without dropping
// deliveries: add the new one, switch the sender, then remove the old one.
import { LINEAR_WEBHOOK_TS_FIELD, LinearWebhookClient } from '@linear/sdk/webhooks';
import { verify as verifyGithubHmac } from '@octokit/webhooks-methods';

export type VerifyFailure = 'missing-signature' | 'bad-signature' | 'stale-timestamp';

export type Verification = { ok: true } | { ok: false; reason: VerifyFailure; message: string };

const OK: Verification = { ok: true };

/** Linear refuses replays by signing `webhookTimestamp`; a delivery older than this is refused. */
export const LINEAR_TIMESTAMP_TOLERANCE_MS = 60_000;

export interface LinearVerifier {
  signature(rawBody: Buffer, signature: string | undefined): Verification;
  /** Checked once the verified body has been parsed (the timestamp is inside it). */
  timestamp(payload: unknown, now: number): Verification;
}

/**
 * Linear: `linear-signature` is the hex HMAC-SHA256 of the raw body. The SDK's client does the
 * constant-time compare; its own timestamp check reads the wall clock, so freshness is checked
 * here instead, against an injectable clock.
 */
export function linearVerifier(secrets: readonly string[], toleranceMs = LINEAR_TIMESTAMP_TOLERANCE_MS): LinearVerifier {
  const clients = secrets.map((secret) => new LinearWebhookClient(secret));
  return {
    signature(rawBody, signature) {
      if (!signature) return { ok: false, reason: 'missing-signature', message: 'missing linear-signature header' };
      const matches = clients.some((client) => {
        try {
          // No timestamp argument: the SDK then checks the signature only.
          return client.verify(rawBody, signature);
        } catch {
          return false;
        }
      });
      return matches ? OK : { ok: false, reason: 'bad-signature', message: 'linear-signature does not match any configured secret' };
    },
    timestamp(payload, now) {
      const value = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>)[LINEAR_WEBHOOK_TS_FIELD] : undefined;
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        return { ok: false, reason: 'stale-timestamp', message: `${LINEAR_WEBHOOK_TS_FIELD} is missing` };
      }
      if (Math.abs(now - value) > toleranceMs) {
        return { ok: false, reason: 'stale-timestamp', message: `${LINEAR_WEBHOOK_TS_FIELD} is more than ${toleranceMs / 1000} s away from now` };
      }
      return OK;
    },
  };
}

/** GitHub: `X-Hub-Signature-256` is `sha256=` and the hex HMAC-SHA256 of the raw body. */
export async function verifyGithubSignature(body: string, signature: string | undefined, secrets: readonly string[]): Promise<Verification> {
  if (!signature) return { ok: false, reason: 'missing-signature', message: 'missing x-hub-signature-256 header' };
  if (body.length > 0) {
    for (const secret of secrets) {
      if (await verifyGithubHmac(secret, body, signature)) return OK;
    }
  }
  return { ok: false, reason: 'bad-signature', message: 'x-hub-signature-256 does not match any configured secret' };
}
