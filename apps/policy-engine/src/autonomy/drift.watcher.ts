import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { EmitOptions, EventBus } from '@countersign/bus';
import { closestName, derivedEventId, EventData, TOPICS } from '@countersign/contracts';
import { ControlKind, ControlValue, isControlValue, stricterOf } from '@countersign/flags';
import type { Logger } from '@countersign/logging';
import { emitSealed, EVENT_BUS, LOGGER, worthSaying } from '@countersign/nest';
import type { DecisionSigner } from '@countersign/approval';
import { RunningContract } from '@countersign/policy';
import { DEFAULT_TYPE, type FlagNames } from '../decision/autonomy';
import { AUTONOMY, DECISION_SIGNER, FLAG_NAMES } from '../tokens';
import { AutonomySettings, FlagsInFlight } from './autonomy.service';
import type { FlagAdmin, FlagChange, FlagCursor, FlagStore } from './flag-admin';

/** How often Unleash's events are polled for changes made outside Countersign. */
export const DRIFT_POLL_MS = 1_000;
/** How many of a flag's latest changes a difference found without one names. */
const HISTORY = 20;

/** A flag store as an audit reason names it. */
const STORE_NAMES: Record<FlagStore, string> = { unleash: 'Unleash', 'flag-file': 'the flag file', 'in-memory': 'the in-process flag store' };

/**
 * Watches Unleash's event log for changes to the kill switches and autonomy flags (ours by their prefixes)
 * made outside Countersign. Each changed flag is compared with the approved state (the control topic):
 * the same value is Countersign's own change; a stricter one (a lowering made directly in Unleash) is
 * accepted and published as the approved state; a looser one, or one that cannot be read as one value, is
 * a raise nobody approved and is reverted through the admin API — meanwhile the control topic's stricter
 * entry keeps it out of force. Every difference is audited (`control.autonomy.drift-detected.v1`).
 *
 * A flag Countersign has not controlled yet gets an approved state too (ADR 0014, addendum 2026-12-01): at the first
 * look, each governed flag (every action type's kill switch and autonomy flag, and the global default) that exists is
 * adopted as it stands; one that does not exist stands for what its absence means, which is no looser than
 * `off` for a kill switch (unreadable: prohibited), the default's level for a type's autonomy flag (the default caps
 * it), and `review-all` for the default (unreadable: review). A change from there follows the same rule: stricter is
 * accepted, looser is reverted. Before, such a flag's change was only recorded, so a raise made directly in Unleash
 * stood wherever nobody had used Countersign's API on that flag yet, as in a fresh deployment.
 *
 * Every instance watches; their events about one Unleash event share ids, and a revert is idempotent.
 */
