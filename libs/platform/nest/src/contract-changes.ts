import { Inject, Injectable, Provider } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import { z } from 'zod';
import { VerifyKey, watchVerifyKeys } from '@countersign/keys';
import { KeyList, RunningContract } from '@countersign/policy';
import { BusConsumer } from './bus-consumer';
import { LOGGER } from './platform.module';

/** The consumer group a service follows contract changes in: `<service>.contract.<instance>` (one per instance). */
export const CONTRACT_CHANGES_GROUP = Symbol('ContractChangesGroup');
/** The keys that verify the policy engine's signature on a change (`CONTRACT_VERIFY_KEYS_FILE`); none: no change applies. */
export const CONTRACT_CHANGE_KEYS = Symbol('ContractChangeKeys');

/**
 * Applies approved contract changes (`policy.contract.changed.v1`, published when a second admin approves a change
 * request) to the service's `RunningContract`, on every instance of every service that works with the contract: each
 * replays the topic's whole history at every start (a group of its own that records no position, removed when it
 * stops, and dropped by the broker if a crash leaves it behind), so a restart comes back to the approved version, not
 * to the file's. A change made on another base is history and is skipped; one that is not approved as this step, or
 * whose signature does not verify against `CONTRACT_VERIFY_KEYS_FILE` (docs/adr/0038), is refused and logged as an
 * error with an alert (the running version stays).
 */
@Injectable()
export class ContractChangesConsumer extends BusConsumer {
  protected override readonly replay = true;

  constructor(
    private readonly contract: RunningContract,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(CONTRACT_CHANGES_GROUP) protected readonly group: string,
    @Inject(CONTRACT_CHANGE_KEYS) private readonly keys: KeyList<VerifyKey> | undefined,
  ) {
    super();
  }

  protected handlers(): HandlerMap {
    return {
      [TOPICS.contractChanged]: async (e) => {
        const outcome = this.contract.apply(e.data, this.keys);
        if (outcome.kind === 'applied')
          this.logger.info({ contractVersion: outcome.contract.version, hash: outcome.contract.hash, eventId: e.id }, 'operational contract replaced');
        else if (outcome.kind === 'refused')
          this.logger.error(
            { alert: 'contract-change-refused', changeRequestId: e.data.changeRequestId, eventId: e.id },
            `refused contract change ${e.data.changeRequestId}: ${outcome.reason}; keeping ${this.contract.current().version}`,
          );
      },
    };
  }
}

/**
 * The running contract `contract` and its follower, in the group `<service>.contract.<instance>`, applying changes
 * signed by one of `keys` (none: the service keeps the file's contract, and says so at each change).
 */
export function followContract(contract: RunningContract, service: string, instance: string, keys: KeyList<VerifyKey> | undefined): Provider[] {
  return [
    { provide: RunningContract, useValue: contract },
    { provide: CONTRACT_CHANGES_GROUP, useValue: `${service}.contract.${instance}` },
    { provide: CONTRACT_CHANGE_KEYS, useValue: keys },
    ContractChangesConsumer,
  ];
}

/** The setting every service that follows the contract reads, spread into its settings schema (docs/adr/0038). */
export const contractChangeSettings = {
  /** The public keys (a keys file or a directory of them) that verify a contract change's signature; unset: no change applies. */
  CONTRACT_VERIFY_KEYS_FILE: z.string().min(1).optional(),
};

/** The watched verify keys of `CONTRACT_VERIFY_KEYS_FILE` (unreadable at boot: the service does not start), or none. */
export const contractChangeKeys = (file: string | undefined): KeyList<VerifyKey> | undefined => (file ? watchVerifyKeys(file) : undefined);
