import type { Intent } from './tally';

/** What the scripted reviewer reads of a listed review item. */
export interface ListedItem {
  actionId: string;
  kind?: string;
  proposal?: { target?: string };
}

/**
 * The plan for a listed item: by its action id first (the 202's id; ids are never masked), then by its target.
 * The target alone is not enough: a review item shows its proposal masked, and a target such as `chaos_99470534-102`
 * (a namespace of eight hex digits that are all decimal, about one run in forty, and an index of three digits) reads as
 * the contract's `de-tax-id` and is listed as `chaos_[de-tax-id]`. The target still serves an item listed before its
 * 202 arrived, or of a proposal whose 202 never did.
 */
export function plannedIntent(item: ListedItem, byActionId: ReadonlyMap<string, Intent>, byTarget: ReadonlyMap<string, Intent>): Intent | undefined {
  return byActionId.get(item.actionId) ?? byTarget.get(item.proposal?.target ?? '');
}
