import type { Redis } from 'ioredis';

/** One step in an action's life, as `GET /v1/actions/{id}` shows it. */
export interface TimelineEntry {
  eventId: string;
  type: string;
  time: string;
  status: ActionStatus;
  lane?: 'autonomous' | 'review' | 'prohibited';
  actor: string;
  detail: string;
}

export type ActionStatus =
  | 'proposed'
  | 'autonomous'
  | 'in_review'
  | 'prohibited'
  | 'approved'
  | 'rejected'
  | 'expired'
  | 'executed'
  | 'failed'
  | 'outcome_unknown'
  | 'refused';

/** The read model of actions: their timelines, kept idempotently by event id. */
export interface ActionViewRepository {
  /** Adds an entry; a redelivered event (same id) changes nothing. */
  record(actionId: string, entry: TimelineEntry): Promise<void>;
  timeline(actionId: string): Promise<TimelineEntry[]>;
}

const key = (actionId: string) => `action:${actionId}:timeline`;

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
