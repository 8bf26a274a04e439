import { ForbiddenException, NotFoundException } from '@nestjs/common';
import { refundProposal } from '@countersign/testing';
import { mayWorkItem, requireItemRole, servesTenantOf, withinTenants } from './item-roles';

// real: the checks every path to a review item goes through (the JSON API, the inbox, claims, decisions, reveals,
// revisions, outcome checks, the live feed); fake: nothing (items and reviewers are plain values).
const item = (tenant: string, requiredRoles: string[] = ['finance']) => ({ actionId: 'a-1', requiredRoles, proposal: { ...refundProposal(), tenant } });

describe('a review item is reached by the reviewers of its tenant (ADR 0052)', () => {
  it('serves a reviewer bound to none every tenant, and one bound to tenants those spelled exactly as bound', () => {
    expect(servesTenantOf({}, item('globex'))).toBe(true);
    expect(servesTenantOf({ tenants: ['acme', 'globex'] }, item('globex'))).toBe(true);
    expect(servesTenantOf({ tenants: ['acme'] }, item('globex'))).toBe(false);
    // No other spelling: `Acme` and `acme ` are not `acme` (as `mayActFor` reads an agent's binding).
    expect(servesTenantOf({ tenants: ['Acme'] }, item('acme'))).toBe(false);
    expect(servesTenantOf({ tenants: ['acme'] }, item('acme '))).toBe(false);
  });

  it('gives another tenant’s item back as no item at all, so the caller answers as for an unknown action', () => {
    const globex = item('globex');
    expect(withinTenants(globex, { tenants: ['globex'] })).toBe(globex);
    expect(withinTenants(globex, { tenants: ['acme'] })).toBeUndefined();
    expect(withinTenants(undefined, {})).toBeUndefined();
  });

  it('answers 404 for another tenant’s item before its roles are told, and 403 for a role the reviewer lacks on their own', () => {
    const dana = { roles: ['reviewer', 'finance'], tenants: ['acme'] };
    expect(() => requireItemRole(item('globex'), dana, 'approving')).toThrow(new NotFoundException('no review item for action a-1'));
    // Even where the roles would not do either: the 404 comes first, naming no role of globex's item.
    expect(() => requireItemRole(item('globex', ['security']), dana, 'approving')).toThrow(NotFoundException);
    expect(() => requireItemRole(item('acme', ['security']), dana, 'approving')).toThrow(
      new ForbiddenException('approving this action requires one of the roles: security'),
    );
    expect(() => requireItemRole(item('acme'), dana, 'approving')).not.toThrow();
    expect(() => requireItemRole(item('globex'), { roles: ['finance'] }, 'approving')).not.toThrow();
  });

  it('lets a reviewer work an item only of a tenant they serve, in a role they hold (or none named)', () => {
    const dana = { roles: ['reviewer', 'finance'], tenants: ['acme'] };
    expect(mayWorkItem(item('acme'), dana)).toBe(true);
    expect(mayWorkItem(item('acme', []), dana)).toBe(true);
    expect(mayWorkItem(item('acme', ['security']), dana)).toBe(false);
    expect(mayWorkItem(item('globex', []), dana)).toBe(false);
  });
});
