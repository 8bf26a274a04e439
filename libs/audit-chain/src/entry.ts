/**
 * What an audit entry records. Every field but `eventId`, `eventType` and `time` is optional: each event
 * fills what it knows. Sensitive fields arrive masked; `shown` is the exact (masked) copy a reviewer saw,
 * `shownDigest` its SHA-256.
 */
export interface AuditEntry {
  /**
   * The entry's position in the log, set when it is appended and hashed with it, so a moved entry fails.
   * Named so it sorts first in canonical JSON: verifiers read it from the stored bytes without parsing.
   */
  _index?: number;
  /**
   * When the writer stored it (ISO 8601, ms), hashed with it: the time the audit file and `GET /v1/audit/entries` show
   * as `recordedAt` cannot be changed unseen. Entries written before 2026-12-02 have none (their `recordedAt` is not
   * covered by the hash).
   */
  _recordedAt?: string;
  eventId: string;
  eventType: string;
  topic: string;
  time: string;
  actionId: string;
  correlationId: string;
  causationId: string | null;
  actor: { id: string; kind: string; roles?: string[]; authMethod?: string };
  model?: { name: string; version: string };
  promptTemplateVersion?: string;
  inputClassification?: string[];
  contractVersion?: string;
  decision?: string;
  reasons?: string[];
  reviewerReason?: string;
  shownDigest?: string;
  shown?: unknown;
  outcome?: string;
  sideEffects?: { externalRequestId?: string; connector?: string };
  configChange?: { kind: 'contract' | 'flag'; version: string; changeRequestId?: string };
  modeTransition?: { from: string; to: string; reason: string };
  /**
   * The W3C trace id the event was handled under (its producer's `traceparent`): the entry leads to the trace of the
   * request that caused it. Present only when there was one, so entries written before it hash as they did.
   */
  traceId?: string;
  /**
   * Why the event is not what it claims to be: a policy decision or control fact without its publisher's seal, a review
   * decision without the review queue's genuine signature (docs/adr/0040). Recorded, as everything on the bus is, but
   * under an id and type of its own (`<id>~unverified~<hash>`, `unverified.<type>`): it cannot take the place of the
   * genuine event of the same id, and nothing counts it as that event. Present only then.
   */
  unverified?: string;
  /**
   * What the writer changed besides masking, so that nothing in the entry checks a guess of what it masks (the audit
   * writer's `withoutOracles`): `keyed`, the JSON pointers of digests kept as the log's pseudonyms (HMAC-SHA-256 under
   * its key: equal digests stay equal); `dropped`, those of the seals and signatures left out (checked on intake).
   * Present only then, so that entries without it hash as they did.
   */
  pseudonymised?: { keyed: string[]; dropped: string[] };
  /** The event's data as it was on the bus, masked (and without its oracles: `pseudonymised`). */
  data: unknown;
}
