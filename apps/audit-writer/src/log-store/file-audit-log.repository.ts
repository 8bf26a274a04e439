import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { dirname, join } from 'node:path';
import { CompactRange, entryJson, leafHashOfText, MAX_LOG_LINE_BYTES, verifyTreeHead } from '@countersign/audit-chain';
import type { AuditEntry, LoggedEntry, TreeHead } from '@countersign/audit-chain';
import { DependencyUnavailableError, StoreDamagedError } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import { InputFileError, openRegularFile } from '@countersign/keys';
import type { VerifyKey } from '@countersign/keys';
import { FileHeadStore } from '../chain/file-head-store';
import { isResumptionOf } from '../chain/writer-entries';
import type { ActionTrail, AppendResult, AuditLogRepository, AuditQuery, ChainTip, HeadRange, StoredEntry, TornWrite } from './audit-log.repository';
import { ESCALATED, selectHeads } from './audit-log.repository';
import { linePlainlyWritten } from './audit-file-line';
import { syncDirectory, writeAll } from './durable-files';
import { EntryIndex } from './entry-index';
import { isJsonTextPrefix } from './json-prefix';

/** The audit file does not agree with itself or with its signed heads: it was changed outside Countersign. */
export class AuditLogTamperedError extends StoreDamagedError {
  constructor(path: string, problem: string) {
    super(
      `${path}: ${problem}. The audit log was changed outside Countersign, so it is not read and nothing starts on it. ` +
        `\`npm run countersign -- audit verify --file ${path}\` names the first bad entry; restore the file ` +
        `(and tree-heads.jsonl) from a copy, or start a new home (another COUNTERSIGN_HOME).`,
      'the audit log was changed outside Countersign: it is not read, and nothing executes, until an operator restores it (the service log names the entry)',
    );
  }
}

/**
 * The keys whose signatures a log's heads may carry (`FileAuditLogRepository`'s `headKeys`): the home's own tree-head
 * key, and the per-start keys of older versions (`audit/keys/`), which sign only heads older than the home key's first.
 */
export interface HeadKeys {
  home: VerifyKey;
  older?: readonly VerifyKey[];
}

/** A JSON Lines file read back: the values of its complete lines, and what follows its last newline. */
export interface ReadBack<T> {
  values: T[];
  /** Where each value's line starts in the file, and its length, in bytes (without its newline). */
  offsets: number[];
  lengths: number[];
  /** The last line has no newline, does not parse, and is the start of a JSON text: a write cut short, where it starts and its bytes. */
  torn?: { line: number; at: number; bytes: Buffer };
  /** The last line has no newline but parses: whole, only its newline was not written. */
  unterminated?: boolean;
}

/** A torn write found on open, set aside once the whole file is read and found sound. */
interface TornFound {
  file: string;
  line: number;
  bytes: Buffer;
  /** Where the file is cut back to; none: the whole file is torn (a kept head's), and moved aside. */
  at?: number;
}

/**
 * The embedded mode's audit store: a local append-only JSON Lines file, one line per event id with its
 * index and leaf hash (lines written before ADR 0029 also carry the tree root after them), and a second file
 * of signed tree heads. Files are only appended to;
 * on start they are read back, so redeliveries stay single and the chain continues.
 *
 * Read back, not trusted: every line's leaf hash is computed again from its entry, the indexes must run 0, 1, 2, …
 * with one line per event, and the log must have every signed head's size and root (the heads in
 * `tree-heads.jsonl` and in the head store `heads/` beside it). A file edited, reordered, cut short or with lines
 * taken out throws `AuditLogTamperedError`: the service does not start, and so never signs a head over a changed
 * history. Entries past the newest signed head (an unclean stop leaves such a tail) are read as they are; the
 * chain service says how many when it loads.
 *
 * Durable in this order (docs/adr/0005): a batch's lines are written (to the OS) before `appendBatch` returns, and
 * synced to disk before any head that covers them is written (`saveHead`, once per head, not per batch: entries past
 * the newest head may be lost to a power cut, as they were); a head is synced to `tree-heads.jsonl` before the head
 * store keeps it. A power loss therefore tears
 * at most the last line of one file, and never one a head covers: such a line (no newline, it does not parse, and it is
 * the start of a JSON line) is moved aside to `<file>.torn-<time>` and cut off, and the start goes on (`tornWrites`). A
 * torn line anywhere else, under a head, or after a clean stop is tampering, and so is a last line that no write cut
 * short leaves. Past a signed head that ends in the writer's clean stop (`audit.log.stopped.v1`) the log may hold only
 * the writer's resumption (`checkStoppedHead`).
 */
