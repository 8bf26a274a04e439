import { Body, Controller, ForbiddenException, Get, HttpCode, Inject, Optional, Param, Post, Req, Res, UnauthorizedException } from '@nestjs/common';
import { z } from 'zod';
import { reasonString } from '@countersign/contracts';
import { maskText } from '@countersign/guardrails';
import { ApiRoute, IdentifierParam, parseBody, READ_RATE, ReadRateLimit, requireEveryTenant } from '@countersign/nest';
import { DegradationControlState, OVERRIDE_REQUEST_TTL_MS } from '../degradation/control-state';
import { DecisionQualityService } from '../decision-quality/decision-quality.service';
import type { DecisionSummary } from '../decision-quality/decision-quality.store';
import { agreementByClass, Outlier, outliers } from '../decision-quality/statistics';
import { esc, shownName, shownValues } from '../inbox/inbox.view';
import { secondReviewView, shownDigest } from '../review-item/shown';
import { securityHeaders } from '../inbox/security-headers';
import type { ReviewerSession } from '../inbox/session.store';
import { HttpRequest, HttpResponse, Sessions } from '../inbox/sessions';
import { DEGRADATION_CONTROL_STATE } from '../tokens';
import { GOVERNANCE_CSS } from './governance.styles';
import { SummaryMemo } from './summary-memo';
import { barChart, lineChart } from './svg';

const SecondBody = z.strictObject({
  verdict: z.enum(['approved', 'rejected']),
  reason: reasonString(3, 2000),
  /** The digest of the view the page showed (`data-shown-digest`): a verdict on a view that changed since is refused. */
  shownDigest: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});

/** Approval latency buckets (queued → decided), upper bounds in minutes. */
const LATENCY_EDGES_MIN = [1, 5, 15, 60, 240, 1440];
const DAY_MS = 86_400_000;
const WINDOW_MS = 30 * DAY_MS;
/** Days of override frequency on the page (today included). */
const OVERRIDE_DAYS = 7;
const dayStart = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;
/** The longest one summary of the decisions serves the page while no decision is recorded here, by default (SummaryMemo). */
const SUMMARY_KEPT_MS = 10_000;

/** The second-review page's one script: sends a verdict with the session's CSRF token, then reloads. No inline script (CSP). */
const SECOND_REVIEW_JS = `document.addEventListener('submit', async (e) => {
  const f = e.target.closest('form[data-second-review]'); if (!f) return; e.preventDefault();
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const body = { verdict: new FormData(f).get('verdict'), reason: new FormData(f).get('reason'), shownDigest: f.dataset.shownDigest };
  const r = await fetch(f.action, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: JSON.stringify(body) });
  const out = f.querySelector('.result'); out.textContent = r.ok ? 'Recorded: thank you.' : 'Refused: ' + ((await r.json().catch(() => ({}))).message || r.status);
  if (r.ok) setTimeout(() => location.reload(), 800);
});`;

/**
 * The governance page for leads (`/reviews/governance`, ADR 0018) and the blind second review (`/reviews/second-review`),
 * on the inbox's sessions: pages redirect to sign-in without one, the second verdict needs the CSRF token, and the
 * governance page answers 403 to anyone without the `lead` role. Registered before the inbox's `/reviews/:actionId`.
 */
@Controller('reviews')
export class GovernancePageController {
  private readonly summaries: SummaryMemo<DecisionSummary>;

  constructor(
    private readonly sessions: Sessions,
    private readonly quality: DecisionQualityService,
    @Inject(READ_RATE) private readonly reads: ReadRateLimit,
    @Optional() @Inject(DEGRADATION_CONTROL_STATE) private readonly control?: DegradationControlState,
  ) {
    this.summaries = new SummaryMemo(quality.quality.options.summaryKeptMs ?? SUMMARY_KEPT_MS, () => quality.quality.decisionsGeneration);
  }

