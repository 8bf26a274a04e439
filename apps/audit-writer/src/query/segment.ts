import { SEGMENT_VERSION } from '@countersign/audit-chain';
import type { LoggedEntry, SegmentPrefix, TreeHead } from '@countersign/audit-chain';
import { AuditLogRepository, newestHead } from '../log-store/audit-log.repository';
import { LeafTree } from './leaf-tree';

/** A segment that cannot be cut as asked: the caller says so (400 in the API, exit 2 in the CLI). */
export class SegmentRangeError extends Error {}

/** Entries are read this many at a time. */
const PAGE = 10_000;

/** Entry lines per piece of text handed on: the API's stream never builds more than this at once. */
const LINES = 1_000;

/** The most entries `GET /v1/audit/segment` cuts in one answer; a longer log is exported page by page (docs/adr/0005). */
export const MAX_SEGMENT_ENTRIES = 100_000;

export interface SegmentOptions {
  /** Refuse a segment of more entries than this (the API's `MAX_SEGMENT_ENTRIES`; the CLI has none). */
  maxEntries?: number;
  /** Hears how many of the `to` entries were read (the prefix's and the segment's), page by page. */
  progress?: (read: number, total: number) => void;
  /** Where the prefix's compact range comes from: a tree that keeps its subtree roots across calls (the API's). */
  tree?: LeafTree;
}

/**
 * A signed segment file (JSON Lines) of entries from..to-1 with the heads that cover them, and the compact range of the
 * entries before `from`: verifiable offline with the heads' public keys, the same text as `exportSegment`. `to` defaults
 * to the size of the newest signed head, and must be the size of a signed head (so every entry is covered). The range
 * is checked before anything is read; the text then comes piece by piece, never as one string.
 */
export async function openSegment(log: AuditLogRepository, from = 0, to?: number, options: SegmentOptions = {}): Promise<AsyncIterable<string>> {
  // The heads it needs, not every head of the log (they grow with it): the newest, the one ending it, its neighbours.
  const newest = (await newestHead(log))?.treeSize ?? 0;
  const end = to ?? newest;
  if (end <= from) throw new SegmentRangeError('to: must be greater than from (and a signed head must cover it)');
  // Past the newest signed head, entries are not signed yet (or not there): a segment would hand them out unverifiable.
  if (end > newest) throw new SegmentRangeError(`to: ${end} is past the newest signed head (${newest} entries): no signed head covers it yet`);
  // Entries after the last head inside the segment could not be verified offline: it ends at a signed head.
  if (!(await log.heads({ after: end - 1, through: end })).length) {
    const below = (await log.heads({ after: from, through: end - 1, sizes: 1, newestFirst: true }))[0]?.treeSize;
    const above = (await log.heads({ after: end, sizes: 1 }))[0]?.treeSize;
    const nearest = [below, above].filter((n) => n !== undefined && n > from).join(' or ');
    throw new SegmentRangeError(`to: no signed head has ${end} entries: a segment ends at a signed head${nearest ? ` (the nearest: ${nearest})` : ''}`);
  }
  const max = options.maxEntries;
  if (max !== undefined && end - from > max) {
    // A page ends at a signed head too: name the last one that fits, to start from.
    const fit = (await log.heads({ after: from, through: from + max, sizes: 1, newestFirst: true }))[0]?.treeSize;
    throw new SegmentRangeError(
      `a segment holds at most ${max} entries, and ${from}..${end} has ${end - from}: page with from and to` +
        (fit !== undefined ? ` (from=${from}&to=${fit}, then from=${fit})` : ` (no signed head lies within ${max} entries of ${from})`),
    );
  }
  // The prefix before the first line: a log that cannot give it fails the request, not a stream already under way.
  const prefix = await (options.tree ?? new LeafTree(log)).compactRange(from);
  options.progress?.(from, end);
  const covering = await log.heads({ after: from, through: end });
  return lines(log, prefix, from, end, covering, options);
}

async function* lines(
  log: AuditLogRepository,
  prefix: SegmentPrefix,
  from: number,
  end: number,
  heads: TreeHead[],
  options: SegmentOptions,
): AsyncIterable<string> {
  yield `${JSON.stringify({ kind: 'segment', version: SEGMENT_VERSION, prefix })}\n`;
  const bySize = new Map<number, TreeHead[]>();
  for (const h of heads) bySize.set(h.treeSize, [...(bySize.get(h.treeSize) ?? []), h]);
  for (let i = from; i < end; i += PAGE) {
    const page = await log.range(i, Math.min(end, i + PAGE));
    for (let j = 0; j < page.length; j += LINES)
      yield page
        .slice(j, j + LINES)
        .map((e) => entryLines(e, bySize))
        .join('');
    options.progress?.(Math.min(end, i + PAGE), end);
  }
}

/** One entry's line and the lines of the heads it completes, as `exportSegment` writes them. */
function entryLines(e: LoggedEntry, bySize: Map<number, TreeHead[]>): string {
  const entry = e.entry ?? JSON.parse(e.bytes!);
  let text = `${JSON.stringify(
    e.leafHash !== undefined ? { kind: 'entry', index: e.index, leafHash: e.leafHash, entry } : { kind: 'entry', index: e.index, root: e.root, entry },
  )}\n`;
  for (const h of bySize.get(e.index + 1) ?? []) text += `${JSON.stringify({ kind: 'head', treeHead: h })}\n`;
  return text;
}

/** `openSegment` as one string: the CLI's `audit export`, which writes one file. */
export async function buildSegment(log: AuditLogRepository, from = 0, to?: number, progress?: (read: number, total: number) => void): Promise<string> {
  const pieces: string[] = [];
  for await (const piece of await openSegment(log, from, to, { progress })) pieces.push(piece);
  return pieces.join('');
}
