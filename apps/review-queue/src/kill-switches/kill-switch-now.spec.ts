import pino from 'pino';
import { InMemoryBus } from '@countersign/bus';
import { EventData, TOPICS, TopicMap } from '@countersign/contracts';
import { FlagControls } from '@countersign/flags';
import { emitSealed, Principal } from '@countersign/nest';
import { refundProposal, testPolicyEngineKey } from '@countersign/testing';
import { card } from '../inbox/inbox.view';
import type { ReviewerSession } from '../inbox/session.store';
import { reviewItem } from '../review-item/review-item.suite';
import { shownDigest, shownView } from '../review-item/shown';
import { killSwitchParts, KillSwitchNow } from './kill-switch-now';

// real: the providers as the module takes them (the follower's handler, its FlagControls, the reading), the policy
// engine's seal, the card's HTML; fake: nothing (events are handed to the follower's handler).
describe("a card whose action type's kill switch is off says an approval would not execute", () => {
  const logger = pino({ level: 'silent' });
  const bus = new InMemoryBus({ source: 'policy-engine', logger });
  const entry = (value: 'on' | 'off', change: 'lowered' | 'raised'): EventData<typeof TOPICS.autonomyChanged> => ({
    flag: 'countersign.exec.support.refund',
    actionType: 'support.refund',
    control: 'kill-switch',
    value,
    change,
    reason: 'incident 4711',
  });
  const parts = () => {
    const providers = killSwitchParts() as Array<{ provide?: unknown; useValue?: unknown } | (new (...a: unknown[]) => unknown)>;
    const value = (p: (typeof providers)[number]) => (typeof p === 'function' ? undefined : p.useValue);
    const controls = providers.map(value).find((v) => v instanceof FlagControls) as FlagControls;
    const now = providers.map(value).find((v) => typeof v === 'function') as KillSwitchNow;
    const Follower = providers.find((p) => typeof p === 'function') as new (...a: unknown[]) => unknown;
    const follower = new Follower(controls, [testPolicyEngineKey.verifyKey], logger);
    const handle = (e: TopicMap[typeof TOPICS.autonomyChanged]) =>
      (follower as { handlers(): Record<string, (e: unknown) => Promise<void>> }).handlers()[TOPICS.autonomyChanged](e);
    return { now, handle };
  };

  it('names the flag while the approved state is off, and nothing when on, unknown, or only claimed by an unsealed event', async () => {
    const { now, handle } = parts();
    expect(now('support.refund')).toBeUndefined();
    // Anyone who can write the topic is not the policy engine: an unsealed "off" says nothing.
    await handle(bus.envelope(TOPICS.autonomyChanged, entry('off', 'lowered'), { subject: 'countersign.exec.support.refund' }));
    expect(now('support.refund')).toBeUndefined();
    const seal = (e: EventData<typeof TOPICS.autonomyChanged>) =>
      emitSealed(bus, testPolicyEngineKey.signing, TOPICS.autonomyChanged, e, { subject: e.flag }, 'decision');
    await handle(await seal(entry('off', 'lowered')));
    expect(now('support.refund')).toBe('countersign.exec.support.refund');
    expect(now('support.reply')).toBeUndefined();
    await handle(await seal(entry('on', 'raised')));
    expect(now('support.refund')).toBeUndefined();
  });

  it('the card of a pending item says so before the reviewer decides; a decided one does not', () => {
    const alice: Principal = { id: 'alice', kind: 'human', roles: ['reviewer'], authMethod: 'oidc' };
    const session = { principal: alice, name: 'Alice', amr: ['pwd'] } as unknown as ReviewerSession;
    const shown = (status: 'pending' | 'approved', killSwitchOff?: string) => {
      const item = reviewItem('a1', new Date(Date.now() + 3_600_000).toISOString(), { proposal: refundProposal(), status });
      return card({ item, session, shownDigest: shownDigest(shownView(item)), canReveal: false, mayDecide: true, killSwitchOff });
    };
    expect(shown('pending', 'countersign.exec.support.refund')).toContain(
      '<strong>The kill switch of support.refund is off</strong> (countersign.exec.support.refund): an approval now will not be executed',
    );
    expect(shown('pending')).not.toContain('kill-switch-off');
    expect(shown('approved', 'countersign.exec.support.refund')).not.toContain('kill-switch-off');
  });
});
