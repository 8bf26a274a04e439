import { createHmac } from 'node:crypto';
import type { AuditEntry } from '@countersign/audit-chain';
import { canonicalDigest, Envelope, TOPICS } from '@countersign/contracts';
import { maskDeep } from '@countersign/guardrails';

type Data = Record<string, unknown> & {
  proposal?: { proposer?: { model?: { name: string; version: string }; promptTemplateVersion?: string }; context?: Record<string, unknown> };
};

/**
 * The audit entry of a bus event: the event itself, plus the fields an auditor searches by, lifted out of
 * its data (model and prompt versions, contract version, decision and reasons, reviewer reason, outcome),
 * and the trace id it arrived under (when it came with one). Its canonical JSON is the Merkle leaf.
 */
export function toAuditEntry(topic: string, e: Envelope, traceId?: string): AuditEntry {
  const d = (e.data ?? {}) as Data;
  const proposal = d.proposal;
  const decision = (d.lane ?? d.decision ?? d.code) as string | undefined;
  // An audit entry records an event's chain fields; it is not an event (nothing emits it).
  const entry: AuditEntry = {
    eventId: e.id,
    eventType: e.type,
    topic,
    time: e.time,
    actionId: e.subject,
    correlationId: e.correlationId,
    causationId: e.causationId,
    actor: e.actor,
    data: e.data,
  };
  if (proposal?.proposer?.model) entry.model = proposal.proposer.model;
  if (proposal?.proposer?.promptTemplateVersion) entry.promptTemplateVersion = proposal.proposer.promptTemplateVersion;
  if (typeof d.contractVersion === 'string') entry.contractVersion = d.contractVersion;
  if (decision) entry.decision = decision;
  if (Array.isArray(d.reasons)) entry.reasons = d.reasons as string[];
  if (typeof d.reason === 'string')
    entry[topic.startsWith('review.') ? 'reviewerReason' : 'reasons'] = (topic.startsWith('review.') ? d.reason : [d.reason]) as never;
  if (typeof d.shownDigest === 'string') {
    entry.shownDigest = d.shownDigest;
    entry.shown = d.shown;
  }
  if (topic === TOPICS.contractChanged) {
    entry.configChange = { kind: 'contract', version: String(d.toVersion), changeRequestId: String(d.changeRequestId) };
  }
  // Only when known: an entry without it hashes exactly as entries did before traces (docs/adr/0025-tracing.md).
  if (traceId) entry.traceId = traceId;
  if (topic.startsWith('execution.')) {
    entry.outcome = topic.split('.')[2];
    if (d.externalRequestId || d.connector)
      entry.sideEffects = {
        ...(d.externalRequestId !== undefined && { externalRequestId: d.externalRequestId as string }),
        ...(d.connector !== undefined && { connector: d.connector as string }),
      };
  }
  // Regulated data (e-mail, cards, IBANs, phones, national ids) never reaches the audit trail unmasked. `maskDeep` returns
  // a copy (the event is not changed); the entry holds nothing JSON would drop or change (no undefined: the data was
  // decoded from JSON), so no JSON round trip is needed first: it cost a deep copy and a string per event (issue 14).
  return withContractText(topic, d, maskDeep(entry));
}

/**
 * A contract's text, as requested and as approved, is kept as it was: it is configuration an admin wrote, and an
 * auditor must be able to hash it to the `toHash` the approval signed. Masked, a canary template's test card and the
 * example addresses in its comments changed, and the text no longer hashed to what was approved (auditor probe,
 * 2026-12-06). The rest of the event (an admin's reason among it) is masked as any.
 */
function withContractText(topic: string, original: Data, masked: AuditEntry): AuditEntry {
  const data = masked.data as Data;
  if (topic === TOPICS.changeRequested) {
    const text = (original.contract as { text?: unknown } | undefined)?.text;
    if (typeof text === 'string' && data.contract && typeof data.contract === 'object') (data.contract as { text: string }).text = text;
  } else if (topic === TOPICS.contractChanged && typeof original.contract === 'string') data.contract = original.contract;
  return masked;
}

