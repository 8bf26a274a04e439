import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { call, eventually } from '@countersign/testing';
import { startEmbedded } from './embedded';
import { openHomeDatabase } from './home/home-database';
import { StartRefusedError } from './home/start-checks';
import { MainRun, startMain } from './testing/main-process';

// real: the embedded mode's main as an operator starts it (a Node process), startEmbedded in this process, its database
// (PGlite) and files in a temporary COUNTERSIGN_HOME; fake: nothing.
// Red team, 2026-12-05: a used home that lost a part (db/, a key, audit/) started anew without a word, and some refusals
// printed a stack trace instead of one line naming the file.
jest.setTimeout(240_000);
const scratch = () => mkdtempSync(join(tmpdir(), 'embedded-home-'));
const quiet = () => pino({ level: 'silent' });
const example = (f: string) => JSON.parse(readFileSync(join(__dirname, '../examples', f), 'utf8'));

/** Starts the main (`startMain`) and returns what it printed when it exits. */
const start = (home: string, stopOn?: RegExp) => startMain({ COUNTERSIGN_HOME: home }, stopOn);

/** A refusal: exit 1 and exactly this one line, no stack trace. */
const refused = (run: MainRun, line: string) => {
  expect(run.output.trimEnd().split('\n')).toEqual([`countersign (embedded) could not start: ${line}`]);
  expect(run.code).toBe(1);
};

/** A home used once: a proposal waiting for review, one executed under an Idempotency-Key, and a clean stop. */
async function usedHome(): Promise<string> {
  const home = scratch();
  const running = await startEmbedded({ home, port: 0, logger: quiet() });
  try {
    const agent = readFileSync(join(home, 'tokens', 'agent'), 'utf8');
    expect((await call('POST', `${running.url}/v1/proposals`, example('refund-large.json'), agent)).status).toBe(202);
    expect((await call('POST', `${running.url}/v1/proposals`, example('refund-small.json'), agent, { 'Idempotency-Key': 'once' })).status).toBe(202);
  } finally {
    await running.close();
  }
  return home;
}

/** A copy of `home` with `damage` done to it. */
function copyOf(home: string, damage: (copy: string) => void): string {
  const copy = join(scratch(), 'home');
  cpSync(home, copy, { recursive: true });
  damage(copy);
  return copy;
}

const RESTORE = 'restore it from a backup, or start a new home (another COUNTERSIGN_HOME)';

