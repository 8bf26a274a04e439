import { IncomingMessage, maxHeaderSize as defaultMaxHeaderSize, Server, ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '@countersign/logging';
import type { Principal } from './auth';

/** A refusal of the HTTP server itself: what it answers. */
export interface HttpRefusal {
  status: number;
  message: string;
}

/** A refusal as the audit records it: the request's method and URL where Node had read them, and where it came from. */
export interface RefusedRequest extends HttpRefusal {
  method?: string;
  url?: string;
  source: string;
  /** The request's correlation id and caller, when it had reached the app (a body that stalled past the request timeout). */
  correlationId?: string;
  principal?: Principal;
}

const ANSWERED_BY_SERVER = Symbol('countersign.answeredByServer');

/**
 * Whether the HTTP server itself answered this request (a 408 while its body was still awaited) and audited the refusal
 * under the request's own correlation id and caller: the app's own failure that follows (the body reader's "ended
 * early", as the connection closes) is then neither answered nor audited again. One request, one audit entry, saying
 * what the client was answered (red team, 2026-12-05: two entries that disagreed, a 408 as anonymous and a 400).
 */
export const answeredByServer = (req: object): boolean => (req as { [ANSWERED_BY_SERVER]?: true })[ANSWERED_BY_SERVER] === true;

/** llhttp's codes by the part of the request they find wrong. */
const REQUEST_LINE = new Set(['HPE_INVALID_METHOD', 'HPE_INVALID_URL', 'HPE_INVALID_VERSION', 'HPE_INVALID_CONSTANT']);
const HEADER = new Set(['HPE_INVALID_HEADER_TOKEN', 'HPE_UNEXPECTED_SPACE']);
const FRAMING = new Set(['HPE_INVALID_CONTENT_LENGTH', 'HPE_UNEXPECTED_CONTENT_LENGTH', 'HPE_INVALID_TRANSFER_ENCODING', 'HPE_INVALID_CHUNK_SIZE']);

/**
 * What to answer a request Node's HTTP parser refused (its `clientError`), from the error's code; undefined when the
 * connection itself failed (reset, closed): there is no one to answer. The parser's reason (`Invalid method encountered`,
 * ``Invalid `Transfer-Encoding` header value``) is one of llhttp's fixed texts, never the request's bytes: a header's
 * value (a token) is never echoed.
 */
export function clientErrorRefusal(err: Error & { code?: string; reason?: string }, maxHeaderSize: number): HttpRefusal | undefined {
  const code = err.code ?? '';
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, message: `the request line and headers are over the ${maxHeaderSize}-byte limit` };
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return { status: 413, message: 'the chunk extensions of the request body are over the limit' };
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, message: 'the request did not arrive in full in the time allowed' };
  if (!code.startsWith('HPE_')) return undefined;
  const part = REQUEST_LINE.has(code) ? 'request line' : HEADER.has(code) ? 'header' : FRAMING.has(code) ? 'body framing' : 'request';
  const reason = typeof err.reason === 'string' && /^[\x20-\x7e]{1,200}$/.test(err.reason) ? err.reason : code;
  return { status: 400, message: `malformed ${part}: ${reason}` };
}

/** The methods a service's routes use; a 405 names them in `Allow` (RFC 9110 §15.5.6). */
export const SERVED_METHODS = 'DELETE, GET, HEAD, PATCH, POST, PUT';

/** What a CONNECT is answered: no route takes it, whatever its target. */
export const CONNECT_REFUSAL: HttpRefusal = { status: 405, message: 'CONNECT is not allowed: this server is not a proxy and opens no tunnels' };

/** A refusal's JSON body, as the rejection filter answers every other one. */
const refusalBody = (r: HttpRefusal) => JSON.stringify({ statusCode: r.status, error: STATUS_CODES[r.status] ?? 'Error', message: r.message });

/**
 * Answers what Node's HTTP server refuses on its own, before any route sees the request, as the rejection filter
 * answers every other refusal: a JSON body `{statusCode, error, message}` with a precise message, and on the record
 * (`refused`, which audits it). Without this Node answered 400, 408, 413, 417 or 431 with an empty body, and nothing
 * recorded it. Each answer closes its connection: the request could not be read to its end. Never throws.
 */
