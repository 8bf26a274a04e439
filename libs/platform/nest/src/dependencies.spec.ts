import pino from 'pino';
import { DependencyUnavailableError } from '@countersign/bus';
import { StartupDependency, waitForDependencies } from './dependencies';

const logger = pino({ level: 'silent' });
const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

describe('waitForDependencies', () => {
  it('waits out a dependency that is down, with backoff, and goes on once it answers', async () => {
    let calls = 0;
    const slept: number[] = [];
    const pg: StartupDependency = {
      name: 'PostgreSQL',
      check: async () => {
        if (++calls < 4) throw refused();
      },
    };
    await waitForDependencies([pg], { timeoutMs: 60_000, logger, sleep: async (ms) => void slept.push(ms) });
    expect(calls).toBe(4);
    expect(slept).toEqual([250, 500, 1000]);
  });

  it('checks each dependency in turn (Kafka after PostgreSQL and Redis)', async () => {
    const order: string[] = [];
    const dep = (name: string): StartupDependency => ({ name, check: async () => void order.push(name) });
    await waitForDependencies([dep('PostgreSQL'), dep('Redis'), dep('Kafka')], { timeoutMs: 1_000, logger });
    expect(order).toEqual(['PostgreSQL', 'Redis', 'Kafka']);
  });

  it('gives up after the startup wait, naming the dependency', async () => {
    const kafka: StartupDependency = { name: 'Kafka', check: async () => Promise.reject(new DependencyUnavailableError('Kafka is not reachable')) };
    await expect(waitForDependencies([kafka], { timeoutMs: 600, logger, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) })).rejects.toThrow(
      /Kafka did not answer within the startup wait \(600 ms\)/,
    );
  });

  it('does not wait out an error that will not fix itself (bad credentials)', async () => {
    let calls = 0;
    const pg: StartupDependency = {
      name: 'PostgreSQL',
      check: async () => {
        calls++;
        throw Object.assign(new Error('password authentication failed for user "countersign"'), { code: '28P01' });
      },
    };
    await expect(waitForDependencies([pg], { timeoutMs: 60_000, logger, sleep: async () => undefined })).rejects.toThrow(/password authentication/);
    expect(calls).toBe(1);
  });
});
