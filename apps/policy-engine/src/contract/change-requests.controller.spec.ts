import { Module } from '@nestjs/common';
import pino from 'pino';
import { InMemoryBus } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { PlatformModule, serve, sha256Hex, TokenRegistry } from '@countersign/nest';
import { ChangeRequestService } from './change-request.service';
import { CHANGE_REQUEST_BODY_BYTES, ChangeRequestsController } from './change-requests.controller';

// real: the controller, the platform module (auth, body reader, rejection filter) under serve(), the in-memory bus; fake:
// the change request service (it records what reached it).
const logger = pino({ level: 'silent' });
const UUID = '0b0c7b1e-5d7f-4a51-9a4e-2f1c3d4e5f60';

describe('ChangeRequestsController (HTTP)', () => {
  const reached: string[] = [];
  const service = {
    get: async (id: string) => (reached.push(`get ${id}`), { id }),
    approve: async (id: string) => (reached.push(`approve ${id}`), { id }),
    reject: async (id: string) => (reached.push(`reject ${id}`), { id }),
    request: async (body: { contract: string }) => (reached.push(`request ${body.contract.length}`), { id: UUID }),
  };
  const audited: TopicMap[typeof TOPICS.requestRejected][] = [];
  let base: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const bus = new InMemoryBus({ logger });
    await bus.subscribe({ group: 'test.audit', handlers: { [TOPICS.requestRejected]: async (e) => void audited.push(e) } });
    const tokens = new TokenRegistry([{ principal: 'ada', kind: 'human', roles: ['admin'], tokenSha256: sha256Hex('admin-token') }]);
    @Module({
      imports: [PlatformModule.forRoot({ service: 'test', bus, logger, tokens })],
      controllers: [ChangeRequestsController],
      providers: [{ provide: ChangeRequestService, useValue: service }],
    })
    class Root {}
    const running = await serve(Root, logger, { host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${running.port}/v1/policy/change-requests`;
    close = () => running.app.close();
  });
  afterAll(() => close());
  beforeEach(() => void reached.splice(0));

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: 'Bearer admin-token', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, message: ((await res.json()) as { message?: string }).message };
  };
  const decision = { digest: 'a'.repeat(64), reason: 'checked it twice' };

  it.each([
    ['a NUL', '%00', 'id: '],
    ['a right-to-left override', 'abc%E2%80%AEdef', 'id: '],
    ['9,000 characters', 'a'.repeat(9_000), 'id: at most 200 characters (got 9000)'],
  ])('refuses an id with %s 400, on every route that takes one, before the service sees it (red team, 2026-12-05: 404)', async (_n, id, message) => {
    for (const [method, path, body] of [
      ['GET', `/${id}`, undefined],
      ['POST', `/${id}/approve`, decision],
      ['POST', `/${id}/reject`, { reason: 'not this one' }],
    ] as const) {
      const r = await call(method, path, body);
      expect(r.status).toBe(400);
      expect(r.message).toContain(message);
    }
    expect(reached).toEqual([]);
  });

  it('still answers a well-formed id that is no request id 404, and passes a request id on', async () => {
    expect(await call('GET', '/not-a-uuid')).toEqual({ status: 404, message: 'no such change request' });
    expect((await call('GET', `/${UUID}`)).status).toBe(200);
    expect(reached).toEqual([`get ${UUID}`]);
  });

  it("takes a 100 KB contract's body past the global 64 KiB limit (red team, 2026-12-05), and refuses one past its own 1 MiB with 413", async () => {
    expect(CHANGE_REQUEST_BODY_BYTES).toBe(1024 * 1024);
    expect((await call('POST', '', { contract: 'x'.repeat(100_000), reason: 'a larger contract' })).status).toBe(201);
    expect(reached).toEqual(['request 100000']);
    const body = { contract: 'x'.repeat(1_100_000), reason: 'too large' };
    const over = await call('POST', '', body);
    expect(over).toEqual({ status: 413, message: `request body is ${JSON.stringify(body).length} bytes, over the ${1024 * 1024}-byte limit` });
  });
});
