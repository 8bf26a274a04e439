import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CompactRange, entryJson, leafHashOfText } from '@countersign/audit-chain';
import type { AuditEntry, LoggedEntry, TreeHead } from '@countersign/audit-chain';
import { TOPICS } from '@countersign/contracts';
import { FileHeadStore } from '../chain/file-head-store';
import type { ActionTrail, AppendResult, AuditLogRepository, AuditQuery, ChainTip, StoredEntry } from './audit-log.repository';

/** The audit file does not agree with itself or with its signed heads: it was changed outside Countersign. */
export class AuditLogTamperedError extends Error {
  constructor(path: string, problem: string) {
    super(
      `${path}: ${problem}. The audit log was changed outside Countersign, so it is not read and nothing starts on it. ` +
        `\`npm run countersign -- audit verify --file ${path} --keys <keys dir>\` names the first bad entry; restore the file ` +
        `(and tree-heads.jsonl) from a copy, or move the audit directory aside to begin a new log.`,
    );
  }
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
 */
export class FileAuditLogRepository implements AuditLogRepository {
  private readonly entries: StoredEntry[] = [];
  private readonly ids = new Set<string>();
  private readonly chain = CompactRange.empty();
  private readonly headsFile: string;
  private readonly headList: TreeHead[] = [];

  constructor(private readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.headsFile = join(dirname(path), 'tree-heads.jsonl');
    if (existsSync(this.headsFile))
      this.headList.push(...readJsonLines<TreeHead>(this.headsFile, (n) => this.tampered(`line ${n} of ${this.headsFile} does not parse`)));
    const kept = join(dirname(path), 'heads');
    const signed = [...this.headList, ...(existsSync(kept) ? this.keptHeads(kept) : [])].sort((a, b) => a.treeSize - b.treeSize);
    this.cleanStopFile = join(dirname(path), 'stopped-cleanly.json');
    if (existsSync(path)) this.load(signed);
    this.checkCleanStop();
  }

  /** Where the writer said it stopped cleanly, and under which head (`stoppedCleanly`). */
  private readonly cleanStopFile: string;
  private cleanStopPending = false;

  /** After a clean stop the log ends where that stop's head does: an entry past it was written by someone else. */
  private checkCleanStop(): void {
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
    this.cleanStopPending = true;
  }

  async stoppedCleanly(head: TreeHead): Promise<void> {
    if (head.treeSize !== this.chain.size) return; // not every entry is under it: a later start reads the tail as a crash's
    const next = `${this.cleanStopFile}.next`;
    writeFileSync(next, JSON.stringify({ treeSize: head.treeSize, rootHash: head.rootHash, at: new Date().toISOString() }));
    renameSync(next, this.cleanStopFile);
  }

  private load(signed: TreeHead[]): void {
    let next = 0;
    const check = () => {
      for (; next < signed.length && signed[next].treeSize === this.chain.size; next++)
        if (signed[next].rootHash !== this.chain.root().toString('hex'))
          this.tampered(`the log's first ${this.chain.size} entries do not have the root of the signed head of that size: entries before it were changed`);
    };
    readJsonLines<StoredEntry>(this.path, (n) => this.tampered(`line ${n} does not parse`)).forEach((stored, line) => {
      check();
      const index = this.chain.size;
      const entry = stored?.entry as (AuditEntry & { _index?: number }) | undefined;
      if (stored?.index !== index || entry?._index !== index)
        this.tampered(`line ${line + 1} holds entry ${String(stored?.index)} where entry ${index} belongs`);
      if (leafHashOfText(entryJson(entry)).toString('hex') !== stored.leafHash)
        this.tampered(`entry ${index} does not match its recorded leaf hash: it was modified`);
      if (this.ids.has(entry.eventId)) this.tampered(`entry ${index} repeats event ${entry.eventId}`);
      this.entries.push(stored);
      this.ids.add(entry.eventId);
      this.chain.append(Buffer.from(stored.leafHash, 'hex'));
    });
    check();
    if (next < signed.length)
      this.tampered(`the log has ${this.chain.size} entries, fewer than the signed head of ${signed[next].treeSize}: entries were taken out`);
  }

  /** The head store's heads (`FileHeadStore`, beside the log); one that does not parse is tampering. */
  private keptHeads(dir: string): TreeHead[] {
    try {
      return FileHeadStore.read(dir);
    } catch (e) {
      return this.tampered((e as Error).message);
    }
  }

  private tampered(problem: string): never {
    throw new AuditLogTamperedError(this.path, problem);
  }

  async appendBatch(batch: AuditEntry[]): Promise<AppendResult> {
    const lines: string[] = [];
    const recordedAt = new Date().toISOString();
    for (const unplaced of batch) {
      if (this.ids.has(unplaced.eventId)) continue;
      const index = this.chain.size;
      // Its place and the time it is stored are hashed with it (`recordedAt` on the line is the same time).
      const entry = { ...unplaced, _index: index, _recordedAt: recordedAt };
      const leaf = leafHashOfText(entryJson(entry));
      this.chain.append(leaf);
      // No root per line (ADR 0029): the tip and the signed heads carry it.
      const stored: StoredEntry = { index, entry, leafHash: leaf.toString('hex'), recordedAt };
      this.entries.push(stored);
      this.ids.add(entry.eventId);
      lines.push(JSON.stringify(stored));
    }
    if (lines.length) {
      // Running again: a tail after a crash from here on is the writer's own, so the clean stop is forgotten first.
      if (this.cleanStopPending) {
        rmSync(this.cleanStopFile, { force: true });
        this.cleanStopPending = false;
      }
      appendFileSync(this.path, `${lines.join('\n')}\n`);
    }
    return { ...(await this.tip()), appended: lines.length };
  }

