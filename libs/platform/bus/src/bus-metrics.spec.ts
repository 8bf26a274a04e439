import pino from 'pino';
import { TOPICS } from '@countersign/contracts';
import { METRIC_DEFINITIONS, Metrics, parsePrometheusText, sampleSum } from '@countersign/metrics';
import { eventuallyAsync, proposalEvent } from './bus.suite';
import { BusMetrics } from './bus-metrics';
import { InMemoryBroker, InMemoryBus } from './in-memory.bus';

// real: the in-process bus and broker, BusMetrics, a prom-client registry; fake: a lag source that fails (BusMetrics alone).
const logger = pino({ level: 'silent' });
const lagOf = async (metrics: Metrics, group: string) =>
  sampleSum(parsePrometheusText(await metrics.render()), 'countersign_kafka_consumer_lag', { group, topic: TOPICS.proposalSubmitted });

describe('the bus metrics', () => {
  it("stop with the bus: its groups' lag series go, and a replayed subscription's group never shows", async () => {
    const metrics = new Metrics('svc', METRIC_DEFINITIONS, { defaultMetrics: false });
    const bus = new InMemoryBus({ broker: new InMemoryBroker(), logger, metrics, consumerLagIntervalMs: 50 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await bus.subscribe({ group: 'svc.kept', handlers: { [TOPICS.proposalSubmitted]: () => gate } });
    await bus.subscribe({ group: 'svc.replayed.1a2b3c4d', replay: true, handlers: { [TOPICS.proposalSubmitted]: async () => undefined } });
    await bus.publish(TOPICS.proposalSubmitted, proposalEvent('k', 1));
    await bus.publish(TOPICS.proposalSubmitted, proposalEvent('k', 2));
    await eventuallyAsync(async () => expect(await lagOf(metrics, 'svc.kept')).toBe(2));
    expect(await metrics.render()).not.toContain('svc.replayed');
    release();
    await eventuallyAsync(async () => expect(await lagOf(metrics, 'svc.kept')).toBe(0));
    await bus.close();
    expect(await metrics.render()).not.toContain('group="svc.kept"');
  });

  it('keep the last lag when a read fails, and measure nothing without metrics', async () => {
    const metrics = new Metrics('svc', METRIC_DEFINITIONS, { defaultMetrics: false });
    const measured = new BusMetrics(metrics, logger, 20);
    let reads = 0;
    measured.trackLag('svc.flaky', [TOPICS.proposalSubmitted], () => {
      if (++reads > 1) throw new Error('broker away');
      return [{ topic: TOPICS.proposalSubmitted, lag: 7 }];
    });
    await eventuallyAsync(async () => expect(reads).toBeGreaterThan(2));
    expect(await lagOf(metrics, 'svc.flaky')).toBe(7);
    measured.stop();
    expect(await lagOf(metrics, 'svc.flaky')).toBe(0);

    const handlers = { [TOPICS.proposalSubmitted]: async () => undefined };
    expect(new BusMetrics(undefined, logger).handlers(handlers)).toBe(handlers);
  });
});
