import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryBytes, exportSegment, generateTreeHeadKey, keyFingerprint, KeyRing, leafHash, TreeHead } from '@countersign/audit-chain';
import { createPgPool, Pool } from '@countersign/storage';
import { createTestDatabase } from '@countersign/testing';
import { FileHeadStore } from '../chain/file-head-store';
import { auditEntry } from '../log-store/audit-log.suite';
import { PgAuditLogRepository } from '../log-store/pg-audit-log.repository';
import { runAuditCli } from './main';

// real: PostgreSQL (owner and restricted audit role), the CLI as operators run it; fake: nothing.
// The tampering below is what an operator with the table owner's rights could do after disabling the
// append-only triggers: the CLI must find each change and name its index.
jest.setTimeout(60_000);
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

async function loggedDatabase() {
  const db = await createTestDatabase('auditcli');
  const owner: Pool = createPgPool(db.url, 2);
  const serviceUrl = db.urlFor(process.env.AUDIT_DATABASE_URL!);
  const service = createPgPool(serviceUrl, 2);
  cleanups.push(async () => {
    await owner.end();
    await service.end();
    await db.drop();
  });
  const log = new PgAuditLogRepository(service);
  const key = generateTreeHeadKey('heads-cli', new Date('2026-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'));
  const ring = new KeyRing([key.entry]);
  const dir = mkdtempSync(join(tmpdir(), 'audit-cli-'));
  const keysFile = join(dir, 'keys.json');
  writeFileSync(keysFile, JSON.stringify([{ keyId: 'heads-cli', publicPem: key.publicPem, notBefore: key.entry.notBefore, notAfter: key.entry.notAfter }]));
  const headStore = new FileHeadStore(join(dir, 'heads'));
  const heads: TreeHead[] = [];
  for (let b = 0; b < 5; b++) {
    const tip = await log.appendBatch(Array.from({ length: 10 }, (_, i) => auditEntry(`e${b * 10 + i}`, `a${i}`, { data: { n: b * 10 + i } })));
    if (b === 1 || b === 4) {
      const head = ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date('2026-11-24T10:00:00Z'));
      heads.push(head);
      await log.saveHead(head);
      headStore.write(head);
    }
  }
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runAuditCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const verify = () => run('verify', '--database', serviceUrl, '--keys', keysFile, '--heads-dir', join(dir, 'heads'));
  const tamper = async (...sql: string[]) => {
    await owner.query('ALTER TABLE audit_log DISABLE TRIGGER USER; ALTER TABLE audit_tree_heads DISABLE TRIGGER USER');
    for (const s of sql) await owner.query(s);
  };
  return { run, verify, tamper, heads, dir, keysFile, serviceUrl, owner, fingerprint: keyFingerprint(key.entry.privateKey) };
}

