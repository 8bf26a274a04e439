import { spawn } from 'node:child_process';
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

const ROOT = join(__dirname, '../../..');

describe('a service started while PostgreSQL is down waits for it instead of exiting', () => {
  it('stays up (not serving yet), then becomes ready once PostgreSQL answers', async () => {
    const ns = uniqueName('startup');
    const dir = join(ROOT, '.stack/int', ns);
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

describe('a service whose supervisor goes', () => {
  it('stops cleanly when the process that started it is killed with -9, instead of running on as an orphan', async () => {
    const ns = uniqueName('orphan');
    const dir = join(ROOT, '.stack/int', ns);
    const db = await createTestDatabase('orphan');
    const logDir = join(dir, 'logs');
    const env = {
      ...stackEnv().kafkaServiceEnv,
      KAFKA_NAMESPACE: ns,
      AUTH_TOKENS_FILE: writeTokens(dir).tokensFile,
      APPROVAL_VERIFY_KEYS_FILE: writeApprovalKeys(join(dir, 'keys')).verifyKeysFile,
      DECISION_VERIFY_KEYS_FILE: writeDecisionKeys(join(dir, 'keys')).verifyKeysFile,
      OUTCOME_VERIFY_KEYS_FILE: writeOutcomeKeys(join(dir, 'keys')).verifyKeysFile,
      DATABASE_URL: db.url,
    };
    // The supervisor: a process of its own (as `npm run start:distributed` is) that starts the orchestrator and says so.
    const supervisor = spawn(
      process.execPath,
      [
        '-r',
        join(ROOT, 'tools/register.js'),
        join(ROOT, 'libs/testing/src/supervisor.process.ts'),
        'orchestrator',
        JSON.stringify({ env, port: await freePort(), logDir }),
      ],
      { cwd: ROOT, env: { ...process.env, SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json') }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let said = '';
    supervisor.stdout.on('data', (c) => (said += c));
    supervisor.stderr.on('data', (c) => (said += c));
    const exited = new Promise((r) => supervisor.once('exit', r));
    try {
      const [, pid, url] = await eventually(() => {
        if (supervisor.exitCode !== null) throw new Error(`the supervisor exited: ${said}`);
        const ready = /^ready (\d+) (\S+)$/m.exec(said);
        expect(ready).not.toBeNull();
        return ready!;
      }, 120_000);
      expect((await call('GET', `${url}/readyz`)).status).toBe(200);

      supervisor.kill('SIGKILL');
      await exited;
      // Gone (or a zombie waiting for whoever adopted it to reap it: it has exited all the same), having said why.
      await eventually(() => expect(gone(Number(pid))).toBe(true), 60_000, 100);
      expect(readFileSync(join(logDir, 'orchestrator.log'), 'utf8')).toContain('orchestrator: the process that started it has gone; stopping');
      expect((await call('GET', `${url}/healthz`).catch((e: Error) => ({ status: 0, body: e.message }))).status).toBe(0);
    } finally {
      supervisor.kill('SIGKILL');
      await db.drop();
    }
  });
});

/** Whether the process `pid` has exited: no entry in /proc, or a zombie's (state Z). */
function gone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /s, '')
      .startsWith('Z');
  } catch {
    return true;
  }
}
