import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  Delete,
  ForbiddenException,
  Get,
  HttpCode,
  Inject,
  Post,
  Req,
  Res,
  ServiceUnavailableException,
} from '@nestjs/common';
import { z } from 'zod';
import { EmitOptions, EventBus } from '@countersign/bus';
import { EventData, MAX_RESUMED_OVERRIDES, reasonString, TOPICS } from '@countersign/contracts';
import { maskText } from '@countersign/guardrails';
import { DecisionSigner, SigningUnavailableError } from '@countersign/approval';
import { ApiRoute, AuthenticatedRequest, emitControlFact, EVENT_BUS, parseBody, Principal, Roles } from '@countersign/nest';
import { APPROVAL_SIGNING_KEY, DEGRADATION_CONTROL_STATE, LEADER_LEASE } from '../tokens';
import { DegradationControlState, ModeOverride, OVERRIDE_REQUEST_SUBJECT, OVERRIDE_REQUEST_TTL_MS, OVERRIDE_SUBJECT } from './control-state';
import { eventInputs } from './degradation-controller.service';
import { GovernanceService } from './governance.service';
import type { LeaderLease } from './leader-lease';
import { Mode, MODES, nextMode, rank } from './mode';

// Shown to every reviewer and lead (the mode's `why`, the governance page): stored masked, like a decision's reason.
const Reason = reasonString(3, 2000).transform((r) => maskText(r));
const OverrideBody = z.strictObject({ mode: z.enum(MODES), reason: Reason, expiresAt: z.iso.datetime({ offset: true }) });
const ClearBody = z.strictObject({ reason: Reason });
// The second admin names the override they reviewed (mode and end): a request asked for again meanwhile is not theirs to confirm.
const ConfirmBody = z.strictObject({ mode: z.enum(MODES), expiresAt: z.iso.datetime({ offset: true }), reason: Reason });

/** What the override routes answer: the override (or none), the mode published now, and whether it was applied in time. */
const overrideAnswer = (override: 'object' | 'null') => ({
  type: 'object',
  required: ['override', 'mode', 'applied'],
  properties: { override: { type: override }, mode: { type: 'string' }, applied: { type: 'boolean' } },
});

/** How long the override call waits for the controller to publish the overridden mode before it answers. */
const APPLY_WAIT_MS = 5_000;

const actorOf = (p: Principal) => ({ id: p.id, kind: p.kind, roles: p.roles, authMethod: 'bearer-token' as const });

/**
 * Whether override `o` holds the mode up: at or above the computed mode, and above `normal`. Ending it sooner, or clearing
 * it, lets the mode follow the computed one below it, and that is lowering (red team of the first fix, 2026-12-07: one
 * admin replaced another's `elevated`, equal to the computed mode, with one of 20 s, and the mode fell to `normal` once
 * the backlog drained).
 */
const pins = (o: ModeOverride, computed: Mode): boolean => rank(o.mode) >= rank(computed) && rank(o.mode) > rank('normal');

/**
 * Governance: the degradation mode, its inputs and why it is what it is, the SLOs and their budgets
 * (`GET /v1/governance`), and the operator's override (`POST|DELETE /v1/governance/mode-override`, admins only).
 */
@Controller('v1/governance')
export class GovernanceController {
  constructor(
    private readonly governance: GovernanceService,
    @Inject(DEGRADATION_CONTROL_STATE) private readonly control: DegradationControlState,
    @Inject(LEADER_LEASE) private readonly lease: LeaderLease,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(APPROVAL_SIGNING_KEY) private readonly key: DecisionSigner,
  ) {}

