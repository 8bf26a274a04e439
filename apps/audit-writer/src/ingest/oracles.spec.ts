import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { actionDigest, canonicalDigest, Envelope, TOPICS } from '@countersign/contracts';
import { maskDeep } from '@countersign/guardrails';
import { CONFIGURATION_TOPICS, pseudonymOf, toAuditEntry, withoutOracles } from './audit-entry';
import { AUDITED_TOPICS } from './audit.consumer';

// real: the entry builder and its masking, the shared event fixtures of every topic, SHA-256 and HMAC; fake: nothing.
const KEY = Buffer.alloc(32, 9);
const CARD = '4539578763621486';
const proposal = {
  actionType: 'support.refund',
  target: 'order-card-2',
  parameters: { amount: 480, currency: 'EUR', card: CARD },
  proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'v1' },
  tenant: 'acme',
  region: 'eu-west',
  confidence: 0.95,
};
const digest = actionDigest(proposal as never, '2026.12.11');
const envelope = (type: string, data: Record<string, unknown>): Envelope =>
  ({
    id: `01JCZ7Q4R5S6T7V8W9X0Y1Z2${type.length.toString().padStart(2, '0')}`,
    type,
    version: 1,
    source: 'test',
    time: '2026-12-05T10:00:00.000Z',
    subject: 'action-1',
    correlationId: 'corr-1',
    causationId: null,
    actor: { id: 'policy-engine', kind: 'service' },
    data,
  }) as unknown as Envelope;
const entryOf = (e: Envelope) => withoutOracles(e.type, toAuditEntry(e.type, e), KEY);

