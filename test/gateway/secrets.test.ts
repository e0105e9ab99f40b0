import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { secretsFromEnv } from '../../src/gateway/secrets.js';

describe('secretsFromEnv', () => {
  it('reads comma-separated secrets, so an old and a new one can be active during rotation', () => {
    expect(secretsFromEnv({ LINEAR_WEBHOOK_SECRETS: ' new ,old,', GITHUB_WEBHOOK_SECRETS: 'gh' })).toEqual({ linear: ['new', 'old'], github: ['gh'] });
  });

  it('names each missing variable and says what to set it to', () => {
    let error: unknown;
    try {
      secretsFromEnv({ LINEAR_WEBHOOK_SECRETS: ' , ' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('LINEAR_WEBHOOK_SECRETS is not set');
    expect(message).toContain('GITHUB_WEBHOOK_SECRETS is not set');
    expect(message).toMatch(/separated by commas/);
  });

  it('never puts a secret into its error', () => {
    expect(() => secretsFromEnv({ LINEAR_WEBHOOK_SECRETS: 'top-secret-value' })).toThrow(/GITHUB_WEBHOOK_SECRETS/);
    expect(() => secretsFromEnv({ LINEAR_WEBHOOK_SECRETS: 'top-secret-value' })).not.toThrow(/top-secret-value/);
  });
});
