import { Injectable } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import { BusConsumer } from '@countersign/nest';
import { ExecutionService } from './execution.service';

/** The executor acts on two things only: policy decisions and review decisions (a revision is one: it closes its action). */
@Injectable()
export class ExecutionConsumer extends BusConsumer {
  protected readonly group = 'executor.execute';

  constructor(private readonly execution: ExecutionService) {
    super();
  }

  protected handlers(): HandlerMap {
    return {
      [TOPICS.policyDecided]: (e) => this.execution.onPolicyDecided(e),
      [TOPICS.reviewDecided]: (e) => this.execution.onReviewDecided(e),
      [TOPICS.proposalRevised]: (e) => this.execution.onProposalRevised(e),
    };
  }
}
