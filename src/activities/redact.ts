// Anything posted to the tracker or a PR, and anything logged, passes through this first.
// It knows the factory's own secrets by value, and common token shapes by pattern.

const TOKEN_PATTERNS: RegExp[] = [
  /\bgh[pousr]_[A-Za-z0-9]{20,}\b/g,
  /\bgithub_pat_[A-Za-z0-9_]{20,}\b/g,
  /\blin_(?:api|oauth|wh)_[A-Za-z0-9]{20,}\b/g,
  /\bsk-(?:ant-)?[A-Za-z0-9_-]{20,}\b/g,
  /\bAKIA[0-9A-Z]{16}\b/g,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  /(authorization:\s*(?:bearer|basic|token)\s+)[^\s"']+/gi,
  /(https?:\/\/)[^/\s:@]+:[^/\s@]+@/g,
];

/** Environment variables whose values are secrets (by name). */
export const SECRET_ENV_PATTERN = /(TOKEN|SECRET|PASSWORD|API_KEY|PRIVATE_KEY|CREDENTIAL)/i;

export type Redactor = (text: string) => string;

export function createRedactor(env: Record<string, string | undefined> = process.env): Redactor {
  const secrets = Object.entries(env)
    .filter(([name, value]) => SECRET_ENV_PATTERN.test(name) && value && value.length >= 6)
    .flatMap(([, value]) => value!.split(',').map((v) => v.trim()))
    .filter((v) => v.length >= 6)
    .sort((a, b) => b.length - a.length);
  return (text: string) => {
    let out = text;
    for (const secret of secrets) out = out.split(secret).join('[redacted]');
    for (const pattern of TOKEN_PATTERNS) {
      out = out.replace(pattern, (match, prefix?: string) => (typeof prefix === 'string' && match.startsWith(prefix) ? `${prefix}[redacted]` : '[redacted]'));
    }
    return out;
  };
}
