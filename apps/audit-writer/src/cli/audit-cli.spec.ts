import { execFileSync } from 'node:child_process';
import { closeSync, cpSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactRange, entryJson, exportSegment, generateTreeHeadKey, keyFingerprint, KeyRing, leafHashOfText, TreeHead } from '@countersign/audit-chain';
import { buildEnvelope } from '@countersign/bus';
import { EventData, TOPICS } from '@countersign/contracts';
import { FileHeadStore } from '../chain/file-head-store';
import { writerEntry, writerEventOptions } from '../chain/writer-entries';
import { auditEntry } from '../log-store/audit-log.suite';
import { FileAuditLogRepository } from '../log-store/file-audit-log.repository';
import { recoveryIn } from './audit-commands';
import { runAuditCli } from './main';

// real: the embedded mode's file store, head store and key files on a temporary directory, the CLI as
// operators run it; fake: nothing (no database: `verify --file` reads the embedded audit file only).

/** An embedded home's `audit/` as the embedded mode writes it: 25 entries, heads at 10, 20 and 25. */
async function embeddedAudit() {
  const dir = join(mkdtempSync(join(tmpdir(), 'audit-file-')), 'audit');
  const file = join(dir, 'audit.jsonl');
  const log = new FileAuditLogRepository(file);
  const key = generateTreeHeadKey('embedded-heads-1', new Date('2026-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'));
  const ring = new KeyRing([key.entry]);
  const headStore = new FileHeadStore(join(dir, 'heads'));
  const heads: TreeHead[] = [];
  const keysDir = join(dir, 'keys');
  mkdirSync(keysDir);
  const publicKey = { keyId: key.entry.keyId, publicKeyPem: key.publicPem, notBefore: key.entry.notBefore, notAfter: key.entry.notAfter };
  writeFileSync(join(keysDir, `${key.entry.keyId}.json`), JSON.stringify(publicKey));
  for (const [from, to] of [
    [0, 10],
    [10, 20],
    [20, 25],
  ]) {
    const tip = await log.appendBatch(Array.from({ length: to - from }, (_, i) => auditEntry(`e${from + i}`, `a${(from + i) % 4}`, { data: { n: from + i } })));
    const head = ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date('2026-11-24T10:00:00Z'));
    await log.saveHead(head);
    headStore.write(head);
    heads.push(head);
  }
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runAuditCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const lines = () => readFileSync(file, 'utf8').trimEnd().split('\n');
  const rewrite = (ls: string[], path = file) => writeFileSync(path, `${ls.join('\n')}\n`);
  return {
    dir,
    file,
    keysDir,
    ring,
    heads,
    log,
    headStore,
    fingerprint: keyFingerprint(key.entry.privateKey),
    run,
    lines,
    rewrite,
    verify: (...more: string[]) => run('verify', '--file', file, '--keys', keysDir, ...more),
  };
}

