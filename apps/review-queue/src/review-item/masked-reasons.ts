import { maskText } from '@countersign/guardrails';
import type { ReviewItemRepository } from './review-item.repository';

/**
 * The review items with every reason a person writes (a decision's, an approval's towards a quorum, an assessment's, an
 * outcome check's answer) stored masked, as the proposal beside it is: a reason is shown to other reviewers (the
 * card's recent decisions, `GET /v1/reviews/{id}`), none of whom a `pii:view` reveal covers, and the audit trail, the
 * signed token and the action's timeline already hold it masked. Applied once, around the adapter, by the module.
 */
export function withMaskedReasons(items: ReviewItemRepository): ReviewItemRepository {
  const decide: ReviewItemRepository['decide'] = (actionId, status, by, reason, ...rest) => items.decide(actionId, status, by, maskText(reason), ...rest);
  const addApproval: ReviewItemRepository['addApproval'] = (actionId, approver, reason, ...rest) =>
    items.addApproval(actionId, approver, maskText(reason), ...rest);
  const overrides: Partial<Record<keyof ReviewItemRepository, unknown>> = { decide, addApproval };
  return new Proxy(items, {
    get(target, p, receiver) {
      if (p in overrides) return overrides[p as keyof ReviewItemRepository];
      const value = Reflect.get(target, p, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
