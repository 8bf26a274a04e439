import { ForbiddenException } from '@nestjs/common';
import pino from 'pino';
import { generateSigningKey } from '@countersign/approval';
import { Principal } from '@countersign/nest';
import { refundProposal, RecordingBus } from '@countersign/testing';
import { ApprovalService } from '../approvals/approval.service';
import { STEP_UP_MAX_AGE_MS, stepUpRefusal } from '../approvals/step-up';
import { DecisionOutbox } from '../review-item/decision-outbox';
import { InMemoryReviewItemRepository } from '../review-item/in-memory-review-item.repository';
import { ReviewItem } from '../review-item/review-item.repository';
import { ReviewClock } from '../review-clock/review-clock';
import { CLAIM_TTL_MS, ClaimService, MAX_CLAIMS_PER_REVIEWER } from './claim.service';

// real: ClaimService, ApprovalService with its decision outbox, the in-memory review items, Ed25519 signing, the
// in-memory bus; fake: nothing (times are given, not waited for).
const t0 = new Date('2026-11-24T10:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const human = (id: string, more: Partial<Principal> = {}): Principal => ({ id, kind: 'human', roles: ['reviewer', 'security'], ...more });
const alice = human('alice');
const bob = human('bob');

async function setup() {
  const logger = pino({ level: 'silent' });
  const bus = new RecordingBus({ source: 'review-queue', logger });
  const items = new InMemoryReviewItemRepository();
  const item = (actionId: string, over: Partial<ReviewItem> = {}): ReviewItem => ({
    kind: 'approval',
    actionId,
    correlationId: `c-${actionId}`,
    decisionEventId: `d-${actionId}`,
    digest: 'f'.repeat(64),
    proposal: refundProposal(),
    proposerPrincipal: 'support-copilot',
    contractVersion: '1',
    reasons: ['amount over threshold'],
    slaClass: 'normal',
    requiredRoles: ['reviewer'],
    quorum: 1,
    createdAt: t0.toISOString(),
    dueAt: at(3_600_000).toISOString(),
    status: 'pending',
    ...over,
  });
  const outbox = new DecisionOutbox(bus, items, logger, { graceMs: 5_000 });
  const key = generateSigningKey('rq-1').signing;
  const approvals = new ApprovalService(bus, items, key, outbox);
  const clockAt = { now: t0 };
  const clock = new ReviewClock(bus, items, key, outbox, logger, undefined, { now: () => clockAt.now });
  return { items, item, approvals, claims: new ClaimService(items, logger), bus, clock, clockAt };
}

describe('ClaimService: a lease so two reviewers do not work one item', () => {
  it("refuses another reviewer's claim and decisions while the lease holds, and frees the item when it runs out", async () => {
    const t = await setup();
    await t.items.add(t.item('a1'));
    expect(await t.claims.claim('a1', alice, 'Alice Reviewer', t0)).toEqual({ by: 'alice', name: 'Alice Reviewer', until: at(CLAIM_TTL_MS).toISOString() });
    await expect(t.claims.claim('a1', bob, 'Bob', at(60_000))).rejects.toThrow(/claimed by Alice Reviewer until 10:05 UTC/);
    await expect(t.approvals.approve('a1', bob, 'looks fine', undefined, at(60_000))).rejects.toThrow(/claimed by Alice Reviewer/);
    await expect(t.approvals.reject('a1', bob, 'looks wrong', undefined, at(60_000))).rejects.toThrow(/claimed by Alice Reviewer/);
    // Her card stays open: the lease is renewed; past it, the item is Bob's to claim and decide.
    await t.claims.claim('a1', alice, 'Alice Reviewer', at(4 * 60_000));
    await expect(t.approvals.approve('a1', bob, 'looks fine', undefined, at(6 * 60_000))).rejects.toThrow(/claimed by Alice/);
    expect((await t.claims.claim('a1', bob, 'Bob', at(10 * 60_000))).by).toBe('bob');
    expect(await t.approvals.approve('a1', bob, 'looks fine', undefined, at(10 * 60_000))).toEqual({ status: 'approved', approvers: ['bob'] });
    await expect(t.claims.claim('a1', alice, 'Alice Reviewer', at(11 * 60_000))).rejects.toThrow(/already decided: there is nothing to claim/);
  });

  it("releases every claim a reviewer holds at once (their sign-out), and no one else's (red team, 2026-12-08)", async () => {
    const t = await setup();
    for (const id of ['r1', 'r2', 'r3']) await t.items.add(t.item(id));
    await t.claims.claim('r1', alice, 'Alice Reviewer', t0);
    await t.claims.claim('r2', alice, 'Alice Reviewer', t0);
    await t.claims.claim('r3', bob, 'Bob', t0);
    expect((await t.claims.releaseAll(alice, at(60_000))).sort()).toEqual(['r1', 'r2']);
    expect((await t.claims.claim('r1', bob, 'Bob', at(60_000))).by).toBe('bob');
    expect((await t.claims.claim('r2', bob, 'Bob', at(60_000))).by).toBe('bob');
    await expect(t.claims.claim('r3', alice, 'Alice Reviewer', at(60_000))).rejects.toThrow(/claimed by Bob/);
    expect(await t.claims.releaseAll(alice, at(60_000))).toEqual([]);
  });

  it('renews only a claim the reviewer still holds: an ended one (released, run out, escalated) is not taken back (red team, 2026-12-04)', async () => {
    const t = await setup();
    await t.items.add(t.item('a1'));
    await t.claims.claim('a1', alice, 'Alice Reviewer', t0);
    expect((await t.claims.renew('a1', alice, 'Alice Reviewer', at(60_000))).until).toBe(at(60_000 + CLAIM_TTL_MS).toISOString());
    await expect(t.claims.renew('a1', bob, 'Bob', at(60_000))).rejects.toThrow(/your claim on action a1 has ended/);
    // The clock escalates the item (which ends the claim, as a release does): her open card's renewal does not take it back.
    await t.claims.release('a1', alice);
    await expect(t.claims.renew('a1', alice, 'Alice Reviewer', at(120_000))).rejects.toThrow(/has ended/);
    expect((await t.items.get('a1'))!.claim).toBeUndefined();
    // Run out, the same.
    await t.claims.claim('a1', alice, 'Alice Reviewer', at(180_000));
    await expect(t.claims.renew('a1', alice, 'Alice Reviewer', at(180_000 + CLAIM_TTL_MS))).rejects.toThrow(/has ended/);
    // Opening the card again claims it, as before.
    expect((await t.claims.claim('a1', alice, 'Alice Reviewer', at(180_000 + CLAIM_TTL_MS))).by).toBe('alice');
  });

  it('refuses a claim at or past the item’s due time with the reason, as a decision is refused (race probe, 2026-12-05)', async () => {
    const t = await setup();
    await t.items.add(t.item('a1', { dueAt: at(60_000).toISOString() }));
    await expect(t.claims.claim('a1', alice, 'Alice Reviewer', at(60_000))).rejects.toThrow(
      `action a1 is past its due time (${at(60_000).toISOString()}, sla_expired)`,
    );
    expect((await t.items.get('a1'))!.claim).toBeUndefined();
  });

  it('lets the holder decide, and another reviewer once the holder released it', async () => {
    const t = await setup();
    await t.items.add(t.item('a1'));
    await t.items.add(t.item('a2'));
    await t.claims.claim('a1', alice, 'Alice', t0);
    await t.claims.claim('a2', alice, 'Alice', t0);
    await t.approvals.reject('a1', alice, 'not justified', undefined, at(1000));
    expect(await t.claims.release('a2', bob)).toEqual({ released: false });
    expect(await t.claims.release('a2', alice)).toEqual({ released: true });
    expect(await t.approvals.approve('a2', bob, 'fine', undefined, at(2000))).toMatchObject({ status: 'approved' });
  });

  it("refuses a claim to someone who may propose as the item's agent through another token, and holds none for them", async () => {
    const t = await setup();
    await t.items.add(t.item('a1'));
    const fiona = human('fiona', { proposesAs: ['fiona', 'support-copilot'] });
    await expect(t.claims.claim('a1', fiona, 'Fiona', t0)).rejects.toThrow(
      new ForbiddenException('separation of duties: the proposer of an action cannot claim it for review'),
    );
    expect((await t.items.get('a1'))!.claim).toBeUndefined();
    expect(await t.claims.claim('a1', alice, 'Alice', t0)).toMatchObject({ by: 'alice' });
  });

  it("refuses a claim to the proposer, to a reviewer without the item's roles, and on an unknown item", async () => {
    const t = await setup();
    await t.items.add(t.item('a1', { requiredRoles: ['finance'] }));
    await t.items.add(t.item('a2', { proposerPrincipal: 'alice' }));
    await expect(t.claims.claim('a1', alice, 'Alice', t0)).rejects.toThrow(/requires one of the roles: finance/);
    await expect(t.claims.claim('a2', alice, 'Alice', t0)).rejects.toThrow(/separation of duties/);
    await expect(t.claims.claim('nope', alice, 'Alice', t0)).rejects.toThrow(/no review item/);
  });

  it("tells a reviewer without the item's roles nothing about it: 403 whether it is pending or decided (red team, 2026-12-04)", async () => {
    const t = await setup();
    await t.items.add(t.item('p1', { requiredRoles: ['finance'] }));
    await t.items.add(t.item('d1', { requiredRoles: ['finance'], status: 'approved' }));
    for (const id of ['p1', 'd1']) {
      await expect(t.claims.claim(id, alice, 'Alice', t0)).rejects.toThrow(ForbiddenException);
      await expect(t.claims.claim(id, alice, 'Alice', t0)).rejects.toThrow(/requires one of the roles: finance/);
    }
  });

  it("ends the first approver's claim on a quorum, so the second is not blocked, and refuses the first a second approval or claim", async () => {
    const t = await setup();
    await t.items.add(t.item('q1', { quorum: 2 }));
    await t.claims.claim('q1', alice, 'Alice', t0);
    expect(await t.approvals.approve('q1', alice, 'first', undefined, at(1000))).toEqual({ status: 'awaiting-quorum', approvers: ['alice'], quorum: 2 });
    expect((await t.items.get('q1'))!.claim).toBeUndefined();
    await expect(t.approvals.approve('q1', alice, 'again', undefined, at(2000))).rejects.toThrow(/you approved action q1 already \(1 of 2 approvals so far\)/);
    await expect(t.claims.claim('q1', alice, 'Alice', at(2000))).rejects.toThrow(/you approved action q1 already/);
    await t.claims.claim('q1', bob, 'Bob', at(3000));
    expect(await t.approvals.approve('q1', bob, 'second', undefined, at(4000))).toEqual({ status: 'approved', approvers: ['alice', 'bob'] });
  });
});

describe('step-up: approving a critical-class action needs a second factor', () => {
  it('refuses a session without mfa and any bearer token, with the reason; accepts mfa; leaves rejections and other classes alone', async () => {
    const t = await setup();
    await t.items.add(t.item('c1', { slaClass: 'critical' }));
    await t.items.add(t.item('c2', { slaClass: 'critical' }));
    await t.items.add(t.item('h1', { slaClass: 'high' }));
    const password = human('alice', { authMethod: 'oidc', amr: ['pwd'] });
    await expect(t.approvals.approve('c1', password, 'fine', undefined, t0)).rejects.toThrow(
      /approving a critical-class action needs a second factor, and this session was signed in with pwd/,
    );
    await expect(t.approvals.approve('c1', bob, 'fine', undefined, t0)).rejects.toThrow(/a bearer token cannot show: approve it in the inbox/);
    expect((await t.items.get('c1'))!.approvedBy).toBeUndefined();
    const withMfa = human('max', { authMethod: 'oidc', amr: ['pwd', 'otp', 'mfa'], authTime: t0.getTime() - 60_000 });
    expect(await t.approvals.approve('c1', withMfa, 'checked the grant', undefined, t0)).toMatchObject({ status: 'approved', approvers: ['max'] });
    // Stopping a critical action never waits for a second factor; other classes need none.
    await t.approvals.reject('c2', bob, 'no ticket for this grant', undefined, t0);
    expect(await t.approvals.approve('h1', bob, 'fine', undefined, t0)).toMatchObject({ status: 'approved' });
    expect(stepUpRefusal({ slaClass: 'normal' }, {})).toBeUndefined();
  });

  it('takes a second factor only while it is recent: one given more than 15 minutes ago is asked for again', async () => {
    const t = await setup();
    await t.items.add(t.item('c4', { slaClass: 'critical' }));
    const stale = human('max', { authMethod: 'oidc', amr: ['pwd', 'otp', 'mfa'], authTime: t0.getTime() - STEP_UP_MAX_AGE_MS - 1 });
    await expect(t.approvals.approve('c4', stale, 'checked the grant', undefined, t0)).rejects.toThrow(
      /needs a second factor given in the last 15 minutes, and this session's was given at 2026-11-24T09:44:59.999Z: verify again/,
    );
    // A session that recorded no sign-in time has no recent second factor either.
    const untimed = human('max', { authMethod: 'oidc', amr: ['pwd', 'otp', 'mfa'] });
    await expect(t.approvals.approve('c4', untimed, 'checked the grant', undefined, t0)).rejects.toThrow(/at a time not recorded/);
    const fresh = { ...stale, authTime: t0.getTime() - STEP_UP_MAX_AGE_MS };
    expect(await t.approvals.approve('c4', fresh, 'checked the grant', undefined, t0)).toMatchObject({ status: 'approved' });
  });

  it('refuses a claim on a critical item by someone who could not approve it, so it does not hold up whoever can', async () => {
    const t = await setup();
    await t.items.add(t.item('c3', { slaClass: 'critical' }));
    const password = human('alice', { authMethod: 'oidc', amr: ['pwd'] });
    await expect(t.claims.claim('c3', password, 'Alice', t0)).rejects.toThrow(/claiming this item keeps other reviewers out, and approving a critical-class/);
    await expect(t.claims.claim('c3', bob, 'Bob', t0)).rejects.toBeInstanceOf(ForbiddenException);
    expect((await t.items.get('c3'))!.claim).toBeUndefined();
    const withMfa = human('max', { authMethod: 'oidc', amr: ['pwd', 'otp', 'mfa'], authTime: t0.getTime() - 60_000 });
    expect(await t.claims.claim('c3', withMfa, 'Max', t0)).toMatchObject({ by: 'max' });
  });
});

describe('claim hoarding (red team, 2026-12-05)', () => {
  it(`holds at most ${MAX_CLAIMS_PER_REVIEWER} claims per reviewer: one more is 409 naming the cap, and a decided or released one makes room`, async () => {
    const t = await setup();
    for (const id of ['h1', 'h2', 'h3', 'h4', 'h5']) await t.items.add(t.item(id));
    for (const id of ['h1', 'h2', 'h3']) expect((await t.claims.claim(id, alice, 'Alice', t0)).by).toBe('alice');
    await expect(t.claims.claim('h4', alice, 'Alice', at(1000))).rejects.toThrow(
      /you hold 3 claims already, the most one reviewer may hold: decide or release one before claiming action h4/,
    );
    expect((await t.items.get('h4'))!.claim).toBeUndefined();
    // Renewing one of hers takes no new room; another reviewer is not counted against her.
    expect((await t.claims.renew('h1', alice, 'Alice', at(60_000))).by).toBe('alice');
    expect((await t.claims.claim('h1', alice, 'Alice', at(61_000))).by).toBe('alice');
    expect((await t.claims.claim('h4', bob, 'Bob', at(61_000))).by).toBe('bob');
    // Deciding one, releasing one, or one running out frees room.
    await t.approvals.approve('h1', alice, 'fine', undefined, at(62_000));
    expect((await t.claims.claim('h5', alice, 'Alice', at(63_000))).by).toBe('alice');
    await expect(t.claims.claim('h4', alice, 'Alice', at(64_000))).rejects.toThrow(/you hold 3 claims already/);
    await t.claims.release('h5', alice);
    await t.claims.release('h4', bob);
    expect((await t.claims.claim('h4', alice, 'Alice', at(65_000))).by).toBe('alice');
    expect(await t.items.claimsHeldBy('alice', at(65_000))).toEqual(['h2', 'h3', 'h4']);
    expect(await t.items.claimsHeldBy('alice', at(CLAIM_TTL_MS + 65_000))).toEqual([]);
  });

  it('keeps claims made at once under the cap: parallel requests never leave a reviewer holding more', async () => {
    const t = await setup();
    const ids = Array.from({ length: 8 }, (_, i) => `p${i}`);
    for (const id of ids) await t.items.add(t.item(id));
    await t.claims.claim('p0', alice, 'Alice', t0);
    const results = await Promise.allSettled(ids.slice(1).map((id) => t.claims.claim(id, alice, 'Alice', t0)));
    const held = await t.items.claimsHeldBy('alice', t0);
    // Counted where the claim is written (one statement; in memory, no await between): requests at once count one another.
    expect(results.filter((r) => r.status === 'rejected').length).toBeGreaterThanOrEqual(ids.length - MAX_CLAIMS_PER_REVIEWER);
    expect(held.length).toBeLessThanOrEqual(MAX_CLAIMS_PER_REVIEWER);
    expect(held).toContain('p0');
    // Every request is answered as what happened to it: granted ones hold, refused ones say why and hold nothing.
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') expect(held).toContain(ids[i + 1]);
      else expect(String(r.reason)).toMatch(/you hold 3 claims already/);
    });
  });

  it('refuses the reviewer who held the claim when the item escalated a new claim on it, and names them on the escalated and expired events', async () => {
    const t = await setup();
    const escalating = { escalateAt: at(10 * 60_000).toISOString(), escalateTo: ['security'], dueAt: at(20 * 60_000).toISOString() };
    await t.items.add(t.item('e1', escalating));
    await t.items.add(t.item('e2', escalating));
    // Alice sits on e1, re-claiming it until its time comes.
    await t.claims.claim('e1', alice, 'Alice', at(9 * 60_000));
    t.clockAt.now = at(10 * 60_000);
    expect(await t.clock.tick()).toBe(2);
    const escalated = t.bus.published.filter((p) => p.event.subject === 'e1').map((p) => p.event.data);
    expect(escalated).toEqual([expect.objectContaining({ decision: 'escalated', claimedBy: 'alice' })]);
    // Nobody held e2: its event names no one.
    expect(t.bus.published.find((p) => p.event.subject === 'e2')!.event.data).not.toHaveProperty('claimedBy');
    expect((await t.items.get('e1'))!.escalatedClaimants).toEqual(['alice']);
    await expect(t.claims.claim('e1', alice, 'Alice', at(10 * 60_000 + 1000))).rejects.toThrow(
      /action e1 escalated while you held its claim: it is for other reviewers to claim now/,
    );
    expect((await t.items.get('e1'))!.claim).toBeUndefined();
    // The next tier claims it; an escalation with no claim holding keeps no one out.
    expect((await t.claims.claim('e1', bob, 'Bob', at(10 * 60_000 + 2000))).by).toBe('bob');
    expect((await t.claims.claim('e2', alice, 'Alice', at(10 * 60_000 + 2000))).by).toBe('alice');
    // Bob sits on it until it expires: the expiry names him.
    await t.claims.renew('e1', bob, 'Bob', at(14 * 60_000));
    await t.claims.renew('e1', bob, 'Bob', at(18 * 60_000));
    t.clockAt.now = at(20 * 60_000);
    await t.clock.tick();
    const expired = (await t.items.decisionEvent('e1'))!.event.data;
    expect(expired).toMatchObject({ decision: 'expired', reasonCode: 'sla_expired', claimedBy: 'bob' });
  });
});
