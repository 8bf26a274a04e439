// npm run start:distributed — the five services as separate processes against the real stack
// (start it first with `npm run stack:up`), with a local webhook sink standing in for the target system.
// A second instance of any service: `npm run start:distributed -- --also executor` starts one more.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadIdentityUsers, startIdentityProvider, writeIdentityUsers } from '@countersign/identity';
import { actionTypesOf, DEFAULT_CONTRACT_PATH } from '@countersign/policy-engine';
import { DEFAULT_PRINCIPALS, SCENARIOS_PRINCIPAL } from '@countersign/nest';
import { freePort, loadStackEnvFile, ServiceName, SERVICES, stackEnv, startDistributed, startWebhookSink } from '@countersign/testing';
import { writeTargetFile } from './drill/target';

async function main() {
  loadStackEnvFile();
  const also = process.argv.includes('--also') ? process.argv[process.argv.indexOf('--also') + 1] : undefined;
  // A misspelt service started nothing more, without a word (distributed-mode probe, 2026-12-07).
  if (also !== undefined && !(SERVICES as readonly string[]).includes(also)) {
    process.stderr.write(`start:distributed: --also takes one of ${SERVICES.join(', ')} (got ${JSON.stringify(also ?? '')})\n`);
    process.exit(2);
  }
  const dir = join(__dirname, '../.stack/distributed');
  // One at a time: a second run on the same namespace took over its tokens, target file and client secret, and its stop
  // removed the first one's Kafka ACLs, which then reported ready and failed every proposal (distributed-mode probe).
  mkdirSync(dir, { recursive: true });
  const pidFile = join(dir, 'launcher.pid');
  const running = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : undefined;
  if (running && running !== process.pid && alive(running)) {
    process.stderr.write(`start:distributed: already running (pid ${running}): stop it first (Ctrl-C in its terminal, or kill -INT ${running})\n`);
    process.exit(1);
  }
  writeFileSync(pidFile, String(process.pid));
  // Each run's logs start empty; the last run's are kept beside them (an old stack trace stayed at the top of a log that
  // every run appended to: distributed-mode probe, 2026-12-07).
  const logs = join(dir, 'logs');
  if (existsSync(logs)) {
    rmSync(`${logs}.previous`, { recursive: true, force: true });
    renameSync(logs, `${logs}.previous`);
  }
  const sink = await startWebhookSink();
  const actionTypes = actionTypesOf(DEFAULT_CONTRACT_PATH);
  // The reviewer inbox signs in through a local OpenID Connect provider (seeded users, passwords in
  // .stack/distributed/identity/passwords/), which must know the review queue's address before it starts.
  const identityDir = join(dir, 'identity');
  if (!existsSync(join(identityDir, 'users.json'))) writeIdentityUsers(identityDir);
  const reviewQueuePort = await freePort();
  // Every service serves HTTPS with a certificate of this run's PKI (the banner names its root: .stack/distributed/pki/root.pem).
  const inboxUrl = `https://127.0.0.1:${reviewQueuePort}`;
  const clientSecret = randomBytes(32).toString('base64url');
  mkdirSync(join(dir, 'keys'), { recursive: true });
  const clientSecretFile = join(dir, 'keys', 'oidc-client-secret');
  writeFileSync(clientSecretFile, clientSecret, { mode: 0o600 });
  const idp = await startIdentityProvider({
    users: loadIdentityUsers(join(identityDir, 'users.json')),
    clients: [
      { clientId: 'countersign-inbox', clientSecret, redirectUris: [`${inboxUrl}/auth/callback`], postLogoutRedirectUris: [`${inboxUrl}/auth/signed-out`] },
    ],
  });
  const stack = await startDistributed({
    namespace: 'countersign_local',
    // Its namespace is the same at every start: a kill switch turned off stays off.
    keepFlags: true,
    // The defaults, and `tokens/scenarios` for `npm run countersign -- scenarios` (as the embedded mode's home has).
    principals: [...DEFAULT_PRINCIPALS, SCENARIOS_PRINCIPAL],
    webhookUrl: sink.url,
    actionTypes,
    dir,
    ports: { 'review-queue': reviewQueuePort },
    serviceEnv: {
      'review-queue': { OIDC_ISSUER_URL: idp.issuer, OIDC_CLIENT_SECRET_FILE: clientSecretFile, REVIEW_INBOX_URL: inboxUrl },
    },
  });
  const second = also ? await stack.startInstance(also as ServiceName, `${also}-2`) : undefined;
  // What `countersign drill --target .stack/distributed` runs against; its flag-service drill stops the stack's Unleash.
  const stackScript = join(__dirname, '../infra/stack.sh');
  writeTargetFile(join(dir, 'target.json'), {
    mode: 'distributed',
    urls: { orchestrator: stack.urls.orchestrator, reviewQueue: stack.urls['review-queue'], policyEngine: stack.urls['policy-engine'] },
    tokensDir: join(dir, 'tokens'),
    caFile: stack.caFile,
    // The executor's Kafka client certificate, watched by the trust monitor: `countersign drill cert-failure` expires and renews it.
    certificate: {
      owner: 'executor',
      file: (JSON.parse(stack.env.TRUST_CERT_FILES) as Array<{ owner: string; purpose: string; file: string }>).find(
        (c) => c.owner === 'executor' && c.purpose === 'kafka-client',
      )!.file,
      pkiDir: stackEnv().pkiDir,
      checkMs: Number(stack.env.TRUST_CHECK_MS),
    },
    flagService: { kind: 'unleash', down: ['bash', stackScript, 'kill', 'unleash'], up: ['bash', stackScript, 'start', 'unleash'] },
  });
  // Listened for before the banner: a signal sent on reading it is a clean stop, not Node's exit on the spot.
  const stop = async () => {
    await stack.stop();
    await sink.close();
    await idp.close();
    rmSync(pidFile, { force: true });
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stdout.write(
    `Countersign (distributed) is running:\n${Object.entries(stack.urls)
      .map(([k, v]) => `  ${k.padEnd(14)} ${v}`)
      .join('\n')}\n` +
      (second ? `  ${`${also}-2`.padEnd(14)} ${second.url}\n` : '') +
      `Reviewer inbox: ${inboxUrl}/reviews (sign in as alice, bob, …; passwords in ${join(identityDir, 'passwords')})\n` +
      `Tokens: ${join(dir, 'tokens')}/<agent|reviewer|auditor|metrics|scenarios>   Logs: ${join(dir, 'logs')}   Target sink: ${sink.url}\n` +
      `HTTPS: every service's certificate chains to ${stack.caFile} (curl --cacert ${stack.caFile} …; trust it in a browser for the inbox)\n`,
  );
}

/** Whether a process with this pid runs (a pid file left by a run that was killed names none, or another). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

main().catch((e) => {
  process.stderr.write(`start:distributed failed: ${(e as Error).message}\n`);
  process.exit(1);
});
