import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// real: `npm run countersign -- policy replay` as an operator runs it, once with stderr on a pseudo-terminal
// (util-linux `script`) and once piped; fake: nothing.
const root = join(__dirname, '../../../..');
const CONTRACT = join(root, 'apps/policy-engine/contract/countersign.contract.yaml');
const SCENARIOS = join(root, 'libs/contracts/fixtures/scenarios.jsonl');
const replay = ['-r', join(root, 'tools/register.js'), join(root, 'tools/countersign.ts'), 'policy', 'replay', CONTRACT, SCENARIOS];
const env = { ...process.env, SWC_NODE_PROJECT: join(root, 'tsconfig.json') };
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe('policy replay progress', () => {
  it('is drawn on stderr when stderr is a terminal', () => {
    // stdout to /dev/null inside the terminal: what the terminal shows is stderr alone.
    const command = `${[process.execPath, ...replay].map(quote).join(' ')} > /dev/null`;
    const run = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: root, env, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/\rpolicy replay: proposals replayed: \d+/);
  });

  it('stays quiet when stderr is not a terminal: the results alone, on stdout', () => {
    const run = spawnSync(process.execPath, replay, { cwd: root, env, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/review\/\w+\s+\d+/);
  });
});
