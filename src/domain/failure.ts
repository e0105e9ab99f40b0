/** Every failed activity is put in one of these classes; the class picks the retry behaviour. */
export type FailureClass = 'transient' | 'auth' | 'logic' | 'resource' | 'timeout' | 'unknown';

export const FAILURE_CLASSES: readonly FailureClass[] = ['transient', 'auth', 'logic', 'resource', 'timeout', 'unknown'];

/** Classes that can never succeed by trying again: they escalate instead of retrying. */
export const NON_RETRYABLE_CLASSES: readonly FailureClass[] = ['auth', 'logic'];
