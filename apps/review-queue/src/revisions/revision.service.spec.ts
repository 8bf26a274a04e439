import { maskDeep } from '@countersign/guardrails';
import pino from 'pino';
import { BadRequestException, ConflictException, ForbiddenException } from '@nestjs/common';
import { generateSigningKey, verifyReviewDecision } from '@countersign/approval';
import { actionDigest, revisedActionId, TOPIC_SCHEMAS, TOPICS } from '@countersign/contracts';
import { DependencyUnavailableError } from '@countersign/bus';
import { TokenRegistry, TrustHealthState } from '@countersign/nest';
import { refundProposal, RecordingBus, reviewLaneDecision, testPolicyEngineKey, trustHealthVerdict } from '@countersign/testing';
import { ApprovalService } from '../approvals/approval.service';
import { ReviewConsumer } from '../queue/review.consumer';
import { DecisionOutbox } from '../review-item/decision-outbox';
import { InMemoryReviewItemRepository } from '../review-item/in-memory-review-item.repository';
import { generateReviewDataKey, parseReviewDataKey, ProposalSealer } from '../review-item/sealed-proposal';
import { loadContractFile, RunningContract } from '@countersign/policy';
import { PROJECT_CONTRACT_PATH } from '../degradation/degradation.providers';
import { authoredChange, reviseParameters, revisionParameterCheck, RevisionParameterCheck } from './revised-parameters';
import { RevisionService } from './revision.service';
import { DecisionQuality } from '../decision-quality/decision-quality';
import { createInMemoryDecisionQualityStore } from '../decision-quality/in-memory-decision-quality.store';
import { withDecisionQuality } from '../decision-quality/quality-tracking';

// real: RevisionService, ApprovalService, the queue's intake, the decision outbox, the in-memory review items, the
// proposal sealer, Ed25519 signing and verification, the in-memory bus (recording what it publishes); fake: none (the
// policy engine's decision on the new version is built by hand, as it would publish it).
const logger = pino({ level: 'silent' });
const now = new Date('2026-11-30T10:00:00.000Z');
const alice = { id: 'alice', kind: 'human' as const, roles: ['reviewer'] };
const bob = { id: 'bob', kind: 'human' as const, roles: ['reviewer'] };
const EMAIL = 'jane.doe@example.com';

/** A refund whose parameters hold an e-mail address: reviewers see it masked. */
const proposal = () => ({ ...refundProposal(), parameters: { amount: 480, notify: EMAIL, lines: [{ sku: 'A', qty: 2 }] } });

async function setup(
  review: { quorum?: number; slaClass?: string } = {},
  options: {
    parameters?: Record<string, unknown>;
    parameterCheck?: RevisionParameterCheck;
    signingValidity?: { notBefore: Date; notAfter: Date };
    /** Decision quality tracked on the items, as the service composes it. */
    quality?: DecisionQuality;
  } = {},
) {
  const bus = new RecordingBus({ source: 'review-queue', logger });
  const items = options.quality ? withDecisionQuality(new InMemoryReviewItemRepository(), options.quality, logger) : new InMemoryReviewItemRepository();
  const sealer = new ProposalSealer(parseReviewDataKey(generateReviewDataKey()));
  const { signing, verifyKey } = generateSigningKey('rq-1', options.signingValidity);
  const outbox = new DecisionOutbox(bus, items, logger);
  const approvals = new ApprovalService(bus, items, signing, outbox);
  const revisions = new RevisionService(bus, items, signing, sealer, logger, outbox, approvals, options.parameterCheck, () => ['/amount']);
  const intake = new ReviewConsumer(items, logger, sealer, [testPolicyEngineKey.verifyKey], revisions);
  const real = options.parameters ? { ...proposal(), parameters: options.parameters } : proposal();
  const digest = actionDigest(real, '1');
  const quorum = review.quorum ?? 1;
  await intake.enqueue(
    reviewLaneDecision('a1', {
      proposal: real,
      digest,
      review: { slaClass: review.slaClass ?? 'normal', slaSeconds: 3600, requiredRoles: ['reviewer'], quorum },
    }),
  );
  const shown = (await items.get('a1'))!.proposal.parameters;
  const published = (topic: string) => bus.published.filter((p) => p.topic === topic).map((p) => p.event);
  const revisionEvents = () => published(TOPICS.proposalRevised).map((e) => TOPIC_SCHEMAS[TOPICS.proposalRevised].parse(e));
  const decisions = () => published(TOPICS.reviewDecided).map((e) => TOPIC_SCHEMAS[TOPICS.reviewDecided].parse(e));
  /** The policy engine's decision on the new version, as it would publish it (`digest` computed as it computes it). */
  const newVersionDecided = (lane: 'review' | 'autonomous' | 'prohibited' = 'review', contractVersion = '1', rulesFired: string[] = []) => {
    const [revision] = revisionEvents();
    const { proposal: p } = revision.data;
    return reviewLaneDecision(revision.data.newActionId, {
      lane,
      proposal: p,
      contractVersion,
      digest: actionDigest(p, contractVersion),
      review: { slaClass: review.slaClass ?? 'normal', slaSeconds: 3600, requiredRoles: ['reviewer'], quorum },
      revisionOf: { actionId: 'a1', by: 'alice', revisionEventId: revision.id, proposerPrincipal: 'support-copilot' },
      ...(rulesFired.length && { rulesFired }),
    });
  };
  return { items, revisions, approvals, intake, shown, digest, keys: [verifyKey], revisionEvents, decisions, newVersionDecided };
}

