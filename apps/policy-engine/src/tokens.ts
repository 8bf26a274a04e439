/** DI tokens of the policy engine's ports. */
export const FLAGS = Symbol('FlagReader');
export const FLAG_NAMES = Symbol('FlagNames');
export const RATE_LIMITER = Symbol('RateLimiter');
export const AGENT_STATS = Symbol('AgentStats');
export const DECISIONS = Symbol('DecisionRepository');
export const DECISION_SETTINGS = Symbol('DecisionSettings');
/** The keys the policy engine seals its decisions with (`DECISION_SIGNING_KEYS_FILE`, docs/adr/0040). */
export const DECISION_SIGNER = Symbol('DecisionSigner');
export const INSTANCE_ID = Symbol('InstanceId');
export const CHANGE_REQUESTS = Symbol('ChangeRequestStore');
export const CHANGE_CONTROL = Symbol('ChangeControlSettings');
export const AUTONOMY = Symbol('AutonomySettings');
