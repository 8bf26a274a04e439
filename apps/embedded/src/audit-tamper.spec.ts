import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { CompactRange, entryJson, leafHashOfText } from '@countersign/audit-chain';
import { runAuditCli } from '@countersign/audit-writer/cli';
import { call, eventually } from '@countersign/testing';
import { startEmbedded } from './embedded';

// real: all five services in one process, the home's audit file and its signed heads, a stop and a start on the same
// home; fake: the target system (the embedded sink). The file is edited between the two, as someone with write access
// to the home could.

describe('an audit file changed while the embedded mode was stopped', () => {
  it('is refused at the next start, naming what is wrong, instead of being signed over', async () => {
    const home = mkdtempSync(join(tmpdir(), 'countersign-tamper-'));
    const file = join(home, 'audit', 'audit.jsonl');
    const first = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) });
    const token = (name: string) => readFileSync(join(home, 'tokens', name), 'utf8');
    const refund = JSON.parse(readFileSync(join(__dirname, '../examples/refund-small.json'), 'utf8'));
    const id = (await call('POST', `${first.url}/v1/proposals`, refund, token('agent'))).body.actionId as string;
    await eventually(async () => expect((await call('GET', `${first.url}/v1/actions/${id}`, undefined, token('agent'))).body.status).toBe('executed'));
    await eventually(() => expect(readFileSync(file, 'utf8')).toContain('execution.action.executed.v1'));
    // A clean stop signs a final head over every entry, the last of which records that stop.
    await first.close();

    const untouched = readFileSync(file, 'utf8');
    const lines = untouched.trim().split('\n');
    expect(JSON.parse(lines.at(-1)!).entry.eventType).toBe('audit.log.stopped.v1');
    const edited = lines.map((l) => (l.includes('execution.action.executed.v1') ? l.replace('"executed"', '"failed"') : l));
    expect(edited).not.toEqual(lines);
    writeFileSync(file, `${edited.join('\n')}\n`);
    await expect(startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) })).rejects.toThrow(
      /audit\.jsonl: entry \d+ does not match its recorded leaf hash: it was modified\. The audit log was changed outside Countersign/,
    );

    // Cut short: the final head names more entries than the file holds.
    writeFileSync(file, `${lines.slice(0, -1).join('\n')}\n`);
    await expect(startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) })).rejects.toThrow(
      /fewer than the signed head of \d+: entries were taken out/,
    );

    // Appended to, with a line made the writer's way (its leaf hash right): after a clean stop no one else writes, so
    // it is refused, not adopted and signed at the next start (red team, 2026-12-04).
    const last = JSON.parse(lines[lines.length - 1]) as { index: number; entry: Record<string, unknown> };
    const placed = { ...last.entry, eventId: 'forged-approval', eventType: 'policy.change.decided.v1', _index: last.index + 1 };
    const forged = {
      index: last.index + 1,
      entry: placed,
      leafHash: leafHashOfText(entryJson(placed as never)).toString('hex'),
      // The time it is hashed with, as the writer shows it: the line is as the writer would write it.
      recordedAt: (placed as Record<string, unknown>)._recordedAt,
    };
    writeFileSync(file, `${untouched}${JSON.stringify(forged)}\n`);
    await expect(startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) })).rejects.toThrow(
      /are past the head the writer stopped cleanly under \(\d+ entries\): they were added by someone else/,
    );
    // …and with the record of the clean stop deleted too: the log itself ends in that stop, under its final head, so the
    // forged entry is still refused, not adopted as a crash's tail and signed into the next head (red team, 2026-12-04).
    rmSync(join(home, 'audit', 'stopped-cleanly.json'));
    await expect(startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) })).rejects.toThrow(
      /entries (\d+)\.\.\1 are past the signed head of \1 entries, which ends in the writer's clean stop \(entry \d+\): .* so they were added by someone else/,
    );
    // …and behind a head line over it, its size and root right, its signature nobody's: the newest head then no longer
    // ends in the stop. The start took it, and signed over the forgery (red team, 2026-12-07); it checks signatures now.
    const headsFile = join(home, 'audit', 'tree-heads.jsonl');
    const heads = readFileSync(headsFile, 'utf8');
    const lastHead = JSON.parse(heads.trimEnd().split('\n').at(-1)!) as { keyId: string; timestamp: string };
    const range = CompactRange.empty();
    for (const l of readFileSync(file, 'utf8').trimEnd().split('\n')) range.append(Buffer.from((JSON.parse(l) as { leafHash: string }).leafHash, 'hex'));
    const fake = {
      treeSize: range.size,
      rootHash: range.root().toString('hex'),
      timestamp: lastHead.timestamp,
      keyId: lastHead.keyId,
      signature: randomBytes(64).toString('base64'),
    };
    writeFileSync(headsFile, `${heads}${JSON.stringify(fake)}\n`);
    await expect(startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) })).rejects.toThrow(
      new RegExp(`tree head of size ${range.size} has an invalid signature: the home's heads are signed by its own key alone`),
    );
    writeFileSync(headsFile, heads);

    // Put back as it was, the home starts again (the refused starts left no lock behind), and the chain continues.
    writeFileSync(file, untouched);
    const again = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) });
    try {
      // One tree-head key for the home, kept across starts: the fingerprint an auditor pins stays the same.
      expect(again.auditKey).toEqual(first.auditKey);
      expect(readdirSync(join(home, 'audit', 'keys'))).toEqual([`${first.auditKey.keyId}.json`]);
      expect((await call('GET', `${again.url}/v1/audit/heads`, undefined, token('auditor'))).status).toBe(200);
      expect((await call('GET', `${again.url}/v1/audit/proof/1`, undefined, token('auditor'))).status).toBe(200);
      // An index in decimal digits only (`1e0` is not one).
      for (const index of ['1e0', '0x1', '+1'])
        expect(await call('GET', `${again.url}/v1/audit/proof/${encodeURIComponent(index)}`, undefined, token('auditor'))).toMatchObject({
          status: 400,
          body: { message: `index: must be an integer from 0 to ${Number.MAX_SAFE_INTEGER} in decimal digits` },
        });
      // A time in ISO 8601 only (`Date.parse` took `0` and `2026-02-30`), and at least one entry (red team, 2026-12-04).
      const entries = (query: string) => call('GET', `${again.url}/v1/audit/entries?${query}`, undefined, token('auditor'));
      for (const since of ['0', '-1', '99999', '2026-02-30'])
        expect(await entries(`since=${since}`)).toMatchObject({
          status: 400,
          body: { message: 'since: must be an ISO 8601 date or time (2026-12-04, 2026-12-04T10:00:00Z, or with an offset)' },
        });
      expect(await entries('limit=0&since=2026-01-01')).toMatchObject({
        status: 400,
        body: { message: 'limit: must be an integer from 1 to 5000 in decimal digits' },
      });
      // A refusal is JSON, also from the route whose answer is JSON Lines (its header stayed on the 400).
      const badSegment = await fetch(`${again.url}/v1/audit/segment?from=0&to=1e3`, { headers: { Authorization: `Bearer ${token('auditor')}` } });
      expect(badSegment.status).toBe(400);
      expect(badSegment.headers.get('content-type')).toBe('application/json; charset=utf-8');
      const some = await entries('limit=1&since=2026-01-01');
      expect(some.status).toBe(200);
      expect(some.body.entries).toHaveLength(1);
    } finally {
      await again.close();
    }
  }, 120_000);
});