describe('authoredChange: what a revision narrows, and what its reviewer wrote', () => {
  const before = { amount: 480, currency: 'EUR', iban: 'DE89370400440532013000', reason: 'damaged', lines: [{ sku: 'A', qty: 2 }], replicas: 3 };
  it.each([
    ['a lower amount', { ...before, amount: 300 }, ['/amount'], [], undefined],
    ['an amount lowered to zero', { ...before, amount: 0 }, ['/amount'], [], undefined],
    ['a reworded reason', { ...before, reason: 'damaged in transit' }, ['/reason'], [], '/reason is not a money amount lowered'],
    [
      'another IBAN (red team, 2026-12-04: a payout moved)',
      { ...before, iban: 'GB33BUKB20201555555555' },
      ['/iban'],
      [],
      '/iban is not a money amount lowered',
    ],
    ['fewer replicas (a number, not an amount)', { ...before, replicas: 0 }, ['/replicas'], [], '/replicas is not a money amount lowered'],
    ['a lower quantity in a line', { ...before, lines: [{ sku: 'A', qty: 1 }] }, ['/lines/0/qty'], [], '/lines/0/qty is not a money amount lowered'],
    ['a higher amount', { ...before, amount: 481 }, ['/amount'], [], '/amount was not lowered'],
    ['a negative amount', { ...before, amount: -481 }, ['/amount'], [], '/amount was not lowered'],
    ['another currency', { ...before, currency: 'GBP' }, ['/currency'], [], '/currency is not a money amount lowered'],
    ['an amount turned text', { ...before, amount: '480' }, ['/amount'], [], '/amount was not lowered'],
    ['an added field', { ...before, card: '4111 1111 1111 1111' }, ['/card'], [], '/card was added'],
    ['a removed field', { ...before, reason: undefined }, ['/reason'], [], '/reason was removed'],
    ['a rule fired anew', { ...before, amount: 300 }, ['/amount'], ['card-data'], 'the new version fires card-data, which the original did not'],
  ] as const)('%s', (_, after, changed, fired, why) => {
    expect(authoredChange(before, after as Record<string, unknown>, changed, ['over-limit'], ['over-limit', ...fired], ['/amount'])).toBe(why);
  });
});

