import pino from 'pino';
import { EXECUTOR_SEAL, generateSigningKey, verifyEventSeal } from '@countersign/approval';
import { DependencyUnavailableError, EventBus } from '@countersign/bus';
import { EXECUTOR_OUTCOME_TOPICS, TOPICS } from '@countersign/contracts';
import { RecordingBus, testExecutorKey } from '@countersign/testing';
import { sealingOutcomeBus } from './sealing-bus';

// real: the sealing bus, Ed25519 sealing and verification, the in-memory bus (recording what it is given to publish).
const executed = { connector: 'webhook', digest: 'a'.repeat(64), authorisedBy: 'approval' as const, attempt: 1 };
const cause = { id: 'd-1', correlationId: 'c-1', subject: 'a-1' };

function setup(signer = testExecutorKey.signing) {
  const inner = new RecordingBus({ source: 'executor', logger: pino({ level: 'silent' }) });
  return { inner, bus: sealingOutcomeBus(inner, signer) };
}

describe('the executor seals every outcome it publishes (ADR 0042)', () => {
  it('seals an emitted outcome over the whole event: its readers verify it, and it names only that event', async () => {
    const { inner, bus } = setup();
    const event = await bus.emit(TOPICS.actionExecuted, executed, { cause });
    const [published] = inner.published;
    expect(published.event).toEqual(event);
    expect(verifyEventSeal(event, [testExecutorKey.verifyKey], EXECUTOR_SEAL)).toEqual({ ok: true });
    const changed: typeof event = { ...event, data: { ...event.data, authorisedBy: 'autonomous-decision' } };
    expect(verifyEventSeal(changed, [testExecutorKey.verifyKey], EXECUTOR_SEAL)).toEqual({
      ok: false,
      reason: expect.stringContaining('differ from what was sealed'),
    });
  });

  it('seals an event built before and published later (the outbox) the same way each time: a resend is the same bytes', async () => {
    const { inner, bus } = setup();
    const stored = bus.envelope(
      TOPICS.actionFailed,
      { outcome: 'outcome_unknown', connector: 'webhook', digest: 'a'.repeat(64), error: 'timed out' },
      { cause },
    );
    expect(stored.data.seal).toBeUndefined();
    await bus.publish(TOPICS.actionFailed, stored);
    await bus.publish(TOPICS.actionFailed, stored);
    const [first, second] = inner.published.map((p) => p.event as typeof stored);
    expect(first.data.seal).toEqual(expect.stringMatching(/^cf1\./));
    expect(second).toEqual(first);
    // A copy that already carries a seal (a forged or stale one) is sealed again, not trusted.
    await bus.publish(TOPICS.actionFailed, { ...stored, data: { ...stored.data, seal: 'cf1.forged.seal' } });
    expect(inner.published[2].event).toEqual(first);
  });

  it.each(EXECUTOR_OUTCOME_TOPICS)('%s is sealed', async (topic) => {
    // What the sealing bus hands on, recorded before any validation (the data is beside the point here).
    const seen: unknown[] = [];
    const bus = sealingOutcomeBus({ publish: async (_t: string, e: unknown) => void seen.push(e) } as unknown as EventBus, testExecutorKey.signing);
    const event = {
      id: 'e-1',
      type: topic,
      version: 1,
      source: 'executor',
      time: new Date().toISOString(),
      subject: 'a-1',
      actor: { id: 'executor', kind: 'service' },
      data: {},
    };
    await bus.publish(topic, event as never);
    expect(verifyEventSeal(seen[0] as never, [testExecutorKey.verifyKey], EXECUTOR_SEAL)).toEqual({ ok: true });
  });

  it('passes every other topic through as it is', async () => {
    const { inner, bus } = setup();
    const event = await bus.emit(
      TOPICS.flagSourceHealthChanged,
      { status: 'failed', service: 'executor', flagSource: 'http://127.0.0.1:4242/api', reason: 'unleash is unreachable', failClosed: false },
      { subject: 'unleash' },
    );
    expect(inner.published[0].event).toEqual(event);
    expect((event.data as { seal?: string }).seal).toBeUndefined();
  });

  it("publishes nothing without a key valid at the event's time, as a transient doubt (retried, never dead-lettered)", async () => {
    const expired = generateSigningKey('outcomes-old', { notBefore: new Date('2020-01-01'), notAfter: new Date('2020-02-01') }).signing;
    const { inner, bus } = setup(expired);
    await expect(bus.emit(TOPICS.actionExecuted, executed, { cause })).rejects.toThrow(DependencyUnavailableError);
    expect(inner.published).toEqual([]);
  });

  it('never publishes an outcome as raw bytes', async () => {
    const { inner, bus } = setup();
    await expect(bus.publishRaw(TOPICS.actionExecuted, 'a-1', '{}')).rejects.toThrow('sealed, never as raw bytes');
    expect(inner.published).toEqual([]);
  });
});
