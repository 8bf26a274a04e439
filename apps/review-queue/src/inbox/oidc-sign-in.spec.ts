import { UnauthorizedException } from '@nestjs/common';
import { tenantsClaim } from './oidc-sign-in';

// real: how the inbox reads an ID token's `tenants` claim at sign-in; fake: nothing (the claims are plain values).
describe("the inbox's sign-in reads the tenants claim strictly (ADR 0052)", () => {
  it('binds the person to the tenants listed, and to none (every tenant) when the claim is absent', () => {
    expect(tenantsClaim(['acme', 'globex'])).toEqual(['acme', 'globex']);
    expect(tenantsClaim(undefined)).toBeUndefined();
  });

  it.each([
    ['a string', 'acme'],
    ['an empty list', []],
    ['an empty name', ['acme', '']],
    ['a number', ['acme', 7]],
    ['null', null],
    ['an object', { acme: true }],
    ['a name with a control character', ['ac\u0000me']],
  ])('refuses the sign-in for a claim that is %s, rather than reading it as every tenant', (_, claim) => {
    expect(() => tenantsClaim(claim)).toThrow(UnauthorizedException);
    expect(() => tenantsClaim(claim)).toThrow(/^sign-in refused: the identity provider's tenants claim must be a list of 1 to 1000 tenant names \(/);
  });
});
