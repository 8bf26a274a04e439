import { CompactRange, exportSegment } from '@countersign/audit-chain';
import { AuditLogRepository, leafOf } from '../log-store/audit-log.repository';

/** A segment that cannot be cut as asked: the caller says so (400 in the API, exit 2 in the CLI). */
export class SegmentRangeError extends Error {}

/**
 * A signed segment file (JSON Lines) of entries from..to-1 with the heads that cover them, and the
 * compact range of the entries before `from`: verifiable offline with the heads' public keys. `to`
 * defaults to the size of the newest signed head, and must be covered by one.
 */
export async function buildSegment(log: AuditLogRepository, from = 0, to?: number): Promise<string> {
  const heads = await log.heads();
  const end = to ?? heads[heads.length - 1]?.treeSize ?? 0;
  if (end <= from) throw new SegmentRangeError('to: must be greater than from (and a signed head must cover it)');
  const prefix = CompactRange.empty();
  for (const e of await log.range(0, from)) prefix.append(leafOf(e));
  return exportSegment(
    await log.range(from, end),
    heads.filter((h) => h.treeSize > from && h.treeSize <= end),
    prefix.state(),
  );
}
