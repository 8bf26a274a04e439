import { Injectable } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import { BusConsumer } from '@countersign/nest';
import { ProposalsService } from './proposals.service';

/** Agents may produce proposals straight to Kafka; they enter the flow here like HTTP ones. */
@Injectable()
export class ProposalsConsumer extends BusConsumer {
  protected readonly group = 'orchestrator.ingest';

  constructor(private readonly proposals: ProposalsService) {
    super();
  }

  protected handlers(): HandlerMap {
    return { [TOPICS.proposalSubmitted]: (e) => this.proposals.acceptFromBus(e) };
  }
}
