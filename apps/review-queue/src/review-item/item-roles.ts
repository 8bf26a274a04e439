import { ForbiddenException } from '@nestjs/common';

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