describe('countersign audit verify --file, on the embedded audit file', () => {
  it('verifies an untouched audit.jsonl with the heads beside it and in its head store', async () => {
    const { verify } = await embeddedAudit();
    expect(await verify()).toMatchObject({ code: 0, out: expect.stringMatching(/^verified: 25 entries, 3 signed heads, root [0-9a-f]{64}$/) });
  });

  it('takes the keys beside the file (audit/keys) when --keys is not given, and says so without one there (red team, 2026-12-05)', async () => {
    const a = await embeddedAudit();
    expect(await a.run('verify', '--file', a.file)).toMatchObject({ code: 0, out: expect.stringMatching(/^verified: 25 entries, 3 signed heads, root /) });
    rmSync(a.keysDir, { recursive: true });
    expect(await a.run('verify', '--file', a.file)).toMatchObject({ code: 2, err: expect.stringContaining('--keys is required for verify') });
  });

  it('export answers a range that cannot be before it connects to any database', async () => {
    // Port 1 on the loopback: nothing listens there, so a connection attempt would fail otherwise.
    const result = await (await embeddedAudit()).run('export', '--database', 'postgres://u@127.0.0.1:1/x', '--from', '10', '--to', '2');
    expect(result).toMatchObject({ code: 2, err: expect.stringContaining('--to must be greater than --from') });
  });

  it('looks again at a log being written whose newest entries are not signed yet, and passes once its writer signs them', async () => {
    const a = await embeddedAudit();
    const tip = await a.log.appendBatch([auditEntry('e25', 'a1', { data: { n: 25 } })]);
    const out: string[] = [];
    const err: string[] = [];
    let signed: Promise<void> | undefined;
    // The writer signs its next head once verify has found the tail unsigned and said it looks again (no race on time).
    const code = await runAuditCli(['verify', '--file', a.file, '--keys', a.keysDir], {
      out: (l) => out.push(l),
      err: (l) => {
        err.push(l);
        signed ??= (async () => {
          const head = a.ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date('2026-11-24T10:00:05Z'));
          await a.log.saveHead(head);
          a.headStore.write(head);
        })();
      },
    });
    await signed;
    expect(err[0]).toBe(`note: entries from 25 on are not signed yet and ${a.file} is being written: looking again in 2 s`);
    expect({ code, out: out.join('\n') }).toMatchObject({ code: 0, out: expect.stringMatching(/^verified: 26 entries, 4 signed heads, root /) });
  });

  it('fails at once on entries past every head in a log no one writes (a look again waits only on a file being written)', async () => {
    const a = await embeddedAudit();
    await a.log.appendBatch([auditEntry('e25', 'a1', { data: { n: 25 } })]);
    const unsigned = { code: 1, out: 'FAILED at index 25: entries from 25 on are not covered by any signed tree head' };
    // Not written for a minute: no writer will sign it, so no look again.
    const aMinuteAgo = new Date(Date.now() - 60_000);
    utimesSync(a.file, aMinuteAgo, aMinuteAgo);
    expect(await a.verify()).toEqual({ ...unsigned, err: '' });
  });

  it('names a modified, a deleted and an inserted entry by index', async () => {
    const a = await embeddedAudit();
    const ls = a.lines();
    a.rewrite(ls.map((l, i) => (i === 12 ? l.replace('"n":12', '"n":999') : l)));
    expect(await a.verify()).toMatchObject({ code: 1, out: 'FAILED at index 12: entry 12 does not match its recorded leaf hash: modified' });
    a.rewrite(ls.filter((_, i) => i !== 5));
    expect(await a.verify()).toMatchObject({ code: 1, out: 'FAILED at index 5: entry 5 is missing (found 6)' });
    a.rewrite([...ls.slice(0, 7), ls[7], ...ls.slice(7)]);
    const twice = 'FAILED at index 7: entry 7 appears twice (again at position 8): an entry was inserted or repeated at 7';
    expect(await a.verify()).toMatchObject({ code: 1, out: twice });
    a.rewrite([...ls.slice(0, 3), '{"index":3,', ...ls.slice(4)]);
    const broken = 'FAILED at index 3: the line of entry 3 (line 4) does not parse (unexpected end of input where a key in double quotes should be)';
    expect(await a.verify()).toMatchObject({ code: 1, out: broken });
  });

  it('finds a file cut exactly at a head through the head store, and a forged head there by its signature', async () => {
    const a = await embeddedAudit();
    a.rewrite(a.lines().slice(0, 20));
    a.rewrite(readFileSync(join(a.dir, 'tree-heads.jsonl'), 'utf8').trimEnd().split('\n').slice(0, 2), join(a.dir, 'tree-heads.jsonl'));
    expect(await a.verify()).toMatchObject({ code: 1, out: 'FAILED at index 20: truncated: the signed tree head covers 25 entries, only 20 are present' });
    const genuine = a.ring.sign(40, Buffer.alloc(32), new Date('2026-11-24T10:00:00Z'));
    const forged = { ...genuine, signature: Buffer.from('forged'.repeat(11)).toString('base64') };
    writeFileSync(join(a.dir, 'heads', 'forged.json'), JSON.stringify(forged));
    expect(await a.verify()).toMatchObject({ code: 1, out: 'FAILED at index 20: tree head of size 40 has an invalid signature' });
  });

  it('points from --segment to --file for an audit.jsonl, and takes one source only', async () => {
    const a = await embeddedAudit();
    expect(await a.run('verify', '--segment', a.file, '--keys', a.keysDir)).toMatchObject({
      code: 1,
      out: "FAILED at index 0: not a version 1 or 2 segment file: it looks like the embedded mode's audit.jsonl, verify it with --file",
    });
    const both = await a.run('verify', '--file', a.file, '--segment', a.file, '--keys', a.keysDir);
    expect(both).toMatchObject({ code: 2, err: expect.stringContaining('verify takes one of') });
  });

  it('answers --help with the usage on stdout and exit code 0', async () => {
    const a = await embeddedAudit();
    for (const ask of [['--help'], ['verify', '--help'], ['-h']])
      expect(await a.run(...ask)).toMatchObject({ code: 0, out: expect.stringMatching(/^countersign audit <command>/), err: '' });
  });
});

