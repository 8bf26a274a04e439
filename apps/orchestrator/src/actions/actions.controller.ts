import { BadRequestException, Controller, Get, Inject, NotFoundException, Optional, Param, Query, Req } from '@nestjs/common';
import { maskText } from '@countersign/guardrails';
import { ApiRoute, AuthenticatedRequest, IdentifierParam, LongPollWhen, mayProposeAs, NotFoundAnswer, Principal, Roles } from '@countersign/nest';
import { TOPICS } from '@countersign/contracts';
import { ACTION_VIEWS } from '../tokens';
import { ActionChanges, LONG_POLL_MAX_MS, LONG_POLL_REREAD_MS, LONG_POLLS_PER_PRINCIPAL } from './action-changes';
import { executionWaiting, outcomeWaiting, reached, summarise, WaitFor } from './action-status';
import { ActionViewRepository, TimelineEntry } from './action-view.repository';
import { FlagHealthWatch } from './flag-health';

@Controller('v1/actions')
export class ActionsController {
  /** Long polls held open now, per principal (`LONG_POLLS_PER_PRINCIPAL`). */
  private readonly polling = new Map<string, number>();

  constructor(
    @Inject(ACTION_VIEWS) private readonly views: ActionViewRepository,
    private readonly changes: ActionChanges,
    @Optional() private readonly flagHealth?: FlagHealthWatch,
  ) {}

  /**
   * `{status, lane, timeline[]}` of one action. With `waitFor=decision|final` it is a long poll: it answers at once
   * when the action is already there, else when it gets there, else with the current view after `timeoutMs`
   * (default and at most 30 000). 404 when the action is still unknown at the end; 400 for a bad `waitFor`/`timeoutMs`.
   * `outcome_unknown` is not final: the executor's reconciler settles it (executed or failed) and never gives up on it,
   * so `waitFor=final` waits on, and the view at the timeout says in `waiting` that it is being settled (do not retry).
   * A principal holds at most `LONG_POLLS_PER_PRINCIPAL` polls open at once here: a poll beyond them answers at once.
   * An agent's token reads only the actions proposed as one of its own agent ids (403 otherwise, audited); auditors and
   * admins read every action. A reviewer reads none here (403 by role, before any lookup, audited): what they decide on is
   * the review card (`GET /v1/reviews/{id}`). Answering a reviewer by id would tell a canary (an item the review queue
   * made, never proposed: 404) from a real one, and show a blind second reviewer the first decision (ADR 0018).
   */
  @ApiRoute({
    summary: "An action's status, lane and timeline (optionally a long poll)",
    query: {
      waitFor:
        '`decision` or `final`: answer once the action gets there. Final is executed, failed, refused, prohibited, rejected, expired or revised; not `outcome_unknown`, which the executor is still settling (executed or failed)',
      timeoutMs: `how long a long poll waits (0 to 30 000 ms; default 30 000); a principal holding ${LONG_POLLS_PER_PRINCIPAL} polls open already is answered at once`,
    },
    ok: {
      description: "The action as the orchestrator's view has it",
      schema: {
        type: 'object',
        required: ['actionId', 'status', 'timeline'],
        properties: {
          actionId: { type: 'string' },
          status: {
            type: 'string',
            description:
              'where the action is: proposed, autonomous, in_review, prohibited, approved, rejected, expired, revised, held, executed, failed, refused, or outcome_unknown (not final: the executor cannot tell yet whether it took effect and settles it as executed or failed; never propose it again meanwhile)',
          },
          lane: { type: ['string', 'null'], description: 'autonomous, review or prohibited; null until the policy engine has decided' },
          reasonCode: {
            type: 'string',
            description:
              "why the action has its status, for a program, where the deciding event gives a code: `proposer_backlog_full` (rejected at intake: propose it again once your waiting approvals are decided), `tenant_backlog_full` (the same for your tenant's waiting approvals, from all its agents), `sla_expired`, a refusal code such as `kill-switch-off`, a hold code such as `trust-stack-unhealthy`; on `prohibited`, the rule that decided it (`kill-switch:off`, `trust-stack:unknown`, `degradation:constrained`, …)",
          },
          retryLater: {
            type: 'boolean',
            description: 'on `prohibited`: the reason passes (a degradation mode, the trust stack); propose it again later under a new idempotency key',
          },
          waiting: {
            type: 'string',
            description:
              'why the action waits: on `outcome_unknown`, that the executor is settling its outcome (it ends executed or failed; do not propose it again, the first call may have taken effect); or a flag source it waits on cannot be read (it goes on once it can); on `autonomous` and `approved`, that it is decided to run and its outcome is not in yet (do not propose it again)',
          },
          timeline: { type: 'array', items: { type: 'object' } },
        },
      },
    },
    errors: {
      400: 'a bad `waitFor` or `timeoutMs`',
      403: 'a principal without the role agent, auditor or admin (a reviewer reads the review card)',
      404: "no action with this id (yet), or, to an agent's token, another agent's action (the same answer)",
    },
  })
  @Get(':id')
  @Roles('agent', 'auditor', 'admin')
  // A long poll waits, it does not work: not one of the principal's reads in flight (its own bound is LONG_POLLS_PER_PRINCIPAL).
  @LongPollWhen('waitFor')
  async get(
    @Param('id', new IdentifierParam('id')) id: string,
    @Req() req: AuthenticatedRequest,
    @Query('waitFor') waitFor?: string,
    @Query('timeoutMs') timeoutMs?: string,
  ) {
    const asked = parseWait(waitFor, timeoutMs);
    const who = req.principal!.id;
    const held = this.polling.get(who) ?? 0;
    // Beyond the principal's open polls: answered at once, as a plain read.
    const wait = asked && held < LONG_POLLS_PER_PRINCIPAL ? asked : undefined;
    if (!wait) return this.answer(id, req, undefined, 0);
    this.polling.set(who, held + 1);
    try {
      return await this.answer(id, req, wait, Date.now() + wait.timeoutMs);
    } finally {
      const left = (this.polling.get(who) ?? 1) - 1;
      if (left > 0) this.polling.set(who, left);
      else this.polling.delete(who);
    }
  }

