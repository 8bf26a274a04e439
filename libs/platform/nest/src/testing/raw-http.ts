import { connect } from 'node:net';
import { ConnectionOptions, connect as connectTls } from 'node:tls';

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

/** One answer on a connection the test keeps (`rawConnection`): a `100 Continue` is one too. */
export interface RawPart {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A connection the test writes to a piece at a time, reading each answer as it comes. */
export interface RawConnection {
  write(bytes: string | Buffer): void;
  /** The next answer once all of it has arrived; rejects when the connection closes before it has. */
  next(): Promise<RawPart>;
  /** Resolves once the server has closed (or reset) the connection. */
  closed: Promise<void>;
  destroy(): void;
}

/**
 * Opens a connection to 127.0.0.1:port (over TLS with `tls`) for an exchange in steps: send a request's head, read
 * what the server answers to it (`100 Continue`, or a final answer without one), then send its body. Every wait is
 * for an event: an answer, or the connection closing.
 */
export function rawConnection(port: number, tls?: ConnectionOptions): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = tls ? connectTls({ host: '127.0.0.1', port, ...tls }) : connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let ended = false;
    const parts: RawPart[] = [];
    const waiting: Array<{ resolve: (p: RawPart) => void; reject: (e: Error) => void }> = [];
    let onClosed: () => void;
    const closed = new Promise<void>((r) => (onClosed = r));
    /** Takes every whole answer off the front of what has arrived. */
    const parse = () => {
      for (;;) {
        const text = received.toString('latin1');
        const end = text.indexOf('\r\n\r\n');
        if (end < 0) return;
        const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
        const status = Number(statusLine.split(' ')[1]);
        const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
        // An interim answer has no body; a final one without Content-Length runs to the close.
        const length =
          status < 200 ? 0 : headers['content-length'] !== undefined ? Number(headers['content-length']) : ended ? received.length - end - 4 : Infinity;
        if (received.length < end + 4 + length) return;
        parts.push({ status, headers, body: received.subarray(end + 4, end + 4 + length).toString('utf8') });
        received = received.subarray(end + 4 + length);
      }
    };
    const settle = () => {
      while (parts.length && waiting.length) waiting.shift()!.resolve(parts.shift()!);
      if (ended)
        for (const w of waiting.splice(0)) w.reject(new Error(`the connection closed before an answer: ${JSON.stringify(received.toString('latin1'))}`));
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      parse();
      settle();
    });
    socket.on('close', () => {
      ended = true;
      parse();
      settle();
      onClosed();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'ECONNRESET' && e.code !== 'EPIPE') reject(e);
    });
    socket.once(tls ? 'secureConnect' : 'connect', () =>
      resolve({
        write: (bytes) => void socket.write(bytes),
        next: () =>
          new Promise<RawPart>((res, rej) => {
            waiting.push({ resolve: res, reject: rej });
            settle();
          }),
        closed,
        destroy: () => socket.destroy(),
      }),
    );
  });
}
