// real: the autonomy service and drift watcher, the in-memory change-request store, the in-memory flag admin
// (Unleash's twin), FlagControls and the controlled reader; fake: the bus (builds envelopes as the real one,
// validates each event against its topic's schema, records it and hands control events to this instance's
// FlagControls as the replay consumer would), the logger.
import { BadRequestException, ConflictException, ForbiddenException, ServiceUnavailableException } from '@nestjs/common';
import pino from 'pino';
import { buildEnvelope, EmitOptions, EventBus } from '@countersign/bus';
import { AnyTopic, EventData, schemaFor, TOPICS, TopicMap } from '@countersign/contracts';
import { FlagControls, FlagReader, withFlagControls } from '@countersign/flags';
import type { RunningContract } from '@countersign/policy';
import { InMemoryChangeRequestStore } from '../contract/in-memory-change-request.store';
import { autonomyLevel } from '../decision/autonomy';
import { AutonomyService, FlagsInFlight } from './autonomy.service';
import { DriftWatcher } from './drift.watcher';
import { InMemoryFlagAdmin } from './in-memory-flag-admin';

const ada = { id: 'ada', kind: 'human' as const, roles: ['admin'] };
const grace = { id: 'grace', kind: 'human' as const, roles: ['admin'] };
const names = { execPrefix: 'cs.exec.', autonomyPrefix: 'cs.autonomy.' };
const refund = { actionType: 'support.refund', tenant: 'acme', region: 'eu' };

/** A reader over the twin's flags, as unleash-client would serve them (here: at once). */
const readerOf = (admin: InMemoryFlagAdmin): FlagReader => ({
  state: (n) => {
    const f = admin.peek(n);
    return f === undefined ? 'unknown' : f.enabled ? 'on' : 'off';
  },
  variant: (n) => {
    const f = admin.peek(n);
    return f?.enabled ? f.variants[0] : undefined;
  },
  ready: async () => true,
  loaded: () => true,
  notLoadedReason: () => undefined,
  close: async () => undefined,
});

async function setup(options: { admin?: boolean; propagate?: boolean; noDefault?: boolean; replaying?: boolean; flagAdmin?: InMemoryFlagAdmin } = {}) {
  const admin = options.flagAdmin ?? new InMemoryFlagAdmin();
  await admin.write('cs.exec.support.refund', 'kill-switch', 'on', 'seed');
  await admin.write('cs.autonomy.support.refund', 'autonomy', 'autonomous', 'seed');
  if (!options.noDefault) await admin.write('cs.autonomy.default', 'autonomy', 'autonomous', 'seed');
  const controls = new FlagControls();
  if (!options.replaying) controls.markCaughtUp(); // the follower read the (empty) control topic to its end
  const published: Array<{ topic: AnyTopic; event: TopicMap[AnyTopic] }> = [];
  const bus = {
    emit: async (topic: AnyTopic, data: EventData<AnyTopic>, o: EmitOptions) => {
      const event = buildEnvelope(topic, data, 'policy-engine', o);
      schemaFor(topic)!.parse(event);
      published.push({ topic, event });
      if (topic === TOPICS.autonomyChanged && options.propagate !== false) {
        const d = event.data as EventData<typeof TOPICS.autonomyChanged>;
        controls.apply({ flag: d.flag, kind: d.control, value: d.value, version: event.id });
      }
      return event;
    },
  } as unknown as EventBus;
  const logger = pino({ level: 'silent' });
  const settings = { controls, admin: options.admin === false ? undefined : admin, requestTtlSeconds: 3600, applyTimeoutMs: 50, now: () => new Date() };
  const inFlight = new FlagsInFlight();
  const store = new InMemoryChangeRequestStore();
  const service = new AutonomyService(settings, names, store, bus, logger, inFlight);
  // The running contract knows support.refund and ticket.tag (whose flags the setup does not create).
  const types = ['support.refund', 'ticket.tag']; // a test adds one as a contract change would
  const contract = { current: () => ({ version: `v${types.length}`, actions: Object.fromEntries(types.map((t) => [t, {}])) }) } as unknown as RunningContract;
  const watcher = new DriftWatcher(settings, names, bus, logger, inFlight, contract);
  const flags = withFlagControls(readerOf(admin), controls);
  const of = <T extends AnyTopic>(topic: T) => published.filter((p) => p.topic === topic).map((p) => p.event as TopicMap[T]);
  return { admin, controls, service, watcher, flags, of, store, inFlight, types };
}

