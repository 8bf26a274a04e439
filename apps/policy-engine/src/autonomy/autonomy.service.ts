import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  Inject,
  Injectable,
  NotFoundException,
  Optional,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { EmitOptions, EventBus } from '@countersign/bus';
import { Actor, AnyTopic, derivedEventId, EventData, newId, TOPICS } from '@countersign/contracts';
import { ControlKind, ControlValue, FlagControls, isLooser, stricterOf } from '@countersign/flags';
import { maskText } from '@countersign/guardrails';
import type { Logger } from '@countersign/logging';
import { emitSealed, EVENT_BUS, LOGGER, Principal, TOKEN_REGISTRY, TokenRegistry } from '@countersign/nest';
import type { DecisionSigner } from '@countersign/approval';
import { approvalRefusal, changeDigest } from '@countersign/policy';
import { AutonomyChangeRequest, ChangeOutcome, ChangeRequestStore, requestView, statusAt } from '../contract/change-request';
import { DEFAULT_TYPE, type FlagNames } from '../decision/autonomy';
import { AUTONOMY, CHANGE_REQUESTS, DECISION_SIGNER, FLAG_NAMES } from '../tokens';
import type { FlagAdmin, FlagStore } from './flag-admin';

/** How autonomy changes run (see PolicyEngineOptions.autonomy). */
export interface AutonomySettings {
  /** The control topic's entries as this instance follows them (shared with the flag reader). */
  controls: FlagControls;
  /** The flag server's admin side; absent: lowering and raising answer 503 (Unleash admin not configured). */
  admin?: FlagAdmin;
  /** How long a raise request waits for its approval. */
  requestTtlSeconds: number;
  /** How long a call waits for this instance to apply its own control event before it answers anyway. */
  applyTimeoutMs: number;
  now: () => Date;
}

/** Flags a change is being applied to by this instance: the drift watcher leaves them alone meanwhile. */
export class FlagsInFlight extends Set<string> {}

/** A change of a flag as an answer: the value in force, the one before, and how fast it took effect. */
export interface AppliedChange {
  actionType: string;
  control: ControlKind;
  flag: string;
  value: ControlValue;
  previous: string;
  /** ms from the call to the control event being published, and to this instance applying it. */
  propagation: { publishedMs: number; appliedHereMs: number | null };
  /** The flag server written: Unleash, or the embedded mode's flag file (`flags.json`). */
  flagStore: FlagStore;
  /** Whether the flag server holds the value too (when not, the control topic keeps it in force and the drift watcher retries). */
  appliedToFlagStore: boolean;
  flagStoreError?: string;
  /** The same as `appliedToFlagStore` and `flagStoreError`, with Unleash only (kept for clients that read them). */
  appliedToUnleash?: boolean;
  unleashError?: string;
}

const NOT_CONFIGURED =
  'autonomy changes are not available: the Unleash admin API is not configured (set UNLEASH_ADMIN_TOKEN, and UNLEASH_ADMIN_URL if it is not UNLEASH_URL)';

/**
 * Autonomy changes (ADR 0014). Lowering (a level down, or a kill switch off) is one authenticated call: the
 * stricter state is published on the compacted control topic first — every policy engine and executor applies
 * it at once — and the call answers only after that; then it is applied to Unleash. Raising is a change request
 * (the contract's four-eyes store and rules) that a second admin approves, and only then is published and
 * applied. The state a flag is in is the stricter of what Countersign approved and what Unleash holds.
 */
@Injectable()
export class AutonomyService {
  /**
   * The policy engine's decision key: every entry on the control topic is sealed with it (docs/adr/0040, addendum).
   * Injected by the module (Nest fails the boot without it); a service built by hand in a unit test publishes unsealed.
   */
  @Inject(DECISION_SIGNER) private readonly signer?: DecisionSigner;

  constructor(
    @Inject(AUTONOMY) private readonly settings: AutonomySettings,
    @Inject(FLAG_NAMES) private readonly names: FlagNames,
    @Inject(CHANGE_REQUESTS) private readonly requests: ChangeRequestStore,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly inFlight: FlagsInFlight,
  ) {}

