import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { TOPICS } from '@countersign/contracts';
import { writeTokens } from '@countersign/nest';
import { DEFAULT_CONTRACT_PATH } from '@countersign/policy-engine';
import { call, eventually } from '@countersign/testing';
import { startEmbedded } from './embedded';
import { HOME_PRINCIPALS } from './home/home-principals';

// real: all five services in one process, their stores and bus on the home's database (PGlite), the reviewer API with
// the home's tokens, masking and sealed proposals; fake: the target system (the embedded sink).
// An insider's probe of approve with changes (red team, 2026-12-05): a reviewer without pii:view trying to learn a
// value they were shown masked.
describe('approve with changes tells a reviewer nothing of what they saw masked (embedded mode)', () => {
  const home = mkdtempSync(join(tmpdir(), 'countersign-insider-'));
  // The home's principals, and a lead with a token of her own (the JSON API), for the claim a lead breaks below.
  writeTokens(home, [...HOME_PRINCIPALS, { name: 'lead', principal: 'lena', kind: 'human', roles: ['lead'] }]);
  let running: Awaited<ReturnType<typeof startEmbedded>>;
  const token = (name: string) => readFileSync(join(home, 'tokens', name), 'utf8');
  const EMAIL = 'jane.doe@example.com';
  /** A refund whose reason names the customer's address: reviewers without pii:view see it masked. */
  const refund = () => ({
    ...JSON.parse(readFileSync(join(__dirname, '../examples/refund-large.json'), 'utf8')),
    parameters: { amount: 480, currency: 'EUR', reason: `damaged item, customer ${EMAIL}` },
  });
  const inReview = async (target: string) => {
    const id = (await call('POST', `${running.url}/v1/proposals`, { ...refund(), target }, token('agent'))).body.actionId as string;
    await eventually(async () => expect((await call('GET', `${running.url}/v1/actions/${id}`, undefined, token('agent'))).body.status).toBe('in_review'));
    const card = (await call('GET', `${running.url}/v1/reviews/${id}`, undefined, token('reviewer'))).body as {
      proposal: { parameters: Record<string, unknown> };
    };
    const shown = card.proposal.parameters;
    expect(shown.reason).not.toContain(EMAIL);
    return { id, shown };
  };
  const revise = (id: string, parameters: Record<string, unknown>, who = 'reviewer', reason = 'refund the item, not shipping') =>
    call('POST', `${running.url}/v1/reviews/${id}/revise`, { parameters, reason }, token(who));

  beforeAll(async () => {
    running = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) });
  }, 60_000);
  afterAll(() => running.close());

  it('answers the new version’s digest to pii:view only, on the first call and on its retry', async () => {
    const plain = await inReview('order-insider-1');
    for (let i = 0; i < 2; i++) {
      const made = await revise(plain.id, { ...plain.shown, amount: 300 });
      expect(made).toMatchObject({ status: 200, body: { actionId: plain.id, status: 'revised', changed: ['/amount'] } });
      expect(made.body).not.toHaveProperty('revisedDigest');
    }
    const privacy = await inReview('order-insider-2');
    const told = await revise(privacy.id, { ...privacy.shown, amount: 300 }, 'privacy-reviewer');
    expect(told.status).toBe(200);
    expect(told.body.revisedDigest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('answers a guess in place of the mask 409 whether right or wrong; the exact retry gets the revision made', async () => {
    const { id, shown } = await inReview('order-insider-3');
    const made = await revise(id, { ...shown, amount: 300 });
    expect(made.status).toBe(200);
    // The right guess makes the very proposal revised (it was answered 200, the wrong one 409: an oracle).
    const right = await revise(id, { ...shown, amount: 300, reason: `damaged item, customer ${EMAIL}` });
    const wrong = await revise(id, { ...shown, amount: 300, reason: 'damaged item, customer john.roe@example.com' });
    expect(right.status).toBe(409);
    expect([wrong.status, wrong.body]).toEqual([right.status, right.body]);
    expect(right.body.message).toMatch(/only exactly the same parameters and reason, as sent then/);
    const retry = await revise(id, { ...shown, amount: 300 });
    expect([retry.status, retry.body]).toEqual([made.status, made.body]);
  });

  it("lets a lead, and only a lead, end another reviewer's claim with a reason, on the audit trail", async () => {
    const { id } = await inReview('order-insider-claimed');
    const url = `${running.url}/v1/reviews/${id}`;
    expect((await call('POST', `${url}/claim`, {}, token('reviewer'))).status).toBe(200);
    expect((await call('POST', `${url}/claim`, {}, token('reviewer2'))).status).toBe(409);
    // A reviewer is no lead; a lead gives a reason.
    expect((await call('POST', `${url}/claim/break`, { reason: 'alice is away' }, token('reviewer2'))).status).toBe(403);
    const noReason = await call('POST', `${url}/claim/break`, {}, token('lead'));
    expect(noReason.status).toBe(400);
    const broken = await call('POST', `${url}/claim/break`, { reason: 'alice is away until tomorrow' }, token('lead'));
    expect(broken).toMatchObject({ status: 200, body: { actionId: id, released: { by: 'alice' } } });
    expect((await call('POST', `${url}/claim/break`, { reason: 'again' }, token('lead'))).status).toBe(409);
    expect((await call('POST', `${url}/claim`, {}, token('reviewer2'))).body).toMatchObject({ claim: { by: 'bob' } });
    await eventually(() => {
      const entries = readFileSync(join(home, 'audit', 'audit.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).entry as { eventType: string; actionId: string; actor: { id: string }; data: Record<string, unknown> })
        .filter((e) => e.eventType === TOPICS.claimBroken && e.actionId === id);
      expect(entries).toEqual([
        expect.objectContaining({
          actor: expect.objectContaining({ id: 'lena' }),
          data: expect.objectContaining({ heldBy: 'alice', reason: 'alice is away until tomorrow' }),
        }),
      ]);
    });
  });
});

// real: as above, with the local audit file the audit writer appends to; the project's contract with a refund's quorum
// raised to two (the file the home starts from).
describe('an approval short of its quorum is on the audit trail (embedded mode)', () => {
  const home = mkdtempSync(join(tmpdir(), 'countersign-quorum-'));
  let running: Awaited<ReturnType<typeof startEmbedded>>;
  const token = (name: string) => readFileSync(join(home, 'tokens', name), 'utf8');
  const audit = () =>
    (existsSync(join(home, 'audit', 'audit.jsonl')) ? readFileSync(join(home, 'audit', 'audit.jsonl'), 'utf8') : '')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).entry as { eventType: string; actionId: string; actor: { id: string; authMethod?: string }; data: Record<string, unknown> });

  beforeAll(async () => {
    const contract = readFileSync(DEFAULT_CONTRACT_PATH, 'utf8');
    // The refund's own review (the first after its name), not another action type's alike.
    const at = contract.indexOf('support.refund:');
    const refund = contract.slice(at).replace('requiredRoles: [finance], quorum: 1', 'requiredRoles: [finance], quorum: 2');
    expect(at).toBeGreaterThan(0);
    expect(refund).not.toBe(contract.slice(at));
    const contractPath = join(home, 'quorum-two.contract.yaml');
    writeFileSync(contractPath, contract.slice(0, at) + refund);
    running = await startEmbedded({ home, port: 0, contractPath, logger: pino({ level: 'silent' }) });
  }, 60_000);
  afterAll(() => running.close());

  it('keeps bob’s approval when alice then rejects: both on the record, each with how they signed in', async () => {
    const refund = JSON.parse(readFileSync(join(__dirname, '../examples/refund-large.json'), 'utf8'));
    const id = (await call('POST', `${running.url}/v1/proposals`, { ...refund, target: 'order-quorum-1' }, token('agent'))).body.actionId as string;
    await eventually(async () => expect((await call('GET', `${running.url}/v1/actions/${id}`, undefined, token('agent'))).body.status).toBe('in_review'));
    const approved = await call('POST', `${running.url}/v1/reviews/${id}/approve`, { reason: 'customer history checked' }, token('reviewer2'));
    expect(approved).toMatchObject({ status: 200, body: { status: 'awaiting-quorum', approvers: ['bob'], quorum: 2 } });
    const rejected = await call('POST', `${running.url}/v1/reviews/${id}/reject`, { reason: 'the receipt is forged' }, token('reviewer'));
    expect(rejected.status).toBe(200);
    await eventually(() => {
      const trail = audit().filter((e) => e.actionId === id && (e.eventType === TOPICS.approvalRecorded || e.eventType === TOPICS.reviewDecided));
      expect(trail.map((e) => [e.eventType, e.actor.id, e.actor.authMethod])).toEqual([
        [TOPICS.approvalRecorded, 'bob', 'bearer-token'],
        [TOPICS.reviewDecided, 'alice', 'bearer-token'],
      ]);
      expect(trail[0].data).toMatchObject({ reason: 'customer history checked', approvers: ['bob'], quorum: 2 });
      expect(trail[1].data).toMatchObject({ decision: 'rejected' });
    }, 30_000);
  });
});

// real: all five services in one process, the review items on the home's database (PGlite, the PostgreSQL adapter),
// the reviewer API with the home's tokens; fake: the target system (the embedded sink).
// An insider hoarding claims (red team, 2026-12-05): one reviewer claimed every pending item and kept the rest out.
describe('one reviewer holds a few claims, not the queue (embedded mode)', () => {
  const home = mkdtempSync(join(tmpdir(), 'countersign-claims-'));
  let running: Awaited<ReturnType<typeof startEmbedded>>;
  const token = (name: string) => readFileSync(join(home, 'tokens', name), 'utf8');

  beforeAll(async () => {
    running = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) });
  }, 60_000);
  afterAll(() => running.close());

  it('refuses a claim beyond the cap with a 409 naming it, even asked all at once', async () => {
    const refund = JSON.parse(readFileSync(join(__dirname, '../examples/refund-large.json'), 'utf8'));
    const ids: string[] = [];
    for (let i = 0; i < 8; i++)
      ids.push((await call('POST', `${running.url}/v1/proposals`, { ...refund, target: `order-hoard-${i}` }, token('agent'))).body.actionId as string);
    for (const id of ids)
      await eventually(async () => expect((await call('GET', `${running.url}/v1/actions/${id}`, undefined, token('agent'))).body.status).toBe('in_review'));
    const claim = (id: string, who: string) => call('POST', `${running.url}/v1/reviews/${id}/claim`, {}, token(who));
    // One after the other: three, then a 409 that names the cap.
    for (const id of ids.slice(0, 3)) expect((await claim(id, 'reviewer')).status).toBe(200);
    const fourth = await claim(ids[3], 'reviewer');
    expect(fourth.status).toBe(409);
    expect(fourth.body.message).toMatch(/you hold 3 claims already, the most one reviewer may hold: decide or release one before claiming/);
    // All at once (each counted before the others wrote): never more than three held, each refusal the same 409.
    const burst = await Promise.all(ids.slice(3).map((id) => claim(id, 'reviewer2')));
    expect(burst.filter((c) => c.status === 200).length).toBeLessThanOrEqual(3);
    for (const c of burst.filter((x) => x.status !== 200))
      expect([c.status, c.body.message]).toEqual([409, expect.stringMatching(/you hold 3 claims already/)]);
    const held = await Promise.all(
      ids
        .slice(3)
        .map(async (id) => (await call('GET', `${running.url}/v1/reviews/${id}`, undefined, token('reviewer2'))).body.claim as { by: string } | undefined),
    );
    expect(held.filter((c) => c?.by === 'bob').length).toBe(burst.filter((c) => c.status === 200).length);
  });
});
