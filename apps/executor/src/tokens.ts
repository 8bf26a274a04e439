/** DI tokens of the executor's ports. */
export const EXECUTIONS = Symbol('ExecutionRepository');
export const FLAGS = Symbol('FlagReader');
export const FLAG_PREFIX = Symbol('FlagPrefix');
/** The autonomy flags' prefix (`AUTONOMY_FLAG_PREFIX`): a level lowered since an autonomous decision stops it. */
export const AUTONOMY_PREFIX = Symbol('AutonomyPrefix');
export const APPROVAL_KEYS = Symbol('ApprovalVerifyKeys');
/** The policy engine's public decision keys (`DECISION_VERIFY_KEYS_FILE`, docs/adr/0040). */
export const DECISION_KEYS = Symbol('DecisionVerifyKeys');
export const RECONCILIATION = Symbol('ReconciliationSettings');
export const OUTCOME_OUTBOX_SETTINGS = Symbol('OutcomeOutboxSettings');
/** The time, for the reconciler (tests give a fake clock). */
export const CLOCK = Symbol('Clock');
/** The control topic's kill switches and autonomy levels (ADR 0014). */
export const FLAG_CONTROLS = Symbol('FlagControls');
/** How long an authorisation (an autonomous decision, an approval) holds while its execution is held (ms). */
export const MAX_HOLD_MS = Symbol('MaxHoldMs');
/** Why the audit trail cannot record now (`ExecutorOptions.auditUnavailable`): nothing executes meanwhile. */
export const AUDIT_UNAVAILABLE = Symbol('AuditUnavailable');
/**
 * The bus the executor publishes its outcomes on: the platform's bus, sealing every outcome with the executor's outcome
 * key (`OUTCOME_SIGNING_KEYS_FILE`, docs/adr/0042; outcome-seal/sealing-bus.ts).
 */
export const OUTCOME_BUS = Symbol('OutcomeBus');
