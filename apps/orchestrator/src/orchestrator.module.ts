import { randomUUID } from 'node:crypto';
import { DynamicModule, Module } from '@nestjs/common';
import { followContract } from '@countersign/nest';
import type { VerifyKeys } from '@countersign/approval';
import type { VerifyKey } from '@countersign/keys';
import { KeyList, RunningContract } from '@countersign/policy';
import { ActionChanges } from './actions/action-changes';
import { ActionViewConsumer } from './actions/action-view.consumer';
import { ActionViewRepository } from './actions/action-view.repository';
import { ActionsController } from './actions/actions.controller';
import { flagHealthProviders } from './actions/flag-health';
import { IdempotencyRepository } from './proposals/idempotency.repository';
import { IngressRejections } from './proposals/ingress-rejections';
import { ProposalRateGuard, ProposalRateLimit } from './proposals/proposal-rate';
import { DEFAULT_PROPOSAL_RATE, ProposalRate } from './proposals/proposal-rate.settings';
import { ProposalsConsumer } from './proposals/proposals.consumer';
import { ProposalsController } from './proposals/proposals.controller';
import { ProposalsService } from './proposals/proposals.service';
import { RevisionsConsumer } from './revisions/revisions.consumer';
import { RevisionsService } from './revisions/revisions.service';
import { ACTION_VIEWS, APPROVAL_KEYS, DECISION_KEYS, IDEMPOTENCY, OUTCOME_KEYS, PROPOSAL_RATE } from './tokens';

/**
 * Where the orchestrator keeps its state: ports only, chosen by the main (PostgreSQL, `createActionViewRepository`
 * and `createIdempotencyRepository`) or the embedded host.
 */
export interface OrchestratorStores {
  /** The read model behind `GET /v1/actions/{id}`. */
  actionViews: ActionViewRepository;
  /** Client Idempotency-Keys of `POST /v1/proposals`. */
  idempotency: IdempotencyRepository;
}

export interface OrchestratorOptions extends OrchestratorStores {
  /** The operational contract the policy engines start with: parameters are checked against it (and its approved successors). */
  contractPath: string;
  /** The keys that verify a contract change's signature (`CONTRACT_VERIFY_KEYS_FILE`, docs/adr/0038); none: no change applies. */
  contractChangeKeys?: KeyList<VerifyKey>;
  /** The review queue's public keys (`APPROVAL_VERIFY_KEYS_FILE`): a review decision or revision that does not verify changes nothing here. */
  approvalKeys: VerifyKeys;
  /** The policy engine's public decision keys (`DECISION_VERIFY_KEYS_FILE`): a decision it did not seal is not on the timeline. */
  decisionKeys: VerifyKeys;
  /** The executor's public outcome keys (`OUTCOME_VERIFY_KEYS_FILE`): an outcome it did not seal is not on the timeline (docs/adr/0042). */
  outcomeKeys: VerifyKeys;
  /** How fast one principal may propose over HTTP on this instance (default `DEFAULT_PROPOSAL_RATE`; docs/adr/0048). */
  proposalRate?: ProposalRate;
}

/** Ingress (HTTP and the proposals topic), proposer identity, parameter checks, client idempotency, and the action read model. */
@Module({})
export class OrchestratorModule {
  static register(options: OrchestratorOptions): DynamicModule {
    return {
      module: OrchestratorModule,
      controllers: [ProposalsController, ActionsController],
      providers: [
        ProposalsService,
        ProposalsConsumer,
        IngressRejections,
        ActionViewConsumer,
        // Wakes long polls of GET /v1/actions/{id} when the view consumer records an entry (in process only).
        ActionChanges,
        // Why an action waits when a flag source cannot be read (the view's `waiting`).
        ...flagHealthProviders(),
        RevisionsService,
        RevisionsConsumer,
        // Parameters are checked against the contract as the policy engines run it: the file, then each approved change.
        ...followContract(RunningContract.fromFile(options.contractPath), 'orchestrator', randomUUID().slice(0, 8), options.contractChangeKeys),
        { provide: ACTION_VIEWS, useValue: options.actionViews },
        { provide: IDEMPOTENCY, useValue: options.idempotency },
        { provide: PROPOSAL_RATE, useValue: new ProposalRateLimit(options.proposalRate ?? DEFAULT_PROPOSAL_RATE) },
        ProposalRateGuard,
        { provide: APPROVAL_KEYS, useValue: options.approvalKeys },
        { provide: DECISION_KEYS, useValue: options.decisionKeys },
        { provide: OUTCOME_KEYS, useValue: options.outcomeKeys },
      ],
    };
  }
}
