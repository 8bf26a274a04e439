import { join } from 'node:path';
import { ConflictException } from '@nestjs/common';
import pino from 'pino';
import { AnyTopic, Proposal, TOPICS, TopicMap } from '@countersign/contracts';
import { DependencyUnavailableError } from '@countersign/bus';
import { Principal, TokenRegistry } from '@countersign/nest';
import { RunningContract } from '@countersign/policy';
import { RecordingBus, refundProposal } from '@countersign/testing';
import { InMemoryActionViewRepository } from '../actions/in-memory-action-view.repository';
import { InMemoryIdempotencyRepository } from './in-memory-idempotency.repository';
import { ProposalsService, proposedEventId } from './proposals.service';

// real: ProposalsService, the project's contract, the in-memory idempotency store, the in-memory bus (recording what
// it is given); fake: the bus's outage (a publish that fails now and lands later, as kafkajs may deliver a request
// that already timed out), and a publish that never answers (the orchestrator killed during it).

const contractPath = join(__dirname, '../../../policy-engine/contract/countersign.contract.yaml');
const agent: Principal = { id: 'support-copilot', kind: 'agent', roles: ['agent'] };
const refund = (): Proposal => ({ ...refundProposal(), parameters: { amount: 48, currency: 'EUR', reason: 'damaged' } }) as Proposal;
type Published = { topic: AnyTopic; event: TopicMap[AnyTopic] };

/**
 * The in-memory bus, with Kafka's failure modes: while `down`, a publish fails with DependencyUnavailableError and
 * its event is held, to land later (`deliverLate`); while `hanging`, a publish never answers.
 */
class OutageBus extends RecordingBus {
  override down = false;
  hanging = false;
  readonly held: Published[] = [];
  /** Publishes begun, whatever became of them. */
  attempts = 0;

  override async publish<T extends AnyTopic>(topic: T, event: TopicMap[T]): Promise<void> {
    this.attempts++;
    if (this.hanging) return new Promise<void>(() => undefined);
    if (this.down) {
      this.held.push({ topic, event });
      throw new DependencyUnavailableError('Kafka did not take the event within 3000 ms');
    }
    await super.publish(topic, event);
  }

  /** The requests that timed out land after all. */
  async deliverLate() {
    for (const { topic, event } of this.held.splice(0)) await super.publish(topic, event);
  }
}

function setup(idempotency = new InMemoryIdempotencyRepository(), views = new InMemoryActionViewRepository()) {
  const bus = new OutageBus({ source: 'orchestrator', logger: pino({ level: 'silent' }) });
  const contract = RunningContract.fromFile(contractPath);
  const service = new ProposalsService(bus, idempotency, views, new TokenRegistry([]), contract);
  const proposed = () => bus.published.filter((p) => p.topic === TOPICS.actionProposed).map((p) => p.event);
  return { bus, service, idempotency, views, proposed };
}

