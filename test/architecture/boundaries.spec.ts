import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// real: ESLint with the workspace config and Nx's project graph; fake: nothing.
const root = join(__dirname, '../..');
const env = { ...process.env, NX_DAEMON: 'false' };

type Probes = Record<string, [filePath: string, code: string]>;

/**
 * The module-boundary messages ESLint gives each probe (a file that does not exist, linted from its text), as `npm run
 * lint` would. One ESLint process lints them all (`lint-probes.mjs`: Jest cannot load the ESM config in-process).
 * Nx's project graph is made first: without it the rule would silently skip.
 */
function lintProbes(probes: Probes, cwd = root): Record<string, string[]> {
  execFileSync(join(root, 'node_modules/.bin/nx'), ['show', 'projects'], { cwd, env, stdio: 'ignore' });
  const input = Object.entries(probes).map(([id, [filePath, code]]) => ({ id, filePath, code }));
  const out = execFileSync(process.execPath, [join(__dirname, 'lint-probes.mjs')], { cwd, env, input: JSON.stringify(input), encoding: 'utf8' });
  const results = JSON.parse(out) as Record<string, string[]>;
  expect(Object.keys(results).sort()).toEqual(Object.keys(probes).sort());
  return results;
}

const imports = (names: string, from: string) => `import { ${names} } from '${from}';\nexport const x = [${names}];\n`;

const PROBES: Probes = {
  appImportsApp: ['apps/orchestrator/src/probe.ts', imports('ExecutorModule', '@countersign/executor')],
  domainImportsFramework: ['libs/approval/src/probe.ts', imports('Injectable', '@nestjs/common')],
  platformImportsHost: ['libs/platform/bus/src/probe.ts', imports('OrchestratorModule', '@countersign/orchestrator')],
  appImportsPlatform: [
    'apps/executor/src/probe.ts',
    "import { TOPICS } from '@countersign/contracts';\nimport { KafkaBus } from '@countersign/bus';\nexport const x = [TOPICS, KafkaBus];\n",
  ],
  codeImportsTesting: ['apps/executor/src/execution/probe.ts', imports('eventually', '@countersign/testing')],
  testImportsTesting: ['apps/executor/src/execution/probe.int-spec.ts', imports('eventually', '@countersign/testing')],
  sdkImportsFramework: [
    'libs/client/src/probe.ts',
    "import { Kafka } from 'kafkajs';\nimport { InMemoryBus } from '@countersign/bus';\nexport const x = [Kafka, InMemoryBus];\n",
  ],
  sdkImportsContracts: ['libs/client/src/probe.ts', imports('signSubmission', '@countersign/contracts')],
  appImportsSdk: ['apps/orchestrator/src/probe.ts', imports('CountersignClient', '@countersign/client')],
  hostImportsApp: ['apps/embedded/src/probe.ts', imports('OrchestratorModule', '@countersign/orchestrator')],
  benchImportsInternals: ['bench/probe.ts', imports('PgAuditLogRepository', '../apps/audit-writer/src/log-store/pg-audit-log.repository')],
  benchImportsEntry: ['bench/probe.ts', imports('PgAuditLogRepository', '@countersign/audit-writer')],
  toolImportsCli: ['tools/probe.ts', "export const cli = () => import('@countersign/audit-writer/cli');\n"],
  toolImportsApp: ['tools/probe.ts', imports('ExecutorModule', '@countersign/executor')],
};

describe('module boundaries (Nx tags)', () => {
  let lint: Record<string, string[]>;
  beforeAll(() => void (lint = lintProbes(PROBES)), 120_000);
  const messages = (id: string) => lint[id].join('\n');

  it('fails an app that imports another app', () => {
    expect(messages('appImportsApp')).toMatch(/Imports of apps are forbidden/);
  });

  it('fails a domain lib that imports a framework', () => {
    expect(messages('domainImportsFramework')).toMatch(/"type:domain" is not allowed to import "@nestjs\/common"/);
  });

  it('fails a platform lib that imports the host, and passes allowed imports', () => {
    expect(lint.platformImportsHost).not.toEqual([]);
    expect(lint.appImportsPlatform).toEqual([]);
  });

  it('lets tests, and only tests, use the shared test helpers', () => {
    expect(lint.codeImportsTesting).not.toEqual([]);
    expect(lint.testImportsTesting).toEqual([]);
  });

  it('keeps the agent SDK to the wire contracts: no framework, no platform lib; and no app imports the SDK', () => {
    expect(messages('sdkImportsFramework')).toMatch(/"type:sdk" is not allowed to import "kafkajs"/);
    expect(messages('sdkImportsFramework')).toMatch(/"type:sdk" can only depend on libs tagged with "type:contracts"/);
    expect(lint.sdkImportsContracts).toEqual([]);
    expect(lint.appImportsSdk).not.toEqual([]);
  });

  it('lets only the embedded host compose the apps', () => {
    expect(lint.hostImportsApp).toEqual([]);
  });

  it('lets tools and benchmarks use a service only through its published entries', () => {
    expect(messages('benchImportsInternals')).toMatch(/Projects cannot be imported by a relative or absolute path/);
    expect(lint.benchImportsEntry).toEqual([]);
    expect(lint.toolImportsCli).toEqual([]);
    expect(messages('toolImportsApp')).toMatch(/Imports of apps are forbidden/);
  });
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
  const importing = (name: string) => `import { x } from '@scratch/${name}';\nexport const y = x;\n`;
  let lint: Record<string, string[]>;

  beforeAll(() => {
    for (const file of ['eslint.config.mjs', 'nx.json', 'package.json']) copyFileSync(join(root, file), join(ws, file));
    symlinkSync(join(root, 'node_modules'), join(ws, 'node_modules'));
    lib('shared-thing', 'scope:shared');
    lib('executor-thing', 'scope:executor');
    lib('review-thing', 'scope:review-queue');
    const paths = Object.fromEntries(['shared-thing', 'executor-thing', 'review-thing'].map((n) => [`@scratch/${n}`, [`libs/${n}/src/index.ts`]]));
    writeFileSync(join(ws, 'tsconfig.base.json'), JSON.stringify({ compilerOptions: { baseUrl: '.', paths } }));
    lint = lintProbes(
      {
        sharedImportsService: ['libs/shared-thing/src/probe.ts', importing('executor-thing')],
        serviceImportsShared: ['libs/executor-thing/src/probe.ts', importing('shared-thing')],
        serviceImportsOther: ['libs/executor-thing/src/probe.ts', importing('review-thing')],
      },
      ws,
    );
  }, 120_000);
  afterAll(() => rmSync(ws, { recursive: true, force: true }));

  it('fails a shared lib that imports a service-scoped lib', () => {
    expect(lint.sharedImportsService.join('\n')).toMatch(/A project tagged with "scope:shared" can only depend on libs tagged with "scope:shared"/);
  });

  it("lets a service-scoped lib use its own scope and shared code, never another service's", () => {
    expect(lint.serviceImportsShared).toEqual([]);
    expect(lint.serviceImportsOther.join('\n')).toMatch(/"scope:executor" can only depend on libs tagged with/);
  });
});