  @ApiRoute({
    summary: 'The governance page for leads (HTML)',
    session: true,
    ok: { description: 'The governance page', contentType: 'text/html' },
    also: [{ status: 303, description: 'not signed in: to `/auth/sign-in?returnTo=…`', contentType: 'none', headers: { Location: 'the sign-in address' } }],
    errors: { 403: 'the account has no lead role, or is bound to tenants' },
  })
  @Get('governance')
  async governance(@Req() req: HttpRequest, @Res() res: HttpResponse) {
    const session = await this.pageSession(req, res);
    if (!session) return;
    if (!session.principal.roles.includes('lead')) throw new ForbiddenException('the governance page is for leads: your account has no lead role');
    // Every reviewer's statistics, every tenant's backlog: not for a lead bound to tenants (a sign-in's claim may bind one).
    requireEveryTenant(session.principal, 'the governance page');
    const now = Date.now();
    const store = this.quality.quality.store;
    const since = new Date(now - WINDOW_MS);
    const [summary, seconds, samples, lanes, overrides] = await Promise.all([
      // Summed up by the store: the decisions themselves (up to 50,000) held the event loop for a third of a second.
      // One summary for every lead's load while no decision came (SummaryMemo): 0.3 s of PostgreSQL at the cap.
      this.summaries.get(() => store.decisionSummary(since, 50_000, LATENCY_EDGES_MIN)),
      store.secondReviewsSince(since, 10_000),
      store.queueSamplesSince(new Date(now - DAY_MS)),
      store.laneCountsSince(new Date(now - DAY_MS)),
      store.overridesSince(new Date(dayStart(now) - (OVERRIDE_DAYS - 1) * DAY_MS)),
    ]);
    const stats = summary.reviewers;
    const o = this.quality.quality.options.contract.outliers ?? { minDecisions: 20, threshold: 3.5 };
    const found = outliers(stats, o);
    const agreement = agreementByClass(seconds, new Set(summary.canaryIds));
    const classes = [...new Set(samples.map((s) => s.slaClass))].sort();
    const series = (pick: (s: (typeof samples)[number]) => number | undefined) =>
      classes.map((c) => ({
        name: c,
        points: samples.filter((s) => s.slaClass === c).map((s) => [Date.parse(s.sampledAt), pick(s) ?? 0] as [number, number]),
      }));
    // Automation ratio: the share of policy decisions that took the autonomous lane, per hour.
    const total = lanes.reduce((a, l) => ({ autonomous: a.autonomous + l.autonomous, review: a.review + l.review, prohibited: a.prohibited + l.prohibited }), {
      autonomous: 0,
      review: 0,
      prohibited: 0,
    });
    const share = (l: { autonomous: number; review: number; prohibited: number }) =>
      Math.round((l.autonomous / Math.max(1, l.autonomous + l.review + l.prohibited)) * 1000) / 10;
    const ratio = lanes.map((l) => [Date.parse(l.hour), share(l)] as [number, number]);
    // Override frequency per day (ADR 0018): a reviewer overturning the agent (a rejection), an operator overriding
    // the degradation mode, an autonomy flag changed.
    const days = Array.from({ length: OVERRIDE_DAYS }, (_, i) => new Date(dayStart(now) - (OVERRIDE_DAYS - 1 - i) * DAY_MS).toISOString().slice(0, 10));
    const perDay = (at: string[]) => days.map((d) => at.filter((a) => a.startsWith(d)).length);
    const rejections = days.map((d) => summary.rejectionsByDay[d] ?? 0);
    const modeOverrides = perDay(overrides.filter((x) => x.kind === 'mode-override').map((x) => x.at));
    const autonomyChanges = perDay(overrides.filter((x) => x.kind === 'autonomy-change').map((x) => x.at));
    const published = this.control?.published();
    const override = this.control?.activeOverride(now);
    const request = this.control?.pendingRequest(now);
    // An override below the computed mode waits for a second admin (ADR 0013): leads see who asked for what, and until when.
    const waiting = request
      ? `<p id="override-request" class="override-request" role="status"><strong>Waiting for a second admin:</strong> ${esc(request.override.by)} asked at ${esc(request.requestedAt)} to hold the mode at <strong>${esc(request.override.mode)}</strong> until ${esc(request.override.expiresAt)}: “${esc(request.override.reason)}”. Another admin confirms it with <code>POST /v1/governance/mode-override/confirm {mode, expiresAt, reason}</code> by ${esc(new Date(Date.parse(request.requestedAt) + OVERRIDE_REQUEST_TTL_MS).toISOString())}, or it lapses.</p>`
      : '';
    const mode = published
      ? `<div id="mode" class="mode-badge mode-${esc(published.mode)}" role="status"><span class="mode-name">${esc(published.mode)}</span><span class="mode-why">${esc(published.reason)}${override ? ` (operator override until ${esc(override.expiresAt)}${(override.resumes ?? []).map((r) => `, then ${esc(r.mode)} by ${esc(r.by)} until ${esc(r.expiresAt)}`).join('')})` : ''}</span></div>`
      : '<div id="mode" class="mode-badge" role="status"><span class="mode-name">no controller</span><span class="mode-why">No degradation controller runs here: the mode is whatever the control topic last said.</span></div>';
    const body = `<main class="governance">
<div class="gov-head"><div><h1>Governance</h1><p class="gov-window">Queue and automation: the last 24 hours. Reviewers: the last 30 days.</p></div>
${mode}</div>
${waiting}
<h2>Automation</h2>
<div class="gov-grid">
${lineChart({ id: 'automation', title: 'Automation ratio per hour', desc: `Share of policy decisions that ran autonomously (24 h: ${total.autonomous} autonomous, ${total.review} to review, ${total.prohibited} prohibited).`, unit: ' %', max: 100, series: [{ name: 'autonomous share', points: ratio }] })}
${barChart({ id: 'overrides', title: 'Overrides per day', desc: 'Reviewers rejecting what an agent proposed, operators overriding the degradation mode, autonomy flags changed.', series: ['rejections', 'mode overrides', 'autonomy changes'], bars: days.map((d, i) => ({ label: d, values: [rejections[i], modeOverrides[i], autonomyChanges[i]] })) })}
</div>
<h2>Queue</h2>
<div class="gov-grid">
${lineChart({ id: 'queue-depth', title: 'Queue depth', desc: 'Pending approval items per SLA class, sampled every minute.', series: series((s) => s.depth) })}
${lineChart({ id: 'queue-age', title: 'Oldest item age', desc: 'Age in minutes of the oldest pending approval item per SLA class.', unit: ' min', series: series((s) => (s.oldestAgeMs === undefined ? 0 : Math.round(s.oldestAgeMs / 6000) / 10)) })}
</div>
<h2>Reviewers</h2>
<div class="gov-grid">
${barChart({ id: 'decisions', title: 'Decisions per reviewer', desc: 'Approvals and rejections of each reviewer (canaries not counted).', series: ['approved', 'rejected'], bars: stats.map((s) => ({ label: s.reviewer, values: [Math.round(s.decisions * s.approvalRate), s.decisions - Math.round(s.decisions * s.approvalRate)] })) })}
${barChart({ id: 'canaries', title: 'Canaries caught and missed', desc: 'Known-bad proposals rejected (caught) or approved (missed) per reviewer; a miss is audited.', series: ['caught', 'missed'], bars: summary.canaries.map((c) => ({ label: c.reviewer, values: [c.caught, c.missed] })) })}
${barChart({ id: 'dwell', title: 'Median dwell per reviewer and class', desc: 'Seconds from the card first shown to the decision, at most the time since the reviewer’s decision before it.', unit: ' s', bars: summary.dwell.map((d) => ({ label: `${d.reviewer} · ${d.slaClass}`, values: [Math.round(d.medianDwellMs / 100) / 10] })) })}
${barChart({ id: 'unseen', title: 'Decided unseen per reviewer', desc: 'Decisions taken with no card or item served to the reviewer first (the JSON API without a GET): they have no dwell, so they never show as dwell outliers (canaries not counted).', bars: stats.filter((s) => s.unseen > 0).map((s) => ({ label: s.reviewer, values: [s.unseen] })) })}
${barChart({ id: 'latency', title: 'Approval latency', desc: 'Human decisions by the time from queued to decided.', bars: summary.latency.map((n, i) => ({ label: i < LATENCY_EDGES_MIN.length ? `≤ ${LATENCY_EDGES_MIN[i]} min` : `> ${LATENCY_EDGES_MIN[LATENCY_EDGES_MIN.length - 1]} min`, values: [n] })) })}
${barChart({ id: 'agreement', title: 'Blind second-review agreement', desc: 'Share of second verdicts that agree with the first decision, per SLA class (count in brackets).', max: 1, bars: agreement.byClass.map((a) => ({ label: `${a.slaClass} (${a.total})`, values: [Math.round(a.rate * 100) / 100] })) })}
${barChart({ id: 'outliers', title: 'Outliers (robust z-score)', desc: `Reviewers more than ${o.threshold} robust z-scores from their peers' median, once they have ${o.minDecisions} decisions.`, bars: found.map((f) => ({ label: outlierLabel(f), values: [Math.round(Math.abs(f.z) * 100) / 100] })) })}
</div>
${agreement.disagreements.length ? `<h2 id="dis-h">Second reviews that disagree</h2><ul id="disagreements" class="gov-list" aria-labelledby="dis-h">${agreement.disagreements.map((r) => `<li><a href="/reviews/${esc(r.actionId)}">${esc(r.actionId)}</a>: first ${esc(r.firstDecision)}, second (${esc(r.reviewer)}) ${esc(r.verdict)}: ${esc(maskText(r.reason ?? ''))}</li>`).join('')}</ul>` : ''}
</main>`;
    html(res, shell('Governance', session, body));
  }

  @ApiRoute({
    summary: 'The blind second reviews waiting for the signed-in reviewer (HTML)',
    session: true,
    ok: { description: 'The second-review page', contentType: 'text/html' },
    also: [{ status: 303, description: 'not signed in: to `/auth/sign-in?returnTo=…`', contentType: 'none', headers: { Location: 'the sign-in address' } }],
    errors: { 403: 'the account has no reviewer role, or is bound to tenants (second reviews are drawn from every tenant)' },
  })
  @Get('second-review')
  async secondReviews(@Req() req: HttpRequest, @Res() res: HttpResponse) {
    const session = await this.pageSession(req, res);
    if (!session) return;
    const open = await this.quality.openSecondReviews(session.principal);
    const body = `<main class="second-review"><h1>Second reviews</h1>
<p>Decide as if you were first: you are not shown the first decision, and yours changes nothing that runs.</p>
${open.length ? '' : '<p id="none">Nothing waits for a second review by you.</p>'}
${open
  .map(({ item }) => secondReviewView(item))
  .map(
    (view) => `<section class="card" aria-label="Second review of ${esc(view.actionId)}"><h2>${esc(view.actionType)} → ${shownName(view.target)}</h2>
${shownValues(view.parameters, 'params', 'Parameters')}<ul>${view.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>
<form data-second-review data-shown-digest="${shownDigest(view)}" action="/reviews/second-review/${encodeURIComponent(view.actionId)}" method="post">
<fieldset><legend>Your verdict</legend><label><input type="radio" name="verdict" value="approved" required> Approve</label> <label><input type="radio" name="verdict" value="rejected"> Reject</label></fieldset>
<label>Reason <input name="reason" required minlength="3" maxlength="2000"></label> <button type="submit">Record verdict</button><p class="result" role="status"></p></form></section>`,
  )
  .join('\n')}</main>`;
    html(res, shell('Second reviews', session, body, true));
  }

  @ApiRoute({
    summary: "The governance page's stylesheet",
    public: 'a static file, the same for everyone',
    ok: { description: 'The stylesheet', contentType: 'text/css' },
    unavailable: false,
  })
  @Get('quality/assets/governance.css')
  styles(@Res() res: HttpResponse) {
    securityHeaders(res, true);
    res.setHeader('Content-Type', 'text/css; charset=utf-8');
    res.end(GOVERNANCE_CSS);
  }

  @ApiRoute({
    summary: "The second-review page's script",
    public: 'a static file, the same for everyone',
    ok: { description: 'The script', contentType: 'text/javascript' },
    unavailable: false,
  })
  @Get('quality/assets/second-review.js')
  script(@Res() res: HttpResponse) {
    securityHeaders(res, true);
    res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
    res.end(SECOND_REVIEW_JS);
  }

  @ApiRoute({
    summary: 'Record a blind second verdict (CSRF-checked)',
    session: true,
    body: SecondBody,
    ok: {
      description: 'The verdict is recorded',
      schema: { type: 'object', required: ['actionId', 'verdict'], properties: { actionId: { type: 'string' }, verdict: { type: 'string' } } },
    },
    errors: {
      400: 'a body that does not validate',
      401: 'not signed in, or the session ended',
      403: 'no reviewer role, bound to tenants, a missing or wrong CSRF token, the first decider or the proposer, or a role the review needs',
      404: 'no second review for this action',
      409: 'decided meanwhile, or the item changed since the page showed it (`shownDigest`)',
    },
  })
  @Post('second-review/:actionId')
  @HttpCode(200)
  async second(@Param('actionId', new IdentifierParam('actionId')) actionId: string, @Req() req: HttpRequest, @Body() body: unknown) {
    const session = await this.sessions.current(req);
    if (!session) throw new UnauthorizedException('not signed in (or the session ended): sign in at /auth/sign-in');
    req.principal = session.principal;
    if (!session.principal.roles.includes('reviewer')) throw new ForbiddenException('second reviews are for reviewers: your account has no reviewer role');
    this.sessions.checkCsrf(req, session);
    const { verdict, reason, shownDigest: seen } = parseBody(SecondBody, body);
    await this.quality.decideSecond(actionId, session.principal, verdict, reason, new Date(), seen);
    return { actionId, verdict };
  }

  private async pageSession(req: HttpRequest, res: HttpResponse): Promise<ReviewerSession | undefined> {
    const session = await this.sessions.current(req);
    if (!session) {
      securityHeaders(res);
      res.statusCode = 303;
      res.setHeader('Location', `/auth/sign-in?returnTo=${encodeURIComponent(req.url)}`);
      res.end();
      return undefined;
    }
    // The rejection filter audits a refusal under the request's principal.
    req.principal = session.principal;
    // Limited as the inbox's pages are (InboxController `reviewer`): a load of this page sums up to 50,000 decisions in the database.
    this.reads.admit(session.principal.id, res);
    return session;
  }
}

function shell(title: string, s: ReviewerSession, body: string, script = false): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Countersign</title>
<link rel="stylesheet" href="/reviews/assets/inbox.css">
<link rel="stylesheet" href="/reviews/quality/assets/governance.css">
<meta name="csrf-token" content="${esc(s.csrf)}">
${script ? '<script src="/reviews/quality/assets/second-review.js" defer></script>' : ''}
</head><body>
<header class="top"><p class="brand"><a href="/reviews">Countersign reviews</a></p>
<p class="who">Signed in as <strong id="who">${esc(s.name)}</strong> <span class="roles">(${esc(s.principal.roles.join(', '))})</span></p></header>
${body}
</body></html>`;
}

function html(res: HttpResponse, body: string) {
  securityHeaders(res);
  res.statusCode = 200;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end(body);
}

/**
 * An outlier as leads read it: which way from the peers, and both values (red team, 2026-12-07: `bob · approval rate: 2`
 * hid that bob approves less than his peers, and `fiona · dwell time` that she reads longer, not that she rubber-stamps).
 */
export function outlierLabel(f: Outlier): string {
  const shown = (v: number) => (f.metric === 'approval rate' ? `${Math.round(v * 100)} %` : `${(v / 1000).toFixed(1)} s`);
  return `${f.reviewer} · ${f.metric} ${f.z > 0 ? 'higher' : 'lower'} than peers: ${shown(f.value)} (peers' median ${shown(f.peersMedian)})`;
}
