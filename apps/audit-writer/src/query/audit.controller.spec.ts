import { Module } from '@nestjs/common';
import pino from 'pino';
import { InMemoryBus } from '@countersign/bus';
import { CompactRange, exportSegment, inclusionProof, leafHashOfText, LoggedEntry, TreeHead, verifyInclusion } from '@countersign/audit-chain';
import { PlatformModule, serve, sha256Hex, TokenRegistry } from '@countersign/nest';
import type { AuditLogRepository, HeadRange } from '../log-store/audit-log.repository';
import { selectHeads } from '../log-store/audit-log.repository';
import { AUDIT_LOG } from '../tokens';
import { AuditController } from './audit.controller';

// real: the audit controller with its defaults (the query guard, the leaf tree, the segment stream) in the platform's
// Nest HTTP app (authentication, roles, the rejection filter); fake: the log store (entries in an array, with a gate
// the tests close to hold queries in flight), the bus (in process).
const logger = pino({ level: 'silent' });

// Over 2^18 entries: a cold proof reads and hashes 256 chunks of leaves, a turn of the event loop after each.
const SIZE = 2 ** 18 + 5;
const entries: LoggedEntry[] = [];
const leaves: Buffer[] = [];
const range = CompactRange.empty();
const heads: TreeHead[] = [];
const HEAD_SIZES = new Set([50_000, 100_000, 150_000, SIZE]);
for (let index = 0; index < SIZE; index++) {
  const bytes = `{"_index":${index},"n":${index}}`;
  const leaf = leafHashOfText(bytes);
  entries.push({ index, bytes, leafHash: leaf.toString('hex'), recordedAt: '2026-12-05T10:00:00.000Z' });
  leaves.push(leaf);
  range.append(leaf);
  if (HEAD_SIZES.has(index + 1))
    heads.push({ treeSize: index + 1, rootHash: range.root().toString('hex'), timestamp: '2026-12-05T10:00:00.000Z', keyId: 'k', signature: 's' });
}

/** Where the store is: leaves read (`started` hears the first large read), and a gate that holds `heads()`. */
const store = {
  started: undefined as undefined | (() => void),
  gate: undefined as undefined | { open: Promise<void>; release: () => void; waiting: number; entered?: (n: number) => void },
};
const read = (from: number, to: number) => {
  if (to - from > 1) store.started?.();
};
const log = {
  heads: async (range?: HeadRange) => {
    const gate = store.gate;
    if (gate) {
      gate.waiting++;
      gate.entered?.(gate.waiting);
      await gate.open;
    }
    return selectHeads(heads, range);
  },
  tip: async () => ({ size: SIZE, root: range.root().toString('hex') }),
  extent: async () => SIZE,
  range: async (from: number, to: number) => {
    read(from, to);
    return entries.slice(from, to);
  },
  leafHashes: async (from: number, to: number) => {
    read(from, to);
    return entries.slice(from, to).map((e) => e.leafHash!);
  },
  query: async () => [],
} as unknown as AuditLogRepository;

const principals = ['rate', 'other', 'flight', 'big', 'seg', 'verify'];

