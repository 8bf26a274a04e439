import { execFileSync } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import pino from 'pino';
import { KafkaBus } from '@countersign/bus';
import { CountersignClient, UnavailableError } from '@countersign/client';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { createRootCa, issueCertificate, loadIssuingCa } from '@countersign/pki';
import { actionTypesOf, DEFAULT_CONTRACT_PATH } from '@countersign/policy-engine';
import { call, eventually, fetchTrusting, REDIS_SERVICES, redisTlsUrl, stackEnv, startDistributed, startWebhookSink, uniqueName } from '@countersign/testing';
import { DRILLS } from '../../tools/drill/drills';
import { certificateOf, DrillTarget } from '../../tools/drill/target';

// real: Apache Kafka's SSL listener with client certificates and ACLs, Redis's TLS port (client certificates required), PostgreSQL, Unleash (infra/stack.sh), the
// project's PKI, the five services as separate processes; fake: the target system (a local webhook sink).
jest.setTimeout(240_000);

type Health = TopicMap[typeof TOPICS.trustHealthChanged];

const merge = (n: string) => ({
  actionType: 'code.merge',
  target: `repo:docs#draft-${n}`,
  parameters: { pullRequest: 88 },
  proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' },
  confidence: 0.97,
  tenant: 'acme',
  region: 'eu-west',
  context: {},
});

/** The local and remote ports of the established TCP connections of `pid` (from `ss`, as root). */
function connectionsOf(pid: number): number[] {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes(`pid=${pid},`))
    .map((line) => Number(/127\.0\.0\.1:(\d+)\s+users:/.exec(line)?.[1] ?? /\s127\.0\.0\.1:(\d+)\s*$/.exec(line.split('users:')[0].trim())?.[1]));
}

/** A plain-HTTP GET: the status it is answered with, or how the connection failed. */
function plainHttp(url: string): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { timeout: 5_000 }, (res) => {
      res.resume();
      resolve({ status: res.statusCode });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', (e: Error & { code?: string }) => resolve({ error: e.code ?? e.message }));
    req.end();
  });
}

/** The subject's common name of the certificate a TLS server on 127.0.0.1:port presents, verified against `ca`. */
function servedCommonName(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', minVersion: 'TLSv1.2' }, () => {
      const cn = String(socket.getPeerCertificate().subject?.CN);
      socket.end();
      resolve(cn);
    });
    socket.once('error', reject);
  });
}

