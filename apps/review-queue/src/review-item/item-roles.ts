import { ForbiddenException } from '@nestjs/common';
import { mayProposeAs, Principal } from '@countersign/nest';

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

/**
 * Whether `reviewer` stands on the proposing side of `item` (separation of duties): the principal that proposed it, or
 * anyone who may propose as its agent, through this token or any other of the same principal (`proposesAs`, from the
 * token registry; `agentIds`; by default a principal proposes only as itself) — a person whose agent token may speak
 * for `support-copilot` does not approve `support-copilot`'s actions, with a reviewer token or in the inbox.
 */
export const isProposerOf = (
  reviewer: Pick<Principal, 'id' | 'agentIds' | 'proposesAs'>,
  item: { proposerPrincipal: string; proposal: { proposer: { agentId: string } } },
): boolean =>
  reviewer.id === item.proposerPrincipal ||
  mayProposeAs(reviewer as Principal, item.proposal.proposer.agentId) ||
  (reviewer.proposesAs ?? []).includes(item.proposal.proposer.agentId);