export class FileAuditLogRepository implements AuditLogRepository {
  /** The entries as kept in memory: where each is in the file, its leaf hash, what searches read (`EntryIndex`). */
  private readonly entries: EntryIndex;
  private readonly ids = new Set<string>();
  private readonly chain = CompactRange.empty();
  private readonly headsFile: string;
  private readonly headList: TreeHead[] = [];
  private readonly torn: TornWrite[] = [];
  /** Set when a failed write could not be cut back off: appending after it would tear a line in the middle. */
  private unwritable?: Error;
  /**
   * Each file's last write failure, until a write to that same file succeeds (`writeFailure`). Kept per file: a head
   * written to `tree-heads.jsonl` (a page with room left) cleared the failure of `audit.jsonl` on a full disk, and an
   * action executed with no entry of it written (red team, 2026-12-08).
   */
  private readonly failing = new Map<string, Error>();
  /**
   * The events whose entries could not be appended (their batch's write failed), until they are: the log's failure
   * stands while any is left. A later, smaller entry that fitted on a full disk cleared it, and an action executed while
   * its own entries were still refused (red team of the per-file fix, 2026-12-08). `logFailure`: why, the last time.
   */
  private readonly unwritten = new Set<string>();
  private logFailure?: Error;
  /** Entries were appended since the log was last synced; its name in the directory was synced (once a process). */
  private unsynced = false;
  private logNamed = false;
  /** Files whose last line is whole but has no newline: the next write starts with one. */
  private readonly unterminated = new Set<string>();

  /**
   * `pseudonymKeyFile`: where the log's pseudonym key is kept (`pseudonymKey`); beside the log when unset. Keep it out
   * of the folder handed to auditors: with the key, the log's pseudonyms check guesses again (the embedded mode keeps
   * it with the home's keys).
   */
  constructor(
    private readonly path: string,
    private readonly options: { pseudonymKeyFile?: string; headKeys?: HeadKeys } = {},
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.entries = new EntryIndex(path);
    this.headsFile = join(dirname(path), 'tree-heads.jsonl');
    const headsRead: ReadBack<TreeHead> = existsSync(this.headsFile)
      ? this.regular(() =>
          readJsonLines<TreeHead>(this.headsFile, (n, last) => this.tampered(`line ${n} of ${this.headsFile} ${last ? NOT_TORN : 'does not parse'}`)),
        )
      : { values: [], offsets: [], lengths: [] };
    this.headList.push(...headsRead.values);
    this.headList.sort(byTreeThenTime);
    const kept = join(dirname(path), 'heads');
    const keptTorn: { file: string; head: TreeHead }[] = [];
    const signed = [...this.headList, ...(existsSync(kept) ? this.keptHeads(kept, keptTorn) : [])].sort(byTreeThenTime);
    if (options.headKeys) this.checkHeadSignatures(signed, options.headKeys);
    this.headsVerifiedAtOpen = !!options.headKeys;
    this.cleanStopFile = join(dirname(path), 'stopped-cleanly.json');
    const logRead = this.regular(() => this.load(signed, existsSync(path) ? path : undefined));
    const torn = [
      ...(headsRead.torn ? [{ file: this.headsFile, ...headsRead.torn }] : []),
      ...(logRead.torn ? [{ file: path, ...logRead.torn }] : []),
      ...keptTorn.map(({ file }) => ({ file, line: 1, bytes: readFileSync(file) })),
    ];
    this.checkCleanStop(torn);
    this.checkStoppedHead(signed);
    // Sound but for a torn last write: only now is anything on disk changed.
    for (const t of torn) this.setAside(t);
    for (const { head } of keptTorn) new FileHeadStore(kept).write(head);
    if (headsRead.unterminated) this.unterminated.add(this.headsFile);
    if (logRead.unterminated) this.unterminated.add(path);
    // The pseudonym key at open, as the rest of the log: a missing or damaged one refuses the start, instead of every
    // append failing later while actions run unaudited (upgrade probe, 2026-12-05: a lost key sent each event to the
    // dead-letter topic, and the writer dropped those too). A new log makes its key here.
    this.key = this.readPseudonymKey();
  }