describe("countersign audit verify lists the entries that record a recovery at the writer's start (red team, 2026-12-04)", () => {
  /** The writer's record of a recovery, as its chain service appends it. */
  const recovery = (data: EventData<typeof TOPICS.logRecovered>) =>
    writerEntry(TOPICS.logRecovered, buildEnvelope(TOPICS.logRecovered, data, 'audit-writer', writerEventOptions(TOPICS.logRecovered, data, new Date())));
  const torn = {
    kind: 'torn-write' as const,
    file: '/home/x/audit/audit.jsonl',
    line: 29,
    bytes: 57,
    digest: 'ab'.repeat(32),
    keptAt: '/home/x/audit/audit.jsonl.torn-20261204T101010123Z',
    newestSignedHead: 28,
  };

  /** The 25 entries, then e25 and e26 past every head (killed), the record that they were adopted, and one of a torn line. */
  async function recovered() {
    const a = await embeddedAudit();
    const log = new FileAuditLogRepository(a.file);
    await log.appendBatch([auditEntry('e25', 'a1'), auditEntry('e26', 'a2')]);
    const headStore = new FileHeadStore(join(a.dir, 'heads'));
    for (const entry of [recovery({ kind: 'unsigned-tail', from: 25, to: 26 }), recovery(torn)]) {
      const tip = await log.appendBatch([entry]);
      const head = a.ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date('2026-11-24T10:00:00Z'));
      await log.saveHead(head);
      headStore.write(head);
      a.heads.push(head);
    }
    return a;
  }
  const listed = [
    "recovered: the log records 2 recoveries at the writer's start, each under a signed head (an unclean stop leaves them; after a clean stop they mean someone else wrote to the log):",
    '  entry 27 (unsigned-tail): entries 25..26 were past every signed head when the writer started, and were adopted as they were',
    `  entry 28 (torn-write): the last line of ${torn.file} (line 29, 57 bytes, SHA-256 ${torn.digest}) was cut short past every signed head (the newest of 28 entries) and set aside to ${torn.keptAt}`,
  ].join('\n');

  it('--file: lists them on stderr, by index, kind and range, and still verifies (exit 0, the one-line verdict on stdout)', async () => {
    const a = await recovered();
    const result = await a.verify();
    // The verdict itself says which entries no signature vouched for when they were written.
    expect(result).toMatchObject({
      code: 0,
      out: expect.stringMatching(
        /^verified: 29 entries, 5 signed heads, root [0-9a-f]{64}; 2 entries \(25\.\.26\) adopted unsigned after an unclean stop: no signature vouches the writer wrote them \(stderr\)$/,
      ),
    });
    expect(result.err).toContain(listed);
    // Before the values to record, which stay the last line.
    expect(result.err.indexOf(listed)).toBeLessThan(result.err.indexOf('record these outside this machine'));
    expect(result.err.split('\n').at(-1)).toMatch(/^record these outside this machine/);
    // A log without any lists none.
    expect((await (await embeddedAudit()).verify()).err).not.toContain('recovered:');
  });

  it('--strict: fails a log that records one, naming the first', async () => {
    const a = await recovered();
    const result = await a.verify('--strict');
    expect(result).toMatchObject({
      code: 1,
      out: "FAILED at index 27: entry 27 records a recovery at the writer's start, and --strict refuses any (listed on stderr)",
    });
    expect(result.err).toContain(listed);
    expect(await (await embeddedAudit()).verify('--strict')).toMatchObject({ code: 0 });
  });

  it('--segment: lists them from an exported segment too; and from the hashed bytes the database keeps', async () => {
    const a = await recovered();
    const stored = a.lines().map((l) => JSON.parse(l) as { index: number; entry: object; leafHash: string });
    const file = join(a.dir, 'segment.jsonl');
    writeFileSync(file, exportSegment(stored, a.heads));
    const result = await a.run('verify', '--segment', file, '--keys', a.keysDir);
    expect(result).toMatchObject({ code: 0, out: expect.stringMatching(/^verified: 29 entries/) });
    expect(result.err).toContain(listed);
    // The database's rows are read as the canonical bytes that were hashed.
    expect(recoveryIn({ index: 27, bytes: entryJson(stored[27].entry) })).toEqual({ index: 27, data: { kind: 'unsigned-tail', from: 25, to: 26 } });
    expect(recoveryIn({ index: 3, bytes: entryJson(stored[3].entry) })).toBeUndefined();
  });
});

type Audit = Awaited<ReturnType<typeof embeddedAudit>>;

/**
 * What someone who can write the home does without any key of the log: entry 12 changed, every leaf hash recomputed,
 * every head signed again with a key of their own (the old heads removed: `heads/` is read-only files in a writable
 * directory) and its public half dropped into `keys/`.
 */
function resign(a: Audit, change: (entry: { data: { n: number } }, index: number) => void) {
  const forger = generateTreeHeadKey('embedded-heads-2', new Date('2026-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'));
  const ring = new KeyRing([forger.entry]);
  const range = CompactRange.empty();
  const sizes = new Set(a.heads.map((h) => h.treeSize));
  const forgedHeads: TreeHead[] = [];
  const ls = a.lines().map((l, i) => {
    const stored = JSON.parse(l);
    change(stored.entry, i);
    const leaf = leafHashOfText(entryJson(stored.entry));
    range.append(leaf);
    if (sizes.has(i + 1)) forgedHeads.push(ring.sign(i + 1, range.root(), new Date('2026-11-24T10:00:00Z')));
    return JSON.stringify({ ...stored, leafHash: leaf.toString('hex') });
  });
  a.rewrite(ls);
  a.rewrite(
    forgedHeads.map((h) => JSON.stringify(h)),
    join(a.dir, 'tree-heads.jsonl'),
  );
  for (const f of readdirSync(join(a.dir, 'heads'))) rmSync(join(a.dir, 'heads', f));
  const store = new FileHeadStore(join(a.dir, 'heads'));
  forgedHeads.forEach((h) => store.write(h));
  const publicKey = { keyId: forger.entry.keyId, publicKeyPem: forger.publicPem, notBefore: forger.entry.notBefore, notAfter: forger.entry.notAfter };
  writeFileSync(join(a.keysDir, `${forger.entry.keyId}.json`), JSON.stringify(publicKey));
  return { forgedFingerprint: keyFingerprint(forger.entry.privateKey), forgedHeads };
}

/** The `--trust … --head …` values a verified log ends with, as arguments. */
const recorded = (err: string) => /record these outside this machine, and pass them to the next audit verify: (.*)$/m.exec(err)![1].split(' ').filter(Boolean);

