import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import type { Pool } from 'pg';
import { CompactRange, type TreeHead } from '@countersign/audit-chain';
import type { AuditLogRepository, HeadStore } from '@countersign/audit-writer';
import { AUDIT_LOG_OWN_TOPICS, Topic } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import { makeFolder, StartRefusedError } from './start-checks';
import { readRegularFile } from '@countersign/config';

/** A signed tree head of the home's audit log: how far the log had got when it was signed. */
export interface ProgressMark {
  treeSize: number;
  rootHash: string;
  /** When it was signed (ISO 8601). */
  timestamp: string;
}

/** Where the home's witness files live by default: the user's state folder, outside any home (docs/adr/0051). */
export const defaultWitnessDir = (env: NodeJS.ProcessEnv = process.env): string =>
  env.COUNTERSIGN_WITNESS_DIR || join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'countersign', 'witness');

/**
 * The bus log's question: whether a topic holds an event, or on a compacted topic a later event of its key that replaced
 * it (`InMemoryBroker.holdsEvent`).
 */
export interface EventLog {
  holdsEvent(topic: string, eventId: string, replaced?: { key: string; time: string }): boolean;
}

/** How many of the audit log's newest entries of bus events a start looks up in the database's bus log. */
const RECENT_EVENTS = 20;
/** How far back from the log's end a start looks for them (the writer's own entries sit between). */
const RECENT_WINDOW = 512;

/**
 * How far the home had got, kept where a restore of the home, or of a part of it, does not take it back: each signed
 * tree head the audit writer keeps is noted in the database (beside the records of truth) and in a witness file outside
 * the home (this machine's state folder, one file per tree-head key). A start compares the three (home probe,
 * 2026-12-05; docs/adr/0051): an older backup restored whole started silently and executed again what an agent retried,
 * brought decided reviews back, and undid a kill switch; a database and an audit log from different backups started too.
 *
 * - the audit log must hold the head the database recorded (else `audit/` is older than `db/`, or another home's);
 * - the database's bus log must hold the events the audit log recorded last (else `db/` is older than `audit/`: it
 *   forgot idempotency keys the log shows used; a copy taken while running is one);
 * - the audit log must hold the head the witness recorded (else the whole home is older than what this machine saw:
 *   restored from a backup, or a copy of it ran ahead).
 *
 * Each refusal can be accepted, once, by what it names (`check`).
 */