describe('ProposalsService over HTTP: nothing lost, nothing twice', () => {
  it('a Kafka outage answers 503 and keeps the key: the first publish landing late and the retry are one action, one event', async () => {
    const { bus, service, proposed } = setup();
    bus.down = true;
    // The first request: 503 (the controller maps DependencyUnavailableError to 503 with Retry-After).
    await expect(service.acceptHttp(refund(), agent, 'corr-first', 'refund-42')).rejects.toBeInstanceOf(DependencyUnavailableError);
    // Retried during the outage: 503 again, and still the first request's action, not a new one.
    await expect(service.acceptHttp(refund(), agent, 'corr-retry-1', 'refund-42')).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(new Set(bus.held.map((h) => h.event.subject)).size).toBe(1);
    // Kafka is back: the first publish lands after all, then the agent retries once more.
    bus.down = false;
    await bus.deliverLate();
    const accepted = await service.acceptHttp(refund(), agent, 'corr-retry-2', 'refund-42');
    expect(accepted).toMatchObject({ status: 'proposed', created: false });
    const events = proposed();
    // Three copies on the bus (two that timed out yet landed, one acknowledged), all the very same event.
    expect(events).toHaveLength(3);
    expect(new Set(events.map((e) => e.subject))).toEqual(new Set([accepted.actionId]));
    expect(new Set(events.map((e) => e.id))).toEqual(new Set([proposedEventId(accepted.actionId)]));
    expect(new Set(events.map((e) => e.correlationId))).toEqual(new Set(['corr-first']));
    expect(new Set(events.map((e) => JSON.stringify(e))).size).toBe(1);
  });

  it('a retry after the orchestrator died mid-publish publishes the action before it answers 202 (no 202 for an action never published)', async () => {
    const idempotency = new InMemoryIdempotencyRepository();
    const first = setup(idempotency);
    first.bus.hanging = true;
    // The first request claims its key and is killed while its publish is in flight: it never answers, nothing lands.
    void first.service.acceptHttp(refund(), agent, 'corr-first', 'refund-43');
    // Poll (no timing bet): the key is claimed by the time the publish has begun.
    for (let turns = 0; first.bus.attempts === 0; turns++) {
      if (turns > 1_000) throw new Error('the first request never began to publish');
      await new Promise((r) => setImmediate(r));
    }
    expect(first.proposed()).toEqual([]);
    // The orchestrator restarts (same records of truth, a new bus); the agent retries under its key.
    const restarted = setup(idempotency);
    const accepted = await restarted.service.acceptHttp(refund(), agent, 'corr-retry', 'refund-43');
    expect(restarted.proposed()).toEqual([
      expect.objectContaining({ subject: accepted.actionId, id: proposedEventId(accepted.actionId), correlationId: 'corr-first' }),
    ]);
  });

  it("takes a key as the agent's, whichever of its tokens sends it: the same proposal is the same action, another one 409 (red team, 2026-12-07)", async () => {
    const { service, proposed } = setup();
    const scenarios: Principal = { id: 'scenarios', kind: 'agent', roles: ['agent'], agentIds: ['support-copilot', 'ops-copilot'] };
    const first = await service.acceptHttp(refund(), agent, 'corr-1', 'refund-77');
    await expect(service.acceptHttp(refund(), scenarios, 'corr-2', 'refund-77')).resolves.toMatchObject({ actionId: first.actionId, created: false });
    const other = { ...refund(), parameters: { amount: 49, currency: 'EUR', reason: 'damaged' } } as Proposal;
    await expect(service.acceptHttp(other, scenarios, 'corr-3', 'refund-77')).rejects.toBeInstanceOf(ConflictException);
    // Another agent's key is its own.
    const ops = { ...refund(), proposer: { ...refund().proposer, agentId: 'ops-copilot' } } as Proposal;
    await expect(service.acceptHttp(ops, scenarios, 'corr-4', 'refund-77')).resolves.toMatchObject({ created: true });
    expect(new Set(proposed().map((e) => e.subject)).size).toBe(2);
  });

  it('answers only once the bus has acknowledged the event', async () => {
    const { bus, service, proposed } = setup();
    let ack!: () => void;
    const acknowledged = new Promise<void>((r) => (ack = r));
    let entered!: () => void;
    const publishing = new Promise<void>((r) => (entered = r));
    const publish = bus.publish.bind(bus);
    bus.publish = async (topic, event) => {
      entered();
      await acknowledged;
      return publish(topic, event);
    };
    let answered = false;
    const request = service.acceptHttp(refund(), agent, 'corr-1', 'refund-44').then((a) => ((answered = true), a));
    await publishing;
    await new Promise((r) => setImmediate(r));
    expect(answered).toBe(false);
    ack();
    const accepted = await request;
    expect(proposed().map((e) => e.subject)).toEqual([accepted.actionId]);
  });

  it('a retry with the same key and body while the first request still publishes is the same event; another body is a 409', async () => {
    const { service, proposed } = setup();
    const [a, b] = await Promise.all([service.acceptHttp(refund(), agent, 'corr-a', 'refund-45'), service.acceptHttp(refund(), agent, 'corr-b', 'refund-45')]);
    expect(a.actionId).toBe(b.actionId);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    expect(new Set(proposed().map((e) => e.id))).toEqual(new Set([proposedEventId(a.actionId)]));
    const other = { ...refund(), target: 'order-2' } as Proposal;
    await expect(service.acceptHttp(other, agent, 'corr-c', 'refund-45')).rejects.toMatchObject({ status: 409 });
  });

  it('a retry under the key answers the action as it stands now, not `proposed` (an executed action read as not begun)', async () => {
    const { service, views } = setup();
    const first = await service.acceptHttp(refund(), agent, 'corr-a', 'refund-46');
    expect(first).toMatchObject({ status: 'proposed', created: true });
    // The read model has not seen the action yet: `proposed`, as GET /v1/actions/{id} would read it.
    expect(await service.acceptHttp(refund(), agent, 'corr-b', 'refund-46')).toMatchObject({ status: 'proposed', created: false });
    const entry = (eventId: string, status: 'proposed' | 'autonomous' | 'executed', time: string) =>
      views.record(first.actionId, { eventId, type: 'test', time, status, actor: 'test', detail: status });
    await entry('e1', 'proposed', '2026-12-05T10:00:00.000Z');
    await entry('e2', 'autonomous', '2026-12-05T10:00:00.010Z');
    await entry('e3', 'executed', '2026-12-05T10:00:00.020Z');
    const retried = await service.acceptHttp(refund(), agent, 'corr-c', 'refund-46');
    expect(retried).toEqual({ actionId: first.actionId, status: 'executed', created: false });
  });

  it('without an Idempotency-Key each request is an action of its own, its event id derived from the action id', async () => {
    const { service, proposed } = setup();
    const a = await service.acceptHttp(refund(), agent, 'corr-a');
    const b = await service.acceptHttp(refund(), agent, 'corr-b');
    expect(a.actionId).not.toBe(b.actionId);
    expect(proposed().map((e) => [e.subject, e.id, e.correlationId])).toEqual([
      [a.actionId, proposedEventId(a.actionId), 'corr-a'],
      [b.actionId, proposedEventId(b.actionId), 'corr-b'],
    ]);
  });
});