describe('countersign audit verify --trust and --head: pinned keys and heads recorded elsewhere', () => {
  it('verifies with the pinned key and the recorded head, and ends with the values to record', async () => {
    const a = await embeddedAudit();
    const last = a.heads[a.heads.length - 1];
    const first = await a.verify();
    expect(first).toMatchObject({ code: 0, out: `verified: 25 entries, 3 signed heads, root ${last.rootHash}` });
    expect(recorded(first.err)).toEqual(['--trust', a.fingerprint, '--head', `25:${last.rootHash}`]);
    const pinned = await a.verify(...recorded(first.err));
    expect(pinned).toMatchObject({ code: 0, out: `verified: 25 entries, 3 signed heads, root ${last.rootHash}` });
    expect(pinned.err).not.toContain('warning');
    expect(pinned.err).toContain(`key embedded-heads-1, fingerprint ${a.fingerprint}: 3 signed heads`);
    // An earlier head recorded then still matches the log that grew since; so does a fingerprint given in upper case.
    const h10 = a.heads[0];
    expect(await a.verify('--trust', a.fingerprint.toUpperCase(), '--head', `10:${h10.rootHash}`)).toMatchObject({ code: 0 });
  });

  it('warns without --trust that the keys are not pinned, naming each key, its fingerprint and its heads', async () => {
    const a = await embeddedAudit();
    const { err } = await a.verify();
    expect(err).toContain(`warning: the tree-head keys were taken from ${a.keysDir} and are not pinned`);
    expect(err).toContain(`key embedded-heads-1, fingerprint ${a.fingerprint}: 3 signed heads, 2026-11-24T10:00:00.000Z to 2026-11-24T10:00:00.000Z`);
    expect(err).not.toContain('different keys');
  });

  it('passes a log rewritten and signed again with a key dropped into keys/ only with the warning, and fails it with --trust', async () => {
    const a = await embeddedAudit();
    const { forgedFingerprint } = resign(a, (entry, i) => {
      if (i === 12) entry.data.n = 999;
    });
    const unpinned = await a.verify();
    expect(unpinned).toMatchObject({ code: 0, out: expect.stringMatching(/^verified: 25 entries, 3 signed heads/) });
    expect(unpinned.err).toContain('are not pinned');
    expect(unpinned.err).toContain(`key embedded-heads-2, fingerprint ${forgedFingerprint}: 3 signed heads`);
    const pinned = await a.verify('--trust', a.fingerprint);
    expect(pinned).toMatchObject({
      code: 1,
      out: `FAILED at index 9: tree head of size 10 (signed 2026-11-24T10:00:00.000Z) is signed by key embedded-heads-2, fingerprint ${forgedFingerprint}, which is not pinned`,
    });
    // With the forger's key pinned (stolen, or pinned by mistake), the head recorded elsewhere still catches the rewrite.
    const last = a.heads[a.heads.length - 1];
    const anchored = await a.verify('--trust', forgedFingerprint, '--head', `25:${last.rootHash}`);
    expect(anchored).toMatchObject({
      code: 1,
      out: expect.stringMatching(/^FAILED at index 24: the log's first 25 entries have root [0-9a-f]{64}, not the recorded head's/),
    });
  });

  it('fails a log cut back to an earlier head, its later heads removed, when given the later head', async () => {
    const a = await embeddedAudit();
    a.rewrite(a.lines().slice(0, 20));
    a.rewrite(readFileSync(join(a.dir, 'tree-heads.jsonl'), 'utf8').trimEnd().split('\n').slice(0, 2), join(a.dir, 'tree-heads.jsonl'));
    for (const f of readdirSync(join(a.dir, 'heads')).filter((f) => f.startsWith('00000000000025-'))) rmSync(join(a.dir, 'heads', f));
    expect(await a.verify()).toMatchObject({ code: 0, out: expect.stringMatching(/^verified: 20 entries, 2 signed heads/) });
    const last = a.heads[a.heads.length - 1];
    expect(await a.verify('--trust', a.fingerprint, '--head', `25:${last.rootHash}`)).toMatchObject({
      code: 1,
      out: `FAILED at index 20: truncated: the recorded head 25:${last.rootHash} covers 25 entries, only 20 are present`,
    });
  });

  it('names every key when more than one signed the heads, and refuses two different keys under one id', async () => {
    const a = await embeddedAudit();
    const { forgedFingerprint } = resign(a, () => undefined);
    // Heads kept elsewhere by the genuine key, and the ones signed again by another: both verify.
    const elsewhere = join(a.dir, 'elsewhere');
    mkdirSync(elsewhere);
    const store = new FileHeadStore(elsewhere);
    a.heads.forEach((h) => store.write(h));
    const both = await a.verify('--heads-dir', elsewhere);
    expect(both).toMatchObject({ code: 0 });
    expect(both.err).toContain(`key embedded-heads-1, fingerprint ${a.fingerprint}: 3 signed heads`);
    expect(both.err).toContain(`key embedded-heads-2, fingerprint ${forgedFingerprint}: 3 signed heads`);
    expect(both.err).toContain('note: the heads are signed by 2 different keys');
    const other = generateTreeHeadKey('embedded-heads-1', new Date('2026-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'));
    const stand = { keyId: 'embedded-heads-1', publicKeyPem: other.publicPem, notBefore: other.entry.notBefore, notAfter: other.entry.notAfter };
    writeFileSync(join(a.keysDir, 'aaa.json'), JSON.stringify(stand));
    expect(await a.verify()).toMatchObject({
      code: 1,
      out: expect.stringMatching(
        /^FAILED: two different public keys have the id embedded-heads-1 \(fingerprints [0-9a-f]{64} and [0-9a-f]{64}\): one of them was added$/,
      ),
    });
  });

  it('refuses bad --trust and --head values (exit 2)', async () => {
    const a = await embeddedAudit();
    expect(await a.verify('--trust', 'abc')).toMatchObject({ code: 2, err: expect.stringContaining('--trust abc: a key fingerprint is 64 hex digits') });
    expect(await a.verify('--head', '25')).toMatchObject({ code: 2, err: expect.stringContaining('--head 25: expected SIZE:ROOT') });
    // prove takes them with --file only: the database's heads are checked by audit verify --database.
    expect(await a.run('prove', '--index', '1', '--trust', a.fingerprint)).toMatchObject({
      code: 2,
      err: expect.stringContaining('--trust and --head go with --file here'),
    });
    expect(await a.run('consistency', 'a.json', 'b.json', '--file', a.file, '--head', `1:${'ab'.repeat(32)}`)).toMatchObject({
      code: 2,
      err: expect.stringContaining('--head is an option of verify'),
    });
  });
});