describe('autonomy changes', () => {
  it('lower: one call publishes the stricter state, in force in the decisions at once, then applied to Unleash', async () => {
    const { service, flags, admin, of } = await setup();
    expect(autonomyLevel(flags, names.autonomyPrefix, refund)).toBe('autonomous');
    const applied = await service.lower('support.refund', 'autonomy', 'review-all', 'refund fraud spike', ada);
    expect(applied).toMatchObject({
      flag: 'cs.autonomy.support.refund',
      value: 'review-all',
      previous: 'autonomous',
      flagStore: 'in-memory',
      appliedToFlagStore: true,
    });
    // Not Unleash: the answer does not say Unleash holds it.
    expect(applied).not.toHaveProperty('appliedToUnleash');
    expect(applied.propagation.appliedHereMs).not.toBeNull();
    expect(autonomyLevel(flags, names.autonomyPrefix, refund)).toBe('review-all');
    expect(await admin.read('cs.autonomy.support.refund', 'autonomy')).toBe('review-all');
    const [event] = of(TOPICS.autonomyChanged);
    expect(event).toMatchObject({ subject: 'cs.autonomy.support.refund', actor: { id: 'ada' }, data: { change: 'lowered', value: 'review-all' } });
  });

  it('the control entry alone keeps a lowering in force while Unleash still says otherwise', async () => {
    const { service, flags, admin } = await setup();
    jest.spyOn(admin, 'write').mockRejectedValueOnce(new Error('Unleash is down'));
    const applied = await service.lower('support.refund', 'kill-switch', 'off', 'stop refunds now', ada);
    expect(applied).toMatchObject({ appliedToFlagStore: false, flagStoreError: 'Unleash is down' });
    expect(await admin.read('cs.exec.support.refund', 'kill-switch')).toBe('on');
    expect(flags.state('cs.exec.support.refund')).toBe('off');
  });

  it('concurrent changes of one flag run in turn: one kill switch off answers previous on, the others previous off', async () => {
    const { service, of, inFlight, admin } = await setup();
    const inFlightSeen: boolean[] = [];
    const write = admin.write.bind(admin);
    jest.spyOn(admin, 'write').mockImplementation(async (...args) => {
      inFlightSeen.push(inFlight.has('cs.exec.support.refund'));
      return write(...args);
    });
    const applied = await Promise.all(Array.from({ length: 10 }, (_, i) => service.lower('support.refund', 'kill-switch', 'off', `stop refunds ${i}`, ada)));
    expect(applied.map((a) => a.previous).sort()).toEqual(['off', 'off', 'off', 'off', 'off', 'off', 'off', 'off', 'off', 'on']);
    expect(of(TOPICS.autonomyChanged).filter((e) => e.data.previous === 'on')).toHaveLength(1);
    // While any of them applies, the drift watcher leaves the flag alone.
    expect(inFlightSeen).toEqual(Array(10).fill(true));
    // A call refused in the line does not stop the next one.
    const results = await Promise.allSettled([
      service.lower('support.refund', 'autonomy', 'review-all', 'tighten', ada),
      service.lower('support.refund', 'autonomy', 'autonomous', 'loosen', ada),
      service.lower('support.refund', 'autonomy', 'review-all', 'again', ada),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('a raise edited in the store since it was requested is not approved under its digest (red team, 2026-12-07)', async () => {
    const { service, admin, store } = await setup();
    await service.lower('support.refund', 'autonomy', 'review-all', 'tighten', ada);
    const request = await service.requestRaise('support.refund', 'autonomy', 'review-risky', 'risky ones by hand still', ada);
    // Someone with the policy engine's database credential: `to` is autonomous now, the digest still review-risky's.
    const stored = (store as unknown as { requests: Map<string, { autonomy: { to: string; flag: string } }> }).requests.get(request.id)!;
    stored.autonomy.to = 'autonomous';
    await expect(service.approveRaise(request.id, { digest: request.digest, reason: 'checked' }, grace)).rejects.toThrow(
      new ConflictException(`raise ${request.id} as stored is not the raise that was requested (it no longer matches its digest): not approved`),
    );
    // Another type's flag under this type's name: refused alike.
    stored.autonomy.to = 'review-risky';
    stored.autonomy.flag = 'cs.autonomy.payments.payout';
    await expect(service.approveRaise(request.id, { digest: request.digest, reason: 'checked' }, grace)).rejects.toThrow(ConflictException);
    expect(await admin.read('cs.autonomy.support.refund', 'autonomy')).toBe('review-all');
    // As requested, it is approved.
    stored.autonomy.flag = 'cs.autonomy.support.refund';
    expect(await service.approveRaise(request.id, { digest: request.digest, reason: 'checked' }, grace)).toMatchObject({ status: 'approved' });
    expect(await admin.read('cs.autonomy.support.refund', 'autonomy')).toBe('review-risky');
  });

  it('raising through the lower endpoint is refused (400); without the admin API every change answers 503', async () => {
    const { service } = await setup();
    await service.lower('support.refund', 'autonomy', 'review-all', 'tighten', ada);
    await expect(service.lower('support.refund', 'autonomy', 'review-risky', 'loosen', ada)).rejects.toThrow(BadRequestException);
    const { service: unconfigured } = await setup({ admin: false });
    await expect(unconfigured.lower('support.refund', 'kill-switch', 'off', 'stop', ada)).rejects.toThrow(ServiceUnavailableException);
    await expect(unconfigured.requestRaise('support.refund', 'autonomy', 'autonomous', 'go', ada)).rejects.toThrow(/UNLEASH_ADMIN_TOKEN/);
  });

  it('raise: a request changes nothing; the requester cannot approve it, a wrong digest is refused, a second admin applies it', async () => {
    const { service, flags, admin, of } = await setup();
    await service.lower('support.refund', 'autonomy', 'review-all', 'tighten', ada);
    await expect(service.requestRaise('support.refund', 'autonomy', 'review-all', 'same', ada)).rejects.toThrow(BadRequestException);
    const request = await service.requestRaise('support.refund', 'autonomy', 'autonomous', 'fraud spike over', ada);
    expect(request).toMatchObject({ status: 'pending', autonomy: { from: 'review-all', to: 'autonomous' } });
    expect(autonomyLevel(flags, names.autonomyPrefix, refund)).toBe('review-all');

    await expect(service.approveRaise(request.id, { digest: request.digest, reason: 'mine' }, ada)).rejects.toThrow(ForbiddenException);
    await expect(service.approveRaise(request.id, { digest: 'e'.repeat(64), reason: 'ok' }, grace)).rejects.toThrow(ConflictException);
    const approved = await service.approveRaise(request.id, { digest: request.digest, reason: 'checked the numbers' }, grace);
    expect(approved).toMatchObject({ status: 'approved', decider: 'grace', applied: { value: 'autonomous', appliedToFlagStore: true } });
    expect(await admin.read('cs.autonomy.support.refund', 'autonomy')).toBe('autonomous');
    expect(autonomyLevel(flags, names.autonomyPrefix, refund)).toBe('autonomous');
    expect(of(TOPICS.changeRequested)[0].data).toMatchObject({ kind: 'autonomy', autonomy: { flag: 'cs.autonomy.support.refund' } });
    expect(of(TOPICS.changeDecided)[0].data).toMatchObject({ kind: 'autonomy', decision: 'approved' });
    expect(of(TOPICS.autonomyChanged).at(-1)).toMatchObject({
      actor: { id: 'grace' },
      data: { change: 'raised', requestedBy: 'ada', changeRequestId: request.id },
    });
    // Keyed by the flag like the lowering before it (one partition, in order on replay), not by the change request.
    expect(of(TOPICS.autonomyChanged).map((e) => e.subject)).toEqual(['cs.autonomy.support.refund', 'cs.autonomy.support.refund']);
  });

  it('an approval of a raise requested from a state that has changed since is refused (409)', async () => {
    const { service } = await setup();
    await service.lower('support.refund', 'autonomy', 'review-risky', 'tighten', ada);
    const request = await service.requestRaise('support.refund', 'autonomy', 'autonomous', 'loosen again', ada);
    await service.lower('support.refund', 'autonomy', 'off', 'incident', grace);
    await expect(service.approveRaise(request.id, { digest: request.digest, reason: 'ok' }, grace)).rejects.toThrow(
      /requested from review-risky, but .* is off now/,
    );
  });

  it('an approval of a raise requested before a later lowering to the same value is refused (409): the lowering stands', async () => {
    // Red team (2026-12-04): a switch-off for the next incident, made after the raise was requested, was undone by
    // approving that older raise, since the value (off) was the one it was requested from.
    const { service, flags } = await setup();
    await service.lower('support.refund', 'kill-switch', 'off', 'incident 1', ada);
    const request = await service.requestRaise('support.refund', 'kill-switch', 'on', 'incident 1 over', grace);
    await service.lower('support.refund', 'kill-switch', 'off', 'incident 2', ada);
    await expect(service.approveRaise(request.id, { digest: request.digest, reason: 'checked' }, ada)).rejects.toThrow(
      new ConflictException(`raise ${request.id} was requested before cs.exec.support.refund was last changed: request it again`),
    );
    expect(flags.state('cs.exec.support.refund', refund)).toBe('off');
  });

  it('the brake works while the flag source cannot be read: judged against the approved state, published, in force', async () => {
    const { service, flags, admin, of } = await setup();
    await service.lower('support.refund', 'autonomy', 'review-risky', 'tighten', ada);
    const unreadable = jest.spyOn(admin, 'read').mockRejectedValue(new Error('flags.json: unexpected end of JSON'));
    jest.spyOn(admin, 'write').mockRejectedValue(new Error('flags.json: unexpected end of JSON'));
    // A kill switch with no approved state reads unknown: off, the strictest, still passes.
    await expect(service.lower('support.refund', 'kill-switch', 'off', 'stop refunds now', ada)).resolves.toMatchObject({
      value: 'off',
      previous: 'unknown',
      appliedToFlagStore: false,
    });
    expect(flags.state('cs.exec.support.refund', refund)).toBe('off');
    // Against the approved review-risky: review-all is a lowering, autonomous is not (a raise never passes unread).
    await expect(service.lower('support.refund', 'autonomy', 'review-all', 'tighten more', ada)).resolves.toMatchObject({ previous: 'review-risky' });
    await expect(service.lower('support.refund', 'autonomy', 'autonomous', 'loosen', ada)).rejects.toThrow(BadRequestException);
    expect(of(TOPICS.autonomyChanged).map((e) => e.data.value)).toEqual(['review-risky', 'off', 'review-all']);
    // A raise still needs what Unleash says: 503 until it can be read.
    await expect(service.requestRaise('support.refund', 'kill-switch', 'on', 'over', ada)).rejects.toThrow(ServiceUnavailableException);
    unreadable.mockRestore();
  });

  it("the approver's retry answers again, but never sets the flag back to the raise after a later lowering (409)", async () => {
    const { service, flags } = await setup();
    await service.lower('support.refund', 'kill-switch', 'off', 'incident 1', ada);
    const request = await service.requestRaise('support.refund', 'kill-switch', 'on', 'incident 1 over', ada);
    await service.approveRaise(request.id, { digest: request.digest, reason: 'checked' }, grace);
    expect(flags.state('cs.exec.support.refund', refund)).toBe('on');
    // A retry while the raise stands is answered again, changing nothing.
    await expect(service.approveRaise(request.id, { digest: request.digest, reason: 'checked' }, grace)).resolves.toMatchObject({
      applied: { value: 'on' },
    });
    // The next incident: off again. Replaying the old approval must not switch it back on.
    await service.lower('support.refund', 'kill-switch', 'off', 'incident 2', ada);
    await expect(service.approveRaise(request.id, { digest: request.digest, reason: 'checked' }, grace)).rejects.toThrow(
      new ConflictException(`raise ${request.id} was approved and applied already, and cs.exec.support.refund was changed since (now off): request it again`),
    );
    expect(flags.state('cs.exec.support.refund', refund)).toBe('off');
  });
});

describe('the global default is a ceiling over every action type', () => {
  const tag = { actionType: 'ticket.tag', tenant: 'acme', region: 'eu' };

  it('lowering it lowers every type, even one whose own flag says autonomous; a flag made for a type later cannot undo it', async () => {
    const { service, flags, admin } = await setup();
    expect(autonomyLevel(flags, names.autonomyPrefix, refund)).toBe('autonomous');
    await service.lower('default', 'autonomy', 'review-all', 'incident: every type to review', ada);
    expect(autonomyLevel(flags, names.autonomyPrefix, refund)).toBe('review-all');
    expect(autonomyLevel(flags, names.autonomyPrefix, tag)).toBe('review-all');
    // Someone with Unleash access gives one type a flag of its own (never controlled by Countersign): still capped.
    await admin.write('cs.autonomy.ticket.tag', 'autonomy', 'autonomous', 'oncall');
    expect(autonomyLevel(flags, names.autonomyPrefix, tag)).toBe('review-all');
    expect(await service.current('ticket.tag', 'autonomy')).toBe('review-all');
    expect(await service.current('support.refund', 'autonomy')).toBe('review-all');
  });

  it("a type's own flag can only be stricter; a raise of a type above the default is refused (400), naming the default", async () => {
    const { service, flags } = await setup();
    await service.lower('support.refund', 'autonomy', 'review-risky', 'refund fraud', ada);
    await service.lower('default', 'autonomy', 'review-all', 'incident', ada);
    expect(autonomyLevel(flags, names.autonomyPrefix, refund)).toBe('review-all');
    await expect(service.requestRaise('support.refund', 'autonomy', 'autonomous', 'fraud over', ada)).rejects.toThrow(
      'the global default autonomy (review-all) caps support.refund: raise the default (POST /v1/autonomy/default/raise-requests)',
    );
    // Once the default is raised again (a second admin), the type's own, stricter level shows.
    const request = await service.requestRaise('default', 'autonomy', 'autonomous', 'incident over', ada);
    await service.approveRaise(request.id, { digest: request.digest, reason: 'checked' }, grace);
    expect(autonomyLevel(flags, names.autonomyPrefix, refund)).toBe('review-risky');
  });

  it('an enabled autonomy flag with no variant to pick reads unknown (review), in the decisions and in the admin view alike', async () => {
    const { flags, admin, service } = await setup();
    // Enabled, no variant: how a kill-switch-shaped write leaves it.
    await admin.write('cs.autonomy.ticket.tag', 'kill-switch', 'on', 'oncall');
    expect(admin.peek('cs.autonomy.ticket.tag')).toEqual({ enabled: true, variants: [] });
    expect(autonomyLevel(flags, names.autonomyPrefix, tag)).toBe('unknown');
    expect(await admin.read('cs.autonomy.ticket.tag', 'autonomy')).toBe('unknown');
    expect(await service.current('ticket.tag', 'autonomy')).toBe('unknown');
  });
});

describe('drift watch', () => {
  it('says a poll that cannot read the flag store at the first failure and every tenth, and the poll that reads again (first-user pass, 2026-12-07)', async () => {
    const { watcher } = await setup();
    const said: Array<{ level: string; failedPolls: number }> = [];
    let failing = true;
    const real = watcher.poll.bind(watcher);
    Object.assign(watcher, {
      logger: {
        warn: (o: { failedPolls: number }) => said.push({ level: 'warn', failedPolls: o.failedPolls }),
        info: (o: { failedPolls: number }) => said.push({ level: 'info', failedPolls: o.failedPolls }),
      },
      poll: () => (failing ? Promise.reject(new Error("ENOENT: no such file or directory, open 'flags.json'")) : real()),
    });
    for (let i = 0; i < 21; i++) await watcher.tick();
    failing = false;
    await watcher.tick();
    await watcher.tick();
    expect(said).toEqual([
      { level: 'warn', failedPolls: 1 },
      { level: 'warn', failedPolls: 10 },
      { level: 'warn', failedPolls: 20 },
      { level: 'info', failedPolls: 21 },
    ]);
  });

  it('an unapproved raise made directly in Unleash is audited and reverted; the control entry keeps it out of force meanwhile', async () => {
    const { service, watcher, admin, flags, of } = await setup();
    await watcher.poll(); // the cursor
    await service.lower('support.refund', 'kill-switch', 'off', 'stop refunds', ada);
    await watcher.poll(); // Countersign's own write: nothing to say
    expect(of(TOPICS.autonomyDriftDetected)).toEqual([]);
    await admin.write('cs.exec.support.refund', 'kill-switch', 'on', 'mallory');
    expect(flags.state('cs.exec.support.refund')).toBe('off');
    await watcher.poll();
    expect(of(TOPICS.autonomyDriftDetected).map((e) => e.data)).toEqual([
      expect.objectContaining({
        flag: 'cs.exec.support.refund',
        approved: 'off',
        observed: 'on',
        outcome: 'reverted',
        unleashEvents: [expect.objectContaining({ createdBy: 'mallory' })],
      }),
    ]);
    expect(await admin.read('cs.exec.support.refund', 'kill-switch')).toBe('off');
  });

  it('a lowering made directly in Unleash is accepted as the approved state, also of a flag Countersign had not controlled', async () => {
    const { service, watcher, admin, controls, of } = await setup();
    await watcher.poll();
    await service.lower('support.refund', 'autonomy', 'review-risky', 'tighten', ada);
    await admin.write('cs.autonomy.support.refund', 'autonomy', 'off', 'oncall');
    await admin.write('cs.autonomy.default', 'autonomy', 'review-all', 'oncall');
    await watcher.poll();
    const drift = of(TOPICS.autonomyDriftDetected).map((e) => e.data);
    expect(drift).toEqual([
      expect.objectContaining({ flag: 'cs.autonomy.support.refund', observed: 'off', outcome: 'accepted' }),
      expect.objectContaining({ flag: 'cs.autonomy.default', approved: 'autonomous', observed: 'review-all', outcome: 'accepted' }),
    ]);
    expect(controls.get('cs.autonomy.support.refund')?.value).toBe('off');
    expect(controls.get('cs.autonomy.default')?.value).toBe('review-all');
    expect(of(TOPICS.autonomyChanged).at(-1)!.data).toMatchObject({ flag: 'cs.autonomy.default', change: 'accepted', value: 'review-all' });
    expect(await admin.read('cs.autonomy.default', 'autonomy')).toBe('review-all');
  });

  it('adopts the flags it finds at its first look, so a later raise made directly in Unleash is reverted, as for any controlled flag', async () => {
    const { watcher, admin, controls, flags, of } = await setup();
    await admin.write('cs.autonomy.default', 'autonomy', 'review-all', 'oncall'); // lowered before Countersign started
    await watcher.poll(); // the first look
    // Said to be Countersign's own adoptions (`origin`): nobody changed anything, and leads' override counts skip them.
    expect(of(TOPICS.autonomyChanged).map((e) => [e.data.flag, e.data.value, e.data.change, e.data.origin])).toEqual([
      ['cs.exec.support.refund', 'on', 'accepted', 'adopted'],
      ['cs.autonomy.support.refund', 'autonomous', 'accepted', 'adopted'],
      ['cs.autonomy.default', 'review-all', 'accepted', 'adopted'],
    ]);
    await admin.write('cs.autonomy.default', 'autonomy', 'autonomous', 'mallory');
    // Out of force at once (the control entry is stricter), and back in Unleash at the next poll.
    expect(autonomyLevel(flags, 'cs.autonomy.', refund)).toBe('review-all');
    await watcher.poll();
    expect(of(TOPICS.autonomyDriftDetected).map((e) => e.data)).toEqual([
      expect.objectContaining({ flag: 'cs.autonomy.default', approved: 'review-all', observed: 'autonomous', outcome: 'reverted' }),
    ]);
    expect(await admin.read('cs.autonomy.default', 'autonomy')).toBe('review-all');
    expect(controls.get('cs.autonomy.default')?.value).toBe('review-all');
    // Every instance adopts with ids made of the flag and its value: the audit trail keeps one event per adoption.
    const again = await setup(); // its default is autonomous: the other two flags stand as above
    await again.watcher.poll();
    const ids = (events: Array<{ id: string }>) => events.slice(0, 2).map((e) => e.id);
    expect(ids(again.of(TOPICS.autonomyChanged))).toEqual(ids(of(TOPICS.autonomyChanged)));
    expect(again.of(TOPICS.autonomyChanged)[2].id).not.toBe(of(TOPICS.autonomyChanged)[2].id);
  });

  it('does not take its first look before the control topic is replayed: a half-replayed state would set approved raises back', async () => {
    const { watcher, admin, controls, of } = await setup({ replaying: true });
    controls.apply({ flag: 'cs.exec.support.refund', kind: 'kill-switch', value: 'off', version: 'lowered-first' }); // replayed so far
    await watcher.poll();
    await watcher.poll();
    expect(of(TOPICS.autonomyChanged)).toEqual([]);
    expect(of(TOPICS.autonomyDriftDetected)).toEqual([]);
    expect(await admin.read('cs.exec.support.refund', 'kill-switch')).toBe('on');
    controls.apply({ flag: 'cs.exec.support.refund', kind: 'kill-switch', value: 'on', version: 'raised-later' }); // the rest
    controls.markCaughtUp();
    await watcher.poll();
    expect(of(TOPICS.autonomyDriftDetected)).toEqual([]);
    expect(await admin.read('cs.exec.support.refund', 'kill-switch')).toBe('on');
    expect(of(TOPICS.autonomyChanged).map((e) => e.data.flag)).toEqual(['cs.autonomy.support.refund', 'cs.autonomy.default']); // the others adopted
  });

  it('a flag created directly in Unleash after the first look is measured against what its absence meant: looser is set back', async () => {
    const { watcher, admin, controls, of } = await setup();
    await watcher.poll();
    // ticket.tag had no kill switch (unreadable: prohibited) and no autonomy flag (the default's level caps it).
    await admin.write('cs.exec.ticket.tag', 'kill-switch', 'on', 'mallory');
    await admin.write('cs.autonomy.ticket.tag', 'autonomy', 'review-risky', 'oncall');
    await watcher.poll();
    expect(of(TOPICS.autonomyDriftDetected).map((e) => [e.data.flag, e.data.observed, e.data.outcome])).toEqual([
      ['cs.exec.ticket.tag', 'on', 'reverted'],
      ['cs.autonomy.ticket.tag', 'review-risky', 'accepted'],
    ]);
    expect(await admin.read('cs.exec.ticket.tag', 'kill-switch')).toBe('off');
    expect(controls.get('cs.exec.ticket.tag')?.value).toBe('off');
    expect(controls.get('cs.autonomy.ticket.tag')?.value).toBe('review-risky');
  });

  it('a type a contract change adds starts with its kill switch off, approved: a switch typed in later is set back (red team, 2026-12-07)', async () => {
    const { watcher, admin, controls, of, types } = await setup();
    await watcher.poll();
    types.push('support.reply'); // a contract change applied while the watcher runs
    await watcher.poll();
    expect(controls.get('cs.exec.support.reply')?.value).toBe('off');
    expect(await admin.read('cs.exec.support.reply', 'kill-switch')).toBe('off');
    expect(of(TOPICS.autonomyChanged).at(-1)?.data).toMatchObject({
      flag: 'cs.exec.support.reply',
      value: 'off',
      reason: expect.stringMatching(/was added to the contract \(v3\): its kill switch starts off/),
    });
    // Typed on by hand (while the home was stopped, or now): a raise nobody approved, set back.
    await admin.write('cs.exec.support.reply', 'kill-switch', 'on', 'mallory');
    await watcher.poll();
    expect(of(TOPICS.autonomyDriftDetected).map((e) => [e.data.flag, e.data.observed, e.data.outcome])).toEqual([['cs.exec.support.reply', 'on', 'reverted']]);
    expect(await admin.read('cs.exec.support.reply', 'kill-switch')).toBe('off');
  });

  it('a first look that has to wait (a change of ours in flight) still reads every change made meanwhile, and adopts none of them', async () => {
    const { watcher, admin, controls, inFlight, of } = await setup({ replaying: true });
    controls.apply({ flag: 'cs.autonomy.support.refund', kind: 'autonomy', value: 'autonomous', version: 'approved' }); // replayed
    controls.markCaughtUp();
    inFlight.add('cs.autonomy.support.refund');
    await watcher.poll(); // waits for the change in flight
    inFlight.delete('cs.autonomy.support.refund');
    // ticket.tag had no kill switch (prohibited): one made now, while the first look waits, is no approved state.
    await admin.write('cs.exec.ticket.tag', 'kill-switch', 'on', 'mallory');
    await watcher.poll();
    expect(of(TOPICS.autonomyDriftDetected).map((e) => e.data)).toEqual([
      expect.objectContaining({
        flag: 'cs.exec.ticket.tag',
        observed: 'on',
        outcome: 'reverted',
        unleashEvents: [expect.objectContaining({ createdBy: 'mallory' })],
      }),
    ]);
    expect(
      of(TOPICS.autonomyChanged)
        .filter((e) => e.data.flag === 'cs.exec.ticket.tag')
        .map((e) => e.data.value),
    ).toEqual(['off']);
    expect(controls.get('cs.exec.ticket.tag')?.value).toBe('off');
    expect(await admin.read('cs.exec.ticket.tag', 'kill-switch')).toBe('off');
  });

  it("a difference its first look finds (made while no instance watched) names the flag's latest changes", async () => {
    const { watcher, admin, controls, of } = await setup({ replaying: true });
    controls.apply({ flag: 'cs.exec.support.refund', kind: 'kill-switch', value: 'off', version: 'approved-off' }); // replayed
    controls.markCaughtUp();
    await admin.write('cs.exec.support.refund', 'kill-switch', 'on', 'mallory'); // before this instance looked
    await watcher.poll();
    expect(of(TOPICS.autonomyDriftDetected).map((e) => e.data)).toEqual([
      expect.objectContaining({
        flag: 'cs.exec.support.refund',
        approved: 'off',
        observed: 'on',
        outcome: 'reverted',
        unleashEvents: [expect.objectContaining({ createdBy: 'seed' }), expect.objectContaining({ createdBy: 'mallory' })],
        reason: expect.stringContaining('mallory'),
      }),
    ]);
    expect(await admin.read('cs.exec.support.refund', 'kill-switch')).toBe('off');
  });

  it('a read that cannot reach back to its cursor compares every governed flag: no change it could not read stands', async () => {
    class LossyAdmin extends InMemoryFlagAdmin {
      lossy = false;
      override async changesSince(cursor: string | undefined, wanted: (flag: string) => boolean) {
        const read = await super.changesSince(cursor, wanted);
        // As Unleash after more changes than one read takes: the newest ones only (here none of ours), not whole.
        return this.lossy ? { ...read, changes: [], complete: false } : read;
      }
    }
    const lossy = new LossyAdmin();
    const { watcher, admin, of } = await setup({ flagAdmin: lossy, noDefault: true });
    await admin.write('cs.autonomy.default', 'autonomy', 'review-all', 'seed');
    await watcher.poll(); // the first look: the kill switch, the refund's level and the default adopted
    lossy.lossy = true;
    await admin.write('cs.autonomy.default', 'autonomy', 'autonomous', 'mallory'); // controlled, raised
    await admin.write('cs.exec.ticket.tag', 'kill-switch', 'on', 'mallory'); // created, looser than its absence
    await admin.write('cs.autonomy.support.refund', 'autonomy', 'off', 'oncall'); // controlled, lowered
    await watcher.poll();
    // Controlled flags first (in the order they were adopted), then the governed flags that exist without a state.
    expect(of(TOPICS.autonomyDriftDetected).map((e) => [e.data.flag, e.data.outcome, e.data.reason])).toEqual([
      ['cs.autonomy.support.refund', 'accepted', expect.stringContaining('oncall')],
      ['cs.autonomy.default', 'reverted', expect.stringContaining('mallory')],
      ['cs.exec.ticket.tag', 'reverted', expect.stringContaining('mallory')],
    ]);
    expect(await admin.read('cs.autonomy.default', 'autonomy')).toBe('review-all');
    expect(await admin.read('cs.exec.ticket.tag', 'kill-switch')).toBe('off');
  });

  it('a default created directly in Unleash when there was none is no looser than review-all', async () => {
    const { watcher, admin, controls, of } = await setup({ noDefault: true });
    await watcher.poll();
    await admin.write('cs.autonomy.default', 'autonomy', 'autonomous', 'mallory');
    await watcher.poll();
    expect(of(TOPICS.autonomyDriftDetected).map((e) => [e.data.flag, e.data.outcome])).toEqual([['cs.autonomy.default', 'reverted']]);
    expect(await admin.read('cs.autonomy.default', 'autonomy')).toBe('review-all');
    expect(controls.get('cs.autonomy.default')?.value).toBe('review-all');
  });
});
