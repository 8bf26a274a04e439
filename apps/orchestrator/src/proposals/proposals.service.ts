import { createHash } from 'node:crypto';
import { ConflictException, Inject, Injectable } from '@nestjs/common';
import canonicalize from 'canonicalize';
import { EventBus } from '@countersign/bus';
import { Actor, deriveEvent, Envelope, newId, Proposal, TOPICS } from '@countersign/contracts';
import { EVENT_BUS, SERVICE_NAME } from '@countersign/nest';
import { IDEMPOTENCY } from '../tokens';
import { IdempotencyRepository } from './idempotency.repository';

export interface Accepted {
  actionId: string;
  status: 'proposed';
  /** False when an Idempotency-Key matched an earlier request. */
  created: boolean;
}

/** Turns a validated proposal into an action: assigns its id and publishes `action proposed`. */
@Injectable()
export class ProposalsService {
  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(IDEMPOTENCY) private readonly idempotency: IdempotencyRepository,
    @Inject(SERVICE_NAME) private readonly service: string,
  ) {}

  /** A proposal received over HTTP. */
  async acceptHttp(proposal: Proposal, actor: Actor, correlationId: string, idempotencyKey?: string): Promise<Accepted> {
    const actionId = newId();
    if (idempotencyKey) {
      const requestDigest = createHash('sha256').update(canonicalize(proposal)!).digest('hex');
      const earlier = await this.idempotency.claim(actor.id, idempotencyKey, { actionId, requestDigest });
      if (earlier) {
        if (earlier.requestDigest !== requestDigest) {
          throw new ConflictException('Idempotency-Key was already used for a different proposal');
        }
        return { actionId: earlier.actionId, status: 'proposed', created: false };
      }
    }
    const event = {
      id: newId(),
      type: TOPICS.actionProposed,
      version: 1,
      source: this.service,
      time: new Date().toISOString(),
      subject: actionId,
      correlationId,
      causationId: null,
      actor,
      data: { proposal, receivedVia: 'http' as const, ...(idempotencyKey ? { idempotencyKey } : {}) },
    };
    try {
      await this.bus.publish(TOPICS.actionProposed, event);
    } catch (e) {
      if (idempotencyKey) await this.idempotency.release(actor.id, idempotencyKey);
      throw e;
    }
    return { actionId, status: 'proposed', created: true };
  }

  /** A proposal an agent produced straight to the proposals topic: its subject is the action id. */
  async acceptFromBus(submitted: Envelope<typeof TOPICS.proposalSubmitted, Proposal>): Promise<void> {
    // A derived id: a redelivered submission yields the same event, which every consumer drops.
    await this.bus.publish(
      TOPICS.actionProposed,
      deriveEvent(TOPICS.actionProposed, submitted, {
        source: this.service,
        actor: { ...submitted.actor, authMethod: 'kafka' },
        data: { proposal: submitted.data, receivedVia: 'kafka' as const },
      }),
    );
  }
}