  /** Who holds admin now (the tokens file, followed while running): a raise outlives no requester's admin token. */
  @Optional() @Inject(TOKEN_REGISTRY) private readonly tokens?: TokenRegistry;

  flagOf(actionType: string, control: ControlKind): string {
    return `${control === 'kill-switch' ? this.names.execPrefix : this.names.autonomyPrefix}${actionType}`;
  }

  /**
   * The value in force: the stricter of the approved one (control topic) and Unleash's; for autonomy, also no looser
   * than the global default's, which caps every type (as `autonomyLevel` decides).
   */
  async current(actionType: string, control: ControlKind): Promise<string> {
    const admin = this.admin();
    const own = await this.ownValue(admin, this.flagOf(actionType, control), control);
    if (control !== 'autonomy' || actionType === DEFAULT_TYPE) return own ?? 'unknown';
    const ceiling = await this.ownValue(admin, this.flagOf(DEFAULT_TYPE, control), control);
    if (own === undefined || ceiling === undefined) return own ?? ceiling ?? 'unknown';
    return stricterOf(control, own, ceiling);
  }

  /** One flag's value in force: the stricter of its approved state and Unleash's; undefined when it has neither. */
  private async ownValue(admin: FlagAdmin, flag: string, control: ControlKind): Promise<string | undefined> {
    const approved = this.settings.controls.get(flag)?.value;
    const observed = await this.read(admin, flag, control);
    if (observed === undefined) return approved;
    return approved ? stricterOf(control, approved, observed) : observed;
  }

  /**
   * Changes of one flag, one after the other in this process: each reads the value in force after the one before it
   * has applied. Ten concurrent "off" calls all answered `previous: on` and audited ten changes from on; the first
   * to finish also took the flag out of `inFlight` while the others were still applying, open to the drift watcher.
   */
  private readonly changing = new Map<string, Promise<unknown>>();

  private serially<T>(flag: string, change: () => Promise<T>): Promise<T> {
    const before = this.changing.get(flag) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(change);
    const settled = mine.catch(() => undefined);
    this.changing.set(flag, settled);
    void settled.then(() => {
      if (this.changing.get(flag) === settled) this.changing.delete(flag);
    });
    return mine;
  }

  /** Lowers a level or switches an action type off: one call, in force everywhere when it answers. */
  async lower(actionType: string, control: ControlKind, to: ControlValue, reason: string, by: Principal): Promise<AppliedChange> {
    const admin = this.admin();
    const flag = this.flagOf(actionType, control);
    return this.serially(flag, () => this.lowerNow(admin, flag, actionType, control, to, reason, by));
  }

  private async lowerNow(
    admin: FlagAdmin,
    flag: string,
    actionType: string,
    control: ControlKind,
    to: ControlValue,
    reason: string,
    by: Principal,
  ): Promise<AppliedChange> {
    const started = Date.now();
    // The brake works when it is needed most: with Unleash (or the flag file) unreadable, the lowering is judged against
    // the approved state alone (the control topic's; `unknown` when there is none, so only the strictest value passes)
    // and published there, in force at once; Unleash is brought in line when it is back (the drift watcher).
    const from = await this.current(actionType, control).catch((e: unknown) => {
      if (!(e instanceof ServiceUnavailableException)) throw e;
      this.logger.warn({ flag, err: e }, 'lowering a control while its flag cannot be read: judged against the approved state');
      return this.settings.controls.get(flag)?.value ?? 'unknown';
    });
    if (isLooser(control, from, to)) {
      throw new BadRequestException(`${to} is looser than ${from}: raising needs a change request (POST /v1/autonomy/${actionType}/raise-requests)`);
    }
    const data = { flag, actionType, control, value: to, ...(isControl(from) && { previous: from }), change: 'lowered' as const, reason: maskText(reason) };
    return this.apply(admin, { flag, actionType, control, to, from, started }, data, { subject: flag, actor: actorOf(by) });
  }

