import { entryJson, leafHashOfText } from '@countersign/audit-chain';
import type { AuditEntry, LoggedEntry, TreeHead } from '@countersign/audit-chain';

/**
 * One audit entry as stored: its position in the Merkle log, the entry and its leaf hash. `root`, the tree root
 * after it, is there only for entries appended before ADR 0029: roots are now kept at the signed heads and the tip.
 */
export interface StoredEntry {
  index: number;
  entry: AuditEntry;
  leafHash: string;
  root?: string;
  recordedAt: string;
}

export interface AuditQuery {
  actionId?: string;
  correlationId?: string;
  actor?: string;
  type?: string;
  since?: string;
  until?: string;
  limit?: number;
}

/**
 * Which signed heads to read: tree sizes in (`after`, `through`], oldest first or `newestFirst`, at most `sizes` distinct
 * tree sizes (a size's heads come whole: a head re-signed under another key has the same size). Absent: all of them.
 * The heads grow with the log (one per 1,000 entries or per 5 s of traffic): a request, a proof or a segment reads the
 * few it needs (a scale probe, 2026-12-06: `GET /v1/audit/heads` and every proof read all 200,000 heads, 1.1 s each).
 */
export interface HeadRange {
  after?: number;
  through?: number;
  sizes?: number;
  newestFirst?: boolean;
}

/** `range` of heads already in memory (sorted by size, then signing time), as a store that keeps them there reads it. */
export function selectHeads(sorted: readonly TreeHead[], range: HeadRange = {}): TreeHead[] {
  const within = sorted.filter((h) => (range.after === undefined || h.treeSize > range.after) && (range.through === undefined || h.treeSize <= range.through));
  const ordered = range.newestFirst ? within.reverse() : within;
  if (range.sizes === undefined) return ordered;
  const sizes = new Set<number>();
  return ordered.filter((h) => (sizes.add(h.treeSize), sizes.size <= range.sizes!));
}

/** The newest signed head (the largest tree; of its heads, the last signed), reading no other. */
export const newestHead = async (log: Pick<AuditLogRepository, 'heads'>): Promise<TreeHead | undefined> =>
  (await log.heads({ sizes: 1, newestFirst: true }))[0];

export interface ChainTip {
  size: number;
  root: string;
}

/** The tip after an append, and how many of the batch's entries were new (the rest were there already). */
export interface AppendResult extends ChainTip {
  appended: number;
}

/** What the log holds of one action: its entries' types in log order, the policy lane and the review decision it reached. */
export interface ActionTrail {
  actionId: string;
  /**
   * The types of its entries, in log order, without what did not happen to the action: a refusal of an event only
   * (`execution.action.refused.v1` with `final: false`) and a revision whose new action was never proposed.
   */
  types: string[];
  /** The lane of its policy decision, or null when it has none. */
  lane: string | null;
  /**
   * The first decision of its review that decides (approved, rejected, expired, revised), or null when it has none: an
   * escalation (`decision: escalated`) hands the item to the next tier and decides nothing. Read as the review's, every
   * escalated item counted as a gap in the completeness metric, and the critical alert on it fired while escalations
   * happened (soak probe, 2026-12-05).
   */
  review: string | null;
}

/** The review decision that hands an item on (the review clock's escalation) rather than deciding it. */
export const ESCALATED = 'escalated';

/**
 * A write cut short at the end of a store's file (a power loss mid-append), found when the store opened, set aside and
 * cut off: the file now ends at its last complete line (docs/adr/0005). Only the start of a JSON text counts as one.
 */
export interface TornWrite {
  /** The file whose last line was cut short (the log, or its file of signed heads). */
  file: string;
  /** Its 1-based line number. */
  line: number;
  /** How many bytes it had. */
  bytes: number;
  /** Their SHA-256 (hex): what the file where they are kept must still hold. */
  digest: string;
  /** Where those bytes are kept (never deleted). */
  keptAt: string;
}