@Injectable()
export class DriftWatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private cursor?: FlagCursor;
  /** The first look is done: adoption and the comparison of every controlled flag. */
  private looked = false;
  /** The action types of the running contract at the last poll: a type added since starts with its kill switch off. */
  private typesSeen?: ReadonlySet<string>;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  /** The policy engine's decision key: the entries it publishes are sealed (docs/adr/0040, addendum; none in a unit test). */
  @Inject(DECISION_SIGNER) private readonly signer?: DecisionSigner;

  constructor(
    @Inject(AUTONOMY) private readonly settings: AutonomySettings & { driftPollMs?: number },
    @Inject(FLAG_NAMES) private readonly names: FlagNames,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly inFlight: FlagsInFlight,
    @Inject(RunningContract) private readonly contract: Pick<RunningContract, 'current'>,
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
    const first = !this.looked;
    // The first look compares with the approved states: not before the control topic is replayed to its end (a
    // state half replayed would make an approved raise look like an unapproved one, and set it back).
    if (first && !this.settings.controls.caughtUp()) return;
    const wanted = (f: string) => this.kindOf(f) !== undefined;
    // Where watching starts, kept from the first attempt: a first look that fails or waits for a change of ours
    // still reads every change made since, and never adopts one of them as approved.
    this.cursor ??= (await admin.changesSince(undefined, wanted)).cursor;
    const { cursor, changes, complete } = await admin.changesSince(this.cursor, wanted);
    const byFlag = new Map<string, FlagChange[]>();
    for (const c of changes) byFlag.set(c.flag, [...(byFlag.get(c.flag) ?? []), c]);
    if (first) {
      // At start: the governed flags with no approved state and no change since watching began are adopted as they
      // stand, and whatever happened while no instance watched is caught by comparing every controlled flag.
      await this.adoptUncontrolled(admin, byFlag);
      for (const e of this.settings.controls.all()) if (!byFlag.has(e.flag)) byFlag.set(e.flag, []);
    } else if (!complete) {
      // Some changes could not be read: every governed flag is compared, as if each had changed.
      this.logger.warn(`drift watch: more changes in ${STORE_NAMES[admin.store]} than one read takes; comparing every governed flag`);
      for (const e of this.settings.controls.all()) if (!byFlag.has(e.flag)) byFlag.set(e.flag, []);
      for (const { flag, kind } of this.governed()) if (!byFlag.has(flag) && (await admin.read(flag, kind)) !== undefined) byFlag.set(flag, []);
    }
    // A type a contract change added while this instance watched: its kill switch gets an approved state of `off` now,
    // written to the flag store, so that a switch typed in later (or while the home is stopped) is a raise nobody
    // approved, set back, and never adopted at a start (red team, 2026-12-07: a kill switch typed into flags.json for a
    // new type while the home was stopped was adopted at the next start, and the type ran with no raise request).
    const running = this.contract.current() as { actions: Record<string, unknown>; version?: string };
    const types = Object.keys(running.actions);
    if (this.typesSeen)
      for (const t of types) {
        const flag = `${this.names.execPrefix}${t}`;
        if (this.typesSeen.has(t) || this.settings.controls.get(flag) || this.inFlight.has(flag)) continue;
        const reason = `${t} was added to the contract${running.version ? ` (${running.version})` : ''}: its kill switch starts off; on is a raise request`;
        await this.emitChange(
          { flag, actionType: t, control: 'kill-switch', value: 'off', change: 'accepted', reason, origin: 'contract-added' },
          { subject: flag, id: derivedEventId(TOPICS.autonomyChanged, `${flag}:added:${running.version ?? ''}`) },
        );
        await admin.write(flag, 'kill-switch', 'off');
        byFlag.delete(flag);
      }
    this.typesSeen = new Set(types);
    for (const [flag, events] of byFlag) {
      if (this.inFlight.has(flag)) return; // our own change is being applied: look again at the next poll
      await this.reconcile(admin, flag, events);
    }
    this.cursor = cursor;
    this.looked = true;
  }

  /** Polls in a row that could not read the flag store's changes (0 once one reads them). */
  private failedPolls = 0;

  /**
   * One poll of the timer; never throws. A failure is said at the first and every tenth after: a flag file moved aside
   * for minutes logged a stack a second (first-user pass, 2026-12-07); the flag reader's own health says the outage at
   * once (readiness, audit). The first poll that reads again says how many did not.
   */
  async tick(): Promise<void> {
    try {
      await this.poll();
      if (this.failedPolls) this.logger.info({ failedPolls: this.failedPolls }, "drift watch: the flag store's changes read again");
      this.failedPolls = 0;
    } catch (err) {
      if (worthSaying(++this.failedPolls))
        this.logger.warn({ err, failedPolls: this.failedPolls }, "drift watch: the flag store's changes not read; next poll");
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => this.schedule());
    }, this.settings.driftPollMs ?? DRIFT_POLL_MS);
    this.timer.unref();
  }

  /** Every flag Countersign governs under the running contract: each action type's two, and the global default. */
  private governed(): Array<{ flag: string; kind: ControlKind }> {
    const types = Object.keys(this.contract.current().actions);
    return [
      ...types.map((t) => ({ flag: `${this.names.execPrefix}${t}`, kind: 'kill-switch' as const })),
      ...[...types, DEFAULT_TYPE].map((t) => ({ flag: `${this.names.autonomyPrefix}${t}`, kind: 'autonomy' as const })),
    ];
  }

  /**
   * Publishes each governed flag that exists and has no approved state as approved at its value: from here on a raise
   * of it needs a change request. A flag whose value cannot be read as one is left to the first change (reconcile).
   * Every instance does this at start; the event ids depend on the flag and value only, so they are one event.
   */
  private async adoptUncontrolled(admin: FlagAdmin, changed: ReadonlyMap<string, unknown>): Promise<void> {
    for (const { flag, kind } of this.governed()) {
      // A flag changed since watching began is reconciled instead: measured against what its absence means.
      if (changed.has(flag) || this.settings.controls.get(flag) || this.inFlight.has(flag)) continue;
      const observed = await admin.read(flag, kind);
      if (observed === undefined || !isControlValue(kind, observed)) continue;
      // Approved meanwhile (a lowering while Unleash was read): nothing to adopt (and followers never let an adoption
      // loosen an entry they hold, `FlagControls.adopt`).
      if (this.settings.controls.get(flag) || this.inFlight.has(flag)) continue;
      await this.emitChange(
        {
          flag,
          actionType: this.kindOf(flag)!.actionType,
          control: kind,
          value: observed,
          change: 'accepted',
          reason: `${flag} was ${observed} when Countersign first looked: adopted as the approved state (a raise needs a change request)`,
          origin: 'adopted',
        },
        { subject: flag, id: derivedEventId(TOPICS.autonomyChanged, `${flag}:adopted:${observed}`) },
      );
    }
  }

  /**
   * What a governed flag that does not exist means, as the value no looser than it: a missing kill switch reads
   * unknown (prohibited), so `off`; a type's missing autonomy flag leaves the type at the default, so the default's
   * approved value (else `review-all`); a missing default leaves types without a flag unreadable (review), so
   * `review-all`.
   */
  private absentMeans(kind: ControlKind, actionType: string): ControlValue {
    if (kind === 'kill-switch') return 'off';
    const ceiling = actionType === DEFAULT_TYPE ? undefined : this.settings.controls.get(`${this.names.autonomyPrefix}${DEFAULT_TYPE}`)?.value;
    return ceiling ?? 'review-all';
  }

  /**
   * What a reason adds for a flag whose type the running contract does not have: it governs nothing now (a typo's entry
   * was audited as "accepted", and its author believed the type they meant was governed: config probe, 2026-12-05). It
   * is kept under the same rule all the same (stricter accepted, looser set back): a contract that adds the type later
   * finds it approved, never raised by nobody.
   */
  private unknownTypeNote(actionType: string): string {
    const contract = this.contract.current();
    if (actionType === DEFAULT_TYPE || actionType in contract.actions) return '';
    const meant = closestName(actionType, Object.keys(contract.actions));
    return ` (${actionType} is no action type of the running contract ${contract.version}${meant ? `: did you mean ${meant}?` : ''}; this flag governs nothing until a contract has it)`;
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
    const note = this.unknownTypeNote(actionType);
    if (note) this.logger.warn({ flag, actionType }, `a flag of no action type changed${note}`);
    // An approved change arrived while the flag server was read (here or on another instance): look again next poll.
    if (this.inFlight.has(flag) || this.settings.controls.get(flag)?.version !== approved?.version) return;
    // A difference no change read explains (made before watching began, or in a read that was not whole): the flag's
    // latest changes name who. Not having them does not hold the answer back.
    if (events.length === 0) {
      events = await admin.history(flag, HISTORY).catch((err: Error) => {
        this.logger.warn({ err, flag }, 'drift watch: the flag history was not read; the difference is audited without it');
        return [];
      });
    }
    const unleashEvents = events.slice(-100).map((e) => ({ id: e.id, type: e.type, ...(e.createdBy && { createdBy: e.createdBy.slice(0, 300) }) }));
    const by = [...new Set(events.map((e) => e.createdBy).filter(Boolean))].join(', ') || 'someone';
    // Where the flag was changed, as the trail says it: the embedded mode's flags.json was called "Unleash" (auditor
    // probe, 2026-12-06).
    const where = STORE_NAMES[admin.store];
    // Same Unleash events, same ids on every instance (and on a retry).
    const key = `${flag}:${events.at(-1)?.id ?? `start:${approved?.version}`}:${observed}`;
    const drift = (outcome: 'reverted' | 'accepted' | 'recorded', reason: string) =>
      this.bus.emit(
        TOPICS.autonomyDriftDetected,
        { flag, actionType, control: kind, ...(approved && { approved: approved.value }), observed, outcome, unleashEvents, reason },
        { subject: flag, id: derivedEventId(TOPICS.autonomyDriftDetected, key) },
      );
    if (!approved) {
      // Not adopted at the first look (it did not exist, or could not be read): measured against what its absence means.
      const baseline = this.absentMeans(kind, actionType);
      const accepted = isControlValue(kind, observed) && stricterOf(kind, observed, baseline) === observed;
      const value = accepted ? observed : baseline;
      const reason = accepted
        ? `${flag} was set to ${observed} in ${where} by ${by}, no looser than before: accepted as the approved state${note}`
        : `${flag} was set to ${observed} in ${where} by ${by} without approval: set to ${baseline}, no looser than it was before${note}`;
      const event = await drift(accepted ? 'accepted' : 'reverted', reason);
      // Published first: in force from here, before Unleash is written (and if writing it fails, the next poll retries).
      await this.emitChange({ flag, actionType, control: kind, value, change: 'accepted', reason }, { cause: event });
      if (!accepted) {
        await admin.write(flag, kind, baseline);
        this.logger.error({ flag, observed, baseline }, `unapproved change of an uncontrolled flag in ${STORE_NAMES[admin.store]}: set back`);
      }
      return;
    }
    if (isControlValue(kind, observed) && stricterOf(kind, observed, approved.value) === observed) {
      const reason = `${flag} was lowered to ${observed} directly in ${where} by ${by}: accepted as the approved state${note}`;
      const event = await drift('accepted', reason);
      await this.emitChange({ flag, actionType, control: kind, value: observed, previous: approved.value, change: 'accepted', reason }, { cause: event });
      this.logger.warn({ flag, observed, approved: approved.value }, 'autonomy lowered outside Countersign: accepted');
      return;
    }
    // A flag removed (or written in a shape that cannot be read) reads as its absence: a kill switch `unknown`, refused.
    // Where that is stricter than the approved state it is a lowering, accepted and written as such (red team,
    // 2026-12-07: a kill switch removed from flags.json was written back on, and its type ran again).
    if (observed === 'unknown') {
      const baseline = this.absentMeans(kind, actionType);
      if (baseline !== approved.value && stricterOf(kind, baseline, approved.value) === baseline) {
        const reason = `${flag} was removed or made unreadable in ${where} by ${by}: it reads as ${baseline}, stricter than ${approved.value}: accepted as a lowering, and written as ${baseline}${note}`;
        const event = await drift('accepted', reason);
        await this.emitChange({ flag, actionType, control: kind, value: baseline, previous: approved.value, change: 'accepted', reason }, { cause: event });
        await admin.write(flag, kind, baseline);
        this.logger.warn({ flag, approved: approved.value, baseline }, 'a governed flag removed outside Countersign: accepted as a lowering');
        return;
      }
    }
    // Fail closed: a raise nobody approved (or a shape that cannot be read) goes back to the approved state.
    await drift('reverted', `${flag} was set to ${observed} in ${where} by ${by} without approval: reverted to ${approved.value}${note}`);
    await admin.write(flag, kind, approved.value);
    this.logger.error({ flag, observed, approved: approved.value }, `unapproved autonomy raise in ${STORE_NAMES[admin.store]}: reverted`);
  }

  /** An entry on the control topic, sealed with the decision key (docs/adr/0040, addendum). */
  private emitChange(data: EventData<typeof TOPICS.autonomyChanged>, options: EmitOptions) {
    if (!this.signer) return this.bus.emit(TOPICS.autonomyChanged, data, options);
    return emitSealed(this.bus, this.signer, TOPICS.autonomyChanged, data, options, 'decision');
  }
}
