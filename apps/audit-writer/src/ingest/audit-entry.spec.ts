import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { AuditEntry, entryBytes, leafHash } from '@countersign/audit-chain';
import { Envelope, TOPICS } from '@countersign/contracts';
import { SECRET_SHOWN } from '@countersign/guardrails';
import { reviewLaneDecision, testPolicyEngineKey } from '@countersign/testing';
import { contextFromHeaders, initTracing, inSpan, SpanKind, Tracing } from '@countersign/tracing';
import type { AuditChainService } from '../chain/audit-chain.service';
import { AuditConsumer } from './audit.consumer';
import { toAuditEntry } from './audit-entry';

/** The log's pseudonym key in these tests (a real log makes 32 random bytes: `AuditLogRepository.pseudonymKey`). */
const PSEUDONYM_KEY = Buffer.alloc(32, 7);

// real: the entry builder, canonical JSON and leaf hashing, the OpenTelemetry SDK; fake: the chain (records appends).
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const event: Envelope = {
  id: '01JCZ7Q4R5S6T7V8W9X0Y1Z2A3',
  type: TOPICS.actionExecuted,
  version: 1,
  source: 'executor',
  time: '2026-11-30T10:00:00.000Z',
  subject: 'action-1',
  correlationId: 'corr-1',
  causationId: 'cause-1',
  actor: { id: 'executor', kind: 'service', authMethod: 'service' },
  data: { connector: 'webhook', externalRequestId: 'sink-1' },
} as unknown as Envelope;