  /** Asks for a raise; nothing changes until another admin approves its digest. */
  async requestRaise(actionType: string, control: ControlKind, to: ControlValue, reason: string, by: Principal) {
    this.admin();
    const from = await this.current(actionType, control);
    if (!isLooser(control, from, to)) throw new BadRequestException(`${to} is not looser than ${from}: lower it with one call instead`);
    if (control === 'autonomy' && actionType !== DEFAULT_TYPE) {
      // A raise above the global default would be approved and change nothing: the default caps every type.
      const ceiling = await this.current(DEFAULT_TYPE, control);
      if (isLooser(control, ceiling, to))
        throw new BadRequestException(
          `the global default autonomy (${ceiling}) caps ${actionType}: raise the default (POST /v1/autonomy/default/raise-requests)`,
        );
    }
    const flag = this.flagOf(actionType, control);
    const now = this.settings.now();
    const version = this.settings.controls.get(flag)?.version ?? 'unleash';
    const request: AutonomyChangeRequest = {
      id: newId(),
      kind: 'autonomy',
      status: 'pending',
      digest: changeDigest({ kind: 'autonomy', flag, control, from, to }),
      // One approval per approved state of the flag: two rival raises from one state cannot both be approved.
      base: `autonomy:${flag}:${version}:${from}`,
      reason: maskText(reason),
      requestedBy: actorOf(by),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.settings.requestTtlSeconds * 1000).toISOString(),
      autonomy: { flag, actionType, control, from, to },
    };
    const requested = {
      changeRequestId: request.id,
      kind: request.kind,
      digest: request.digest,
      requestedBy: request.requestedBy,
      reason: request.reason,
      expiresAt: request.expiresAt,
      autonomy: { ...request.autonomy },
    };
    // Audited before it exists: a request the audit trail does not know can never be approved.
    await this.emitOr503(`raise request ${request.id} was not created`, TOPICS.changeRequested, requested, {
      ...requestedEvent(request.id),
      actor: request.requestedBy,
      time: now,
    });
    await this.requests.create(request);
    return view(request, now);
  }

  /** Approves a raise (another admin, naming the digest they reviewed), then publishes and applies it. */
  async approveRaise(id: string, input: { digest: string; reason: string }, by: Principal) {
    const admin = this.admin();
    const flag = (await this.found(id)).autonomy.flag;
    // Read again in turn: a lowering of the same flag finishing meanwhile is seen by the checks below.
    return this.serially(flag, () => this.approveRaiseNow(admin, id, input, by));
  }

  private async approveRaiseNow(admin: FlagAdmin, id: string, input: { digest: string; reason: string }, by: Principal) {
    const started = Date.now();
    const r = await this.found(id);
    const now = this.settings.now();
    // The raise as stored is the raise requested: its flag is its type's, and its digest is that of its flag and values
    // (red team, 2026-12-07: `to` edited in the database from review-risky to autonomous was approved under the digest of
    // review-risky, and applied as autonomous).
    const s = r.autonomy;
    if (
      this.flagOf(s.actionType, s.control) !== s.flag ||
      changeDigest({ kind: 'autonomy', flag: s.flag, control: s.control, from: s.from, to: s.to }) !== r.digest
    )
      throw new ConflictException(`raise ${r.id} as stored is not the raise that was requested (it no longer matches its digest): not approved`);
    const retry = r.status === 'approved' && r.decider?.id === by.id && r.digest === input.digest;
    if (!retry) {
      const approvable = { id: r.id, requestedBy: r.requestedBy.id, digest: r.digest, status: r.status, expiresAt: r.expiresAt };
      const refusal = approvalRefusal(approvable, by.id, input.digest, now, (id) => this.tokens?.holds(id, 'admin') ?? true);
      if (refusal) throw refusal.code === 'own-request' ? new ForbiddenException(refusal.reason) : new ConflictException(refusal.reason);
      const a = r.autonomy;
      const nowValue = await this.current(a.actionType, a.control);
      if (nowValue !== a.from) throw new ConflictException(`raise ${r.id} was requested from ${a.from}, but ${a.flag} is ${nowValue} now: request it again`);
      // The same value is not the same state: a lowering made since the request (off again, for the next incident) is a
      // new decision that this raise was not asked against, and must not undo.
      const version = this.settings.controls.get(a.flag)?.version ?? 'unleash';
      if (r.base !== `autonomy:${a.flag}:${version}:${a.from}`)
        throw new ConflictException(`raise ${r.id} was requested before ${a.flag} was last changed: request it again`);
    } else {
      // The approver's retry completes an approval whose change did not land (the bus or the flag server failed), or
      // answers again for one that did. It never sets the flag back to this raise after a later change: a lowering made
      // since (a kill switch off for the next incident) stands, and the raise must be requested and approved anew.
      const a = r.autonomy;
      const standing = this.settings.controls.get(a.flag);
      const unchangedSinceRequest = r.base === `autonomy:${a.flag}:${standing?.version ?? 'unleash'}:${a.from}`;
      if (!unchangedSinceRequest && standing?.value !== a.to)
        throw new ConflictException(
          `raise ${r.id} was approved and applied already, and ${a.flag} was changed since (now ${standing?.value ?? 'unknown'}): request it again`,
        );
    }
    const decided = retry ? r : await this.decide(r, 'approved', input.reason, by, now);
    const decision = await this.announce(decided);
    const a = decided.autonomy;
    const data = {
      flag: a.flag,
      actionType: a.actionType,
      control: a.control,
      value: a.to as ControlValue,
      ...(isControl(a.from) && { previous: a.from }),
      change: 'raised' as const,
      reason: decided.decisionReason!,
      changeRequestId: decided.id,
      digest: decided.digest,
      requestedBy: decided.requestedBy.id,
    };
    const change = { flag: a.flag, actionType: a.actionType, control: a.control, to: a.to as ControlValue, from: a.from, started };
    // Keyed by the flag, as every control event of it is: replayed after a restart, the flag's events come in the order
    // they were made (keyed by the change request, an approved raise could replay after a later lowering and undo it).
    const applied = await this.apply(admin, change, data, {
      cause: decision,
      subject: a.flag,
      actor: decided.decider!,
      time: new Date(decided.decidedAt!),
    });
    return { ...view(decided, now), applied };
  }

  /** Rejects a raise (another admin) or withdraws it (its requester). */
  async rejectRaise(id: string, reason: string, by: Principal) {
    const r = await this.found(id);
    const now = this.settings.now();
    const outcome: ChangeOutcome = r.requestedBy.id === by.id ? 'withdrawn' : 'rejected';
    const retry = r.status === outcome && r.decider?.id === by.id;
    if (!retry && statusAt(r, now) !== 'pending') throw new ConflictException(`raise ${r.id} is ${statusAt(r, now)}, not pending`);
    const decided = retry ? r : await this.decide(r, outcome, reason, by, now);
    await this.announce(decided);
    return view(decided, now);
  }

  async getRaise(id: string) {
    return view(await this.found(id), this.settings.now());
  }

  async listRaises(limit = 100) {
    const now = this.settings.now();
    return (await this.requests.list(limit)).filter((r): r is AutonomyChangeRequest => r.kind === 'autonomy').map((r) => view(r, now));
  }

  /**
   * Publishes the approved state on the control topic, waits for this instance to apply it, then writes it to
   * Unleash. The order matters: a lowering is in force the moment it is published, and a raise published first
   * is never taken by the drift watcher for a raise nobody approved.
   */
  private async apply(
    admin: FlagAdmin,
    c: { flag: string; actionType: string; control: ControlKind; to: ControlValue; from: string; started: number },
    data: EventData<typeof TOPICS.autonomyChanged>,
    options: EmitOptions,
  ): Promise<AppliedChange> {
    this.inFlight.add(c.flag);
    try {
      await this.emitOr503(`${c.flag} was not changed: the control topic did not take the change`, TOPICS.autonomyChanged, data, options);
      const publishedMs = Date.now() - c.started;
      const appliedHere = await this.settings.controls.waitFor(c.flag, c.to, this.settings.applyTimeoutMs);
      const appliedHereMs = appliedHere ? Date.now() - c.started : null;
      let storeError: string | undefined;
      try {
        await admin.write(c.flag, c.control, c.to);
      } catch (e) {
        // The control topic keeps the change in force; the drift watcher brings the flag server in line at its next poll.
        storeError = (e as Error).message;
        this.logger.error({ flag: c.flag, err: e, store: admin.store }, 'autonomy change published but not applied to the flag server yet');
      }
      this.logger.info({ flag: c.flag, value: c.to, previous: c.from, publishedMs, appliedHereMs }, 'autonomy change applied');
      return {
        actionType: c.actionType,
        control: c.control,
        flag: c.flag,
        value: c.to,
        previous: c.from,
        propagation: { publishedMs, appliedHereMs },
        flagStore: admin.store,
        appliedToFlagStore: storeError === undefined,
        ...(storeError && { flagStoreError: storeError }),
        // Named for Unleash only where Unleash is the flag server: the embedded mode said `appliedToUnleash: true` of its flag file.
        ...(admin.store === 'unleash' && { appliedToUnleash: storeError === undefined, ...(storeError && { unleashError: storeError }) }),
      };
    } finally {
      this.inFlight.delete(c.flag);
    }
  }

  private admin(): FlagAdmin {
    if (!this.settings.admin) throw new ServiceUnavailableException(NOT_CONFIGURED);
    return this.settings.admin;
  }

  private async read(admin: FlagAdmin, flag: string, control: ControlKind): Promise<string | undefined> {
    try {
      return await admin.read(flag, control);
    } catch (e) {
      throw new ServiceUnavailableException(`cannot read ${flag} from Unleash: ${(e as Error).message}`);
    }
  }

  private async found(id: string): Promise<AutonomyChangeRequest> {
    const r = await this.requests.get(id);
    if (!r || r.kind !== 'autonomy') throw new NotFoundException(`no raise request ${id}`);
    return r;
  }

  private async decide(r: AutonomyChangeRequest, outcome: ChangeOutcome, reason: string, by: Principal, at: Date): Promise<AutonomyChangeRequest> {
    const decided = await this.requests.decide(r.id, { outcome, by: actorOf(by), reason: maskText(reason), at });
    if (decided.ok) return decided.request as AutonomyChangeRequest; // the same request, decided
    if (decided.conflict === 'unknown') throw new NotFoundException(`no raise request ${r.id}`);
    if (decided.conflict === 'base-taken')
      throw new ConflictException(`raise ${decided.holder} of the same state was approved first: request this raise again`);
    throw new ConflictException(`raise ${r.id} was decided or expired meanwhile`);
  }

  /** The decision's event (same ids on a retry: derived from the request's). */
  private async announce(r: AutonomyChangeRequest) {
    const unsent = `raise ${r.id} is ${r.status}, but the bus did not take the event yet: send the same request again to retry`;
    return this.emitOr503(
      unsent,
      TOPICS.changeDecided,
      {
        changeRequestId: r.id,
        kind: r.kind,
        decision: r.status as ChangeOutcome,
        digest: r.digest,
        decider: r.decider!,
        requestedBy: r.requestedBy,
        reason: r.decisionReason!,
      },
      { cause: requestedEvent(r.id), actor: r.decider!, time: new Date(r.decidedAt!) },
    );
  }

  private async emitOr503<T extends AnyTopic>(unsent: string, topic: T, data: EventData<T>, options: EmitOptions) {
    try {
      if (topic === TOPICS.autonomyChanged && this.signer) return await emitSealed(this.bus, this.signer, topic, data, options, 'decision');
      return await this.bus.emit(topic, data, options);
    } catch {
      throw new ServiceUnavailableException(unsent);
    }
  }
}

const isControl = (v: string): v is ControlValue => ['on', 'off', 'review-all', 'review-risky', 'autonomous'].includes(v);

const requestedEvent = (id: string) => ({ id: derivedEventId(TOPICS.changeRequested, id), subject: id, correlationId: id });

const actorOf = (p: Principal): Actor => ({ id: p.id, kind: p.kind, roles: p.roles, authMethod: 'bearer-token' });

function view(r: AutonomyChangeRequest, now: Date) {
  return { ...requestView(r, now), autonomy: r.autonomy };
}
