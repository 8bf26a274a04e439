import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { call, eventually } from '@countersign/testing';
import { startEmbedded } from './embedded';
import { StartRefusedError } from './home/start-checks';
import { startMain } from './testing/main-process';

// real: startEmbedded in this process and the embedded main as an operator starts it, their database (PGlite), audit log
// and witness files in temporary folders; fake: nothing.
// Home probe, 2026-12-05: an older backup restored whole started silently (an agent's retry executed again, a decided
// review waited again, a kill switch turned off was on again), and a database and an audit log from different backups
// started too. docs/adr/0051.
jest.setTimeout(240_000);
const scratch = () => mkdtempSync(join(tmpdir(), 'embedded-restore-'));
const quiet = () => pino({ level: 'silent' });
const example = (f: string) => JSON.parse(readFileSync(join(__dirname, '../examples', f), 'utf8'));

/** Runs the home once: `idempotencyKey`'s small refund proposed and executed, then a clean stop. */
async function runOnce(home: string, witnessDir: string, idempotencyKey: string): Promise<void> {
  const running = await startEmbedded({ home, port: 0, logger: quiet(), witnessDir });
  try {
    const agent = readFileSync(join(home, 'tokens', 'agent'), 'utf8');
    const res = await call('POST', `${running.url}/v1/proposals`, example('refund-small.json'), agent, { 'Idempotency-Key': idempotencyKey });
    expect(res.status).toBe(202);
    const actionId = (res.body as { actionId: string }).actionId;
    await eventually(async () =>
      expect((await call('GET', `${running.url}/v1/actions/${actionId}`, undefined, agent)).body).toMatchObject({ status: 'executed' }),
    );
  } finally {
    await running.close();
  }
}

/** A copy of `from` (a home stopped cleanly) in a folder of its own. */
const copyOf = (from: string) => {
  const to = join(scratch(), 'home');
  cpSync(from, to, { recursive: true });
  return to;
};

