import { Inject, Injectable } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import { BusConsumer, LOGGER } from '@countersign/nest';
import { changeDigest } from '@countersign/policy';
import { INSTANCE_ID } from '../tokens';
import { ContractStore } from './contract.store';

/**
 * Applies approved contract changes (`policy.contract.changed.v1`, published when a second admin approves a
 * change request, see ChangeRequestService) on every policy-engine instance: each replays the topic's whole
 * history at every start (a group of its own that records no position, removed when it stops, and dropped by
 * the broker if a crash leaves it behind: instances coming and going leave no groups to pile up).
 */
@Injectable()
export class ContractChangeService extends BusConsumer {
  protected readonly group: string;
  protected override readonly replay = true;

  constructor(
    private readonly store: ContractStore,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(INSTANCE_ID) instanceId: string,
  ) {
    super();
    this.group = `policy-engine.contract.${instanceId}`;
  }

  protected handlers(): HandlerMap {
    return {
      [TOPICS.contractChanged]: async (e) => {
        const running = this.store.current();
        // A change applies to the version it was approved against: replaying history after a restart (or
        // after a newer contract was deployed) never rolls the running contract back.
        if (e.data.fromVersion !== running.version) return;
        // Only as approved: the digest names this base and this candidate, and two different people. Events
        // from before change requests carry no digest and change nothing.
        const from = { version: running.version, hash: running.hash };
        const approved = changeDigest({ kind: 'contract', from, to: { version: e.data.toVersion, hash: e.data.hash } });
        if (e.data.digest !== approved || e.data.requestedBy === e.data.approvedBy) {
          const why = `refused a contract change that is not an approved change of ${running.version}`;
          this.logger.error({ changeRequestId: e.data.changeRequestId, eventId: e.id }, why);
          return;
        }
        this.store.apply(e.data.contract, `change ${e.data.changeRequestId}`, e.data.hash);
      },
    };
  }
}