describe('countersign audit verify --file reads each line strictly', () => {
  it('refuses a line with a duplicate key, which JSON.parse would read as the genuine entry', async () => {
    const a = await embeddedAudit();
    const ls = a.lines();
    // The last "n" is the genuine one: JSON.parse keeps it and the leaf hash matches; a reader taking the first sees 999.
    a.rewrite(ls.map((l, i) => (i === 12 ? l.replace('"n":12', '"n":999,"n":12') : l)));
    expect(await a.verify()).toMatchObject({
      code: 1,
      out: 'FAILED at index 12: the line of entry 12 (line 13) does not parse (duplicate key "n" in the object at /entry/data)',
    });
  });

  it('refuses invalid UTF-8 instead of reading it as U+FFFD', async () => {
    const a = await embeddedAudit();
    const bytes = readFileSync(a.file);
    const at = bytes.indexOf('"eventId":"e7"');
    bytes[at + '"eventId":"e'.length] = 0xff;
    writeFileSync(a.file, bytes);
    expect(await a.verify()).toMatchObject({
      code: 1,
      out: expect.stringMatching(/^FAILED at index 7: the line of entry 7 \(line 8\) does not parse \(invalid UTF-8 at byte \d+\)$/),
    });
  });

  it('refuses a top-level field the audit file does not write, and a recordedAt not in its form', async () => {
    const a = await embeddedAudit();
    const ls = a.lines();
    a.rewrite(ls.map((l, i) => (i === 12 ? l.replace('{"index":12,', '{"index":12,"note":"approved by phone",') : l)));
    expect(await a.verify()).toMatchObject({
      code: 1,
      out: 'FAILED at index 12: the line of entry 12 (line 13) has a field "note" that the audit file does not write: it was added outside Countersign',
    });
    a.rewrite(ls.map((l, i) => (i === 12 ? l.replace(/"recordedAt":"[^"]*"/, '"recordedAt":"yesterday"') : l)));
    expect(await a.verify()).toMatchObject({
      code: 1,
      out: 'FAILED at index 12: the line of entry 12 (line 13) has no recordedAt time in the form the audit file writes it',
    });
  });

  it('fails a line whose recordedAt was changed: the time is hashed with the entry', async () => {
    const a = await embeddedAudit();
    const ls = a.lines();
    const at = ls.length - 5;
    const recorded = (JSON.parse(ls[at]) as { recordedAt: string }).recordedAt;
    a.rewrite(ls.map((l, i) => (i === at ? l.replace(/"recordedAt":"[^"]*"/, '"recordedAt":"2020-01-01T00:00:00.000Z"') : l)));
    expect(await a.verify()).toMatchObject({
      code: 1,
      out: `FAILED at index ${at}: entry ${at} shows recordedAt "2020-01-01T00:00:00.000Z", but was hashed as recorded at "${recorded}": its time was changed`,
    });
  });

  it('fails a line rewritten with the same content in other bytes: a number another parser reads otherwise, an escape, a CR', async () => {
    const a = await embeddedAudit();
    const ls = a.lines();
    for (const [from, to] of [
      ['"n":12', '"n":12.0'],
      ['"n":12', '"n":1.2e1'],
      ['"eventId":"e12"', '"eventId":"\\u0065\\u0031\\u0032"'],
      ['"n":12}', '"n":12}\r'],
    ]) {
      const at = ls.findIndex((l) => l.includes('"n":12}'));
      expect(ls[at]).toContain(from);
      a.rewrite(ls.map((l, i) => (i === at ? l.replace(from, to) : l)));
      expect(await a.verify()).toMatchObject({
        code: 1,
        out: `FAILED at index 12: the line of entry 12 (line 13) is not written as the audit file writes it (the same content in other bytes): it was rewritten outside Countersign`,
      });
    }
    // A number with more digits than a double keeps is not read at all (another parser may read it otherwise).
    const at = ls.findIndex((l) => l.includes('"n":12}'));
    a.rewrite(ls.map((l, i) => (i === at ? l.replace('"n":12', '"n":12.0000000000000001') : l)));
    expect(await a.verify()).toMatchObject({
      code: 1,
      out: expect.stringMatching(
        /^FAILED at index 12: the line of entry 12 \(line 13\) does not parse \(number 12\.0000000000000001 at position \d+ has more digits than can be read exactly \(it would be 12\)\)$/,
      ),
    });
    a.rewrite(ls);
    expect(await a.verify()).toMatchObject({ code: 0 });
  });

  it('fails a line whose own fields are in another order, and a blank line, neither of which the writer writes (red team, 2026-12-04)', async () => {
    const a = await embeddedAudit();
    const ls = a.lines();
    const at = ls.findIndex((l) => l.includes('"n":12}'));
    const reversed = JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(ls[at]) as object).reverse()));
    a.rewrite(ls.map((l, i) => (i === at ? reversed : l)));
    expect(await a.verify()).toMatchObject({
      code: 1,
      out: `FAILED at index 12: the line of entry 12 (line 13) is not written as the audit file writes it (the same content in other bytes): it was rewritten outside Countersign`,
    });
    a.rewrite([...ls.slice(0, at), ' ', ...ls.slice(at)]);
    expect(await a.verify()).toMatchObject({
      code: 1,
      out: `FAILED at index 12: the line of entry 12 (line 13) is blank, and the audit file writes no blank line: it was added outside Countersign`,
    });
    a.rewrite(ls);
    expect(await a.verify()).toMatchObject({ code: 0 });
  });

  it('refuses a duplicate key in tree-heads.jsonl', async () => {
    const a = await embeddedAudit();
    const headsFile = join(a.dir, 'tree-heads.jsonl');
    const hs = readFileSync(headsFile, 'utf8').trimEnd().split('\n');
    a.rewrite([hs[0].replace('"treeSize":10', '"treeSize":99,"treeSize":10'), ...hs.slice(1)], headsFile);
    expect(await a.verify()).toMatchObject({ code: 1, out: expect.stringContaining('line 1 of') });
    expect((await a.verify()).out).toContain('does not parse (duplicate key "treeSize" in the object at /): the heads were tampered with');
  });
});

describe('countersign audit verify: what it reads is bounded, and what it says was checked was checked', () => {
  it('--file: refuses a line as soon as it passes the 64 MiB limit, without holding the rest of it', async () => {
    const a = await embeddedAudit();
    const huge = join(a.dir, 'huge.jsonl');
    const fd = openSync(huge, 'w');
    ftruncateSync(fd, 64 * 1024 * 1024 + 4096); // sparse: zeros with no newline, a line that never ends within the limit
    closeSync(fd);
    expect(await a.run('verify', '--file', huge, '--keys', a.keysDir)).toEqual({
      code: 1,
      out: 'FAILED at index 0: the line of entry 0 (line 1) is longer than 67108864 bytes, the most a line of the audit file may be',
      err: '',
    });
  });

  it('--segment: refuses a file over the size limit, and one that is not a regular file, before reading it', async () => {
    const a = await embeddedAudit();
    const big = join(a.dir, 'big.jsonl');
    const fd = openSync(big, 'w');
    ftruncateSync(fd, 256 * 1024 * 1024 + 1);
    closeSync(fd);
    expect(await a.run('verify', '--segment', big, '--keys', a.keysDir)).toEqual({
      code: 1,
      out: '',
      err: `error: ${big} is 268435457 bytes, over the 268435456-byte limit of a segment: export the log in parts (audit export --from N --to M)`,
    });
    // A directory cannot be read at all: the log does not verify (a failed verdict, as for a log that has gone, below).
    expect(await a.run('verify', '--segment', a.dir, '--keys', a.keysDir)).toEqual({
      code: 1,
      out: `FAILED: cannot read ${a.dir}: it is a directory`,
      err: '',
    });
    // Nor can a device or a named pipe: said, never waited on (operator CLI probe, 2026-12-06: a FIFO hung the command).
    const fifo = join(a.dir, 'segment.fifo');
    execFileSync('mkfifo', [fifo]);
    for (const input of ['/dev/null', fifo])
      expect(await a.run('verify', '--segment', input, '--keys', a.keysDir)).toEqual({
        code: 1,
        out: `FAILED: cannot read ${input}: it is not a regular file (a device, a pipe or a socket): save it to a file`,
        err: '',
      });
    // A named pipe among the keys is bad usage, said at once.
    const keys = join(a.dir, 'keys-with-fifo');
    cpSync(a.keysDir, keys, { recursive: true });
    execFileSync('mkfifo', [join(keys, 'zz.json')]);
    expect(await a.run('verify', '--segment', big, '--keys', keys)).toMatchObject({
      code: 2,
      err: expect.stringContaining(`zz.json: it is not a regular file (a device, a pipe or a socket)`),
    });
  });

  it('--segment: a segment from index N says which entries it checked, and that the compact range stands for the rest', async () => {
    const a = await embeddedAudit();
    const stored = a.lines().map((l) => JSON.parse(l) as { index: number; entry: object; leafHash: string });
    const prefix = CompactRange.empty();
    for (const e of stored.slice(0, 10)) prefix.append(Buffer.from(e.leafHash, 'hex'));
    const file = join(a.dir, 'from-10.jsonl');
    writeFileSync(
      file,
      exportSegment(
        stored.slice(10),
        a.heads.filter((h) => h.treeSize > 10),
        prefix.state(),
      ),
    );
    expect(await a.run('verify', '--segment', file, '--keys', a.keysDir)).toMatchObject({
      code: 0,
      out: expect.stringMatching(
        /^verified: entries 10–24 \(15\) checked one by one; the 10 before them are vouched for only by the signed root \(compact range\), 2 signed heads, root [0-9a-f]{64}$/,
      ),
    });
    // From 0 the verdict is unchanged.
    writeFileSync(file, exportSegment(stored, a.heads));
    expect(await a.run('verify', '--segment', file, '--keys', a.keysDir)).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^verified: 25 entries, 3 signed heads, root [0-9a-f]{64}$/),
    });
  });
});

