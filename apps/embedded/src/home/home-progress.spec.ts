import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { type AuditEntry, entryJson, leafHashOfText } from '@countersign/audit-chain';
import { createFileAuditLog } from '@countersign/audit-writer';
import { TOPICS } from '@countersign/contracts';
import { openHomeDatabase } from './home-database';
import { HomeProgress } from './home-progress';
import { StartRefusedError } from './start-checks';

// real: the home's database (PGlite, migrated), the file audit log, the progress marks; fake: nothing. The unclean stop
// is a log appended to and never signed, as a kill -9 between two heads leaves it.
describe('the audit log past its newest head, against what was appended (red team, 2026-12-07: a tail cut or edited after a kill -9)', () => {
  const entry = (eventId: string, reviewer = 'bob'): AuditEntry => ({
    eventId,
    eventType: TOPICS.reviewDecided,
    topic: TOPICS.reviewDecided,
    time: '2026-12-07T10:00:00.000Z',
    actionId: `a-${eventId}`,
    correlationId: `c-${eventId}`,
    causationId: null,
    actor: { id: reviewer, kind: 'human' },
    decision: 'approved',
    data: { decision: 'approved', reviewers: [{ id: reviewer, kind: 'human' }] },
  });
  const events = { holdsEvent: () => true };

  /** A home whose log had entries e1..e4 appended (recorded), and none signed; then `damage` done to the file. */
  async function homeAfter(damage: (lines: string[]) => string[]) {
    const home = mkdtempSync(join(tmpdir(), 'home-progress-'));
    const file = join(home, 'audit', 'audit.jsonl');
    const open = async () => {
      const db = await openHomeDatabase(home, () => undefined);
      const progress = await HomeProgress.open({
        pool: db.pool,
        home,
        witnessDir: mkdtempSync(join(tmpdir(), 'witness-')),
        explicit: true,
        fingerprint: 'f',
        logger: pino({ level: 'silent' }),
      });
      return { db, progress };
    };
    const first = await open();
    const log = first.progress.recordingAppends(createFileAuditLog(file, { pseudonymKeyFile: join(home, 'pseudonym.key') }));
    await log.appendBatch([entry('e1'), entry('e2')]);
    await log.appendBatch([entry('e3'), entry('e4')]);
    await first.db.close();
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    writeFileSync(
      file,
      damage(lines)
        .map((l) => `${l}\n`)
        .join(''),
    );
    const again = await open();
    const reopened = createFileAuditLog(file, { pseudonymKeyFile: join(home, 'pseudonym.key') });
    return { ...again, log: reopened, close: () => again.db.close() };
  }

  it('starts on the tail as it was appended', async () => {
    const h = await homeAfter((lines) => lines);
    try {
      await expect(h.progress.check(h.log, events)).resolves.toBeUndefined();
    } finally {
      await h.close();
    }
  });

  it('refuses a tail cut short, naming the entries gone and what accepts it; accepted once, it starts and follows the log', async () => {
    const h = await homeAfter((lines) => lines.slice(0, 3));
    try {
      const refusal = await h.progress.check(h.log, events).catch((e: Error) => e);
      expect(refusal).toBeInstanceOf(StartRefusedError);
      expect((refusal as Error).message).toMatch(
        /^the audit log \(audit\/\) holds 3 entries, and the writer had appended 4: entries 3\.\.3 are gone .*COUNTERSIGN_ACCEPT_RESTORE=audit-tail:4$/,
      );
      await expect(h.progress.check(h.log, events, 'audit-tail:5')).rejects.toBeInstanceOf(StartRefusedError);
      await expect(h.progress.check(h.log, events, 'audit-tail:4')).resolves.toBeUndefined();
      await expect(h.progress.check(h.log, events)).resolves.toBeUndefined();
    } finally {
      await h.close();
    }
  });

  it('refuses a tail rewritten with its leaf hashes made again: bob made carol in a decision', async () => {
    const h = await homeAfter((lines) =>
      lines.map((l, i) => {
        if (i !== 2) return l;
        const line = JSON.parse(l.replaceAll('"bob"', '"carol"')) as { entry: AuditEntry; leafHash: string };
        return JSON.stringify({ ...line, leafHash: leafHashOfText(entryJson(line.entry)).toString('hex') });
      }),
    );
    try {
      const refusal = await h.progress.check(h.log, events).catch((e: Error) => e);
      expect(refusal).toBeInstanceOf(StartRefusedError);
      expect((refusal as Error).message).toMatch(/^the audit log \(audit\/\) does not hold the entries 0\.\.3 the writer appended: they were changed/);
    } finally {
      await h.close();
    }
  });
});
