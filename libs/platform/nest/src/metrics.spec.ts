import { Module } from '@nestjs/common';
import pino from 'pino';
import { InMemoryBus } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { createMetrics, METRIC_DEFINITIONS, Metrics, parsePrometheusText, sampleSum } from '@countersign/metrics';
import { createHash } from 'node:crypto';
import { TokenRegistry } from './auth';
import { DegradationModeFollower, DegradationModeState } from './degradation-mode';
import { PlatformModule, serve } from './platform.module';
import { TrustHealthFollower, TrustHealthState } from './trust-health';

// real: the platform module's /metrics route, its guard and rejection filter in a Nest HTTP app, prom-client, the
// in-memory bus (where refusals are audited); fake: the tokens (made here).
const logger = pino({ level: 'silent' });
const digest = (t: string) => createHash('sha256').update(t).digest('hex');

describe('GET /metrics', () => {
  const bus = new InMemoryBus({ logger });
  const audited: TopicMap[typeof TOPICS.requestRejected][] = [];
  const metrics = createMetrics('test-service');
  let url: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    await bus.subscribe({ group: 'test.audit', handlers: { [TOPICS.requestRejected]: async (e) => void audited.push(e) } });
    const tokens = new TokenRegistry([
      { principal: 'prometheus', kind: 'service', roles: ['metrics'], tokenSha256: digest('scrape-token') },
      { principal: 'support-copilot', kind: 'agent', roles: ['agent'], tokenSha256: digest('agent-token') },
    ]);
    @Module({ imports: [PlatformModule.forRoot({ service: 'test-service', bus, logger, tokens, metrics })] })
    class Root {}
    const { app, port } = await serve(Root, logger, { host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${port}/metrics`;
    close = () => app.close();
  });
  afterAll(async () => {
    await close();
    await bus.close();
  });

  it('answers a scrape token with every defined metric in the Prometheus text format', async () => {
    metrics.counter('countersign_execution_outcomes_total').inc({ outcome: 'unknown' });
    const res = await fetch(url, { headers: { Authorization: 'Bearer scrape-token' } });
    expect(res.status).toBe(200);
    // Express orders the parameters its own way; Prometheus reads the media type and the version.
    expect(res.headers.get('content-type')).toMatch(/^text\/plain;/);
    expect(res.headers.get('content-type')).toContain('version=0.0.4');
    const text = await res.text();
    // Every metric with labels; one without (a control state's gauge) appears once this process follows that state.
    for (const d of METRIC_DEFINITIONS.filter((d) => d.labels.length)) expect(text).toContain(`# TYPE ${d.name} ${d.type}`);
    expect(text).not.toContain('countersign_trust_health');
    const samples = parsePrometheusText(text);
    expect(sampleSum(samples, 'countersign_execution_outcomes_total', { outcome: 'unknown', service: 'test-service' })).toBe(1);
    expect(samples.some((s) => s.name === 'process_resident_memory_bytes')).toBe(true);
  });

  it('refuses a scrape without a token (401) or with a token lacking the metrics role (403), and audits both', async () => {
    const anonymous = await fetch(url);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).not.toContain('countersign_');
    const agent = await fetch(url, { headers: { Authorization: 'Bearer agent-token' } });
    expect(agent.status).toBe(403);
    expect(((await agent.json()) as { message: string }).message).toBe('requires one of the roles: metrics');
    // The audit is emitted after the answer: wait for both events (no @countersign/testing here: it depends on this lib).
    const seen = () => audited.map((e) => `${e.data.path} ${e.data.status} ${e.data.principal}`);
    for (let deadline = Date.now() + 10_000; seen().length < 2 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 20));
    expect(seen().sort()).toEqual(['/metrics 401 null', '/metrics 403 support-copilot']);
  });
});

