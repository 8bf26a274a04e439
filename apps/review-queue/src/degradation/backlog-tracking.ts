import type { Logger } from '@countersign/logging';
import type { ReviewItem, ReviewItemRepository } from '../review-item/review-item.repository';
import type { BacklogGauges, BacklogItem } from './backlog-gauges';

const backlogItem = (item: ReviewItem): BacklogItem => ({
  actionId: item.actionId,
  slaClass: item.slaClass,
  requiredRoles: item.requiredRoles,
  // A re-routed item's window begins again at the re-route (its fallback team has a whole SLA): aged from its queue
  // time, one notification re-routed at the end of its 4 h put every tenant in `constrained` at 6 h (lifecycle probe).
  createdAt: Date.parse(item.reroutedAt ?? item.createdAt),
  // Its age is a share of its own window, to its due time.
  windowSeconds: (Date.parse(item.dueAt) - Date.parse(item.reroutedAt ?? item.createdAt)) / 1000,
});

/**
 * The review items with the backlog gauges kept beside them: an approval item queued is counted, an item decided or
 * expired by the review clock is no longer, and one the clock escalates or re-routes is counted under its new roles.
 * The gauges are derived state: PostgreSQL is written first, and a Redis that fails is logged, never fails the write;
 * `drifted` is told, so that the controller rebuilds the gauges from PostgreSQL at its next tick (and at least every
 * `reconcileMs`, for what failed on another instance). Every other method is the store's own.
 */
export function withBacklogGauges(
  items: ReviewItemRepository,
  gauges: BacklogGauges,
  logger: Logger,
  drifted: () => void = () => undefined,
): ReviewItemRepository {
  const missed = (what: string) => (err: unknown) => {
    drifted();
    logger.warn({ err }, `backlog gauge not updated (${what}); the next tick rebuilds the gauges`);
  };
  const add: ReviewItemRepository['add'] = async (item) => {
    const added = await items.add(item);
    if (added && (item.kind ?? 'approval') === 'approval') await gauges.add(backlogItem(item)).catch(missed('queued'));
    return added;
  };
  const decide: ReviewItemRepository['decide'] = async (...args) => {
    const decided = await items.decide(...args);
    if (decided) await gauges.remove(decided.actionId).catch(missed('decided'));
    return decided;
  };
  const claimDue: ReviewItemRepository['claimDue'] = async (...args) => {
    const steps = await items.claimDue(...args);
    for (const { step, item } of steps) {
      // Only approval items are stepped by the clock (and counted). An escalation or a re-route changes the roles.
      const changed = gauges.remove(item.actionId).then(() => (step === 'expire' ? undefined : gauges.add(backlogItem(item))));
      await changed.catch(missed(step));
    }
    return steps;
  };
  const overrides: Partial<Record<keyof ReviewItemRepository, unknown>> = { add, decide, claimDue };
  return new Proxy(items, {
    get(target, prop) {
      if (prop in overrides) return overrides[prop as keyof ReviewItemRepository];
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
