import { runDrillCli } from './drill';

// real: the drill CLI's argument checks; fake: stdout and stderr (spied on). No target is needed: each case is refused
// before one is read.

async function run(...argv: string[]) {
  const err: string[] = [];
  const out: string[] = [];
  const errSpy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => (err.push(String(chunk)), true));
  const outSpy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
  try {
    return { code: await runDrillCli(argv), err: err.join(''), out: out.join('') };
  } finally {
    errSpy.mockRestore();
    outSpy.mockRestore();
  }
}

describe('countersign drill', () => {
  it('refuses a name that every object inherits (constructor, toString, …) as an unknown drill, exit 2', async () => {
    for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf', 'no-such-drill']) {
      const r = await run(name, '--target', '/nonexistent');
      expect({ name, code: r.code, out: r.out }).toEqual({ name, code: 2, out: '' });
      expect(r.err).toMatch(new RegExp(`^drill: unknown drill "${name}"\\nusage: countersign drill <queue-overflow\\|`));
    }
  });

  it('refuses a --wait-s that is not a positive number of seconds, exit 2', async () => {
    for (const wait of ['abc', '0', '-5', 'Infinity', '']) {
      const r = await run('queue-overflow', '--target', '/nonexistent', `--wait-s=${wait}`);
      expect({ wait, code: r.code }).toEqual({ wait, code: 2 });
      expect(r.err).toContain(`drill: --wait-s must be a positive number of seconds (got ${JSON.stringify(wait)})`);
    }
  });
});
