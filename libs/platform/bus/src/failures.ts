import { DependencyUnavailableError } from './port';

/** Socket errors: the peer is not there (yet, or any more). */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

/**
 * The machine's own resources failing a store (a file, the embedded database): a disk full or read-only, a file made
 * unwritable, descriptors used up, an I/O error. Every message would fail alike; none is to blame (disk probe,
 * 2026-12-05: each event was dead-lettered, its dead letter failed too and was skipped, and actions ran unaudited).
 */
const RESOURCE_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EROFS', 'EIO', 'EMFILE', 'ENFILE', 'EACCES', 'EPERM', 'EBUSY', 'ENOMEM']);

/**
 * Whether a handler failed because a dependency is unavailable rather than because of the message: such a
 * failure is retried until the dependency is back, never dead-lettered (a dependency outage is not a bad
 * message). Recognises `DependencyUnavailableError`, socket errors, ioredis giving up on a request
 * (`MaxRetriesPerRequestError`, "Connection is closed", a command timeout), PostgreSQL connection and shutdown errors (SQLSTATE
 * class 08, 57P01–57P03, 53300), a statement cancelled at its timeout (57014) and node-postgres' own connection and
 * read-timeout errors, the machine's resources failing a store (`RESOURCE_CODES`; PostgreSQL's disk full, out of memory
 * and I/O errors, 53100, 53200, 58030, and 42501, which it gives a file it may not open or write, a read-only file system
 * among them, as well as a grant missing: the deployment's fault, never the message's); follows `cause` chains.
 */
export function isDependencyFailure(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 5) return false;
  const e = error as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (error instanceof DependencyUnavailableError) return true;
  const code = typeof e.code === 'string' ? e.code : '';
  const name = typeof e.name === 'string' ? e.name : '';
  const message = typeof e.message === 'string' ? e.message : '';
  if (NETWORK_CODES.has(code) || RESOURCE_CODES.has(code)) return true;
  if (name === 'MaxRetriesPerRequestError' || message === 'Connection is closed.' || message === 'Command timed out' || /^Stream isn't writeable/.test(message))
    return true;
  // 57014: a statement PostgreSQL cancelled at its statement_timeout (a server too slow now, not a bad message).
  if (/^08/.test(code) || ['57P01', '57P02', '57P03', '53100', '53200', '53300', '58030', '42501', '57014'].includes(code)) return true;
  // node-postgres's own deadline (`query_timeout`): the server or the network stopped answering.
  if (message === 'Query read timeout') return true;
  if (/^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect)/.test(message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isDependencyFailure(x, depth + 1))) return true; // AggregateError (e.g. connect to ::1 and 127.0.0.1)
  return isDependencyFailure(e.cause, depth + 1);
}
