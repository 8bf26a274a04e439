import { Module } from '@nestjs/common';
import pino from 'pino';
import { InMemoryBus } from '@countersign/bus';
import { PlatformModule, serve, sha256Hex, TokenRegistry } from '@countersign/nest';
import { RunningContract } from '@countersign/policy';
import { AutonomyController } from './autonomy.controller';
import { AutonomyService } from './autonomy.service';

// real: the controller, the platform module (auth, body reader, rejection filter) under serve(), the in-memory bus; fake:
// the autonomy service (it records what reached it) and the running contract (unused by these routes).
const logger = pino({ level: 'silent' });
const UUID = '0b0c7b1e-5d7f-4a51-9a4e-2f1c3d4e5f60';

describe('AutonomyController (HTTP): raise request ids', () => {
  const reached: string[] = [];
  const service = {
    getRaise: async (id: string) => (reached.push(`get ${id}`), { id }),
    approveRaise: async (id: string) => (reached.push(`approve ${id}`), { id }),
    rejectRaise: async (id: string) => (reached.push(`reject ${id}`), { id }),
  };
  let base: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const bus = new InMemoryBus({ logger });
    const tokens = new TokenRegistry([{ principal: 'ada', kind: 'human', roles: ['admin'], tokenSha256: sha256Hex('admin-token') }]);
    @Module({
      imports: [PlatformModule.forRoot({ service: 'test', bus, logger, tokens })],
      controllers: [AutonomyController],
      providers: [
        { provide: AutonomyService, useValue: service },
        { provide: RunningContract, useValue: {} },
      ],
    })
    class Root {}
    const running = await serve(Root, logger, { host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${running.port}/v1/autonomy/raise-requests`;
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

  it.each([
    ['a NUL', '%00', 'id: '],
    ['a right-to-left override', 'abc%E2%80%AEdef', 'id: '],
    ['9,000 characters', 'a'.repeat(9_000), 'id: at most 200 characters (got 9000)'],
  ])('refuses an id with %s 400, on every route that takes one, before the service sees it (red team, 2026-12-05: 404)', async (_n, id, message) => {
    for (const [method, path, body] of [
      ['GET', `/${id}`, undefined],
      ['POST', `/${id}/approve`, { digest: 'a'.repeat(64), reason: 'checked it twice' }],
      ['POST', `/${id}/reject`, { reason: 'not this one' }],
    ] as const) {
      const r = await call(method, path, body);
      expect(r.status).toBe(400);
      expect(r.message).toContain(message);
    }
    expect(reached).toEqual([]);
  });

  it('still answers a well-formed id that is no raise id 404, and passes a raise id on', async () => {
    expect(await call('GET', '/not-a-uuid')).toEqual({ status: 404, message: 'no such raise request' });
    expect((await call('GET', `/${UUID}`)).status).toBe(200);
    expect(reached).toEqual([`get ${UUID}`]);
  });
});