  @ApiRoute({
    summary: 'The degradation mode, its inputs and reasons, the SLOs and their budgets',
    ok: {
      description: 'The governance state',
      schema: { type: 'object', required: ['mode', 'why'], properties: { mode: { type: 'string' }, why: { type: 'string' } } },
    },
  })
  @Get()
  // Not reviewers': its decided counts (the SLOs) leave canaries out (ADR 0018), so a reviewer comparing them with the
  // items they decided would tell the canaries apart (red team, round 15). Its backlog counts them, as the queue-depth
  // gauges do since 2026-12-05 (ADR 0018 addendum). Leads read it as the governance page.
  @Roles('lead', 'auditor', 'admin')
  async status() {
    const now = this.governance.settings.now();
    const published = this.control.published();
    const assessment = await this.governance.assess(now);
    const wouldBe = nextMode({ mode: published.computed, since: published.computedSince }, assessment.inputs, this.governance.contract.degradation, now);
    const ageSeconds = (t?: number) => (t === undefined ? null : Math.round((now - t) / 1000));
    const gauges = (m: Record<string, { depth: number; oldestCreatedAt?: number }>) =>
      Object.fromEntries(Object.entries(m).map(([k, g]) => [k, { depth: g.depth, oldestAgeSeconds: ageSeconds(g.oldestCreatedAt) }]));
    return {
      mode: published.mode,
      why: published.reason,
      since: published.event?.time ?? null,
      computed: published.computed,
      computedSince: published.event ? new Date(published.computedSince).toISOString() : null,
      override: this.control.activeOverride(now) ?? null,
      // An override below the computed mode that one admin asked for and a second has not confirmed yet.
      overrideRequest: this.control.pendingRequest(now) ?? null,
      controlEventId: published.event?.id ?? null,
      leader: (await this.lease.holder().catch(() => undefined)) ?? null,
      // What the controller would decide from the inputs read now (it publishes at its next tick).
      now: { inputs: eventInputs(assessment), computed: wouldBe.mode, reason: wouldBe.reason },
      backlog: { bySlaClass: gauges(assessment.backlog.bySlaClass), byRole: gauges(assessment.backlog.byRole) },
      reviewersOnShift: assessment.onShift,
      slos: assessment.slos,
      thresholds: this.governance.contract.degradation ?? null,
    };
  }

