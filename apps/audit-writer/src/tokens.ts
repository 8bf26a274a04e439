/** DI tokens of the audit writer's ports. */
export const AUDIT_LOG = Symbol('AuditLogRepository');
export const KEY_RING = Symbol('TreeHeadKeyRing');
export const HEAD_STORE = Symbol('HeadStore');
export const HEAD_POLICY = Symbol('HeadPolicy');
/** The completeness metric's window, grace and interval (`CompletenessSettings`); defaults when not provided. */
export const COMPLETENESS_SETTINGS = Symbol('CompletenessSettings');
/** The public keys the seals and signatures of events are checked with (`SealKeys`, docs/adr/0040). */
export const SEAL_KEYS = Symbol('SealKeys');
