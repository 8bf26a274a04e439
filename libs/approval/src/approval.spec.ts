import { sign } from 'node:crypto';
import canonicalize from 'canonicalize';
import {
  generateSigningKey,
  genuineDecision,
  issuedTooLongAgo,
  signApproval,
  signReviewDecision,
  SigningUnavailableError,
  verifyApproval,
  verifyReviewDecision,
} from './index';

const claims = {
  actionId: 'action-1',
  digest: 'a'.repeat(64),
  approvers: ['alice'],
  reasons: ['looks right'],
  issuedAt: '2026-11-24T10:00:00.000Z',
  expiresAt: '2026-11-24T11:00:00.000Z',
};
const rejection = {
  decision: 'rejected' as const,
  actionId: 'action-1',
  digest: 'a'.repeat(64),
  deciders: ['bob'],
  reasons: ['no evidence'],
  issuedAt: '2026-11-24T10:00:00.000Z',
};
const now = new Date('2026-11-24T10:30:00.000Z');

describe('signed approvals', () => {
  const { signing, verifyKey } = generateSigningKey('review-2026-11');
  const keys = [verifyKey];

  it('verifies a token it signed and returns the claims', () => {
    const check = verifyApproval(signApproval(signing, claims), keys, now);
    const { approvers, ...rest } = claims;
    expect(check).toMatchObject({ ok: true, claims: { ...rest, deciders: approvers, decision: 'approved', kid: 'review-2026-11', v: 2 } });
  });

  it('refuses a signature written other than as signed: padding or characters the decoder would skip (trust probe, 2026-12-05)', () => {
    const token = signApproval(signing, claims);
    expect(verifyApproval(token, keys, now)).toMatchObject({ ok: true });
    for (const changed of [`${token}=`, `${token}!!`, `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`])
      expect(verifyApproval(changed, keys, now)).toEqual({ ok: false, reason: 'review decision signature does not verify' });
  });

  it('refuses a token whose claims were edited (another action id)', () => {
    const [p, body, sig] = signApproval(signing, claims).split('.');
    const edited = JSON.parse(Buffer.from(body, 'base64url').toString());
    edited.actionId = 'action-2';
    const forged = [p, Buffer.from(JSON.stringify(edited)).toString('base64url'), sig].join('.');
    expect(verifyApproval(forged, keys, now)).toEqual({ ok: false, reason: 'review decision signature does not verify' });
  });

  it('refuses a token signed by a key it does not know, and an expired one', () => {
    const other = generateSigningKey('review-2026-11');
    expect(verifyApproval(signApproval(other.signing, claims), keys, now)).toEqual({ ok: false, reason: 'review decision signature does not verify' });
    const stranger = generateSigningKey('attacker');
    expect(verifyApproval(signApproval(stranger.signing, claims), keys, now)).toEqual({ ok: false, reason: 'unknown signing key id "attacker"' });
    expect(verifyApproval(signApproval(signing, claims), keys, new Date('2026-11-24T12:00:00Z'))).toMatchObject({ ok: false, reason: /expired/ });
  });

  it('refuses garbage', () => {
    expect(verifyApproval('not-a-token', keys, now)).toEqual({ ok: false, reason: 'malformed review decision token' });
    expect(verifyApproval('cs1.!!!.x', keys, now).ok).toBe(false);
    expect(verifyApproval(`cs1.${Buffer.from('null').toString('base64url')}.x`, keys, now).ok).toBe(false);
  });

  it('gives every token a distinct nonce so a replay is recognisable, across refills of the nonce buffer', () => {
    expect(signApproval(signing, claims)).not.toEqual(signApproval(signing, claims));
    // More tokens than one fill of the buffer holds (512), twice over: 96 random bits each, none repeated.
    const nonces = Array.from({ length: 1100 }, () => JSON.parse(Buffer.from(signApproval(signing, claims).split('.')[1], 'base64url').toString()).nonce);
    expect(nonces.every((n) => typeof n === 'string' && Buffer.from(n, 'base64url').length === 12)).toBe(true);
    expect(new Set(nonces).size).toBe(nonces.length);
  });

  it('still reads a version 1 token (signed before rejections were) as the approval it was', () => {
    const v1 = { v: 1, kid: 'review-2026-11', nonce: 'n1', ...claims };
    const body = `cs1.${Buffer.from(canonicalize(v1)!).toString('base64url')}`;
    const token = `${body}.${sign(null, Buffer.from(body), signing.privateKey).toString('base64url')}`;
    expect(verifyApproval(token, keys, now)).toMatchObject({ ok: true, claims: { decision: 'approved', deciders: ['alice'], actionId: 'action-1' } });
  });
});

