import { createHash } from 'node:crypto';

/**
 * The key an action is sent to its target under: the same for every attempt (the first call and every re-send by
 * the reconciler), and bound to what is done, so an edited action (a new digest) is a new key.
 */
export const idempotencyKeyOf = (actionId: string, digest: string): string => createHash('sha256').update(`${actionId}:${digest}`).digest('hex');
