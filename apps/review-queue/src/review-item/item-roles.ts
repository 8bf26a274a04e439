import { ForbiddenException } from '@nestjs/common';
import type { Principal } from '@countersign/nest';

/** Whether someone holding `roles` works an item that needs one of `requiredRoles` (none named: any reviewer). */
export const holdsItemRole = (item: { requiredRoles: readonly string[] }, roles: readonly string[]): boolean =>
  !item.requiredRoles.length || item.requiredRoles.some((r) => roles.includes(r));

/**
 * 403 unless `roles` hold one of the item's roles: reading an item (even masked: its target, amounts and reasons) is
 * for the reviewers who may work it, as claiming, revealing and deciding are. `doing` names the refused step.
 */
export function requireItemRole(item: { requiredRoles: readonly string[] }, roles: readonly string[], doing: string): void {
  if (!holdsItemRole(item, roles)) throw new ForbiddenException(`${doing} this action requires one of the roles: ${item.requiredRoles.join(', ')}`);
}

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
