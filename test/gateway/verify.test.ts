// Signature and freshness checks on their own, without HTTP.
import { sign } from '@octokit/webhooks-methods';
import { describe, expect, it } from 'vitest';
import { linearVerifier, verifyGithubSignature } from '../../src/gateway/verify.js';
import { GITHUB_OLD_SECRET, GITHUB_RETIRED_SECRET, GITHUB_SECRET, LINEAR_OLD_SECRET, LINEAR_RETIRED_SECRET, LINEAR_SECRET, signLinear } from './payloads.js';

describe('Linear signatures', () => {
  const verifier = linearVerifier([LINEAR_SECRET, LINEAR_OLD_SECRET]);
  const body = Buffer.from(JSON.stringify({ type: 'Issue', webhookTimestamp: 1_700_000_000_000 }));

  it('accepts a body signed with either the new or the old secret while rotating', () => {
    expect(verifier.signature(body, signLinear(body, LINEAR_SECRET))).toEqual({ ok: true });
    expect(verifier.signature(body, signLinear(body, LINEAR_OLD_SECRET))).toEqual({ ok: true });
  });

  it('refuses a secret that was rotated out, a missing signature, and a tampered body', () => {
    expect(verifier.signature(body, signLinear(body, LINEAR_RETIRED_SECRET))).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(verifier.signature(body, undefined)).toMatchObject({ ok: false, reason: 'missing-signature' });
    const tampered = Buffer.from(body.toString().replace('Issue', 'Comment'));
    expect(verifier.signature(tampered, signLinear(body))).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(verifier.signature(body, 'not-hex')).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('accepts a timestamp within 60 s of the injected clock, either way, and refuses others', () => {
    const now = 1_700_000_000_000;
    expect(verifier.timestamp({ webhookTimestamp: now - 59_000 }, now)).toEqual({ ok: true });
    expect(verifier.timestamp({ webhookTimestamp: now + 59_000 }, now)).toEqual({ ok: true });
    expect(verifier.timestamp({ webhookTimestamp: now - 61_000 }, now)).toMatchObject({ ok: false, reason: 'stale-timestamp' });
    expect(verifier.timestamp({ webhookTimestamp: now + 61_000 }, now)).toMatchObject({ ok: false, reason: 'stale-timestamp' });
    expect(verifier.timestamp({}, now)).toMatchObject({ ok: false, reason: 'stale-timestamp' });
    expect(verifier.timestamp({ webhookTimestamp: String(now) }, now)).toMatchObject({ ok: false, reason: 'stale-timestamp' });
  });
});

describe('GitHub signatures', () => {
  const secrets = [GITHUB_SECRET, GITHUB_OLD_SECRET];
  const body = JSON.stringify({ action: 'opened', zero: 'ünïcödé' });

  it('accepts a body signed with either the new or the old secret while rotating', async () => {
    expect(await verifyGithubSignature(body, await sign(GITHUB_SECRET, body), secrets)).toEqual({ ok: true });
    expect(await verifyGithubSignature(body, await sign(GITHUB_OLD_SECRET, body), secrets)).toEqual({ ok: true });
  });

  it('refuses a rotated-out secret, a missing or malformed signature, and an empty body', async () => {
    expect(await verifyGithubSignature(body, await sign(GITHUB_RETIRED_SECRET, body), secrets)).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(await verifyGithubSignature(body, undefined, secrets)).toMatchObject({ ok: false, reason: 'missing-signature' });
    const bare = (await sign(GITHUB_SECRET, body)).slice('sha256='.length);
    expect(await verifyGithubSignature(body, bare, secrets)).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(await verifyGithubSignature('', await sign(GITHUB_SECRET, 'x'), secrets)).toMatchObject({ ok: false, reason: 'bad-signature' });
  });
});
