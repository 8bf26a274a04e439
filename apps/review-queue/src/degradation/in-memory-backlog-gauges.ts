import { BacklogGauge, BacklogGauges, BacklogItem, BacklogSnapshot, windowOf } from './backlog-gauges';

/** The backlog gauges in the process (the embedded mode, tests); they pass the shared suite with the Redis adapter. */
export class InMemoryBacklogGauges implements BacklogGauges {
  private items = new Map<string, BacklogItem>();
  private builtAt?: number;
  private readonly reviewers = new Map<string, { roles: string[]; until: number }>();

  async add(item: BacklogItem): Promise<void> {
    if (!this.items.has(item.actionId)) this.items.set(item.actionId, { ...item, requiredRoles: [...item.requiredRoles] });
  }

  async remove(actionId: string): Promise<void> {
    this.items.delete(actionId);
  }

  async rebuild(items: BacklogItem[], at: Date): Promise<void> {
    this.items = new Map(items.map((i) => [i.actionId, { ...i, requiredRoles: [...i.requiredRoles] }]));
    this.builtAt = at.getTime();
  }

  async snapshot(): Promise<BacklogSnapshot> {
    const bySlaClass: Record<string, BacklogGauge> = {};
    const byRole: Record<string, BacklogGauge> = {};
    const byWindow: Record<string, BacklogGauge> = {};
    const count = (to: Record<string, BacklogGauge>, key: string, createdAt: number) => {
      const g = (to[key] ??= { depth: 0 });
      g.depth++;
      g.oldestCreatedAt = Math.min(g.oldestCreatedAt ?? createdAt, createdAt);
    };
    for (const i of this.items.values()) {
      count(bySlaClass, i.slaClass, i.createdAt);
      for (const r of new Set(i.requiredRoles)) count(byRole, r, i.createdAt);
      const w = windowOf(i);
      if (w !== undefined) count(byWindow, String(w), i.createdAt);
    }
    return { bySlaClass, byRole, ...(Object.keys(byWindow).length && { byWindow }), ...(this.builtAt !== undefined && { builtAt: this.builtAt }) };
  }

  async heartbeat(reviewer: string, roles: string[], ttlMs: number, now: Date): Promise<void> {
    this.reviewers.set(reviewer, { roles: [...new Set(roles)], until: now.getTime() + ttlMs });
  }

  async onShift(now: Date): Promise<Record<string, number>> {
    const perRole: Record<string, number> = {};
    for (const [id, r] of this.reviewers) {
      if (r.until <= now.getTime()) {
        this.reviewers.delete(id);
        continue;
      }
      for (const role of r.roles) perRole[role] = (perRole[role] ?? 0) + 1;
    }
    return perRole;
  }
}

/** The backlog gauges of an embedded review queue (or a test). */
export const createInMemoryBacklogGauges = (): BacklogGauges => new InMemoryBacklogGauges();