describe('an audit file whose last write the power cut short', () => {
  it('starts again: the torn bytes are kept beside the log, the recovery is logged and recorded in the log, the chain continues and audit verify passes', async () => {
    const home = mkdtempSync(join(tmpdir(), 'countersign-torn-'));
    const audit = join(home, 'audit');
    const file = join(audit, 'audit.jsonl');
    const token = (name: string) => readFileSync(join(home, 'tokens', name), 'utf8');
    const refund = JSON.parse(readFileSync(join(__dirname, '../examples/refund-small.json'), 'utf8'));
    const executed = async (url: string) => {
      const id = (await call('POST', `${url}/v1/proposals`, refund, token('agent'))).body.actionId as string;
      await eventually(async () => expect((await call('GET', `${url}/v1/actions/${id}`, undefined, token('agent'))).body.status).toBe('executed'));
      // Its execution in the log, under this action (the audit writer's entries follow the events).
      const logged = () =>
        readFileSync(file, 'utf8')
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l).entry as { actionId: string; eventType: string });
      await eventually(() => expect(logged()).toContainEqual(expect.objectContaining({ actionId: id, eventType: 'execution.action.executed.v1' })));
      return id;
    };
    const first = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) });
    await executed(first.url);
    await first.close();

    // The writer's next line, as it writes it, cut off halfway by the power: no newline, and it does not parse.
    const whole = readFileSync(file, 'utf8');
    const last = JSON.parse(whole.trimEnd().split('\n').at(-1)!) as { index: number; entry: Record<string, unknown> };
    const placed = { ...last.entry, eventId: 'cut-short', _index: last.index + 1 };
    const line = JSON.stringify({
      index: last.index + 1,
      entry: placed,
      leafHash: leafHashOfText(entryJson(placed as never)).toString('hex'),
      recordedAt: new Date().toISOString(),
    });
    const torn = line.slice(0, Math.floor(line.length / 2));
    writeFileSync(file, `${whole}${torn}`);
    // While the record of a clean stop is there, the writer has written nothing since: that line is someone else's.
    await expect(startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) })).rejects.toThrow(
      /ends in a line cut short \(line \d+\), but the writer stopped cleanly and wrote nothing since: it was written by someone else/,
    );
    // Started again, the writer removes that record before its first append; the power went during a later one.
    rmSync(join(audit, 'stopped-cleanly.json'));
    const warnings: { alert?: string; keptAt?: string }[] = [];
    const again = await startEmbedded({ home, port: 0, logger: pino({ level: 'warn' }, { write: (l: string) => void warnings.push(JSON.parse(l)) }) });
    try {
      const aside = readdirSync(audit).filter((f) => f.startsWith('audit.jsonl.torn-'));
      expect(aside).toHaveLength(1);
      expect(readFileSync(join(audit, aside[0]), 'utf8')).toBe(torn);
      expect(warnings.find((w) => w.alert === 'audit-torn-write')).toMatchObject({ keptAt: join(audit, aside[0]) });
      // The log was cut back to its last whole line, and goes on from there.
      expect(readFileSync(file, 'utf8').startsWith(whole)).toBe(true);
      await executed(again.url);
    } finally {
      await again.close();
    }
    // The operator's check (README): the recovered log verifies whole against its signed heads.
    const out: string[] = [];
    const err: string[] = [];
    expect(await runAuditCli(['verify', '--file', file, '--keys', join(audit, 'keys')], { out: (l) => out.push(l), err: (l) => err.push(l) })).toBe(0);
    expect(out.join('\n')).toMatch(/^verified: \d+ entries, \d+ signed heads, root [0-9a-f]{64}$/);
    // …and shows, from the signed log itself, that a line was set aside at that start, with the hash of its bytes.
    const digest = createHash('sha256').update(torn).digest('hex');
    expect(err.join('\n')).toMatch(
      new RegExp(
        `^  entry \\d+ \\(torn-write\\): the last line of ${escape(file)} \\(line \\d+, ${Buffer.byteLength(torn)} bytes, SHA-256 ${digest}\\) was cut short past every signed head \\(the newest of \\d+ entries\\) and set aside to ${escape(
          join(
            audit,
            readdirSync(audit).find((f) => f.startsWith('audit.jsonl.torn-'))!,
          ),
        )}$`,
        'm',
      ),
    );
  }, 120_000);

  it('refuses a last line that no write cut short leaves: a whole entry no head covers, its newline cut and one byte changed (red team, 2026-12-04)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'countersign-not-torn-'));
    const audit = join(home, 'audit');
    const file = join(audit, 'audit.jsonl');
    const first = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) });
    await first.close();
    // As a crash between the writer's last entry and its final head leaves the log: that entry under no head.
    const headsFile = join(audit, 'tree-heads.jsonl');
    const heads = readFileSync(headsFile, 'utf8').trimEnd().split('\n');
    const newest = JSON.parse(heads.at(-1)!) as { treeSize: number };
    writeFileSync(
      headsFile,
      heads
        .slice(0, -1)
        .map((h) => `${h}\n`)
        .join(''),
    );
    for (const f of readdirSync(join(audit, 'heads')).filter((f) => f.startsWith(`${String(newest.treeSize).padStart(14, '0')}-`)))
      rmSync(join(audit, 'heads', f));
    rmSync(join(audit, 'stopped-cleanly.json'));
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    // Its newline cut and one byte changed: before, this was set aside as a torn write, and the entry was gone.
    writeFileSync(file, `${lines.slice(0, -1).join('\n')}\n${lines.at(-1)!.replace('"index":', '"index";')}`);
    await expect(startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) })).rejects.toThrow(
      /audit\.jsonl: line \d+ has no newline and is not the start of a JSON line: a write cut short leaves the start of a line, so it was changed outside Countersign/,
    );
    expect(readdirSync(audit).filter((f) => f.includes('.torn-'))).toEqual([]);
  }, 120_000);
});

