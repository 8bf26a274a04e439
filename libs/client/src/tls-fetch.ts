import { Agent, request } from 'node:https';
import { Readable } from 'node:stream';

/** What a client trusts for HTTPS: the root certificate(s) of a private PKI, PEM. */
export interface TlsTrust {
  /** PEM text of the root(s) to trust instead of the system's roots (e.g. the stack's `root.pem`). */
  ca: string | Buffer | Array<string | Buffer>;
}

/** Statuses whose answer has no body (the `Response` constructor refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;

/**
 * A `fetch` for `https:` URLs that trusts the given root(s) and nothing else (TLS 1.2 or later, the server's name
 * checked against its certificate); `http:` URLs go to the global fetch. Node's own fetch cannot be given a CA without
 * a dispatcher package, so this speaks `node:https` and answers a standard `Response`: no dependency, no framework.
 * Bodies: a string, bytes or `URLSearchParams`. Redirects are followed unless `redirect: 'manual'`; to another origin
 * without the `Authorization`, `Cookie` and `Proxy-Authorization` headers.
 * The monorepo's own clients (the test helpers, the platform's HTTPS specs) use this one too: tests may depend on the
 * SDK, the SDK on nothing but the contracts (ADR 0020).
 */
export function fetchTrusting(trust: TlsTrust): typeof fetch {
  // Keep-alive connections, closed after 4 s idle (before a Node server's 5 s keep-alive would close them under us).
  const agent = new Agent({ ca: trust.ca, minVersion: 'TLSv1.2', keepAlive: true, timeout: 4_000 });
  const tlsFetch = async (input: string | URL | Request, init: RequestInit = {}, hops = 0): Promise<Response> => {
    if (typeof input !== 'string' && !(input instanceof URL)) throw new TypeError('fetchTrusting takes a URL string or URL, not a Request');
    const url = new URL(input);
    if (url.protocol === 'http:') return globalThis.fetch(url, init);
    if (url.protocol !== 'https:') throw new TypeError(`fetchTrusting: unsupported protocol ${url.protocol}`);
    const method = (init.method ?? 'GET').toUpperCase();
    const headers = new Headers(init.headers);
    const body = bodyBytes(init.body, headers);
    if (body) headers.set('content-length', String(body.length));
    const res = await send(agent, url, method, headers, body, init.signal ?? undefined);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (REDIRECTS.has(status) && location && init.redirect !== 'manual') {
      res.resume();
      if (init.redirect === 'error') throw new TypeError(`fetch failed: redirected to ${location}`);
      if (hops >= MAX_REDIRECTS) throw new TypeError('fetch failed: too many redirects');
      const asGet = status === 303 || ((status === 301 || status === 302) && method === 'POST');
      const next = new URL(location, url);
      let followed: RequestInit = asGet ? { ...init, method: 'GET', body: undefined } : init;
      // To another origin (another host, port or scheme: `http:` included), credentials stay behind, as browsers and
      // Node's fetch do: the token was given for this server.
      if (next.origin !== url.origin) {
        const kept = new Headers(followed.headers);
        for (const h of ['authorization', 'cookie', 'proxy-authorization']) kept.delete(h);
        followed = { ...followed, headers: kept };
      }
      return tlsFetch(next, followed, hops + 1);
    }
    const answered = new Headers();
    for (let i = 0; i < res.rawHeaders.length; i += 2) answered.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
    const signal = init.signal ?? undefined;
    if (signal) {
      const onAbort = () => res.destroy(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      res.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    const stream = NULL_BODY.has(status) || method === 'HEAD' ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
    if (!stream) res.resume();
    return new Response(stream, { status, statusText: res.statusMessage, headers: answered });
  };
  return ((input: string | URL | Request, init?: RequestInit) => tlsFetch(input, init)) as typeof fetch;
}

function send(agent: Agent, url: URL, method: string, headers: Headers, body: Buffer | undefined, signal: AbortSignal | undefined) {
  return new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    signal?.throwIfAborted();
    const req = request(url, { method, agent, headers: Object.fromEntries(headers), signal }, resolve);
    // fetch's own failure: a TypeError with the cause (a refused certificate, a reset connection).
    req.once('error', (e) => reject(signal?.aborted ? signal.reason : new TypeError(`fetch failed: ${e.message}`, { cause: e })));
    req.end(body);
  });
}

function bodyBytes(body: RequestInit['body'], headers: Headers): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') {
    if (!headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8');
    return Buffer.from(body);
  }
  if (body instanceof URLSearchParams) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
    return Buffer.from(body.toString());
  }
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('fetchTrusting: a body must be a string, bytes or URLSearchParams');
}
