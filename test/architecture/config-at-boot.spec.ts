import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// real: each service's own main, as a process; fake: nothing (it must stop before touching anything).
const root = join(__dirname, '../..');
const boot = (app: string, env: Record<string, string>) =>
  spawnSync(process.execPath, ['-r', '@swc-node/register', join(root, 'apps', app, 'src/main.ts')], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', SWC_NODE_PROJECT: join(root, 'tsconfig.json'), ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });

describe('configuration is validated at boot', () => {
  it.each(['orchestrator', 'policy-engine', 'review-queue', 'executor', 'audit-writer'])('%s stops with one clear line when settings are missing or malformed', (app) => {
    const run = boot(app, { PORT: 'eighty', KAFKA_BROKERS: '127.0.0.1:1', AUTH_TOKENS_FILE: '/nonexistent' });
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^config: .*PORT/);
    expect(run.stdout).toBe('');
  }, 60_000);

  it('names a bad service-specific setting', () => {
    const run = boot('executor', { KAFKA_BROKERS: '127.0.0.1:1', AUTH_TOKENS_FILE: '/x', WEBHOOK_URL: 'not a url' });
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toMatch(/^config: .*WEBHOOK_URL/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);
});