describe('reviseParameters: the reviewer edits what they were shown', () => {
  const real = { amount: 480, notify: EMAIL, nested: { iban: 'DE89370400440532013000' } };
  const masked = { amount: 480, notify: 'j***@[email]', nested: { iban: 'DE** [iban …3000]' } };

  it('keeps the real value of every masked value left as shown, and names only what changed', () => {
    expect(reviseParameters({ ...masked, amount: 300 }, masked, real)).toEqual({ parameters: { ...real, amount: 300 }, changed: ['/amount'] });
  });

  it('pairs shown and real values by key, not by position (the store may keep keys in another order)', () => {
    const shownReordered = { nested: masked.nested, notify: masked.notify, amount: 480 };
    expect(reviseParameters({ ...shownReordered, amount: 300 }, shownReordered, real).parameters).toEqual({ ...real, amount: 300 });
  });

  it('refuses a masked value edited in part, naming it, rather than storing the mask as the value', () => {
    expect(() => reviseParameters({ ...masked, notify: 'j***@[email] cc' }, masked, real)).toThrow('parameters/notify: still shows a masked value');
  });

  it.each([
    // A contract's own national id (`masking.nationalIds`): its name is the contract's, known only from the card.
    ['a national id of the contract', 'Ihre Steuer-ID 12 345 678 901 ist bestätigt.', 'Ihre Steuer-ID [de-tax-id] ist bestätigt.'],
    ['a secret', 'your key: api_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc', 'your key: [secret]'],
    ['encoded data', 'see amFuZS5kb2VAZXhhbXBsZS5jb20=', 'see [encoded email]'],
  ])('refuses %s edited in part, which went out to a customer as its mask (red team, 2026-12-07)', (_, body, shown) => {
    expect(() => reviseParameters({ body: `${shown} Kind regards` }, { body: shown }, { body })).toThrow(
      'parameters/body: still shows a masked value but is not the value shown',
    );
    // Left as shown, it keeps its real value; replaced whole, it is the reviewer's text.
    expect(reviseParameters({ body: shown }, { body: shown }, { body }).parameters).toEqual({ body });
    expect(reviseParameters({ body: 'Kind regards' }, { body: shown }, { body }).parameters).toEqual({ body: 'Kind regards' });
  });

  it('refuses a mask moved into another field or into a key, and takes brackets the real text holds as text', () => {
    const shown = { body: 'Ihre Steuer-ID [de-tax-id]', note: '' };
    const real = { body: 'Ihre Steuer-ID 12 345 678 901', note: '' };
    expect(() => reviseParameters({ ...shown, note: 'ID [de-tax-id]' }, shown, real)).toThrow('parameters/note: still shows a masked value');
    expect(() => reviseParameters({ ...shown, extra: { '[de-tax-id]': 1 } }, shown, real)).toThrow('still shows a masked value');
    // `[urgent]` is in the real text: the reviewer's copy of it is text, not a mask.
    const tagged = { body: '[urgent] call back', note: '' };
    expect(reviseParameters({ ...tagged, note: '[urgent]' }, tagged, tagged).parameters).toEqual({ ...tagged, note: '[urgent]' });
  });

  it('takes a masked value typed equal to the hidden real one as a change for a reviewer who may not see it: no oracle', () => {
    // Were it "unchanged", a right guess would answer "nothing changed" and a wrong one make a revision.
    expect(reviseParameters({ ...masked, notify: EMAIL }, masked, real)).toEqual({ parameters: real, changed: ['/notify'] });
    // A reviewer who may see the real values (pii:view) and left one as revealed changed nothing.
    expect(reviseParameters({ ...masked, notify: EMAIL }, masked, real, true)).toEqual({ parameters: real, changed: [] });
  });

  it("tells apart two keys that mask alike (`#2`) as masking named them, in the real keys' order (red team, 2026-12-07)", () => {
    const twoKeys = { replicas: 3, 'john@x.com': 'image:v1', 'jane@y.com': 'rm -rf everything' };
    const shown = maskDeep(twoKeys) as Record<string, unknown>;
    expect(Object.keys(shown)).toEqual(['replicas', 'j***@[email]', 'j***@[email]#2']);
    // Only the replicas changed: both real keys keep their values; nothing masked is added, nothing untouched is named.
    expect(reviseParameters({ ...shown, replicas: 2 }, shown, twoKeys)).toEqual({ parameters: { ...twoKeys, replicas: 2 }, changed: ['/replicas'] });
    // In the order the store keeps the shown keys (PostgreSQL's jsonb sorts them): the same pairs.
    const sorted = Object.fromEntries(Object.entries(shown).reverse());
    expect(reviseParameters({ ...sorted, replicas: 2 }, sorted, twoKeys).parameters).toEqual({ ...twoKeys, replicas: 2 });
    // The second one removed: it is gone, and named.
    const { 'j***@[email]#2': _second, ...first } = shown;
    expect(reviseParameters(first, shown, twoKeys)).toEqual({ parameters: { replicas: 3, 'john@x.com': 'image:v1' }, changed: ['/j***@[email]#2'] });
  });

  it('keeps a real key that reads like another key’s mask apart from the key that masks to it (red team, 2026-12-07)', () => {
    const real = { replicas: 3, 'jane@x.com': 'owner', 'j***@[email]': 'viewer' };
    const shown = maskDeep(real) as Record<string, unknown>;
    expect(shown).toEqual({ replicas: 3, 'j***@[email]': 'owner', 'j***@[email]#2': 'viewer' });
    // Only the replicas changed: both keys keep their values (the owner was dropped, its place taken by the literal key).
    expect(reviseParameters({ ...shown, replicas: 2 }, shown, real)).toEqual({ parameters: { ...real, replicas: 2 }, changed: ['/replicas'] });
  });

  it('takes a removed or added parameter as a change', () => {
    const { nested: _n, ...rest } = masked;
    expect(reviseParameters({ ...rest, note: 'partial' }, masked, real)).toEqual({
      parameters: { amount: 480, notify: EMAIL, note: 'partial' },
      changed: ['/note', '/nested'],
    });
  });
});

