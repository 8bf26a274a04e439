import { Readable } from 'node:stream';
import { BadRequestException, Controller, Get, Header, Inject, NotFoundException, Param, Query, StreamableFile, UseGuards } from '@nestjs/common';
import type { TreeHead } from '@countersign/audit-chain';
import { IDENTIFIER_RULE, isIdentifierText } from '@countersign/contracts';
import { ApiRoute, integerQuery, Roles } from '@countersign/nest';
import { AuditLogRepository, leafOf, newestHead, StoredEntry } from '../log-store/audit-log.repository';
import { z } from 'zod';
import { AUDIT_LOG } from '../tokens';
import { AuditQuery, AuditQueryGuard } from './audit-query-limit';
import { LeafTree, ShortLogError } from './leaf-tree';
import { MAX_SEGMENT_ENTRIES, openSegment, SegmentRangeError } from './segment';

const ISO_TIME = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);
/** The heads of the first `sizes` tree sizes of `heads` (read with one size more than a page), and whether more followed. */
function firstSizes(heads: TreeHead[], sizes: number): { heads: TreeHead[]; more: boolean } {
  const all = [...new Set(heads.map((h) => h.treeSize))];
  const kept = new Set(all.slice(0, sizes));
  return { heads: heads.filter((h) => kept.has(h.treeSize)), more: all.length > sizes };
}

/** Tree sizes per page of `GET /v1/audit/heads`. */
const HEADS_PAGE = 1000;
const int = (name: string, v: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER) => integerQuery(name, v, fallback, { max });

// The API's view of an entry: it shows the event's chain fields, it is not an event (nothing emits it).
const view = (s: StoredEntry) => ({
  index: s.index,
  eventId: s.entry.eventId,
  type: s.entry.eventType,
  topic: s.entry.topic,
  subject: s.entry.actionId,
  correlationId: s.entry.correlationId,
  causationId: s.entry.causationId,
  actor: s.entry.actor,
  time: s.entry.time,
  data: s.entry.data,
  ...(s.entry.traceId ? { traceId: s.entry.traceId } : {}),
  // Only entries appended before ADR 0029 recorded the root after them; the signed heads carry the roots.
  ...(s.root !== undefined ? { root: s.root } : {}),
  recordedAt: s.recordedAt,
});

/** The auditors' API: entries by action, correlation id, actor, type and time; tree heads; proofs; segments. */
@Controller('v1/audit')
@Roles('auditor')
@UseGuards(AuditQueryGuard)
export class AuditController {
  /** Subtree roots kept across proofs and segments (the log only grows, so they never change). */
  private readonly tree: LeafTree;

  constructor(@Inject(AUDIT_LOG) private readonly log: AuditLogRepository) {
    this.tree = new LeafTree(log);
  }

