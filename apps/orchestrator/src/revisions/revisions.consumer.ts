import { Injectable } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import { BusConsumer } from '@countersign/nest';
import { RevisionsService } from './revisions.service';

/** A reviewer's revision of an action (approve with changes) becomes a new action here. */
@Injectable()
export class RevisionsConsumer extends BusConsumer {
  protected readonly group = 'orchestrator.revisions';

  constructor(private readonly revisions: RevisionsService) {
    super();
  }

  protected handlers(): HandlerMap {
    return { [TOPICS.proposalRevised]: (e) => this.revisions.onProposalRevised(e) };
  }
}
