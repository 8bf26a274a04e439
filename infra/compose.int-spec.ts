import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// real: Debian's docker-compose 1.29, validating offline (no Docker engine is needed for `config`).
const root = join(__dirname, '..');
const validate = (file: string) =>
  spawnSync('docker-compose', ['-f', file, 'config', '-q'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, UNLEASH_ADMIN_TOKEN: 'x', UNLEASH_CLIENT_TOKEN: 'y' },
  });

describe('docker-compose.yml', () => {
  it('is a valid compose file describing the same stack', () => {
    const run = validate(join(root, 'docker-compose.yml'));
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const text = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    for (const service of ['kafka:', 'redis:', 'postgres:', 'unleash:']) expect(text).toContain(`\n  ${service}`);
    // Every published port is bound to the loopback interface.
    const ports = [...text.matchAll(/- "([^"]+:\d+:\d+)"/g)].map((m) => m[1]);
    expect(ports.length).toBe(4);
    expect(ports.every((p) => p.startsWith('127.0.0.1:'))).toBe(true);
  });

  it('the validation rejects a broken file (so the check above can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'compose-'));
    const broken = join(dir, 'docker-compose.yml');
    writeFileSync(broken, readFileSync(join(root, 'docker-compose.yml'), 'utf8').replace('image: redis:7.0', 'image: [redis'));
    expect(validate(broken).status).not.toBe(0);
  });
});