  private async answer(id: string, req: AuthenticatedRequest, wait: { waitFor: WaitFor } | undefined, deadline: number) {
    for (;;) {
      const read = await this.views.timeline(id);
      const access = accessOf(req.principal!, read);
      const entries = access === 'read' ? read : [];
      const view = entries.length ? summarise(entries) : undefined;
      const left = deadline - Date.now();
      // A client that went away (its connection closed) ends its poll: abandoned polls must not pile up re-reads.
      const gone = (req as { socket?: { destroyed?: boolean } }).socket?.destroyed === true;
      if ((view && wait && reached(view.status, wait.waitFor)) || !wait || left <= 0 || this.changes.closing || gone) {
        // A normal answer, not a refusal: a client polls its action before the view has caught up.
        // Another agent's action is answered as no action, after the same wait (red team, 2026-12-05: a 403 for a real
        // action beside a 404 for a canary told a reviewer holding an agent's token which items were canaries); unlike
        // an id not known yet, it is audited as a refusal.
        if (!view) throw access === 'others' ? new NotFoundException(`no action ${id}`) : new NotFoundAnswer(`no action ${id}`);
        // The most telling first: an outcome being settled, a flag source that holds everything, then "it will run".
        const waiting = outcomeWaiting(view) ?? this.flagHealth?.waiting(view.status) ?? executionWaiting(view);
        return { actionId: id, ...view, ...(waiting && { waiting }) };
      }
      // Woken by this process's view consumer, or re-read after a short pause (the event may land on another instance).
      await this.changes.next(id, Math.min(left, LONG_POLL_REREAD_MS));
    }
  }
}

/** Who reads every action: auditors and admins. */
const READ_ALL_ROLES = new Set(['auditor', 'admin']);

/**
 * Whether `principal` (an agent, an auditor or an admin: the route's roles) may read the action with these entries:
 * - an auditor or an admin, every action;
 * - an agent's token, the actions proposed as one of its agent ids; another agent's are `others`, answered as an id
 *   not known (the same 404, after the same wait), so that a token learns nothing of actions that are not its own.
 * Without the proposal entry yet (the decision's event came first) an agent's token cannot be told whose the action is:
 * `unknown`, answered as not there yet (the long poll waits).
 */
function accessOf(principal: Principal, entries: TimelineEntry[]): 'read' | 'unknown' | 'others' {
  if (principal.roles.some((r) => READ_ALL_ROLES.has(r))) return 'read';
  const proposed = entries.find((e) => e.type === TOPICS.actionProposed);
  // Entries recorded before the proposer was kept name the proposing principal as their (masked) actor.
  const own = proposed && (proposed.proposer !== undefined ? mayProposeAs(principal, proposed.proposer) : proposed.actor === maskText(principal.id));
  if (own) return 'read';
  return proposed ? 'others' : 'unknown';
}

function parseWait(waitFor: string | undefined, timeoutMs: string | undefined): { waitFor: WaitFor; timeoutMs: number } | undefined {
  if (waitFor === undefined) {
    if (timeoutMs !== undefined) throw new BadRequestException('timeoutMs needs waitFor=decision or waitFor=final');
    return undefined;
  }
  if (waitFor !== 'decision' && waitFor !== 'final') throw new BadRequestException('waitFor must be "decision" or "final"');
  if (timeoutMs === undefined) return { waitFor, timeoutMs: LONG_POLL_MAX_MS };
  if (!/^\d{1,6}$/.test(timeoutMs) || Number(timeoutMs) > LONG_POLL_MAX_MS) {
    throw new BadRequestException(`timeoutMs must be a whole number of milliseconds from 0 to ${LONG_POLL_MAX_MS}`);
  }
  return { waitFor, timeoutMs: Number(timeoutMs) };
}