  /** Given its home's keys, every head's signature was verified as the file opened (`AuditLogRepository.headsVerifiedAtOpen`). */
  readonly headsVerifiedAtOpen: boolean;
  /** Where the writer said it stopped cleanly, and under which head (`stoppedCleanly`). */
  private readonly cleanStopFile: string;
  private cleanStopPending = false;

  /**
   * After a clean stop the log ends where that stop's head does: an entry past it was written by someone else. So was a
   * torn line: the writer removes the record of its clean stop (synced) before it writes again.
   */
  private checkCleanStop(torn: TornFound[]): void {
    if (!existsSync(this.cleanStopFile)) return;
    let stop: { treeSize?: unknown; rootHash?: unknown };
    try {
      stop = JSON.parse(readFileSync(this.cleanStopFile, 'utf8')) as typeof stop;
    } catch {
      return this.tampered(`${this.cleanStopFile} does not parse`);
    }
    if (typeof stop.treeSize !== 'number' || typeof stop.rootHash !== 'string') return this.tampered(`${this.cleanStopFile} is not a clean stop's record`);
    if (this.chain.size > stop.treeSize)
      this.tampered(
        `entries ${stop.treeSize}..${this.chain.size - 1} are past the head the writer stopped cleanly under (${stop.treeSize} entries): they were added by someone else`,
      );
    if (this.chain.size < stop.treeSize || this.chain.root().toString('hex') !== stop.rootHash)
      this.tampered(`the log does not end where the writer stopped cleanly (${stop.treeSize} entries, root ${stop.rootHash})`);
    if (torn.length)
      this.tampered(
        `${torn[0].file} ends in a line cut short (line ${torn[0].line}), but the writer stopped cleanly and wrote nothing since: it was written by someone else`,
      );
    this.cleanStopPending = true;
  }

  /**
   * A signed head whose last entry is the writer's clean stop (`audit.log.stopped.v1`) ends the log: the writer appends
   * after it only once a head covers its resumption (`audit.log.resumed.v1`, signed before anything else is appended).
   * Past that head there may be that resumption alone (the writer was cut off before it signed it), nothing else. This
   * holds without `stopped-cleanly.json`, which anyone who can write the directory can delete (red team, 2026-12-04).
   */
  private checkStoppedHead(signed: TreeHead[]): void {
    const head = signed.at(-1);
    if (!head || head.treeSize === 0 || this.chain.size === head.treeSize) return;
    const [{ entry: stop }] = this.readEntries([head.treeSize - 1]);
    if (stop.eventType !== TOPICS.logStopped) return;
    const past = this.chain.size - head.treeSize;
    if (past === 1 && isResumptionOf(this.readEntries([head.treeSize])[0].entry, head.treeSize - 1)) return;
    this.tampered(
      `entries ${head.treeSize}..${this.chain.size - 1} are past the signed head of ${head.treeSize} entries, which ends in the writer's clean stop ` +
        `(entry ${head.treeSize - 1}): the writer appends after a clean stop only once a head covers its resumption, so they were added by someone else`,
    );
  }

  /**
   * Every head is signed by the home's key (or, before that key's first head, by an older version's per-start key): the
   * start counts a head only once it knows its signer. It had compared sizes and roots alone, so a line appended to
   * `tree-heads.jsonl` with any signature hid forged entries from the clean-stop rule and from the recovery record, and
   * the writer then signed over them (red team, 2026-12-07: a forged approval after a clean stop, verified with
   * `--trust`, `--head` and `--strict` once that line was removed again).
   */
  private checkHeadSignatures(signed: readonly TreeHead[], keys: HeadKeys): void {
    const older = (keys.older ?? []).filter((k) => k.keyId !== keys.home.keyId);
    let homeSigned: TreeHead | undefined;
    for (const head of signed) {
      const byHome = head.keyId === keys.home.keyId;
      const check = verifyTreeHead(head, byHome ? [keys.home] : older);
      if (!check.ok) this.tampered(`${check.problem}: the home's heads are signed by its own key alone, so this one was written by someone else`);
      if (byHome) homeSigned ??= head;
      else if (homeSigned)
        this.tampered(
          `the signed head of ${head.treeSize} entries is signed by ${JSON.stringify(head.keyId)}, an older per-start key, after the home's own key ` +
            `signed the head of ${homeSigned.treeSize}: since then every head is the home key's, so this one was written by someone else`,
        );
    }
  }

