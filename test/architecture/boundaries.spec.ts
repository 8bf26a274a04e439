import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';

// real: ESLint with the workspace config and Nx's project graph; fake: nothing.
const root = join(__dirname, '../..');

// The ESLint CLI on stdin, as `npm run lint` runs it (Jest cannot load the ESM config in-process).
async function lint(filePath: string, code: string): Promise<string[]> {
  const run = spawnSync(join(root, 'node_modules/.bin/eslint'), ['--stdin', '--stdin-filename', filePath, '--format', 'json'], {
    cwd: root,
    input: code,
    encoding: 'utf8',
    env: { ...process.env, NX_DAEMON: 'false' },
  });
  const [result] = JSON.parse(run.stdout) as Array<{ messages: Array<{ ruleId: string | null; message: string }> }>;
  return result.messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);
}

describe('module boundaries (Nx tags)', () => {
  beforeAll(() => {
    // The rule reads Nx's cached project graph; without it the rule would silently skip.
    execFileSync(join(root, 'node_modules/.bin/nx'), ['show', 'projects'], { cwd: root, env: { ...process.env, NX_DAEMON: 'false' }, stdio: 'ignore' });
  }, 60_000);

  it('fails an app that imports another app', async () => {
    const errors = await lint('apps/orchestrator/src/probe.ts', "import { ExecutorModule } from '@countersign/executor';\nexport const x = ExecutorModule;\n");
    expect(errors.join('\n')).toMatch(/Imports of apps are forbidden/);
  }, 60_000);

  it('fails a domain lib that imports a framework', async () => {
    const errors = await lint('libs/approval/src/probe.ts', "import { Injectable } from '@nestjs/common';\nexport const x = Injectable;\n");
    expect(errors.join('\n')).toMatch(/"type:domain" is not allowed to import "@nestjs\/common"/);
  }, 60_000);

  it('fails a platform lib that imports the host, and passes allowed imports', async () => {
    expect(await lint('libs/platform/bus/src/probe.ts', "import { OrchestratorModule } from '@countersign/orchestrator';\nexport const x = OrchestratorModule;\n")).not.toEqual([]);
    expect(await lint('apps/executor/src/probe.ts', "import { TOPICS } from '@countersign/contracts';\nimport { KafkaBus } from '@countersign/bus';\nexport const x = [TOPICS, KafkaBus];\n")).toEqual([]);
  }, 60_000);

  it('lets tests, and only tests, use the shared test helpers', async () => {
    const code = "import { eventually } from '@countersign/testing';\nexport const x = eventually;\n";
    expect(await lint('apps/executor/src/execution/probe.ts', code)).not.toEqual([]);
    expect(await lint('apps/executor/src/execution/probe.int-spec.ts', code)).toEqual([]);
  }, 60_000);

  it('lets only the embedded host compose the apps', async () => {
    expect(await lint('apps/embedded/src/probe.ts', "import { OrchestratorModule } from '@countersign/orchestrator';\nexport const x = OrchestratorModule;\n")).toEqual([]);
  }, 60_000);
});