describe('countersign audit verify counts the signed heads it checked', () => {
  it('says "1 signed head" for one, and "signed heads" for more', async () => {
    const a = await embeddedAudit();
    const stored = a.lines().map((l) => JSON.parse(l) as { index: number; entry: object; leafHash: string });
    const file = join(a.dir, 'first-ten.jsonl');
    writeFileSync(
      file,
      exportSegment(
        stored.slice(0, 10),
        a.heads.filter((h) => h.treeSize === 10),
      ),
    );
    expect(await a.run('verify', '--segment', file, '--keys', a.keysDir)).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^verified: 10 entries, 1 signed head, root [0-9a-f]{64}$/),
    });
    expect(await a.verify()).toMatchObject({ code: 0, out: expect.stringMatching(/^verified: 25 entries, 3 signed heads, root /) });
  });
});

describe('countersign audit answers a file it cannot read with one line naming it: FAILED (exit 1) for the log it verifies, exit 2 (bad usage) for the rest', () => {
  // 127.0.0.1:1: nothing listens there; each file below is read before a connection would be tried.
  const db = 'postgres://countersign@127.0.0.1:1/countersign';

  it('verify: a log that has gone (a missing --file or --segment, a directory in its place) does not verify: FAILED, exit 1', async () => {
    const a = await embeddedAudit();
    const missing = join(a.dir, 'nope.jsonl');
    const elsewhere = join(mkdtempSync(join(tmpdir(), 'audit-gone-')), 'audit.jsonl');
    const cases: Array<[string[], string]> = [
      [['verify', '--file', missing, '--keys', a.keysDir], `FAILED: cannot read ${missing}: no such file`],
      [['verify', '--file', a.keysDir, '--keys', a.keysDir], `FAILED: cannot read ${a.keysDir}: it is a directory`],
      [['verify', '--segment', missing, '--keys', a.keysDir], `FAILED: cannot read ${missing}: no such file`],
      // No keys named, none beside it: the log that has gone is what is said (it was "--keys is required").
      [['verify', '--file', elsewhere], `FAILED: cannot read ${elsewhere}: no such file`],
    ];
    // A monitor that alarms on exit 1 (or on FAILED) sees a deleted log as it sees a changed one.
    for (const [args, message] of cases) expect({ args, ...(await a.run(...args)) }).toEqual({ args, code: 1, out: message, err: '' });
  });

  it('verify: a missing --keys or --heads-dir, and a file given as a directory, are bad usage (exit 2)', async () => {
    const a = await embeddedAudit();
    const missing = join(a.dir, 'nope.jsonl');
    const cases: Array<[string[], string]> = [
      [['verify', '--file', a.file, '--keys', missing], `cannot read ${missing}: no such file`],
      [['verify', '--file', a.file, '--keys', a.keysDir, '--heads-dir', missing], `cannot read ${missing}: no such file`],
      [['verify', '--file', a.file, '--keys', a.keysDir, '--heads-dir', a.file], `cannot read ${a.file}: it is not a directory`],
      [['verify', '--database', db, '--keys', missing], `cannot read ${missing}: no such file`],
    ];
    for (const [args, message] of cases) expect({ args, ...(await a.run(...args)) }).toEqual({ args, code: 2, out: '', err: message });
  });

  it('verify: a key file in --keys that cannot be read is named, not reported as a key that "cannot be read" (exit 1)', async () => {
    const a = await embeddedAudit();
    const inside = join(a.keysDir, 'half-copied.json');
    mkdirSync(inside);
    expect(await a.verify()).toEqual({ code: 2, out: '', err: `cannot read ${inside}: it is a directory` });
  });

  it('consistency: a missing head file', async () => {
    const a = await embeddedAudit();
    const missing = join(a.dir, 'head-1.json');
    expect(await a.run('consistency', missing, missing, '--database', db, '--keys', a.keysDir)).toEqual({
      code: 2,
      out: '',
      err: `cannot read ${missing}: no such file`,
    });
  });
});

