import { randomBytes, verify } from 'node:crypto';

// GitHub App authentication as GitHub does it: the app signs a short-lived RS256 JWT with its
// private key, trades it for an installation token, and uses that token like any other. The
// sandbox holds only the public key, so a wrong key fails here exactly as it would on GitHub.

export interface SandboxApp {
  appId: number | string;
  /** PEM public key matching the private key the client signs with. */
  publicKey: string;
  installationId: number;
  /** The app's slug (default `conveyor`): its installation tokens act as `<slug>[bot]`. */
  slug?: string;
}

/** The login an app's installation tokens act as, as on GitHub: `<slug>[bot]`. */
export function appLogin(app: SandboxApp): string {
  return `${app.slug ?? 'conveyor'}[bot]`;
}

export interface MintedToken {
  token: string;
  expiresAt: Date;
  installationId: number;
}

function decodeSegment(segment: string): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The app a bearer JWT proves to be, or a reason it proves nothing. */
export function verifyAppJwt(jwt: string, apps: SandboxApp[], now = Date.now()): { app: SandboxApp } | { error: string } {
  const [head, body, signature] = jwt.split('.');
  if (!head || !body || !signature) return { error: 'A JSON web token could not be decoded' };
  const header = decodeSegment(head);
  const claims = decodeSegment(body);
  if (!header || !claims || header.alg !== 'RS256') return { error: 'A JSON web token could not be decoded' };
  const app = apps.find((a) => String(a.appId) === String(claims.iss));
  if (!app) return { error: `Integration not found` };
  const valid = verify('RSA-SHA256', Buffer.from(`${head}.${body}`), app.publicKey, Buffer.from(signature, 'base64url'));
  if (!valid) return { error: 'A JSON web token could not be decoded' };
  const seconds = now / 1000;
  if (typeof claims.exp !== 'number' || claims.exp < seconds) return { error: "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires" };
  if (typeof claims.iat !== 'number' || claims.iat > seconds + 60) return { error: "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued" };
  return { app };
}

export class InstallationTokens {
  private readonly minted = new Map<string, MintedToken>();

  mint(installationId: number, lifetimeMs = 60 * 60_000): MintedToken {
    const token: MintedToken = { token: `ghs_${randomBytes(18).toString('base64url')}`, expiresAt: new Date(Date.now() + lifetimeMs), installationId };
    this.minted.set(token.token, token);
    return token;
  }

  isValid(token: string | null): boolean {
    return this.installationOf(token) !== null;
  }

  /** The installation a live token was minted for, or null for any other token. */
  installationOf(token: string | null): number | null {
    if (!token) return null;
    const found = this.minted.get(token);
    if (!found) return null;
    if (found.expiresAt.getTime() <= Date.now()) {
      this.minted.delete(token);
      return null;
    }
    return found.installationId;
  }
}
