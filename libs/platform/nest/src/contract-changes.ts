import { Inject, Injectable, Provider } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import { z } from 'zod';
import { VerifyKey, watchVerifyKeys } from '@countersign/keys';
import { compareVersions, KeyList, RunningContract } from '@countersign/policy';
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
        const running = this.contract.current().version;
        const outcome = this.contract.apply(e.data, this.keys);
        if (outcome.kind === 'applied' && outcome.over)
          this.logger.warn(
            { alert: 'contract-file-superseded', contractVersion: outcome.contract.version, changeRequestId: e.data.changeRequestId, file: outcome.over },
            `running approved contract ${outcome.contract.version} (change ${e.data.changeRequestId}, made on ${e.data.fromVersion}) over this version's contract file ${outcome.over}: what the file changed since ${e.data.fromVersion} is not in force; request it as a change of ${outcome.contract.version}`,
          );
        else if (outcome.kind === 'applied')
          this.logger.info({ contractVersion: outcome.contract.version, hash: outcome.contract.hash, eventId: e.id }, 'operational contract replaced');
        else if (outcome.kind === 'other-base' && compareVersions(e.data.toVersion, running) < 0 && !this.contract.wasApplied(e.data.changeRequestId))
          // An approved change older than what runs and never applied here: a newer contract file was deployed since.
          this.logger.warn(
            { alert: 'contract-change-superseded', changeRequestId: e.data.changeRequestId, contractVersion: running },
            `approved contract change ${e.data.changeRequestId} (${e.data.fromVersion} to ${e.data.toVersion}) is not in force: the running contract ${running} is newer; if it lacks what the change did, request it again`,
          );
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
