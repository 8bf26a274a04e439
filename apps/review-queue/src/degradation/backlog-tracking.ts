import type { Logger } from '@countersign/logging';
import type { ReviewItemRepository } from '../review-item/review-item.repository';
import type { BacklogGauges } from './backlog-gauges';

/**
 * The review items with the backlog gauges kept beside them: an approval item queued is counted, an item decided is
 * no longer. The gauges are derived state: PostgreSQL is written first, and a Redis that fails is logged, never
 * fails the write; the controller rebuilds the gauges from PostgreSQL after a flush and every `reconcileMs`, which
 * also catches what changed items by other paths (the review clock's expiry and re-routing). Every other method is
 * the store's own.
 */
export function withBacklogGauges(items: ReviewItemRepository, gauges: BacklogGauges, logger: Logger): ReviewItemRepository {
  const add: ReviewItemRepository['add'] = async (item) => {
    const added = await items.add(item);
    if (added && (item.kind ?? 'approval') === 'approval')
      await gauges
        .add({ actionId: item.actionId, slaClass: item.slaClass, requiredRoles: item.requiredRoles, createdAt: Date.parse(item.createdAt) })
        .catch((err: unknown) => logger.warn({ err }, 'backlog gauge not updated; the next rebuild counts it'));
    return added;
  };
  const decide: ReviewItemRepository['decide'] = async (...args) => {
    const decided = await items.decide(...args);
    if (decided) await gauges.remove(decided.actionId).catch((err: unknown) => logger.warn({ err }, 'backlog gauge not updated; the next rebuild drops it'));
    return decided;
  };
  return new Proxy(items, {
    get(target, prop) {
      if (prop === 'add') return add;
      if (prop === 'decide') return decide;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
