import { buildEnvelope } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { FlagHealthWatch } from './flag-health';

// real: FlagHealthWatch and the envelopes the flag-health reporters publish; fake: nothing.
const health = (service: string, status: 'failed' | 'recovered', failClosed = status === 'failed') =>
  buildEnvelope(
    TOPICS.flagSourceHealthChanged,
    { status, service, flagSource: 'http://127.0.0.1:4242/api', reason: 'connection refused', failClosed },
    service,
    { subject: `flag-source:${service}`, time: new Date('2026-12-01T10:00:00.000Z') },
  ) as TopicMap[typeof TOPICS.flagSourceHealthChanged];

describe('FlagHealthWatch: why an action waits on a flag source', () => {
  it("names the policy engine's failed flags for a proposal, the executor's for an action to run, and nothing once they recover", () => {
    const watch = new FlagHealthWatch();
    expect(watch.waiting('proposed')).toBeUndefined();
    watch.apply(health('policy-engine', 'failed'));
    expect(watch.waiting('proposed')).toMatch(/^the policy engine cannot read its feature flags \(since 2026-12-01T10:00:00.000Z\)/);
    expect(watch.waiting('autonomous')).toBeUndefined();
    watch.apply(health('executor', 'failed'));
    expect(watch.waiting('approved')).toMatch(/^the executor cannot read its feature flags/);
    expect(watch.waiting('executed')).toBeUndefined();
    expect(watch.waiting('in_review')).toBeUndefined();
    watch.apply(health('policy-engine', 'recovered'));
    expect(watch.waiting('proposed')).toBeUndefined();
    // A failure that does not fail closed (the last flags still hold) holds nothing.
    watch.apply(health('policy-engine', 'failed', false));
    expect(watch.waiting('proposed')).toBeUndefined();
    // The embedded mode reads one flag file for both.
    const embedded = new FlagHealthWatch();
    embedded.apply(health('countersign-embedded', 'failed'));
    expect(embedded.waiting('proposed')).toBeDefined();
    expect(embedded.waiting('autonomous')).toBeDefined();
  });
});
