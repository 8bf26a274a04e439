import { closeSync, openSync, readSync } from 'node:fs';
import { entryJson, leafHashOfText } from '@countersign/audit-chain';
import { TOPICS } from '@countersign/contracts';
import type { AuditQuery, StoredEntry } from './audit-log.repository';

/** A search yields to other requests after this many entries. */
const QUERY_SLICE = 10_000;

/** What a trail reads of an entry (`trail`): its type, and the one field of its data that type's trail step needs. */
export interface TrailStep {
  index: number;
  actionId: string;
  eventId: string;
  type: string;
  /** `policy.decision.made.v1`: its lane; `review.decision.made.v1`: its decision (null when it has none). */
  value?: string | null;
  /** `execution.action.refused.v1`: whether the refusal is final (`final` is not false). */
  final?: boolean;
  /** `approval.proposal.revised.v1`: the new action's id (`newActionId`), as text. */
  newActionId?: string;
}

/**
 * What the file audit log keeps in memory of each of its entries: where its line is in the file, its leaf hash, and the
 * few fields that searches, the completeness check and the chain read (about 200 bytes an entry, against some 3 KB for
 * the entry parsed). The entries themselves are read back from the file when asked for, and checked against the leaf
 * hash kept here: a line changed on disk since the start is found as it is read.
 *
 * Soak, 2026-12-06: the whole log held parsed in memory grew the embedded process by about 8 KB of heap per action,
 * without end.
 */
export class EntryIndex {
  private readonly offsets: number[] = [];
  private readonly lengths: number[] = [];
  private hashes = Buffer.alloc(32 * 1024);
  private readonly times: number[] = [];
  private readonly types: number[] = [];
  private readonly actors: number[] = [];
  /** Per entry: an interned lane or decision (`values`), -1 none, -2 null; for a refusal, 1 final, 0 not. */
  private readonly details: number[] = [];
  private readonly byAction = new Map<string, Keyed>();
  private readonly byCorrelation = new Map<string, Keyed>();
  /** The new action's id of each revision entry, by entry (few). */
  private readonly revised = new Map<number, string>();
  /** The ids of the proposals that revised an action: `<action id>|<revision event id>|<revised action id>`. */
  private readonly revisionsOf = new Set<string>();
  private readonly eventIds: string[] = [];
  /** Each entry's action, as `byAction` holds it (its id string kept once). */
  private readonly actionOf: Keyed[] = [];
  private readonly typeNames = new Interned();
  private readonly actorNames = new Interned();
  private readonly values = new Interned();
  /** Whether any entry was kept under the log's pseudonym key. */
  anyPseudonymised = false;

  constructor(private readonly path: string) {}

  get length(): number {
    return this.offsets.length;
  }

  /** Adds entry `stored` (the next), whose line of `length` bytes starts at byte `offset` of the file. */
  add(stored: StoredEntry, offset: number, length: number): void {
    const i = this.offsets.length;
    const e = stored.entry;
    this.offsets.push(offset);
    this.lengths.push(length);
    if ((i + 1) * 32 > this.hashes.length) {
      const grown = Buffer.alloc(this.hashes.length * 2);
      this.hashes.copy(grown);
      this.hashes = grown;
    }
    this.hashes.write(stored.leafHash, i * 32, 32, 'hex');
    this.times.push(Date.parse(e.time));
    this.types.push(this.typeNames.id(e.eventType));
    this.actors.push(this.actorNames.id(e.actor?.id ?? ''));
    this.eventIds.push(own(e.eventId));
    this.actionOf.push(keyedAt(this.byAction, e.actionId, i));
    keyedAt(this.byCorrelation, e.correlationId, i);
    if (e.pseudonymised) this.anyPseudonymised = true;
    const data = (e.data ?? {}) as {
      lane?: unknown;
      decision?: unknown;
      final?: unknown;
      newActionId?: unknown;
      revisionOf?: { actionId?: unknown; revisionEventId?: unknown };
    };
    let detail = -1;
    if (e.eventType === TOPICS.policyDecided) detail = this.valueId(data.lane);
    else if (e.eventType === TOPICS.reviewDecided) detail = this.valueId(data.decision);
    else if (e.eventType === TOPICS.actionRefused) detail = data.final === false ? 0 : 1;
    else if (e.eventType === TOPICS.proposalRevised) this.revised.set(i, own(String(data.newActionId)));
    else if (e.eventType === TOPICS.actionProposed && data.revisionOf)
      this.revisionsOf.add(own(`${e.actionId}|${String(data.revisionOf.revisionEventId)}|${String(data.revisionOf.actionId)}`));
    this.details.push(detail);
  }

  /** The leaf hash of entry `i`, in hex. */
  leafHash(i: number): string {
    return this.hashes.toString('hex', i * 32, i * 32 + 32);
  }

  eventId(i: number): string {
    return this.eventIds[i];
  }

  /** The entries `indexes` (ascending), read from the file and checked against their kept leaf hashes. */
  read(indexes: number[], tampered: (problem: string) => never): StoredEntry[] {
    if (!indexes.length) return [];
    const fd = openSync(this.path, 'r');
    try {
      const out: StoredEntry[] = [];
      // Neighbouring lines are read in one go: a range, or an action's entries written together.
      for (let k = 0; k < indexes.length;) {
        let last = k;
        while (last + 1 < indexes.length && indexes[last + 1] === indexes[last] + 1 && last - k < 1_000) last++;
        const from = this.offsets[indexes[k]];
        const to = this.offsets[indexes[last]] + this.lengths[indexes[last]];
        const bytes = Buffer.alloc(to - from);
        if (readSync(fd, bytes, 0, bytes.length, from) !== bytes.length) tampered(`entries ${indexes[k]}..${indexes[last]} are no longer all in the file`);
        for (let j = k; j <= last; j++) {
          const i = indexes[j];
          const at = this.offsets[i] - from;
          out.push(this.check(i, bytes.toString('utf8', at, at + this.lengths[i]), tampered));
        }
        k = last + 1;
      }
      return out;
    } finally {
      closeSync(fd);
    }
  }