describe('countersign audit refuses a command line it would otherwise half-ignore (exit 2, before connecting)', () => {
  // 127.0.0.1:1: nothing listens there, so a command that got as far as connecting would fail with exit 1, not 2.
  const db = 'postgres://countersign@127.0.0.1:1/countersign';

  it('refuses options of another command and stray arguments', async () => {
    const a = await embeddedAudit();
    expect(await a.run('verify', 'extra', 'positional', '--from', '5', '--out', join(a.dir, 'x'), '--file', a.file, '--keys', a.keysDir)).toMatchObject({
      code: 2,
      out: '',
      err: expect.stringMatching(/^--from is an option of export, not of verify\n/),
    });
    expect(await a.run('verify', 'extra', '--file', a.file, '--keys', a.keysDir)).toMatchObject({
      code: 2,
      err: expect.stringMatching(/^verify takes no arguments besides its options \(got extra\)\n/),
    });
    expect(await a.run('consistency', 'one.json', '--database', db, '--keys', a.keysDir)).toMatchObject({
      code: 2,
      err: expect.stringMatching(/^consistency takes two head files \(got 1\)\n/),
    });
    expect(await a.run('constructor')).toMatchObject({ code: 2, err: expect.stringMatching(/^unknown command constructor\n/) });
  });

  it('refuses a --index or --tree-size that is not an entry index', async () => {
    for (const [option, value] of [
      ['--index', 'abc'],
      ['--index', '-1'],
      ['--index', '1.5'],
      ['--tree-size', '1e3'],
    ]) {
      const args = ['prove', '--database', db, '--index', '1', `${option}=${value}`];
      const out: string[] = [];
      const err: string[] = [];
      const code = await runAuditCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
      const name = option.slice(2);
      expect({ args, code, out, err: err.join('\n').split('\n')[0] }).toEqual({
        args,
        code: 2,
        out: [],
        err: `--${name} must be ${name === 'index' ? 'an entry index' : 'a tree size'} (an integer ≥ 0)`,
      });
    }
  });

  it('refuses a --database that is not a PostgreSQL URL, without echoing it', async () => {
    for (const url of ['not a url', 'mysql://u:secret@host/db', 'postgres://']) {
      const err: string[] = [];
      const code = await runAuditCli(['prove', '--database', url, '--index', '1'], { out: () => undefined, err: (l) => err.push(l) });
      expect({ url, code, err: err.join('\n').split('\n')[0] }).toEqual({
        url,
        code: 2,
        err: '--database must be a PostgreSQL URL, such as postgres://user:password@host:5432/countersign',
      });
    }
  });
});