describe('RevisionService: approve with changes', () => {
  it('ends the item as revised with a signed decision and asks for a new action carrying the real values the reviewer kept', async () => {
    const t = await setup();
    const result = await t.revisions.revise('a1', alice, { ...t.shown, amount: 300 }, 'refund the item only, not shipping', undefined, now);
    const [revision] = t.revisionEvents();
    // No `revisedDigest` for a reviewer without pii:view: it covers the address they saw masked (red team, 2026-12-05).
    expect(result).toEqual({ actionId: 'a1', status: 'revised', newActionId: revisedActionId(revision.id), changed: ['/amount'] });
    expect(revision.subject).toBe('a1');
    expect(revision.actor).toMatchObject({ id: 'alice', kind: 'human' });
    // The connector receives the real address, not the mask the reviewer saw.
    expect(revision.data.proposal.parameters).toEqual({ amount: 300, notify: EMAIL, lines: [{ sku: 'A', qty: 2 }] });
    expect(revision.data.revisedDigest).toBe(actionDigest(revision.data.proposal, '1'));
    expect(verifyReviewDecision(revision.data.signature, t.keys, now)).toMatchObject({
      ok: true,
      claims: { decision: 'revised', actionId: 'a1', digest: t.digest, deciders: ['alice'] },
    });
    expect(await t.items.get('a1')).toMatchObject({ status: 'revised', deciders: ['alice'] });
    // Never an approval of the original.
    expect(t.decisions()).toEqual([]);
  });

  it('records the reviewer’s approval for the new version when it comes back for review with the digest they approved', async () => {
    const t = await setup();
    const { newActionId } = await t.revisions.revise('a1', alice, { ...t.shown, amount: 300 }, 'refund the item only', undefined, now);
    const decided = t.newVersionDecided();
    await t.intake.enqueue(decided);
    await t.intake.enqueue(decided); // redelivered: still one approval
    const [approval] = t.decisions();
    expect(t.decisions()).toHaveLength(1);
    expect(approval).toMatchObject({ subject: newActionId, data: { decision: 'approved', digest: decided.data.digest } });
    expect(verifyReviewDecision(approval.data.signature!, t.keys)).toMatchObject({ ok: true, claims: { actionId: newActionId, deciders: ['alice'] } });
  });

  it.each([
    ['the reviser', 'alice', 'alice revised action'],
    ['the agent that proposed it', 'support-copilot', 'support-copilot, who proposed it, has since been taken out of the tokens file'],
  ])(
    'carries no approval when %s was taken out of the tokens file before the new version was queued (colluding-reviewers probe, 2026-12-06)',
    async (_, removed, why) => {
      const t = await setup();
      const { newActionId } = await t.revisions.revise('a1', alice, { ...t.shown, amount: 300 }, 'refund the item only', undefined, now);
      const tokens = new TokenRegistry([]);
      tokens.markRemoved([removed]);
      (t.approvals as unknown as { tokens: TokenRegistry }).tokens = tokens;
      const warned: string[] = [];
      (t.revisions as unknown as { logger: { warn: (o: unknown, m: string) => void } }).logger = { warn: (_o, m) => void warned.push(m) };
      await t.intake.enqueue(t.newVersionDecided());
      expect(t.decisions()).toEqual([]);
      expect(await t.items.get(newActionId)).toMatchObject({ status: 'pending' });
      expect(warned.join('\n')).toContain(why);
    },
  );

  it("counts the reviser's decision once, as the approval it is, not again (and unseen) when it is carried to the new version (red team, 2026-12-06)", async () => {
    const dataKey = parseReviewDataKey(generateReviewDataKey());
    const store = createInMemoryDecisionQualityStore();
    const quality = new DecisionQuality({ store, contract: {} }, dataKey, new ProposalSealer(dataKey));
    const t = await setup({}, { quality });
    const { newActionId } = await t.revisions.revise('a1', alice, { ...t.shown, amount: 300 }, 'refund the item only', undefined, now);
    await t.intake.enqueue(t.newVersionDecided());
    expect(t.decisions().map((d) => d.subject)).toEqual([newActionId]);
    expect((await store.decisionsSince(new Date(0), 10)).map((d) => [d.actionId, d.reviewer, d.decision])).toEqual([['a1', 'alice', 'approved']]);
  });

  it.each([
    ['a raised amount', { amount: 9999 }, [], 'was raised'],
    ['an added field', { card: '4111 1111 1111 1111' }, [], 'was added'],
    ['a rule the original did not fire', { amount: 300 }, ['refund-card-data'], 'fires refund-card-data'],
  ] as const)(
    'does not carry the reviewer’s approval to a new version they authored (%s): another reviewer decides it (red team, 2026-12-04)',
    async (_, edit, fired, why) => {
      const t = await setup();
      const { newActionId } = await t.revisions.revise('a1', alice, { ...t.shown, ...edit }, 'as the customer asked', undefined, now);
      await t.intake.enqueue(t.newVersionDecided('review', '1', [...fired]));
      expect(t.decisions()).toEqual([]);
      expect(await t.items.get(newActionId)).toMatchObject({ status: 'pending' });
      expect((await t.items.get(newActionId))!.approvedBy ?? []).toEqual([]);
      // Bob approves it: the new version is decided by someone other than its author.
      await t.approvals.approve(newActionId, bob, 'checked the new amount');
      expect(t.decisions().map((d) => d.data.reviewers.map((r) => r.id))).toEqual([['bob']]);
      expect(why).toBeTruthy();
    },
  );

  it('lets no author of a version approve, revise or claim it: the reviser, and every reviser before them (red team, 2026-12-04)', async () => {
    const t = await setup();
    const carol = { id: 'carol', kind: 'human' as const, roles: ['reviewer'] };
    // Alice raises the amount: authored, so her approval does not carry, and she cannot give it by hand either.
    const { newActionId: v2 } = await t.revisions.revise('a1', alice, { ...t.shown, amount: 9000 }, 'as the customer asked', undefined, now);
    await t.intake.enqueue(t.newVersionDecided());
    expect(await t.items.get(v2)).toMatchObject({ status: 'pending', authoredBy: ['alice'] });
    await expect(t.approvals.approve(v2, alice, 'mine')).rejects.toThrow(/you wrote changes into this version/);
    const shown2 = (await t.items.get(v2))!.proposal.parameters;
    await expect(t.revisions.revise(v2, alice, { ...shown2, amount: 8999 }, 'a little less', undefined, now)).rejects.toThrow(
      /you wrote changes into this version/,
    );
    // Bob revises her version (only lowering the amount): his approval carries, and the version names both authors.
    const { newActionId: v3 } = await t.revisions.revise(v2, bob, { ...shown2, amount: 8000 }, 'less', undefined, now);
    const [, second] = t.revisionEvents();
    await t.intake.enqueue(
      reviewLaneDecision(v3, {
        proposal: second.data.proposal,
        digest: actionDigest(second.data.proposal, '1'),
        review: { slaClass: 'normal', slaSeconds: 3600, requiredRoles: ['reviewer'], quorum: 2 },
        revisionOf: { actionId: v2, by: 'bob', revisionEventId: second.id, proposerPrincipal: 'support-copilot' },
      }),
    );
    expect(await t.items.get(v3)).toMatchObject({ authoredBy: ['alice', 'bob'], approvedBy: ['bob'] });
    // Each version counts its queue time from the first's (its approval latency and decision-quality records).
    const first = (await t.items.get('a1'))!.createdAt;
    expect((await t.items.get(v2))!.firstQueuedAt).toBe(first);
    expect((await t.items.get(v3))!.firstQueuedAt).toBe(first);
    expect((await t.items.get('a1'))!.firstQueuedAt).toBeUndefined();
    // Alice, who wrote the 9,000, is no second approver of it; carol is.
    await expect(t.approvals.approve(v3, alice, 'fine')).rejects.toThrow(/you wrote changes into this version/);
    await expect(t.approvals.approve(v3, carol, 'checked')).resolves.toMatchObject({ status: 'approved' });
  });

  it('asks for a second factor on a critical item, as an approval does, and carries it to the approval of the new version', async () => {
    const t = await setup({ slaClass: 'critical' });
    const token = { ...alice, authMethod: undefined };
    const password = { ...alice, authMethod: 'oidc' as const, amr: ['pwd'] };
    for (const reviewer of [token, password])
      await expect(t.revisions.revise('a1', reviewer, { ...t.shown, amount: 300 }, 'refund the item only', undefined, now)).rejects.toThrow(
        /needs a second factor/,
      );
    expect(await t.items.get('a1')).toMatchObject({ status: 'pending' });
    expect(t.revisionEvents()).toEqual([]);
    const { newActionId } = await t.revisions.revise(
      'a1',
      // Signed in with a second factor just now (the carried approval is checked when the new version comes back).
      { ...password, amr: ['pwd', 'mfa'], authTime: Date.now() },
      { ...t.shown, amount: 300 },
      'refund the item only',
      undefined,
      now,
    );
    expect(t.revisionEvents()[0].actor).toMatchObject({ id: 'alice', authMethod: 'oidc', amr: ['pwd', 'mfa'] });
    await t.intake.enqueue(t.newVersionDecided());
    expect(t.decisions()).toMatchObject([{ subject: newActionId, data: { decision: 'approved' } }]);
  });

  it('keeps the carried approval waiting while no approval can be issued (the trust stack unhealthy), then carries it (red team, 2026-12-05)', async () => {
    const t = await setup();
    const { newActionId } = await t.revisions.revise('a1', alice, { ...t.shown, amount: 300 }, 'refund the item only', undefined, now);
    const trust = new TrustHealthState();
    t.approvals.trust = trust;
    trust.apply(trustHealthVerdict('unhealthy', 'v1', new Date()));
    trust.caughtUp();
    // A dependency failure, which the bus waits through (a 503 went to the dead-letter topic after five tries).
    await expect(t.intake.enqueue(t.newVersionDecided())).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(t.decisions()).toEqual([]);
    t.approvals.trust = undefined;
    await t.intake.enqueue(t.newVersionDecided());
    expect(t.decisions()).toMatchObject([{ subject: newActionId, data: { decision: 'approved' } }]);
  });

  it('does not carry the approval to a version decided with another digest (the contract changed meanwhile)', async () => {
    const t = await setup();
    const { newActionId } = await t.revisions.revise('a1', alice, { ...t.shown, amount: 300 }, 'refund the item only', undefined, now);
    await t.intake.enqueue(t.newVersionDecided('review', '2'));
    expect(t.decisions()).toEqual([]);
    expect(await t.items.get(newActionId)).toMatchObject({ status: 'pending' });
  });

  it('counts the approval towards a quorum of two: a second, distinct approver still decides', async () => {
    const t = await setup({ quorum: 2 });
    const { newActionId } = await t.revisions.revise('a1', alice, { ...t.shown, amount: 300 }, 'refund the item only', undefined, now);
    await t.intake.enqueue(t.newVersionDecided());
    expect(t.decisions()).toEqual([]);
    await t.intake.enqueue(t.newVersionDecided()); // redelivered: alice's approval counts once
    // Alice's approval is already counted, and she wrote this version: she cannot make the quorum alone.
    await expect(t.approvals.approve(newActionId, alice, 'again')).rejects.toThrow(ForbiddenException);
    await expect(t.approvals.approve(newActionId, bob, 'agreed')).resolves.toEqual({ status: 'approved', approvers: ['alice', 'bob'] });
  });

  it('answers a retry with the same new action, and refuses a second, different revision', async () => {
    const t = await setup();
    const first = await t.revisions.revise('a1', alice, { ...t.shown, amount: 300 }, 'refund the item only', undefined, now);
    await expect(t.revisions.revise('a1', alice, { ...t.shown, amount: 300 }, 'refund the item only', undefined, now)).resolves.toEqual(first);
    await expect(t.revisions.revise('a1', bob, { ...t.shown, amount: 200 }, 'less', undefined, now)).rejects.toThrow(ConflictException);
    // The same reviewer's second, different revision is a conflict too, not the first one's answer (red team, 2026-12-04).
    await expect(t.revisions.revise('a1', alice, { ...t.shown, amount: 40 }, 'refund the item only', undefined, now)).rejects.toThrow(
      /already approved with changes \(new version [\w-]+\) by another request: only exactly the same parameters and reason/,
    );
    await expect(t.revisions.revise('a1', alice, { ...t.shown, amount: 300 }, 'another reason', undefined, now)).rejects.toThrow(ConflictException);
    await expect(t.revisions.revise('a1', alice, { ...t.shown, amount: -1 }, 'refund the item only', undefined, now)).rejects.toThrow(ConflictException);
    expect(t.revisionEvents()).toHaveLength(1);
  });

  it('tells the new version’s digest to pii:view only, on the first answer and on a retry (red team, 2026-12-05)', async () => {
    const carol = { id: 'carol', kind: 'human' as const, roles: ['reviewer', 'pii:view'] };
    for (const [reviewer, told] of [
      [alice, false],
      [carol, true],
    ] as const) {
      const t = await setup();
      const first = await t.revisions.revise('a1', reviewer, { ...t.shown, amount: 300 }, 'refund the item only', undefined, now);
      const retry = await t.revisions.revise('a1', reviewer, { ...t.shown, amount: 300 }, 'refund the item only', undefined, now);
      const [revision] = t.revisionEvents();
      for (const answer of [first, retry]) {
        if (told) expect(answer.revisedDigest).toBe(revision.data.revisedDigest);
        else expect(answer).not.toHaveProperty('revisedDigest');
      }
    }
  });

  it('is no oracle for a masked value: a right guess and a wrong one in a second call both get 409, the exact retry the answer (red team, 2026-12-05)', async () => {
    const t = await setup();
    expect(t.shown.notify).not.toBe(EMAIL);
    const first = await t.revisions.revise('a1', alice, { ...t.shown, amount: 300 }, 'refund the item only', undefined, now);
    const answer = (parameters: Record<string, unknown>) =>
      t.revisions.revise('a1', alice, parameters, 'refund the item only', undefined, now).then(
        () => 200,
        (e: unknown) => (e instanceof ConflictException ? `409 ${e.message}` : Promise.reject(e)),
      );
    // The merged proposal of the right guess is the revision made, byte for byte: it used to answer 200 for it alone.
    const right = await answer({ ...t.shown, amount: 300, notify: EMAIL });
    const wrong = await answer({ ...t.shown, amount: 300, notify: 'john.roe@example.com' });
    expect(right).toMatch(/^409 /);
    expect(wrong).toBe(right);
    // The exact request again (its keys in another order: the same JSON) gets the revision made.
    const { amount: _a, ...rest } = t.shown;
    await expect(t.revisions.revise('a1', alice, { amount: 300, ...rest }, 'refund the item only', undefined, now)).resolves.toEqual(first);
    expect(t.revisionEvents()).toHaveLength(1);
  });

  it('answers a second call on an item revised before its request was kept with 409, never from the digest', async () => {
    const t = await setup();
    await t.revisions.revise('a1', alice, { ...t.shown, amount: 300 }, 'refund the item only', undefined, now);
    // As a row migrated from before 0009_revision-requests: no request kept.
    const stored = t.items as unknown as { items: Map<string, { revisionAsked?: string }> };
    delete stored.items.get('a1')!.revisionAsked;
    await expect(t.revisions.revise('a1', alice, { ...t.shown, amount: 300 }, 'refund the item only', undefined, now)).rejects.toThrow(ConflictException);
  });

  it('answers two different revisions by one reviewer at once with one revision and one conflict', async () => {
    const t = await setup();
    const answers = await Promise.allSettled([
      t.revisions.revise('a1', alice, { ...t.shown, amount: 20 }, 'partial', undefined, now),
      t.revisions.revise('a1', alice, { ...t.shown, amount: 40 }, 'partial', undefined, now),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual(['fulfilled', 'rejected']);
    const made = answers.find((a) => a.status === 'fulfilled') as PromiseFulfilledResult<{ newActionId: string }>;
    expect(t.revisionEvents().map((e) => e.data.newActionId)).toEqual([made.value.newActionId]);
    expect((answers.find((a) => a.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(ConflictException);
  });

  it("tells a reviewer without the item's roles nothing about it: 403 before its view, its status or a retry (red team, 2026-12-04)", async () => {
    const t = await setup();
    const sam = { id: 'sam', kind: 'human' as const, roles: ['security'] };
    await expect(t.revisions.revise('a1', sam, { ...t.shown, amount: 1 }, 'probe', 'e'.repeat(64), now)).rejects.toThrow(ForbiddenException);
    await t.revisions.revise('a1', alice, { ...t.shown, amount: 300 }, 'refund the item only', undefined, now);
    // Revised now: still 403, not the 409 (or the retry's answer) that would say it was decided.
    await expect(t.revisions.revise('a1', sam, { ...t.shown, amount: 300 }, 'refund the item only', undefined, now)).rejects.toThrow(
      /requires one of the roles: reviewer/,
    );
  });

  it('refuses precisely: nothing changed, a value not free text, the proposer, a stale view', async () => {
    const t = await setup();
    await expect(t.revisions.revise('a1', alice, t.shown, 'same', undefined, now)).rejects.toThrow(
      new BadRequestException('parameters: nothing changed; approve the action as it is instead'),
    );
    await expect(t.revisions.revise('a1', alice, { ...t.shown, note: 'a\u0000b' }, 'bad text', undefined, now)).rejects.toThrow(/proposal\/parameters\/note/);
    await expect(t.revisions.revise('a1', { ...alice, id: 'support-copilot' }, { ...t.shown, amount: 1 }, 'mine', undefined, now)).rejects.toThrow(
      ForbiddenException,
    );
    await expect(t.revisions.revise('a1', alice, { ...t.shown, amount: 1 }, 'stale', 'e'.repeat(64), now)).rejects.toThrow(/shownDigest/);
    expect(await t.items.get('a1')).toMatchObject({ status: 'pending' });
  });

  describe('parameters the contract refuses', () => {
    const check = revisionParameterCheck(RunningContract.fromFile(PROJECT_CONTRACT_PATH));
    const version = loadContractFile(PROJECT_CONTRACT_PATH).version;
    const refund = { amount: 480, currency: 'EUR', reason: 'parcel lost' };

    it("answer 400 naming the parameter, and the item waits as it was (the item's contract is the one at hand)", async () => {
      const t = await setup({}, { parameters: refund, parameterCheck: (p) => check(p, version) });
      for (const typo of [{ amount: '450' }, { amount: -1 }, { currency: 'EURO' }, { note: 'extra' }])
        await expect(t.revisions.revise('a1', alice, { ...t.shown, ...typo }, 'a typo', undefined, now)).rejects.toThrow(
          /^invalid parameters for support\.refund: \/parameters/,
        );
      expect(await t.items.get('a1')).toMatchObject({ status: 'pending' });
      expect(t.revisionEvents()).toEqual([]);
      // A valid edit still goes through.
      await expect(t.revisions.revise('a1', alice, { ...t.shown, amount: 450 }, 'half the parcel', undefined, now)).resolves.toMatchObject({
        status: 'revised',
      });
    });

    it('leave a version of the contract not at hand to the policy engine (it decides, as for any version)', () => {
      expect(check({ actionType: 'support.refund', parameters: { ...refund, amount: '450' } }, version)).toMatch(
        /^invalid parameters for support\.refund: \/parameters\/amount \(type\)/,
      );
      expect(check({ actionType: 'support.refund', parameters: { ...refund, amount: '450' } }, 'another-version')).toBeUndefined();
      expect(check({ actionType: 'support.refund', parameters: refund }, version)).toBeUndefined();
    });
  });

  it('leaves an item another reviewer has claimed to them, as any decision does', async () => {
    const t = await setup();
    await t.items.claim('a1', { by: 'bob', name: 'Bob', until: new Date(now.getTime() + 60_000).toISOString() }, now);
    await expect(t.revisions.revise('a1', alice, { ...t.shown, amount: 300 }, 'refund the item only', undefined, now)).rejects.toThrow(/claimed by Bob/);
    expect(t.revisionEvents()).toEqual([]);
    // Their claim runs out: the item is free again.
    const later = new Date(now.getTime() + 120_000);
    await expect(t.revisions.revise('a1', alice, { ...t.shown, amount: 300 }, 'refund the item only', undefined, later)).resolves.toMatchObject({
      status: 'revised',
    });
  });

  it('answers 503 and stores nothing when no signing key is valid (a rotation overdue)', async () => {
    // A key that ran out a second ago, its successor not yet in place; the item is well within its SLA.
    const t = await setup({}, { signingValidity: { notBefore: new Date(Date.now() - 3_600_000), notAfter: new Date(Date.now() - 1_000) } });
    await expect(t.revisions.revise('a1', alice, { ...t.shown, amount: 300 }, 'refund the item only', undefined, new Date())).rejects.toThrow(
      /cannot be signed now, nothing was recorded/,
    );
    expect(await t.items.get('a1')).toMatchObject({ status: 'pending' });
    expect(t.revisionEvents()).toEqual([]);
  });
});

describe('approve with changes on a canary (ADR 0018)', () => {
  it('answers as for any item (a new action, the digest, what changed), publishes nothing and records the miss', async () => {
    const bus = new RecordingBus({ source: 'review-queue', logger });
    const dataKey = parseReviewDataKey(generateReviewDataKey());
    const sealer = new ProposalSealer(dataKey);
    const store = createInMemoryDecisionQualityStore();
    const template = {
      id: 'refund-to-unrelated-card',
      actionType: proposal().actionType,
      target: 'order-90431',
      parameters: { amount: 4800, notify: EMAIL, lines: [{ sku: 'A', qty: 2 }] },
      reasons: ['refund above the autonomous limit'],
      why: 'ten times the order value',
    };
    const quality = new DecisionQuality({ store, contract: { canaries: { rate: 1, templates: [template] } }, random: () => 0 }, dataKey, sealer);
    const items = withDecisionQuality(new InMemoryReviewItemRepository(), quality, logger);
    const { signing } = generateSigningKey('rq-1');
    const outbox = new DecisionOutbox(bus, items, logger);
    const revisions = new RevisionService(bus, items, signing, sealer, logger, outbox, new ApprovalService(bus, items, signing, outbox));
    const intake = new ReviewConsumer(items, logger, sealer, [testPolicyEngineKey.verifyKey], revisions);
    await intake.enqueue(
      reviewLaneDecision('a1', {
        proposal: proposal(),
        digest: actionDigest(proposal(), '1'),
        review: { slaClass: 'normal', slaSeconds: 3600, requiredRoles: ['reviewer'], quorum: 1 },
      }),
    );
    const canary = (await items.pending(10)).find((i) => quality.isCanary(i))!;
    expect(canary).toBeDefined();

    const answers = [];
    for (const id of ['a1', canary.actionId]) {
      const shown = (await items.get(id))!.proposal.parameters;
      answers.push(await revisions.revise(id, alice, { ...shown, amount: 100 }, 'refund the one line only'));
    }
    // The same shape, the same fields: nothing in the answer tells the canary apart.
    expect(answers.map((a) => Object.keys(a).sort())).toEqual([Object.keys(answers[0]).sort(), Object.keys(answers[0]).sort()]);
    expect(answers[1]).toMatchObject({ actionId: canary.actionId, status: 'revised', changed: ['/amount'] });
    expect(answers[1].newActionId).not.toBe(canary.actionId);
    // A retry by the same reviewer is answered with the same revision, on the canary as on the real item.
    for (const [i, id] of ['a1', canary.actionId].entries()) {
      const shown = (await items.get(id))!.proposal.parameters;
      expect(await revisions.revise(id, alice, { ...shown, amount: 100 }, 'refund the one line only')).toEqual(answers[i]);
    }
    // Only the real item's revision goes out; the canary's approval with changes is a miss like an approval.
    expect(bus.published.map((p) => p.event.subject)).not.toContain(canary.actionId);
    expect(bus.published.filter((p) => p.topic === TOPICS.proposalRevised).map((p) => p.event.subject)).toEqual(['a1']);
    expect((await store.unauditedMisses(10)).map((m) => [m.actionId, m.reviewer])).toEqual([[canary.actionId, 'alice']]);
  });
});