  /**
   * Sets the mode until `expiresAt` (then the computed mode applies again): an audited event that the controller applies
   * at once. Answers once the overridden mode is published (`applied`), or after 5 s. An override at or above the mode
   * the controller computes takes one admin; one below it loosens the controls past what the backlog and the SLOs say,
   * and takes two (ADR 0013): it waits (202) until another admin confirms it (`POST …/mode-override/confirm`). So does
   * one below a stricter override in force before its end (an operator's `halted` lifted). The overrides in force that end
   * after it resume at its end (`override.resumes`).
   */
  @ApiRoute({
    summary: 'Override the degradation mode until `expiresAt` (audited); below the mode in force, a second admin confirms it',
    body: OverrideBody,
    ok: {
      description: 'The override, the published mode, and whether it was applied within 5 s',
      schema: overrideAnswer('object'),
    },
    also: [
      {
        status: 202,
        description:
          'Below the computed mode or a stricter override in force before its end: the request waits for a second admin (`POST /v1/governance/mode-override/confirm`); once confirmed it replaces every override in force',
        schema: {
          type: 'object',
          required: ['status', 'request', 'mode'],
          properties: { status: { type: 'string' }, request: { type: 'object' }, mode: { type: 'string' } },
        },
      },
    ],
    errors: {
      400: 'a body that does not validate, or an `expiresAt` in the past or beyond the longest override',
      503: 'no review-decision key can seal the override now (expired): nothing was published',
    },
  })
  @Post('mode-override')
  @HttpCode(200)
  @Roles('admin')
  async setOverride(@Body() body: unknown, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: { status(code: number): unknown }) {
    const { mode, reason, expiresAt } = parseBody(OverrideBody, body);
    const now = this.governance.settings.now();
    const until = Date.parse(expiresAt);
    if (until <= now) throw new BadRequestException('expiresAt: must be in the future');
    if (until - now > this.governance.settings.maxOverrideMs)
      throw new BadRequestException(`expiresAt: an override lasts at most ${this.governance.settings.maxOverrideMs / 3_600_000} hours`);
    const principal = req.principal!;
    const override: ModeOverride = { mode, reason, by: principal.id, expiresAt: new Date(until).toISOString() };
    const computed = await this.computedMode(now);
    // Below the mode in force is loosening, whatever makes it: the computed mode, or an operator's stricter override (red
    // team, 2026-12-07: an override of `normal` replaced an operator's `halted` on one admin's word). The overrides that
    // count are those in force before this one ends: the one in force now, and each that would resume before its end.
    // Those that end after it resume at its end (`resumes`): ending sooner than them lowers nothing (ADR 0013 addendum
    // 2026-12-08; before, an emergency halt shorter than another admin's hour-long one waited for a second admin).
    const stack = this.control.overrideStack(now);
    const reached = stack.filter((s, i) => i === 0 || Date.parse(stack[i - 1].expiresAt) < until);
    const strictest = reached.reduce<ModeOverride | undefined>((a, s) => (!a || rank(s.mode) > rank(a.mode) ? s : a), undefined);
    const floor = strictest && rank(strictest.mode) > rank(computed) ? strictest.mode : computed;
    const below = floor === computed ? `the computed ${computed}` : `the override in force (${floor}, by ${strictest!.by}, until ${strictest!.expiresAt})`;
    if (rank(mode) < rank(floor)) {
      // A second admin's confirmation sets it in place of every override in force (none resumes): the request says so.
      const why = `${mode} is below ${below}${stack.length ? `; once confirmed it replaces the overrides in force, and at its end the mode follows the computed one (${computed} now)` : ''}`;
      const request: ModeOverride = { mode, reason, by: principal.id, expiresAt: override.expiresAt };
      // One request waits at a time: a second admin's request replaced the first without a word, and its 202 said it
      // waited (red team, 2026-12-07). The other admin's is confirmed, or it lapses, first.
      const waiting = this.control.pendingRequest(now);
      if (waiting && waiting.override.by !== principal.id)
        throw new ConflictException(
          `${waiting.override.by}'s request for ${waiting.override.mode} until ${waiting.override.expiresAt} waits for a second admin: confirm it, or ask again once it is confirmed or lapsed`,
        );
      await this.publish(
        { override: request, reason: `${principal.id} asks to override the mode to ${mode} until ${override.expiresAt}: ${why}; waiting for a second admin` },
        { subject: OVERRIDE_REQUEST_SUBJECT, actor: actorOf(principal) },
      );
      // Answered once this instance has the request, so the second admin may confirm here at once.
      await this.until(() => this.control.pendingRequest(this.governance.settings.now())?.override.by === principal.id);
      res.status(202);
      return {
        status: 'awaiting-second-admin',
        request,
        mode: this.control.published().mode,
        why: `${why}: another admin confirms it within ${OVERRIDE_REQUEST_TTL_MS / 60_000} minutes`,
      };
    }
    // Set by one admin: those in force that end after it resume at its end (a request confirmed by a second admin
    // replaces them all, so this is not checked for it).
    const resumes = stack.filter((s) => Date.parse(s.expiresAt) > until);
    if (resumes.length > MAX_RESUMED_OVERRIDES)
      throw new ConflictException(
        `${resumes.length} overrides would resume after this one, and at most ${MAX_RESUMED_OVERRIDES} may: set it until ${resumes[resumes.length - MAX_RESUMED_OVERRIDES].expiresAt} or later, or let one end`,
      );
    if (resumes.length) override.resumes = resumes;
    await this.publish({ override, reason }, { subject: OVERRIDE_SUBJECT, actor: actorOf(principal) });
    // A request to go below the override it replaces was asked against that one: withdrawn, not left to lift this one
    // when a second admin confirms it (red team, 2026-12-07: a halt for a new incident was lifted by confirming a request
    // to end the previous one).
    if (this.control.pendingRequest(this.governance.settings.now()))
      await this.publish(
        { reason: `withdrawn: ${principal.id} set a new override (${mode} until ${override.expiresAt}) after it was asked for` },
        { subject: OVERRIDE_REQUEST_SUBJECT, actor: actorOf(principal) },
      );
    const applied = await this.until(() => {
      const p = this.control.published();
      return p.override?.expiresAt === override.expiresAt && p.override.by === override.by && p.mode === mode;
    });
    return { override, mode: this.control.published().mode, applied };
  }

