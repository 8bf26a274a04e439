import { BadRequestException, Body, Controller, Delete, Get, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { z } from 'zod';
import { EventBus } from '@countersign/bus';
import { freeTextString, TOPICS } from '@countersign/contracts';
import { ApiRoute, AuthenticatedRequest, EVENT_BUS, parseBody, Principal, Roles } from '@countersign/nest';
import { DEGRADATION_CONTROL_STATE, LEADER_LEASE } from '../tokens';
import { DegradationControlState, ModeOverride, OVERRIDE_SUBJECT } from './control-state';
import { eventInputs } from './degradation-controller.service';
import { GovernanceService } from './governance.service';
import type { LeaderLease } from './leader-lease';
import { MODES, nextMode } from './mode';

const Reason = freeTextString().trim().min(3, 'a reason of at least 3 characters is required').max(2000);
const OverrideBody = z.strictObject({ mode: z.enum(MODES), reason: Reason, expiresAt: z.iso.datetime({ offset: true }) });
const ClearBody = z.strictObject({ reason: Reason }).optional();

/** How long the override call waits for the controller to publish the overridden mode before it answers. */
const APPLY_WAIT_MS = 5_000;

const actorOf = (p: Principal) => ({ id: p.id, kind: p.kind, roles: p.roles, authMethod: 'bearer-token' as const });

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
  ) {}

  @ApiRoute({
    summary: 'The degradation mode, its inputs and reasons, the SLOs and their budgets',
    ok: {
      description: 'The governance state',
      schema: { type: 'object', required: ['mode', 'why'], properties: { mode: { type: 'string' }, why: { type: 'string' } } },
    },
  })
  @Get()
  @Roles('reviewer', 'auditor', 'admin')
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
   * Sets the mode, in either direction, until `expiresAt` (then the computed mode applies again): an audited event
   * that the controller applies at once. Answers once the overridden mode is published (`applied`), or after 5 s.
   */
  @ApiRoute({
    summary: 'Override the degradation mode until `expiresAt` (audited)',
    body: OverrideBody,
    ok: {
      description: 'The override, the published mode, and whether it was applied within 5 s',
      schema: {
        type: 'object',
        required: ['override', 'mode', 'applied'],
        properties: { override: { type: 'object' }, mode: { type: 'string' }, applied: { type: 'boolean' } },
      },
    },
    errors: { 400: 'a body that does not validate, or an `expiresAt` in the past or beyond the longest override' },
  })
  @Post('mode-override')
  @HttpCode(200)
  @Roles('admin')
  async setOverride(@Body() body: unknown, @Req() req: AuthenticatedRequest) {
    const { mode, reason, expiresAt } = parseBody(OverrideBody, body);
    const now = this.governance.settings.now();
    const until = Date.parse(expiresAt);
    if (until <= now) throw new BadRequestException('expiresAt: must be in the future');
    if (until - now > this.governance.settings.maxOverrideMs)
      throw new BadRequestException(`expiresAt: an override lasts at most ${this.governance.settings.maxOverrideMs / 3_600_000} hours`);
    const principal = req.principal!;
    const override: ModeOverride = { mode, reason, by: principal.id, expiresAt: new Date(until).toISOString() };
    await this.bus.emit(TOPICS.degradationOverrideSet, { override, reason }, { subject: OVERRIDE_SUBJECT, actor: actorOf(principal) });
    const applied = await this.published((p) => p.override?.expiresAt === override.expiresAt && p.override.by === override.by && p.mode === mode);
    return { override, mode: this.control.published().mode, applied };
  }

  /** Clears the override: the computed mode applies again (audited). */
  @ApiRoute({
    summary: 'Clear the degradation-mode override (audited)',
    ok: {
      description: 'No override; the computed mode applies again',
      schema: {
        type: 'object',
        required: ['override', 'mode', 'applied'],
        properties: { override: { type: 'null' }, mode: { type: 'string' }, applied: { type: 'boolean' } },
      },
    },
  })
  @Delete('mode-override')
  @HttpCode(200)
  @Roles('admin')
  async clearOverride(@Body() body: unknown, @Req() req: AuthenticatedRequest) {
    const principal = req.principal!;
    const reason = (body && Object.keys(body as object).length ? parseBody(ClearBody, body)?.reason : undefined) ?? `cleared by ${principal.id}`;
    await this.bus.emit(TOPICS.degradationOverrideSet, { reason }, { subject: OVERRIDE_SUBJECT, actor: actorOf(principal) });
    const applied = await this.published((p) => !p.override);
    return { override: null, mode: this.control.published().mode, applied };
  }

  private async published(check: (p: ReturnType<DegradationControlState['published']>) => boolean): Promise<boolean> {
    const deadline = Date.now() + APPLY_WAIT_MS;
    while (Date.now() < deadline) {
      if (check(this.control.published())) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return check(this.control.published());
  }
}
