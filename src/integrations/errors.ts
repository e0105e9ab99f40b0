import type { FailureClass } from '../domain/failure.js';

export type Service = 'linear' | 'github' | 'git' | 'agent' | 'temporal';

/**
 * What an integration throws when the outside world refuses: the class decides retry or
 * escalate, and the message says what failed and what to do, never a credential.
 */
export class IntegrationError extends Error {
  override readonly name = 'IntegrationError';
  constructor(
    message: string,
    readonly failureClass: FailureClass,
    readonly details: { service: Service; status?: number; retryAfterMs?: number },
  ) {
    super(message);
  }
}