  private check(i: number, line: string, tampered: (problem: string) => never): StoredEntry {
    let stored: StoredEntry;
    try {
      stored = JSON.parse(line) as StoredEntry;
    } catch {
      return tampered(`entry ${i} no longer parses: the file was changed since it was read`);
    }
    const leafHash = this.leafHash(i);
    if (stored.index !== i || stored.leafHash !== leafHash || leafHashOfText(entryJson(stored.entry)).toString('hex') !== leafHash)
      tampered(`entry ${i} is no longer the entry read at the start or appended: the file was changed since`);
    return stored;
  }

  /** The entries matching `q`, in log order, at most `limit`; other requests go on every `QUERY_SLICE` entries. */
  async matching(q: AuditQuery, limit: number, yieldNow: () => Promise<unknown>): Promise<number[]> {
    // An empty filter is no filter, as in the PostgreSQL store.
    const since = q.since ? Date.parse(q.since) : undefined;
    const until = q.until ? Date.parse(q.until) : undefined;
    const type = q.type ? this.typeNames.find(q.type) : undefined;
    const actor = q.actor ? this.actorNames.find(q.actor) : undefined;
    if (type === -1 || actor === -1) return [];
    const candidates = q.actionId
      ? (this.byAction.get(q.actionId)?.at ?? [])
      : q.correlationId
        ? (this.byCorrelation.get(q.correlationId)?.at ?? [])
        : undefined;
    const found: number[] = [];
    const n = candidates ? candidates.length : this.length;
    for (let k = 0; k < n && found.length < limit; k++) {
      if (k > 0 && k % QUERY_SLICE === 0) await yieldNow();
      const i = candidates ? candidates[k] : k;
      if (
        (!q.correlationId || this.byCorrelationHas(q.correlationId, i)) &&
        (type === undefined || this.types[i] === type) &&
        (actor === undefined || this.actors[i] === actor) &&
        (since === undefined || this.times[i] >= since) &&
        (until === undefined || this.times[i] < until)
      )
        found.push(i);
    }
    return found;
  }

  private byCorrelationHas(correlationId: string, i: number): boolean {
    const list = this.byCorrelation.get(correlationId)?.at;
    return !!list && binaryHas(list, i);
  }

  /** The actions proposed or decided by policy with an event time in [from, to), in the order they first appear. */
  actionsIn(from: number, to: number): string[] {
    const proposed = this.typeNames.find(TOPICS.actionProposed);
    const decided = this.typeNames.find(TOPICS.policyDecided);
    const actions = new Map<string, number>();
    for (let i = 0; i < this.length; i++) {
      const t = this.types[i];
      if ((t === proposed || t === decided) && this.times[i] >= from && this.times[i] < to) {
        const action = this.actionOf[i];
        if (!actions.has(action.key)) actions.set(action.key, action.at[0]);
      }
    }
    return [...actions].sort((a, b) => a[1] - b[1]).map(([a]) => a);
  }

  /** The entries of `actionId`, in log order, as a trail reads them. */
  trail(actionId: string): TrailStep[] {
    return (this.byAction.get(actionId)?.at ?? []).map((i) => {
      const type = this.typeNames.name(this.types[i]);
      const detail = this.details[i];
      const step: TrailStep = { index: i, actionId, eventId: this.eventIds[i], type };
      if (type === TOPICS.policyDecided || type === TOPICS.reviewDecided)
        step.value = detail === -1 ? undefined : detail === -2 ? null : this.values.name(detail);
      if (type === TOPICS.actionRefused) step.final = detail !== 0;
      if (type === TOPICS.proposalRevised) step.newActionId = this.revised.get(i);
      return step;
    });
  }

  /** Whether action `actionId` was proposed as the revision, by event `revisionEventId`, of action `of`. */
  proposedAsRevision(actionId: string, revisionEventId: string, of: string): boolean {
    return this.revisionsOf.has(`${actionId}|${revisionEventId}|${of}`);
  }

  /** A lane or decision as `details` keeps it: text as is, other JSON values as their JSON, missing as -1, null as -2. */
  private valueId(v: unknown): number {
    if (v === undefined) return -1;
    if (v === null) return -2;
    return this.values.id(typeof v === 'string' ? v : JSON.stringify(v));
  }
}

/** `text` as a string of its own: one parsed out of a line is a slice of it (V8), and would keep the line alive. */
const own = (text: string) => Buffer.from(text, 'utf8').toString('utf8');

/** The entries of one action (or correlation id), with its id kept once. */
interface Keyed {
  key: string;
  at: number[];
}

/** Adds entry `i` to `key`'s entries in `map`. */
function keyedAt(map: Map<string, Keyed>, key: string, i: number): Keyed {
  let keyed = map.get(key);
  if (!keyed) {
    keyed = { key: own(key), at: [] };
    map.set(keyed.key, keyed);
  }
  keyed.at.push(i);
  return keyed;
}

/** Whether ascending `list` holds `i`. */
function binaryHas(list: number[], i: number): boolean {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid] === i) return true;
    if (list[mid] < i) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** Strings kept once each, by number. */
class Interned {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];

  id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(own(name));
      this.ids.set(this.names[id], id);
    }
    return id;
  }

  /** Its number, or -1 when never kept. */
  find(name: string): number {
    return this.ids.get(name) ?? -1;
  }

  name(id: number): string {
    return this.names[id];
  }
}