/**
 * The append-only, hash-chained audit store: one entry per event id whatever the redelivery, each with
 * its index in the RFC 6962 log and its leaf hash; the tip's root and the signed tree heads beside it. The writer appends,
 * the auditors' API and the operators' CLI (`countersign audit …`) read: all through this port.
 */
export interface AuditLogRepository {
  /**
   * The log's pseudonym key (32 random bytes or more, made with the log and never changed): the writer keeps an entry's
   * action digests as their HMAC under it (`withoutOracles`), so that equal digests stay equal across the log and none
   * checks a guess of what the entry masks. Whoever reads the log through the audit API never sees it.
   */
  pseudonymKey(): Promise<Buffer>;
  /** Appends the entries not already present, in order, as one durable batch. */
  appendBatch(entries: AuditEntry[]): Promise<AppendResult>;
  query(q: AuditQuery): Promise<StoredEntry[]>;
  /** Entries from..to-1 in index order, for verification and export. */
  range(from: number, to: number): Promise<LoggedEntry[]>;
  /**
   * The recorded leaf hashes (hex) of entries from..to-1 in index order, without the entries: what a proof or a
   * segment's prefix needs. Absent: the callers hash what `range` gives (`leafOf`).
   */
  leafHashes?(from: number, to: number): Promise<string[]>;
  /**
   * A store that keeps copies of an entry's fields beside it for its searches (by action, actor, type, event id, time):
   * the first entry whose copy differs from what the entry hashes, and which copy. The hash does not cover the copies,
   * so a copy changed would hide an entry from a search, or show it under another actor, unseen by the chain (red team,
   * round 14). Absent: the store searches the entries themselves.
   */
  searchFieldMismatch?(): Promise<{ index: number; field: string; shown: string | null; hashed: string | null } | undefined>;
  tip(): Promise<ChainTip>;
  /**
   * One past the highest index among the stored entries (0 when there are none), read from the entries
   * themselves and not from the recorded tip: a verifier walks what is really there, tampered or not.
   */
  extent(): Promise<number>;
  /**
   * The trail of every action proposed or decided by the policy engine at or after `since` (ISO 8601), and before
   * `until` when given, each with every type logged for it: what a completeness check needs (the metric's window leaves
   * out the actions too recent to have settled).
   */
  trailsSince(since: string, until?: string): Promise<ActionTrail[]>;
  saveHead(head: TreeHead): Promise<void>;
  /** The signed heads `range` names (`HeadRange`), all of them without one. */
  heads(range?: HeadRange): Promise<TreeHead[]>;
  /**
   * The writer stopped cleanly with every entry under `head`. A store that others can write to (a file) remembers it and
   * refuses, at its next load, an entry past that head: only the writer appends, and it did not (red team, 2026-12-04:
   * a line appended to the file of a cleanly stopped writer was adopted at the next start and signed into a head). The
   * writer's next append forgets it: a tail after a crash is its own. Absent: the store's appends are guarded otherwise.
   *
   * Present only on a store with one writer: that writer also records its clean stop in the log itself, under the final
   * head (`audit.log.stopped.v1`), and its next start there (`audit.log.resumed.v1`, signed before anything else); the
   * store refuses any other entry past a head that ends in a clean stop, record or no record (docs/adr/0005).
   */
  stoppedCleanly?(head: TreeHead): Promise<void>;
  /**
   * The torn writes the store set aside when it opened: a last line with no newline that is no complete line but the
   * start of one, past every signed head. The chain service records each in the log at load (`audit.log.recovered.v1`)
   * and logs it (`audit-torn-write`). Absent: the store's writes are transactions.
   */
  tornWrites?(): Promise<TornWrite[]>;
  /**
   * The store verified every head's signature as it opened (the file, given its home's keys): the writer need not check
   * the newest again. Absent: the writer checks the newest head against its own keys before it builds on it.
   */
  readonly headsVerifiedAtOpen?: boolean;
}

/** The leaf hash of a logged entry: from the bytes as hashed when the store keeps them, else from the entry's canonical JSON. */
export const leafOf = (e: LoggedEntry): Buffer => (e.bytes !== undefined ? leafHashOfText(e.bytes) : leafHashOfText(entryJson(e.entry)));