describe('countersign audit verify, on PostgreSQL', () => {
  it('verifies an untouched log against the signed heads', async () => {
    const { verify } = await loggedDatabase();
    expect(await verify()).toMatchObject({ code: 0, out: expect.stringMatching(/^verified: 50 entries, 2 signed heads, root [0-9a-f]{64}$/) });
  });

  it('names a modified entry, also when its recorded leaf hash was recomputed (at the first head that no longer matches)', async () => {
    const { verify, tamper } = await loggedDatabase();
    await tamper(`UPDATE audit_log SET entry_json = replace(entry_json, '"n":20', '"n":999') WHERE idx = 20`);
    expect(await verify()).toMatchObject({ code: 1, out: 'FAILED at index 20: entry 20 does not match its recorded leaf hash: modified' });

    const careful = await loggedDatabase();
    const { rows } = await careful.owner.query('SELECT entry_json FROM audit_log WHERE idx = 20');
    const changed = entryBytes({ ...JSON.parse(rows[0].entry_json), data: { n: 999 } });
    await careful.tamper(`UPDATE audit_log SET entry_json = '${changed.toString('utf8')}', leaf_hash = '${leafHash(changed).toString('hex')}' WHERE idx = 20`);
    expect(await careful.verify()).toMatchObject({
      code: 1,
      out: 'FAILED at index 49: the signed tree head of size 50 does not match the log: entries up to 49 were rewritten',
    });
  });

  it('names a deleted entry', async () => {
    const { verify, tamper } = await loggedDatabase();
    await tamper('DELETE FROM audit_log WHERE idx = 20');
    expect(await verify()).toMatchObject({ code: 1, out: 'FAILED at index 20: entry 20 is missing (found 21)' });
  });

  it('names an inserted entry', async () => {
    const { verify, tamper } = await loggedDatabase();
    await tamper(
      'UPDATE audit_log SET idx = idx + 1000 WHERE idx >= 20',
      'UPDATE audit_log SET idx = idx - 999 WHERE idx >= 1000',
      `INSERT INTO audit_log (idx, event_id, topic, type, subject, correlation_id, actor_id, event_time, entry_json, leaf_hash, tree_root)
       SELECT 20, 'forged', topic, type, subject, correlation_id, actor_id, event_time, replace(entry_json, '"eventId":"e20"', '"eventId":"forged"'), leaf_hash, tree_root FROM audit_log WHERE idx = 21`,
    );
    expect(await verify()).toMatchObject({ code: 1, out: expect.stringMatching(/^FAILED at index 20: /) });
  });

  it('names reordered entries', async () => {
    const { verify, tamper } = await loggedDatabase();
    await tamper(
      'UPDATE audit_log SET idx = -1 WHERE idx = 20',
      'UPDATE audit_log SET idx = 20 WHERE idx = 21',
      'UPDATE audit_log SET idx = 21 WHERE idx = -1',
    );
    expect(await verify()).toMatchObject({ code: 1, out: 'FAILED at index 20: entry 20 says it is entry 21: moved' });
  });

  it('names a truncation, even when the heads in the database were truncated too (the head store keeps them)', async () => {
    const { verify, tamper } = await loggedDatabase();
    await tamper('DELETE FROM audit_log WHERE idx >= 40', 'DELETE FROM audit_tree_heads WHERE tree_size > 40');
    expect(await verify()).toMatchObject({ code: 1, out: 'FAILED at index 40: truncated: the signed tree head covers 50 entries, only 40 are present' });
  });

  it('names a search column changed beside an untouched entry: a search by action or actor would hide or misattribute it', async () => {
    for (const [sql, field] of [
      ["UPDATE audit_log SET actor_id = 'alice' WHERE idx = 23", 'actor_id'],
      ["UPDATE audit_log SET subject = 'hidden-' || subject WHERE idx = 31", 'subject'],
      ["UPDATE audit_log SET type = 'something.else.v1' WHERE idx = 7", 'type'],
      ["UPDATE audit_log SET event_time = event_time - interval '1 day' WHERE idx = 12", 'event_time'],
    ]) {
      const { verify, tamper, owner } = await loggedDatabase();
      await tamper(sql);
      const index = Number(/idx = (\d+)/.exec(sql)![1]);
      const shown = (await owner.query(`SELECT ${field}::text AS v FROM audit_log WHERE idx = $1`, [index])).rows[0].v;
      const result = await verify();
      expect(result.code).toBe(1);
      expect(result.out).toContain(`FAILED at index ${index}: entry ${index}: its search column ${field} says ${JSON.stringify(shown)}, the entry `);
    }
  });

  it('names a forged tree-head signature', async () => {
    const { run, tamper, serviceUrl, keysFile } = await loggedDatabase();
    await tamper(`UPDATE audit_tree_heads SET signature = '${Buffer.from('x'.repeat(64)).toString('base64')}' WHERE tree_size = 20`);
    expect(await run('verify', '--database', serviceUrl, '--keys', keysFile)).toMatchObject({
      code: 1,
      out: 'FAILED at index 19: tree head of size 20 has an invalid signature',
    });
  });
});