  @ApiRoute({
    summary: 'Audit entries by action, correlation id, actor, type and time',
    query: {
      actionId: 'entries of this action',
      correlationId: 'entries of this correlation id',
      actor: 'entries by this actor',
      type: 'entries of this event type',
      since: 'entries from this ISO 8601 time',
      until: 'entries before this ISO 8601 time',
      limit: 'at most this many (1 to 5000, default 500)',
    },
    ok: {
      description: 'The entries',
      schema: { type: 'object', required: ['entries'], properties: { entries: { type: 'array', items: { type: 'object' } } } },
    },
    errors: {
      400: 'no filter, a time that is not ISO 8601, `since` not before `until`, an id with a control or invisible character, or a bad `limit`',
      429: 'past the principal’s rate of searches or searches at once (`Retry-After`)',
    },
  })
  @Get('entries')
  @AuditQuery('search')
  async entries(
    @Query('actionId') actionId?: string,
    @Query('correlationId') correlationId?: string,
    @Query('actor') actor?: string,
    @Query('type') type?: string,
    @Query('since') since?: string,
    @Query('until') until?: string,
    @Query('limit') limit?: string,
  ) {
    if (!actionId && !correlationId && !actor && !type && !since)
      throw new BadRequestException('give at least one of actionId, correlationId, actor, type, since');
    // ISO 8601 as written (`2026-12-04`, `2026-12-04T10:00:00Z`, with an offset): `Date.parse` took `0`, `-1` and
    // `2026-02-30` (red team, 2026-12-04).
    for (const [k, v] of Object.entries({ since, until }))
      if (v !== undefined && !ISO_TIME.safeParse(v).success)
        throw new BadRequestException(`${k}: must be an ISO 8601 date or time (2026-12-04, 2026-12-04T10:00:00Z, or with an offset)`);
    // An id with a control or invisible character names no entry (none is written with one), and would be echoed into
    // the log: refused, not searched for (red team, 2026-12-05: `actionId=%00` answered 200 and an empty list).
    for (const [k, v] of Object.entries({ actionId, correlationId, actor, type }))
      if (v !== undefined && !isIdentifierText(v)) throw new BadRequestException(`${k}: ${IDENTIFIER_RULE}`);
    // `until` is exclusive: from `since` on, before `until`. A range that ends where or before it starts holds nothing,
    // and an empty answer would read as "no such entries" rather than "the range is the wrong way round" (red team, 2026-12-05).
    if (since !== undefined && until !== undefined && Date.parse(since) >= Date.parse(until))
      throw new BadRequestException(`since (${since}) must be before until (${until}): entries are from since on, before until`);
    const n = integerQuery('limit', limit, 500, { min: 1, max: 5000 });
    return { entries: (await this.log.query({ actionId, correlationId, actor, type, since, until, limit: n })).map(view) };
  }

  @ApiRoute({
    summary: "Signed tree heads and the log's tip",
    query: {
      after: 'the heads of trees larger than this, oldest first (a page: the `next` of the one before); absent: the newest',
      limit: `tree sizes per page, 1 to ${HEADS_PAGE} (default ${HEADS_PAGE}; a size's heads come whole)`,
    },
    ok: {
      description:
        'The heads (oldest first), the newest head and the tip; `next` when heads of larger trees follow (`after=next`), `earlier` when older heads are left out (`after=0` pages from the first)',
      schema: {
        type: 'object',
        required: ['heads', 'tip'],
        properties: {
          heads: { type: 'array', items: { type: 'object' } },
          newest: { type: 'object' },
          tip: { type: 'object' },
          next: { type: 'integer' },
          earlier: { type: 'boolean' },
        },
      },
    },
    errors: { 400: 'an `after` or `limit` that is not a whole number in range' },
  })
  @Get('heads')
  async heads(@Query('after') afterParam?: string, @Query('limit') limitParam?: string) {
    const sizes = integerQuery('limit', limitParam, HEADS_PAGE, { min: 1, max: HEADS_PAGE });
    const tip = await this.log.tip();
    if (afterParam === undefined) {
      // The newest page: what a monitor checks the log against.
      const page = firstSizes(await this.log.heads({ sizes: sizes + 1, newestFirst: true }), sizes);
      const heads = page.heads.reverse();
      return { heads, newest: heads.at(-1), tip, ...(page.more && { earlier: true }) };
    }
    const { heads, more } = firstSizes(await this.log.heads({ after: int('after', afterParam, 0), sizes: sizes + 1 }), sizes);
    return { heads, newest: await newestHead(this.log), tip, ...(more && { next: heads.at(-1)!.treeSize }) };
  }