describe('audit entries and traces', () => {
  let tracing: Tracing;
  beforeAll(() => (tracing = initTracing({ service: 'audit-spec', exporter: new InMemorySpanExporter() })));
  afterAll(() => tracing.shutdown());

  it('an entry without a trace id is byte for byte what it was before traces (old entries verify as they did)', () => {
    const entry = toAuditEntry(TOPICS.actionExecuted, event);
    expect('traceId' in entry).toBe(false);
    // The leaf of this entry as written before trace ids existed.
    expect(leafHash(entryBytes(entry)).toString('hex')).toBe(PRE_TRACE_LEAF);
  });

  it('an entry is plain JSON data (nothing JSON would drop or change), masked, and leaves its event as it was', () => {
    const root = { ...event, causationId: null, data: { connector: 'webhook' } } as unknown as Envelope;
    const reply = {
      ...event,
      type: TOPICS.proposalSubmitted,
      data: { actionType: 'support.reply', parameters: { body: 'Write to jane.doe@example.com', tags: ['a', 'b'] } },
    } as unknown as Envelope;
    for (const [topic, e] of [
      [TOPICS.actionExecuted, event],
      [TOPICS.actionExecuted, root],
      [TOPICS.proposalSubmitted, reply],
    ] as const) {
      const before = JSON.stringify(e);
      const entry = toAuditEntry(topic, e);
      expect(JSON.parse(JSON.stringify(entry))).toStrictEqual(entry);
      expect(JSON.stringify(e)).toBe(before);
    }
    // Only the connector known: no empty external request id in the side effects.
    expect(toAuditEntry(TOPICS.actionExecuted, root).sideEffects).toStrictEqual({ connector: 'webhook' });
    expect(JSON.stringify(toAuditEntry(TOPICS.proposalSubmitted, reply))).not.toContain('jane.doe@example.com');
  });

  it("keeps a contract's text as requested and approved, so that it hashes to what was approved; masks the rest (auditor probe, 2026-12-06)", () => {
    const text = 'version: 2026.12.15\n# write to ops@example.com\ncanaries: { templates: [{ parameters: { card: "5500 0000 0000 0004" } }] }\n';
    const requested = {
      ...event,
      type: TOPICS.changeRequested,
      data: {
        changeRequestId: 'cr-1',
        kind: 'contract',
        reason: 'jane.doe@example.com asked',
        contract: { fromVersion: 'a', fromHash: 'b', toVersion: 'c', toHash: 'd', text },
      },
    } as unknown as Envelope;
    const changed = {
      ...event,
      type: TOPICS.contractChanged,
      data: { fromVersion: 'a', toVersion: 'c', hash: 'd', changeRequestId: 'cr-1', requestedBy: 'ada', approvedBy: 'grace', contract: text },
    } as unknown as Envelope;
    const asked = toAuditEntry(TOPICS.changeRequested, requested).data as { reason: string; contract: { text: string } };
    expect(asked.contract.text).toBe(text);
    expect(asked.reason).not.toContain('jane.doe@example.com');
    expect((toAuditEntry(TOPICS.contractChanged, changed).data as { contract: string }).contract).toBe(text);
    // Anywhere else, the same text is masked.
    const elsewhere = { ...event, type: TOPICS.proposalSubmitted, data: { parameters: { body: text } } } as unknown as Envelope;
    expect(JSON.stringify(toAuditEntry(TOPICS.proposalSubmitted, elsewhere))).not.toContain('5500 0000 0000 0004');
  });

  it('keeps no scoped token (a bearer credential for privileged actions): the entry shows it as a secret, the event keeps it', () => {
    const scopedToken = 'cst1.permission.change.1798761600.c2VjcmV0LWhtYWM';
    const decision = reviewLaneDecision('action-9', { proposal: { ...reviewLaneDecision('x').data.proposal, scopedToken } }) as unknown as Envelope;
    const entry = toAuditEntry(TOPICS.policyDecided, decision);
    expect((entry.data as { proposal: { scopedToken: string } }).proposal.scopedToken).toBe(SECRET_SHOWN);
    expect(JSON.stringify(entry)).not.toContain('c2VjcmV0');
    expect((decision.data as { proposal: { scopedToken: string } }).proposal.scopedToken).toBe(scopedToken);
  });

  it("keeps a decision's seal, ids and digest byte for byte, however their random parts fall (the seal's claims decode to text, ADR 0045)", () => {
    // Before 'seal' was an identifier key, about 1 seal in 300 lost its claims to `[encoded card]`: a run of the digest's
    // digits inside them passed Luhn. A fixed seed: the same 3,000 decisions every run, which caught it.
    fc.assert(
      fc.property(fc.uuid(), fc.uint8Array({ minLength: 32, maxLength: 32 }), (actionId, digest) => {
        const decision = reviewLaneDecision(actionId, { digest: Buffer.from(digest).toString('hex') });
        const entry = toAuditEntry(TOPICS.policyDecided, decision as unknown as Envelope);
        expect([entry.eventId, entry.actionId, entry.correlationId, entry.causationId]).toEqual([
          decision.id,
          actionId,
          decision.correlationId,
          decision.causationId,
        ]);
        expect(entry.data).toEqual(JSON.parse(JSON.stringify(decision.data)));
      }),
      { seed: 20261203, numRuns: 3000 },
    );
  });

  it('an entry with a trace id carries it, inside the hashed bytes', () => {
    const traced = toAuditEntry(TOPICS.actionExecuted, event, TRACE_ID);
    expect(traced.traceId).toBe(TRACE_ID);
    expect(entryBytes(traced).toString('utf8')).toContain(`"traceId":"${TRACE_ID}"`);
    expect(leafHash(entryBytes(traced)).toString('hex')).not.toBe(PRE_TRACE_LEAF);
  });

  it('the audit consumer records the trace the event was handled under', async () => {
    const appended: AuditEntry[] = [];
    const consumer = new AuditConsumer(
      { append: async (e: AuditEntry) => void appended.push(e), pseudonymKey: async () => PSEUDONYM_KEY } as unknown as AuditChainService,
      {
        decisions: [],
        reviewQueue: [],
        outcomes: [],
      },
    );
    const handle = consumer['handlers']()[TOPICS.actionExecuted] as (e: Envelope) => Promise<void>;
    const parent = contextFromHeaders({ traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` });
    await inSpan(`process ${TOPICS.actionExecuted}`, { kind: SpanKind.CONSUMER, parent }, () => handle(event));
    await handle({ ...event, id: '01JCZ7Q4R5S6T7V8W9X0Y1Z2A4' } as Envelope);
    expect(appended.map((e) => e.traceId)).toEqual([TRACE_ID, undefined]);
  });

  it("records a decision without the policy engine's seal apart: a forgery sent first does not take the genuine decision's place (red team pass 6)", async () => {
    const appended: AuditEntry[] = [];
    const consumer = new AuditConsumer(
      { append: async (e: AuditEntry) => void appended.push(e), pseudonymKey: async () => PSEUDONYM_KEY } as unknown as AuditChainService,
      {
        decisions: [testPolicyEngineKey.verifyKey],
        reviewQueue: [],
        outcomes: [],
      },
    );
    const handle = consumer['handlers']()[TOPICS.policyDecided] as (e: Envelope) => Promise<void>;
    const genuine = reviewLaneDecision('a-9');
    // The same (derived, computable) event id, unsealed, autonomous: sent before the genuine one.
    const { seal: _seal, ...bare } = genuine.data;
    const forged = { ...genuine, data: { ...bare, lane: 'autonomous' } } as Envelope;
    await handle(forged);
    await handle(genuine as Envelope);
    await handle(forged);
    expect(appended.map((e) => [e.eventType, e.decision])).toEqual([
      [`unverified.${TOPICS.policyDecided}`, 'autonomous'],
      [TOPICS.policyDecided, 'review'],
      [`unverified.${TOPICS.policyDecided}`, 'autonomous'],
    ]);
    expect(appended[1].eventId).toBe(genuine.id);
    expect(appended[0].eventId).toMatch(new RegExp(`^${genuine.id}~unverified~[0-9a-f]{16}$`));
    // The same bytes again: the same entry id (the log keeps it once).
    expect(appended[2].eventId).toBe(appended[0].eventId);
    expect(appended[0].unverified).toMatch(/is not sealed by the policy engine/);
    expect(appended[1].unverified).toBeUndefined();
  });
});

/** The leaf of that entry as the audit writer wrote it before trace ids existed (computed with the code of that time). */
const PRE_TRACE_LEAF = '5239e16275d85b503df42c30c5432a699926ba5fee8c69b245da904cee713975';
