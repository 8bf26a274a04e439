import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** Requests whose client waits for `100 Continue` before it sends the body, with the answer to write it on. */
const waiting = new WeakMap<IncomingMessage, ServerResponse>();

/**
 * `Expect: 100-continue` answered once the body is to be read, not as the request arrives (docs/adr/0008). Without a
 * `checkContinue` listener Node writes `100 Continue` itself before any route or guard has seen the request, so a
 * client without credentials was told to send its body. With this one the request is routed as any other, and
 * `sendContinue` writes the 100 when the body reader starts, after the guards. A request answered without it (401, 413,
 * a route that reads no body) is closed by Node: its body may still come. HTTP and HTTPS servers alike.
 */
export function continueWhenBodyIsRead(server: Server): void {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    waiting.set(req, res);
    server.emit('request', req, res);
  });
}

/** Tells a client that waits for `100 Continue` to send its body, once; does nothing for any other request. */
export function sendContinue(req: IncomingMessage): void {
  const res = waiting.get(req);
  if (!res) return;
  waiting.delete(req);
  if (!res.headersSent && !res.writableEnded) res.writeContinue();
}