describe('signed review decisions', () => {
  const { signing, verifyKey } = generateSigningKey('review-2026-11');
  const keys = [verifyKey];

  it('signs a rejection with its decision claim; it needs no expiry', () => {
    expect(verifyReviewDecision(signReviewDecision(signing, rejection), keys, new Date('2030-01-01T00:00:00Z'))).toMatchObject({
      ok: true,
      claims: { ...rejection, v: 2 },
    });
  });

  it('a signed rejection is not an approval', () => {
    expect(verifyApproval(signReviewDecision(signing, rejection), keys, now)).toEqual({
      ok: false,
      reason: 'the token signs a decision "rejected", not an approval',
    });
  });

  it('refuses a rejection whose decision claim was edited into an approval', () => {
    const [p, body, sig] = signReviewDecision(signing, rejection).split('.');
    const edited = { ...JSON.parse(Buffer.from(body, 'base64url').toString()), decision: 'approved', expiresAt: '2026-11-24T11:00:00.000Z' };
    expect(verifyReviewDecision([p, Buffer.from(JSON.stringify(edited)).toString('base64url'), sig].join('.'), keys, now)).toEqual({
      ok: false,
      reason: 'review decision signature does not verify',
    });
  });

  it('will not sign an approval without an expiry, nor verify an unknown decision', () => {
    expect(() => signReviewDecision(signing, { ...rejection, decision: 'approved' })).toThrow(/must expire/);
    expect(verifyReviewDecision(signReviewDecision(signing, { ...rejection, decision: 'waved-through' as never }), keys, now)).toEqual({
      ok: false,
      reason: 'review decision claims incomplete',
    });
  });
});

describe('a revision token names the new version it creates', () => {
  const { signing, verifyKey } = generateSigningKey('review-2026-12');
  const keys = [verifyKey];
  const revised = { ...rejection, decision: 'revised' as const };
  const revision = { newActionId: 'a-2', revisedDigest: 'd'.repeat(64), proposerPrincipal: 'support-copilot', contractVersion: '2026.12.7' };

  it('signs and verifies it with the revision', () => {
    expect(verifyReviewDecision(signReviewDecision(signing, { ...revised, revision }), keys, now)).toMatchObject({ ok: true, claims: { revision } });
  });

  it('refuses a revision that is incomplete, or carried by another decision than revised', () => {
    expect(verifyReviewDecision(signReviewDecision(signing, { ...revised, revision: { ...revision, newActionId: '' } }), keys, now)).toEqual({
      ok: false,
      reason: 'review decision claims incomplete',
    });
    expect(verifyReviewDecision(signReviewDecision(signing, { ...rejection, revision }), keys, now)).toEqual({
      ok: false,
      reason: 'review decision claims incomplete',
    });
  });

  it('genuineDecision: the decision, action and digest the event names, an expired approval still being the one made', () => {
    const token = signReviewDecision(signing, { ...revised, revision });
    const expected = { decision: 'revised' as const, actionId: revised.actionId, digest: revised.digest };
    expect(genuineDecision(token, expected, keys, now)).toMatchObject({ ok: true });
    expect(genuineDecision(token, { ...expected, decision: 'rejected' }, keys, now)).toEqual({
      ok: false,
      reason: 'the token signs a decision "revised", the event says "rejected"',
    });
    expect(genuineDecision(undefined, expected, keys, now)).toEqual({ ok: false, reason: 'revised without a signed decision token' });
    const approval = signReviewDecision(signing, { ...rejection, decision: 'approved', expiresAt: '2026-11-24T10:05:00.000Z' });
    expect(genuineDecision(approval, { ...expected, decision: 'approved' }, keys, new Date('2030-01-01T00:00:00Z'))).toMatchObject({ ok: true });
  });
});

