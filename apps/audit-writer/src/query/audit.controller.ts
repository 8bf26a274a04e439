import { BadRequestException, Controller, Get, Header, Inject, NotFoundException, Param, Query } from '@nestjs/common';
import { inclusionProof, rootFromLeaves } from '@countersign/audit-chain';
import { ApiRoute, integerQuery, Roles } from '@countersign/nest';
import { AuditLogRepository, leafOf, StoredEntry } from '../log-store/audit-log.repository';
import { z } from 'zod';
import { AUDIT_LOG } from '../tokens';
import { buildSegment, SegmentRangeError } from './segment';

const ISO_TIME = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);
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
export class AuditController {
  constructor(@Inject(AUDIT_LOG) private readonly log: AuditLogRepository) {}

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
    errors: { 400: 'no filter, a time that is not ISO 8601, or a bad `limit`' },
  })
  @Get('entries')
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
    const n = integerQuery('limit', limit, 500, { min: 1, max: 5000 });
    return { entries: (await this.log.query({ actionId, correlationId, actor, type, since, until, limit: n })).map(view) };
  }

  @ApiRoute({
    summary: "Signed tree heads and the log's tip",
    ok: {
      description: 'The heads and the tip',
      schema: { type: 'object', required: ['heads', 'tip'], properties: { heads: { type: 'array', items: { type: 'object' } }, tip: { type: 'object' } } },
    },
  })
  @Get('heads')
  async heads() {
    return { heads: await this.log.heads(), tip: await this.log.tip() };
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
    errors: { 400: 'an index or tree size that is not a whole number in range', 404: 'no such entry in a tree of that size' },
  })
  @Get('proof/:index')
  async proof(@Param('index') indexParam: string, @Query('treeSize') sizeParam?: string) {
    const heads = await this.log.heads();
    const treeSize = int('treeSize', sizeParam, heads[heads.length - 1]?.treeSize ?? (await this.log.tip()).size);
    const index = int('index', indexParam, 0);
    if (index >= treeSize) throw new NotFoundException(`no entry ${index} in a tree of ${treeSize}`);
    const entries = await this.log.range(0, treeSize);
    if (entries.length < treeSize) throw new NotFoundException(`the log has only ${entries.length} entries`);
    const leaves = entries.map(leafOf);
    return {
      index,
      treeSize,
      entry: entries[index].entry ?? JSON.parse(entries[index].bytes!),
      leafHash: leaves[index].toString('hex'),
      proof: inclusionProof(leaves, index, treeSize).map((h) => h.toString('hex')),
      // Rows no longer record roots (ADR 0029): the signed head's root, else the leaves'.
      root: heads.find((h) => h.treeSize === treeSize)?.rootHash ?? rootFromLeaves(leaves, 0, treeSize).toString('hex'),
      head: heads.find((h) => h.treeSize === treeSize) ?? null,
    };
  }

  /** A signed segment file (JSON Lines) of entries from..to-1 with the heads that cover them: verify it offline. */
  @ApiRoute({
    summary: 'A signed segment (JSON Lines) of entries `from`..`to`-1, to verify offline',
    query: { from: 'the first entry (default 0)', to: 'one past the last entry (default: the latest head)' },
    ok: { description: 'The segment', contentType: 'application/x-ndjson' },
    errors: { 400: 'a range that is not whole numbers, or that no signed head covers' },
  })
  @Get('segment')
  @Header('Content-Type', 'application/x-ndjson')
  async segment(@Query('from') fromParam?: string, @Query('to') toParam?: string) {
    try {
      return await buildSegment(this.log, int('from', fromParam, 0), toParam === undefined ? undefined : int('to', toParam, 0));
    } catch (e) {
      if (e instanceof SegmentRangeError) throw new BadRequestException(e.message);
      throw e;
    }
  }
}