  async query(q: AuditQuery): Promise<StoredEntry[]> {
    return this.entries
      .filter(
        ({ entry: e }) =>
          (!q.actionId || e.actionId === q.actionId) &&
          (!q.correlationId || e.correlationId === q.correlationId) &&
          (!q.actor || e.actor.id === q.actor) &&
          (!q.type || e.eventType === q.type) &&
          (!q.since || e.time >= q.since) &&
          (!q.until || e.time < q.until),
      )
      .slice(0, Math.min(q.limit ?? 500, 5000));
  }

  async range(from: number, to: number): Promise<LoggedEntry[]> {
    return this.entries
      .slice(from, to)
      .map((s) => ({ index: s.index, entry: s.entry, leafHash: s.leafHash, recordedAt: s.recordedAt, ...(s.root !== undefined ? { root: s.root } : {}) }));
  }

  async tip(): Promise<ChainTip> {
    return { size: this.chain.size, root: this.chain.root().toString('hex') };
  }

  async extent(): Promise<number> {
    return this.entries.length ? this.entries[this.entries.length - 1].index + 1 : 0;
  }

  async trailsSince(since: string, until?: string): Promise<ActionTrail[]> {
    const from = Date.parse(since);
    const to = until === undefined ? Infinity : Date.parse(until);
    // Proposed or decided in the window: a decision nobody proposed is a gap of its own (completeness.ts).
    const proposed = new Set(
      this.entries
        .filter(
          ({ entry: e }) =>
            (e.eventType === TOPICS.actionProposed || e.eventType === TOPICS.policyDecided) && Date.parse(e.time) >= from && Date.parse(e.time) < to,
        )
        .map(({ entry: e }) => e.actionId),
    );
    // The revisions the orchestrator turned into new actions (`<revision event id>|<revised action id>`): a revision
    // counts only when its new action was proposed as the revision of this action by this event.
    const madeActions = new Set(
      this.entries
        .filter(({ entry: e }) => e.eventType === TOPICS.actionProposed)
        .map(({ entry: e }) => {
          const of = (e.data as { revisionOf?: { actionId?: unknown; revisionEventId?: unknown } } | undefined)?.revisionOf;
          return of ? `${e.actionId}|${String(of.revisionEventId)}|${String(of.actionId)}` : '';
        }),
    );
    // The first policy decision's lane and the first review's decision count, as in the PostgreSQL store; what did not
    // happen to the action is left out, as there: a refusal of an event only, a revision that created no action.
    const trails = new Map<string, { types: string[]; lane?: string | null; review?: string | null }>();
    for (const { entry: e } of this.entries) {
      if (!proposed.has(e.actionId)) continue;
      const trail = trails.get(e.actionId) ?? { types: [] };
      trails.set(e.actionId, trail);
      const data = (e.data ?? {}) as { lane?: unknown; decision?: unknown; final?: unknown; newActionId?: unknown };
      const notTheAction =
        (e.eventType === TOPICS.actionRefused && data.final === false) ||
        (e.eventType === TOPICS.proposalRevised && !madeActions.has(`${String(data.newActionId)}|${e.eventId}|${e.actionId}`));
      if (!notTheAction) trail.types.push(e.eventType);
      if (e.eventType === TOPICS.policyDecided && trail.lane === undefined) trail.lane = text(data.lane);
      if (e.eventType === TOPICS.reviewDecided && trail.review === undefined) trail.review = text(data.decision);
    }
    return [...trails].map(([actionId, t]) => ({ actionId, types: t.types, lane: t.lane ?? null, review: t.review ?? null }));
  }

  async saveHead(head: TreeHead): Promise<void> {
    this.headList.push(head);
    appendFileSync(this.headsFile, `${JSON.stringify(head)}\n`);
  }

  async heads(): Promise<TreeHead[]> {
    return [...this.headList];
  }
}

/** Each line of a JSON Lines file, parsed (`bad` with the 1-based number of a line that does not parse). */
function readJsonLines<T>(file: string, bad: (line: number) => never): T[] {
  const out: T[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, n) => {
      if (!line.trim()) return;
      try {
        out.push(JSON.parse(line) as T);
      } catch {
        bad(n + 1);
      }
    });
  return out;
}

/** A data field as PostgreSQL's `->>` reads it: text as is, other JSON values as their JSON, missing as null. */
const text = (v: unknown): string | null => (v === undefined || v === null ? null : typeof v === 'string' ? v : JSON.stringify(v));

/** The embedded mode's audit store on the JSON Lines file `path` (the signed heads in `tree-heads.jsonl` beside it). */
export const createFileAuditLog = (path: string): FileAuditLogRepository => new FileAuditLogRepository(path);
