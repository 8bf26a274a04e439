// What the card shows beside the proposal (issue 11): who works the item (its claim), the quorum's progress, the risk
// assessment, the same target's and agent's recent decisions, and whether approving needs a second factor. Rendered on
// the server like the rest of the card (`inbox.view.ts`); every value escaped.
import { maskText } from '@countersign/guardrails';
import { hasSecondFactor, STEP_UP_MAX_AGE_MS, stepUpRequired } from '../approvals/step-up';
import { holdsItemRole } from '../review-item/item-roles';
import { Approval, claimHolds, ReviewItem } from '../review-item/review-item.repository';
import type { ReviewerSession } from './session.store';
import { esc, shownName } from './shown-text';

/** What the card needs from the repository beyond the item: approvals so far and recent decisions. */
export interface CardContext {
  approvals: Approval[];
  sameTarget: ReviewItem[];
  sameAgent: ReviewItem[];
}

/** How many recent decisions of each kind a card shows. */
export const RECENT_DECISIONS = 5;

/** A time as hh:mm (UTC on the server; the script shows it in the reviewer's own time zone). */
/** A time the script shows in the reviewer's own time zone (`time[data-clock]`); UTC until it runs. */
export const clock = (iso: string) => `<time datetime="${esc(iso)}" data-clock>${esc(iso.slice(11, 16))} UTC</time>`;

/** The item's claim as one viewer sees it: `mine`, `other` (someone else's holds), or `free`. */
export const claimState = (item: ReviewItem, viewer: string, now = new Date()): 'mine' | 'other' | 'free' =>
  claimHolds(item.claim, now) ? (item.claim.by === viewer ? 'mine' : 'other') : 'free';

/** "Claimed by Alice (until 10:05)", or that the viewer holds it; nothing on a free or decided item. */
export function claimNote(item: ReviewItem, session: ReviewerSession, now = new Date()): string {
  if (item.status !== 'pending' || !claimHolds(item.claim, now)) return '';
  return item.claim.by === session.principal.id
    ? `<p class="claim claim-mine" role="note">You are reviewing this item (claimed until ${clock(item.claim.until)}, renewed while this card is open).</p>`
    : `<p class="claim claim-other" role="note"><strong>Claimed by ${esc(item.claim.name)}</strong> (until ${clock(item.claim.until)}): they are reviewing it.</p>${
        session.principal.roles.includes('lead') ? breakClaimForm(item.claim.name) : ''
      }`;
}

/** A lead's form to end another reviewer's claim (they went away with the card open), with a reason: audited. */
const breakClaimForm = (holder: string) => `<form id="break-claim" class="break-claim">
    <label for="break-reason">End ${esc(holder)}'s claim (leads; audited) because</label>
    <input id="break-reason" name="reason" required minlength="3" maxlength="2000" autocomplete="off">
    <button type="submit">End claim</button>
    <output id="break-result" class="result" aria-live="polite"></output>
  </form>`;

/** The list's mark on an item someone else is reviewing. */
export function claimBadge(item: ReviewItem, viewer: string | undefined, now = new Date()): string {
  if (!viewer || !claimHolds(item.claim, now) || item.claim.by === viewer) return '';
  return ` · <span class="claimed">claimed by ${esc(item.claim.name)}</span>`;
}

/** "1 of 2 approvals: alice (10:02)". */
export function quorumProgress(item: ReviewItem, context?: CardContext): string {
  if (item.quorum < 2 || !context) return '';
  const who = context.approvals.map((a) => `${esc(a.approver)} (${clock(a.approvedAt)})`).join(', ');
  return `<p class="quorum-progress" role="status">${Math.min(context.approvals.length, item.quorum)} of ${item.quorum} approvals${who ? `: ${who}` : ': none yet'}</p>`;
}

/** The policy decision's risk score, the rules that fired and its class; items queued before they were kept say so. */
export function riskSection(item: ReviewItem): string {
  if (item.score === undefined)
    return '<h3>Risk</h3><p class="risk risk-unknown">No risk assessment was kept for this item (queued before the card showed one).</p>';
  const rules = item.rulesFired?.length ? `<ul class="rules-fired">${item.rulesFired.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>` : '<p>No rule fired.</p>';
  return `<h3>Risk</h3>
  <p class="risk">Risk score <strong class="risk-score">${esc(Number(item.score.toFixed(3)))}</strong>${item.riskClass ? ` · class <strong class="risk-class">${esc(item.riskClass)}</strong>` : ''}</p>
  <h4>Rules that fired</h4>${rules}`;
}