/** The log's pseudonym of a value: HMAC-SHA-256 under the log's own key, hex (a SHA-256 digest keeps its form). */
export const pseudonymOf = (key: Buffer, value: string): string => createHmac('sha256', key).update(value).digest('hex');

/**
 * Topics whose digests, seals and signatures are over configuration (a contract, a change request, a flag's value), not
 * over what an agent proposed: kept as published, so that an auditor matches the digest an admin approved.
 */
export const CONFIGURATION_TOPICS: ReadonlySet<string> = new Set([
  TOPICS.contractChanged,
  TOPICS.changeRequested,
  TOPICS.changeDecided,
  TOPICS.autonomyChanged,
  TOPICS.autonomyDriftDetected,
]);

/**
 * Digests over an action's content (the proposal, a reviewer's screen, the idempotency key the executor derives from
 * the action's digest): kept as the log's pseudonyms. Any other 64-hex run in a value of such an event is too
 * (`HEX_RUN`): a digest a field of another name carries, or a text quotes (an outcome check's reason named the key).
 */
const KEYED = new Set(['digest', 'revisedDigest', 'shownDigest', 'idempotencyKey']);
/** 64-hex values that are no digest of an action's content: the contract's hash (of the contract's text). */
const KEPT = new Set(['contractHash']);
/** Seals and signatures: their signed bytes hold the content unmasked, or its digest. */
const DROPPED = new Set(['seal', 'signature', 'approval']);
/** A dead letter's raw bytes (`<topic>.dlq`): the message as sent, signature and digests with it. */
const RAW = 'rawPreview';
const SHA256_HEX = /^[0-9a-f]{64}$/;
const HEX_RUN = /(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])/g;
const HAS_HEX_RUN = new RegExp(HEX_RUN.source);

/**
 * An entry holding nothing that checks a guess of what it masks (tenant probe, 2026-12-05: an auditor without `pii:view`
 * read a card's masked form and `digest`, the plain SHA-256 of the real proposal, and found the card's hidden digits in
 * 87,637 hashes, under a second). The masked entry keeps:
 * - each action digest (`digest`, `revisedDigest`, and a `shownDigest` the masked screen does not reproduce) as its
 *   pseudonym, HMAC-SHA-256 under the log's key (`AuditLogRepository.pseudonymKey`): equal digests stay equal across
 *   entries (what was decided, approved and executed is one digest), and none can be computed from a guess without
 *   the key;
 * - no seal or signature (the publisher's seal, the review queue's decision token, an agent's signature): each signs the
 *   unmasked event or its digest, checkable by anyone with the public key. The writer checked them before appending: an
 *   event whose check failed is recorded apart (`unverifiedEntry`).
 * A `shownDigest` the masked `shown` reproduces stays as it is, so an auditor can replay a masked screen. Configuration
 * topics keep theirs (`CONFIGURATION_TOPICS`). What changed is named in `pseudonymised`, hashed with the entry.
 */
export function withoutOracles(topic: string, entry: AuditEntry, key: Buffer): AuditEntry {
  if (CONFIGURATION_TOPICS.has(topic)) return entry;
  // The screen as the entry will hold it: does its digest still reproduce from it (nothing on it was masked or keyed)?
  const shown = entry.shown === undefined ? undefined : oraclesOut(entry.shown, '/shown', key, true, { keyed: [], dropped: [] });
  const replayable = entry.shownDigest !== undefined && shown !== undefined && canonicalDigest(shown) === entry.shownDigest;
  const changed = { keyed: [] as string[], dropped: [] as string[] };
  const data = oraclesOut(entry.data, '/data', key, !replayable, changed);
  // The texts lifted out of the data beside it, for searches (a reason may quote a digest).
  const reasons = entry.reasons?.map((r, i) => hexRunsKeyed(r, `/reasons/${i}`, key, changed));
  const reviewerReason = entry.reviewerReason === undefined ? undefined : hexRunsKeyed(entry.reviewerReason, '/reviewerReason', key, changed);
  if (!changed.keyed.length && !changed.dropped.length) return entry;
  const out: AuditEntry = { ...entry, data, pseudonymised: changed };
  if (reasons) out.reasons = reasons;
  if (reviewerReason !== undefined) out.reviewerReason = reviewerReason;
  if (entry.shownDigest !== undefined && !replayable) out.shownDigest = pseudonymOf(key, entry.shownDigest);
  if (shown !== undefined) out.shown = shown;
  return out;
}

