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
  return maskDeep(entry);
}

/**
 * The entry of an event that is not what it claims to be (`reason`): recorded under an id and type of its own, so that
 * it cannot take the place of the genuine event of the same id (the log keeps the first copy of an id) and nothing
 * counts it as that event (completeness, searches by type). The id names the copy: the same bytes again are one entry.
 */
export function unverifiedEntry(entry: AuditEntry, e: Envelope, reason: string): AuditEntry {
  const copy = canonicalDigest(e).slice(0, 16);
  return { ...entry, eventId: `${e.id}~unverified~${copy}`, eventType: `unverified.${e.type}`, unverified: reason.slice(0, 2000) };
}
