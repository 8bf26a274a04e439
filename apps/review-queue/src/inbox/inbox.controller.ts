import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  ForbiddenException,
  Get,
  HttpCode,
  HttpException,
  Inject,
  NotFoundException,
  Optional,
  Param,
  Post,
  Query,
  Req,
  Res,
  UnauthorizedException,
} from '@nestjs/common';
import { z } from 'zod';
import { reasonString } from '@countersign/contracts';
import type { Proposal } from '@countersign/contracts';
import { maskDeep } from '@countersign/guardrails';
import { ApiRoute, IdentifierParam, parseBody, READ_RATE, ReadRateLimit } from '@countersign/nest';
import { ApprovalService } from '../approvals/approval.service';
import { stepUpRefusal } from '../approvals/step-up';
import { DecisionQualityService } from '../decision-quality/decision-quality.service';
import { BreakBody } from '../claims/claim-break.controller';
import { ClaimBreakService } from '../claims/claim-break.service';
import { ClaimService, RELEASE_ANSWER } from '../claims/claim.service';
import { ReviewItem, ReviewItemRepository } from '../review-item/review-item.repository';
import { ProposalSealer, SealError } from '../review-item/sealed-proposal';
import { shownDigest, shownView } from '../review-item/shown';
import { PII_VIEW, RevealService } from '../reviewer-api/reveal.service';
import { CONTRACT_NOW, FILTER_CHOICES, KILL_SWITCH_NOW, PROPOSAL_SEALER, REVIEW_ITEMS } from '../tokens';
import type { KillSwitchNow } from '../kill-switches/kill-switch-now';
import type { ContractNow } from '../review-item/contract-now';
import { CardContext, claimState, RECENT_DECISIONS } from './card-context.view';
import { hearsOf, InboxFeed, MAX_STREAMS_PER_REVIEWER } from './inbox-feed';
import { card, FilterChoices, inboxBody, InboxFilters, page, queueList } from './inbox.view';
import { securityHeaders } from './security-headers';
import type { ReviewerSession } from './session.store';
import { HttpRequest, HttpResponse, Sessions } from './sessions';
import { isProposerOf, mayWorkItem, requireItemRole } from '../review-item/item-roles';

/** The inbox's one script and one style sheet, served from here (no build step, no CDN), read once at boot. */
const ASSETS = {
  'inbox.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(join(__dirname, 'assets', 'inbox.js'), 'utf8') },
  'inbox.css': { type: 'text/css; charset=utf-8', body: readFileSync(join(__dirname, 'assets', 'inbox.css'), 'utf8') },
};

const DecisionBody = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  // Free text: a reason of control characters is no reason (the JSON API's rule).
  reason: reasonString(3, 2000),
  /** The card as shown (`data-shown-digest`): a decision on a view that changed since is refused. */
  shownDigest: z.string().regex(/^[0-9a-f]{64}$/),
});

/** How many items one inbox page lists (the most urgent the reviewer may decide; the rest come as these are decided). */
export const INBOX_PAGE_SIZE = 100;
/** How often a live-update stream checks that its session still stands (and says it is alive). */
const STREAM_CHECK_MS = 10_000;

/**
 * True when `reviewer` may decide `item`: an approval of a tenant they serve, in a role they hold, which they did not
 * propose themselves.
 */
export function mayDecide(reviewer: ReviewerSession['principal'], item: ReviewItem): boolean {
  if ((item.kind ?? 'approval') !== 'approval' || item.status !== 'pending') return false;
  if (isProposerOf(reviewer, item)) return false;
  // An approver of a quorum has done their part: the rest is for other reviewers (an approval counts once).
  if (item.approvedBy?.includes(reviewer.id)) return false;
  // An author of this version (approve with changes) neither: another reviewer decides what they wrote.
  if (item.authoredBy?.includes(reviewer.id)) return false;
  return mayWorkItem(item, reviewer);
}

/** A claim's body: `{}` when a card opens, `{"renewal": true}` when the script renews an open card's claim. */
const ClaimBody = z.strictObject({ renewal: z.boolean().optional() });

/**
 * The inbox's filters from its query. An empty or overlong one is no filter; one with a control character (a NUL, which
 * PostgreSQL refuses in text, answered 500 before) is refused with 400, naming it.
 */
