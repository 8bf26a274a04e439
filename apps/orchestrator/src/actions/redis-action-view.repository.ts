import type { Redis } from 'ioredis';
import { ActionViewRepository, TimelineEntry } from './action-view.repository';

const key = (actionId: string) => `action:${actionId}:timeline`;

/** One hash per action, a field per event id: `HSETNX` keeps the first delivery of each event. */
export class RedisActionViewRepository implements ActionViewRepository {
  constructor(private readonly redis: Redis) {}

  async record(actionId: string, entry: TimelineEntry): Promise<void> {
    await this.redis.hsetnx(key(actionId), entry.eventId, JSON.stringify(entry));
  }

  async timeline(actionId: string): Promise<TimelineEntry[]> {
    const all = await this.redis.hvals(key(actionId));
    return all.map((v) => JSON.parse(v) as TimelineEntry);
  }
}

/** The read model in Redis, shared by every orchestrator instance. */
export const createActionViewRepository = (redis: Redis): ActionViewRepository => new RedisActionViewRepository(redis);
