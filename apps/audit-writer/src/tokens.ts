/** DI tokens of the audit writer's ports. */
export const AUDIT_LOG = Symbol('AuditLogRepository');
