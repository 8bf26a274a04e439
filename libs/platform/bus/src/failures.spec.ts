import { isDependencyFailure } from './failures';
import { DependencyUnavailableError } from './port';

// real: the classification; fake: nothing (errors shaped as ioredis, node-postgres and node:net raise them).
describe('isDependencyFailure', () => {
  it.each([
    ['a handler saying so', new DependencyUnavailableError('flags not loaded yet')],
    [
      'ioredis giving up on a request',
      Object.assign(new Error('Reached the max retries per request limit (which is 20).'), { name: 'MaxRetriesPerRequestError' }),
    ],
    ['ioredis with its connection closed', new Error('Connection is closed.')],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['node-postgres losing its connection', new Error('Connection terminated unexpectedly')],
    ['PostgreSQL shutting down', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
    ['PostgreSQL refusing connections', Object.assign(new Error('the database system is starting up'), { code: '57P03' })],
    ['PostgreSQL cancelling a statement at its statement_timeout', Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' })],
    ['node-postgres giving up on a server that stopped answering (query_timeout)', new Error('Query read timeout')],
    ['a wrapped cause', new Error('could not store the decision', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })],
    // Disk probe, 2026-12-05: dead-lettered as bad messages, and the audit entries were lost.
    ['a full disk', Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })],
    ['a file made unwritable', Object.assign(new Error("EPERM: operation not permitted, open 'audit/audit.jsonl'"), { code: 'EPERM' })],
    ['a read-only file system', Object.assign(new Error('EROFS: read-only file system, open'), { code: 'EROFS' })],
    ['descriptors used up', Object.assign(new Error('EMFILE: too many open files, open'), { code: 'EMFILE' })],
    ['PostgreSQL on a read-only file system (42501)', Object.assign(new Error('could not open file "base/5/16542": Read-only file system'), { code: '42501' })],
    ['PostgreSQL out of disk', Object.assign(new Error('could not extend file "base/5/16394": No space left on device'), { code: '53100' })],
    [
      'the bus store failing on a full disk',
      new Error('the bus could not store a message', { cause: Object.assign(new Error('disk full'), { code: '53100' }) }),
    ],
    ['an AggregateError of refused addresses', new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], 'all failed')],
  ])('recognises %s', (_, error) => {
    expect(isDependencyFailure(error)).toBe(true);
  });

  it.each([
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'lane')")],
    ['a constraint violation', Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' })],
    ['a non-error', 'just a string'],
    ['nothing', undefined],
  ])('does not take %s for an outage', (_, error) => {
    expect(isDependencyFailure(error)).toBe(false);
  });
});