describe('countersign audit prove and consistency --file, on the embedded audit file (auditor probe, 2026-12-06: --database only)', () => {
  it('proves an entry in a signed tree, as from the database, with the keys and heads beside the file', async () => {
    const a = await embeddedAudit();
    const proved = await a.run('prove', '--file', a.file, '--index', '7');
    expect(proved.code).toBe(0);
    const answer = JSON.parse(proved.out) as { index: number; treeSize: number; entry: { eventId: string }; root: string; verified: boolean; proof: string[] };
    expect(answer).toMatchObject({ index: 7, treeSize: 25, entry: { eventId: 'e7' }, root: a.heads[2].rootHash, verified: true });
    expect(answer.proof.length).toBeGreaterThan(0);
    // In an earlier signed tree, its root.
    expect(JSON.parse((await a.run('prove', '--file', a.file, '--index', '7', '--tree-size', '10')).out)).toMatchObject({
      treeSize: 10,
      root: a.heads[0].rootHash,
    });
    expect(await a.run('prove', '--file', a.file, '--index', '30')).toMatchObject({
      code: 1,
      err: expect.stringContaining('error: no entry 30 in a tree of 25'),
    });
    // Unpinned, it says so; pinned to the right key, it does not; pinned to another, the file does not verify (operator
    // CLI probe, 2026-12-06: a log rewritten and signed again with a key of its own proved "verified").
    expect(proved.err).toContain('warning: the tree-head keys are not pinned');
    const pinned = await a.run('prove', '--file', a.file, '--index', '7', '--trust', a.fingerprint, '--head', `25:${a.heads[2].rootHash}`);
    expect(pinned).toMatchObject({ code: 0, err: '' });
    const other = await a.run('prove', '--file', a.file, '--index', '7', '--trust', 'ab'.repeat(32));
    expect(other.code).toBe(1);
    expect(other.err).toMatch(/^error: the file does not verify, at index \d+: .*not pinned/);
  });

  it('checks that the log only grew between two heads, and refuses a file that does not verify', async () => {
    const a = await embeddedAudit();
    const [h1, h2] = [join(a.dir, 'h1.json'), join(a.dir, 'h2.json')];
    writeFileSync(h1, JSON.stringify(a.heads[0]));
    writeFileSync(h2, JSON.stringify(a.heads[2]));
    expect(await a.run('consistency', h1, h2, '--file', a.file)).toMatchObject({
      code: 0,
      out: 'consistent: the log of 10 entries is a prefix of the log of 25',
    });
    // One entry changed: no proof from it.
    a.rewrite(a.lines().map((l, i) => (i === 3 ? l.replace('"n":3', '"n":4') : l)));
    const refused = await a.run('consistency', h1, h2, '--file', a.file);
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/^FAILED: the file does not verify, at index 3: /);
    expect(await a.run('prove', '--file', a.file, '--index', '1')).toMatchObject({
      code: 1,
      err: expect.stringMatching(/^error: the file does not verify, at index 3: /),
    });
    expect(await a.run('prove', '--file', a.file, '--database', 'postgres://x@127.0.0.1/x', '--index', '1')).toMatchObject({ code: 2 });
  });
});