describe('the trust stack on the real stack: Kafka over mTLS with ACLs, certificates watched', () => {
  const ns = uniqueName('trust_stack');
  const dir = join(__dirname, '../../.stack/e2e', ns);
  const verdicts: Health[] = [];
  let sink: Awaited<ReturnType<typeof startWebhookSink>>;
  let stack: Awaited<ReturnType<typeof startDistributed>>;
  let bus: KafkaBus;

  const submit = async (body: unknown) => {
    const res = await call('POST', `${stack.urls.orchestrator}/v1/proposals`, body, stack.tokens.agent);
    expect(res.status).toBe(202);
    return res.body.actionId as string;
  };
  const view = async (id: string) => (await call('GET', `${stack.urls.orchestrator}/v1/actions/${id}`, undefined, stack.tokens.agent)).body;

  beforeAll(async () => {
    sink = await startWebhookSink();
    stack = await startDistributed({ namespace: ns, webhookUrl: sink.url, actionTypes: actionTypesOf(DEFAULT_CONTRACT_PATH), dir });
    // The test's own client: the plaintext listener's anonymous super user (the operator's view).
    bus = new KafkaBus({ ...stackEnv().kafkaBus, clientId: 'e2e-trust-stack', namespace: ns, logger: pino({ level: 'silent' }) });
    await bus.connect();
    await bus.subscribe({
      group: 'e2e.trust-watch',
      handlers: { [TOPICS.trustHealthChanged]: async (e: Health) => void verdicts.push(e) },
    });
  }, 300_000);

  afterAll(async () => {
    await bus?.deleteNamespaceTopics().catch(() => undefined);
    await bus?.close();
    await stack?.stop();
    await stack?.dropDatabase();
    await sink?.close();
  });

  it('every service talks to Kafka over the SSL listener and to Redis over its TLS port only, and an autonomous action runs end to end that way', async () => {
    const id = await submit(merge('before'));
    await eventually(async () => expect((await view(id)).status).toBe('executed'), 60_000, 100);
    const ssl = Number(new URL(`kafka://${stackEnv().kafkaSslBrokers.split(',')[0]}`).port);
    const plain = Number(new URL(`kafka://${stackEnv().kafkaBrokers.split(',')[0]}`).port);
    for (const svc of stack.running) {
      const ports = connectionsOf(svc.process.pid!);
      expect({ service: svc.name, ssl: ports.includes(ssl) }).toEqual({ service: svc.name, ssl: true });
      expect({ service: svc.name, plaintext: ports.includes(plain) }).toEqual({ service: svc.name, plaintext: false });
    }
    // Redis: the services that keep anything there hold connections to its TLS port (where a client certificate is
    // required) and none to its plaintext port; the others none at all.
    const redisTls = Number(new URL(redisTlsUrl()).port);
    const redisPlain = Number(new URL(stackEnv().redisUrl).port);
    expect(REDIS_SERVICES.length).toBeGreaterThan(0);
    for (const svc of stack.running) {
      const ports = connectionsOf(svc.process.pid!);
      const usesRedis = (REDIS_SERVICES as readonly string[]).includes(svc.name);
      expect({ service: svc.name, redisTls: ports.includes(redisTls), redisPlaintext: ports.includes(redisPlain) }).toEqual({
        service: svc.name,
        redisTls: usesRedis,
        redisPlaintext: false,
      });
    }
  });

  it('every service API is HTTPS only: its own certificate from the stack PKI, plain HTTP unanswered, other roots refused', async () => {
    const stranger = await createRootCa('not-the-stack', { notAfter: new Date(Date.now() + 3600_000) });
    const untrusting = fetchTrusting({ ca: stranger.certPem });
    for (const svc of stack.running) {
      const url = new URL(svc.url);
      expect(url.protocol).toBe('https:');
      // The certificate is the service's own (CN=<service>), chained to the stack's root.
      await expect(servedCommonName(Number(url.port), stack.ca)).resolves.toBe(svc.name);
      // A trusting client is answered…
      expect((await call('GET', `${svc.url}/healthz`)).status).toBe(200);
      // …plain HTTP gets no HTTP answer at all…
      const plain = await plainHttp(`http://127.0.0.1:${url.port}/healthz`);
      expect({ service: svc.name, status: plain.status, refused: Boolean(plain.error) }).toEqual({ service: svc.name, status: undefined, refused: true });
      // …and a client that trusts another root refuses the certificate.
      await expect(untrusting(`${svc.url}/healthz`)).rejects.toThrow(/certificate/i);
    }
    // The agent SDK over HTTPS: trusting the stack's root it proposes and follows an action to its end…
    const sdk = new CountersignClient({ baseUrl: stack.urls.orchestrator, token: stack.tokens.agent, tls: { ca: stack.ca } });
    const { actionId } = await sdk.propose(merge('sdk'));
    await expect(sdk.awaitDecision(actionId, { timeoutMs: 60_000, waitFor: 'final' })).resolves.toMatchObject({ status: 'executed' });
    // …and with the system's roots only it never reaches the service.
    const untrusted = new CountersignClient({ baseUrl: stack.urls.orchestrator, token: stack.tokens.agent, retries: 0 });
    await expect(untrusted.status(actionId)).rejects.toBeInstanceOf(UnavailableError);
  });

  it('an expired Kafka certificate makes trust unhealthy within a check: trust-sensitive work stops; a renewed one restores it', async () => {
    await eventually(() => expect(verdicts.at(-1)?.data.health).toBe('healthy'), 60_000);
    expect(
      verdicts
        .at(-1)!
        .data.findings.filter((f) => f.kind === 'certificate')
        .map((f) => [f.owner, f.status]),
    ).toEqual(
      expect.arrayContaining([
        ['executor', 'ok'],
        ['orchestrator', 'ok'],
      ]),
    );
    // The executor's certificate file, replaced (as a failed renewal would leave it) by one that has expired.
    const ca = await loadIssuingCa(stackEnv().pkiDir);
    const certFile = JSON.parse(stack.env.TRUST_CERT_FILES).find((c: { owner: string }) => c.owner === 'executor').file as string;
    const replace = (pem: string) => {
      writeFileSync(`${certFile}.next`, pem);
      renameSync(`${certFile}.next`, certFile);
    };
    const expired = await issueCertificate(ca, 'executor', 'client', {
      notBefore: new Date(Date.now() - 2 * 3600_000),
      notAfter: new Date(Date.now() - 60_000),
    });
    replace(expired.chainPem);
    await eventually(() => expect(verdicts.at(-1)?.data).toMatchObject({ health: 'unhealthy' }), 60_000);
    const bad = verdicts.at(-1)!.data.findings.find((f) => f.kind === 'certificate' && f.owner === 'executor');
    expect(bad).toMatchObject({ status: 'expired' });
    // The policy engine and the executor stay ready (they fail closed per action), and /readyz says why under
    // `signals.trust` (red team, 2026-12-07: "ready" read as "nothing noticed").
    for (const service of ['policy-engine', 'executor'] as const)
      await eventually(async () =>
        expect(await call('GET', `${stack.urls[service]}/readyz`)).toMatchObject({
          status: 200,
          body: { status: 'ready', signals: { trust: expect.stringMatching(/^unhealthy: .*executor/) } },
        }),
      );
    // Trust-sensitive autonomy fails closed (and says the agent may try again later), nothing reaches the target.
    await eventually(async () => {
      const id = await submit(merge(`during-${Date.now()}`));
      const v = await eventually(async () => {
        const got = await view(id);
        expect(got.status).toBe('prohibited');
        return got;
      }, 30_000);
      expect(sink.effects(id)).toBe(0);
      expect(JSON.stringify(v)).toMatch(/trust/i);
    }, 60_000);
    // Renewed: healthy again without a restart, and the same kind of action runs.
    const renewed = await issueCertificate(ca, 'executor', 'client', { notAfter: new Date(Date.now() + 12 * 3600_000) });
    replace(renewed.chainPem);
    await eventually(() => expect(verdicts.at(-1)?.data).toMatchObject({ health: 'healthy' }), 60_000);
    for (const service of ['policy-engine', 'executor'] as const)
      await eventually(async () => expect((await call('GET', `${stack.urls[service]}/readyz`)).body).toMatchObject({ signals: { trust: 'ok' } }));
    await eventually(async () => {
      const id = await submit(merge(`after-${Date.now()}`));
      await eventually(async () => expect((await view(id)).status).toBe('executed'), 30_000, 100);
    }, 60_000);
  });

  it('countersign drill cert-failure passes against the running system and prints its timings', async () => {
    const file = (JSON.parse(stack.env.TRUST_CERT_FILES) as Array<{ owner: string; purpose: string; file: string }>).find(
      (c) => c.owner === 'executor' && c.purpose === 'kafka-client',
    )!.file;
    const target: DrillTarget = {
      mode: 'distributed',
      urls: { orchestrator: stack.urls.orchestrator, reviewQueue: stack.urls['review-queue'], policyEngine: stack.urls['policy-engine'] },
      tokens: stack.tokens,
      ca: stack.ca,
      certificate: certificateOf({ owner: 'executor', file, pkiDir: stackEnv().pkiDir, checkMs: Number(stack.env.TRUST_CHECK_MS) }),
    };
    const report = await DRILLS['cert-failure']({ target, waitMs: 30_000 });
    process.stdout.write(report.text());
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.text()).toMatch(/failed closed: a merge was prohibited \(after \d+\.\d+ s\)/);
    expect(report.passed()).toBe(true);
  });
});
