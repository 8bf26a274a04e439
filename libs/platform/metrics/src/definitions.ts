// The one table of Countersign's metrics: the registry registers exactly these, the README's metrics table is rendered
// from them (a test fails when it drifts), and so will the Grafana dashboard be. A metric that is not here does not exist.

/** The three kinds of metric Countersign uses (no summaries: quantiles cannot be aggregated across instances). */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** One metric: its Prometheus name, help text, type, label names (bounded sets only) and, for a histogram, its buckets. */
export interface MetricDefinition {
  name: string;
  help: string;
  type: MetricType;
  labels: readonly string[];
  /** Upper bounds in the metric's base unit (seconds for `_seconds`); histograms only. */
  buckets?: readonly number[];
}

/**
 * Label names a metric may carry. Each names a set bounded by the contract or the code (action types and SLA classes
 * come from the operational contract, lanes and outcomes are enums, topics the TOPICS registry): never an action id, a
 * principal, a tenant or anything else a caller chooses, which would grow the series without bound.
 */
export const BOUNDED_LABELS = [
  'action_type',
  'lane',
  'decided_by',
  'outcome',
  'sla_class',
  'decision',
  'topic',
  // A consumer group of a subscription that keeps its position: `<service>.<purpose>`, one per service and purpose, fixed
  // in the code. Replayed subscriptions (per-instance groups with a random suffix) are never a `group` value.
  'group',
  // What a key does, as the trust monitor's watched key files name it (`approval-signing`, `approval-verify`,
  // `audit-tree-head`, …): set by the deployment's configuration, a handful per installation.
  'key_use',
  // A certificate the trust monitor watches, by the name its configuration gives it (one per TLS identity); none yet.
  'certificate',
  // Why an ingress refused a proposal: an enum of the code (invalid, unauthenticated, forbidden, too_large, rate_limited).
  'reason',
  // Which step of the executor recorded an outcome: `execution` (its own call) or `reconciliation` (its reconciler
  // settling an unknown outcome). An enum of the code.
  'via',
  // Which share of the review backlog rejected an approval at intake: `proposer` or `tenant` (ADR 0013). An enum of the code.
  'cap',
  // A flag's state as Countersign reads it: on, off or unknown (FlagState, an enum of the code).
  'state',
  // An HTTP route as the code declares it (`/v1/actions/:id`), never the path a caller sent; `unmatched` for any path no
  // route serves (a scan of random paths is one series).
  'route',
  // An HTTP method among those the routes serve (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS); any other is `other`.
  'method',
  // An HTTP status code the service answered (a number the code chose, 100 to 599).
  'code',
] as const;

/** Approval latency buckets: a few seconds (a reviewer at the inbox) to a day (a weekend's SLA). */
const APPROVAL_LATENCY_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400];

/** Bus latency buckets: a millisecond (in memory, a local broker) to the publish timeout and a slow handler's half minute. */
const BUS_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** HTTP and target call buckets: a millisecond (an answer from memory) to a minute (a long poll, a target's timeout). */
const REQUEST_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Pipeline stage buckets: a few milliseconds (an idle pipeline) to ten minutes (a backlog, a held action). */
const STAGE_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600];

