import { randomUUID } from 'node:crypto';
import { createRedis, redisScript } from './index';

// real: the stack's Redis (a key prefix of this test's own); fake: nothing.
jest.setTimeout(30_000);

describe('redisScript', () => {
  const prefix = `t-${randomUUID()}:`;
  const redis = createRedis(process.env.REDIS_URL!, prefix);
  const raw = createRedis(process.env.REDIS_URL!, '');
  afterAll(async () => {
    await raw.del(`${prefix}counter`);
    redis.disconnect();
    raw.disconnect();
  });

  it('sends its text only when Redis lacks it, then only its SHA-1, and prefixes its keys', async () => {
    // A script this Redis has never seen (the comment makes it new), so the first run finds it missing.
    const lua = `-- ${randomUUID()}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])`;
    const name = `script-test-${randomUUID().slice(0, 8)}`;
    await redis.client('SETNAME', name);
    const lastCommand = async () =>
      ((await raw.client('LIST')) as string)
        .split('\n')
        .find((l) => l.includes(` name=${name} `))
        ?.match(/ cmd=(\S+)/)?.[1];
    const count = redisScript(redis, lua);
    expect(await count(1, 'counter', '2')).toBe(2);
    expect(await lastCommand()).toBe('eval'); // after EVALSHA was answered NOSCRIPT
    expect(await count(1, 'counter', '3')).toBe(5);
    expect(await lastCommand()).toBe('evalsha');
    // Another binding (another service's connection, say) runs it by its SHA-1 at once.
    expect(await redisScript(raw, lua)(1, `${prefix}counter`, '1')).toBe(6);
    expect(await raw.get(`${prefix}counter`)).toBe('6');
  });

  it("fails with the script's own error, whether it ran by its text or by its SHA-1", async () => {
    const failing = redisScript(redis, `-- ${randomUUID()}\nreturn redis.error_reply('refused by the script')`);
    await expect(failing(0)).rejects.toThrow('refused by the script'); // EVALSHA: NOSCRIPT, then EVAL fails
    await expect(failing(0)).rejects.toThrow('refused by the script'); // EVALSHA fails: not sent again
  });
});
