import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// real: each service's own main, as a process; fake: nothing (it must stop before touching anything).
const root = join(__dirname, '../..');
const boot = (app: string, env: Record<string, string>) =>
  spawnSync(process.execPath, ['-r', join(root, 'tools/register.js'), join(root, 'apps', app, 'src/main.ts')], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', SWC_NODE_PROJECT: join(root, 'tsconfig.json'), ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });

describe('configuration is validated at boot', () => {
  it.each(['orchestrator', 'policy-engine', 'review-queue', 'executor', 'audit-writer'])(
    '%s stops with one clear line when settings are missing or malformed',
    (app) => {
      const run = boot(app, { PORT: 'eighty', KAFKA_BROKERS: '127.0.0.1:1', AUTH_TOKENS_FILE: '/nonexistent' });
      expect(run.status).toBe(1);
      const lines = run.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^config: .*PORT/);
      expect(run.stdout).toBe('');
    },
    60_000,
  );

  it('stops the review queue when its data key is missing or not 256 bits', () => {
    // REDIS_URL: the backlog gauges and the degradation controller's lease (derived state, ADR 0013).
    const common = {
      KAFKA_BROKERS: '127.0.0.1:1',
      AUTH_TOKENS_FILE: '/x',
      DATABASE_URL: 'postgres://127.0.0.1:1/x',
      REDIS_URL: 'redis://127.0.0.1:1',
      APPROVAL_SIGNING_KEYS_FILE: '/x',
      DECISION_VERIFY_KEYS_FILE: '/x',
      OUTCOME_VERIFY_KEYS_FILE: '/x',
    };
    const short = join(mkdtempSync(join(tmpdir(), 'countersign-key-')), 'review-data.key');
    writeFileSync(short, Buffer.alloc(16).toString('base64'));
    expect(boot('review-queue', common).stderr.trim()).toBe('config: REVIEW_DATA_KEY_FILE: required');
    // Its review items live in PostgreSQL: a Redis URL there is refused at boot.
    expect(boot('review-queue', { ...common, DATABASE_URL: 'redis://127.0.0.1:1' }).stderr.trim()).toMatch(/^config: .*DATABASE_URL/);
    const run = boot('review-queue', { ...common, REVIEW_DATA_KEY_FILE: short });
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe('config: REVIEW_DATA_KEY_FILE: must hold a 256-bit key as base64 (44 characters)');
  }, 120_000);

  it('names a bad service-specific setting', () => {
    const run = boot('executor', { KAFKA_BROKERS: '127.0.0.1:1', AUTH_TOKENS_FILE: '/x', WEBHOOK_URL: 'not a url' });
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toMatch(/^config: .*WEBHOOK_URL/);
    // Whether the target applies an Idempotency-Key once has no default: only its owner knows (config probe, 2026-12-05).
    expect(run.stderr.trim()).toMatch(/WEBHOOK_IDEMPOTENT: required/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);
});