/** Every metric Countersign defines (see README "Metrics"). */
export const METRIC_DEFINITIONS = [
  {
    name: 'countersign_policy_decisions_total',
    help: 'Policy decisions by action type, lane (autonomous, review = flagged, prohibited = blocked by policy) and what decided the lane.',
    type: 'counter',
    labels: ['action_type', 'lane', 'decided_by'],
  },
  {
    name: 'countersign_actions_executed_total',
    help: 'Actions the executor carried out on their target, by action type and the lane that authorised them (autonomous or review).',
    type: 'counter',
    labels: ['action_type', 'lane'],
  },
  {
    name: 'countersign_execution_outcomes_total',
    help: 'Outcomes the executor recorded, by outcome and via. via=execution: how its own call came out: executed, failed, refused, or unknown (not settled yet at the time of the call; no end: the reconciler settles it). via=reconciliation: how the reconciler later settled an unknown outcome, executed or failed (each once).',
    type: 'counter',
    labels: ['outcome', 'via'],
  },
  {
    name: 'countersign_flags_loaded',
    help: 'Whether the flags (kill switches, autonomy) are loaded, as the executor reads them: 1, or 0 while the flag source cannot be read and nothing is decided or executed (/readyz says why).',
    type: 'gauge',
    labels: [],
  },
  {
    name: 'countersign_kill_switch',
    help: "Each action type's kill switch as the executor reads it (the stricter of the flag source and the control topic), with no tenant or region: 1 on its state and 0 on the others. on: it executes; off: refused; unknown (no such flag, or the flags cannot be read): refused, fail closed.",
    type: 'gauge',
    labels: ['action_type', 'state'],
  },
  {
    name: 'countersign_unsettled_outcomes',
    help: "Actions whose outcome is not settled yet (unknown, being reconciled, or waiting for a person's answer), as the reconciler last counted them; every executor instance reports the same count.",
    type: 'gauge',
    labels: [],
  },
  {
    name: 'countersign_unsettled_outcome_oldest_seconds',
    help: 'How long the action unsettled longest has been so, from the moment its outcome first became unknown (0 when none is); as the reconciler last counted.',
    type: 'gauge',
    labels: [],
  },
  {
    name: 'countersign_decision_delay_seconds',
    help: "Time from a proposal's acceptance (its event's time) to the policy engine's decision on it, by action type and lane: the wait on the bus and the evaluation. Measured by the policy engine's clock against the orchestrator's (negative skew counts as 0).",
    type: 'histogram',
    labels: ['action_type', 'lane'],
    buckets: STAGE_LATENCY_BUCKETS,
  },
  {
    name: 'countersign_execution_delay_seconds',
    help: "Time from what authorised an action (the autonomous decision, or the approval that completed its review) to the executor recording how its call came out, by action type, lane and outcome (executed, failed, unknown): the wait on the bus, the checks, the claim and the target's call. Measured by the executor's clock against the authorising service's (negative skew counts as 0).",
    type: 'histogram',
    labels: ['action_type', 'lane', 'outcome'],
    buckets: STAGE_LATENCY_BUCKETS,
  },
  {
    name: 'countersign_target_call_seconds',
    help: "Time the executor's call to an action's target took (every request it made under the action's key, retries included), by action type and outcome (executed, failed, unknown).",
    type: 'histogram',
    labels: ['action_type', 'outcome'],
    buckets: REQUEST_LATENCY_BUCKETS,
  },
  {
    name: 'countersign_http_request_seconds',
    help: 'Time from an HTTP request arriving to its answer being sent, by route (as declared, `unmatched` for none), method and status code; long polls included (up to their wait).',
    type: 'histogram',
    labels: ['route', 'method', 'code'],
    buckets: REQUEST_LATENCY_BUCKETS,
  },
  {
    name: 'countersign_review_queue_depth',
    help: 'Approval items waiting for a reviewer, by SLA class (from the backlog gauges the degradation controller reads).',
    type: 'gauge',
    labels: ['sla_class'],
  },
  {
    name: 'countersign_review_queue_oldest_age_seconds',
    help: 'Age of the oldest approval item waiting, by SLA class; 0 when none waits.',
    type: 'gauge',
    labels: ['sla_class'],
  },
  {
    name: 'countersign_review_decisions_total',
    help: 'Review decisions taken by reviewers (approved, rejected), by SLA class.',
    type: 'counter',
    labels: ['decision', 'sla_class'],
  },
  {
    name: 'countersign_review_approval_latency_seconds',
    help: 'Time from an item being queued to its decision by reviewers (approved or rejected).',
    type: 'histogram',
    labels: ['decision', 'sla_class'],
    buckets: APPROVAL_LATENCY_BUCKETS,
  },
  {
    name: 'countersign_degradation_mode',
    help: 'The degradation mode this instance applies: 0 normal, 1 elevated, 2 constrained, 3 halted (absent until the control topic is read).',
    type: 'gauge',
    labels: [],
  },
  {
    name: 'countersign_trust_health',
    help: "Whether this instance trusts the trust monitor's verdict: 1 healthy or degraded (every key valid), 0 unhealthy or unknown (missing or stale verdict: trust-sensitive work is held).",
    type: 'gauge',
    labels: [],
  },
  {
    name: 'countersign_dead_letters_total',
    help: 'Messages this service sent to a dead-letter topic (unreadable, refused, or failed every attempt), by the topic they came from.',
    type: 'counter',
    labels: ['topic'],
  },
  {
    name: 'countersign_kafka_produce_seconds',
    help: 'Time from a publish to the broker acknowledging it (all in-sync replicas), by topic; the in-memory bus of the embedded mode reports its log the same way.',
    type: 'histogram',
    labels: ['topic'],
    buckets: BUS_LATENCY_BUCKETS,
  },
  {
    name: 'countersign_kafka_handle_seconds',
    help: 'Time a handler took for one delivery of an event (each attempt, failed ones too), by topic.',
    type: 'histogram',
    labels: ['topic'],
    buckets: BUS_LATENCY_BUCKETS,
  },
  {
    name: 'countersign_kafka_consumer_lag',
    help: "Messages a consumer group has not yet handled (its committed positions behind the partitions' ends), by group and topic; refreshed on an interval by each instance of the group.",
    type: 'gauge',
    labels: ['group', 'topic'],
  },
  {
    name: 'countersign_review_items_expired_total',
    help: 'Approval items the review clock expired (no decision within the SLA: never executed), by SLA class.',
    type: 'counter',
    labels: ['sla_class'],
  },
  {
    name: 'countersign_review_items_capped_total',
    help: "Approvals rejected at intake because their proposer (cap proposer: degradation.maxPendingPerProposer) or their tenant (cap tenant: degradation.maxPendingPerTenant) already had the contract's most approvals waiting (never executed), by SLA class and cap.",
    type: 'counter',
    labels: ['sla_class', 'cap'],
  },
  {
    name: 'countersign_review_items_escalated_total',
    help: 'Escalations the review clock took (past the escalation time, or re-routed once to the fallback team at the due time), by SLA class.',
    type: 'counter',
    labels: ['sla_class'],
  },
  {
    name: 'countersign_review_sla_seconds',
    help: 'The review SLA of each class in the operational contract (what the queue age is held against).',
    type: 'gauge',
    labels: ['sla_class'],
  },
  {
    name: 'countersign_key_expiry_timestamp_seconds',
    help: 'When the current key of each use the trust monitor watches stops being valid (unix seconds; the earliest over the files of one use), from the verdict in force.',
    type: 'gauge',
    labels: ['key_use'],
  },
  {
    name: 'countersign_key_rotation_overdue',
    help: 'Whether a key use needs a rotation now: 1 when its key expires within the warning time with no successor listed, or no key is valid; else 0.',
    type: 'gauge',
    labels: ['key_use'],
  },
  {
    name: 'countersign_certificate_expiry_timestamp_seconds',
    help: 'When the certificates the trust monitor watches expire, by purpose (kafka-client, kafka-broker, …; unix seconds, the earliest of a purpose; TRUST_CERT_FILES).',
    type: 'gauge',
    labels: ['certificate'],
  },
  {
    name: 'countersign_acme_renewals_total',
    help: "Orders of the reviewer portal's certificate from its ACME CA (ADR 0027), by outcome (success, failure): a failure is retried at the next check and alerts.",
    type: 'counter',
    labels: ['outcome'],
  },
  {
    name: 'countersign_acme_certificate_expiry_timestamp_seconds',
    help: "When the reviewer portal's certificate in its files expires (unix seconds; review queue with PORTAL_ACME_DIRECTORY_URL).",
    type: 'gauge',
    labels: [],
  },
  {
    name: 'countersign_acme_renewal_due_timestamp_seconds',
    help: "When the reviewer portal's certificate is due for renewal (unix seconds): its end less PORTAL_ACME_RENEW_REMAINING of its lifetime.",
    type: 'gauge',
    labels: [],
  },
  {
    name: 'countersign_audit_completeness_ratio',
    help: "Share of the actions proposed in the audit writer's recent window (settled ones: older than the grace) whose audit trail is complete, 0 to 1; 1 when there were none.",
    type: 'gauge',
    labels: [],
  },
  {
    name: 'countersign_audit_entries_total',
    help: 'Entries the audit writer appended to the hash-chained log (each event once, whatever the redeliveries).',
    type: 'counter',
    labels: [],
  },
  {
    name: 'countersign_audit_unverified_events_total',
    help: "Events the audit writer received whose publisher's seal or signature did not verify (a forgery, or a key missing from its verify keys), recorded apart; by the topic they came on (the type they claim). Each copy received counts.",
    type: 'counter',
    labels: ['topic'],
  },
  {
    name: 'countersign_ingress_rejections_total',
    help: 'Proposals the orchestrator refused at its ingress (HTTP or the proposals topic), by reason: invalid, unauthenticated, forbidden, too_large, rate_limited.',
    type: 'counter',
    labels: ['reason'],
  },
] as const satisfies readonly MetricDefinition[];