  /** A second admin confirms the override another admin asked for below the computed mode: it is set (audited). */
  @ApiRoute({
    summary: "Confirm another admin's override below the computed mode (four eyes; audited)",
    body: ConfirmBody,
    ok: {
      description: 'The override (with `confirmedBy`), the published mode, and whether it was applied within 5 s',
      schema: overrideAnswer('object'),
    },
    errors: {
      403: 'the admin who asked for the override cannot confirm it',
      409: 'no override waits for a second admin, or the one waiting is not the mode and end named',
      503: 'no review-decision key can seal the override now (expired): nothing was published',
    },
  })
  @Post('mode-override/confirm')
  @HttpCode(200)
  @Roles('admin')
  async confirmOverride(@Body() body: unknown, @Req() req: AuthenticatedRequest) {
    const { mode, expiresAt, reason } = parseBody(ConfirmBody, body);
    const principal = req.principal!;
    const pending = this.control.pendingRequest(this.governance.settings.now());
    if (!pending) throw new ConflictException('no override waits for a second admin (none was asked for, or it lapsed after an hour)');
    if (pending.override.by === principal.id)
      throw new ForbiddenException(`a second admin confirms an override below the computed mode: ${principal.id} asked for this one`);
    // Asked for against the override in force then: one set since (here or on another instance, before its withdrawal
    // arrived) is not what the request would lower.
    const setAt = this.control.activeOverrideSetAt(this.governance.settings.now());
    if (setAt && Date.parse(setAt) > Date.parse(pending.requestedAt))
      throw new ConflictException(
        `an override was set after ${pending.override.by}'s request (at ${setAt}): the request was asked against another state; ask again`,
      );
    if (pending.override.mode !== mode || Date.parse(pending.override.expiresAt) !== Date.parse(expiresAt))
      throw new ConflictException(
        `the override waiting is ${pending.override.mode} until ${pending.override.expiresAt} (asked by ${pending.override.by}), not ${mode} until ${expiresAt}: look again before confirming`,
      );
    const override: ModeOverride = { ...pending.override, confirmedBy: principal.id };
    await this.publish(
      { override, reason: `${reason} (${principal.id} confirms ${pending.override.by}'s request: ${pending.override.reason})`.slice(0, 2000) },
      { subject: OVERRIDE_SUBJECT, actor: actorOf(principal) },
    );
    await this.publish({ reason: `confirmed by ${principal.id}` }, { subject: OVERRIDE_REQUEST_SUBJECT, actor: actorOf(principal) });
    const applied = await this.until(() => {
      const p = this.control.published();
      return p.override?.confirmedBy === principal.id && p.override.expiresAt === override.expiresAt && p.mode === override.mode;
    });
    return { override, mode: this.control.published().mode, applied };
  }