export function answerHttpRefusals(server: Server, logger: Logger, refused: (r: RefusedRequest) => void): void {
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex & { remoteAddress?: string; _httpMessage?: ServerResponse | null }) => {
    try {
      const refusal = clientErrorRefusal(err, (server as { maxHeaderSize?: number }).maxHeaderSize ?? defaultMaxHeaderSize);
      // As Node does: no answer where one to this connection's request has begun (it would be read as part of that one).
      const inFlight = socket._httpMessage ?? undefined;
      // A request pipelined behind one still being answered, whose whole body had arrived: the refusal is the later
      // request's. An answer now would be read as the earlier one's, and the audit would name its path (red team,
      // 2026-12-04): the connection is closed, and the refusal audited without that path.
      const behind = inFlight !== undefined && !inFlight.headersSent && (inFlight.req as IncomingMessage | undefined)?.complete !== false;
      if (!refusal || !socket.writable || inFlight?.headersSent || behind) {
        logger.debug({ code: err.code }, 'connection ended without an answer');
        socket.destroy();
        if (refusal && behind) refused({ ...refusal, source: socket.remoteAddress ?? 'unknown' });
        return;
      }
      socket.end(
        `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\n` +
          'Content-Type: application/json; charset=utf-8\r\n' +
          `Content-Length: ${Buffer.byteLength(refusalBody(refusal))}\r\n` +
          'X-Content-Type-Options: nosniff\r\n' +
          'Connection: close\r\n\r\n' +
          refusalBody(refusal),
      );
      // Ended, then closed once the answer is written: the rest of what the client sends is not read.
      (socket as Duplex & { destroySoon?: () => void }).destroySoon?.();
      // The request as Node read it, when it had read its head (the framing of its body failed, its body stalled): never
      // its headers. When it had reached the app, it is audited here, once, as the request it is (`answeredByServer`).
      const req = inFlight?.req as (IncomingMessage & { correlationId?: string; principal?: Principal }) | undefined;
      if (req) (req as { [ANSWERED_BY_SERVER]?: true })[ANSWERED_BY_SERVER] = true;
      refused({
        ...refusal,
        method: req?.method,
        url: req?.url,
        source: socket.remoteAddress ?? 'unknown',
        correlationId: req?.correlationId,
        principal: req?.principal,
      });
    } catch (e) {
      logger.warn({ err: e, code: err.code }, 'could not answer a request the HTTP server refused');
      socket.destroy();
    }
  });
  // CONNECT (a proxy's tunnel): with no 'connect' listener Node destroyed the socket, so the request was dropped with no
  // answer, no log and no audit (red team, 2026-12-05). This server is no proxy: 405, on the record, and closed.
  server.on('connect', (req: IncomingMessage, socket: Duplex & { remoteAddress?: string }) => {
    try {
      const refusal = CONNECT_REFUSAL;
      socket.end(
        `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\n` +
          'Content-Type: application/json; charset=utf-8\r\n' +
          `Content-Length: ${Buffer.byteLength(refusalBody(refusal))}\r\n` +
          `Allow: ${SERVED_METHODS}\r\n` +
          'X-Content-Type-Options: nosniff\r\n' +
          'Connection: close\r\n\r\n' +
          refusalBody(refusal),
      );
      (socket as Duplex & { destroySoon?: () => void }).destroySoon?.();
      refused({ ...refusal, method: req.method, url: req.url, source: socket.remoteAddress ?? req.socket?.remoteAddress ?? 'unknown' });
    } catch (e) {
      logger.warn({ err: e }, 'could not answer a CONNECT request');
      socket.destroy();
    }
  });
  // `Expect` other than 100-continue: Node answered 417 with an empty body. The value itself is not echoed.
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    try {
      const refusal = { status: 417, message: 'the Expect header asks for what this server does not do (it knows only 100-continue)' };
      const body = refusalBody(refusal);
      res.writeHead(refusal.status, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
        'X-Content-Type-Options': 'nosniff',
        Connection: 'close',
      });
      res.end(body);
      refused({ ...refusal, method: req.method, url: req.url, source: req.socket.remoteAddress ?? 'unknown' });
    } catch (e) {
      logger.warn({ err: e }, 'could not answer a request with an Expect header the server does not do');
      req.socket.destroy();
    }
  });
}

/**
 * What a TLS handshake the server refused is recorded as, from the error of Node's `tlsClientError`; undefined when the
 * connection merely ended before or during the handshake (reset, closed: a client that did not accept this server's
 * certificate closes so, as does a port check), which refuses nothing. The message is fixed per code, or OpenSSL's own
 * fixed reason text, never the client's bytes.
 */
export function tlsClientErrorRefusal(err: Error & { code?: string; reason?: string }): HttpRefusal | undefined {
  const code = err.code ?? '';
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return { status: 408, message: 'TLS handshake refused: it did not complete in the time allowed' };
  if (!code.startsWith('ERR_SSL_')) return undefined;
  if (code === 'ERR_SSL_HTTP_REQUEST') return { status: 400, message: 'TLS handshake refused: plain HTTP sent to the HTTPS port (use https://)' };
  if (code === 'ERR_SSL_UNSUPPORTED_PROTOCOL' || code === 'ERR_SSL_WRONG_VERSION_NUMBER')
    return { status: 400, message: 'TLS handshake refused: the client offers no TLS version this server accepts (TLS 1.2 or later)' };
  if (code === 'ERR_SSL_NO_SHARED_CIPHER') return { status: 400, message: 'TLS handshake refused: the client offers no cipher suite this server accepts' };
  const reason = typeof err.reason === 'string' && /^[a-z0-9 ,()_-]{1,100}$/i.test(err.reason) ? err.reason : code;
  return { status: 400, message: `TLS handshake refused: ${reason}` };
}

/**
 * Records each TLS handshake an HTTPS server refuses (`tlsClientErrorRefusal`) through `refused`, as every other refusal
 * is: a client on an old TLS version, plain HTTP on the HTTPS port and a malformed hello were refused with nothing on
 * the record. Node closes the connection itself. Never throws.
 */
export function recordTlsRefusals(server: Server, logger: Logger, refused: (r: RefusedRequest) => void): void {
  server.on('tlsClientError', (err: Error & { code?: string }, socket: { remoteAddress?: string }) => {
    try {
      const refusal = tlsClientErrorRefusal(err);
      if (refusal) refused({ ...refusal, source: socket.remoteAddress ?? 'unknown' });
      else logger.debug({ code: err.code }, 'a connection ended before its TLS handshake completed');
    } catch (e) {
      logger.warn({ err: e, code: err.code }, 'could not record a refused TLS handshake');
    }
  });
}