describe('the auditors’ API under load (GET /v1/audit/proof, /segment)', () => {
  let url: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const tokens = new TokenRegistry(
      principals.map((p) => ({ principal: p, kind: 'human' as const, roles: ['auditor'], tokenSha256: sha256Hex(`token-${p}`) })),
    );
    @Module({ controllers: [AuditController], providers: [{ provide: AUDIT_LOG, useValue: log }] })
    class Audit {}
    @Module({ imports: [PlatformModule.forRoot({ service: 'audit-writer', bus: new InMemoryBus({ logger }), logger, tokens }), Audit] })
    class Root {}
    const running = await serve(Root, logger, { host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${running.port}`;
    close = () => running.app.close();
  }, 60_000);
  afterAll(() => close?.());

  const get = async (who: string, path: string) => {
    const res = await fetch(`${url}${path}`, { headers: { Authorization: `Bearer token-${who}` } });
    const text = await res.text();
    return { status: res.status, retryAfter: res.headers.get('retry-after'), text, json: () => JSON.parse(text) };
  };

  it('pages the signed heads instead of reading them all: the newest page by default, then forward from a size (scale probe, 2026-12-06)', async () => {
    const sizes = (body: { heads: TreeHead[] }) => body.heads.map((h) => h.treeSize);
    const newest = (await get('other', '/v1/audit/heads?limit=2')).json();
    expect(sizes(newest)).toEqual([150_000, SIZE]);
    expect(newest).toMatchObject({ earlier: true, newest: { treeSize: SIZE }, tip: { size: SIZE } });
    const first = (await get('other', '/v1/audit/heads?after=0&limit=3')).json();
    expect(sizes(first)).toEqual([50_000, 100_000, 150_000]);
    expect(first).toMatchObject({ next: 150_000, newest: { treeSize: SIZE } });
    const last = (await get('other', `/v1/audit/heads?after=${first.next}&limit=3`)).json();
    expect(sizes(last)).toEqual([SIZE]);
    expect(last.next).toBeUndefined();
    // All four fit in the default page: no cursor either way.
    const all = (await get('other', '/v1/audit/heads')).json();
    expect(sizes(all)).toEqual([50_000, 100_000, 150_000, SIZE]);
    expect(all.earlier).toBeUndefined();
    for (const bad of ['limit=0', 'limit=1001', 'after=-1', 'after=x'])
      expect([bad, (await get('other', `/v1/audit/heads?${bad}`)).status]).toEqual([bad, 400]);
  });

  it('serves another request while a large proof is computed, and the proof verifies', async () => {
    const order: string[] = [];
    const started = new Promise<void>((resolve) => (store.started = resolve));
    const proof = get('big', '/v1/audit/proof/0').then((r) => (order.push('proof'), r));
    await started;
    store.started = undefined;
    // Sent once the proof reads its leaves: it is answered before the proof's 256 chunks are hashed, not after.
    const other = await get('big', '/v1/audit/heads');
    order.push('heads');
    expect(other.status).toBe(200);
    const p = (await proof).json();
    expect(order).toEqual(['heads', 'proof']);
    expect(p).toMatchObject({ index: 0, treeSize: SIZE, leafHash: leaves[0].toString('hex'), root: heads.at(-1)!.rootHash });
    expect(p.proof).toEqual(inclusionProof(leaves, 0, SIZE).map((h) => h.toString('hex')));
    expect(
      verifyInclusion(
        leaves[0],
        0,
        SIZE,
        p.proof.map((h: string) => Buffer.from(h, 'hex')),
        range.root(),
      ),
    ).toBe(true);
  }, 60_000);

  it('proves entries in trees of other sizes as the reference proof does, without a head (root from the leaves)', async () => {
    for (const [index, treeSize] of [
      [SIZE - 1, SIZE],
      [99_999, 100_000],
      [70_001, 123_457],
      [3, 5],
    ]) {
      const p = (await get('verify', `/v1/audit/proof/${index}?treeSize=${treeSize}`)).json();
      const root = CompactRange.empty();
      for (const leaf of leaves.slice(0, treeSize)) root.append(leaf);
      expect(p.root).toBe(root.root().toString('hex'));
      expect(p.proof).toEqual(inclusionProof(leaves, index, treeSize).map((h) => h.toString('hex')));
      expect(
        verifyInclusion(
          leaves[index],
          index,
          treeSize,
          p.proof.map((h: string) => Buffer.from(h, 'hex')),
          root.root(),
        ),
      ).toBe(true);
    }
  }, 60_000);

  it('answers 429 with Retry-After past a principal’s rate of proofs (10 at once, then 30 a minute); another principal goes on', async () => {
    for (let i = 0; i < 10; i++) expect((await get('rate', `/v1/audit/proof/${i}`)).status).toBe(200);
    const refused = await get('rate', '/v1/audit/proof/10');
    // One back every 2 s: 2 s to wait, or 1 if the ten took over a second (the bucket's own clock is tested with a fake one).
    expect(refused).toMatchObject({ status: 429, retryAfter: expect.stringMatching(/^[12]$/) });
    expect(refused.json().message).toBe(
      `principal rate sends whole-log audit queries (proofs, segments) faster than its rate (30 a minute, 10 at once): retry after ${refused.retryAfter} s`,
    );
    // Segments count with proofs.
    expect((await get('rate', '/v1/audit/segment?from=0&to=50000')).status).toBe(429);
    expect((await get('other', '/v1/audit/proof/10')).status).toBe(200);
  }, 60_000);

  it('answers 429 past two proofs in flight for one principal, and takes another once one ends', async () => {
    let release!: () => void;
    const open = new Promise<void>((resolve) => (release = resolve));
    const inside = new Promise<void>((resolve) => {
      store.gate = {
        open,
        release,
        waiting: 0,
        // A third one inside the store means it was let in: open the gate, so the test fails on its answer, not a hang.
        entered: (n) => (n === 2 ? resolve() : n > 2 ? release() : undefined),
      };
    });
    const first = get('flight', '/v1/audit/proof/1');
    const second = get('flight', '/v1/audit/proof/2');
    await inside;
    const third = await get('flight', '/v1/audit/proof/3');
    expect(third).toMatchObject({ status: 429, retryAfter: '1' });
    expect(third.json().message).toBe(
      'principal flight has 2 whole-log audit queries (proofs, segments) running already (at most 2 at once): retry after one ends',
    );
    store.gate = undefined;
    release();
    expect([(await first).status, (await second).status]).toEqual([200, 200]);
    expect((await get('flight', '/v1/audit/proof/4')).status).toBe(200);
  }, 60_000);

  it('cuts at most 100,000 entries a segment: more, or no range on a longer log, is a 400 that says how to page', async () => {
    const whole = await get('seg', '/v1/audit/segment');
    expect(whole.status).toBe(400);
    expect(whole.json().message).toBe(
      `a segment holds at most 100000 entries, and 0..${SIZE} has ${SIZE}: page with from and to (from=0&to=100000, then from=100000)`,
    );
    expect((await get('seg', '/v1/audit/segment?from=0&to=150000')).status).toBe(400);
    const page = await get('seg', '/v1/audit/segment?from=100000&to=150000');
    expect(page.status).toBe(200);
    const prefix = CompactRange.empty();
    for (const leaf of leaves.slice(0, 100_000)) prefix.append(leaf);
    expect(page.text).toBe(
      exportSegment(
        entries.slice(100_000, 150_000),
        heads.filter((h) => h.treeSize > 100_000 && h.treeSize <= 150_000),
        prefix.state(),
      ),
    );
  }, 60_000);
});

describe('GET /v1/audit/entries: filters that cannot match', () => {
  let url: string;
  let close: () => Promise<void>;
  const asked: unknown[] = [];

  beforeAll(async () => {
    const tokens = new TokenRegistry([{ principal: 'auditor', kind: 'human', roles: ['auditor'], tokenSha256: sha256Hex('token-auditor') }]);
    const recording = { ...log, query: async (q: unknown) => (asked.push(q), []) } as unknown as AuditLogRepository;
    @Module({ controllers: [AuditController], providers: [{ provide: AUDIT_LOG, useValue: recording }] })
    class Audit {}
    @Module({ imports: [PlatformModule.forRoot({ service: 'audit-writer', bus: new InMemoryBus({ logger }), logger, tokens }), Audit] })
    class Root {}
    const running = await serve(Root, logger, { host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${running.port}/v1/audit/entries`;
    close = () => running.app.close();
  });
  afterAll(() => close?.());
  beforeEach(() => void asked.splice(0));

  const get = async (query: string) => {
    const res = await fetch(`${url}?${query}`, { headers: { Authorization: 'Bearer token-auditor' } });
    return { status: res.status, message: ((await res.json()) as { message?: string }).message };
  };

  it.each([
    ['since=2026-12-05T00:00:00Z&until=2026-01-01T00:00:00Z', 'since (2026-12-05T00:00:00Z) must be before until (2026-01-01T00:00:00Z)'],
    ['since=2026-12-05&until=2026-12-05', 'since (2026-12-05) must be before until (2026-12-05)'],
    ['since=2026-12-05T10:00:00%2B02:00&until=2026-12-05T08:00:00Z', 'must be before until'],
  ])('refuses a time range that ends where or before it starts (%s) with 400, not 200 and nothing (red team, 2026-12-05)', async (query, message) => {
    const r = await get(query);
    expect(r.status).toBe(400);
    expect(r.message).toContain(message);
    expect(asked).toEqual([]);
  });

  it.each(['actionId=a%00b', 'correlationId=x%0Ay', 'actor=ada%E2%80%AE', 'type=a%1Bb'])(
    'refuses a control or invisible character in %s with 400 naming the filter (red team, 2026-12-05)',
    async (query) => {
      expect(await get(query)).toEqual({ status: 400, message: `${query.split('=')[0]}: must not contain control characters or invisible format characters` });
      expect(asked).toEqual([]);
    },
  );

  it('still searches a range the right way round, and ids as written', async () => {
    expect((await get('since=2026-12-04&until=2026-12-05T00:00:01Z&actionId=act-1')).status).toBe(200);
    expect(asked).toMatchObject([{ actionId: 'act-1', since: '2026-12-04', until: '2026-12-05T00:00:01Z' }]);
  });
});
