import { connect } from 'node:net';

/** An answer as it came over the wire, and whether the server then closed the connection. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection after its answer (or reset it: `reset`). */
  closed: boolean;
  reset?: boolean;
}

/**
 * Sends `request` as it is (what fetch would refuse to send: a malformed request line, a bad Transfer-Encoding, a body
 * shorter than its Content-Length) on a new connection, and reads the first answer. Resolves once the server closes the
 * connection, or `openMs` after a whole answer with the connection still open (`closed: false`).
 */
export function rawHttp(port: number, request: string | Buffer, openMs = 500): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let received = Buffer.alloc(0);
    let timer: NodeJS.Timeout | undefined;
    const answer = (closed: boolean, reset = false): RawAnswer | undefined => {
      const text = received.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return undefined;
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      // No Content-Length (Node's own chunked answers): the body is whatever came until the connection closed.
      const length = Number(headers['content-length'] ?? (closed ? Infinity : 0));
      const body = received.subarray(end + 4);
      if (!closed && body.length < length) return undefined;
      return {
        status: Number(statusLine.split(' ')[1]),
        headers,
        body: body.subarray(0, Math.min(length, body.length)).toString('utf8'),
        closed,
        ...(reset && { reset }),
      };
    };
    const done = (closed: boolean, reset = false) => {
      clearTimeout(timer);
      const a = answer(closed, reset);
      if (a) resolve(a);
      else reject(new Error(`no answer before the connection ${reset ? 'was reset' : 'closed'}: ${JSON.stringify(received.toString('latin1'))}`));
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (!timer && answer(false)) timer = setTimeout(() => (socket.destroy(), done(false)), openMs);
    });
    socket.on('close', () => done(true));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return done(true, true);
      reject(e);
    });
  });
}
