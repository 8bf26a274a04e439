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
