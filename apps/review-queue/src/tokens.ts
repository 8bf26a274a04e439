/** DI tokens of the review queue's ports. */
export const REVIEW_ITEMS = Symbol('ReviewItemRepository');
export const APPROVAL_SIGNING_KEY = Symbol('ApprovalSigningKey');
/** The public halves of the signing keys: what verifies the review queue's own sealed control facts (docs/adr/0039). */
export const REVIEW_QUEUE_VERIFY_KEYS = Symbol('ReviewQueueVerifyKeys');
/** The policy engine's public decision keys (`DECISION_VERIFY_KEYS_FILE`): only a sealed decision is queued (docs/adr/0040). */
export const DECISION_KEYS = Symbol('DecisionVerifyKeys');
/** The executor's public outcome keys (`OUTCOME_VERIFY_KEYS_FILE`): only a sealed outcome check is queued (docs/adr/0042). */
export const OUTCOME_KEYS = Symbol('OutcomeVerifyKeys');
export const PROPOSAL_SEALER = Symbol('ProposalSealer');
/** How often the decision outbox is swept, and after how long (`DecisionOutboxSettings`); defaults when not provided. */
export const DECISION_OUTBOX_SETTINGS = Symbol('DecisionOutboxSettings');
/** The review clock's period, clock and batch (`ReviewClockSettings`); defaults when not provided. */
export const REVIEW_CLOCK_SETTINGS = Symbol('ReviewClockSettings');
/** Where escalation notices go (`EscalationNotifier`). */
export const ESCALATION_NOTIFIER = Symbol('EscalationNotifier');
/** The degradation controller's ports and settings (`degradation/`). */
export const BACKLOG_GAUGES = Symbol('BacklogGauges');
export const REVIEW_HISTORY = Symbol('ReviewHistory');
export const LEADER_LEASE = Symbol('LeaderLease');
export const DEGRADATION_CONTRACT = Symbol('DegradationContract');
export const DEGRADATION_SETTINGS = Symbol('DegradationControllerSettings');
export const DEGRADATION_CONTROL_STATE = Symbol('DegradationControlState');
export const DEGRADATION_CONTROL_GROUP = Symbol('DegradationControlGroup');
/** The reviewer inbox's sign-in and session settings (`InboxOptions`); absent: no inbox. */
export const INBOX_OPTIONS = Symbol('InboxOptions');
/** Decision quality (`decision-quality/`: dwell, canaries, blind second reviews); absent: not measured. */
export const DECISION_QUALITY = Symbol('DecisionQuality');
/** The trust monitor's lease, sources and settings (ADR 0019). */
export const TRUST_LEASE = Symbol('TrustMonitorLease');
export const TRUST_SOURCES = Symbol('TrustSources');
export const TRUST_MONITOR_SETTINGS = Symbol('TrustMonitorSettings');
/** How a revision's parameters are checked before the item ends (`RevisionParameterCheck`); absent: only by the policy engine, after. */
export const REVISION_PARAMETER_CHECK = Symbol('RevisionParameterCheck');
/** The running contract's reading of a waiting item queued under an older contract (review-item/contract-now.ts). */
export const CONTRACT_NOW = Symbol('ContractNow');
/** The running contract's SLA classes and action types, for the inbox's filter menus (`FilterChoices`). */
export const FILTER_CHOICES = Symbol('FilterChoices');
/** Which action types' kill switches are off now (kill-switches/kill-switch-now.ts). */
export const KILL_SWITCH_NOW = Symbol('KillSwitchNow');
/** The money amounts of each action type, for what a revision narrows (`revisionMoneyFields`). */
export const REVISION_MONEY_FIELDS = Symbol('RevisionMoneyFields');