const filtersOf = (q: Record<string, unknown>): InboxFilters => {
  const pick = (name: string) => {
    const v = q[name];
    if (typeof v !== 'string' || v.length === 0 || v.length > 200) return undefined;
    if (/[\u0000-\u001f\u007f]/.test(v)) throw new BadRequestException(`the filter ${name} holds a control character`);
    return v;
  };
  return { slaClass: pick('slaClass'), actionType: pick('actionType'), tenant: pick('tenant'), agentId: pick('agentId') };
};

/**
 * The reviewer inbox: server-rendered pages and fragments over the review items, live updates (server-sent events),
 * and decisions through the same `ApprovalService` as the JSON API (separation of duties, roles, quorum, signed
 * tokens, `shownDigest`). Every route but the static assets needs a signed-in session; a page without one sends the
 * browser to sign in, anything else answers 401.
 */
@Controller('reviews')
export class InboxController {
  constructor(
    @Inject(REVIEW_ITEMS) private readonly items: ReviewItemRepository,
    private readonly sessions: Sessions,
    private readonly approvals: ApprovalService,
    private readonly reveals: RevealService,
    private readonly feed: InboxFeed,
    private readonly claims: ClaimService,
    private readonly breaks: ClaimBreakService,
    @Inject(READ_RATE) private readonly reads: ReadRateLimit,
    @Optional() private readonly quality?: DecisionQualityService,
    @Optional() @Inject(PROPOSAL_SEALER) private readonly sealer?: ProposalSealer,
    @Optional() @Inject(CONTRACT_NOW) private readonly contractNow?: ContractNow,
    @Optional() @Inject(KILL_SWITCH_NOW) private readonly killSwitchNow?: KillSwitchNow,
    @Optional() @Inject(FILTER_CHOICES) private readonly choices?: () => FilterChoices,
  ) {}

  @ApiRoute({
    summary: 'The reviewer inbox (HTML page)',
    session: true,
    query: {
      slaClass: 'only items of this SLA class',
      actionType: 'only items of this action type',
      tenant: 'only items of this tenant',
      agentId: 'only items proposed by this agent',
    },
    ok: { description: 'The inbox page', contentType: 'text/html' },
    also: [{ status: 303, description: 'not signed in: to `/auth/sign-in?returnTo=…`', contentType: 'none', headers: { Location: 'the sign-in address' } }],
    errors: { 403: 'the account has no reviewer role' },
  })
  @Get()
  async inbox(@Req() req: HttpRequest, @Res() res: HttpResponse, @Query() query: Record<string, unknown>) {
    const session = await this.pageSession(req, res);
    if (!session) return;
    const filters = filtersOf(query);
    const { items, all } = await this.visible(session, filters);
    html(res, page({ title: 'Reviews', session, body: inboxBody({ items, all, filters, choices: this.choices?.(), viewer: session.principal.id }) }));
  }