describe('countersign_http_request_seconds', () => {
  it('times each answer by its route as declared, method and code; a path no route serves is one series, `unmatched`', async () => {
    const bus = new InMemoryBus({ logger });
    const metrics = new Metrics('test-service', METRIC_DEFINITIONS, { defaultMetrics: false });
    const tokens = new TokenRegistry([{ principal: 'prometheus', kind: 'service', roles: ['metrics'], tokenSha256: digest('scrape-token') }]);
    @Module({ imports: [PlatformModule.forRoot({ service: 'test-service', bus, logger, tokens, metrics })] })
    class Root {}
    const { app, port } = await serve(Root, logger, { host: '127.0.0.1', port: 0 });
    try {
      const base = `http://127.0.0.1:${port}`;
      const scrape = { headers: { Authorization: 'Bearer scrape-token' } };
      expect((await fetch(`${base}/metrics`, scrape)).status).toBe(200);
      expect((await fetch(`${base}/metrics`)).status).toBe(401);
      for (const path of ['/v1/actions/a-1', '/v1/actions/a-2?x=1', '/wp-admin/4111111111111111'])
        expect((await fetch(`${base}${path}`, scrape)).status).toBe(404);
      expect((await fetch(`${base}/metrics`, { ...scrape, method: 'PROPFIND' })).status).toBeGreaterThanOrEqual(400);
      // Observed as each answer is done: the close of the last one may follow its arrival at the client by a moment.
      const count = (labels: Record<string, string>) => sampleSum(parsePrometheusText(text), 'countersign_http_request_seconds_count', labels);
      let text = '';
      for (let deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
        text = await metrics.render();
        if (count({ route: 'unmatched' }) >= 4) break;
      }
      expect(count({ route: '/metrics', method: 'GET', code: '200' })).toBe(1);
      expect(count({ route: '/metrics', method: 'GET', code: '401' })).toBe(1);
      expect(count({ route: 'unmatched', method: 'GET', code: '404' })).toBe(3);
      expect(count({ route: 'unmatched', method: 'other' })).toBe(1);
      // No path a caller sent is a label value: not an id, not a card number.
      expect(text).not.toMatch(/a-1|a-2|wp-admin|4111/);
      const series = parsePrometheusText(text).filter((x) => x.name === 'countersign_http_request_seconds_sum');
      expect(series.every((x) => x.value >= 0 && x.value < 10)).toBe(true);
    } finally {
      await app.close();
      await bus.close();
    }
  });
});

describe('control-state gauges', () => {
  const value = async (metrics: Metrics, name: string) => parsePrometheusText(await metrics.render()).find((s) => s.name === name)?.value;

  it('show the degradation mode the follower applies, by rank', async () => {
    const metrics = new Metrics('executor', METRIC_DEFINITIONS, { defaultMetrics: false });
    const state = new DegradationModeState();
    new DegradationModeFollower(state, 'executor.degradation-mode.test', { verify: [] }, logger, metrics);
    const changed = (mode: 'normal' | 'elevated' | 'constrained' | 'halted', id: string) =>
      ({ id, time: new Date().toISOString(), data: { mode } }) as unknown as Parameters<DegradationModeState['apply']>[0];
    state.apply(changed('constrained', 'e1'));
    state.caughtUp();
    expect(await value(metrics, 'countersign_degradation_mode')).toBe(2);
    state.apply(changed('halted', 'e2'));
    expect(await value(metrics, 'countersign_degradation_mode')).toBe(3);
  });

  it('show the trust health as 0 while no monitor vouched for the keys, and nothing before the topic is read', async () => {
    const metrics = new Metrics('policy-engine', METRIC_DEFINITIONS, { defaultMetrics: false });
    const state = new TrustHealthState();
    new TrustHealthFollower(state, 'policy-engine.trust-health.test', { verify: [] }, logger, metrics);
    expect(await value(metrics, 'countersign_trust_health')).toBeUndefined();
    state.caughtUp();
    expect(await value(metrics, 'countersign_trust_health')).toBe(0);
  });
});