describe('countersign audit verify --trust and --head, on PostgreSQL', () => {
  it('verifies with the pinned key and the recorded head, and fails a log cut back with its later heads deleted', async () => {
    const { run, tamper, heads, serviceUrl, keysFile, fingerprint } = await loggedDatabase();
    const last = heads[heads.length - 1];
    const pinned = await run('verify', '--database', serviceUrl, '--keys', keysFile, '--trust', fingerprint, '--head', `50:${last.rootHash}`);
    expect(pinned).toMatchObject({ code: 0, out: `verified: 50 entries, 2 signed heads, root ${last.rootHash}` });
    expect(pinned.err).toContain(`--trust ${fingerprint} --head 50:${last.rootHash}`);
    // Cut back to the head of 20, and that head the newest in the database (without the head store, nothing else knows).
    await tamper('DELETE FROM audit_log WHERE idx >= 20', 'DELETE FROM audit_tree_heads WHERE tree_size > 20');
    expect(await run('verify', '--database', serviceUrl, '--keys', keysFile)).toMatchObject({ code: 0, out: expect.stringMatching(/^verified: 20 entries/) });
    expect(await run('verify', '--database', serviceUrl, '--keys', keysFile, '--head', `50:${last.rootHash}`)).toMatchObject({
      code: 1,
      out: `FAILED at index 20: truncated: the recorded head 50:${last.rootHash} covers 50 entries, only 20 are present`,
    });
  });

  it('refuses heads signed again by a key added to the keys file, once the genuine key is pinned', async () => {
    const { run, tamper, heads, dir, serviceUrl, keysFile, fingerprint } = await loggedDatabase();
    const other = generateTreeHeadKey('heads-cli-2', new Date('2026-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'));
    const resigned = heads.map((h) => new KeyRing([other.entry]).sign(h.treeSize, Buffer.from(h.rootHash, 'hex'), new Date('2026-11-25T10:00:00Z')));
    await tamper(
      'DELETE FROM audit_tree_heads',
      ...resigned.map(
        (h) =>
          `INSERT INTO audit_tree_heads (tree_size, root_hash, signed_at, key_id, signature) VALUES (${h.treeSize}, '${h.rootHash}', '${h.timestamp}', '${h.keyId}', '${h.signature}')`,
      ),
    );
    const both = join(dir, 'both-keys.json');
    const listed = JSON.parse(readFileSync(keysFile, 'utf8'));
    writeFileSync(
      both,
      JSON.stringify([...listed, { keyId: 'heads-cli-2', publicPem: other.publicPem, notBefore: other.entry.notBefore, notAfter: other.entry.notAfter }]),
    );
    const unpinned = await run('verify', '--database', serviceUrl, '--keys', both);
    expect(unpinned).toMatchObject({ code: 0, err: expect.stringContaining('are not pinned') });
    expect(unpinned.err).toContain(`key heads-cli-2, fingerprint ${keyFingerprint(other.entry.privateKey)}: 2 signed heads`);
    expect(await run('verify', '--database', serviceUrl, '--keys', both, '--trust', fingerprint)).toMatchObject({
      code: 1,
      out: `FAILED at index 19: tree head of size 20 (signed 2026-11-25T10:00:00.000Z) is signed by key heads-cli-2, fingerprint ${keyFingerprint(other.entry.privateKey)}, which is not pinned`,
    });
  });
});

describe('countersign audit verify, on an exported segment file', () => {
  it('verifies a segment offline, and names the first bad index of a tampered copy', async () => {
    const { run, heads, dir, keysFile, serviceUrl, fingerprint } = await loggedDatabase();
    const pool = createPgPool(serviceUrl, 1);
    cleanups.unshift(() => pool.end());
    const log = new PgAuditLogRepository(pool);
    const file = join(dir, 'segment.jsonl');
    writeFileSync(file, exportSegment(await log.range(0, 50), heads));
    expect(await run('verify', '--segment', file, '--keys', keysFile)).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^verified: 50 entries, 2 signed heads/),
    });
    const last = heads[heads.length - 1];
    expect(await run('verify', '--segment', file, '--keys', keysFile, '--trust', fingerprint, '--head', `50:${last.rootHash}`)).toMatchObject({ code: 0 });
    expect(await run('verify', '--segment', file, '--keys', keysFile, '--trust', '00'.repeat(32))).toMatchObject({
      code: 1,
      out: expect.stringContaining('is signed by key heads-cli, fingerprint'),
    });
    writeFileSync(file, exportSegment(await log.range(0, 50), heads).replace('"n":33', '"n":34'));
    expect(await run('verify', '--segment', file, '--keys', keysFile)).toMatchObject({
      code: 1,
      out: 'FAILED at index 33: entry 33 does not match its recorded leaf hash: modified',
    });
  });
});

describe('countersign audit export', () => {
  it('exports the log, or a slice of it, as segment files that verify offline', async () => {
    const { run, dir, keysFile, serviceUrl } = await loggedDatabase();
    const whole = join(dir, 'whole.jsonl');
    expect(await run('export', '--database', serviceUrl, '--out', whole)).toMatchObject({ code: 0, err: `exported 50 entries to ${whole}` });
    expect(await run('verify', '--segment', whole, '--keys', keysFile)).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^verified: 50 entries, 2 signed heads/),
    });
    // From the middle: the header carries the compact range of the 20 entries before it.
    const slice = await run('export', '--database', serviceUrl, '--from', '20', '--to', '50');
    expect(slice.code).toBe(0);
    const sliceFile = join(dir, 'slice.jsonl');
    writeFileSync(sliceFile, `${slice.out}\n`);
    expect(slice.out.split('\n').filter((l) => l.startsWith('{"kind":"entry"'))).toHaveLength(30);
    expect(await run('verify', '--segment', sliceFile, '--keys', keysFile)).toMatchObject({
      code: 0,
      out: expect.stringMatching(
        /^verified: entries 20–49 \(30\) checked one by one; the 20 before them are vouched for only by the signed root \(compact range\), 1 signed head,/,
      ),
    });
    expect(await run('export', '--database', serviceUrl, '--from', '50')).toMatchObject({
      code: 2,
      err: expect.stringContaining('to: must be greater than from'),
    });
    expect(await run('export', '--database', serviceUrl, '--from', 'x')).toMatchObject({
      code: 2,
      err: expect.stringContaining('--from must be an entry index'),
    });
  });
});

