import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { createRootCa, issueCertificate } from '@countersign/pki';
import { freePort } from './distributed';

export interface PebbleOptions {
  /** Where the configuration, pebble's HTTPS certificate and the log go (one directory per run). */
  dir: string;
  /** Extra `PEBBLE_*` environment (e.g. `PEBBLE_WFE_NONCEREJECT`); the defaults below apply otherwise. */
  env?: Record<string, string>;
}

export interface RunningPebble {
  /** The ACME directory: `https://127.0.0.1:<port>/dir`. */
  directoryUrl: string;
  /** Pebble's management API (`/roots/0`, `/intermediates/0`, …). */
  managementUrl: string;
  /** The port pebble's validation authority connects to for http-01 (on `localhost`): serve the challenge there. */
  httpPort: number;
  /** The root (PEM file) of pebble's own HTTPS certificate: what an ACME client must trust to talk to it. */
  caFile: string;
  caPem: string;
  logFile: string;
  /** The root pebble issues under now (a new one at every start): `GET <management>/roots/0`. */
  issuingRoot(): Promise<string>;
  /** Stops pebble (SIGTERM, then SIGKILL); the ports stay reserved for `start()`. */
  stop(): Promise<void>;
  /** Starts it again on the same ports, with a new issuing root (pebble keeps nothing across starts). */
  start(): Promise<void>;
  readonly running: boolean;
}

/** GET over HTTPS trusting `ca` only; the body as text, or an error naming the status. */
export function httpsGetText(url: string, ca: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { ca, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${url} answered ${res.statusCode}: ${body.slice(0, 200)}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/**
 * Starts Debian's `pebble` (Let's Encrypt's ACME test server; infra/stack.sh installs it) on 127.0.0.1 with free ports
 * for the ACME directory, the management API, and the http-01 and tls-alpn-01 validation ports, its HTTPS served
 * with a certificate from a throwaway root made here (the package ships none). Validation is immediate
 * (`PEBBLE_VA_NOSLEEP`) and every order needs fresh authorizations (`PEBBLE_AUTHZREUSE=0`), so a renewal really
 * answers a challenge again. Waits until the directory answers.
 */
export async function startPebble(o: PebbleOptions): Promise<RunningPebble> {
  mkdirSync(o.dir, { recursive: true });
  const hour = 3600_000;
  const root = await createRootCa('pebble-test-root', { notAfter: new Date(Date.now() + 24 * hour) });
  const leaf = await issueCertificate(root, 'pebble', 'server', { notAfter: new Date(Date.now() + 23 * hour) });
  const caFile = join(o.dir, 'pebble-https-root.pem');
  const certFile = join(o.dir, 'pebble-https.pem');
  const keyFile = join(o.dir, 'pebble-https.key');
  writeFileSync(caFile, root.certPem);
  writeFileSync(certFile, leaf.chainPem);
  writeFileSync(keyFile, leaf.keyPem, { mode: 0o600 });
  const [acmePort, managementPort, httpPort, tlsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const configFile = join(o.dir, 'pebble-config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: certFile,
        privateKey: keyFile,
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
  const managementUrl = `https://127.0.0.1:${managementPort}`;
  const logFile = join(o.dir, 'pebble.log');
  const tail = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '');
  let child: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);

  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) throw new Error('pebble is already running');
    const log = createWriteStream(logFile, { flags: 'a' });
    const c = spawn('pebble', ['-config', configFile], {
      cwd: o.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_AUTHZREUSE: '0', ...o.env },
    });
    child = c;
    c.stdout!.pipe(log);
    c.stderr!.pipe(log);
    const failed = await new Promise<Error | undefined>((r) => {
      c.once('spawn', () => r(undefined));
      c.once('error', (e) => r(e));
    });
    if (failed) throw new Error(`cannot run pebble (${failed.message}): run 'bash infra/stack.sh up', which installs Debian's package`);
    exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ready = await httpsGetText(directoryUrl, root.certPem, 2_000).then(
        () => true,
        () => false,
      );
      if (ready) return;
      const dead = await Promise.race([exited, new Promise((r) => setTimeout(() => r('alive'), 100))]);
      if (dead !== 'alive') throw new Error(`pebble exited with code ${String(dead)} before it was ready:\n${tail()}`);
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`pebble was not ready within 30 s:\n${tail()}`);
      }
    }
  };

  await start();
  return {
    directoryUrl,
    managementUrl,
    httpPort,
    caFile,
    caPem: root.certPem,
    logFile,
    issuingRoot: () => httpsGetText(`${managementUrl}/roots/0`, root.certPem),
    stop,
    start,
    get running() {
      return !!child && child.exitCode === null && child.signalCode === null;
    },
  };
}
