import { BadRequestException, ConflictException, ForbiddenException, Inject, Injectable, Optional, PayloadTooLargeException } from '@nestjs/common';
import { EventBus, RefusedEvent } from '@countersign/bus';
import { Actor, canonicalDigest, derivedEventId, newId, Proposal, proposalSizeRefusal, SubmittedProposal, TOPICS } from '@countersign/contracts';
import type { Metrics } from '@countersign/metrics';
import { EVENT_BUS, METRICS, Principal, TOKEN_REGISTRY, TokenRegistry } from '@countersign/nest';
import { ActionStatus, ActionViewRepository } from '../actions/action-view.repository';
import { summarise } from '../actions/action-status';
import { ACTION_VIEWS, IDEMPOTENCY } from '../tokens';
import { parameterRefusal, RunningContract } from '@countersign/policy';
import { authenticateSubmission, proposerRefusal } from './admission';
import { IdempotencyRecord, IdempotencyRepository } from './idempotency.repository';
import { countRejection } from './ingress-rejections';

/**
 * The id of an action's `action proposed` event, derived from the action id: whichever request publishes it, and
 * however often, it is one event (consumers drop the copies by id).
 */
export const proposedEventId = (actionId: string): string => derivedEventId(TOPICS.actionProposed, actionId);

export interface Accepted {
  actionId: string;
  /**
   * `proposed` for a new action; for a retry under an Idempotency-Key, the action's status as `GET /v1/actions/{id}`
   * reads it now (`proposed` until the read model has it). A retry that read `proposed` for an action already executed
   * or prohibited told an agent nothing had happened yet (probe, 2026-12-05).
   */
  status: ActionStatus;
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
    @Inject(ACTION_VIEWS) private readonly views: ActionViewRepository,
    @Inject(TOKEN_REGISTRY) private readonly tokens: TokenRegistry,
    private readonly contract: RunningContract,
    @Optional() @Inject(METRICS) private readonly metrics?: Metrics,
  ) {}

  /**
   * A proposal received over HTTP from an authenticated principal: 403 for another agent id, 400 for bad parameters.
   * Resolves only once the bus has acknowledged the `action proposed` event: a 202 never names an action that
   * might be lost. When the bus is away the publish fails (503 with Retry-After) and an Idempotency-Key stays
   * held: the first publish may still land, so a retry under the key publishes that same event again (same
   * action id, event id, correlation id and time), which every consumer drops if it already has it.
   */
  async acceptHttp(proposal: Proposal, principal: Principal, correlationId: string, idempotencyKey?: string): Promise<Accepted> {
    const notAllowed = proposerRefusal(principal, proposal);
    if (notAllowed) throw new ForbiddenException(notAllowed);
    const invalid = parameterRefusal(this.contract.compiledContract(), proposal);
    if (invalid) throw new BadRequestException(invalid);
    // Refused here, before any event: accepted, it could not travel on (docs/adr/0008).
    const tooLarge = proposalSizeRefusal(proposal);
    if (tooLarge) throw new PayloadTooLargeException(tooLarge);
    const actor: Actor = { id: principal.id, kind: principal.kind, roles: principal.roles, authMethod: 'bearer-token' };
    const fresh: IdempotencyRecord = { actionId: newId(), requestDigest: canonicalDigest(proposal), correlationId, proposedAt: new Date().toISOString() };
    let action = fresh;
    if (idempotencyKey) {
      // Scoped by the agent that proposes, not by the token it came with: one agent id is one agent (its entries are bound
      // alike, `unenforcedBinding`), and its retry through another token of its (`tokens/scenarios` beside `tokens/agent`)
      // executed twice (red team, 2026-12-07). The principal may propose as it: `proposerRefusal` above.
      const earlier = await this.idempotency.claim(proposal.proposer.agentId, idempotencyKey, fresh);
      if (earlier && earlier.requestDigest !== fresh.requestDigest) {
        throw new ConflictException('Idempotency-Key was already used for a different proposal');
      }
      // The key's first request may have failed to publish, or died before it could: publish (again) and wait.
      action = earlier ?? fresh;
    }
    // The action starts its chain here: its id is the subject, the first request's correlation id follows it.
    const data = { proposal, receivedVia: 'http' as const, ...(idempotencyKey ? { idempotencyKey } : {}) };
    await this.bus.emit(TOPICS.actionProposed, data, {
      subject: action.actionId,
      id: proposedEventId(action.actionId),
      correlationId: action.correlationId,
      time: new Date(action.proposedAt),
      actor,
    });
    if (action === fresh) return { actionId: action.actionId, status: 'proposed', created: true };
    const timeline = await this.views.timeline(action.actionId);
    return { actionId: action.actionId, status: timeline.length ? summarise(timeline).status : 'proposed', created: false };
  }

  /**
   * A proposal an agent produced straight to the proposals topic, signed with its key: its subject is the
   * action id. One that is not authenticated, or not admitted, is dead-lettered with the reason (audited).
   */
  async acceptFromBus(submitted: SubmittedProposal): Promise<void> {
    // Each refusal counted as the HTTP ingress counts its 401, 403 and 400 (`countersign_ingress_rejections_total`).
    const auth = authenticateSubmission(submitted, this.tokens);
    if (!auth.ok) {
      countRejection(this.metrics, 'unauthenticated');
      throw new RefusedEvent(auth.reason);
    }
    const proposal = submitted.data;
    const forbidden = proposerRefusal(auth.principal, proposal);
    const invalid = forbidden ? undefined : (parameterRefusal(this.contract.compiledContract(), proposal) ?? proposalSizeRefusal(proposal));
    if (forbidden || invalid) {
      countRejection(this.metrics, forbidden ? 'forbidden' : 'invalid');
      throw new RefusedEvent((forbidden ?? invalid)!);
    }
    const { principal } = auth;
    // Derived from the submission: a redelivered one yields the same event, which every consumer drops.
    const actor: Actor = { id: principal.id, kind: principal.kind, roles: principal.roles, authMethod: 'signature' };
    await this.bus.emit(TOPICS.actionProposed, { proposal, receivedVia: 'kafka' as const }, { cause: submitted, actor });
  }
}