describe('countersign audit prove, consistency, completeness', () => {
  it('proves an entry is in the log', async () => {
    const { run, serviceUrl } = await loggedDatabase();
    const res = await run('prove', '--database', serviceUrl, '--index', '17');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.out)).toMatchObject({ index: 17, treeSize: 50, verified: true, entry: { eventId: 'e17' } });
  });

  it('shows the log only grew between two heads, and refuses a head that was not signed by a known key', async () => {
    const { run, heads, dir, serviceUrl, keysFile } = await loggedDatabase();
    const [h1, h2] = heads.map((h, i) => {
      const file = join(dir, `head-${i}.json`);
      writeFileSync(file, JSON.stringify(h));
      return file;
    });
    const unpinned = await run('consistency', h1, h2, '--database', serviceUrl, '--keys', keysFile);
    expect(unpinned).toMatchObject({
      code: 0,
      out: 'consistent: the log of 20 entries is a prefix of the log of 50',
      err: expect.stringContaining('are not pinned'),
    });
    // Pinned, as verify: the fingerprint the warning names is accepted, any other refused.
    const fingerprint = /--trust ([0-9a-f]{64})/.exec(unpinned.err)![1];
    expect(await run('consistency', h1, h2, '--database', serviceUrl, '--keys', keysFile, '--trust', fingerprint)).toMatchObject({
      code: 0,
      out: 'consistent: the log of 20 entries is a prefix of the log of 50',
      err: '',
    });
    expect(await run('consistency', h1, h2, '--database', serviceUrl, '--keys', keysFile, '--trust', 'ab'.repeat(32))).toMatchObject({
      code: 1,
      out: expect.stringMatching(/^FAILED: no key in .* has a pinned fingerprint/),
    });
    const forged = join(dir, 'forged.json');
    writeFileSync(forged, JSON.stringify({ ...heads[0], rootHash: '00'.repeat(32) }));
    expect(await run('consistency', forged, h2, '--database', serviceUrl, '--keys', keysFile)).toMatchObject({
      code: 1,
      out: expect.stringMatching(/^FAILED: tree head of size 20 has an invalid signature/),
    });
  });

  it('lists actions without a complete chain', async () => {
    const db = await createTestDatabase('auditcomp');
    const pool = createPgPool(db.urlFor(process.env.AUDIT_DATABASE_URL!), 2);
    cleanups.push(async () => {
      await pool.end();
      await db.drop();
    });
    const at = '2026-11-24T10:00:00.000Z';
    const ev = (id: string, action: string, type: string, data: unknown = {}) => auditEntry(id, action, { eventType: type, topic: type, time: at, data });
    await new PgAuditLogRepository(pool).appendBatch([
      ev('1', 'done', 'orchestrator.action.proposed.v1'),
      ev('2', 'done', 'policy.decision.made.v1', { lane: 'autonomous' }),
      ev('3', 'done', 'execution.action.executed.v1'),
      ev('4', 'banned', 'orchestrator.action.proposed.v1'),
      ev('5', 'banned', 'policy.decision.made.v1', { lane: 'prohibited' }),
      ev('6', 'stuck', 'orchestrator.action.proposed.v1'),
      ev('7', 'waiting', 'orchestrator.action.proposed.v1'),
      ev('8', 'waiting', 'policy.decision.made.v1', { lane: 'review' }),
      // Produced by hand on the bus: decided and executed, never proposed.
      ev('9', 'forged', 'policy.decision.made.v1', { lane: 'autonomous' }),
      ev('10', 'forged', 'execution.action.executed.v1'),
    ]);
    const out: string[] = [];
    const code = await runAuditCli(['completeness', '--database', db.urlFor(process.env.AUDIT_DATABASE_URL!), '--since', '2026-11-24T00:00:00Z'], {
      out: (l) => out.push(l),
      err: () => undefined,
    });
    expect(code).toBe(1);
    expect(out.sort()).toEqual([
      '5 actions since 2026-11-24T00:00:00Z, 3 incomplete',
      'gap: action forged has no proposal (a policy decision for an action never proposed) (reached: policy.decision.made.v1 → execution.action.executed.v1)',
      'gap: action stuck has no policy decision (reached: orchestrator.action.proposed.v1)',
      'gap: action waiting has no review decision (reached: orchestrator.action.proposed.v1 → policy.decision.made.v1)',
    ]);
  });

  it('answers bad usage with exit code 2 and the usage', async () => {
    const err: string[] = [];
    expect(await runAuditCli(['verify'], { out: () => undefined, err: (l) => err.push(l) })).toBe(2);
    expect(err.join('\n')).toMatch(/--keys is required for verify/);
  });
});