describe('a home restored from a backup, whole or in parts, is refused instead of forgetting what happened since', () => {
  let witnessDir: string;
  let home: string;
  let backup: string;
  beforeAll(async () => {
    witnessDir = scratch();
    home = join(scratch(), 'home');
    await runOnce(home, witnessDir, 'before-the-backup');
    backup = copyOf(home);
    await runOnce(home, witnessDir, 'after-the-backup');
  });

  // A test that accepts a restore moves the witness to the restored home: it works on a copy of this machine's witness.
  const witnessCopy = () => {
    const to = scratch();
    cpSync(witnessDir, to, { recursive: true });
    return to;
  };

  it('the whole home older than what this machine saw: refused, naming what a restore forgets and how to accept it; accepted once, it starts and says so', async () => {
    const restored = copyOf(backup);
    const witnessDir = witnessCopy();
    const refusal = await startEmbedded({ home: restored, port: 0, logger: quiet(), witnessDir }).catch((e: Error) => e);
    expect(refusal).toBeInstanceOf(StartRefusedError);
    const size = Number(/COUNTERSIGN_ACCEPT_RESTORE=restored:(\d+)$/.exec((refusal as Error).message)?.[1]);
    expect((refusal as Error).message).toMatch(
      new RegExp(
        `^this machine saw this home's audit log signed at ${size} entries \\(.*\\), and it holds \\d+: the home was restored from a backup, or a copy of it ran ahead, and has forgotten what happened since \\(idempotency keys: an agent's retry executes again;.*kill switches turned off`,
      ),
    );
    // A wrong number accepts nothing.
    // Another number, or the same number for another refusal, accepts nothing.
    for (const wrong of [`restored:${size + 1}`, `audit-behind:${size}`])
      await expect(startEmbedded({ home: restored, port: 0, logger: quiet(), witnessDir, acceptRestore: wrong })).rejects.toThrow(StartRefusedError);
    const lines: Array<{ alert?: string; msg: string }> = [];
    const logger = pino({ level: 'error' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    const accepted = await startEmbedded({ home: restored, port: 0, logger, witnessDir, acceptRestore: `restored:${size}` });
    await accepted.close();
    expect(lines).toContainEqual(
      expect.objectContaining({ alert: 'home-restored', msg: expect.stringContaining(`started as it is (COUNTERSIGN_ACCEPT_RESTORE=restored:${size})`) }),
    );
    // From then on the witness follows the restored home, which starts as any other; the setting left set accepts
    // nothing more, and says so.
    lines.length = 0;
    const again = await startEmbedded({ home: restored, port: 0, logger, witnessDir, acceptRestore: `restored:${size}` });
    await again.close();
    expect(lines.map((l) => l.msg)).toContain(
      `COUNTERSIGN_ACCEPT_RESTORE=restored:${size} accepted nothing (this home's parts and witness agree, or it names another refusal): remove it`,
    );
  });

  /** A home of `db/` from one home and `audit/` from another. */
  const mixedOf = (db: string, audit: string) => {
    const mixed = copyOf(db);
    rmSync(join(mixed, 'audit'), { recursive: true });
    cpSync(join(audit, 'audit'), join(mixed, 'audit'), { recursive: true });
    return mixed;
  };

  it('db/ from the backup under the audit log of now: refused (it forgot the idempotency keys the log shows used)', async () => {
    const mixed = mixedOf(backup, home);
    // Another machine's witness (none): the parts must agree on their own.
    const elsewhere = scratch();
    const refusal = await startEmbedded({ home: mixed, port: 0, logger: quiet(), witnessDir: elsewhere }).catch((e: Error) => e);
    expect((refusal as Error).message).toMatch(
      /^the database \(db\/\) is older than the audit log \(audit\/\): the log's entry \d+ records event \S+ \(\S+\), which the database never received \(restored from an older backup, copied while Countersign ran, or its last writes lost in a power cut/,
    );
    // A power cut took the database's last writes, and there is no better backup: the operator goes on, knowingly, once.
    const accept = /COUNTERSIGN_ACCEPT_RESTORE=(database-behind:\d+)$/.exec((refusal as Error).message)![1];
    await (await startEmbedded({ home: mixed, port: 0, logger: quiet(), witnessDir: elsewhere, acceptRestore: accept })).close();
    await (await startEmbedded({ home: mixed, port: 0, logger: quiet(), witnessDir: elsewhere })).close();
  });

  it('audit/ from the backup beside the database of now: refused (the log lost the entries the database saw signed)', async () => {
    const mixed = mixedOf(home, backup);
    const elsewhere = scratch();
    const refusal = await startEmbedded({ home: mixed, port: 0, logger: quiet(), witnessDir: elsewhere }).catch((e: Error) => e);
    expect((refusal as Error).message).toMatch(
      /^the audit log \(audit\/, \d+ entries\) does not hold the tree head the database \(db\/\) recorded at \d+ entries, signed \S+: audit\/ is older than db\//,
    );
    const accept = /COUNTERSIGN_ACCEPT_RESTORE=(audit-behind:\d+)$/.exec((refusal as Error).message)![1];
    await expect(startEmbedded({ home: mixed, port: 0, logger: quiet(), witnessDir: elsewhere, acceptRestore: `${accept}0` })).rejects.toThrow(
      StartRefusedError,
    );
    await (await startEmbedded({ home: mixed, port: 0, logger: quiet(), witnessDir: elsewhere, acceptRestore: accept })).close();
    await (await startEmbedded({ home: mixed, port: 0, logger: quiet(), witnessDir: elsewhere })).close();
  });

  it('the home as it was last stopped starts (its witness and its parts agree); so does a copy of it on another machine', async () => {
    const running = await startEmbedded({ home, port: 0, logger: quiet(), witnessDir });
    await running.close();
    const elsewhere = await startEmbedded({ home: copyOf(home), port: 0, logger: quiet(), witnessDir: scratch() });
    await elsewhere.close();
  });

  it('a home whose newest events include two of one key on a compacted topic starts again (red team, 2026-12-07: refused as "database behind")', async () => {
    // A type's autonomy lowered twice: two events of one key (its flag) on the autonomy topic, which keeps the newest of
    // each key. The first was compacted away at the next start, and the start took it as never received.
    const own = join(scratch(), 'home');
    const witness = scratch();
    await runOnce(own, witness, 'compacted');
    let running = await startEmbedded({ home: own, port: 0, logger: quiet(), witnessDir: witness });
    const admin = readFileSync(join(own, 'tokens', 'admin'), 'utf8');
    try {
      const risky = await call('POST', `${running.url}/v1/autonomy/ticket.tag/lower`, { level: 'review-risky', reason: 'risky tags by hand' }, admin);
      expect(risky.status).toBe(200);
      const all = await call('POST', `${running.url}/v1/autonomy/ticket.tag/lower`, { level: 'review-all', reason: 'every tag by hand' }, admin);
      expect(all.status).toBe(200);
      await eventually(() => {
        const topics = readFileSync(join(own, 'audit', 'audit.jsonl'), 'utf8')
          .split('\n')
          .filter((l) => l.includes('"ticket.tag"') && l.includes('control.autonomy.changed'));
        expect(topics.length).toBeGreaterThanOrEqual(2);
      });
    } finally {
      await running.close();
    }
    // It starts, and the newest change holds: a tag waits for review, it is not executed.
    running = await startEmbedded({ home: own, port: 0, logger: quiet(), witnessDir: witness });
    try {
      const agent = readFileSync(join(own, 'tokens', 'agent'), 'utf8');
      const tag = { ...example('refund-small.json'), actionType: 'ticket.tag', target: 'ticket-9', parameters: { tag: 'billing' } };
      const res = await call('POST', `${running.url}/v1/proposals`, tag, agent);
      expect(res.status).toBeLessThan(500);
      const effects = await call('GET', `${running.url}/_sink/effects`, undefined, readFileSync(join(own, 'tokens', 'sink'), 'utf8'));
      expect(JSON.stringify(effects.body)).not.toContain('ticket-9');
    } finally {
      await running.close();
    }
  });

  it('a witness in a default folder that cannot be written is still checked (red team, 2026-12-05: it was ignored)', async () => {
    const witness = witnessCopy();
    rmSync(join(witness, '.writable'), { force: true });
    execFileSync('chattr', ['+i', witness]); // nothing new can be made in it (as a read-only mount)
    const before = process.env.COUNTERSIGN_WITNESS_DIR;
    process.env.COUNTERSIGN_WITNESS_DIR = witness;
    try {
      await expect(startEmbedded({ home: copyOf(backup), port: 0, logger: quiet() })).rejects.toThrow(/^this machine saw this home's audit log signed at/);
    } finally {
      process.env.COUNTERSIGN_WITNESS_DIR = before;
      execFileSync('chattr', ['-i', witness]);
    }
  });

  it('the main refuses a restored home in one line, and starts it with COUNTERSIGN_ACCEPT_RESTORE', async () => {
    const restored = copyOf(backup);
    const witnessDir = witnessCopy();
    const refused = await startMain({ COUNTERSIGN_HOME: restored, COUNTERSIGN_WITNESS_DIR: witnessDir });
    expect(refused.code).toBe(1);
    const lines = refused.output.trimEnd().split('\n');
    expect(lines).toEqual([expect.stringMatching(/^countersign \(embedded\) could not start: this machine saw this home's audit log signed at \d+ entries/)]);
    const size = /COUNTERSIGN_ACCEPT_RESTORE=(restored:\d+)$/.exec(lines[0])![1];
    const started = await startMain({ COUNTERSIGN_HOME: restored, COUNTERSIGN_WITNESS_DIR: witnessDir, COUNTERSIGN_ACCEPT_RESTORE: size }, /is running on/);
    expect(started.output).toMatch(/"alert":"home-restored"/);
    expect(started.output).toMatch(/is running on/);
    // Stopped by SIGTERM, it says that it stopped, as its last line (first-user probe, 2026-12-07: nothing told).
    expect(started.output.trimEnd()).toMatch(/\nCountersign \(embedded\) stopped: everything in flight finished; the next start goes on from here\.$/);
    expect(started.code).toBe(0);
  });
});

describe("the home's witness", () => {
  it('by default, a folder that cannot be written is said at error and the home starts (red team, 2026-12-05: an upgrade refused); given, it refuses', async () => {
    const home = join(scratch(), 'home');
    const lines: Array<{ alert?: string; msg: string }> = [];
    const logger = pino({ level: 'error' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    const before = process.env.COUNTERSIGN_WITNESS_DIR;
    process.env.COUNTERSIGN_WITNESS_DIR = '/dev/null/witness'; // under a file: no folder can be made there
    try {
      await (await startEmbedded({ home, port: 0, logger })).close();
    } finally {
      process.env.COUNTERSIGN_WITNESS_DIR = before;
    }
    expect(lines).toContainEqual(
      expect.objectContaining({ alert: 'home-witness', msg: expect.stringMatching(/^the default witness folder \/dev\/null\/witness cannot be written/) }),
    );
    await expect(startEmbedded({ home, port: 0, logger: quiet(), witnessDir: '/dev/null/witness' })).rejects.toThrow(
      /^COUNTERSIGN_WITNESS_DIR \/dev\/null\/witness: cannot be written/,
    );
  });

  it('is refused inside the home (a restore would take it back too), and lists the audit log in home.json from the first start', async () => {
    const home = join(scratch(), 'home');
    await expect(startEmbedded({ home, port: 0, logger: quiet(), witnessDir: join(home, 'witness') })).rejects.toThrow(
      `COUNTERSIGN_WITNESS_DIR ${join(home, 'witness')}: is inside COUNTERSIGN_HOME ${home}: a restore of the home would take the witness back with it; choose a folder outside the home`,
    );
    const running = await startEmbedded({ home, port: 0, logger: quiet(), witnessDir: scratch() });
    try {
      // Home probe, 2026-12-05: a first run listed no audit log until its clean stop, so a lost audit/ began a new log.
      expect(JSON.parse(readFileSync(join(home, 'home.json'), 'utf8'))).toMatchObject({ auditLog: true });
      expect(existsSync(join(home, 'audit', 'audit.jsonl'))).toBe(true);
    } finally {
      await running.close();
    }
  });
});
