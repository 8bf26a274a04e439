// Lint: TypeScript rules plus Nx module boundaries in two dimensions, `type:` and `scope:`
// (see docs/adr/0001-workspace-and-boundaries.md).
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const FRAMEWORKS = ['@nestjs/*', 'kafkajs', 'ioredis', 'unleash-client', 'pino', 'pg', 'express', 'nestjs-pino'];
const SERVICES = ['orchestrator', 'policy-engine', 'review-queue', 'executor', 'audit-writer'];

// Tests (and only tests) of any project may also use the shared test helpers (type:testing).
const boundaries = (allow = [], tests = false) => [
  'error',
  {
    enforceBuildableLibDependency: false,
    allow,
    depConstraints: [
      { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:platform', 'type:domain', 'type:contracts', ...(tests ? ['type:testing'] : [])] },
      { sourceTag: 'type:host', onlyDependOnLibsWithTags: ['type:app', 'type:platform', 'type:domain', 'type:contracts', ...(tests ? ['type:testing'] : [])] },
      {
        sourceTag: 'type:platform',
        onlyDependOnLibsWithTags: ['type:platform', 'type:domain', 'type:contracts', ...(tests ? ['type:testing', 'type:sdk'] : [])],
      },
      { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts'], bannedExternalImports: FRAMEWORKS },
      { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts'], bannedExternalImports: FRAMEWORKS },
      // The agent SDK (libs/client) ships outside the monorepo: the wire contracts only, no framework (docs/adr/0020).
      // Its tests may make certificates with the project's PKI (a domain lib) to test the HTTPS fetch.
      { sourceTag: 'type:sdk', onlyDependOnLibsWithTags: ['type:contracts', ...(tests ? ['type:domain'] : [])], bannedExternalImports: FRAMEWORKS },
      // Test helpers call the services as an agent would: through the SDK's HTTPS fetch (one copy, ADR 0020).
      { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:testing', 'type:platform', 'type:domain', 'type:contracts', 'type:sdk'] },
      // Operator commands and benchmarks (tools/, bench/): the apps' published entries (the embedded host's too) and any lib.
      {
        sourceTag: 'type:tool',
        onlyDependOnLibsWithTags: ['type:app', 'type:host', 'type:platform', 'type:domain', 'type:contracts', 'type:testing', 'type:sdk'],
      },
      // Shared code knows no service; a service knows itself and the shared code; the host and the tools name theirs.
      { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
      ...SERVICES.map((s) => ({ sourceTag: `scope:${s}`, onlyDependOnLibsWithTags: [`scope:${s}`, 'scope:shared'] })),
      { sourceTag: 'scope:host', onlyDependOnLibsWithTags: ['scope:shared', ...SERVICES.map((s) => `scope:${s}`)] },
      { sourceTag: 'scope:tools', onlyDependOnLibsWithTags: ['scope:shared', 'scope:policy-engine', 'scope:audit-writer'] },
      { sourceTag: 'scope:bench', onlyDependOnLibsWithTags: ['scope:shared', 'scope:audit-writer', 'scope:review-queue', 'scope:host'] },
    ],
  },
];

// One way to emit (docs/adr/0010): envelopes are built by the bus (`bus.emit(topic, data, { cause | subject })`),
// topic names live only in the registry (libs/contracts/src/topics.ts). Production code only: tests may spell
// wire names and build fixtures.
const TOPIC_NAME = '^[a-z][a-z0-9-]*\\.[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)+\\.v[0-9]+(\\.(dlq|retry))?$';
const ONE_WAY_TO_EMIT = [
  'error',
  { selector: `Literal[value=/${TOPIC_NAME}/]`, message: 'A topic name outside the registry: use TOPICS (libs/contracts/src/topics.ts).' },
  {
    selector: `TemplateLiteral[quasis.length=1] > TemplateElement[value.raw=/${TOPIC_NAME}/]`,
    message: 'A topic name outside the registry: use TOPICS (libs/contracts/src/topics.ts).',
  },
  {
    // An envelope's chain fields plus its schema version; audit entries and API views carry the first two, not the third.
    selector: "ObjectExpression:has(> Property[key.name='causationId']):has(> Property[key.name='correlationId']):has(> Property[key.name='version'])",
    message: 'A hand-built envelope: emit with bus.emit(topic, data, { cause } | { subject }) (or bus.envelope to store it first).',
  },
];

export default [
  {
    ignores: ['**/node_modules/**', '**/dist/**', '.stack/**', '.countersign/**', '.nx/**', 'infra/unleash/node_modules/**', '**/*.js', '**/*.mjs', '**/*.cjs'],
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': boundaries(),
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['apps/**/*.ts', 'libs/**/*.ts', 'tools/**/*.ts', 'bench/**/*.ts'],
    ignores: [
      '**/*.spec.ts',
      '**/*.int-spec.ts',
      '**/*.e2e-spec.ts',
      '**/*.suite.ts',
      '**/*.harness.ts',
      'libs/testing/**',
      'libs/contracts/src/topics.ts',
      'libs/contracts/src/envelope.ts',
      'libs/platform/bus/src/envelope.ts',
    ],
    rules: { 'no-restricted-syntax': ONE_WAY_TO_EMIT },
  },
  {
    // The embedded host is the one composition root that runs the five services in one process: it
    // may import each app's public entry (src/index.ts). Every other project importing an app fails.
    files: ['apps/embedded/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': boundaries([
        '@countersign/orchestrator',
        '@countersign/policy-engine',
        '@countersign/review-queue',
        '@countersign/executor',
        '@countersign/audit-writer',
      ]),
    },
  },
  {
    // Tools and benchmarks reach a service only through its published entries (`src/index.ts`, `src/cli/main.ts`).
    files: ['tools/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(['@countersign/policy-engine', '@countersign/policy-engine/cli', '@countersign/audit-writer/cli']) },
  },
  {
    files: ['bench/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(['@countersign/audit-writer', '@countersign/review-queue', '@countersign/embedded']) },
  },
  {
    // A harness (`*.harness.ts`) is test code that several spec files of one project share.
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', '**/*.suite.ts', '**/*.harness.ts'],
    ignores: ['apps/embedded/**'],
    rules: { '@nx/enforce-module-boundaries': boundaries([], true) },
  },
  {
    files: ['apps/embedded/**/*.spec.ts', 'apps/embedded/**/*.int-spec.ts'],
    rules: {
      '@nx/enforce-module-boundaries': boundaries(
        ['@countersign/orchestrator', '@countersign/policy-engine', '@countersign/review-queue', '@countersign/executor', '@countersign/audit-writer'],
        true,
      ),
    },
  },
];
