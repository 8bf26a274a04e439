import { Inject, Injectable } from '@nestjs/common';
import { EventBus } from '@countersign/bus';
import { actionDigest, deriveEvent, TOPICS, TopicMap } from '@countersign/contracts';
import type { FlagReader } from '@countersign/flags';
import type { Logger } from '@countersign/logging';
import { EVENT_BUS, LOGGER, SERVICE_NAME } from '@countersign/nest';
import { ContractStore } from '../contract/contract.store';
import { decide } from '../contract/operational-contract';
import { AUTONOMY_PREFIX, FLAGS } from '../tokens';
import { autonomyLevel } from './autonomy';

/** Decides the lane of every proposed action under the running contract, and publishes why. */
@Injectable()
export class DecisionService {
  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly contracts: ContractStore,
    @Inject(FLAGS) private readonly flags: FlagReader,
    @Inject(AUTONOMY_PREFIX) private readonly autonomyPrefix: string,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SERVICE_NAME) private readonly service: string,
  ) {}

  async onActionProposed(e: TopicMap[typeof TOPICS.actionProposed]): Promise<void> {
    const contract = this.contracts.current();
    const proposal = e.data.proposal;
    const decision = decide(contract, proposal, autonomyLevel(this.flags, this.autonomyPrefix, proposal));
    this.logger.info({ lane: decision.lane, rulesFired: decision.rulesFired, contractVersion: decision.contractVersion }, 'decided');
    await this.bus.publish(
      TOPICS.policyDecided,
      deriveEvent(TOPICS.policyDecided, e, {
        source: this.service,
        actor: { id: 'policy-engine', kind: 'service', authMethod: 'service' },
        data: {
          lane: decision.lane,
          reasons: decision.reasons,
          rulesFired: decision.rulesFired,
          contractVersion: decision.contractVersion,
          contractHash: decision.contractHash,
          score: 0,
          digest: actionDigest(proposal, decision.contractVersion),
          proposal,
          proposerPrincipal: e.actor.id,
          ...(decision.review ? { review: decision.review } : {}),
          sampledForAudit: false,
        },
      }),
    );
  }
}
