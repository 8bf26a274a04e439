import { Inject, Injectable } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import { BusConsumer } from '@countersign/nest';
import { INSTANCE_ID, RUNNING_CONTRACT } from '../tokens';
import { RunningContract } from './running-contract';

/** Follows approved contract changes; every instance applies each one (a consumer group per instance, as the policy engines do). */
@Injectable()
export class ContractChangesConsumer extends BusConsumer {
  protected readonly group: string;

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