describe('review-decision keys have ids and validity windows, as tree-head keys do', () => {
  const old = generateSigningKey('review-2026-11', { notBefore: new Date('2026-11-01T00:00:00Z'), notAfter: new Date('2026-12-01T00:00:00Z') });
  const next = generateSigningKey('review-2026-12', { notBefore: new Date('2026-11-25T00:00:00Z'), notAfter: new Date('2027-01-01T00:00:00Z') });
  const keys = [old.verifyKey, next.verifyKey];
  const at = (issuedAt: string) => ({ ...rejection, issuedAt });

  it('the newest key valid at the decision signs; a key past its rotation deadline signs nothing', () => {
    const ring = [old.signing, next.signing];
    expect(verifyReviewDecision(signReviewDecision(ring, at('2026-11-24T10:00:00.000Z')), keys, now)).toMatchObject({
      ok: true,
      claims: { kid: 'review-2026-11' },
    });
    expect(verifyReviewDecision(signReviewDecision(ring, at('2026-11-26T10:00:00.000Z')), keys, new Date('2026-11-26T10:00:05.000Z'))).toMatchObject({
      ok: true,
      claims: { kid: 'review-2026-12' },
    });
    expect(() => signReviewDecision(old.signing, at('2026-12-01T00:00:00.000Z'))).toThrow(SigningUnavailableError);
    expect(() => signReviewDecision(ring, at('2027-01-02T00:00:00.000Z'))).toThrow(/no review-decision signing key is valid at 2027-01-02/);
  });

  it('a retired key signs no approval that still verifies: none dated back into its window lives past its hour (trust probe, 2026-12-05)', () => {
    const retired = generateSigningKey('review-2020', { notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2021-01-01T00:00:00Z') });
    const issuedIn2020 = { ...claims, issuedAt: '2020-06-01T00:00:00.000Z', expiresAt: '2030-01-01T00:00:00.000Z' };
    expect(verifyApproval(signApproval(retired.signing, issuedIn2020), [retired.verifyKey], now)).toEqual({
      ok: false,
      reason: 'review decision valid from 2020-06-01T00:00:00.000Z to 2030-01-01T00:00:00.000Z: longer than an approval lives (60 min)',
    });
    // Its own hour: long expired.
    const hourIn2020 = { ...issuedIn2020, expiresAt: '2020-06-01T01:00:00.000Z' };
    expect(verifyApproval(signApproval(retired.signing, hourIn2020), [retired.verifyKey], now)).toMatchObject({
      ok: false,
      reason: 'review decision expired at 2020-06-01T01:00:00.000Z',
    });
    // A date ahead needs a key valid then, not a retired one: it is not refused (a clock running ahead is no forgery).
    const { signing, verifyKey } = generateSigningKey('review-now');
    const ahead = { ...claims, issuedAt: '2026-11-24T10:40:00.000Z', expiresAt: '2026-11-24T11:40:00.000Z' };
    expect(verifyApproval(signApproval(signing, ahead), [verifyKey], now)).toMatchObject({ ok: true });
    // A decision without an expiry is acted on for a day after it was issued (issuedTooLongAgo).
    expect(issuedTooLongAgo({ issuedAt: '2026-11-23T10:31:00.000Z' }, now)).toBeUndefined();
    expect(issuedTooLongAgo({ issuedAt: '2020-06-01T00:00:00.000Z' }, now)).toBe(
      'the decision was issued at 2020-06-01T00:00:00.000Z, more than 24 h ago: not acted on',
    );
  });

  it("refuses a decision its key signed outside the key's window", () => {
    const lateKey = { ...old.signing, notAfter: new Date('2030-01-01T00:00:00Z') };
    expect(verifyReviewDecision(signReviewDecision(lateKey, at('2026-12-02T00:00:00.000Z')), keys, now)).toEqual({
      ok: false,
      reason:
        'review decision issued at 2026-12-02T00:00:00.000Z, outside the window of key review-2026-11 (valid 2026-11-01T00:00:00.000Z to 2026-12-01T00:00:00.000Z)',
    });
  });
});
