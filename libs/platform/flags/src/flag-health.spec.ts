import pino from 'pino';
import { buildEnvelope } from '@countersign/bus';
import { TOPIC_SCHEMAS, TOPICS } from '@countersign/contracts';
import { reportFlagHealth } from './index';

// real: the health listener, the envelope as the bus builds it, the topic's schema; fake: the bus's emit (records), a pino logger into an array.
describe('reportFlagHealth', () => {
  it('logs a failure at error and audits it as a valid control event; a recovery likewise', async () => {
    const lines: Array<{ level: number; msg: string }> = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const published: Array<{ topic: string; event: unknown }> = [];
    const listener = reportFlagHealth({
      service: 'executor',
      logger,
      emit: async (topic, data, options) => void published.push({ topic, event: buildEnvelope(topic, data, 'executor', options) }),
    });

    listener({ status: 'failed', flagSource: '/etc/flags.json', reason: 'the flag file /etc/flags.json is invalid: not valid JSON', failClosed: true });
    listener({ status: 'recovered', flagSource: '/etc/flags.json', reason: 'the flag file is valid again', failClosed: false });

    expect(lines.map((l) => l.level)).toEqual([50, 40]);
    expect(lines[0].msg).toMatch(/every flag reads unknown/);
    expect(published.map((p) => p.topic)).toEqual([TOPICS.flagSourceHealthChanged, TOPICS.flagSourceHealthChanged]);
    const events = published.map((p) => TOPIC_SCHEMAS[TOPICS.flagSourceHealthChanged].parse(p.event));
    expect(events.map((e) => e.data)).toEqual([
      { status: 'failed', service: 'executor', flagSource: '/etc/flags.json', reason: expect.stringMatching(/invalid/), failClosed: true },
      { status: 'recovered', service: 'executor', flagSource: '/etc/flags.json', reason: expect.any(String), failClosed: false },
    ]);
  });

  it('a bus that cannot take the event is logged, not thrown at the flag reader', async () => {
    const lines: Array<{ msg: string }> = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const listener = reportFlagHealth({ service: 'executor', logger, emit: async () => Promise.reject(new Error('broker down')) });
    expect(() => listener({ status: 'failed', flagSource: 'f', reason: 'r', failClosed: true })).not.toThrow();
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => l.msg)).toContain('could not audit a flag source health change');
  });
});
