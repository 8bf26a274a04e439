import { canonicalDigest } from '@countersign/contracts';
import { maskText } from '@countersign/guardrails';
import type { ReviewItem } from './review-item.repository';

/**
 * An item as the API serves it: everything but the sealed real proposal and its digest, its decision's reason masked
 * (stored masked since `withMaskedReasons`; items decided before were not). The digest is a plain SHA-256 of the real
 * proposal: beside the masked values it let a reviewer without `pii:view` find them by trying candidates offline (a card
 * number's hidden digits in about 33,000 hashes, a second; red team, 2026-12-04). No reviewer needs it: an approval is
 * bound to it by the review queue, and the decision's event carries it for the audit.
 */
export function publicItem(item: ReviewItem): Omit<ReviewItem, 'sealed' | 'digest' | 'revisionAsked'> {
  // `revisionAsked` is the queue's own record of a reviser's request (it may fold in values a pii:view reviewer sent).
  const { sealed: _s, digest: _d, revisionAsked: _q, ...rest } = item;
  return rest.decisionReason === undefined ? rest : { ...rest, decisionReason: maskText(rest.decisionReason) };
}

/**
 * What a reviewer is shown of an item: everything they decide on. The audit trail keeps a copy. Who works it (a claim,
 * renewed while a card is open) and who approved so far are not part of what is decided on: they change under an open
 * card, and a decision must not be refused as "changed since shown" for them.
 */
export function shownView(item: ReviewItem) {
  const { deciders: _b, decisionReason: _r, decidedAt: _a, claim: _c, approvedBy: _p, ...view } = publicItem(item);
  return view;
}

/** SHA-256 over the canonical JSON of what was shown: a decision names the version it was made on. */
export const shownDigest = (view: ReturnType<typeof shownView> | ReturnType<typeof secondReviewView>) => canonicalDigest(view);

/**
 * What the blind second-review page shows of an item, and all it shows: the action, its target, its parameters as the
 * card shows them, and the policy's reasons; nothing of the first decision. The page is rendered from it, and a verdict
 * keeps it (`review.second-review.recorded.v1`'s `shown`), so an auditor replays the screen the verdict was given on.
 */
export function secondReviewView(item: ReviewItem) {
  const { actionType, target, parameters } = item.proposal;
  return { actionId: item.actionId, actionType, target, parameters, reasons: item.reasons };
}
