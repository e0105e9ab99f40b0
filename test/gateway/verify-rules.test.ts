// The edges of signature and freshness checks, with the messages the gateway answers with:
// exactly at the tolerance, a custom tolerance, timestamps that are not times, and bodies or
// signatures that are present but empty.
import { sign } from '@octokit/webhooks-methods';
import { describe, expect, it } from 'vitest';
import { LINEAR_TIMESTAMP_TOLERANCE_MS, linearVerifier, verifyGithubSignature } from '../../src/gateway/verify.js';
import { GITHUB_SECRET, LINEAR_OLD_SECRET, LINEAR_SECRET, signLinear } from './payloads.js';

const now = 1_700_000_000_000;

describe('Linear freshness', () => {
  const verifier = linearVerifier([LINEAR_SECRET]);

  it('accepts a delivery exactly at the tolerance, either way, and refuses one a millisecond past it', () => {
    expect(LINEAR_TIMESTAMP_TOLERANCE_MS).toBe(60_000);
    expect(verifier.timestamp({ webhookTimestamp: now - 60_000 }, now)).toEqual({ ok: true });
    expect(verifier.timestamp({ webhookTimestamp: now + 60_000 }, now)).toEqual({ ok: true });
    expect(verifier.timestamp({ webhookTimestamp: now - 60_001 }, now)).toEqual({ ok: false, reason: 'stale-timestamp', message: 'webhookTimestamp is more than 60 s away from now' });
  });

  it('takes its tolerance from the caller', () => {
    const strict = linearVerifier([LINEAR_SECRET], 5_000);
    expect(strict.timestamp({ webhookTimestamp: now - 5_000 }, now)).toEqual({ ok: true });
    expect(strict.timestamp({ webhookTimestamp: now - 5_001 }, now)).toEqual({ ok: false, reason: 'stale-timestamp', message: 'webhookTimestamp is more than 5 s away from now' });
  });

  it('says the timestamp is missing when it is not a finite number, or the payload is not an object', () => {
    const missing = { ok: false, reason: 'stale-timestamp', message: 'webhookTimestamp is missing' };
    for (const payload of [{}, { webhookTimestamp: String(now) }, { webhookTimestamp: Number.NaN }, { webhookTimestamp: Number.POSITIVE_INFINITY }, null, 'text', 42]) {
      expect(verifier.timestamp(payload, now)).toEqual(missing);
    }
  });
});

describe('Linear signatures', () => {
  const body = Buffer.from('{"type":"Issue"}');

  it('answers with what is wrong', () => {
    const verifier = linearVerifier([LINEAR_SECRET]);
    expect(verifier.signature(body, undefined)).toEqual({ ok: false, reason: 'missing-signature', message: 'missing linear-signature header' });
    expect(verifier.signature(body, '')).toEqual({ ok: false, reason: 'missing-signature', message: 'missing linear-signature header' });
    expect(verifier.signature(body, signLinear(body, LINEAR_OLD_SECRET))).toEqual({ ok: false, reason: 'bad-signature', message: 'linear-signature does not match any configured secret' });
  });

  it('accepts nothing when no secret is configured', () => {
    expect(linearVerifier([]).signature(body, signLinear(body))).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('tries every secret, not only the first', () => {
    expect(linearVerifier([LINEAR_OLD_SECRET, LINEAR_SECRET]).signature(body, signLinear(body, LINEAR_SECRET))).toEqual({ ok: true });
  });
});

describe('GitHub signatures', () => {
  it('answers with what is wrong', async () => {
    expect(await verifyGithubSignature('{}', undefined, [GITHUB_SECRET])).toEqual({ ok: false, reason: 'missing-signature', message: 'missing x-hub-signature-256 header' });
    expect(await verifyGithubSignature('{}', '', [GITHUB_SECRET])).toEqual({ ok: false, reason: 'missing-signature', message: 'missing x-hub-signature-256 header' });
    expect(await verifyGithubSignature('{}', await sign('another-secret', '{}'), [GITHUB_SECRET])).toEqual({ ok: false, reason: 'bad-signature', message: 'x-hub-signature-256 does not match any configured secret' });
  });

  it('refuses an empty body even with a signature made for it', async () => {
    const emptySignature = `sha256=${'0'.repeat(64)}`;
    expect(await verifyGithubSignature('', emptySignature, [GITHUB_SECRET])).toEqual({ ok: false, reason: 'bad-signature', message: 'x-hub-signature-256 does not match any configured secret' });
  });

  it('accepts nothing when no secret is configured', async () => {
    expect(await verifyGithubSignature('{}', await sign(GITHUB_SECRET, '{}'), [])).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('tries every secret, not only the first', async () => {
    expect(await verifyGithubSignature('{}', await sign(GITHUB_SECRET, '{}'), ['old-secret', GITHUB_SECRET])).toEqual({ ok: true });
  });
});
