import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { generateSigningKey, verifyEventSeal } from '@countersign/approval';
import { InMemoryBus } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { generateKey, verifyKeyEntry } from '@countersign/keys';
import type { Logger } from '@countersign/logging';
import { METRIC_DEFINITIONS, Metrics, parsePrometheusText } from '@countersign/metrics';
import { TrustHealthState } from '@countersign/nest';
import { eventually } from '@countersign/testing';
import { InMemoryLeaderLease } from '../degradation/in-memory-leader-lease';
import { KeyFileSource, WatchedKeyFile } from './key-file.source';
import { TrustMetrics } from './trust-metrics';
import { TrustMonitor, TrustMonitorSettings } from './trust-monitor.service';

// real: the trust monitor, its key-file sources reading files in a temporary directory with the services' loaders,
// the in-memory bus and lease, the trust health state; fake: the clock (the keys' windows are around it) and the
// logger (records the alert lines).

const DAY = 24 * 3600_000;
/** The review queue's review-decision key: it seals every verdict (docs/adr/0039). */
const signer = generateSigningKey('review-queue-test');

describe('the trust monitor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'countersign-trust-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let now = Date.now();
  const at = (ms: number) => new Date(now + ms);

  /** Writes a signing keys file listing `keys` (each with its PEM file) and a verify keys file with their public halves. */
  const writeKeys = (name: string, windows: Array<{ keyId: string; from: number; to: number }>) => {
    const made = windows.map((w) => ({ w, k: generateKey(w.keyId, { notBefore: at(w.from), notAfter: at(w.to) }) }));
    const signing = made.map(({ w, k }) => {
      const pem = join(dir, `${name}-${w.keyId}.pem`);
      writeFileSync(pem, k.privateKeyPem);
      return { keyId: w.keyId, privateKeyFile: pem, notBefore: at(w.from).toISOString(), notAfter: at(w.to).toISOString() };
    });
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(signing));
    writeFileSync(join(dir, `${name}.verify.json`), JSON.stringify(made.map(({ k }) => verifyKeyEntry(k.key))));
  };
  const watched = (name: string): WatchedKeyFile[] => [
    { kind: 'signing-key', owner: 'review-queue', purpose: 'approval-signing', file: join(dir, `${name}.json`) },
    { kind: 'verify-key', owner: 'executor', purpose: 'approval-verify', file: join(dir, `${name}.verify.json`) },
  ];

  function setup(files: WatchedKeyFile[], lease = new InMemoryLeaderLease(() => now), instanceId = 'rq-1', sealWith = signer.signing) {
    const bus = new InMemoryBus({ source: 'review-queue', logger: pino({ level: 'silent' }) });
    const state = new TrustHealthState(() => now);
    state.caughtUp();
    const alerts: Array<Record<string, unknown>> = [];
    const logger = {
      error: (o: Record<string, unknown>) => void alerts.push(o),
      warn: () => undefined,
      info: () => undefined,
      debug: () => undefined,
    } as unknown as Logger;
    const published: TopicMap[typeof TOPICS.trustHealthChanged][] = [];
    void bus.subscribe({ group: 'test.watch', handlers: { [TOPICS.trustHealthChanged]: async (e) => void published.push(e) } });
    const settings: TrustMonitorSettings = { checkMs: 1_000, heartbeatMs: 30_000, leaseTtlMs: 5_000, instanceId, now: () => now };
    const monitor = new TrustMonitor(
      bus,
      lease,
      state,
      files.map((f) => new KeyFileSource(f, 7 * DAY)),
      settings,
      sealWith,
      logger,
    );
    return { bus, state, monitor, alerts, published };
  }

  it('publishes healthy, turns unhealthy at the first check after a key expires (with an alert), and healthy again after a rotated file', async () => {
    writeKeys('a', [{ keyId: 'k1', from: -DAY, to: 30 * DAY }]);
    const { state, monitor, alerts } = setup(watched('a'));
    await monitor.tick();
    expect(state.healthy()).toBe(true);
    // Sealed with the review queue's key, and the seal names this very verdict.
    expect(verifyEventSeal(state.latestEvent()!, [signer.verifyKey])).toEqual({ ok: true });
    expect(verifyEventSeal(state.latestEvent()!, [generateSigningKey('review-queue-test').verifyKey])).toMatchObject({ ok: false });
    expect(state.latestEvent()!.data).toMatchObject({
      health: 'healthy',
      findings: [
        { status: 'ok', keyId: 'k1' },
        { status: 'ok', keyId: 'k1' },
      ],
    });

    // The file is swapped for one whose only key expired a second ago: one check later, unhealthy.
    writeKeys('a', [{ keyId: 'k0', from: -2 * DAY, to: -1_000 }]);
    now += 1_000;
    await monitor.tick();
    expect(state.healthy()).toBe(false);
    expect(state.latestEvent()!.data).toMatchObject({ health: 'unhealthy', previous: 'healthy' });
    expect(state.latestEvent()!.data.findings.map((f) => [f.owner, f.status, f.keyId])).toEqual([
      ['review-queue', 'expired', 'k0'],
      ['executor', 'expired', 'k0'],
    ]);
    expect(alerts).toEqual([expect.objectContaining({ alert: 'trust-stack', health: 'unhealthy', previous: 'healthy' })]);

    // Rotation is a new file content: no restart.
    writeKeys('a', [{ keyId: 'k2', from: -1_000, to: 60 * DAY }]);
    now += 1_000;
    await monitor.tick();
    expect(state.healthy()).toBe(true);
    expect(state.latestEvent()!.data).toMatchObject({ health: 'healthy', previous: 'unhealthy', findings: [{ keyId: 'k2' }, { keyId: 'k2' }] });
  });

  it('says rotation-due (degraded, still trusted) when the current key ends within the warning window and no successor is listed', async () => {
    writeKeys('b', [{ keyId: 'k1', from: -DAY, to: 2 * DAY }]);
    const { state, monitor, alerts } = setup(watched('b'));
    await monitor.tick();
    expect(state.latestEvent()!.data.health).toBe('degraded');
    expect(state.latestEvent()!.data.findings[0]).toMatchObject({ status: 'rotation-due', keyId: 'k1' });
    expect(state.healthy()).toBe(true);
    expect(alerts).toEqual([expect.objectContaining({ alert: 'trust-stack', health: 'degraded' })]);

    // An overlapping successor listed beside it: rotation is in hand.
    writeKeys('b', [
      { keyId: 'k1', from: -DAY, to: 2 * DAY },
      { keyId: 'k2', from: DAY, to: 40 * DAY },
    ]);
    now += 1_000;
    await monitor.tick();
    expect(state.latestEvent()!.data).toMatchObject({ health: 'healthy', findings: [{ status: 'ok', keyId: 'k1' }, { status: 'ok' }] });
  });

  it("exposes each key use's expiry and whether its rotation is overdue from the verdict in force, as a scrape shows them", async () => {
    writeKeys('m', [{ keyId: 'k1', from: -DAY, to: 30 * DAY }]);
    const first = (now + 30 * DAY) / 1000;
    const { state, monitor } = setup(watched('m'));
    const metrics = new Metrics('review-queue', METRIC_DEFINITIONS, { defaultMetrics: false });
    const exposed = new TrustMetrics(metrics, state);
    exposed.onModuleInit();
    const scrape = async (name: string) =>
      Object.fromEntries(
        parsePrometheusText(await metrics.render())
          .filter((s) => s.name === name)
          .map((s) => [s.labels.key_use ?? s.labels.certificate, s.value]),
      );
    // No verdict yet: nothing claimed.
    expect(await scrape('countersign_key_expiry_timestamp_seconds')).toEqual({});
    await monitor.tick();
    expect(await scrape('countersign_key_expiry_timestamp_seconds')).toEqual({ 'approval-signing': first, 'approval-verify': first });
    expect(await scrape('countersign_key_rotation_overdue')).toEqual({ 'approval-signing': 0, 'approval-verify': 0 });
    // The key now ends within the warning window and nothing takes over: overdue, with the nearer end.
    writeKeys('m', [{ keyId: 'k1', from: -DAY, to: 2 * DAY }]);
    const second = (now + 2 * DAY) / 1000;
    now += 1_000;
    await monitor.tick();
    expect(await scrape('countersign_key_expiry_timestamp_seconds')).toEqual({ 'approval-signing': second, 'approval-verify': second });
    expect(await scrape('countersign_key_rotation_overdue')).toEqual({ 'approval-signing': 1, 'approval-verify': 1 });
    expect(await scrape('countersign_certificate_expiry_timestamp_seconds')).toEqual({});
    exposed.onModuleDestroy();
  });

  it('reports a missing file and an unreadable one as unhealthy, naming the file and the field', async () => {
    writeFileSync(join(dir, 'broken.json'), JSON.stringify([{ keyId: 'k', privateKeyFile: join(dir, 'nope.pem'), notBefore: 'soon', notAfter: 'later' }]));
    const { state, monitor } = setup([
      { kind: 'signing-key', owner: 'audit-writer', purpose: 'audit-tree-head', file: join(dir, 'absent.json') },
      { kind: 'signing-key', owner: 'review-queue', purpose: 'approval-signing', file: join(dir, 'broken.json') },
    ]);
    await monitor.tick();
    expect(state.healthy()).toBe(false);
    expect(state.latestEvent()!.data.findings).toEqual([
      expect.objectContaining({ owner: 'audit-writer', status: 'missing', reason: expect.stringContaining('absent.json: no such file') }),
      expect.objectContaining({ owner: 'review-queue', status: 'unreadable', reason: expect.stringMatching(/broken\.json: 0\.notBefore: an ISO 8601/) }),
    ]);
  });

  it('publishes an unchanged verdict only as a heartbeat, and only the lease holder publishes', async () => {
    writeKeys('c', [{ keyId: 'k1', from: -DAY, to: 30 * DAY }]);
    const lease = new InMemoryLeaderLease(() => now);
    const one = setup(watched('c'), lease, 'rq-1');
    const two = setup(watched('c'), lease, 'rq-2');
    await one.monitor.tick();
    await two.monitor.tick();
    expect([one.monitor.isLeader(), two.monitor.isLeader()]).toEqual([true, false]);
    now += 1_000;
    await one.monitor.tick();
    await eventually(() => expect(one.published).toHaveLength(1));
    now += 30_000;
    await one.monitor.tick();
    await eventually(() => expect(one.published).toHaveLength(2));
    expect(two.published).toHaveLength(0);
  });

  it('with its own signing key expired, it cannot seal: it publishes "unhealthy" unsealed (only tightens) and never "healthy"', async () => {
    writeKeys('d', [{ keyId: 'k1', from: -DAY, to: 30 * DAY }]);
    const expired = generateSigningKey('review-queue-old', { notBefore: new Date(now - 2 * DAY), notAfter: new Date(now - DAY) });
    const { monitor, published } = setup(watched('d'), undefined, 'rq-1', expired.signing);
    // Healthy files, but nothing can seal the verdict: nothing is published (fail closed: followers go stale, unknown).
    await monitor.tick();
    await new Promise((r) => setImmediate(r));
    expect(published).toHaveLength(0);
    writeKeys('d', [{ keyId: 'k0', from: -2 * DAY, to: -1_000 }]);
    now += 1_000;
    await monitor.tick();
    await eventually(() => expect(published).toHaveLength(1));
    expect(published[0].data).toMatchObject({ health: 'unhealthy' });
    expect(published[0].data.seal).toBeUndefined();
  });
});