/** A signal derived from the metrics by a PromQL query: what the playbook's signals are called and how to read them. */
export interface DerivedSignal {
  signal: string;
  promql: string;
}

/** The control-health signals as queries on the metrics above (the README's table and the dashboard's panels). */
export const DERIVED_SIGNALS: readonly DerivedSignal[] = [
  {
    signal: 'Automation ratio (autonomous executed / all executed)',
    promql: 'sum(rate(countersign_actions_executed_total{lane="autonomous"}[5m])) / sum(rate(countersign_actions_executed_total[5m]))',
  },
  {
    signal: 'Flagged action rate (share of decisions sent to review)',
    promql: 'sum(rate(countersign_policy_decisions_total{lane="review"}[5m])) / sum(rate(countersign_policy_decisions_total[5m]))',
  },
  { signal: 'Actions blocked by policy (per second)', promql: 'sum(rate(countersign_policy_decisions_total{lane="prohibited"}[5m]))' },
  // Every review-queue instance reports the same shared backlog: max, not sum, across instances.
  { signal: 'Reviewer queue depth', promql: 'max by (sla_class) (countersign_review_queue_depth)' },
  { signal: 'Queue age (oldest waiting item)', promql: 'max by (sla_class) (countersign_review_queue_oldest_age_seconds)' },
  {
    signal: 'Approval latency p95',
    promql: 'histogram_quantile(0.95, sum by (le) (rate(countersign_review_approval_latency_seconds_bucket{decision="approved"}[15m])))',
  },
  {
    signal: 'Override frequency (share of reviewed actions rejected)',
    promql: 'sum(rate(countersign_review_decisions_total{decision="rejected"}[1h])) / sum(rate(countersign_review_decisions_total[1h]))',
  },
  // Unknown is no end: how the executions ended is executed, failed and refused over both vias.
  { signal: 'Outcomes unknown (per second)', promql: 'sum(rate(countersign_execution_outcomes_total{outcome="unknown"}[5m]))' },
  {
    signal: 'Unknown outcomes settled by the reconciler (per second, by outcome)',
    promql: 'sum by (outcome) (rate(countersign_execution_outcomes_total{via="reconciliation"}[5m]))',
  },
  {
    signal: 'Executions ended (per second, by outcome; an unknown outcome counts once settled)',
    promql: 'sum by (outcome) (rate(countersign_execution_outcomes_total{outcome!="unknown"}[5m]))',
  },
  { signal: 'Flags not loaded (nothing decided or executed)', promql: 'min(countersign_flags_loaded) < 1' },
  { signal: 'Actions whose outcome is unsettled', promql: 'max(countersign_unsettled_outcomes)' },
  { signal: 'Oldest unsettled outcome (seconds)', promql: 'max(countersign_unsettled_outcome_oldest_seconds)' },
  { signal: 'Degradation mode above normal', promql: 'max(countersign_degradation_mode) > 0' },
  { signal: 'Trust stack not trusted (any instance)', promql: 'min(countersign_trust_health) < 1' },
  { signal: 'Dead-letter growth (per second, by source topic)', promql: 'sum by (topic) (rate(countersign_dead_letters_total[5m]))' },
  // Every instance of a group reports the same lag: max, not sum.
  { signal: 'Consumer lag (messages behind)', promql: 'max by (group, topic) (countersign_kafka_consumer_lag)' },
  {
    signal: 'Kafka produce latency p99',
    promql: 'histogram_quantile(0.99, sum by (le, topic) (rate(countersign_kafka_produce_seconds_bucket[5m])))',
  },
  {
    signal: 'Handler time p95',
    promql: 'histogram_quantile(0.95, sum by (le, topic) (rate(countersign_kafka_handle_seconds_bucket[5m])))',
  },
  // Two stages, two quantiles: a sum of p99s is no p99 of the sum.
  {
    signal: 'Decision delay p99 (accepted to decided, by lane)',
    promql: 'histogram_quantile(0.99, sum by (le, lane) (rate(countersign_decision_delay_seconds_bucket[5m])))',
  },
  {
    signal: 'Execution delay p99 (authorised to executed, by lane)',
    promql: 'histogram_quantile(0.99, sum by (le, lane) (rate(countersign_execution_delay_seconds_bucket{outcome="executed"}[5m])))',
  },
  {
    signal: 'Target call time p95',
    promql: 'histogram_quantile(0.95, sum by (le, action_type) (rate(countersign_target_call_seconds_bucket[5m])))',
  },
  {
    signal: 'HTTP server errors (share of answers with a 5xx)',
    promql: 'sum(rate(countersign_http_request_seconds_count{code=~"5.."}[5m])) / sum(rate(countersign_http_request_seconds_count[5m]))',
  },
  {
    signal: 'HTTP latency p99 (by route)',
    promql: 'histogram_quantile(0.99, sum by (le, route) (rate(countersign_http_request_seconds_bucket[5m])))',
  },
  { signal: 'Key rotation overdue (any key use)', promql: 'max by (key_use) (countersign_key_rotation_overdue) > 0' },
  { signal: 'Key expiry proximity (seconds left)', promql: 'min by (key_use) (countersign_key_expiry_timestamp_seconds) - time()' },
  { signal: 'Certificate expiry proximity (seconds left)', promql: 'min by (certificate) (countersign_certificate_expiry_timestamp_seconds) - time()' },
  { signal: 'Portal certificate renewal failures (ACME, per hour)', promql: 'sum(increase(countersign_acme_renewals_total{outcome="failure"}[1h]))' },
  { signal: 'Portal certificate renewal overdue (seconds past due)', promql: 'time() - min(countersign_acme_renewal_due_timestamp_seconds)' },
  { signal: 'Audit completeness', promql: 'min(countersign_audit_completeness_ratio)' },
  { signal: 'Audit entries appended (per second)', promql: 'sum(rate(countersign_audit_entries_total[5m]))' },
  { signal: 'Policy violation attempts (per second, by reason)', promql: 'sum by (reason) (rate(countersign_ingress_rejections_total[5m]))' },
  { signal: 'Review expiry rate (per hour)', promql: 'sum by (sla_class) (increase(countersign_review_items_expired_total[1h]))' },
  {
    // Escalations and expiries (the clock stepping in) per item that ended in review (a reviewers' decision or an expiry).
    signal: 'Manual intervention rate (clock escalations and expiries per item ended in review)',
    promql:
      '(sum(increase(countersign_review_items_escalated_total[1h])) + sum(increase(countersign_review_items_expired_total[1h]))) / (sum(increase(countersign_review_decisions_total[1h])) + sum(increase(countersign_review_items_expired_total[1h])))',
  },
  {
    signal: 'Queue age against the SLA (share of the SLA used)',
    promql: 'max by (sla_class) (countersign_review_queue_oldest_age_seconds) / on (sla_class) max by (sla_class) (countersign_review_sla_seconds)',
  },
];

/** The names of the defined metrics of one type. */
export type MetricName<T extends MetricType = MetricType> = Extract<(typeof METRIC_DEFINITIONS)[number], { type: T }>['name'];

/** The label names of one defined metric. */
export type LabelsOf<N extends MetricName> = Extract<(typeof METRIC_DEFINITIONS)[number], { name: N }>['labels'][number];
