import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createUnleashFlagAdmin } from './unleash-flag-admin';

// real: the Unleash flag admin's reading of the event log; fake: the event search, an HTTP server on 127.0.0.1 that
// lists crafted events as Unleash 7 does (newest `createdAt` first, then id, paged by offset and limit). The real server
// is in unleash-flag-admin.int-spec.ts; what is crafted here is the order of commits no test can provoke on it.
// Event times are seconds apart (well within the window a read goes back, `COMMIT_WINDOW_MS`) or minutes (beyond it).

interface Event {
  id: number;
  type: string;
  featureName: string;
  createdBy: string;
  createdAt: string;
}

describe('reading changes from the Unleash event log', () => {
  let server: Server;
  let events: Event[] = [];
  let url: string;
  const asked: URLSearchParams[] = [];
  const at = (s: number) => new Date(Date.UTC(2026, 11, 2, 12, 0, s)).toISOString();
  const event = (id: number, second: number, featureName = 'cs.exec.refund', createdBy = 'mallory'): Event => ({
    id,
    type: 'feature-environment-enabled',
    featureName,
    createdBy,
    createdAt: at(second),
  });

  beforeAll(async () => {
    server = createServer((req, res) => {
      const q = new URL(req.url!, 'http://127.0.0.1').searchParams;
      asked.push(q);
      const listed = [...events].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id - a.id);
      const offset = Number(q.get('offset') ?? 0);
      const page = listed.slice(offset, offset + Number(q.get('limit') ?? 50));
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ events: page, total: listed.length }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  });
  afterAll(() => new Promise((r) => server.close(r)));
  beforeEach(() => (events = []));

  const wanted = (f: string) => f.startsWith('cs.');

  it('a change that commits after a later one, stamped a moment before it, is still read (and only once)', async () => {
    const admin = createUnleashFlagAdmin({ url, token: 'admin-token' });
    events = [event(10, 0)];
    const start = await admin.changesSince(undefined, wanted);
    events.push(event(12, 3, 'cs.autonomy.refund'));
    const first = await admin.changesSince(start.cursor, wanted);
    expect(first.changes.map((c) => c.id)).toEqual([12]);
    // Event 11 was stamped at second 2, before 12, but its transaction committed after the read above.
    events.push(event(11, 2));
    const second = await admin.changesSince(first.cursor, wanted);
    expect(second.changes).toEqual([{ id: 11, flag: 'cs.exec.refund', type: 'feature-environment-enabled', createdBy: 'mallory' }]);
    expect((await admin.changesSince(second.cursor, wanted)).changes).toEqual([]);
  });

  it('reads back no further than the window before its cursor, and says when it could not read back that far', async () => {
    const admin = createUnleashFlagAdmin({ url, token: 'admin-token' });
    events = [event(1, 0)];
    const start = await admin.changesSince(undefined, wanted);
    // Far more events since than one read takes (other projects' flags among them), the oldest a change of ours.
    events.push(event(2, 600));
    for (let i = 0; i < 2_500; i++) events.push(event(3 + i, 1_200, `other.flag-${i}`, 'someone'));
    const read = await admin.changesSince(start.cursor, wanted);
    expect(read.complete).toBe(false);
    expect(read.changes).toEqual([]);
    events = events.filter((e) => e.featureName.startsWith('cs.'));
    events.push(event(9_000, 2_400));
    const later = await admin.changesSince(read.cursor, wanted);
    expect(later).toMatchObject({ complete: true, changes: [{ id: 9_000 }] }); // not event 2, long before the window
  });

  it("names a flag's latest changes from the search by flag name, oldest first", async () => {
    const admin = createUnleashFlagAdmin({ url, token: 'admin-token' });
    events = [event(5, 1, 'cs.exec.refund', 'seed'), event(6, 2, 'cs.exec.other', 'seed'), event(7, 3, 'cs.exec.refund', 'mallory')];
    // The fake ignores the name filter: the admin keeps the flag's own events only.
    expect((await admin.history('cs.exec.refund', 10)).map((c) => [c.id, c.createdBy])).toEqual([
      [5, 'seed'],
      [7, 'mallory'],
    ]);
    expect(asked.at(-1)!.get('feature')).toBe('IS:cs.exec.refund');
    expect(asked.at(-1)!.get('limit')).toBe('10');
  });
});
