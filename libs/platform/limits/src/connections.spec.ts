import { execFileSync } from 'node:child_process';
import { connectionBudget, DEFAULT_CONNECTIONS_PER_SOURCE, openFilesLimit } from './connections';

// real: this process's /proc/self/limits, and a child started under `prlimit`; fake: nothing.
describe('the connection budget (disk probe, 2026-12-05: slow sockets from three addresses used up every descriptor)', () => {
  it('keeps a quarter of the descriptors (at least 128) for the process, and gives no source more than an eighth of the rest', () => {
    expect(connectionBudget(400)).toEqual({ total: 272, perSource: 34 });
    expect(connectionBudget(20_000)).toEqual({ total: 15_000, perSource: DEFAULT_CONNECTIONS_PER_SOURCE });
    expect(connectionBudget(1_024, 64)).toEqual({ total: 768, perSource: 64 });
    expect(connectionBudget(100)).toEqual({ total: 16, perSource: 2 });
    // Three sources at their cap leave room for everyone else.
    const { total, perSource } = connectionBudget(400);
    expect(3 * perSource).toBeLessThan(total! / 2);
    expect(connectionBudget(undefined)).toEqual({ perSource: DEFAULT_CONNECTIONS_PER_SOURCE });
  });

  it("reads the process's soft limit on open files (Node raises it to the hard one as it starts)", () => {
    expect(openFilesLimit()).toBeGreaterThan(0);
    const child = execFileSync(
      'prlimit',
      [
        '--nofile=321:321',
        process.execPath,
        '-r',
        './tools/register.js',
        '-e',
        "process.stdout.write(String(require('./libs/platform/limits/src/connections').openFilesLimit()))",
      ],
      {
        cwd: `${__dirname}/../../../..`,
      },
    ).toString();
    expect(child).toBe('321');
  });
});