  /** An inclusion proof of entry `index` in the tree of `treeSize` (default: the latest head's). */
  @ApiRoute({
    summary: 'An inclusion proof of one entry (RFC 6962)',
    query: { treeSize: "the tree to prove it in (default: the latest head's)" },
    ok: {
      description: 'The entry, its leaf hash, the proof and the root',
      schema: {
        type: 'object',
        required: ['index', 'treeSize', 'leafHash', 'proof', 'root'],
        properties: {
          index: { type: 'integer' },
          treeSize: { type: 'integer' },
          leafHash: { type: 'string' },
          proof: { type: 'array', items: { type: 'string' } },
          root: { type: 'string' },
        },
      },
    },
    errors: {
      400: 'an index or tree size that is not a whole number in range',
      404: 'no such entry in a tree of that size',
      429: 'past the principal’s rate of proofs and segments, or two at once already (`Retry-After`)',
    },
  })
  @Get('proof/:index')
  @AuditQuery('wholeLog')
  async proof(@Param('index') indexParam: string, @Query('treeSize') sizeParam?: string) {
    const treeSize = int('treeSize', sizeParam, (await newestHead(this.log))?.treeSize ?? (await this.log.tip()).size);
    const index = int('index', indexParam, 0);
    if (index >= treeSize) throw new NotFoundException(`no entry ${index} in a tree of ${treeSize}`);
    const extent = await this.log.extent();
    if (extent < treeSize) throw new NotFoundException(`the log has only ${extent} entries`);
    // The entry proved is hashed here from what it holds; the path comes from the recorded leaf hashes, so a recorded
    // hash that is wrong makes a proof that does not verify against the signed head, never a proof of another entry.
    const [stored] = await this.log.range(index, index + 1);
    if (!stored) throw new NotFoundException(`no entry ${index}`);
    const head = (await this.log.heads({ after: treeSize - 1, through: treeSize })).at(-1);
    let proof: Buffer[];
    let root: string;
    try {
      proof = await this.tree.inclusionProof(index, treeSize);
      // Rows no longer record roots (ADR 0029): the signed head's root, else the leaves'.
      root = head?.rootHash ?? (await this.tree.root(0, treeSize)).toString('hex');
    } catch (e) {
      if (e instanceof ShortLogError) throw new NotFoundException(e.message);
      throw e;
    }
    return {
      index,
      treeSize,
      entry: stored.entry ?? JSON.parse(stored.bytes!),
      leafHash: leafOf(stored).toString('hex'),
      proof: proof.map((h) => h.toString('hex')),
      root,
      head: head ?? null,
    };
  }

  /** A signed segment file (JSON Lines) of entries from..to-1 with the heads that cover them: verify it offline. */
  @ApiRoute({
    summary: 'A signed segment (JSON Lines) of entries `from`..`to`-1, to verify offline',
    query: {
      from: 'the first entry (default 0)',
      to: `one past the last entry (default: the latest head); at most ${MAX_SEGMENT_ENTRIES} entries a segment: page with from and to`,
    },
    ok: { description: 'The segment', contentType: 'application/x-ndjson' },
    errors: {
      400: `a range that is not whole numbers, that no signed head covers, or of more than ${MAX_SEGMENT_ENTRIES} entries (page with from and to)`,
      429: 'past the principal’s rate of proofs and segments, or two at once already (`Retry-After`)',
    },
  })
  @Get('segment')
  @AuditQuery('wholeLog')
  @Header('Content-Type', 'application/x-ndjson')
  async segment(@Query('from') fromParam?: string, @Query('to') toParam?: string): Promise<StreamableFile> {
    try {
      const from = int('from', fromParam, 0);
      const to = toParam === undefined ? undefined : int('to', toParam, 0);
      // Checked before anything is sent; then written piece by piece, never as one string (docs/adr/0005).
      const text = await openSegment(this.log, from, to, { maxEntries: MAX_SEGMENT_ENTRIES, tree: this.tree });
      return new StreamableFile(Readable.from(text), { type: 'application/x-ndjson' });
    } catch (e) {
      if (e instanceof SegmentRangeError) throw new BadRequestException(e.message);
      if (e instanceof ShortLogError) throw new BadRequestException(e.message);
      throw e;
    }
  }
}
