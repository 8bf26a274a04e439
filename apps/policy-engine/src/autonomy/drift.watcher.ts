import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { EventBus } from '@countersign/bus';
import { derivedEventId, TOPICS } from '@countersign/contracts';
import { ControlKind, isControlValue, stricterOf } from '@countersign/flags';
import type { Logger } from '@countersign/logging';
import { EVENT_BUS, LOGGER } from '@countersign/nest';
import type { FlagNames } from '../decision/autonomy';
import { AUTONOMY, FLAG_NAMES } from '../tokens';
import { AutonomySettings, FlagsInFlight } from './autonomy.service';
import type { FlagAdmin, FlagChange } from './flag-admin';

/** How often Unleash's events are polled for changes made outside Countersign. */
export const DRIFT_POLL_MS = 1_000;

/**
 * Watches Unleash's event log for changes to the kill switches and autonomy flags (ours by their prefixes)
 * made outside Countersign. Each changed flag is compared with the approved state (the control topic):
 * the same value is Countersign's own change; a stricter one (a lowering made directly in Unleash) is
 * accepted and published as the approved state; a looser one, or one that cannot be read as one value, is
 * a raise nobody approved and is reverted through the admin API — meanwhile the control topic's stricter
 * entry keeps it out of force. Every difference is audited (`control.autonomy.drift-detected.v1`). A flag
 * Countersign never controlled has no approved state: its change is recorded only.
 *
 * Every instance watches; their events about one Unleash event share ids, and a revert is idempotent.
 */
@Injectable()
export class DriftWatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private cursor?: number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    @Inject(AUTONOMY) private readonly settings: AutonomySettings & { driftPollMs?: number },
    @Inject(FLAG_NAMES) private readonly names: FlagNames,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly inFlight: FlagsInFlight,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.settings.admin) return;
    this.schedule();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One poll: what changed since the last one, each changed flag reconciled. Public for tests. */
  async poll(): Promise<void> {
    const admin = this.settings.admin;
    if (!admin) return;
    const first = this.cursor === undefined;
    const { cursor, changes } = await admin.changesSince(this.cursor, (f) => this.kindOf(f) !== undefined);
    const byFlag = new Map<string, FlagChange[]>();
    for (const c of changes) byFlag.set(c.flag, [...(byFlag.get(c.flag) ?? []), c]);
    // At start: whatever happened while no instance watched is caught by comparing every controlled flag.
    if (first) for (const e of this.settings.controls.all()) if (!byFlag.has(e.flag)) byFlag.set(e.flag, []);
    for (const [flag, events] of byFlag) {
      if (this.inFlight.has(flag)) return; // our own change is being applied: look again at the next poll
      await this.reconcile(admin, flag, events);
    }
    this.cursor = cursor;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.poll()
        .catch((err: Error) => this.logger.warn({ err }, 'drift watch: Unleash events not read; next poll'))
        .finally(() => this.schedule());
    }, this.settings.driftPollMs ?? DRIFT_POLL_MS);
    this.timer.unref();
  }

  private kindOf(flag: string): { kind: ControlKind; actionType: string } | undefined {
    // The longer prefix first: one may be a prefix of the other.
    const prefixes: Array<[string, ControlKind]> = [
      [this.names.execPrefix, 'kill-switch' as const],
      [this.names.autonomyPrefix, 'autonomy' as const],
    ].sort((a, b) => b[0].length - a[0].length) as Array<[string, ControlKind]>;
    for (const [prefix, kind] of prefixes) if (flag.startsWith(prefix) && flag.length > prefix.length) return { kind, actionType: flag.slice(prefix.length) };
    return undefined;
  }

  private async reconcile(admin: FlagAdmin, flag: string, events: FlagChange[]): Promise<void> {
    const { kind, actionType } = this.kindOf(flag)!;
    const approved = this.settings.controls.get(flag);
    const observed = (await admin.read(flag, kind)) ?? 'unknown';
    if (approved?.value === observed) return;
    const unleashEvents = events.slice(-100).map((e) => ({ id: e.id, type: e.type, ...(e.createdBy && { createdBy: e.createdBy.slice(0, 300) }) }));
    const by = [...new Set(events.map((e) => e.createdBy).filter(Boolean))].join(', ') || 'someone';
    // Same Unleash events, same ids on every instance (and on a retry).
    const key = `${flag}:${events.at(-1)?.id ?? `start:${approved?.version}`}:${observed}`;
    const drift = (outcome: 'reverted' | 'accepted' | 'recorded', reason: string) =>
      this.bus.emit(
        TOPICS.autonomyDriftDetected,
        { flag, actionType, control: kind, ...(approved && { approved: approved.value }), observed, outcome, unleashEvents, reason },
        { subject: flag, id: derivedEventId(TOPICS.autonomyDriftDetected, key) },
      );
    if (!approved) {
      if (events.length) await drift('recorded', `${flag} was changed in Unleash by ${by}; Countersign has not controlled it yet, so it stands as ${observed}`);
      return;
    }
    if (isControlValue(kind, observed) && stricterOf(kind, observed, approved.value) === observed) {
      const reason = `${flag} was lowered to ${observed} directly in Unleash by ${by}: accepted as the approved state`;
      const event = await drift('accepted', reason);
      await this.bus.emit(
        TOPICS.autonomyChanged,
        { flag, actionType, control: kind, value: observed, previous: approved.value, change: 'accepted', reason },
        { cause: event },
      );
      this.logger.warn({ flag, observed, approved: approved.value }, 'autonomy lowered outside Countersign: accepted');
      return;
    }
    // Fail closed: a raise nobody approved (or a shape that cannot be read) goes back to the approved state.
    await drift('reverted', `${flag} was set to ${observed} in Unleash by ${by} without approval: reverted to ${approved.value}`);
    await admin.write(flag, kind, approved.value);
    this.logger.error({ flag, observed, approved: approved.value }, 'unapproved autonomy raise in Unleash: reverted');
  }
}
