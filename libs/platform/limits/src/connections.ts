import { readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '@countersign/logging';
import { sourceOf } from './source';

/** A connection closed unread: what its refusal records. */
export interface ConnectionRefused {
  status: 429;
  message: string;
  source: string;
}

/**
 * How many connections one source (an IPv4 address, an IPv6 /64: `sourceOf`) may hold open at once. Far above what one
 * client's pool opens; far below the process's file descriptors. 1,800 sockets from one address, each trickling a
 * header byte every 10 s, were all held for a minute (red team, 2026-12-05): enough of them leave every other client
 * with no descriptor to be answered on.
 */
export const DEFAULT_CONNECTIONS_PER_SOURCE = 512;

/**
 * Closes a new connection from a source that already holds `perSource` open, before a byte of it is read, and records
 * the refusal through `refused` (429, within the rejection budget of that source). Never throws.
 */
export function limitConnectionsPerSource(server: Server, perSource: number, logger: Logger | undefined, refused: (r: ConnectionRefused) => void): void {
  const open = new Map<string, number>();
  // Past the server's `maxConnections`, Node closes a new connection itself, and said so to no one: on the record too.
  server.on('drop', (data?: { remoteAddress?: string }) => {
    try {
      refused({
        status: 429,
        message: `too many connections open at once: this server holds at most ${server.maxConnections}`,
        source: data?.remoteAddress ?? 'unknown',
      });
    } catch (e) {
      logger?.warn({ err: e }, 'could not record a connection refused');
    }
  });
  server.on('connection', (socket: Duplex & { remoteAddress?: string }) => {
    try {
      const source = sourceOf(socket.remoteAddress ?? 'unknown');
      const n = open.get(source) ?? 0;
      if (n >= perSource) {
        socket.destroy();
        refused({
          status: 429,
          message: `too many connections from this address: at most ${perSource} open at once`,
          source: socket.remoteAddress ?? 'unknown',
        });
        return;
      }
      open.set(source, n + 1);
      socket.once('close', () => {
        const left = (open.get(source) ?? 1) - 1;
        if (left > 0) open.set(source, left);
        else open.delete(source);
      });
    } catch (e) {
      logger?.warn({ err: e }, 'could not count a connection');
    }
  });
}

/**
 * How many connections the whole server may hold open, and one source, so that the process keeps file descriptors for
 * its own files (the audit log, the flag file, the database) and the others: a quarter of its descriptor limit (at least
 * 128) is kept back, and no source holds more than an eighth of the rest. Disk probe, 2026-12-05: with 400 descriptors,
 * 600 slow sockets from three addresses held every one; the audit log and the flag file then failed with EMFILE, and no
 * other client was answered. `limit`: the soft `RLIMIT_NOFILE` (`openFilesLimit()`); none known, no overall cap.
 */
export function connectionBudget(limit: number | undefined, perSource = DEFAULT_CONNECTIONS_PER_SOURCE): { total?: number; perSource: number } {
  if (limit === undefined) return { perSource };
  const total = Math.max(16, limit - Math.max(128, Math.floor(limit / 4)));
  return { total, perSource: Math.max(1, Math.min(perSource, Math.floor(total / 8))) };
}

/**
 * The share of a process's connection budget (`connectionBudget`) that a second, lesser server of the process takes on
 * top of its main one (the embedded identity provider beside the API): an eighth of the total, still inside the quarter
 * of the descriptors kept back. Red team, 2026-12-06: 22,000 idle connections to the identity provider's port (no cap
 * of its own) took every descriptor; the API stopped answering, and the flag, token and audit files failed with EMFILE.
 */
export function lesserServerBudget(limit: number | undefined, perSource = DEFAULT_CONNECTIONS_PER_SOURCE): { total?: number; perSource: number } {
  const { total } = connectionBudget(limit, perSource);
  if (total === undefined) return { perSource };
  const share = Math.max(16, Math.floor(total / 8));
  return { total: share, perSource: Math.max(1, Math.min(perSource, Math.floor(share / 8))) };
}

/** This process's soft limit on open files (`/proc/self/limits`, Linux), or undefined where it cannot be read. */
export function openFilesLimit(): number | undefined {
  try {
    const soft = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    return soft === undefined ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}
