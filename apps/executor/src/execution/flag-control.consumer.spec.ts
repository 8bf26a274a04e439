import pino from 'pino';
import { generateSigningKey } from '@countersign/approval';
import { InMemoryBus } from '@countersign/bus';
import { EventData, TOPICS, TopicMap } from '@countersign/contracts';
import { FlagControls } from '@countersign/flags';
import { emitSealed } from '@countersign/nest';
import { testPolicyEngineKey } from '@countersign/testing';
import { FlagControlConsumer } from './flag-control.consumer';

// real: the consumer's handler, FlagControls, the seals; fake: nothing (events are handed to the handler).
describe("the executor's control-topic follower applies only entries the policy engine sealed (ADR 0040, addendum)", () => {
  it('an unsealed or foreign "kill switch off" switches nothing off; the sealed one does', async () => {
    const controls = new FlagControls();
    const logs: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    const consumer = new FlagControlConsumer(controls, [testPolicyEngineKey.verifyKey], logger);
    const handle = (e: TopicMap[typeof TOPICS.autonomyChanged]) =>
      (consumer as unknown as { handlers(): Record<string, (e: unknown) => Promise<void>> }).handlers()[TOPICS.autonomyChanged](e);
    const bus = new InMemoryBus({ source: 'policy-engine', logger: pino({ level: 'silent' }) });
    const off: EventData<typeof TOPICS.autonomyChanged> = {
      flag: 'exec.ticket.tag',
      actionType: 'ticket.tag',
      control: 'kill-switch',
      value: 'off',
      change: 'lowered',
      reason: 'incident 4711',
    };
    await handle(bus.envelope(TOPICS.autonomyChanged, off, { subject: off.flag }));
    await handle(await emitSealed(bus, generateSigningKey('test-policy-engine').signing, TOPICS.autonomyChanged, off, { subject: off.flag }, 'decision'));
    expect(controls.get(off.flag)).toBeUndefined();
    expect(logs.filter((l) => l.alert === 'control-fact-refused')).toHaveLength(2);
    await handle(await emitSealed(bus, testPolicyEngineKey.signing, TOPICS.autonomyChanged, off, { subject: off.flag }, 'decision'));
    expect(controls.get(off.flag)).toMatchObject({ value: 'off' });
  });
});