/** `value` with its digests keyed (`shownDigest` only when `keyShown`) and its seals and signatures left out, noted in `changed`. */
function oraclesOut(value: unknown, path: string, key: Buffer, keyShown: boolean, changed: { keyed: string[]; dropped: string[] }, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  // Not walked is not kept: a seal nested deeper would stay (masking reads 200 levels; no event nests near 64).
  if (depth > 64) {
    changed.dropped.push(path);
    return '[not kept: too deep]';
  }
  if (Array.isArray(value)) return value.map((v, i) => oraclesOut(v, `${path}/${i}`, key, keyShown, changed, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const at = `${path}/${k}`;
    if (DROPPED.has(k) && v !== null && (typeof v === 'string' || typeof v === 'object')) changed.dropped.push(at);
    else if (KEYED.has(k) && typeof v === 'string' && SHA256_HEX.test(v)) {
      if (k === 'shownDigest' && !keyShown) out[k] = v;
      else {
        out[k] = pseudonymOf(key, v);
        changed.keyed.push(at);
      }
    } else if (k === RAW && typeof v === 'string') out[k] = rawWithoutOracles(v, at, key, changed);
    else if (typeof v === 'string' && !KEPT.has(k) && v.length >= 64) out[k] = hexRunsKeyed(v, at, key, changed);
    else out[k] = oraclesOut(v, at, key, keyShown, changed, depth + 1);
  }
  return out;
}

/** `text` with every 64-hex run in it as the log's pseudonym (lower-case hex, as digests are written). */
function hexRunsKeyed(text: string, at: string, key: Buffer, changed: { keyed: string[] }): string {
  if (!HAS_HEX_RUN.test(text)) return text;
  changed.keyed.push(at);
  return text.replace(HEX_RUN, (run) => pseudonymOf(key, run.toLowerCase()));
}

/**
 * A dead letter's raw message, read as JSON and kept without its oracles (its envelope's signature, its digests); one
 * cut at 4 KiB, or not JSON, cannot be read so, and is not kept (the dead-letter topic keeps it for operators). Masking
 * had left the agent's signature beside a masked card in it: checked with the agent's public key, 36,672 guesses found
 * the card (masked-data probe, 2026-12-05).
 */
function rawWithoutOracles(raw: string, at: string, key: Buffer, changed: { keyed: string[]; dropped: string[] }): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    changed.dropped.push(at);
    return `[not kept: ${raw.length} characters that do not read as JSON; the dead-letter topic keeps them]`;
  }
  return JSON.stringify(oraclesOut(parsed, at, key, true, changed));
}

/**
 * The entry of an event that is not what it claims to be (`reason`): recorded under an id and type of its own, so that
 * it cannot take the place of the genuine event of the same id (the log keeps the first copy of an id) and nothing
 * counts it as that event (completeness, searches by type). The id names the copy: the same bytes again are one entry,
 * by the log's pseudonym of their digest (the plain digest of the unmasked bytes would check a guess of them).
 */
export function unverifiedEntry(entry: AuditEntry, e: Envelope, reason: string, key: Buffer): AuditEntry {
  const copy = pseudonymOf(key, canonicalDigest(e)).slice(0, 16);
  return { ...entry, eventId: `${e.id}~unverified~${copy}`, eventType: `unverified.${e.type}`, unverified: reason.slice(0, 2000) };
}