  /** Clears the override, and any request for one still waiting for a second admin: the computed mode applies again (audited). */
  @ApiRoute({
    summary: 'Clear the degradation-mode override (audited)',
    body: ClearBody,
    ok: {
      description: 'No override; the computed mode applies again',
      schema: overrideAnswer('null'),
    },
    errors: {
      400: 'a body that is not `{"reason": "…"}`',
      409: 'the override in force is above the computed mode: clearing it lowers the mode, which takes two admins (ask for an override of the computed mode)',
      503: 'no review-decision key can seal the clearing now (expired): nothing was published',
    },
  })
  @Delete('mode-override')
  @HttpCode(200)
  @Roles('admin')
  async clearOverride(@Body() body: unknown, @Req() req: AuthenticatedRequest) {
    const principal = req.principal!;
    // A reason, as for setting one: clearing may loosen the mode as much as an override may (an operator's `halted`
    // ended), and the audit said only "cleared by ada" (red team, 2026-12-04).
    const { reason } = parseBody(ClearBody, body ?? {});
    // An override above the computed mode cleared is the mode lowered, and loosening takes two admins, as a kill switch
    // on again does (red team, 2026-12-07: the admin who halted everything lifted the halt alone, in one call). The way
    // with two: an override of the computed mode, which a second admin confirms and which replaces this one.
    // Clearing ends the overrides that would resume too: any of them that holds the mode up makes it a lowering.
    const stack = this.control.overrideStack(this.governance.settings.now());
    if (stack.length) {
      const computed = await this.computedMode(this.governance.settings.now());
      const inForce = stack.find((s) => pins(s, computed));
      if (inForce)
        throw new ConflictException(
          `${rank(inForce.mode) > rank(computed) ? `clearing the override lowers the mode from ${inForce.mode} to ${computed}` : `clearing the override ends ${inForce.by}'s hold of the mode at ${inForce.mode} until ${inForce.expiresAt}, and the mode would follow the computed one below it`}, and lowering it takes two admins: ask for an override of ${computed} ` +
            `(POST /v1/governance/mode-override), which another admin confirms and which replaces this one; or let this one end at ${inForce.expiresAt}`,
        );
    }
    // Said in the reason too: the event is an `override-set` without an override, which an auditor read as a setting
    // with no mode (auditor probe, 2026-12-06).
    await this.publish({ reason: `override cleared by ${principal.id}: ${reason}`.slice(0, 2000) }, { subject: OVERRIDE_SUBJECT, actor: actorOf(principal) });
    // A request still waiting for a second admin goes too: clearing means the computed mode, not one confirmation away
    // from another override.
    const now = () => this.governance.settings.now();
    if (this.control.pendingRequest(now()))
      await this.publish(
        { reason: `withdrawn: the override was cleared by ${principal.id}` },
        { subject: OVERRIDE_REQUEST_SUBJECT, actor: actorOf(principal) },
      );
    const applied = await this.until(() => !this.control.published().override && !this.control.pendingRequest(now()));
    return { override: null, mode: this.control.published().mode, applied };
  }

  /**
   * The mode the controller computes: the stricter of what it last published and what it would decide from the inputs
   * read now (a backlog that grew since its last tick, or a controller that has not published since this start, counts).
   */
  private async computedMode(now: number): Promise<Mode> {
    const published = this.control.published();
    const assessment = await this.governance.assess(now);
    const wouldBe = nextMode({ mode: published.computed, since: published.computedSince }, assessment.inputs, this.governance.contract.degradation, now).mode;
    return rank(wouldBe) > rank(published.computed) ? wouldBe : published.computed;
  }

  /** Waits (at most APPLY_WAIT_MS) until `done` holds; says whether it does. */
  /**
   * Publishes on the override topic, sealed with the review-decision key (docs/adr/0039); without a key valid now, a
   * clear 503 and nothing published.
   */
  private async publish(data: EventData<typeof TOPICS.degradationOverrideSet>, options: EmitOptions) {
    try {
      return await emitControlFact(this.bus, this.key, TOPICS.degradationOverrideSet, data, options);
    } catch (e) {
      if (e instanceof SigningUnavailableError)
        throw new ServiceUnavailableException(`the override cannot be sealed now, nothing was published: ${e.message}; retry after the signing key is rotated`);
      throw e;
    }
  }

  private async until(done: () => boolean): Promise<boolean> {
    const deadline = Date.now() + APPLY_WAIT_MS;
    while (Date.now() < deadline) {
      if (done()) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return done();
  }
}
