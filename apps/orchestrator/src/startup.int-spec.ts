import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  call,
  createTestDatabase,
  eventually,
  freePort,
  startServiceProcess,
  startTcpProxy,
  stackEnv,
  uniqueName,
  writeApprovalKeys,
  writeDecisionKeys,
  writeOutcomeKeys,
  writeTokens,
} from '@countersign/testing';

// real: Apache Kafka and PostgreSQL (infra/stack.sh), the orchestrator as its own process started by its main; fake: the
// network between the orchestrator and PostgreSQL (a TCP proxy the test cuts, so the shared PostgreSQL stays up).
jest.setTimeout(180_000);

describe('a service started while PostgreSQL is down waits for it instead of exiting', () => {
  it('stays up (not serving yet), then becomes ready once PostgreSQL answers', async () => {
    const ns = uniqueName('startup');
    const dir = join(__dirname, '../../../.stack/int', ns);
    const db = await createTestDatabase('startup');
    const url = new URL(db.url);
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) });
    proxy.cut();
    const { tokens, tokensFile } = writeTokens(dir);
    const env = stackEnv();
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    const port = await freePort();
    // Started into the outage: resolves once /readyz answers 200, which it cannot before PostgreSQL is back.
    const starting = startServiceProcess(
      'orchestrator',
      {
        ...env.kafkaServiceEnv,
        KAFKA_NAMESPACE: ns,
        AUTH_TOKENS_FILE: tokensFile,
        APPROVAL_VERIFY_KEYS_FILE: writeApprovalKeys(join(dir, 'keys')).verifyKeysFile,
        DECISION_VERIFY_KEYS_FILE: writeDecisionKeys(join(dir, 'keys')).verifyKeysFile,
        OUTCOME_VERIFY_KEYS_FILE: writeOutcomeKeys(join(dir, 'keys')).verifyKeysFile,
        DATABASE_URL: viaProxy.toString(),
        LOG_LEVEL: 'info',
      },
      { port, logDir: join(dir, 'logs'), timeoutMs: 120_000 },
    );
    let exited = false;
    starting.catch(() => (exited = true));
    // Into the outage (however long this machine takes to boot it), it tries, waits and tries again: its third try is
    // logged, and it has neither exited nor started serving.
    const third = /"attempt":3,[^\n]*PostgreSQL is not reachable yet: waiting before starting/;
    const state = await eventually(
      () => {
        if (exited) return 'exited';
        expect(readFileSync(join(dir, 'logs', 'orchestrator.log'), 'utf8')).toMatch(third);
        return 'waiting';
      },
      90_000,
      100,
    );
    expect(state).toBe('waiting');
    const early = await call('GET', `http://127.0.0.1:${port}/healthz`).catch((e: Error) => ({ status: 0, body: e.message }));
    expect(early.status).toBe(0);
    proxy.restore();
    const svc = await starting;
    try {
      expect((await call('GET', `${svc.url}/readyz`)).status).toBe(200);
      expect((await call('GET', `${svc.url}/v1/actions/nope`, undefined, tokens.agent)).status).toBe(404);
    } finally {
      await svc.stop();
      await proxy.close();
      await db.drop();
    }
  });
});
