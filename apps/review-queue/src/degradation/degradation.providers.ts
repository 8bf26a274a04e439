import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Provider, Type } from '@nestjs/common';
import type { Logger } from '@countersign/logging';
import { LOGGER } from '@countersign/nest';
import { RunningContract } from '@countersign/policy';
import type { ReviewItemRepository } from '../review-item/review-item.repository';
import {
  BACKLOG_GAUGES,
  DEGRADATION_CONTRACT,
  DEGRADATION_CONTROL_GROUP,
  DEGRADATION_CONTROL_STATE,
  DEGRADATION_SETTINGS,
  LEADER_LEASE,
  REVIEW_HISTORY,
  REVIEW_ITEMS,
} from '../tokens';
import type { BacklogGauges } from './backlog-gauges';
import { withBacklogGauges } from './backlog-tracking';
import { BacklogMetrics } from './backlog-metrics';
import { DegradationControlFollower, DegradationControlState } from './control-state';
import { DegradationController } from './degradation-controller.service';
import { GovernanceController } from './governance.controller';
import { DEFAULT_DEGRADATION_SETTINGS, DegradationContract, DegradationControllerSettings, GovernanceService } from './governance.service';
import type { LeaderLease } from './leader-lease';
import type { ReviewHistory } from './review-history';
import { ReviewersController } from './reviewers.controller';

/** The degradation controller's ports, chosen by the main (Redis, PostgreSQL) or the embedded host (in-memory, PGlite). */
export interface DegradationOptions {
  /** `createBacklogGauges(redis)` distributed, `createInMemoryBacklogGauges()` embedded. */
  gauges: BacklogGauges;
  /** `createLeaderLease(redis)` distributed, `createInMemoryLeaderLease()` embedded. */
  lease: LeaderLease;
  /** `createReviewHistory(pool)`: the review items in PostgreSQL (or PGlite). */
  history: ReviewHistory;
  /** The contract's SLA classes and `degradation:` thresholds: `degradationContract(running)`, which follows approved changes. */
  contract: DegradationContract;
  settings?: Partial<DegradationControllerSettings>;
  /** Where the control topics are read into (a test observes it); a new one when unset. */
  state?: DegradationControlState;
}

/**
 * The review queue's degradation feature (ADR 0013): the review items with their backlog gauges, the controller and
 * its control-topic follower, `GET /v1/governance`, the override and the reviewers' heartbeat.
 */
export function degradationParts(
  items: ReviewItemRepository,
  o: DegradationOptions,
  /**
   * What wraps the items kept with their gauges (decision quality): the gauges sit under it, so the items it adds and
   * steps itself (a canary, released after a random delay) move them as any item does (red team, 2026-12-05).
   */
  around: (tracked: ReviewItemRepository) => ReviewItemRepository = (tracked) => tracked,
): { controllers: Type[]; providers: Provider[] } {
  const instance = o.settings?.instanceId ?? `review-queue-${randomUUID().slice(0, 8)}`;
  return {
    controllers: [GovernanceController, ReviewersController],
    providers: [
      GovernanceService,
      BacklogMetrics,
      DegradationController,
      DegradationControlFollower,
      {
        provide: REVIEW_ITEMS,
        useFactory: (logger: Logger, governance: GovernanceService) => around(withBacklogGauges(items, o.gauges, logger, () => governance.suspectDrift())),
        inject: [LOGGER, GovernanceService],
      },
      { provide: BACKLOG_GAUGES, useValue: o.gauges },
      { provide: LEADER_LEASE, useValue: o.lease },
      { provide: REVIEW_HISTORY, useValue: o.history },
      { provide: DEGRADATION_CONTRACT, useValue: o.contract },
      { provide: DEGRADATION_SETTINGS, useValue: { ...DEFAULT_DEGRADATION_SETTINGS, ...o.settings, instanceId: instance } },
      { provide: DEGRADATION_CONTROL_STATE, useValue: o.state ?? new DegradationControlState() },
      { provide: DEGRADATION_CONTROL_GROUP, useValue: `review-queue.degradation.${instance}` },
    ],
  };
}

/** The operational contract the whole system runs (the policy engine's, versioned in the repository). */
export const PROJECT_CONTRACT_PATH = join(__dirname, '../../../policy-engine/contract/countersign.contract.yaml');

/**
 * The SLA classes and degradation thresholds of the running contract, read at each use: after an approved change the
 * controller applies the new thresholds at its next tick, as the policy engine applies the new rules. A path: that file
 * as it is (validated by libs/policy: a bad one stops the boot), for tools and tests.
 */
export function degradationContract(source: string | RunningContract): DegradationContract {
  const running = typeof source === 'string' ? RunningContract.fromFile(source) : source;
  return {
    get slaClasses() {
      return running.current().slaClasses;
    },
    get degradation() {
      return running.current().degradation;
    },
  };
}