describe('a used home that lost a part of its state is refused, in one line naming it', () => {
  let home: string;
  beforeAll(async () => {
    home = await usedHome();
  });

  it('records what the home holds in home.json: the database, the audit log (written at the stop) and each key', () => {
    const manifest = JSON.parse(readFileSync(join(home, 'home.json'), 'utf8'));
    expect(manifest).toMatchObject({ version: 1, database: true, auditLog: true });
    expect(Object.keys(manifest.keys).sort()).toEqual([
      'approvals.key',
      'audit-heads.key',
      'audit-pseudonym.key',
      'contract-changes.key',
      'decisions.key',
      'outcomes.key',
      'review-data.key',
    ]);
  });

  it('db/, audit/, a key, or a key made again (red team: each started anew, empty, without a word)', async () => {
    const noDb = copyOf(home, (h) => rmSync(join(h, 'db'), { recursive: true }));
    const noAudit = copyOf(home, (h) => rmSync(join(h, 'audit'), { recursive: true }));
    const noKey = copyOf(home, (h) => {
      rmSync(join(h, 'keys', 'decisions.key'));
      rmSync(join(h, 'flags.json'));
    });
    // Another valid key in its place (what a key made again would be).
    const otherKey = copyOf(home, (h) => writeFileSync(join(h, 'keys', 'outcomes.key'), readFileSync(join(h, 'keys', 'approvals.key'))));
    // The audit log's pseudonym key written over (trust probe, 2026-12-05: started, and one digest had two pseudonyms).
    const otherPseudonyms = copyOf(home, (h) => writeFileSync(join(h, 'keys', 'audit-pseudonym.key'), randomBytes(32).toString('hex')));
    const [db, audit, key, other, pseudonyms] = await Promise.all([start(noDb), start(noAudit), start(noKey), start(otherKey), start(otherPseudonyms)]);
    refused(
      db,
      `COUNTERSIGN_HOME ${noDb}: db/ (the database) is missing, though home.json lists it: a new database would forget the idempotency keys and pending reviews: ${RESTORE}`,
    );
    refused(
      audit,
      `COUNTERSIGN_HOME ${noAudit}: audit/audit.jsonl (the audit log) is missing, though home.json lists it: a new log would begin under the same tree-head key: ${RESTORE}`,
    );
    refused(
      key,
      `COUNTERSIGN_HOME ${noKey}: keys/decisions.key is missing, though home.json lists it (the key that seals policy decisions and autonomy changes: without it what it sealed is ignored (an approved kill switch "off" among it)): ${RESTORE}`,
    );
    refused(
      other,
      `COUNTERSIGN_HOME ${otherKey}: keys/outcomes.key is not the key home.json lists (its SHA-256 differs; the key that seals execution outcomes: without it the outcomes sealed before are not taken): ${RESTORE}`,
    );
    refused(
      pseudonyms,
      `COUNTERSIGN_HOME ${otherPseudonyms}: keys/audit-pseudonym.key is not the key home.json lists (its SHA-256 differs; the key of the audit log's pseudonyms (docs/adr/0049): without it, or with another, equal digests no longer read as equal): ${RESTORE}`,
    );
    // Nothing was made in their place.
    expect(existsSync(join(noDb, 'db'))).toBe(false);
    expect(existsSync(join(noAudit, 'audit', 'audit.jsonl'))).toBe(false);
    expect(existsSync(join(noKey, 'keys', 'decisions.key'))).toBe(false);
  });

  it('an empty key file, a damaged pg_control, a tokens file without principals (red team: decoder errors, "Aborted()", stacks)', async () => {
    const emptyKey = copyOf(home, (h) => writeFileSync(join(h, 'keys', 'approvals.key'), ''));
    const emptyDataKey = copyOf(home, (h) => writeFileSync(join(h, 'keys', 'review-data.key'), ''));
    const badControl = copyOf(home, (h) => writeFileSync(join(h, 'db', 'global', 'pg_control'), randomBytes(8192)));
    const noPrincipals = copyOf(home, (h) => writeFileSync(join(h, 'tokens.json'), '[]'));
    // An audit entry edited: the audit writer's refusal (it names the file and what to do), in one line too.
    const edited = copyOf(home, (h) => {
      const file = join(h, 'audit', 'audit.jsonl');
      writeFileSync(file, readFileSync(file, 'utf8').replace('"support.refund"', '"support.refunds"'));
    });
    const [key, dataKey, control, tokens, audit] = await Promise.all([
      start(emptyKey),
      start(emptyDataKey),
      start(badControl),
      start(noPrincipals),
      start(edited),
    ]);
    refused(
      key,
      `COUNTERSIGN_HOME ${emptyKey}: keys/approvals.key is empty (the key that signs review decisions: without it the decisions signed before no longer verify): ${RESTORE}`,
    );
    refused(
      dataKey,
      `COUNTERSIGN_HOME ${emptyDataKey}: keys/review-data.key is empty (the key that seals the real proposals of review items: without it no pending item can be revealed): ${RESTORE}`,
    );
    expect(control.output).toMatch(
      new RegExp(
        `^countersign \\(embedded\\) could not start: the database folder ${join(badControl, 'db')} cannot be opened \\(.+\\): ${RESTORE.replace(/[()]/g, '\\$&')}\\n$`,
      ),
    );
    expect(control.code).toBe(1);
    refused(
      tokens,
      `${join(noPrincipals, 'tokens.json')}: holds no principals, so nothing could call this home: restore it, or move it aside to make new tokens`,
    );
    expect(audit.output.trimEnd().split('\n')).toHaveLength(1);
    expect(audit.output).toMatch(
      new RegExp(`^countersign \\(embedded\\) could not start: ${join(edited, 'audit', 'audit.jsonl')}: .+The audit log was changed outside Countersign`),
    );
    expect(audit.code).toBe(1);
  });

  it('warns of a token file that holds no usable token (red team: an empty tokens/agent, while the banner says to cat it)', async () => {
    const emptyAgent = copyOf(home, (h) => writeFileSync(join(h, 'tokens', 'agent'), ''));
    const lines: string[] = [];
    const running = await startEmbedded({
      home: emptyAgent,
      port: 0,
      logger: pino({ level: 'warn' }, { write: (l: string) => lines.push(JSON.parse(l).msg) }),
    });
    await running.close();
    expect(lines).toContain(
      `${join(emptyAgent, 'tokens', 'agent')}: empty: its principal cannot call with it; move tokens.json and tokens/ aside to make new tokens`,
    );
  });

  it('lists the audit log’s pseudonym key from the first start on, and refuses a log whose key is gone before it was listed (upgrade probe, 2026-12-05)', async () => {
    const fresh = scratch();
    const running = await startEmbedded({ home: fresh, port: 0, logger: quiet() });
    try {
      // Listed while it runs: a kill -9 now leaves a home that still knows its key.
      expect(Object.keys(JSON.parse(readFileSync(join(fresh, 'home.json'), 'utf8')).keys)).toContain('audit-pseudonym.key');
    } finally {
      await running.close();
    }
    // A home upgraded before the key was listed, that then lost it: its entries were kept under it, so the log does not
    // open (before, every event went to the dead-letter topic and actions ran unaudited).
    const unlisted = copyOf(home, (h) => {
      const manifest = JSON.parse(readFileSync(join(h, 'home.json'), 'utf8'));
      delete manifest.keys['audit-pseudonym.key'];
      writeFileSync(join(h, 'home.json'), JSON.stringify(manifest));
      rmSync(join(h, 'keys', 'audit-pseudonym.key'));
    });
    const run = await start(unlisted);
    expect(run.code).toBe(1);
    expect(run.output.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^countersign \(embedded\) could not start: .*pseudonym key .*audit-pseudonym\.key is missing, though entries were kept under it/),
    ]);
  });

  it('a home a newer version migrated is refused in one line, not run by an older one (upgrade probe, 2026-12-05: a rollback went on silently)', async () => {
    const copy = join(scratch(), 'home');
    cpSync(home, copy, { recursive: true });
    const db = await openHomeDatabase(copy, () => undefined);
    await db.pool.query(`INSERT INTO executor_migrations (name, run_on) VALUES ('9999_from-a-newer-version', now())`);
    await db.close();
    refused(
      await start(copy),
      'the database holds executor migrations this version does not know (9999_from-a-newer-version): a newer Countersign used it; run that version, or restore a backup made before it',
    );
  });

  it('a new home on a full disk is refused in one line, and leaves no half-made database behind (disk probe, 2026-12-05: a stack trace)', async () => {
    // A file system of 2 MB (tmpfs, as root): the database's template does not fit.
    const disk = scratch();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk]);
    try {
      const home = join(disk, 'home');
      const run = await start(home);
      expect(run.code).toBe(1);
      expect(run.output.trimEnd().split('\n')).toEqual([
        expect.stringMatching(
          new RegExp(
            `^countersign \\(embedded\\) could not start: the database folder ${home}/db cannot be made \\(ENOSPC: no space left on device, .*\\): free the disk or fix the folder, then start again$`,
          ),
        ),
      ]);
      expect(readdirSync(home).filter((f) => f.startsWith('db'))).toEqual([]);
    } finally {
      execFileSync('umount', [disk]);
    }
  });

  it('a first start that failed after making db/ is a new home at the next start: keys, flags.json, ready (disk probe, 2026-12-05: never ready)', async () => {
    const home = scratch();
    const db = await openHomeDatabase(home, () => undefined);
    await db.close();
    const running = await startEmbedded({ home, port: 0, logger: quiet() });
    try {
      expect(existsSync(join(home, 'flags.json'))).toBe(true);
      await eventually(async () => expect((await call('GET', `${running.url}/readyz`)).status).toBe(200));
    } finally {
      await running.close();
    }
  });

  it('a home without home.json (an older version): recorded as it is; but one whose db/ is gone while its audit log holds entries is refused', async () => {
    const older = copyOf(home, (h) => rmSync(join(h, 'home.json')));
    const olderNoDb = copyOf(home, (h) => {
      rmSync(join(h, 'home.json'));
      rmSync(join(h, 'db'), { recursive: true });
    });
    await expect(startEmbedded({ home: olderNoDb, port: 0, logger: quiet() })).rejects.toThrow(
      new StartRefusedError(
        `COUNTERSIGN_HOME ${olderNoDb}: db/ (the database) is missing, though audit/audit.jsonl holds entries: a new database would forget the idempotency keys and pending reviews: ${RESTORE}`,
      ),
    );
    expect(existsSync(join(olderNoDb, 'db'))).toBe(false);
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l).msg) });
    // Its own witness: copies of `home` started by the tests before ran on past the log this copy holds (docs/adr/0051).
    const running = await startEmbedded({ home: older, port: 0, logger, witnessDir: scratch() });
    await running.close();
    expect(lines).toContain('this home had no home.json (an older version): recorded what it holds now, checked at every start');
    expect(JSON.parse(readFileSync(join(older, 'home.json'), 'utf8')).keys).toEqual(JSON.parse(readFileSync(join(home, 'home.json'), 'utf8')).keys);
  });
});

