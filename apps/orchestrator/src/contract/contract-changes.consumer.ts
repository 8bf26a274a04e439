import { Inject, Injectable } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import { BusConsumer } from '@countersign/nest';
import { INSTANCE_ID, RUNNING_CONTRACT } from '../tokens';
import { RunningContract } from './running-contract';

/**
 * Follows approved contract changes; every instance applies each one, replaying the history at every start
 * (a group of its own that records no position and leaves none behind, as the policy engines do).
 */
@Injectable()
export class ContractChangesConsumer extends BusConsumer {
  protected readonly group: string;
  protected override readonly replay = true;

  constructor(
    @Inject(RUNNING_CONTRACT) private readonly contract: RunningContract,
    @Inject(INSTANCE_ID) instanceId: string,
  ) {
    super();
    this.group = `orchestrator.contract.${instanceId}`;
  }

  protected handlers(): HandlerMap {
    return { [TOPICS.contractChanged]: async (e) => void this.contract.apply(e.data) };
  }
}
