import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@countersign/testing';
import { HomeLock } from './home/home-lock';
import { plainHttpNotice } from './plain-http-notice';
import { MainRun, startMain } from './testing/main-process';

// real: the embedded mode's main as an operator starts it (a Node process, its settings in the environment), the file
// system and TCP on this machine; fake: nothing.
// Up to four processes start at once on a machine of two cores shared with other work.
jest.setTimeout(120_000);
const scratch = () => mkdtempSync(join(tmpdir(), 'embedded-main-'));

/** Starts the main (`startMain`) and returns what it printed when it exits. */
const start = (env: Record<string, string>, stopOn?: RegExp) => startMain(env, stopOn, 90_000);

/** A refusal: exit 1 and exactly one line, no stack trace. */
const refused = (run: MainRun, line: string | RegExp) => {
  expect(run.code).toBe(1);
  expect(run.output.trimEnd().split('\n')).toHaveLength(1);
  expect(run.output).toMatch(line);
  expect(run.output).not.toMatch(/\n\s+at /);
};

describe('the embedded main refuses what it cannot run with, in one line', () => {
  it('a setting that would be misread: a blank or hexadecimal port, a blank host, a blank home', async () => {
    const home = join(scratch(), 'home');
    const [blankPort, hexPort, blankHost, blankHome] = await Promise.all([
      start({ COUNTERSIGN_HOME: home, PORT: ' ' }),
      start({ COUNTERSIGN_HOME: home, PORT: '0x1F90' }),
      start({ COUNTERSIGN_HOME: home, HOST: '' }),
      start({ COUNTERSIGN_HOME: '' }),
    ]);
    refused(blankPort, 'config: PORT: set but blank: unset it for the default (8080), or give a value');
    refused(hexPort, 'config: PORT: expected a port, decimal digits from 0 to 65535 (got "0x1F90")');
    refused(blankHost, 'config: HOST: set but blank: unset it for the default (127.0.0.1), or give a value');
    refused(blankHome, /^config: COUNTERSIGN_HOME: set but blank/);
    expect(existsSync(home)).toBe(false);
  });

  it('says a setting, a port in use or a home it refuses before it loads Nest and the five services (it took 1.5 s of CPU to say so)', async () => {
    const dir = scratch();
    // A module preloaded into the main: as it exits, it writes down how many of Nest's files were loaded.
    const probe = join(dir, 'probe.js');
    writeFileSync(
      probe,
      `process.on('exit', () => require('node:fs').writeFileSync(process.env.PROBE_OUT, String(Object.keys(require.cache).filter((f) => f.includes('/node_modules/@nestjs/')).length)));`,
    );
    const withProbe = async (label: string, env: Record<string, string>) => {
      const out = join(dir, `loaded-${label}`);
      const run = await start({ COUNTERSIGN_HOME: join(dir, 'home'), NODE_OPTIONS: `--require ${probe}`, PROBE_OUT: out, ...env });
      return { run, nestFiles: Number(readFileSync(out, 'utf8')) };
    };
    // A used home whose database is gone (home.json lists it), and a port another process listens on.
    const lost = join(dir, 'lost');
    mkdirSync(lost, { mode: 0o700 });
    writeFileSync(join(lost, 'home.json'), JSON.stringify({ version: 1, database: true, auditLog: false, keys: {} }));
    // A home another live process runs on (this one holds its lock).
    const held = join(dir, 'held');
    mkdirSync(held, { mode: 0o700 });
    const lock = HomeLock.acquire(held);
    const server = createServer();
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    const port = (server.address() as AddressInfo).port;
    try {
      const [setting, home, inUse, busy] = await Promise.all([
        withProbe('setting', { PORT: '0x1F90' }),
        withProbe('home', { COUNTERSIGN_HOME: lost }),
        withProbe('in-use', { COUNTERSIGN_HOME: held }),
        withProbe('port', { PORT: String(port) }),
      ]);
      expect(setting.nestFiles).toBe(0);
      refused(home.run, `COUNTERSIGN_HOME ${lost}: db/ (the database) is missing, though home.json lists it`);
      expect(home.nestFiles).toBe(0);
      refused(inUse.run, `COUNTERSIGN_HOME is in use by process ${process.pid}`);
      expect(inUse.nestFiles).toBe(0);
      refused(busy.run, `PORT=${port}: port ${port} on 127.0.0.1 is in use by another process`);
      expect(busy.nestFiles).toBe(0);
    } finally {
      server.close();
      lock.release();
    }
    // The probe sees Nest where it is loaded: a refusal after the home is checked (an HTTPS file) comes after it.
    expect((await withProbe('https', { HTTP_TLS_CERT_FILE: probe })).nestFiles).toBeGreaterThan(10);
    // A new home is not made by the checks before loading: a start refused later leaves none behind.
    expect(existsSync(join(dir, 'home'))).toBe(false);
  });

  it('a misspelled setting, and HTTPS files that cannot be used (config probe, 2026-12-05: ignored, or a stack trace)', async () => {
    const dir = scratch();
    const home = join(dir, 'home');
    writeFileSync(join(dir, 'not.pem'), 'not a certificate');
    const [typo, half, folder, noPem, blankWitness] = await Promise.all([
      start({ COUNTERSIGN_HOME: home, COUNTERSIGN_WITNES_DIR: join(dir, 'witness') }),
      start({ COUNTERSIGN_HOME: home, HTTP_TLS_CERT_FILE: join(dir, 'not.pem') }),
      start({ COUNTERSIGN_HOME: home, HTTP_TLS_CERT_FILE: dir, HTTP_TLS_KEY_FILE: dir }),
      start({ COUNTERSIGN_HOME: home, HTTP_TLS_CERT_FILE: join(dir, 'not.pem'), HTTP_TLS_KEY_FILE: join(dir, 'not.pem') }),
      start({ COUNTERSIGN_HOME: home, COUNTERSIGN_WITNESS_DIR: ' ' }),
    ]);
    refused(
      typo,
      'config: COUNTERSIGN_WITNES_DIR is no setting here: did you mean COUNTERSIGN_WITNESS_DIR? (rename it; a misspelled setting would be ignored)',
    );
    refused(half, 'countersign (embedded) could not start: HTTP_TLS_CERT_FILE and HTTP_TLS_KEY_FILE go together: set both (HTTPS) or neither (plain HTTP)');
    refused(folder, `countersign (embedded) could not start: HTTP_TLS_CERT_FILE: cannot read ${dir}: EISDIR: illegal operation on a directory, read`);
    refused(noPem, `countersign (embedded) could not start: HTTP_TLS_CERT_FILE: ${join(dir, 'not.pem')} holds no PEM`);
    refused(blankWitness, /^config: COUNTERSIGN_WITNESS_DIR: set but blank: leave it unset for the default/);
    expect(existsSync(home)).toBe(false);
  });

  it('a home it cannot use: a file, a folder under /proc, a malformed tokens file, a damaged database (kept as it is)', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'file'), 'x');
    mkdirSync(join(dir, 'bad-tokens'));
    writeFileSync(join(dir, 'bad-tokens', 'tokens.json'), '{x');
    mkdirSync(join(dir, 'damaged', 'db'), { recursive: true });
    writeFileSync(join(dir, 'damaged', 'db', 'MARKER'), 'x');
    const [file, proc, tokens, damaged] = await Promise.all([
      start({ COUNTERSIGN_HOME: join(dir, 'file') }),
      start({ COUNTERSIGN_HOME: '/proc/countersign-home' }),
      start({ COUNTERSIGN_HOME: join(dir, 'bad-tokens') }),
      start({ COUNTERSIGN_HOME: join(dir, 'damaged') }),
    ]);
    refused(file, `countersign (embedded) could not start: COUNTERSIGN_HOME ${join(dir, 'file')}: is a file, not a folder`);
    refused(proc, 'countersign (embedded) could not start: COUNTERSIGN_HOME /proc/countersign-home: cannot make /proc/countersign-home (ENOENT)');
    refused(tokens, `countersign (embedded) could not start: ${join(dir, 'bad-tokens', 'tokens.json')}: not valid JSON`);
    // Red team: a db/ without PG_VERSION was deleted and made again, silently, with every record in it.
    refused(damaged, `could not start: the database folder ${join(dir, 'damaged', 'db')} holds files but no PG_VERSION`);
    expect(readdirSync(join(dir, 'damaged', 'db'))).toEqual(['MARKER']);
  });

  it('a port in use, before it makes anything in the home', async () => {
    const taken = createServer();
    const port = await freePort();
    await new Promise<void>((r) => taken.listen(port, '127.0.0.1', r));
    try {
      const home = join(scratch(), 'home');
      refused(await start({ COUNTERSIGN_HOME: home, PORT: String(port) }), `PORT=${port}: port ${port} on 127.0.0.1 is in use by another process`);
      expect(existsSync(home)).toBe(false);
    } finally {
      taken.close();
    }
  });
});

describe('the embedded main’s banner', () => {
  // On loopback only, as every test listens: the notice for other hosts is plainHttpNotice's own spec.
  it('says plain HTTP on loopback is a local development default, and names a setting it does not read', async () => {
    const home = scratch();
    // WEBHOOK_URL, a setting of the executor: named at start, as the embedded mode does not read it (operator probe).
    const run = await start(
      { COUNTERSIGN_HOME: home, HOST: '127.0.0.1', PORT: String(await freePort()), WEBHOOK_URL: 'https://effects.example/hook' },
      /Prometheus metrics/,
    );
    expect(run.output).toContain(plainHttpNotice('127.0.0.1'));
    expect(run.output).not.toContain('other machines may reach it');
    expect(run.output).toContain(
      'the embedded mode does not read WEBHOOK_URL: a setting of the distributed services (npm run start:distributed); its own defaults and stand-in target apply',
    );
  });
});
