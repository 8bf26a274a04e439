import { ConfigError } from '@countersign/config';
import { AuditLogTamperedError } from '@countersign/audit-writer';
import { NewerSchemaError } from '@countersign/storage';
import { EARLY_REFUSALS } from './home/before-loading';

// What the embedded main loads once its settings are taken (main.ts imports this file then): a setting it refuses is said
// at once, before Nest and the five services load (1.5 s of CPU).
export { createLogger } from '@countersign/logging';
export { httpTls } from '@countersign/nest';
export { initTracing } from '@countersign/tracing';
export { startEmbedded } from './embedded';
export { foreignSettings } from './home/foreign-settings';

/**
 * The errors of a start refused for a reason the operator can fix: the home's own checks, and an audit log that does not
 * agree with its heads (the audit writer's `AuditLogTamperedError`, whose message names the file and what to do), and a
 * home a newer version migrated (`NewerSchemaError`: a rollback onto it would undo what that version changed), and a
 * setting whose file is wrong (`ConfigError`: half an HTTPS pair, a certificate that is a directory or holds no PEM: a
 * stack trace before). Each is said in its one line, without a stack.
 */
export const START_REFUSALS: ReadonlyArray<abstract new (...args: never[]) => Error> = [
  ...EARLY_REFUSALS,
  AuditLogTamperedError,
  NewerSchemaError,
  ConfigError,
];
