import { ActionViewRepository, TimelineEntry } from './action-view.repository';

/** The in-process twin of the PostgreSQL read model. */
export class InMemoryActionViewRepository implements ActionViewRepository {
  private readonly byAction = new Map<string, Map<string, TimelineEntry>>();

  async record(actionId: string, entry: TimelineEntry): Promise<void> {
    const entries = this.byAction.get(actionId) ?? new Map<string, TimelineEntry>();
    if (!entries.has(entry.eventId)) entries.set(entry.eventId, entry);
    this.byAction.set(actionId, entries);
  }

  async timeline(actionId: string): Promise<TimelineEntry[]> {
    return [...(this.byAction.get(actionId)?.values() ?? [])];
  }
}

/** The read model in process: the embedded mode's. */
export const createInMemoryActionViewRepository = (): ActionViewRepository => new InMemoryActionViewRepository();