  @ApiRoute({
    summary: 'A static file of the inbox (stylesheet, script)',
    public: 'static files of the sign-in and inbox pages, the same for everyone',
    ok: { description: 'The file', contentType: 'text/plain' },
    errors: { 404: 'no such file' },
    unavailable: false,
  })
  @Get('assets/:name')
  asset(@Param('name') name: string, @Res() res: HttpResponse) {
    // Own files only: `__proto__`, `constructor` and `toString` are the object's, not assets (a 500 before).
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name as keyof typeof ASSETS] : undefined;
    if (!asset) throw new NotFoundException(`no asset ${name}`);
    securityHeaders(res, true);
    res.setHeader('Content-Type', asset.type);
    res.end(asset.body);
  }

  /** The queue as a fragment, for the script to swap in when the feed says something changed. */
  @ApiRoute({
    summary: 'The queue as an HTML fragment (the inbox script swaps it in)',
    session: true,
    query: {
      selected: 'the action id shown as selected',
      slaClass: 'only items of this SLA class',
      actionType: 'only items of this action type',
      tenant: 'only items of this tenant',
      agentId: 'only items proposed by this agent',
    },
    ok: { description: 'The queue fragment', contentType: 'text/html' },
    errors: { 401: 'not signed in, or the session ended', 403: 'the account has no reviewer role' },
  })
  @Get('list')
  async list(@Req() req: HttpRequest, @Res() res: HttpResponse, @Query() query: Record<string, unknown>, @Query('selected') selected?: string) {
    const session = await this.apiSession(req, !askedByThePage(req), res);
    html(res, queueList((await this.visible(session, filtersOf(query))).items, selected, session.principal.id));
  }

  /** Server-sent events: `change` as items arrive, change, are decided or expire; `signed-out` when the session ends. */
  @ApiRoute({
    summary: 'Server-sent events: `change` as items arrive, change or are decided; `signed-out` when the session ends',
    session: true,
    ok: { description: 'An event stream', contentType: 'text/event-stream' },
    errors: {
      401: 'not signed in, or the session ended',
      403: 'the account has no reviewer role',
      429: 'the reviewer already has the most live update streams open (8): close a tab or window',
    },
  })
  @Get('events')
  async events(@Req() req: HttpRequest & { on(e: 'close', l: () => void): void }, @Res() res: HttpResponse) {
    // Opening the stream is the page's doing (and its reconnects every so often), not the reviewer's: no activity.
    const session = await this.apiSession(req, false, res, 'stream');
    const release = this.feed.openStream(session.principal.id);
    if (!release)
      throw new HttpException(
        {
          statusCode: 429,
          message: `reviewer ${session.principal.id} has ${MAX_STREAMS_PER_REVIEWER} live update streams open, the most one reviewer may: close a tab or window`,
          retryAfter: 5,
        },
        429,
      );
    securityHeaders(res);
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write('retry: 2000\n\n');
    // Who hears of a change is read at the change, from the tokens file of now: a binding narrowed (or a person taken out)
    // while the stream is open holds at once, not at the next sign-in (red team, 2026-12-07).
    const { stop, ready } = this.feed.watch((change) => {
      const reviewer = this.sessions.asNow(session)?.principal;
      if (!reviewer || !hearsOf(reviewer, change)) return;
      res.write(`event: change\ndata: ${JSON.stringify({ type: change.type, actionId: change.actionId })}\n\n`);
    });
    // From here on every change is told: the page fetches its list once more, to catch what came before.
    void ready.then(() => res.write('event: ready\ndata: {}\n\n'));
    // The stream does not keep a session alive (it is no sign of a person at the screen); it ends with it.
    const check = setInterval(
      () => {
        void this.sessions.current(req, false).then((still) => {
          if (still) return void res.write(': alive\n\n');
          res.write('event: signed-out\ndata: {}\n\n');
          res.end();
        });
      },
      Math.min(STREAM_CHECK_MS, this.sessions.idleTimeoutMs),
    );
    req.on('close', () => {
      clearInterval(check);
      stop();
      release();
    });
  }

  /** The inbox with one item's card open (the address an escalation notice links to). */
  @ApiRoute({
    summary: "The inbox with one item's card open (HTML page)",
    session: true,
    query: {
      reveal: '`true`: the real values, for a reviewer holding `pii:view` (audited)',
      slaClass: 'only items of this SLA class',
      actionType: 'only items of this action type',
      tenant: 'only items of this tenant',
      agentId: 'only items proposed by this agent',
    },
    ok: { description: 'The inbox page with the card', contentType: 'text/html' },
    also: [{ status: 303, description: 'not signed in: to `/auth/sign-in?returnTo=…`', contentType: 'none', headers: { Location: 'the sign-in address' } }],
    errors: {
      403: 'the account has no reviewer role, or none of the roles the item needs; a reveal without `pii:view`, or asked from a page of another origin',
      400: '`reveal` is neither true nor false',
      404: 'no review item for this action, or one of a tenant the caller is not bound to',
      409: 'a reveal of an item that is decided or has no sealed copy',
      429: 'a reveal past the reviewer’s rate (30 at once, then one every 2 s): retry after `Retry-After` seconds',
    },
  })
  @Get(':actionId')
  async one(
    @Param('actionId', new IdentifierParam('actionId')) actionId: string,
    @Req() req: HttpRequest,
    @Res() res: HttpResponse,
    @Query() query: Record<string, unknown>,
  ) {
    const session = await this.pageSession(req, res);
    if (!session) return;
    const filters = filtersOf(query);
    const { items, all } = await this.visible(session, filters);
    const shown = await this.card(actionId, session, this.revealAsked(req, query.reveal), this.sessions.fromElsewhere(req));
    html(
      res,
      page({
        title: 'Review',
        session,
        body: inboxBody({ items, all, filters, choices: this.choices?.(), selected: actionId, card: shown, viewer: session.principal.id }),
      }),
    );
  }

  /** One card as a fragment; `?reveal=true` shows the real values to a `pii:view` holder, audited by the reveal service. */
  @ApiRoute({
    summary: "One item's card as an HTML fragment",
    session: true,
    query: { reveal: '`true`: the real values, for a reviewer holding `pii:view` (audited)' },
    ok: { description: 'The card fragment', contentType: 'text/html' },
    errors: {
      401: 'not signed in, or the session ended',
      403: 'the account has no reviewer role, or none of the roles the item needs; a reveal without `pii:view`, or asked from a page of another origin',
      400: '`reveal` is neither true nor false',
      404: 'no review item for this action, or one of a tenant the caller is not bound to',
      409: 'a reveal of an item that is decided or has no sealed copy',
      429: 'a reveal past the reviewer’s rate (30 at once, then one every 2 s): retry after `Retry-After` seconds',
    },
  })
  @Get(':actionId/card')
  async cardFragment(
    @Param('actionId', new IdentifierParam('actionId')) actionId: string,
    @Req() req: HttpRequest,
    @Res() res: HttpResponse,
    @Query('reveal') reveal?: unknown,
  ) {
    const background = askedByThePage(req);
    const session = await this.apiSession(req, !background, res);
    html(res, await this.card(actionId, session, this.revealAsked(req, reveal), this.sessions.fromElsewhere(req), background));
  }

  /** Claims the item for the signed-in reviewer (the script does when a card opens, and renews it while it stays open). */
  @ApiRoute({
    summary: 'Claim an item for the signed-in reviewer (CSRF-checked)',
    session: true,
    body: ClaimBody,
    ok: {
      description: 'The claim',
      schema: { type: 'object', required: ['actionId', 'claim'], properties: { actionId: { type: 'string' }, claim: { type: 'object' } } },
    },
    errors: {
      401: 'not signed in, or the session ended',
      403: 'no reviewer role, a missing or wrong CSRF token, separation of duties, or a role the item needs',
      404: 'no review item for this action, or one of a tenant the caller is not bound to',
      409: 'held by another reviewer, already approved by the caller, decided, the caller holding 3 claims already, or the caller having held it when it escalated',
    },
  })
  @Post(':actionId/claim')
  @HttpCode(200)
  async claim(@Param('actionId', new IdentifierParam('actionId')) actionId: string, @Req() req: HttpRequest, @Body() body: unknown) {
    // The script renews an open card's claim every minute (`{"renewal": true}`): that is not the reviewer's activity, or
    // an unattended open card would keep its session (and the claim) alive until the session's maximum (red team).
    // Signed in first (one look at the session): the body is checked for a session only, as its refusal names its fields.
    const renewal = (body as { renewal?: unknown } | undefined)?.renewal === true;
    const session = await this.apiSession(req, !renewal);
    parseBody(ClaimBody, body ?? {});
    this.sessions.checkCsrf(req, session);
    try {
      // A renewal keeps a claim the reviewer holds; it never takes one back that ended (an escalation, a release).
      const claim = renewal
        ? await this.claims.renew(actionId, session.principal, session.name)
        : await this.claims.claim(actionId, session.principal, session.name);
      return { actionId, claim };
    } finally {
      this.feed.nudge();
    }
  }

  /** A lead ends another reviewer's claim from the card (`ClaimBreakService`: audited, with their reason). */
  @ApiRoute({
    summary: "End another reviewer's claim, as a lead (CSRF-checked; audited, with a reason)",
    session: true,
    body: BreakBody,
    ok: {
      description: 'The claim that was ended: who held it, and until when',
      schema: { type: 'object', required: ['actionId', 'released'], properties: { actionId: { type: 'string' }, released: { type: 'object' } } },
    },
    errors: {
      400: 'a body that does not validate (a reason of at least 3 letters or digits)',
      401: 'not signed in, or the session ended',
      403: 'no reviewer role, no lead role, or a missing or wrong CSRF token',
      404: 'no review item for this action',
      409: 'nobody holds a claim on it, the caller holds it, or it is decided',
      503: 'the audit trail cannot record the break now: the claim still holds; try again',
    },
  })
  @Post(':actionId/claim/break')
  @HttpCode(200)
  async breakClaim(@Param('actionId', new IdentifierParam('actionId')) actionId: string, @Req() req: HttpRequest, @Body() body: unknown) {
    const session = await this.apiSession(req);
    this.sessions.checkCsrf(req, session);
    if (!session.principal.roles.includes('lead')) throw new ForbiddenException("ending another reviewer's claim is for leads: your account has no lead role");
    const { reason } = parseBody(BreakBody, body);
    try {
      return { actionId, ...(await this.breaks.breakClaim(actionId, session.principal, reason)) };
    } finally {
      this.feed.nudge();
    }
  }

  /** Ends the reviewer's claim (the script does when they open another card or leave the page). */
  @ApiRoute({
    summary: "Release the signed-in reviewer's claim (CSRF-checked)",
    session: true,
    ok: RELEASE_ANSWER,
    errors: {
      401: 'not signed in, or the session ended',
      403: 'no reviewer role, or a missing or wrong CSRF token',
    },
  })
  @Post(':actionId/release')
  @HttpCode(200)
  async release(@Param('actionId', new IdentifierParam('actionId')) actionId: string, @Req() req: HttpRequest) {
    const session = await this.apiSession(req);
    this.sessions.checkCsrf(req, session);
    try {
      return { actionId, ...(await this.claims.release(actionId, session.principal)) };
    } finally {
      this.feed.nudge();
    }
  }

  @ApiRoute({
    summary: 'Approve or reject from the inbox (CSRF-checked), with a reason',
    session: true,
    body: DecisionBody,
    ok: {
      description: 'The decision is recorded',
      schema: { type: 'object', required: ['actionId'], properties: { actionId: { type: 'string' }, status: { type: 'string' } } },
    },
    errors: {
      400: 'a body that does not validate',
      401: 'not signed in, or the session ended',
      403: 'no reviewer role, a missing or wrong CSRF token; separation of duties (the proposer), a token of no person, a role the item needs, or a step-up the item needs',
      404: 'no review item for this action, or one of a tenant the caller is not bound to',
      409: 'already decided or expired, decided meanwhile, or `shownDigest` does not match the item as it is now',
    },
  })
  @Post(':actionId/decision')
  @HttpCode(200)
  async decide(@Param('actionId', new IdentifierParam('actionId')) actionId: string, @Req() req: HttpRequest, @Body() body: unknown) {
    const session = await this.apiSession(req);
    this.sessions.checkCsrf(req, session);
    const { decision, reason, shownDigest: seen } = parseBody(DecisionBody, body);
    try {
      if (decision === 'approve') return { actionId, ...(await this.approvals.approve(actionId, session.principal, reason, seen)) };
      await this.approvals.reject(actionId, session.principal, reason, seen);
      return { actionId, status: 'rejected' };
    } finally {
      this.feed.nudge();
    }
  }

  /**
   * `reveal` as the card takes it: a reveal asked by a navigation from outside any page (a link in a mail,
   * `Sessions.fromOutside`) is none, so the card shows masked, with its reveal link.
   */
  private revealAsked(req: HttpRequest, reveal: unknown): unknown {
    return reveal === 'true' && this.sessions.fromOutside(req) ? 'false' : reveal;
  }

  /**
   * The card. Opening it claims the item, starts the dwell clock and, with `reveal=true`, reveals (audited): effects a
   * page of another origin must not cause with the reviewer's cookie (`fromElsewhere`: a sibling origin's `<img>` claimed
   * items in a reviewer's name, red team 2026-12-04). From elsewhere the card is shown as it stands, with no effect, and
   * a reveal is refused.
   */
  private async card(actionId: string, session: ReviewerSession, reveal: unknown, fromElsewhere: boolean, background = false): Promise<string> {
    if (reveal !== undefined && reveal !== 'true' && reveal !== 'false') throw new BadRequestException('reveal: must be true or false');
    // The card, masked or not, is for the reviewers who may work the item (the list shows them no other); another
    // tenant's is unknown to them (404).
    const held = await this.items.get(actionId);
    if (!held) throw new NotFoundException(`no review item for action ${actionId}`);
    requireItemRole(held, session.principal, 'reading');
    await this.quality?.requireNotWithheld(session.principal, held);
    if (fromElsewhere && reveal === 'true')
      throw new ForbiddenException('a reveal must be asked from the inbox itself: this request came from a page of another origin');
    if (!fromElsewhere) {
      // Dwell starts when the server first serves this reviewer the card (decision-quality/, ADR 0018).
      await this.quality?.shown(actionId, session.principal.id);
      // Not when the page refreshes the card on its own (news of the item, such as an escalation that ended the claim):
      // only a reviewer opening it claims it (red team, 2026-12-04: the open card took the claim back 300 ms after).
      if (!background) await this.claimIfFree(actionId, session);
    }
    if (reveal === 'true') {
      const { item, proposal } = await this.reveals.reveal(actionId, session.principal);
      return card({
        item,
        revealed: proposal,
        session,
        shownDigest: shownDigest(shownView(item)),
        canReveal: true,
        mayDecide: mayDecide(session.principal, item),
        context: await this.context(item),
        contractNow: this.contractNow?.(item),
        killSwitchOff: this.killSwitchNow?.(item.proposal.actionType),
      });
    }
    const item = await this.items.get(actionId);
    if (!item) throw new NotFoundException(`no review item for action ${actionId}`);
    const canReveal = session.principal.roles.includes(PII_VIEW) && !!item.sealed;
    return card({
      item,
      session,
      shownDigest: shownDigest(shownView(item)),
      canReveal,
      mayDecide: mayDecide(session.principal, item),
      context: await this.context(item),
      contractNow: this.contractNow?.(item),
      killSwitchOff: this.killSwitchNow?.(item.proposal.actionType),
    });
  }

  /**
   * Opening a card claims its item for the reviewer when it is free and theirs to decide: the card comes back already
   * showing the claim, so no later refresh replaces it under a reviewer who started deciding. (The script renews the
   * claim while the card stays open and releases it when another opens. A GET may claim only from the inbox's own
   * origin (`fromElsewhere`): SameSite=Strict keeps other sites out, not a sibling origin of the same site.)
   */
  private async claimIfFree(actionId: string, session: ReviewerSession): Promise<void> {
    const item = await this.items.get(actionId);
    // Not a critical item this session could not approve (no second factor): its claim would hold up whoever can.
    if (!item || !mayDecide(session.principal, item) || stepUpRefusal(item, session.principal) || claimState(item, session.principal.id) !== 'free') return;
    await this.claims.claim(actionId, session.principal, session.name).catch((e: Error) => {
      // Taken or decided meanwhile: the card shows the item as it now stands.
      if (!(e instanceof ConflictException)) throw e;
    });
  }

  /** The approvals so far and the recent decisions of the item's tenant on the same target and by the same agent. */
  private async context(item: ReviewItem): Promise<CardContext> {
    const [approvals, sameTarget, sameAgent] = await Promise.all([
      item.quorum > 1 ? this.items.approvals(item.actionId) : Promise.resolve([]),
      this.sameTarget(item),
      this.items.recentDecisions({ tenant: item.proposal.tenant, agentId: item.proposal.proposer.agentId }, item.actionId, RECENT_DECISIONS),
    ]);
    // A decision under a blind second review is not shown meanwhile, here either.
    if (!this.quality) return { approvals, sameTarget, sameAgent };
    return { approvals, sameTarget: await this.quality.shownDecisions(sameTarget), sameAgent: await this.quality.shownDecisions(sameAgent) };
  }

  /**
   * The recent decisions on the item's own target. Targets are stored masked, and `j***@[email]` is every such address:
   * the card showed another customer's rejection, with its reason, as this one's (red team, 2026-12-04). So more are
   * read, and only those whose real target (their sealed copy) is this item's are kept; none when it cannot be told.
   */
  private async sameTarget(item: ReviewItem): Promise<ReviewItem[]> {
    const proposal = this.realProposal(item);
    if (proposal === undefined) return [];
    const real = proposal.target;
    // Looked up as the store keeps them, masked the plain way: the card masks as reviewers see masks (sealed-view.ts).
    const stored = maskDeep({ tenant: proposal.tenant, target: real });
    const candidates = await this.items.recentDecisions(stored, item.actionId, RECENT_DECISIONS * 4);
    return candidates.filter((c) => this.realTarget(c) === real).slice(0, RECENT_DECISIONS);
  }

  /** An item's real target, from its sealed copy; undefined when it cannot be read. */
  private realTarget(item: ReviewItem): string | undefined {
    return this.realProposal(item)?.target;
  }

  /** An item's real proposal, from its sealed copy; undefined when it cannot be read. */
  private realProposal(item: ReviewItem): Proposal | undefined {
    if (!item.sealed || !this.sealer) return undefined;
    try {
      return this.sealer.open(item.actionId, item.sealed);
    } catch (e) {
      if (e instanceof SealError) return undefined;
      throw e;
    }
  }

  /**
   * The page of items the reviewer may decide, filtered (`items`), and unfiltered (`all`, whose classes, action types
   * and tenants the filter menus offer). Filtered where the items are: a page is full whatever lies ahead of it.
   */
  private async visible(session: ReviewerSession, filters: InboxFilters): Promise<{ items: ReviewItem[]; all: ReviewItem[] }> {
    const reviewer = session.principal;
    const all = await this.items.inbox({ reviewer, limit: INBOX_PAGE_SIZE });
    const filtered = filters.slaClass || filters.actionType || filters.tenant || filters.agentId;
    return { all, items: filtered ? await this.items.inbox({ reviewer, ...filters, limit: INBOX_PAGE_SIZE }) : all };
  }

  /** The session of a page request; none: the browser is sent to sign in and back here. A read: counted (`reviewer`). */
  private async pageSession(req: HttpRequest, res: HttpResponse): Promise<ReviewerSession | undefined> {
    const session = await this.sessions.current(req);
    if (!session) {
      securityHeaders(res);
      res.statusCode = 303;
      res.setHeader('Location', `/auth/sign-in?returnTo=${encodeURIComponent(req.url)}`);
      res.end();
      return undefined;
    }
    return this.reviewer(req, session, res);
  }

  /**
   * The session of a fragment, a stream or a decision: 401 without one (the script then sends the browser to sign in).
   * Given the response, a read: counted against the reviewer's read limits (a stream, which waits, against the rate only).
   */
  private async apiSession(req: HttpRequest, touch = true, res?: HttpResponse, read: 'answer' | 'stream' = 'answer'): Promise<ReviewerSession> {
    const session = await this.sessions.current(req, touch);
    if (!session) throw new UnauthorizedException('not signed in (or the session ended): sign in at /auth/sign-in');
    return this.reviewer(req, session, res, read);
  }

  private reviewer(req: HttpRequest, session: ReviewerSession, res?: HttpResponse, read: 'answer' | 'stream' = 'answer'): ReviewerSession {
    // The rejection filter audits a refusal under the request's principal.
    req.principal = session.principal;
    // A person's pages and the script's fragments, limited as bearer reads are (libs/platform/nest read-rate.ts): a
    // signed-in session, or one stolen, cannot keep the review queue busy with reads any more than a token can.
    if (res) this.reads.admit(session.principal.id, res, read === 'answer');
    if (!session.principal.roles.includes('reviewer')) throw new ForbiddenException('the inbox is for reviewers: your account has no reviewer role');
    return session;
  }
}

function html(res: HttpResponse, body: string) {
  securityHeaders(res);
  res.statusCode = 200;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end(body);
}

/**
 * Whether the inbox's script asked on its own (`X-Inbox-Background: 1`: the list and the open card refreshed on news from
 * the live stream), not the reviewer: such a request does not restart the session's idle clock. It had: on a queue that
 * changes, an unattended inbox stayed signed in up to the session's maximum, and a role removed at the provider stayed
 * in force as long (red team, 2026-12-04). A page of another origin cannot send the header without a preflight the
 * inbox refuses, and leaving it out only keeps the clock running.
 */
function askedByThePage(req: HttpRequest): boolean {
  return req.headers['x-inbox-background'] === '1';
}
