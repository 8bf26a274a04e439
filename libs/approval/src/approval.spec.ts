import { generateSigningKey, signApproval, verifyApproval, verifyKeysFromPem } from './index';

const claims = {
  actionId: 'action-1',
  digest: 'a'.repeat(64),
  approvers: ['alice'],
  reasons: ['looks right'],
  issuedAt: '2026-11-24T10:00:00.000Z',
  expiresAt: '2026-11-24T11:00:00.000Z',
};
const now = new Date('2026-11-24T10:30:00.000Z');

describe('signed approvals', () => {
  const { signing, publicKeyPem } = generateSigningKey('review-2026-11');
  const keys = verifyKeysFromPem({ 'review-2026-11': publicKeyPem });

  it('verifies a token it signed and returns the claims', () => {
    const check = verifyApproval(signApproval(signing, claims), keys, now);
    expect(check).toMatchObject({ ok: true, claims: { ...claims, kid: 'review-2026-11', v: 1 } });
  });

  it('refuses a token whose claims were edited (another action id)', () => {
    const [p, body, sig] = signApproval(signing, claims).split('.');
    const edited = JSON.parse(Buffer.from(body, 'base64url').toString());
    edited.actionId = 'action-2';
    const forged = [p, Buffer.from(JSON.stringify(edited)).toString('base64url'), sig].join('.');
    expect(verifyApproval(forged, keys, now)).toEqual({ ok: false, reason: 'approval signature does not verify' });
  });

  it('refuses a token signed by a key it does not know, and an expired one', () => {
    const other = generateSigningKey('review-2026-11');
    expect(verifyApproval(signApproval(other.signing, claims), keys, now)).toEqual({ ok: false, reason: 'approval signature does not verify' });
    const stranger = generateSigningKey('attacker');
    expect(verifyApproval(signApproval(stranger.signing, claims), keys, now)).toEqual({ ok: false, reason: 'unknown approval key id "attacker"' });
    expect(verifyApproval(signApproval(signing, claims), keys, new Date('2026-11-24T12:00:00Z'))).toMatchObject({ ok: false, reason: /expired/ });
  });

  it('refuses garbage', () => {
    expect(verifyApproval('not-a-token', keys, now)).toEqual({ ok: false, reason: 'malformed approval token' });
    expect(verifyApproval('cs1.!!!.x', keys, now).ok).toBe(false);
  });

  it('gives every token a distinct nonce so a replay is recognisable', () => {
    expect(signApproval(signing, claims)).not.toEqual(signApproval(signing, claims));
  });
});