describe('an audit file changed while the embedded mode runs (the log keeps an index, and reads entries back: 2026-12-06)', () => {
  it('fails the read that finds it, says why at /readyz, and executes nothing more', async () => {
    const home = mkdtempSync(join(tmpdir(), 'countersign-tamper-running-'));
    const file = join(home, 'audit', 'audit.jsonl');
    const running = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) });
    const token = (name: string) => readFileSync(join(home, 'tokens', name), 'utf8');
    const status = async (id: string) => ((await call('GET', `${running.url}/v1/actions/${id}`, undefined, token('agent'))).body as { status: string }).status;
    const propose = async (target: string) => {
      const refund = JSON.parse(readFileSync(join(__dirname, '../examples/refund-small.json'), 'utf8'));
      const res = await call('POST', `${running.url}/v1/proposals`, { ...refund, target }, token('agent'));
      expect(res.status).toBe(202);
      return (res.body as { actionId: string }).actionId;
    };
    try {
      const id = await propose('order-9200');
      await eventually(async () => expect(await status(id)).toBe('executed'));
      await eventually(() => expect(readFileSync(file, 'utf8')).toContain('execution.action.executed.v1'));
      // One byte of an entry changed in place, the line's length kept: every other line stays where it was.
      const text = readFileSync(file, 'utf8');
      const at = text.indexOf('"currency":"EUR"');
      expect(at).toBeGreaterThan(-1);
      writeFileSync(file, `${text.slice(0, at)}"currency":"USD"${text.slice(at + '"currency":"EUR"'.length)}`);
      const read = await call('GET', `${running.url}/v1/audit/entries?actionId=${id}`, undefined, token('auditor'));
      // 503 with what to do, not an internal error: the store is damaged, and stays so until an operator restores it.
      expect(read).toMatchObject({
        status: 503,
        body: {
          message: expect.stringMatching(/^the audit log was changed outside Countersign: it is not read, and nothing executes, until an operator restores it/),
        },
      });
      expect(read.headers.get('retry-after')).toBeNull();
      expect(JSON.stringify(read.body)).not.toContain(home);
      const notReady = await eventually(async () => {
        const res = await call('GET', `${running.url}/readyz`);
        expect(res.status).toBe(503);
        return res.body as { checks: Record<string, string> };
      });
      expect(notReady.checks['audit-log']).toMatch(/audit\.jsonl: entry \d+ is no longer the entry read at the start or appended: the file was changed since/);
      // Decided to run, and held: nothing more reaches the target over a log that changed.
      const held = await propose('order-9201');
      // Held with the reason on its timeline (`audit-unavailable`), as the other holds are.
      await eventually(async () => expect(await status(held)).toBe('held'));
      await new Promise((r) => setTimeout(r, 1_500));
      expect(running.sink.effects.filter((e) => e.actionId === held)).toHaveLength(0);
    } finally {
      await running.close();
    }
  }, 120_000);
});

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
