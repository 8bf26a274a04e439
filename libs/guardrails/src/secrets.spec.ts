import { maskDeep, redactSecrets, SECRET_SHOWN } from './masking';

// real: the masking of this library; fake: nothing.

const proposal = {
  actionType: 'permission.change',
  target: 'user-7',
  parameters: { role: 'admin', note: 'for jane@example.com' },
  scopedToken: 'cst1.permission.change.1798761600.c2VjcmV0LWhtYWM',
  context: { nested: [{ password: 'hunter2' }, { privateKey: '-----BEGIN PRIVATE KEY-----' }] },
};

describe('secrets: credentials are never kept or shown, whoever looks', () => {
  it('replaces a scoped token, a password and a private key wherever they sit when masking (audit trail, review cards, timelines)', () => {
    const masked = maskDeep(proposal);
    expect(masked.scopedToken).toBe(SECRET_SHOWN);
    expect(masked.context.nested).toEqual([{ password: SECRET_SHOWN }, { privateKey: SECRET_SHOWN }]);
    expect(JSON.stringify(masked)).not.toMatch(/c2VjcmV0|hunter2|BEGIN PRIVATE/);
    // Regulated data is masked as before; the rest is kept.
    expect(masked.parameters.note).not.toContain('jane@example.com');
    expect(masked.target).toBe('user-7');
  });

  it('replaces only the secrets for a reviewer who may see regulated data (pii:view)', () => {
    const shown = redactSecrets(proposal);
    expect(shown).toEqual({
      ...proposal,
      scopedToken: SECRET_SHOWN,
      context: { nested: [{ password: SECRET_SHOWN }, { privateKey: SECRET_SHOWN }] },
    });
    // A copy: the proposal execution reads is untouched.
    expect(proposal.scopedToken).toMatch(/^cst1\./);
  });

  it('leaves a value without secrets as it is, and an absent or null secret absent or null', () => {
    expect(redactSecrets({ a: [1, 'x', { b: null }], scopedToken: null })).toEqual({ a: [1, 'x', { b: null }], scopedToken: null });
    expect(maskDeep({ scopedToken: undefined, n: 1 })).toEqual({ scopedToken: undefined, n: 1 });
  });
});