export class HomeProgress {
  private writing: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly pool: Pool,
    private readonly witnessFile: string,
    /** False while the default witness folder cannot be written (said at error at the start): read, not kept. */
    private readonly witnessWritable: boolean,
    private readonly logger: Logger,
    private readonly marks: { database?: ProgressMark; witness?: ProgressMark; appended?: { size: number; root: string } },
    /** The first audit log entry whose event the database must hold (an accepted restore moves it past what it lost). */
    private readonly checkedFrom: number,
  ) {}

  /**
   * Reads the database's mark and the witness. A witness folder given (`explicit`) that cannot be used refuses the start
   * in one line; the default one (the user's state folder: a service user without a home, a read-only root) is said at
   * error and the start goes on without a witness, checking the home's parts against each other (red team, 2026-12-05:
   * an upgrade would have refused a deployment that ran the day before).
   */
  static async open(options: { pool: Pool; home: string; witnessDir: string; explicit: boolean; fingerprint: string; logger: Logger }): Promise<HomeProgress> {
    const dir = resolve(options.witnessDir);
    const home = resolve(options.home);
    const refuse = (problem: string) => new StartRefusedError(`COUNTERSIGN_WITNESS_DIR ${dir}: ${problem}`);
    if (dir === home || dir.startsWith(home + sep))
      throw refuse(`is inside COUNTERSIGN_HOME ${home}: a restore of the home would take the witness back with it; choose a folder outside the home`);
    const witnessFile = join(dir, `${options.fingerprint}.json`);
    let writable = true;
    try {
      makeFolder(dir);
      writeFileSync(join(dir, '.writable'), '');
    } catch (e) {
      const problem = `cannot be written (${(e as Error).message}): choose a folder outside the home that this user can write`;
      if (options.explicit) throw refuse(problem);
      options.logger.error(
        { alert: 'home-witness', dir },
        `the default witness folder ${dir} ${problem} (COUNTERSIGN_WITNESS_DIR): until then it is checked as it is, not kept up to date`,
      );
      writable = false;
    }
    // A witness there is checked even when it cannot be kept up to date (red team, 2026-12-05: one behind a read-only
    // folder was ignored, and a restore of the whole home passed).
    let witness: ProgressMark | undefined;
    if (existsSync(witnessFile)) {
      try {
        witness = markOf(JSON.parse(readRegularFile(witnessFile).toString('utf8')));
      } catch (e) {
        throw refuse(
          `${witnessFile} cannot be read (${(e as Error).message}): it says how far this home had got; restore it, or remove it to start without that check`,
        );
      }
    }
    const { rows } = await options.pool.query<{
      tree_size: string | null;
      root_hash: string | null;
      signed_at: string | null;
      checked_from: string;
      appended_size: string | null;
      appended_root: string | null;
    }>('SELECT tree_size, root_hash, signed_at, checked_from, appended_size, appended_root FROM embedded_audit_progress WHERE id = 1');
    const row = rows[0];
    const database = row?.tree_size != null ? { treeSize: Number(row.tree_size), rootHash: row.root_hash!, timestamp: row.signed_at! } : undefined;
    const appended = row?.appended_size != null ? { size: Number(row.appended_size), root: row.appended_root! } : undefined;
    return new HomeProgress(options.pool, witnessFile, writable, options.logger, { database, witness, appended }, Number(row?.checked_from ?? 0));
  }

  /**
   * Refuses a start whose parts disagree, or whose home is older than what this machine saw (see the class). `log` is the
   * home's audit log, `events` the database's bus log, both read back; nothing is consumed yet. Each refusal names what
   * accepts it (its check and a number, `restored:212`); `accept` equal to that starts the home anyway (said at error,
   * `alert: home-restored`), and from then on the
   * check takes the home as it is: an operator who restored on purpose, or whose database lost its last writes in a
   * power cut, must be able to go on, knowing what was forgotten (red team, 2026-12-05).
   */
  async check(log: Pick<AuditLogRepository, 'tip' | 'heads' | 'range' | 'leafHashes'>, events: EventLog, accept?: string): Promise<void> {
    const [tip, heads] = [await log.tip(), await log.heads()];
    const holds = (m: ProgressMark) => heads.some((h) => h.treeSize === m.treeSize && h.rootHash === m.rootHash);
    const newest = heads.reduce<TreeHead | undefined>((n, h) => (!n || h.treeSize > n.treeSize ? h : n), undefined);
    const { database, witness } = this.marks;
    // What accepts a refusal names the check and its number: one value accepts one refusal, not another that happens to
    // name the same size of the same log (red team, 2026-12-05).
    const token = (check: 'audit-behind' | 'database-behind' | 'restored' | 'audit-tail', n: number) => `${check}:${n}`;
    const remedy = (t: string) =>
      `restore db/ and audit/ from one backup taken while Countersign was stopped, or start a new home (another COUNTERSIGN_HOME); ` +
      `or, knowing what it forgot, start it once with COUNTERSIGN_ACCEPT_RESTORE=${t}`;
    let used = false;
    const accepted = (t: string, what: string) => {
      if (accept !== t) return false;
      used = true;
      this.logger.error({ alert: 'home-restored', accepted: t, log: tip.size }, `${what}: started as it is (COUNTERSIGN_ACCEPT_RESTORE=${t})`);
      return true;
    };
    if (database && !holds(database)) {
      const what = `the audit log (audit/, ${tip.size} entries) does not hold the tree head the database (db/) recorded at ${database.treeSize} entries, signed ${database.timestamp}`;
      if (!accepted(token('audit-behind', database.treeSize), what))
        throw new StartRefusedError(
          `${what}: audit/ is ${tip.size < database.treeSize ? 'older than' : 'another log than'} db/ (restored from another backup, or from another home), and would go on without the entries it lost: ${remedy(token('audit-behind', database.treeSize))}`,
        );
      // From now on the database follows this log.
      await this.pool.query('UPDATE embedded_audit_progress SET tree_size = $1, root_hash = $2, signed_at = $3 WHERE id = 1', [
        newest?.treeSize ?? null,
        newest?.rootHash ?? null,
        newest?.timestamp ?? null,
      ]);
      await this.followLog(tip);
    } else {
      // Past the newest signed head, the log must still hold what was appended (an unclean stop leaves such a tail, and the
      // audit writer adopts it under its next head): a tail cut or rewritten while the home was stopped is refused (red
      // team, 2026-12-07: a payout's `executed` entry deleted after a kill -9, and `bob` made `carol` in a decision).
      const appended = this.marks.appended;
      if (appended && appended.size > (newest?.treeSize ?? 0)) {
        const root = tip.size >= appended.size ? await this.rootAt(log, appended.size) : undefined;
        // A log that cannot say its leaf hashes (none of the embedded mode's) is checked by its length only.
        const rewritten = root !== undefined && root !== appended.root;
        if (tip.size < appended.size || rewritten) {
          const what =
            `the audit log (audit/) ${rewritten ? `does not hold the entries ${newest?.treeSize ?? 0}..${appended.size - 1} the writer appended: they were changed` : `holds ${tip.size} entries, and the writer had appended ${appended.size}: entries ${tip.size}..${appended.size - 1} are gone`}` +
            ` (past the newest signed head, ${newest?.treeSize ?? 0} entries, as the database (db/) recorded each append)`;
          if (!accepted(token('audit-tail', appended.size), what))
            throw new StartRefusedError(
              `${what}: removed or edited while Countersign was stopped, or lost in a power cut (neither file is synced at every append). ` +
                `Restore audit/ from a copy made at the stop, or, knowing that the trail lost them, start it once with COUNTERSIGN_ACCEPT_RESTORE=${token('audit-tail', appended.size)}`,
            );
          await this.followLog(tip);
        }
      }
    }
    const recent = (await log.range(Math.max(this.checkedFrom, tip.size - RECENT_WINDOW), tip.size))
      .map(
        (e) =>
          ({ index: e.index, ...(e.entry ?? (e.bytes !== undefined ? JSON.parse(e.bytes) : {})) }) as {
            index: number;
            topic?: unknown;
            eventId?: unknown;
            actionId?: unknown;
            time?: unknown;
          },
      )
      .filter(
        (e): e is { index: number; topic: string; eventId: string; actionId?: unknown; time?: unknown } =>
          typeof e.topic === 'string' && typeof e.eventId === 'string',
      )
      .filter((e) => !AUDIT_LOG_OWN_TOPICS.has(e.topic as Topic))
      .slice(-RECENT_EVENTS);
    // A forgery is recorded apart under its event's id and a suffix (the audit writer's `unverifiedEntry`).
    // An entry's action id is its event's subject, the key it has on its topic (a compacted topic keeps the newest of each).
    const replaced = (e: { actionId?: unknown; time?: unknown }) =>
      typeof e.actionId === 'string' && typeof e.time === 'string' ? { key: e.actionId, time: e.time } : undefined;
    const lost = recent.find((e) => !events.holdsEvent(e.topic, e.eventId.split('~unverified~')[0], replaced(e)));
    if (lost) {
      const what = `the database (db/) is older than the audit log (audit/): the log's entry ${lost.index} records event ${lost.eventId} (${lost.topic}), which the database never received`;
      if (!accepted(token('database-behind', tip.size), what))
        throw new StartRefusedError(
          `${what} (restored from an older backup, copied while Countersign ran, or its last writes lost in a power cut: the embedded database does not sync to disk): ` +
            `it has forgotten what happened since (idempotency keys: an agent's retry executes again; review decisions; kill switches turned off since): ${remedy(token('database-behind', tip.size))}`,
        );
      // The log's entries so far are not looked up again: the database never had them.
      await this.pool.query(
        'INSERT INTO embedded_audit_progress (id, checked_from) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET checked_from = EXCLUDED.checked_from',
        [tip.size],
      );
    }
    if (witness && !holds(witness)) {
      const what =
        `this machine saw this home's audit log signed at ${witness.treeSize} entries (${witness.timestamp}; ${this.witnessFile}), and it ${tip.size < witness.treeSize ? `holds ${tip.size}` : 'holds another log'}: ` +
        `the home was restored from a backup, or a copy of it ran ahead, and has forgotten what happened since`;
      if (!accepted(token('restored', witness.treeSize), what))
        throw new StartRefusedError(
          `${what} (idempotency keys: an agent's retry executes again; review decisions: decided items wait again; kill switches turned off or autonomy lowered since). ` +
            `Check those first (turn off what should be off in flags.json), then start it once with COUNTERSIGN_ACCEPT_RESTORE=${token('restored', witness.treeSize)}`,
        );
      this.marks.witness = newest && markOf(newest);
      this.writeWitness(this.marks.witness);
    }
    // Left set after its start, it would accept nothing more, but say so: it is meant for one start.
    if (accept !== undefined && !used)
      this.logger.error(
        { alert: 'home-restored' },
        `COUNTERSIGN_ACCEPT_RESTORE=${accept} accepted nothing (this home's parts and witness agree, or it names another refusal): remove it`,
      );
  }

  /** The root of the log's first `size` entries (RFC 6962), from their leaf hashes. */
  private async rootAt(log: Pick<AuditLogRepository, 'leafHashes'>, size: number): Promise<string | undefined> {
    if (!log.leafHashes) return undefined;
    const range = CompactRange.empty();
    for (const leaf of await log.leafHashes(0, size)) range.append(Buffer.from(leaf, 'hex'));
    return range.root().toString('hex');
  }

  /** Takes the log as it is for how far it was appended (a refusal accepted). */
  private async followLog(tip: { size: number; root: string }): Promise<void> {
    this.marks.appended = { size: tip.size, root: tip.root };
    await this.pool.query('UPDATE embedded_audit_progress SET appended_size = $1, appended_root = $2 WHERE id = 1', [tip.size, tip.root]);
  }

  /**
   * The audit log the audit writer appends to, each append noted in the database once written (its size and root): a
   * start refuses a log that lost or changed what was appended past its newest head (`check`). Noted before the append
   * answers, so before its events are taken off the bus: one the log lost before it was noted comes again.
   */
  recordingAppends<L extends Pick<AuditLogRepository, 'appendBatch'>>(log: L): L {
    const appendBatch: AuditLogRepository['appendBatch'] = async (batch) => {
      const result = await log.appendBatch(batch);
      if (result.appended) await this.noteAppended(result);
      return result;
    };
    return new Proxy(log, {
      get(target, p, receiver) {
        if (p === 'appendBatch') return appendBatch;
        const value = Reflect.get(target, p, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  private async noteAppended(tip: { size: number; root: string }): Promise<void> {
    if (this.marks.appended && this.marks.appended.size >= tip.size) return;
    try {
      await this.pool.query(
        `INSERT INTO embedded_audit_progress (id, appended_size, appended_root) VALUES (1, $1, $2)
         ON CONFLICT (id) DO UPDATE SET appended_size = EXCLUDED.appended_size, appended_root = EXCLUDED.appended_root
         WHERE coalesce(embedded_audit_progress.appended_size, -1) < EXCLUDED.appended_size`,
        [tip.size, tip.root],
      );
      this.marks.appended = { size: tip.size, root: tip.root };
    } catch (e) {
      // Not a reason to hold the trail: the next start checks against the mark before (what follows it is adopted as before).
      this.logger.error({ alert: 'home-witness', err: e }, `the audit log's appends cannot be recorded in the database: ${(e as Error).message}`);
    }
  }

  /** The head store the audit writer keeps its heads in, each head noted here as well once kept there. */
  recording(inner: HeadStore): HeadStore {
    return {
      write: (head) => {
        inner.write(head);
        this.note(head);
      },
    };
  }

  /** Resolves once the database's mark is written (before the database closes). */
  async flush(): Promise<void> {
    await this.writing;
  }

  private note(head: TreeHead): void {
    const mark = markOf(head);
    if (this.witnessWritable && (!this.marks.witness || mark.treeSize > this.marks.witness.treeSize)) {
      try {
        this.writeWitness(mark);
        this.marks.witness = mark;
      } catch (e) {
        // Not a reason to stop recording: the next start checks against an older mark (a restore to between them passes).
        this.logger.error({ alert: 'home-witness', err: e, file: this.witnessFile }, `the home's witness file cannot be written: ${(e as Error).message}`);
      }
    }
    this.writing = this.writing
      .then(() =>
        this.pool.query(
          `INSERT INTO embedded_audit_progress (id, tree_size, root_hash, signed_at) VALUES (1, $1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET tree_size = EXCLUDED.tree_size, root_hash = EXCLUDED.root_hash, signed_at = EXCLUDED.signed_at
           WHERE coalesce(embedded_audit_progress.tree_size, -1) < EXCLUDED.tree_size`,
          [mark.treeSize, mark.rootHash, mark.timestamp],
        ),
      )
      .catch((e: Error) => this.logger.error({ alert: 'home-witness', err: e }, `the audit log's progress cannot be recorded in the database: ${e.message}`));
  }

  /** Written whole (a temporary file renamed): a crash leaves the old witness or the new one. */
  private writeWitness(mark: ProgressMark | undefined): void {
    if (!this.witnessWritable) return;
    if (!mark) return rmSync(this.witnessFile, { force: true });
    writeFileSync(`${this.witnessFile}.tmp`, `${JSON.stringify(mark)}\n`, { mode: 0o600 });
    renameSync(`${this.witnessFile}.tmp`, this.witnessFile);
  }
}

function markOf(value: unknown): ProgressMark {
  const m = value as Partial<ProgressMark> | null;
  if (!m || !Number.isSafeInteger(m.treeSize) || typeof m.rootHash !== 'string' || typeof m.timestamp !== 'string')
    throw new Error('not a tree head (treeSize, rootHash, timestamp)');
  return { treeSize: m.treeSize!, rootHash: m.rootHash, timestamp: m.timestamp };
}