/** The same target's and the same agent's recent decisions. */
export function recentSection(item: ReviewItem, context: CardContext | undefined, viewerRoles: readonly string[]): string {
  if (!context) return '';
  // A reason is free text: shown masked (items decided before reasons were stored masked were not), and only on items
  // the viewer could have decided (a finance refund's reason is not a security reviewer's to read).
  const reasonOf = (i: ReviewItem) =>
    !i.decisionReason
      ? ''
      : holdsItemRole(i, viewerRoles)
        ? `: <q>${esc(maskText(i.decisionReason))}</q>`
        : ' (reason not shown: an item of roles you do not hold)';
  const list = (id: string, title: string, items: ReviewItem[], none: string) => `
  <h3 id="${id}-h">${title}</h3>
  ${
    items.length
      ? `<ul class="recent" id="${id}" aria-labelledby="${id}-h">${items
          .map(
            (i) =>
              `<li><span class="recent-status status-${esc(i.status)}">${esc(i.status)}</span> ${esc(i.proposal.actionType)} on ${shownName(i.proposal.target)}` +
              `${i.deciders?.length ? ` by ${esc(i.deciders.join(', '))}` : ''}${i.decidedAt ? ` at ${clock(i.decidedAt)} on ${esc(i.decidedAt.slice(0, 10))}` : ''}` +
              `${reasonOf(i)}</li>`,
          )
          .join('')}</ul>`
      : `<p class="recent-none" id="${id}">${none}</p>`
  }`;
  return (
    list('recent-target', `Recent decisions on ${shownName(item.proposal.target)}`, context.sameTarget, 'None yet.') +
    list('recent-agent', `Recent decisions on proposals of ${shownName(item.proposal.proposer.agentId)}`, context.sameAgent, 'None yet.')
  );
}

/** On a critical item, a session without a second factor is told so and offered to verify with one. */
export function stepUpNote(item: ReviewItem, session: ReviewerSession, now = new Date()): string {
  if (item.status !== 'pending' || !stepUpRequired(item) || hasSecondFactor(session.principal, now)) return '';
  const returnTo = `/reviews/${encodeURIComponent(item.actionId)}`;
  // A second factor given too long ago (STEP_UP_MAX_AGE_MS) is asked for again, as one never given is.
  const stale = session.amr.includes('mfa');
  const said = stale
    ? `You gave one when you signed in, more than ${STEP_UP_MAX_AGE_MS / 60_000} minutes ago: it must be recent.`
    : `You signed in with ${esc(signedInWith(session.amr))}.`;
  return `<div class="step-up" role="note">
    <p>Approving a <strong>${esc(item.slaClass)}</strong>-class action needs a second factor. ${said}</p>
    <p><a id="step-up" href="/auth/sign-in?stepUp=mfa&amp;returnTo=${esc(encodeURIComponent(returnTo))}">Verify with a second factor</a> (you sign in again, with your one-time code, and are brought back here).
    Without a second factor set up, you can still reject it; an approval must come from a reviewer who has one.</p>
  </div>`;
}

// OpenID Connect's authentication method references (RFC 8176), as a reviewer reads them.
const METHODS: Record<string, string> = { pwd: 'a password', otp: 'a one-time code', mfa: 'a second factor', hwk: 'a security key', sms: 'a text message' };
const signedInWith = (amr: string[]) => (amr.length ? amr.map((m) => METHODS[m] ?? m).join(' and ') : 'no recorded method');

/** Why a pending item's card has no decision form for this viewer. */
export function notDecidableNote(item: ReviewItem, session: ReviewerSession): string {
  if (item.approvedBy?.includes(session.principal.id)) {
    return `<p class="note approved-by-you" role="note">You approved this already (${item.approvedBy.length} of ${item.quorum} approvals): the rest of its quorum is for other reviewers.</p>`;
  }
  if (item.authoredBy?.includes(session.principal.id)) {
    return '<p class="note authored-by-you" role="note">You wrote changes into this version (approve with changes): another reviewer decides it.</p>';
  }
  return '<p class="note" role="note">You cannot decide this item.</p>';
}

/** The note on a decided item: an expiry says what it means. */
export function decidedNote(item: ReviewItem): string {
  if (item.status === 'expired') {
    return `<p class="note decided expired">Expired${item.decidedAt ? ` at ${clock(item.decidedAt)}` : ''}: no decision came within its ${esc(item.slaClass)} SLA, so it will never be executed.</p>`;
  }
  return `<p class="note decided">Decided: ${esc(item.status)}${item.deciders?.length ? ` by ${esc(item.deciders.join(', '))}` : ''}.</p>`;
}