describe('the embedded mode’s readiness follows its flag file', () => {
  it('is not ready, with the reason, and countersign_flags_loaded is 0 while flags.json cannot be read; the audit trail goes on; ready again once restored', async () => {
    const home = scratch();
    const running = await startEmbedded({ home, port: 0, logger: quiet() });
    try {
      const token = (name: string) => readFileSync(join(home, 'tokens', name), 'utf8');
      const gauge = async () =>
        ((await call('GET', `${running.url}/metrics`, undefined, token('metrics'))).body as unknown as string).match(
          /^countersign_flags_loaded\{[^}]*\} (\d)$/m,
        )?.[1];
      expect((await call('GET', `${running.url}/readyz`)).status).toBe(200);
      expect(await gauge()).toBe('1');
      renameSync(running.flagsFile, `${running.flagsFile}.aside`);
      const notReady = await eventually(async () => {
        const res = await call('GET', `${running.url}/readyz`);
        expect(res.status).toBe(503);
        return res.body as { status: string; checks: Record<string, string> };
      }, 15_000);
      expect(notReady.status).toBe('not-ready');
      expect(notReady.checks.flags).toContain('flags.json');
      expect(await gauge()).toBe('0');
      // The audit writer keeps consuming: a proposal made now is on the record.
      const id = (await call('POST', `${running.url}/v1/proposals`, example('refund-small.json'), token('agent'))).body.actionId as string;
      await eventually(() => expect(readFileSync(join(home, 'audit', 'audit.jsonl'), 'utf8')).toContain(id), 15_000);
      renameSync(`${running.flagsFile}.aside`, running.flagsFile);
      await eventually(async () => expect((await call('GET', `${running.url}/readyz`)).status).toBe(200), 15_000);
      expect(await gauge()).toBe('1');
    } finally {
      await running.close();
    }
  });

  it('a start while flags.json cannot be read: not ready, but the audit writer and the review queue consume', async () => {
    const home = await usedHome();
    writeFileSync(join(home, 'flags.json'), '{not json');
    const running = await startEmbedded({ home, port: 0, logger: quiet() });
    try {
      const token = (name: string) => readFileSync(join(home, 'tokens', name), 'utf8');
      const res = await call('GET', `${running.url}/readyz`);
      expect(res.status).toBe(503);
      const checks = res.body.checks as Record<string, string>;
      expect(checks.flags).toContain('flags.json');
      expect(checks.consumers).toBe('ok');
      const id = (await call('POST', `${running.url}/v1/proposals`, example('refund-small.json'), token('agent'))).body.actionId as string;
      await eventually(() => expect(readFileSync(join(home, 'audit', 'audit.jsonl'), 'utf8')).toContain(id), 15_000);
    } finally {
      await running.close();
    }
  });
});
