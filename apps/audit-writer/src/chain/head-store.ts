import type { TreeHead } from '@countersign/audit-chain';

/**
 * The second, append-only home of the signed tree heads, beside the log's own table: it must keep every
 * head it was given, so that a whole replaced chain in the log no longer matches the heads kept here. The mains give it
 * one head a minute at most (`spacedHeadStore`).
 */
export interface HeadStore {
  /** Keeps `head` for good (a head already kept is not written twice); throws when it cannot. */
  write(head: TreeHead): void;
}
