import type { TreeHead } from '@countersign/audit-chain';
import type { HeadStore } from './head-store';

/**
 * How far apart the head store keeps heads by default: one a minute at most. The writer signs one every 2 s (embedded)
 * or 5 s (distributed) while entries come in; kept one file each, a busy embedded home gathered 43,200 files a day, each
 * a 4 KiB block on disk and read at every start (100,000 of them: 396 MB, read in 9.0 s from a cold disk, 2026-12-07).
 */
export const DEFAULT_KEEP_EVERY_MS = 60_000;

/**
 * Keeps in `inner` a head signed at least `everyMs` after the last one it kept there (the first one given always; a
 * clock that went back since counts as time enough, as `TreeHeadPolicy` reckons it), and passes over the rest. Each head
 * is still in the log's own heads and on the tree-head topic; what the store keeps is one head a minute that nothing
 * can take back. A chain replaced in the log mismatches every kept head past the first entry it changed, so only a
 * change of the last `everyMs` of entries can escape this store (not a follower of the topic, nor, embedded, the home's
 * progress marks, which note every head: docs/adr/0005, addendum 2026-12-07). 0 keeps every head.
 */
export function spacedHeadStore(inner: HeadStore, everyMs = DEFAULT_KEEP_EVERY_MS): HeadStore {
  let lastKept: number | undefined;
  return {
    write(head: TreeHead) {
      const at = Date.parse(head.timestamp);
      const since = lastKept === undefined ? Infinity : at - lastKept;
      if (since < everyMs && since >= 0) return;
      inner.write(head);
      lastKept = at;
    },
  };
}
