import { CompactRange, exportSegment, LoggedEntry } from '@countersign/audit-chain';
import { AuditLogRepository, leafOf } from '../log-store/audit-log.repository';

/** A segment that cannot be cut as asked: the caller says so (400 in the API, exit 2 in the CLI). */
export class SegmentRangeError extends Error {}

/** Entries are read this many at a time. */
const PAGE = 10_000;

/**
 * A signed segment file (JSON Lines) of entries from..to-1 with the heads that cover them, and the
 * compact range of the entries before `from`: verifiable offline with the heads' public keys. `to`
 * defaults to the size of the newest signed head, and must be the size of a signed head (so every entry is covered). `progress` hears how many
 * of the `to` entries were read (the prefix's and the segment's), page by page.
 */
export async function buildSegment(log: AuditLogRepository, from = 0, to?: number, progress?: (read: number, total: number) => void): Promise<string> {
  const heads = await log.heads();
  const newest = heads[heads.length - 1]?.treeSize ?? 0;
  const end = to ?? newest;
  if (end <= from) throw new SegmentRangeError('to: must be greater than from (and a signed head must cover it)');
  // Past the newest signed head, entries are not signed yet (or not there): a segment would hand them out unverifiable.
  if (end > newest) throw new SegmentRangeError(`to: ${end} is past the newest signed head (${newest} entries): no signed head covers it yet`);
  // Entries after the last head inside the segment could not be verified offline: it ends at a signed head.
  if (!heads.some((h) => h.treeSize === end)) {
    const below = heads.filter((h) => h.treeSize < end).at(-1)?.treeSize;
    const above = heads.find((h) => h.treeSize > end)?.treeSize;
    const nearest = [below, above].filter((n) => n !== undefined && n > from).join(' or ');
    throw new SegmentRangeError(`to: no signed head has ${end} entries: a segment ends at a signed head${nearest ? ` (the nearest: ${nearest})` : ''}`);
  }
  const pages = async function* (a: number, b: number) {
    for (let i = a; i < b; i += PAGE) {
      const page = await log.range(i, Math.min(b, i + PAGE));
      yield page;
      progress?.(Math.min(b, i + PAGE), end);
    }
  };
  const prefix = CompactRange.empty();
  for await (const page of pages(0, from)) for (const e of page) prefix.append(leafOf(e));
  const entries: LoggedEntry[] = [];
  for await (const page of pages(from, end)) for (const e of page) entries.push(e);
  return exportSegment(
    entries,
    heads.filter((h) => h.treeSize > from && h.treeSize <= end),
    prefix.state(),
  );
}
