import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Envelope } from '@countersign/contracts';
import { AuditEntry, AuditLogRepository, AuditQuery } from './audit-log.repository';

/**
 * The embedded mode's audit store: a local append-only JSONL file, one line per event id. The file is
 * only ever appended to; on start the existing lines are read back so redeliveries stay single.
 */
export class FileAuditLogRepository implements AuditLogRepository {
  private readonly entries: AuditEntry[] = [];
  private readonly ids = new Set<string>();

  constructor(private readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    if (existsSync(path)) {
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        const entry = JSON.parse(line) as AuditEntry;
        this.entries.push(entry);
        this.ids.add(entry.eventId);
      }
    }
  }

  async append(topic: string, e: Envelope): Promise<void> {
    if (this.ids.has(e.id)) return;
    const entry: AuditEntry = {
      seq: this.entries.length + 1,
      eventId: e.id,
      topic,
      type: e.type,
      subject: e.subject,
      correlationId: e.correlationId,
      causationId: e.causationId,
      actor: e.actor,
      time: e.time,
      data: e.data,
      recordedAt: new Date().toISOString(),
    };
    appendFileSync(this.path, `${JSON.stringify(entry)}\n`);
    this.ids.add(e.id);
    this.entries.push(entry);
  }

  async query(q: AuditQuery): Promise<AuditEntry[]> {
    return this.entries
      .filter((e) => (!q.actionId || e.subject === q.actionId) && (!q.correlationId || e.correlationId === q.correlationId) && (!q.actor || e.actor.id === q.actor) && (!q.type || e.type === q.type))
      .slice(0, Math.min(q.limit ?? 500, 5000));
  }
}
