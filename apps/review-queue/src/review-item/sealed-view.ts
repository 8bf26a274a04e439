import { maskCardNumberValue, maskDeep } from '@countersign/guardrails';
import type { Logger } from '@countersign/logging';
import type { Proposal } from '@countersign/contracts';
import type { ReviewItemRepository } from './review-item.repository';
import { pointerToken, valueAtPointer } from './json-pointer';
import { ProposalSealer, realProposalOf } from './sealed-proposal';

/** How many items' shown proposals are remembered (a decision reads its item several times). */
const MEMO = 1_000;

/**
 * The review items with each one read alone (`get`: the card, `GET /v1/reviews/{id}`, every decision) showing its
 * proposal as its sealed copy has it, masked: not as the column beside it has it. The column is written by the review
 * queue and by anyone else who can write its database; the sealed copy opens only under the review data key, for its
 * own action, and is checked to be the proposal the item's digest names (`realProposalOf`), which is what an approval
 * binds and what the executor runs (red team, 2026-12-07: `amount` set to 4 in the column showed on the card while 450
 * executed on that approval). An item whose sealed copy does not open or names another proposal is read as stored, and
 * said at error (`sealed-copy-broken`): a reveal and a revision of it are refused already. Lists (`pending`) read the
 * column: a list only leads to a card.
 */
export function withSealedView(items: ReviewItemRepository, sealer: ProposalSealer, logger: Logger, moneyFields?: MoneyPointers): ReviewItemRepository {
  const shown = new Map<string, { sealed: string; proposal: Proposal }>();
  const get: ReviewItemRepository['get'] = async (actionId) => {
    const item = await items.get(actionId);
    if (!item?.sealed) return item;
    const known = shown.get(actionId);
    if (known?.sealed === item.sealed) return { ...item, proposal: known.proposal };
    const real = realProposalOf(sealer, item);
    if (!real.ok) {
      logger.error(
        { alert: 'sealed-copy-broken', actionId, why: real.why },
        'a review item whose sealed copy does not open or names another proposal: shown as stored',
      );
      return item;
    }
    const proposal = shownProposal(real.proposal, moneyFields);
    if (shown.size >= MEMO) shown.delete(shown.keys().next().value!);
    shown.set(actionId, { sealed: item.sealed, proposal });
    return { ...item, proposal };
  };
  return new Proxy(items, {
    get(target, p, receiver) {
      if (p === 'get') return get;
      const value = Reflect.get(target, p, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The JSON pointers, under `parameters`, of an action type's money amounts (`revisionMoneyFields`: the running contract's). */
export type MoneyPointers = (actionType: string) => string[];

/**
 * A proposal as the card shows it: masked as reviewers see masks (`forReviewers`: an IBAN's check digits, an address's
 * domain), but for the amounts its action type's schema declares as money, which are
 * amounts, whatever their digits look like: masked as a national id or a phone number, the amount of a payout of
 * 12,345,678,901 JPY showed as `[de-tax-id]` to the reviewers who approved it (red team, 2026-12-07). A number that is a
 * valid card number stays masked.
 */
export function shownProposal(real: Proposal, moneyFields?: MoneyPointers): Proposal {
  const masked = maskDeep(real, { forReviewers: true });
  for (const pointer of moneyFields?.(real.actionType) ?? []) {
    const amount = valueAtPointer(real.parameters, pointer);
    if (typeof amount !== 'number' || maskCardNumberValue(amount) !== undefined) continue;
    const cut = pointer.lastIndexOf('/');
    const parent = valueAtPointer(masked.parameters, pointer.slice(0, cut));
    const key = pointerToken(pointer.slice(cut + 1));
    if (parent && typeof parent === 'object' && !Array.isArray(parent) && Object.hasOwn(parent, key)) (parent as Record<string, unknown>)[key] = amount;
  }
  return masked;
}
