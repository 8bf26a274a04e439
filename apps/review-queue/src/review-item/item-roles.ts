import { ForbiddenException, NotFoundException } from '@nestjs/common';
import { mayActFor, Principal } from '@countersign/nest';

/** Whether someone holding `roles` works an item that needs one of `requiredRoles` (none named: any reviewer). */
export const holdsItemRole = (item: { requiredRoles: readonly string[] }, roles: readonly string[]): boolean =>
  !item.requiredRoles.length || item.requiredRoles.some((r) => roles.includes(r));

/** What reaching an item reads of a reviewer: their roles, and the tenants they serve (absent: every tenant). */
export type ItemReader = Pick<Principal, 'roles' | 'tenants'>;

/**
 * Whether `reviewer` serves the item's tenant (`proposal.tenant`, spelled exactly as their binding lists it, as
 * `mayActFor` reads an agent's): a reviewer of `acme` neither sees, reads, claims nor decides `globex`'s items (ADR 0052).
 */
export const servesTenantOf = (reviewer: Pick<Principal, 'tenants'>, item: { proposal: { tenant: string } }): boolean =>
  mayActFor(reviewer, item.proposal.tenant);

/**
 * The item, when `reviewer` serves its tenant; undefined otherwise, so that the caller answers as for an item that does
 * not exist (404, worded alike): a 403 would tell a reviewer of `acme` that `globex` has an action under that id.
 */
export const withinTenants = <T extends { proposal: { tenant: string } }>(item: T | undefined, reviewer: Pick<Principal, 'tenants'>): T | undefined =>
  item && servesTenantOf(reviewer, item) ? item : undefined;

/** Whether `reviewer` may work the item: they serve its tenant and hold one of its roles (none named: any reviewer). */
export const mayWorkItem = (item: { requiredRoles: readonly string[]; proposal: { tenant: string } }, reviewer: ItemReader): boolean =>
  servesTenantOf(reviewer, item) && holdsItemRole(item, reviewer.roles);

/**
 * 404 for an item of a tenant `reviewer` does not serve, worded as for an unknown action; 403 unless they hold one of
 * its roles: reading an item (even masked: its target, amounts and reasons) is for the reviewers who may work it, as
 * claiming, revealing and deciding are. `doing` names the refused step. The tenant is checked first, so that nothing
 * of another tenant's item (not even the roles it needs) is told.
 */
export function requireItemRole(
  item: { actionId: string; requiredRoles: readonly string[]; proposal: { tenant: string } },
  reviewer: ItemReader,
  doing: string,
): void {
  if (!servesTenantOf(reviewer, item)) throw unknownItem(item.actionId);
  if (!holdsItemRole(item, reviewer.roles)) throw new ForbiddenException(`${doing} this action requires one of the roles: ${item.requiredRoles.join(', ')}`);
}

/** The answer for an action with no review item, or with one of a tenant the caller does not serve: the same 404. */
export const unknownItem = (actionId: string) => new NotFoundException(`no review item for action ${actionId}`);

/** Who a reviewer is, as separation of duties reads it: their id, and who their tokens may propose as. */
export type ReviewerSide = Pick<Principal, 'id' | 'agentIds' | 'proposesAs'>;

/**
 * Every agent id `reviewer` may propose as: through this token (`agentIds`; by default a principal proposes only as
 * itself) or any other of the same principal (`proposesAs`, from the token registry). The stores' one-statement paths
 * (the inbox, a claim) leave these agents' items out, as `isProposerOf` refuses them.
 */
export const proposerSideOf = (reviewer: ReviewerSide): string[] => [...new Set([reviewer.id, ...(reviewer.agentIds ?? []), ...(reviewer.proposesAs ?? [])])];

/**
 * Whether `reviewer` stands on the proposing side of `item` (separation of duties): the principal that proposed it, or
 * anyone who may propose as its agent (`proposerSideOf`) — a person whose agent token may speak for `support-copilot`
 * does not approve `support-copilot`'s actions, with a reviewer token or in the inbox.
 */
export const isProposerOf = (reviewer: ReviewerSide, item: { proposerPrincipal: string; proposal: { proposer: { agentId: string } } }): boolean =>
  reviewer.id === item.proposerPrincipal || proposerSideOf(reviewer).includes(item.proposal.proposer.agentId);
