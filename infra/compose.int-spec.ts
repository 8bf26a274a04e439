import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { requiredSettings } from './required-settings';

// real: Debian's docker-compose 1.29, validating and resolving offline (`config` needs no Docker engine; none runs
// here, so nothing is built or started: the images and containers themselves are not exercised by this test).
const root = join(__dirname, '..');
const compose = (file: string, ...args: string[]) =>
  spawnSync('docker-compose', ['-f', file, 'config', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: {
      ...process.env,
      UNLEASH_ADMIN_TOKEN: 'x',
      UNLEASH_CLIENT_TOKEN: 'y',
      COUNTERSIGN_WEBHOOK_URL: 'http://target.invalid/hook',
      COUNTERSIGN_WEBHOOK_IDEMPOTENT: 'false',
    },
  });
const validate = (file: string) => compose(file, '-q');

/** Settings the image itself sets (the Dockerfile's `runtime` stage), e.g. the writable directories. */
const imageEnv = () => {
  const runtime =
    readFileSync(join(root, 'Dockerfile'), 'utf8')
      .split(/^FROM /m)
      .find((s) => s.startsWith('${NODE_IMAGE} AS runtime\n')) ?? '';
  return [...runtime.matchAll(/^(?:ENV)?\s+([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
};

const SERVICES = { orchestrator: 8080, 'policy-engine': 8081, 'review-queue': 8082, executor: 8083, 'audit-writer': 8084 } as const;
const INFRA = ['kafka', 'postgres', 'redis', 'unleash'];

interface Service {
  build?: { target?: string };
  healthcheck?: { test?: string[] };
  depends_on?: Record<string, { condition?: string }>;
  ports?: string[];
  environment?: Record<string, string>;
  secrets?: Array<{ source: string }>;
  read_only?: boolean;
}

/** What is wrong with the five services in a resolved compose file (`docker-compose config` output); empty: nothing. */
function problemsOf(config: { services: Record<string, Service> }): string[] {
  const problems: string[] = [];
  for (const [name, port] of Object.entries(SERVICES)) {
    const s = config.services[name];
    if (!s) {
      problems.push(`${name}: missing`);
      continue;
    }
    if (s.build?.target !== name) problems.push(`${name}: not built from its own Dockerfile target`);
    if (!s.healthcheck?.test?.join(' ').includes(`127.0.0.1:${port}/healthz`)) problems.push(`${name}: no health check on /healthz`);
    for (const dep of INFRA) {
      if (s.depends_on?.[dep]?.condition !== 'service_healthy') problems.push(`${name}: does not wait for ${dep} to be healthy`);
    }
    if (JSON.stringify(s.ports) !== JSON.stringify([`127.0.0.1:${port}:${port}/tcp`])) problems.push(`${name}: ports ${JSON.stringify(s.ports)}`);
    if (s.environment?.PORT !== String(port)) problems.push(`${name}: PORT is not ${port}`);
    if (s.environment?.AUTH_TOKENS_FILE !== '/run/secrets/auth-tokens' || !s.secrets?.some((x) => x.source === 'auth-tokens'))
      problems.push(`${name}: the token registry is not a mounted secret`);
    if (s.read_only !== true) problems.push(`${name}: writable root file system`);
    const given = new Set([...Object.keys(s.environment ?? {}), ...imageEnv()]);
    for (const setting of requiredSettings(name as keyof typeof SERVICES))
      if (!given.has(setting)) problems.push(`${name}: required setting ${setting} is not given`);
  }
  return problems;
}

const resolved = (file: string) => {
  const run = compose(file);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return parse(run.stdout) as { services: Record<string, Service>; secrets: Record<string, { file: string }> };
};

describe('docker-compose.yml', () => {
  it('is a valid compose file describing the same stack', () => {
    const run = validate(join(root, 'docker-compose.yml'));
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const text = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    for (const service of ['kafka:', 'redis:', 'postgres:', 'unleash:']) expect(text).toContain(`\n  ${service}`);
    // Every published port is bound to the loopback interface: the four of the infrastructure and the five services'.
    const ports = [...text.matchAll(/- "([^"]+:\d+:\d+)"/g)].map((m) => m[1]);
    expect(ports.length).toBe(9);
    expect(ports.every((p) => p.startsWith('127.0.0.1:'))).toBe(true);
  });

  it('runs the five services, each from its Dockerfile target, healthy-checked on /healthz, after healthy infrastructure', () => {
    const config = resolved(join(root, 'docker-compose.yml'));
    expect(problemsOf(config)).toEqual([]);
    // The infrastructure they wait for reports its health.
    for (const dep of INFRA) expect(config.services[dep]).toHaveProperty('healthcheck.test');
    // Secrets are files mounted at run time, from the git-ignored .stack/deploy/, never part of the build context.
    expect(Object.values(config.secrets).every((s) => s.file.startsWith(join(root, '.stack/deploy/')))).toBe(true);
    expect(readFileSync(join(root, '.dockerignore'), 'utf8').split('\n')).toEqual(expect.arrayContaining(['.stack', '.countersign']));
  });

  it('the Dockerfile has a target per service, runs it unprivileged and bakes in no secret', () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    for (const [name, port] of Object.entries(SERVICES)) {
      const stage = dockerfile.split(/^FROM /m).find((s) => s.startsWith(`runtime AS ${name}\n`));
      expect(stage).toContain(`ENV PORT=${port}`);
      expect(stage).toContain(`CMD ["node", "-r", "@swc-node/register", "apps/${name}/src/main.ts"]`);
    }
    expect(dockerfile).toMatch(/^USER 1000:1000$/m);
    expect(imageEnv()).toEqual(expect.arrayContaining(['FLAGS_BACKUP_DIR', 'AUDIT_HEAD_STORE_DIR']));
    expect(dockerfile).toContain('npm ci --omit=dev');
    const instructions = dockerfile
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n');
    expect(instructions).not.toMatch(/TOKEN|PASSWORD|SECRET|\.stack|\.pem|\.key\b/i);
  });

  it('the validation rejects a broken file (so the check above can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'compose-'));
    const broken = join(dir, 'docker-compose.yml');
    writeFileSync(broken, readFileSync(join(root, 'docker-compose.yml'), 'utf8').replace('image: redis:7.0', 'image: [redis'));
    expect(validate(broken).status).not.toBe(0);
  });

  it('the service checks refuse a service published beyond loopback, without a health check or started too early', () => {
    const config = resolved(join(root, 'docker-compose.yml'));
    config.services.executor.ports = ['0.0.0.0:8083:8083/tcp'];
    delete config.services['audit-writer'].healthcheck;
    config.services.orchestrator.depends_on = { kafka: { condition: 'service_started' } };
    delete config.services['review-queue'];
    delete config.services['policy-engine'].environment!.UNLEASH_CLIENT_TOKEN;
    expect(problemsOf(config)).toEqual(
      expect.arrayContaining([
        'executor: ports ["0.0.0.0:8083:8083/tcp"]',
        'audit-writer: no health check on /healthz',
        'orchestrator: does not wait for kafka to be healthy',
        'orchestrator: does not wait for postgres to be healthy',
        'review-queue: missing',
        'policy-engine: required setting UNLEASH_CLIENT_TOKEN is not given',
      ]),
    );
  });
});
