import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createRedis } from '@countersign/storage';
import { stackEnv } from '@countersign/testing';

// real: the files and the Redis infra/stack.sh left running; fake: nothing. Red team, 2026-12-02: Kafka's topic data
// (0644 segments under a 0755 .stack) and Redis's AOF were readable by any local user, past the listeners' sign-ins.
const root = join(__dirname, '..');
const mode = (path: string) => statSync(path).mode & 0o777;

describe('what the stack keeps on disk is its user’s alone', () => {
  it('.stack (the broker’s topic data, logs, keys) is 0700, and stack.env with its passwords 0600', () => {
    expect(mode(join(root, '.stack')).toString(8)).toBe('700');
    expect(mode(join(root, '.stack/stack.env')).toString(8)).toBe('600');
    expect(mode(join(root, '.stack/kafka/admin.password')).toString(8)).toBe('600');
  });

  it('the Redis password file is 0600 and holds the password in the URLs', () => {
    const file = process.env.REDIS_PASSWORD_FILE!;
    expect(file).toBeTruthy();
    expect(mode(file).toString(8)).toBe('600');
    expect(decodeURIComponent(new URL(stackEnv().redisUrl).password)).toBe(readFileSync(file, 'utf8').trim());
  });

  it('Redis’s data directory (its AOF) is its process’s user’s, and lets no other user in', async () => {
    const redis = createRedis(stackEnv().redisUrl);
    try {
      const [, dir] = (await redis.config('GET', 'dir')) as [string, string];
      const pid = /process_id:(\d+)/.exec(await redis.info('server'))![1];
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
      // infra/stack.sh closes it when that user owns it, and warns otherwise: either way this fails on an open one.
      expect({ dir, owner: statSync(dir).uid, others: mode(dir) & 0o077 }).toEqual({ dir, owner: uid, others: 0 });
    } finally {
      redis.disconnect();
    }
  });
});
