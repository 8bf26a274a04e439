// The lines of the embedded audit file (`audit/audit.jsonl`) as the writer writes them: what its start and `audit verify
// --file` both hold a line to, beyond its hash.
import { extraField } from '@countersign/audit-chain';
import type { StoredEntry } from './audit-log.repository';

/**
 * The fields of a line of the embedded audit file, as `FileAuditLogRepository` writes them (`root` only on lines written
 * before ADR 0029). A line with any other field was written by someone else.
 */
export const AUDIT_FILE_LINE_FIELDS: readonly string[] = ['index', 'entry', 'leafHash', 'recordedAt', 'root'];

/**
 * What is wrong with a line of the audit file that its hash does not show, as `audit verify --file` reads it: a field the
 * writer does not write, a time other than the one hashed with the entry (`_recordedAt`), or other bytes than the writer
 * writes for the same content (a duplicate key, spacing, key order, escapes, a CR, invalid UTF-8), which another reader
 * may see otherwise. Undefined when it is the line the writer wrote.
 */
export function linePlainlyWritten(stored: StoredEntry, bytes: Buffer): string | undefined {
  const extra = extraField(stored, AUDIT_FILE_LINE_FIELDS);
  if (extra !== undefined) return `has a field ${JSON.stringify(extra)} that the audit file does not write: it was added outside Countersign`;
  const hashedAt = (stored.entry as { _recordedAt?: unknown })._recordedAt;
  if (hashedAt !== undefined && hashedAt !== stored.recordedAt)
    return `shows recordedAt ${JSON.stringify(stored.recordedAt)}, but was hashed as recorded at ${JSON.stringify(hashedAt)}: its time was changed`;
  if (!bytes.equals(lineAsWritten(stored))) return NOT_AS_WRITTEN;
  return undefined;
}

/** What a line rewritten in other bytes is (`linePlainlyWritten`, `audit verify --file`). */
const NOT_AS_WRITTEN = 'is not written as the audit file writes it (the same content in other bytes): it was rewritten outside Countersign';

/**
 * The bytes the writer writes for a stored entry: its fields in the order every version of the writer put them (index,
 * entry, leaf hash, the root of lines before ADR 0029, the time), the entry's as they are (their order changed between
 * versions, and the hash covers their canonical form).
 */
function lineAsWritten(stored: { index: unknown; entry: unknown; leafHash: unknown; root?: unknown; recordedAt: unknown }): Buffer {
  const { index, entry, leafHash, root, recordedAt } = stored;
  return Buffer.from(JSON.stringify({ index, entry, leafHash, ...(root !== undefined && { root }), recordedAt }));
}
