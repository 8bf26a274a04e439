import { generateTreeHeadKey, KeyRing, rootFromLeaves, verifyEntries } from '@countersign/audit-chain';
import type { AuditEntry } from '@countersign/audit-chain';
import { TOPICS } from '@countersign/contracts';
import { AuditLogRepository, leafOf, newestHead } from './audit-log.repository';
import { completeness } from '../completeness/completeness';

export const auditEntry = (eventId: string, actionId: string, over: Partial<AuditEntry> = {}): AuditEntry => ({
  eventId,
  eventType: TOPICS.policyDecided,
  topic: TOPICS.policyDecided,
  time: '2026-11-24T10:00:00.000Z',
  actionId,
  correlationId: `corr-${actionId}`,
  causationId: null,
  actor: { id: 'policy-engine', kind: 'service' },
  decision: 'review',
  data: { lane: 'review' },
  ...over,
});

export const testKeys = () => {
  const k = generateTreeHeadKey('heads-test', new Date('2026-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'));
  return new KeyRing([k.entry]);
};

/** The audit-store contract: the PostgreSQL store and the embedded file store both pass it. */
export function auditLogSuite(name: string, make: () => Promise<AuditLogRepository>) {
  describe(`AuditLogRepository shared suite: ${name}`, () => {
    it('appends one entry per event id, in order, whatever the redelivery', async () => {
      const log = await make();
      expect((await log.appendBatch([auditEntry('e1', 'a1')])).appended).toBe(1);
      const second = await log.appendBatch([
        auditEntry('e1', 'a1', { data: { lane: 'autonomous' } }),
        auditEntry('e2', 'a1', { eventType: TOPICS.actionExecuted, topic: TOPICS.actionExecuted }),
      ]);
      // Only what was new counts as appended (the writer's `countersign_audit_entries_total`).
      expect(second.appended).toBe(1);
      const { appended, ...tip } = await log.appendBatch([auditEntry('e2', 'a1'), auditEntry('e2', 'a1')]);
      expect(appended).toBe(0);
      const entries = await log.query({ actionId: 'a1' });
      expect(entries.map((e) => [e.index, e.entry.eventId, e.entry.topic])).toEqual([
        [0, 'e1', TOPICS.policyDecided],
        [1, 'e2', TOPICS.actionExecuted],
      ]);
      expect(entries[0].entry.data).toEqual({ lane: 'review' });
      // The tip's root is the root of the stored entries' leaf hashes (rows no longer record a root each, ADR 0029).
      expect(tip).toEqual({ size: 2, root: rootFromLeaves(entries.map((e) => Buffer.from(e.leafHash, 'hex'))).toString('hex') });
      expect(await log.tip()).toEqual(tip);
    });

    it('has a pseudonym key of 32 bytes or more, the same at every read', async () => {
      const log = await make();
      const key = await log.pseudonymKey();
      expect(key.length).toBeGreaterThanOrEqual(32);
      expect(key.equals(Buffer.alloc(key.length))).toBe(false);
      expect(await log.pseudonymKey()).toEqual(key);
    });

    it('chains every entry: the recorded roots and a signed head verify', async () => {
      const log = await make();
      for (let b = 0; b < 5; b++) await log.appendBatch(Array.from({ length: 7 }, (_, i) => auditEntry(`e${b}-${i}`, `a${i % 3}`)));
      const tip = await log.tip();
      const ring = testKeys();
      await log.saveHead(ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date('2026-11-24T10:00:00Z')));
      expect(verifyEntries(await log.range(0, tip.size), await log.heads(), ring.verifierKeys())).toMatchObject({ ok: true, treeSize: 35, root: tip.root });
    });

    it('reads the signed heads a range names, each size whole, without reading the others (scale probe, 2026-12-06)', async () => {
      const log = await make();
      const ring = testKeys();
      const at = (minute: number) => new Date(Date.UTC(2026, 10, 24, 10, minute));
      for (let size = 1; size <= 5; size++) {
        const tip = await log.appendBatch([auditEntry(`h${size}`, `a${size}`)]);
        await log.saveHead(ring.sign(tip.size, Buffer.from(tip.root, 'hex'), at(size)));
      }
      // Size 3 signed again later (a key rotated): both heads of that size come together.
      const [third] = await log.heads({ after: 2, through: 3 });
      await log.saveHead(ring.sign(3, Buffer.from(third.rootHash, 'hex'), at(30)));
      const sizes = (heads: Array<{ treeSize: number; timestamp: string }>) => heads.map((h) => `${h.treeSize}@${new Date(h.timestamp).getUTCMinutes()}`);
      expect(sizes(await log.heads())).toEqual(['1@1', '2@2', '3@3', '3@30', '4@4', '5@5']);
      expect(sizes(await log.heads({ after: 2, through: 4 }))).toEqual(['3@3', '3@30', '4@4']);
      expect(sizes(await log.heads({ after: 1, sizes: 2 }))).toEqual(['2@2', '3@3', '3@30']);
      expect(sizes(await log.heads({ sizes: 3, newestFirst: true }))).toEqual(['5@5', '4@4', '3@30', '3@3']);
      expect(sizes(await log.heads({ through: 2, sizes: 1, newestFirst: true }))).toEqual(['2@2']);
      expect(await log.heads({ after: 5 })).toEqual([]);
      expect(sizes([(await newestHead(log))!])).toEqual(['5@5']);
    });

    it('gives the recorded leaf hashes of a range alone, as the entries hash, and a search stops at its limit', async () => {
      const log = await make();
      for (let b = 0; b < 3; b++) await log.appendBatch(Array.from({ length: 7 }, (_, i) => auditEntry(`e${b}-${i}`, `a${i % 3}`)));
      const hashes = await log.leafHashes!(4, 19);
      expect(hashes).toEqual((await log.range(4, 19)).map((e) => leafOf(e).toString('hex')));
      expect(await log.leafHashes!(19, 40)).toHaveLength(2);
      expect((await log.query({ actionId: 'a1', limit: 4 })).map((e) => e.index)).toEqual([1, 4, 8, 11]);
    });

    it('hashes the time each entry is recorded with it: the recordedAt shown cannot be changed unseen', async () => {
      const log = await make();
      const before = Date.now();
      await log.appendBatch([auditEntry('e1', 'a1'), auditEntry('e2', 'a1')]);
      const ring = testKeys();
      const tip = await log.tip();
      await log.saveHead(ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date()));
      const entries = await log.range(0, tip.size);
      // What the store shows (range pages may carry the hashed bytes instead of the object) and what it hashed agree.
      const shown = await log.query({ actionId: 'a1' });
      for (const e of shown) {
        expect(e.entry._recordedAt).toBe(e.recordedAt);
        expect(Date.parse(e.recordedAt)).toBeGreaterThanOrEqual(before - 1);
      }
      expect(entries.map((e) => e.recordedAt)).toEqual(shown.map((e) => e.recordedAt));
      expect(verifyEntries(entries, await log.heads(), ring.verifierKeys())).toMatchObject({ ok: true, treeSize: 2 });
      const backdated = entries.map((e, i) => (i === 1 ? { ...e, recordedAt: '2020-01-01T00:00:00.000Z' } : e));
      expect(verifyEntries(backdated, await log.heads(), ring.verifierKeys())).toMatchObject({
        ok: false,
        firstBadIndex: 1,
        problem: `entry 1 shows recordedAt "2020-01-01T00:00:00.000Z", but was hashed as recorded at "${entries[1].recordedAt}": its time was changed`,
      });
    });

    it('finds entries by correlation id, actor, type and time', async () => {
      const log = await make();
      await log.appendBatch([
        auditEntry('e1', 'a1'),
        auditEntry('e2', 'a2', { eventType: TOPICS.reviewDecided, actor: { id: 'alice', kind: 'human' }, time: '2026-11-24T11:00:00.000Z' }),
      ]);
      expect((await log.query({ correlationId: 'corr-a2' })).map((e) => e.entry.eventId)).toEqual(['e2']);
      expect((await log.query({ actor: 'alice' })).map((e) => e.entry.eventId)).toEqual(['e2']);
      expect((await log.query({ type: TOPICS.policyDecided })).map((e) => e.entry.eventId)).toEqual(['e1']);
      expect((await log.query({ since: '2026-11-24T10:30:00.000Z' })).map((e) => e.entry.eventId)).toEqual(['e2']);
      expect(await log.query({ actionId: 'nothing' })).toEqual([]);
    });

    it('spans the stored entries, and gives the trail of each action proposed or decided since a time (what completeness checks)', async () => {
      const log = await make();
      expect(await log.extent()).toBe(0);
      const at = (time: string) => ({ time });
      await log.appendBatch([
        auditEntry('p-old', 'old', { eventType: TOPICS.actionProposed, topic: TOPICS.actionProposed, ...at('2026-11-23T10:00:00.000Z') }),
        auditEntry('p-done', 'done', { eventType: TOPICS.actionProposed, topic: TOPICS.actionProposed }),
        auditEntry('d-done', 'done', { data: { lane: 'review' } }),
        auditEntry('r-done', 'done', { eventType: TOPICS.reviewDecided, topic: TOPICS.reviewDecided, data: { decision: 'approved' } }),
        auditEntry('x-done', 'done', { eventType: TOPICS.actionExecuted, topic: TOPICS.actionExecuted, data: {} }),
        auditEntry('p-new', 'new', { eventType: TOPICS.actionProposed, topic: TOPICS.actionProposed }),
        auditEntry('d-other', 'other', { data: { lane: 'autonomous' } }),
      ]);
      expect(await log.extent()).toBe(7);
      const trails = (await log.trailsSince('2026-11-24T00:00:00Z')).sort((a, b) => a.actionId.localeCompare(b.actionId));
      expect(trails).toEqual([
        {
          actionId: 'done',
          types: [TOPICS.actionProposed, TOPICS.policyDecided, TOPICS.reviewDecided, TOPICS.actionExecuted],
          lane: 'review',
          review: 'approved',
        },
        { actionId: 'new', types: [TOPICS.actionProposed], lane: null, review: null },
        // Decided, never proposed: its trail too (completeness names it).
        { actionId: 'other', types: [TOPICS.policyDecided], lane: 'autonomous', review: null },
      ]);
      // A window with an end: only the actions proposed before it.
      expect((await log.trailsSince('2026-11-23T00:00:00Z', '2026-11-24T00:00:00Z')).map((t) => t.actionId)).toEqual(['old']);
    });

    it('reads the review decision that decides, not an escalation before it (soak probe, 2026-12-05: escalated items were gaps)', async () => {
      const log = await make();
      const review = (id: string, action: string, decision: string) =>
        auditEntry(id, action, { eventType: TOPICS.reviewDecided, topic: TOPICS.reviewDecided, data: { decision } });
      await log.appendBatch([
        auditEntry('p-exp', 'exp', { eventType: TOPICS.actionProposed, topic: TOPICS.actionProposed }),
        auditEntry('d-exp', 'exp', { data: { lane: 'review' } }),
        review('r-exp-1', 'exp', 'escalated'),
        review('r-exp-2', 'exp', 'expired'),
        auditEntry('p-wait', 'wait', { eventType: TOPICS.actionProposed, topic: TOPICS.actionProposed }),
        auditEntry('d-wait', 'wait', { data: { lane: 'review' } }),
        review('r-wait-1', 'wait', 'escalated'),
      ]);
      const trails = (await log.trailsSince('2026-11-24T00:00:00Z')).sort((a, b) => a.actionId.localeCompare(b.actionId));
      expect(trails.map((t) => [t.actionId, t.review])).toEqual([
        ['exp', 'expired'],
        ['wait', null],
      ]);
      // The check: the expired one is complete, the escalated one still waits for its reviewers (pending, not a gap).
      const { gaps } = await completeness(log, '2026-11-24T00:00:00Z');
      expect(gaps).toEqual([expect.objectContaining({ actionId: 'wait', missing: 'review decision', pending: 'review' })]);
    });

    it("leaves out of an action's trail what did not happen to it: the refusal of a forged event, a revision that created no action (red team, 2026-12-02)", async () => {
      const log = await make();
      await log.appendBatch([
        auditEntry('p-a', 'a', { eventType: TOPICS.actionProposed, topic: TOPICS.actionProposed }),
        auditEntry('d-a', 'a', { data: { lane: 'review' } }),
        // The executor refused a forged approval of a, not a itself; then the genuine refusal that closes it.
        auditEntry('x-a', 'a', { eventType: TOPICS.actionRefused, topic: TOPICS.actionRefused, data: { code: 'invalid-approval', final: false } }),
        auditEntry('p-b', 'b', { eventType: TOPICS.actionProposed, topic: TOPICS.actionProposed }),
        auditEntry('d-b', 'b', { data: { lane: 'review' } }),
        // A revision of b whose new action nobody created (forged); one naming an action that exists but was not made
        // by it (b itself: red-team pass 5); and one of c that made c2.
        auditEntry('v-b', 'b', { eventType: TOPICS.proposalRevised, topic: TOPICS.proposalRevised, data: { newActionId: 'b2' } }),
        auditEntry('v-b-self', 'b', { eventType: TOPICS.proposalRevised, topic: TOPICS.proposalRevised, data: { newActionId: 'b' } }),
        auditEntry('p-c', 'c', { eventType: TOPICS.actionProposed, topic: TOPICS.actionProposed }),
        auditEntry('d-c', 'c', { data: { lane: 'review' } }),
        auditEntry('v-c', 'c', { eventType: TOPICS.proposalRevised, topic: TOPICS.proposalRevised, data: { newActionId: 'c2' } }),
        auditEntry('p-c2', 'c2', {
          eventType: TOPICS.actionProposed,
          topic: TOPICS.actionProposed,
          data: { receivedVia: 'revision', revisionOf: { actionId: 'c', revisionEventId: 'v-c', by: 'alice' } },
        }),
      ]);
      const trails = Object.fromEntries((await log.trailsSince('2026-11-24T00:00:00Z')).map((t) => [t.actionId, t.types]));
      expect(trails.a).toEqual([TOPICS.actionProposed, TOPICS.policyDecided]);
      expect(trails.b).toEqual([TOPICS.actionProposed, TOPICS.policyDecided]);
      expect(trails.c).toEqual([TOPICS.actionProposed, TOPICS.policyDecided, TOPICS.proposalRevised]);
      await log.appendBatch([auditEntry('y-a', 'a', { eventType: TOPICS.actionRefused, topic: TOPICS.actionRefused, data: { code: 'kill-switch-off' } })]);
      expect((await log.trailsSince('2026-11-24T00:00:00Z')).find((t) => t.actionId === 'a')!.types).toEqual([
        TOPICS.actionProposed,
        TOPICS.policyDecided,
        TOPICS.actionRefused,
      ]);
    });
  });
}
