import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// real: ESLint with the workspace config and Nx's project graph; fake: nothing.
const root = join(__dirname, '../..');

// The ESLint CLI on stdin, as `npm run lint` runs it (Jest cannot load the ESM config in-process).
async function lint(filePath: string, code: string, cwd = root): Promise<string[]> {
  const run = spawnSync(join(root, 'node_modules/.bin/eslint'), ['--stdin', '--stdin-filename', filePath, '--format', 'json'], {
    cwd,
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
    expect(
      await lint('libs/platform/bus/src/probe.ts', "import { OrchestratorModule } from '@countersign/orchestrator';\nexport const x = OrchestratorModule;\n"),
    ).not.toEqual([]);
    expect(
      await lint(
        'apps/executor/src/probe.ts',
        "import { TOPICS } from '@countersign/contracts';\nimport { KafkaBus } from '@countersign/bus';\nexport const x = [TOPICS, KafkaBus];\n",
      ),
    ).toEqual([]);
  }, 60_000);

  it('lets tests, and only tests, use the shared test helpers', async () => {
    const code = "import { eventually } from '@countersign/testing';\nexport const x = eventually;\n";
    expect(await lint('apps/executor/src/execution/probe.ts', code)).not.toEqual([]);
    expect(await lint('apps/executor/src/execution/probe.int-spec.ts', code)).toEqual([]);
  }, 60_000);

  it('keeps the agent SDK to the wire contracts: no framework, no platform lib; and no app imports the SDK', async () => {
    const errors = await lint(
      'libs/client/src/probe.ts',
      "import { Kafka } from 'kafkajs';\nimport { InMemoryBus } from '@countersign/bus';\nexport const x = [Kafka, InMemoryBus];\n",
    );
    expect(errors.join('\n')).toMatch(/"type:sdk" is not allowed to import "kafkajs"/);
    expect(errors.join('\n')).toMatch(/"type:sdk" can only depend on libs tagged with "type:contracts"/);
    expect(await lint('libs/client/src/probe.ts', "import { signSubmission } from '@countersign/contracts';\nexport const x = signSubmission;\n")).toEqual([]);
    expect(
      await lint('apps/orchestrator/src/probe.ts', "import { CountersignClient } from '@countersign/client';\nexport const x = CountersignClient;\n"),
    ).not.toEqual([]);
  }, 60_000);

  it('lets only the embedded host compose the apps', async () => {
    expect(
      await lint('apps/embedded/src/probe.ts', "import { OrchestratorModule } from '@countersign/orchestrator';\nexport const x = OrchestratorModule;\n"),
    ).toEqual([]);
  }, 60_000);

  it('lets tools and benchmarks use a service only through its published entries', async () => {
    const internals =
      "import { PgAuditLogRepository } from '../apps/audit-writer/src/log-store/pg-audit-log.repository';\nexport const x = PgAuditLogRepository;\n";
    expect((await lint('bench/probe.ts', internals)).join('\n')).toMatch(/Projects cannot be imported by a relative or absolute path/);
    expect(await lint('bench/probe.ts', "import { PgAuditLogRepository } from '@countersign/audit-writer';\nexport const x = PgAuditLogRepository;\n")).toEqual(
      [],
    );
    expect(await lint('tools/probe.ts', "export const cli = () => import('@countersign/audit-writer/cli');\n")).toEqual([]);
    expect((await lint('tools/probe.ts', "import { ExecutorModule } from '@countersign/executor';\nexport const x = ExecutorModule;\n")).join('\n')).toMatch(
      /Imports of apps are forbidden/,
    );
  }, 60_000);
});

// Every service-scoped project is an app today, and importing an app fails before scopes are compared; so the scope
// rules are proven on a scratch workspace with the real lint configuration and service-scoped libs.
describe('module boundaries: scopes', () => {
  const ws = mkdtempSync(join(tmpdir(), 'scopes-'));
  const lib = (name: string, scope: string) => {
    mkdirSync(join(ws, 'libs', name, 'src'), { recursive: true });
    writeFileSync(join(ws, 'libs', name, 'src/index.ts'), 'export const x = 1;\n');
    const project = { name, projectType: 'library', sourceRoot: `libs/${name}/src`, tags: ['type:platform', scope] };
    writeFileSync(join(ws, 'libs', name, 'project.json'), JSON.stringify(project));
  };

  beforeAll(() => {
    for (const file of ['eslint.config.mjs', 'nx.json', 'package.json']) copyFileSync(join(root, file), join(ws, file));
    symlinkSync(join(root, 'node_modules'), join(ws, 'node_modules'));
    lib('shared-thing', 'scope:shared');
    lib('executor-thing', 'scope:executor');
    lib('review-thing', 'scope:review-queue');
    const paths = Object.fromEntries(['shared-thing', 'executor-thing', 'review-thing'].map((n) => [`@scratch/${n}`, [`libs/${n}/src/index.ts`]]));
    writeFileSync(join(ws, 'tsconfig.base.json'), JSON.stringify({ compilerOptions: { baseUrl: '.', paths } }));
    execFileSync(join(root, 'node_modules/.bin/nx'), ['show', 'projects'], { cwd: ws, env: { ...process.env, NX_DAEMON: 'false' }, stdio: 'ignore' });
  }, 60_000);
  afterAll(() => rmSync(ws, { recursive: true, force: true }));

  const importing = (name: string) => `import { x } from '@scratch/${name}';\nexport const y = x;\n`;

  it('fails a shared lib that imports a service-scoped lib', async () => {
    expect((await lint('libs/shared-thing/src/probe.ts', importing('executor-thing'), ws)).join('\n')).toMatch(
      /A project tagged with "scope:shared" can only depend on libs tagged with "scope:shared"/,
    );
  }, 60_000);

  it("lets a service-scoped lib use its own scope and shared code, never another service's", async () => {
    expect(await lint('libs/executor-thing/src/probe.ts', importing('shared-thing'), ws)).toEqual([]);
    expect((await lint('libs/executor-thing/src/probe.ts', importing('review-thing'), ws)).join('\n')).toMatch(
      /"scope:executor" can only depend on libs tagged with/,
    );
  }, 60_000);
});
