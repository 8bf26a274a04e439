import { Inject, Injectable, Provider } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import { RunningContract } from '@countersign/policy';
import { BusConsumer } from './bus-consumer';
import { LOGGER } from './platform.module';

/** The consumer group a service follows contract changes in: `<service>.contract.<instance>` (one per instance). */
export const CONTRACT_CHANGES_GROUP = Symbol('ContractChangesGroup');

/**
 * Applies approved contract changes (`policy.contract.changed.v1`, published when a second admin approves a change
 * request) to the service's `RunningContract`, on every instance of every service that works with the contract: each
 * replays the topic's whole history at every start (a group of its own that records no position, removed when it
 * stops, and dropped by the broker if a crash leaves it behind), so a restart comes back to the approved version, not
 * to the file's. A change made on another base is history and is skipped; one that is not approved as this step is
 * refused and logged as an error (the running version stays).
 */
@Injectable()
export class ContractChangesConsumer extends BusConsumer {
  protected override readonly replay = true;

  constructor(
    private readonly contract: RunningContract,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(CONTRACT_CHANGES_GROUP) protected readonly group: string,
  ) {
    super();
  }

  protected handlers(): HandlerMap {
    return {
      [TOPICS.contractChanged]: async (e) => {
        const outcome = this.contract.apply(e.data);
        if (outcome.kind === 'applied')
          this.logger.info({ contractVersion: outcome.contract.version, hash: outcome.contract.hash, eventId: e.id }, 'operational contract replaced');
        else if (outcome.kind === 'refused')
          this.logger.error(
            { changeRequestId: e.data.changeRequestId, eventId: e.id },
            `refused contract change ${e.data.changeRequestId}: ${outcome.reason}; keeping ${this.contract.current().version}`,
          );
      },
    };
  }
}

/** The running contract `contract` and its follower, in the group `<service>.contract.<instance>`. */
export function followContract(contract: RunningContract, service: string, instance: string): Provider[] {
  return [
    { provide: RunningContract, useValue: contract },
    { provide: CONTRACT_CHANGES_GROUP, useValue: `${service}.contract.${instance}` },
    ContractChangesConsumer,
  ];
}