  /**
   * Runs a read of the log or its heads, refusing a path that is not a regular file (`openRegularFile`): a named pipe
   * would hold the start on `open`, a device never end (red team, 2026-12-07: a FIFO held the start with nothing said,
   * /dev/zero grew it to 3.6 GB).
   */
  private regular<T>(read: () => T): T {
    try {
      return read();
    } catch (e) {
      if (e instanceof InputFileError)
        this.tampered(
          `${e.file} is ${e.reason === 'directory' ? 'a directory' : 'not a regular file (a named pipe, a device or a socket)'}, not the file the writer writes`,
        );
      throw e;
    }
  }

  async stoppedCleanly(head: TreeHead): Promise<void> {
    if (head.treeSize !== this.chain.size) return; // not every entry is under it: a later start reads the tail as a crash's
    const next = `${this.cleanStopFile}.next`;
    // Synced before it takes the name, and the name synced: a power loss leaves the old record or the new, never half.
    const fd = openSync(next, 'w');
    try {
      writeAll(fd, Buffer.from(JSON.stringify({ treeSize: head.treeSize, rootHash: head.rootHash, at: new Date().toISOString() })));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(next, this.cleanStopFile);
    syncDirectory(dirname(this.cleanStopFile));
  }

  async tornWrites(): Promise<TornWrite[]> {
    return [...this.torn];
  }

  /** Reads the log at `path` (none: empty) entry by entry, checking each against its place, its hash and the signed heads. */
  private load(signed: TreeHead[], path: string | undefined): ReadBack<StoredEntry> {
    let next = 0;
    const check = () => {
      for (; next < signed.length && signed[next].treeSize === this.chain.size; next++)
        if (signed[next].rootHash !== this.chain.root().toString('hex'))
          this.tampered(`the log's first ${this.chain.size} entries do not have the root of the signed head of that size: entries before it were changed`);
    };
    const log: ReadBack<StoredEntry> = path
      ? readJsonLines<StoredEntry>(
          path,
          (n, last) => this.tampered(`line ${n} ${last ? NOT_TORN : 'does not parse'}`),
          (stored, line, offset, length, bytes) => {
            check();
            const index = this.chain.size;
            const entry = stored?.entry as (AuditEntry & { _index?: number; _recordedAt?: unknown }) | undefined;
            if (stored?.index !== index || entry?._index !== index)
              this.tampered(`line ${line + 1} holds entry ${String(stored?.index)} where entry ${index} belongs`);
            if (leafHashOfText(entryJson(entry)).toString('hex') !== stored.leafHash)
              this.tampered(`entry ${index} does not match its recorded leaf hash: it was modified`);
            // As strictly as `audit verify --file` reads it (red team, 2026-12-07: a time moved back, a duplicate key, an
            // added field, other spacing passed the start, and the routes showed the changed time).
            const problem = linePlainlyWritten(stored, bytes);
            if (problem) this.tampered(`line ${line + 1} (entry ${index}) ${problem}`);
            if (this.ids.has(entry.eventId)) this.tampered(`entry ${index} repeats event ${entry.eventId}`);
            this.entries.add(stored, offset, length);
            this.ids.add(this.entries.eventId(index));
            this.chain.append(Buffer.from(stored.leafHash, 'hex'));
          },
        )
      : { values: [], offsets: [], lengths: [] };
    check();
    if (next < signed.length && log.torn)
      this.tampered(
        `line ${log.torn.line}, the last, is cut short, but the signed head of ${signed[next].treeSize} entries covers it: ` +
          'a head is written only once its entries are on disk, so this is no torn write',
      );
    if (next < signed.length)
      this.tampered(`the log has ${this.chain.size} entries, fewer than the signed head of ${signed[next].treeSize}: entries were taken out`);
    return log;
  }

  /**
   * The head store's heads (`FileHeadStore`, beside the log); one that does not parse is tampering, unless it is the
   * newest file, the start of a JSON text, and names a head that `tree-heads.jsonl` holds whole (written, and synced,
   * before it): the head store's write was torn, and that head is kept again (into `torn`).
   */
  private keptHeads(dir: string, torn: { file: string; head: TreeHead }[]): TreeHead[] {
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
    return files.map((f, i) => {
      try {
        return JSON.parse(readFileSync(join(dir, f), 'utf8')) as TreeHead;
      } catch {
        const whole = i === files.length - 1 ? this.headList.find((h) => FileHeadStore.fileName(h) === f) : undefined;
        if (!whole || !isTornWrite(readFileSync(join(dir, f)))) return this.tampered(`the kept head ${f} does not parse`);
        torn.push({ file: join(dir, f), head: whole });
        return whole;
      }
    });
  }

  /**
   * Keeps a torn write's bytes beside its file, synced, then cuts the file back to its last complete line (a kept
   * head's file, torn whole, is moved aside instead). Never deletes them: they are what an operator looks at.
   */
  private setAside(t: TornFound): void {
    const stamp = new Date().toISOString().replace(/[:.]/g, '');
    let keptAt = `${t.file}.torn-${stamp}`;
    for (let n = 2; existsSync(keptAt); n++) keptAt = `${t.file}.torn-${stamp}-${n}`;
    if (t.at === undefined) {
      renameSync(t.file, keptAt);
      syncDirectory(dirname(t.file));
    } else {
      const aside = openSync(keptAt, 'wx');
      try {
        writeAll(aside, t.bytes);
        fsyncSync(aside);
      } finally {
        closeSync(aside);
      }
      syncDirectory(dirname(t.file));
      const fd = openSync(t.file, 'r+');
      try {
        ftruncateSync(fd, t.at);
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    this.torn.push({ file: t.file, line: t.line, bytes: t.bytes.length, digest: createHash('sha256').update(t.bytes).digest('hex'), keptAt });
  }

  /**
   * Appends `text` to `file`, and with `sync` waits until it is on disk (fdatasync). A write that fails is cut back off,
   * so that the file still ends at a complete line; when even that fails, nothing more is written (the next start sets
   * the torn line aside).
   */
  private append(file: string, text: string, sync: boolean): number {
    if (this.unwritable) throw outage(this.unwritable);
    try {
      const at = this.appendOnce(file, text, sync);
      this.failing.delete(file);
      return at;
    } catch (e) {
      this.failing.set(file, e as Error);
      throw outage(e as Error);
    }
  }

  /** Returns the byte offset where `text` starts in the file. */
  private appendOnce(file: string, text: string, sync: boolean): number {
    const created = !existsSync(file);
    const fd = openSync(file, 'a');
    let end: number | undefined;
    let at: number;
    try {
      end = fstatSync(fd).size;
      // A last line found whole but without its newline (the write was cut just before it) gets it first.
      const newline = this.unterminated.has(file);
      at = end + (newline ? 1 : 0);
      writeAll(fd, Buffer.from(newline ? `\n${text}` : text));
      if (sync) fdatasyncSync(fd);
      this.unterminated.delete(file);
    } catch (e) {
      if (end !== undefined)
        try {
          ftruncateSync(fd, end);
          fdatasyncSync(fd);
        } catch {
          // Its cause's code (ENOSPC, EIO…) keeps it an outage, retried, not a bad event (`isDependencyFailure`).
          this.unwritable = new Error(`${file}: a failed write could not be cut back off (${(e as Error).message}); restart the audit writer`, {
            cause: e,
          });
        }
      throw e;
    } finally {
      closeSync(fd);
    }
    if (created && sync) syncDirectory(dirname(file));
    return at;
  }

  /**
   * Why the log cannot be written now (the last write to one of its files failed: a full disk, a file made unwritable,
   * descriptors used up), or undefined once a write to each such file succeeds again. The embedded host holds execution on it (no audit, no action) and says it
   * at /readyz (disk probe, 2026-12-05).
   */
  writeFailure(): Error | undefined {
    if (this.unwritable) return this.unwritable;
    if (this.unwritten.size) return this.logFailure ?? new Error(`${this.unwritten.size} entries could not be written yet`);
    return [...this.failing].find(([file]) => file !== this.path)?.[1];
  }

  /** Waits until everything appended to the log is on disk, and its name. */
  private syncLog(): void {
    if (!this.unsynced) return;
    const fd = openSync(this.path, 'r+');
    try {
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (!this.logNamed) syncDirectory(dirname(this.path));
    this.logNamed = true;
    this.unsynced = false;
  }

  private tampered(problem: string): never {
    throw new AuditLogTamperedError(this.path, problem);
  }

  private key?: Buffer;

  /**
   * The log's pseudonym key (`pseudonymKeyFile`, mode 0600), read (or made) when the log opens: a log begun before the
   * key was (2026-12-05) gets one then; its earlier entries keep their digests as written. A file that is not a key, or
   * no file for a log whose entries were kept under one, refuses the open (fail closed): a new key would make the log's
   * pseudonyms disagree unseen.
   */
  async pseudonymKey(): Promise<Buffer> {
    return (this.key ??= this.readPseudonymKey());
  }

  private readPseudonymKey(): Buffer {
    const file = this.options.pseudonymKeyFile ?? join(dirname(this.path), 'pseudonym.key');
    if (!existsSync(file) && this.entries.anyPseudonymised)
      this.tampered(`the log's pseudonym key ${file} is missing, though entries were kept under it: restore it from a backup of this log`);
    mkdirSync(dirname(file), { recursive: true });
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeAll(fd, Buffer.from(`${randomBytes(32).toString('hex')}\n`));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      syncDirectory(dirname(file));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const text = readFileSync(file, 'utf8').trim();
    if (!/^[0-9a-f]{64,}$/.test(text)) this.tampered(`${file} is not the log's pseudonym key (64 hex digits or more): restore it from a backup of this log`);
    return Buffer.from(text, 'hex');
  }

  async appendBatch(batch: AuditEntry[]): Promise<AppendResult> {
    const recordedAt = new Date().toISOString();
    const added: { stored: StoredEntry; leaf: Buffer }[] = [];
    const inBatch = new Set<string>();
    for (const unplaced of batch) {
      if (this.ids.has(unplaced.eventId)) this.unwritten.delete(unplaced.eventId);
      if (this.ids.has(unplaced.eventId) || inBatch.has(unplaced.eventId)) continue;
      inBatch.add(unplaced.eventId);
      const index = this.chain.size + added.length;
      // Its place and the time it is stored are hashed with it (`recordedAt` on the line is the same time).
      const entry = { ...unplaced, _index: index, _recordedAt: recordedAt };
      const leaf = leafHashOfText(entryJson(entry));
      // No root per line (ADR 0029): the tip and the signed heads carry it.
      added.push({ stored: { index, entry, leafHash: leaf.toString('hex'), recordedAt }, leaf });
    }
    if (added.length) {
      // Running again: a tail after a crash from here on is the writer's own, so the clean stop is forgotten first.
      if (this.cleanStopPending) {
        rmSync(this.cleanStopFile, { force: true });
        syncDirectory(dirname(this.cleanStopFile));
        this.cleanStopPending = false;
      }
      // In the file first, then in the chain: a failed write leaves neither, and the batch is delivered again. On disk
      // before the next head (`saveHead`): one sync per head, not per batch (docs/adr/0005).
      const lines = added.map((a) => JSON.stringify(a.stored));
      let at: number;
      try {
        at = this.append(this.path, `${lines.join('\n')}\n`, false);
      } catch (e) {
        for (const a of added) this.unwritten.add(a.stored.entry.eventId);
        this.logFailure = (e as Error & { cause?: Error }).cause ?? (e as Error);
        throw e;
      }
      for (const a of added) this.unwritten.delete(a.stored.entry.eventId);
      this.unsynced = true;
      added.forEach(({ stored, leaf }, i) => {
        this.chain.append(leaf);
        // Only where its line is, and what searches read: the entry is read back from the file when asked for.
        const length = Buffer.byteLength(lines[i]);
        this.entries.add(stored, at, length);
        at += length + 1;
        this.ids.add(this.entries.eventId(stored.index));
      });
    }
    return { ...(await this.tip()), appended: added.length };
  }

  async query(q: AuditQuery): Promise<StoredEntry[]> {
    // One pass over what is kept in memory (an action's or a correlation's entries directly), stopping at the limit and
    // letting other requests in every 10,000 entries; then only the matches are read from the file (docs/adr/0005).
    const found = await this.entries.matching(q, Math.min(q.limit ?? 500, 5000), () => setImmediatePromise());
    return this.readEntries(found);
  }

  async leafHashes(from: number, to: number): Promise<string[]> {
    return this.indexes(from, to).map((i) => this.entries.leafHash(i));
  }

  async range(from: number, to: number): Promise<LoggedEntry[]> {
    return this.readEntries(this.indexes(from, to)).map((s) => ({
      index: s.index,
      entry: s.entry,
      leafHash: s.leafHash,
      recordedAt: s.recordedAt,
      ...(s.root !== undefined ? { root: s.root } : {}),
    }));
  }

  /** The indexes from `from` to before `to` (as `Array.slice` bounds them). */
  private indexes(from: number, to: number): number[] {
    const n = this.entries.length;
    const start = Math.max(0, Math.min(n, from < 0 ? n + from : from));
    const end = Math.max(start, Math.min(n, to < 0 ? n + to : to));
    return Array.from({ length: end - start }, (_, k) => start + k);
  }

  /**
   * The entries at `indexes`, read from the file. One changed there since it was read or appended is tampering, and the
   * log takes nothing more from then on, as after a write it could not cut back off: no head is signed over a history
   * that changed, and the embedded host holds execution while `writeFailure` says why (fail closed, as a start refuses
   * such a file).
   */
  private readEntries(indexes: number[]): StoredEntry[] {
    return this.entries.read(indexes, (problem) => {
      const tampered = new AuditLogTamperedError(this.path, problem);
      this.unwritable ??= tampered;
      throw tampered;
    });
  }

  async tip(): Promise<ChainTip> {
    return { size: this.chain.size, root: this.chain.root().toString('hex') };
  }

  async extent(): Promise<number> {
    return this.entries.length;
  }

  async trailsSince(since: string, until?: string): Promise<ActionTrail[]> {
    const from = Date.parse(since);
    const to = until === undefined ? Infinity : Date.parse(until);
    // Proposed or decided in the window: a decision nobody proposed is a gap of its own (completeness.ts). Read from
    // what is kept in memory of each entry, not from the file.
    // The first policy decision's lane and the first review decision that decides count (an escalation hands the item on
    // and decides nothing), as in the PostgreSQL store; what did not happen to the action is left out, as there: a
    // refusal of an event only, and a revision whose new action was not proposed as the revision of this action by this
    // event.
    return this.entries.actionsIn(from, to).map((actionId) => {
      const trail: ActionTrail = { actionId, types: [], lane: null, review: null };
      let lane: string | null | undefined;
      let review: string | null | undefined;
      for (const step of this.entries.trail(actionId)) {
        const notTheAction =
          (step.type === TOPICS.actionRefused && step.final === false) ||
          (step.type === TOPICS.proposalRevised && !this.entries.proposedAsRevision(String(step.newActionId), step.eventId, actionId));
        if (!notTheAction) trail.types.push(step.type);
        if (step.type === TOPICS.policyDecided && lane === undefined) lane = step.value ?? null;
        if (step.type === TOPICS.reviewDecided && review === undefined && step.value !== ESCALATED) review = step.value ?? null;
      }
      return { ...trail, lane: lane ?? null, review: review ?? null };
    });
  }

  /**
   * The entries it covers on disk first, then the head (synced, before the head store keeps it): a power loss can leave
   * entries no head covers, never a head over entries that are not there, which the next start would refuse.
   */
  async saveHead(head: TreeHead): Promise<void> {
    if (head.treeSize > this.chain.size) throw new Error(`a head of ${head.treeSize} entries is past the end of the log (${this.chain.size}): not saved`);
    this.syncLog();
    this.append(this.headsFile, `${JSON.stringify(head)}\n`, true);
    // Kept in order of size, then signing time, as the database orders them (a head signed again comes among its size's).
    let at = this.headList.length;
    while (at > 0 && byTreeThenTime(this.headList[at - 1], head) > 0) at--;
    this.headList.splice(at, 0, head);
  }

  async heads(range?: HeadRange): Promise<TreeHead[]> {
    return selectHeads(this.headList, range);
  }
}

/** Heads in the order the stores give them: by tree size, then by signing time. */
const byTreeThenTime = (a: TreeHead, b: TreeHead) => a.treeSize - b.treeSize || Date.parse(a.timestamp) - Date.parse(b.timestamp);

/**
 * Each complete line of a JSON Lines file, parsed (`bad` with the 1-based number of one that does not parse), and what
 * follows the last newline: a line that parses (only its newline is missing), one cut short (`torn`: the start of a JSON
 * text, as a write cut short leaves it), or neither (`bad`, with `last`). With `each`, each value goes to it as it is
 * read (with its place in the file) and none is kept: the log is read a piece at a time, not whole. A whole read held
 * every entry at once (922 MB at 200,000 entries), and Node reads no file past 2 GiB at once (`ERR_FS_FILE_TOO_LARGE`),
 * so a log that grew past it would have stopped the embedded mode's start (a scale probe, 2026-12-06).
 */
export function readJsonLines<T>(
  file: string,
  bad: (line: number, last?: boolean) => never,
  each?: (value: T, index: number, offset: number, length: number, bytes: Buffer) => void,
  chunkBytes = READ_CHUNK_BYTES,
): ReadBack<T> {
  const values: T[] = [];
  const offsets: number[] = [];
  const lengths: number[] = [];
  let count = 0;
  const take = (value: T, offset: number, length: number, bytes: Buffer) => {
    if (each) each(value, count, offset, length, bytes);
    else {
      values.push(value);
      offsets.push(offset);
      lengths.push(length);
    }
    count++;
  };
  const fd = openRegularFile(file);
  // What follows the last newline read so far, and where it starts in the file.
  let rest = Buffer.alloc(0);
  let restAt = 0;
  let lineNo = 0;
  try {
    const chunk = Buffer.allocUnsafe(chunkBytes);
    for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0;) {
      const bytes = rest.length ? Buffer.concat([rest, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      // Line by line on the bytes, so that each value's place in the file is known (the file audit log reads entries
      // back from there), and no value holds a slice of the file's text.
      let start = 0;
      for (let newline = bytes.indexOf(0x0a); newline >= 0; newline = bytes.indexOf(0x0a, start)) {
        lineNo++;
        const line = bytes.toString('utf8', start, newline);
        if (line.trim()) {
          let value: T;
          try {
            value = JSON.parse(line) as T;
          } catch {
            return bad(lineNo);
          }
          take(value, restAt + start, newline - start, bytes.subarray(start, newline));
        }
        start = newline + 1;
      }
      // A copy: the chunk is read into again.
      rest = Buffer.from(bytes.subarray(start));
      restAt += start;
      // No line of the writer's is this long: one that never ends is not held until memory runs out.
      if (rest.length > MAX_LOG_LINE_BYTES) return bad(lineNo + 1);
    }
  } finally {
    closeSync(fd);
  }
  if (!rest.length) return { values, offsets, lengths };
  // After the last newline, the last line.
  let value: T;
  try {
    value = JSON.parse(rest.toString('utf8')) as T;
  } catch {
    if (!isTornWrite(rest)) return bad(lineNo + 1, true);
    return { values, offsets, lengths, torn: { line: lineNo + 1, at: restAt, bytes: rest } };
  }
  take(value, restAt, rest.length, rest);
  return { values, offsets, lengths, unterminated: true };
}

/** How much of a JSON Lines file is read at once. */
const READ_CHUNK_BYTES = 8 * 1024 * 1024;

/** What a tampered last line is, against what a write cut short leaves. */
const NOT_TORN = 'has no newline and is not the start of a JSON line: a write cut short leaves the start of a line, so it was changed outside Countersign';

/**
 * Whether `bytes`, a last line that does not parse, can be a write cut short: the start of a JSON text, then at most NUL
 * bytes (a file system may show the unwritten end of an extended file as zeros). Anything else was changed: a whole line
 * with one byte changed and its newline cut is not set aside as torn (red team, 2026-12-04). Cutting a line's end off is
 * still possible for anyone who can write the file, as removing whole lines past the newest head always was: what is
 * set aside is recorded in the log (`audit.log.recovered.v1`, with its SHA-256).
 */
function isTornWrite(bytes: Buffer): boolean {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return isJsonTextPrefix(bytes.subarray(0, end));
}

/** The embedded mode's audit store on the JSON Lines file `path` (the signed heads in `tree-heads.jsonl` beside it). */
export const createFileAuditLog = (path: string, options: { pseudonymKeyFile?: string; headKeys?: HeadKeys } = {}): FileAuditLogRepository =>
  new FileAuditLogRepository(path, options);

/**
 * A write to the log that failed, whatever its code (a full disk, a file made unwritable, `audit/` removed or unmounted,
 * a stale NFS handle): an outage of the log, retried until it writes, never a bad event to dead-letter (red team,
 * 2026-12-05: ENOENT dead-lettered, and the entry was lost). The cause is kept.
 */
function outage(e: Error): DependencyUnavailableError {
  return new DependencyUnavailableError(`the audit log cannot be written: ${e.message}`, { cause: e });
}
