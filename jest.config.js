// One Jest configuration, three projects: fast unit tests beside the code, integration tests
// against the real stack started by infra/stack.sh, and end-to-end tests across the services.
const { compilerOptions } = require('./tsconfig.base.json');
const fs = require('node:fs');

const swc = JSON.parse(fs.readFileSync(`${__dirname}/.swcrc`, 'utf8'));
delete swc.$schema;

const moduleNameMapper = Object.fromEntries(Object.entries(compilerOptions.paths).map(([alias, [target]]) => [`^${alias}$`, `<rootDir>/${target}`]));

const common = {
  rootDir: __dirname,
  // node-pg-migrate ships only ES modules, which Jest's CommonJS runtime cannot load untransformed.
  transform: { '^.+\\.ts$': ['@swc/jest', swc], '^.+/node_modules/node-pg-migrate/.+\\.js$': ['@swc/jest', swc] },
  transformIgnorePatterns: ['/node_modules/(?!node-pg-migrate/)'],
  moduleNameMapper: {
    ...moduleNameMapper,
    // PGlite loads Node's modules with import(), which Jest's module runtime refuses: Node's own loader loads it.
    '^@electric-sql/pglite(/node-postgres)?$': '<rootDir>/libs/testing/src/native-pglite.js',
    // The OpenID Connect libraries ship only ES modules: Node's loader loads them (libs/testing/src/native-esm/).
    '^(oidc-provider|openid-client)$': '<rootDir>/libs/testing/src/native-esm/$1.js',
  },
  testEnvironment: 'node',
  // Jest's runtime with V8's code cache: each test file compiled every module it loads again (tools/jest/code-caching-runtime.js).
  runtime: '<rootDir>/tools/jest/code-caching-runtime.js',
  modulePathIgnorePatterns: ['<rootDir>/dist', '<rootDir>/.stack', '<rootDir>/.countersign'],
};

module.exports = {
  // Two cores: integration and end-to-end files start real processes; two workers at most.
  maxWorkers: 2,
  // The slowest files first (measured), so that a clean clone, which has no durations cached, ends on short ones.
  testSequencer: `${__dirname}/tools/jest/slow-first.js`,
  projects: [
    {
      ...common,
      displayName: 'unit',
      // Some unit files boot the embedded mode in process (PGlite, the five services): the same bound as integration.
      setupFilesAfterEnv: ['<rootDir>/libs/testing/src/jest-timeouts.js', '<rootDir>/libs/testing/src/jest-witness.js'],
      testMatch: [
        '<rootDir>/{apps,libs,infra,bench,tools,examples}/**/*.spec.ts',
        '<rootDir>/test/architecture/**/*.spec.ts',
        '<rootDir>/test/fuzz/**/*.spec.ts',
        '<rootDir>/test/chaos/**/*.spec.ts',
      ],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,libs,infra,tools}/**/*.int-spec.ts'],
      globalSetup: '<rootDir>/libs/testing/src/global-setup.js',
      setupFilesAfterEnv: ['<rootDir>/libs/testing/src/jest-timeouts.js', '<rootDir>/libs/testing/src/jest-witness.js'],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/libs/testing/src/global-setup.js',
      setupFilesAfterEnv: ['<rootDir>/libs/testing/src/jest-timeouts.js', '<rootDir>/libs/testing/src/jest-witness.js'],
    },
  ],
};
