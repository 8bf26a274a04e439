import { BadRequestException, ConflictException, ForbiddenException, Inject, Injectable } from '@nestjs/common';
import { EventBus, RefusedEvent } from '@countersign/bus';
import { Actor, canonicalDigest, newId, Proposal, SubmittedProposal, TOPICS } from '@countersign/contracts';
import { EVENT_BUS, Principal, TOKEN_REGISTRY, TokenRegistry } from '@countersign/nest';
import { RunningContract } from '../contract/running-contract';
import { IDEMPOTENCY, RUNNING_CONTRACT } from '../tokens';
import { authenticateSubmission, parameterRefusal, proposerRefusal } from './admission';
import { IdempotencyRepository } from './idempotency.repository';

export interface Accepted {
  actionId: string;
  status: 'proposed';
  /** False when an Idempotency-Key matched an earlier request. */
  created: boolean;
}

/**
 * Turns an admitted proposal into an action: checks who proposes and its parameters (admission.ts),
 * assigns its id and publishes `action proposed` with the authenticated principal as its actor.
 */
@Injectable()
export class ProposalsService {
  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(IDEMPOTENCY) private readonly idempotency: IdempotencyRepository,
    @Inject(TOKEN_REGISTRY) private readonly tokens: TokenRegistry,
    @Inject(RUNNING_CONTRACT) private readonly contract: RunningContract,
  ) {}

  /** A proposal received over HTTP from an authenticated principal: 403 for another agent id, 400 for bad parameters. */
  async acceptHttp(proposal: Proposal, principal: Principal, correlationId: string, idempotencyKey?: string): Promise<Accepted> {
    const notAllowed = proposerRefusal(principal, proposal);
    if (notAllowed) throw new ForbiddenException(notAllowed);
    const invalid = parameterRefusal(this.contract.compiledContract(), proposal);
    if (invalid) throw new BadRequestException(invalid);
    const actor: Actor = { id: principal.id, kind: principal.kind, roles: principal.roles, authMethod: 'bearer-token' };
    const actionId = newId();
    if (idempotencyKey) {
      const requestDigest = canonicalDigest(proposal);
      const earlier = await this.idempotency.claim(actor.id, idempotencyKey, { actionId, requestDigest });
      if (earlier) {
        if (earlier.requestDigest !== requestDigest) {
          throw new ConflictException('Idempotency-Key was already used for a different proposal');
        }
        return { actionId: earlier.actionId, status: 'proposed', created: false };
      }
    }
    // The action starts its chain here: its id is the subject, the request's correlation id follows it.
    const data = { proposal, receivedVia: 'http' as const, ...(idempotencyKey ? { idempotencyKey } : {}) };
    try {
      await this.bus.emit(TOPICS.actionProposed, data, { subject: actionId, correlationId, actor });
    } catch (e) {
      if (idempotencyKey) await this.idempotency.release(actor.id, idempotencyKey);
      throw e;
    }
    return { actionId, status: 'proposed', created: true };
  }

  /**
   * A proposal an agent produced straight to the proposals topic, signed with its key: its subject is the
   * action id. One that is not authenticated, or not admitted, is dead-lettered with the reason (audited).
   */
  async acceptFromBus(submitted: SubmittedProposal): Promise<void> {
    const auth = authenticateSubmission(submitted, this.tokens);
    if (!auth.ok) throw new RefusedEvent(auth.reason);
    const proposal = submitted.data;
    const refusal = proposerRefusal(auth.principal, proposal) ?? parameterRefusal(this.contract.compiledContract(), proposal);
    if (refusal) throw new RefusedEvent(refusal);
    const { principal } = auth;
    // Derived from the submission: a redelivered one yields the same event, which every consumer drops.
    const actor: Actor = { id: principal.id, kind: principal.kind, roles: principal.roles, authMethod: 'signature' };
    await this.bus.emit(TOPICS.actionProposed, { proposal, receivedVia: 'kafka' as const }, { cause: submitted, actor });
  }
}
