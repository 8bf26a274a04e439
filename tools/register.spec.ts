import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// real: node processes loading TypeScript through tools/register.js, and @swc-node/register's own compile; fake: nothing.
const root = join(__dirname, '..');
const run = (file: string) => spawnSync(process.execPath, ['-r', join(__dirname, 'register.js'), file], { cwd: root, encoding: 'utf8', timeout: 60_000 });

describe('tools/register.js', () => {
  it('runs TypeScript as @swc-node/register compiles it, and compiles a changed file again instead of serving the cached one', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'countersign-register-')), 'probe.ts');
    const write = (n: number) =>
      writeFileSync(
        file,
        `interface Probe { n: number }\nconst probe: Probe = { n: ${n} };\nif (probe.n < 0) throw new Error('never');\nprocess.stdout.write(String(probe.n));\n`,
      );
    write(1);
    expect(run(file)).toMatchObject({ status: 0, stdout: '1' });
    // The second run reads its output from the cache; the third must see the change.
    expect(run(file)).toMatchObject({ status: 0, stdout: '1' });
    write(2);
    expect(run(file)).toMatchObject({ status: 0, stdout: '2' });
  });

  it('names the TypeScript line in a stack trace (the output carries its source map)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'countersign-register-')), 'throws.ts');
    writeFileSync(file, `type Reason = string;\n\nconst reason: Reason = 'mapped';\nthrow new Error(reason);\n`);
    const r = run(file);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${file}:4`);
  });

  it('resolves the workspace aliases as the services import them', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'countersign-register-')), 'alias.ts');
    writeFileSync(file, `import { TOPICS } from '@countersign/contracts';\nprocess.stdout.write(TOPICS.actionProposed);\n`);
    expect(run(file)).toMatchObject({ status: 0, stdout: 'orchestrator.action.proposed.v1' });
  });
});
