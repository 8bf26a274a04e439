import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4 (the last release) never stops checking an empty request queue. Once a connection has had an answer,
 * `RequestQueue.scheduleCheckPendingRequests` arms a timer even with nothing pending and no throttle. Its delay is then
 * negative, so Node runs it after 1 ms, and the check it runs arms the next one. Every connection of every client
 * (each consumer, producer and admin has its own) wakes its process about a thousand times a second, for good. Upstream:
 * tulios/kafkajs#1556, #1604 and #1704; the fix (#1667) is not released.
 *
 * Five idle services spent 465–476 ms of CPU a second between them; with this fix, 275–282 ms. See docs/adr/0044.
 *
 * `fixKafkajsRequestQueue` restores what the method's own comment intends: a check is scheduled only for a request that
 * waits (an in-flight limit or a throttle holds it), or for the end of a throttle. A request that finds room is sent at
 * once by `push`, and an answer checks the queue itself (`fulfillRequest`), as before.
 *
 * The method is replaced only while kafkajs ships it exactly as 2.2.4 does (its source's SHA-256). Any other version is
 * left alone, and `kafkajs-request-queue.spec.ts` fails, so an upgrade looks at this again.
 */

/** SHA-256 of `scheduleCheckPendingRequests`'s source in kafkajs 2.2.4, the version fixed here. */
export const KAFKAJS_2_2_4_SCHEDULE_SHA256 = '04347ea969c6f2e3754427c0cbaee0bd4ce947fbd82f7b6e027506a06dfc581a';

/** kafkajs' own constant: how soon a waiting request is looked at again when nothing throttles the connection (ms). */
const CHECK_PENDING_REQUESTS_INTERVAL = 10;

/** The part of kafkajs' `RequestQueue` that the method reads and writes. */
interface RequestQueueState {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
}

interface RequestQueueClass {
  prototype: RequestQueueState & { scheduleCheckPendingRequests(this: RequestQueueState): void };
}

/** kafkajs' RequestQueue class, from the kafkajs that this package resolves (the one the bus's clients use). */
export function kafkajsRequestQueue(): RequestQueueClass {
  return createRequire(require.resolve('kafkajs'))('./src/network/requestQueue/index.js') as RequestQueueClass;
}

/** SHA-256 of a function's source: which version of a method is installed. */
export const sourceSha256 = (f: (...a: never[]) => unknown) => createHash('sha256').update(f.toString()).digest('hex');

/** The method as kafkajs means it: no timer while nothing waits and nothing throttles the connection. */
function scheduleCheckPendingRequests(this: RequestQueueState): void {
  if (this.throttleCheckTimeoutId) return;
  let scheduleAt = this.throttledUntil - Date.now();
  if (this.pending.length > 0) scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL;
  // Nothing waits and no throttle ends later: the next push or answer checks the queue; no timer (kafkajs 2.2.4 armed
  // one here, with a negative delay, for ever).
  else if (scheduleAt <= 0) return;
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, scheduleAt);
}

/**
 * Replaces kafkajs 2.2.4's `scheduleCheckPendingRequests` (see above), once per process; idempotent. Returns whether
 * the installed method is the fixed one now (false: another kafkajs, left as it is).
 */
export function fixKafkajsRequestQueue(): boolean {
  const proto = kafkajsRequestQueue().prototype;
  if (proto.scheduleCheckPendingRequests === scheduleCheckPendingRequests) return true;
  if (sourceSha256(proto.scheduleCheckPendingRequests) !== KAFKAJS_2_2_4_SCHEDULE_SHA256) return false;
  proto.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  return true;
}