describe('audit entries keep no oracle of what they mask (tenant probe, 2026-12-05)', () => {
  it("a masked card cannot be found from the entry: the proposal's digest is the log's pseudonym, the seal is left out", () => {
    const decided = entryOf(
      envelope(TOPICS.policyDecided, { lane: 'review', digest, proposal, contractVersion: '2026.12.11', seal: 'cf1.claims-with-the-digest.signature' }),
    );
    const text = JSON.stringify(decided);
    expect(text).not.toContain(CARD);
    expect(text).toContain('[card …1486]');
    // The probe's search: every card with the known prefix and last four, hashed as the proposal is, against the entry.
    // One candidate is the real card; the entry must not tell it.
    expect(text).not.toContain(digest);
    expect(text).not.toContain('cf1.');
    expect(decided.data).toMatchObject({ digest: pseudonymOf(KEY, digest) });
    expect(decided.data).not.toHaveProperty('seal');
    expect(decided.pseudonymised).toEqual({ keyed: ['/data/digest'], dropped: ['/data/seal'] });
  });

  it('the same digest is the same pseudonym across entries: what was decided, approved and executed still match', () => {
    const approved = entryOf(
      envelope(TOPICS.reviewDecided, { decision: 'approved', digest, signature: `cs1.${Buffer.from(digest).toString('base64url')}.sig`, reviewers: [] }),
    );
    const executed = entryOf(envelope(TOPICS.actionExecuted, { digest, seal: 'cf1.x.y', connector: 'webhook' }));
    const decided = entryOf(envelope(TOPICS.policyDecided, { lane: 'review', digest, proposal }));
    expect((approved.data as { digest: string }).digest).toBe((decided.data as { digest: string }).digest);
    expect((executed.data as { digest: string }).digest).toBe((decided.data as { digest: string }).digest);
    expect(approved.data).not.toHaveProperty('signature');
    // Another key (another log) gives other pseudonyms: nothing is computable from the digest without the key.
    expect(
      withoutOracles(TOPICS.actionExecuted, toAuditEntry(TOPICS.actionExecuted, envelope(TOPICS.actionExecuted, { digest })), Buffer.alloc(32, 1)).data,
    ).not.toEqual(executed.data);
  });

  it("a masked screen's digest stays, so an auditor replays it; a screen with regulated data shown has its digest keyed", () => {
    const maskedScreen = { proposal: { ...proposal, parameters: { ...proposal.parameters, card: '[card …1486]' } } };
    const replayable = entryOf(
      envelope(TOPICS.reviewDecided, { decision: 'approved', digest, reviewers: [], shown: maskedScreen, shownDigest: canonicalDigest(maskedScreen) }),
    );
    expect(replayable.shownDigest).toBe(canonicalDigest(maskedScreen));
    expect(canonicalDigest(replayable.shown)).toBe(replayable.shownDigest);

    // A reviewer holding pii:view saw the card, and the screen carried the action's digest.
    const revealed = { proposal, digest };
    const keyed = entryOf(
      envelope(TOPICS.reviewDecided, { decision: 'approved', digest, reviewers: [], shown: revealed, shownDigest: canonicalDigest(revealed) }),
    );
    const text = JSON.stringify(keyed);
    expect(text).not.toContain(canonicalDigest(revealed));
    expect(text).not.toContain(digest);
    expect(text).not.toContain(CARD);
    expect(keyed.shownDigest).toBe(pseudonymOf(KEY, canonicalDigest(revealed)));
    expect(keyed.pseudonymised!.keyed).toEqual(expect.arrayContaining(['/data/digest', '/data/shownDigest', '/data/shown/digest']));
  });

  it("a blind second verdict's page, masked as reviewers see masks (an IBAN's check digits, an address's domain), replays too", () => {
    const real = { iban: 'DE89370400440532013000', email: 'jane.doe@evil-mail.example', card: CARD };
    const page = {
      actionId: 'action-1',
      actionType: 'support.payout',
      target: 'customer-7',
      parameters: maskDeep(real, { forReviewers: true }),
      reasons: ['a payout to a new account'],
    };
    expect(JSON.stringify(page)).toContain('DE89 [iban');
    const entry = entryOf(
      envelope(TOPICS.secondReviewRecorded, {
        verdict: 'rejected',
        firstDecision: 'approved',
        reason: 'no receipt',
        digest,
        slaClass: 'high',
        shown: page,
        shownDigest: canonicalDigest(page),
        shownEchoed: true,
      }),
    );
    expect(entry.shownDigest).toBe(canonicalDigest(page));
    expect(canonicalDigest(entry.shown)).toBe(entry.shownDigest);
    expect(JSON.stringify(entry)).not.toContain('0532013000');
  });

  it("keeps no other digest of the action's content: an outcome check's idempotency key, a 64-hex run quoted in a text (masked-data probe)", () => {
    const idempotencyKey = 'ab'.repeat(32);
    const check = entryOf(
      envelope(TOPICS.outcomeCheckRequested, {
        digest,
        idempotencyKey,
        reason: `look it up under Idempotency-Key ${idempotencyKey.toUpperCase()}, twice`,
        contractHash: 'cd'.repeat(32),
      }),
    );
    const text = JSON.stringify(check);
    expect(text.toLowerCase()).not.toContain(idempotencyKey);
    expect(check.data).toMatchObject({
      idempotencyKey: pseudonymOf(KEY, idempotencyKey),
      reason: `look it up under Idempotency-Key ${pseudonymOf(KEY, idempotencyKey)}, twice`,
      // The contract's hash is of the contract's text, which an auditor matches against the contract.
      contractHash: 'cd'.repeat(32),
    });
    expect(check.reasons).toEqual([`look it up under Idempotency-Key ${pseudonymOf(KEY, idempotencyKey)}, twice`]);
    expect(check.pseudonymised!.keyed).toEqual(['/data/digest', '/data/idempotencyKey', '/data/reason', '/reasons/0']);
  });

  it("keeps a dead letter's raw message without its signature and digests, and none that cannot be read as JSON", () => {
    const submitted = JSON.stringify({
      id: 'e1',
      type: TOPICS.proposalSubmitted,
      data: { proposal: { ...proposal, parameters: { ...proposal.parameters, note: 'unknown' } } },
      signature: { alg: 'Ed25519', keyId: 'support-copilot-1', value: 'c2lnbmF0dXJl' },
    });
    const dead = entryOf(
      envelope(`${TOPICS.proposalSubmitted}.dlq`, {
        topic: TOPICS.proposalSubmitted,
        reason: 'invalid parameters',
        rawPreview: submitted,
        rawBytes: submitted.length,
      }),
    );
    const preview = JSON.parse((dead.data as { rawPreview: string }).rawPreview);
    expect(preview).not.toHaveProperty('signature');
    expect(preview.data.proposal.parameters.card).toBe('[card …1486]');
    expect(dead.pseudonymised!.dropped).toEqual(['/data/rawPreview/signature']);
    const cut = entryOf(
      envelope(`${TOPICS.proposalSubmitted}.dlq`, {
        topic: TOPICS.proposalSubmitted,
        reason: 'too large',
        rawPreview: submitted.slice(0, 100),
        rawBytes: 5000,
      }),
    );
    expect((cut.data as { rawPreview: string }).rawPreview).toBe('[not kept: 100 characters that do not read as JSON; the dead-letter topic keeps them]');
  });

  it('configuration keeps its digests and signatures: an auditor matches the digest an admin approved', () => {
    const changeDigest = 'a'.repeat(64);
    const entry = entryOf(envelope(TOPICS.changeDecided, { digest: changeDigest, signature: 'sig' }));
    expect(entry.data).toMatchObject({ digest: changeDigest, signature: 'sig' });
    expect(entry).not.toHaveProperty('pseudonymised');
  });

  it('an entry of no topic but configuration holds a digest, seal or signature of its event as published (every fixture)', () => {
    const dir = join(__dirname, '../../../../libs/contracts/fixtures');
    const fixtures = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Envelope)
      .filter((e) => AUDITED_TOPICS.includes(e.type as never) && !CONFIGURATION_TOPICS.has(e.type));
    const oracles = (value: unknown, found: string[] = []): string[] => {
      if (value && typeof value === 'object')
        for (const [k, v] of Object.entries(value)) {
          if (['digest', 'revisedDigest', 'seal', 'signature', 'approval'].includes(k) && typeof v === 'string') found.push(v);
          else oracles(v, found);
        }
      return found;
    };
    const checked = fixtures.filter((e) => oracles(e.data).length > 0);
    // The fixtures reach the topics that carry them (decisions, reviews, revisions, outcomes, samples, reveals).
    expect(checked.length).toBeGreaterThanOrEqual(10);
    for (const e of checked) {
      const text = JSON.stringify(entryOf(e));
      for (const oracle of oracles(e.data)) expect({ topic: e.type, leaks: text.includes(oracle) }).toEqual({ topic: e.type, leaks: false });
    }
  });
});
