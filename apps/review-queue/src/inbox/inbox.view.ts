// The inbox's HTML, rendered on the server: every value goes through `esc`, nothing is loaded from elsewhere, and
// the one script (`/reviews/assets/inbox.js`) only fetches fragments rendered here, sends decisions and keys.
import type { Proposal } from '@countersign/contracts';
import type { ReviewItem } from '../review-item/review-item.repository';
import type { ReviewerSession } from './session.store';
import {
  CardContext,
  claimBadge,
  claimNote,
  claimState,
  clock,
  decidedNote,
  notDecidableNote,
  quorumProgress,
  recentSection,
  riskSection,
  stepUpNote,
} from './card-context.view';
import { revisionEditor } from './revision.view';
import { esc, shownName, shownValues } from './shown-text';

export { esc, shownJson, shownName, shownValues } from './shown-text';

/** The inbox's filters, from the query string: an SLA class, an action type, a tenant, an agent (empty: any). */
export interface InboxFilters {
  slaClass?: string;
  actionType?: string;
  tenant?: string;
  agentId?: string;
}

/**
 * What the class and action-type menus offer besides the first page's values: the running contract's SLA classes and
 * action types. From the first page alone, a type whose items all waited further down could not be chosen.
 */
export interface FilterChoices {
  slaClasses: string[];
  actionTypes: string[];
}

export const APPROVE_PRESETS = ['Checked against the source: as requested', 'Within policy and the customer history'];
export const REJECT_PRESETS = ['Wrong target', 'Amount or scope not justified', 'Needs more information from the requester'];

export function page(o: { title: string; session?: ReviewerSession; body: string; status?: string }): string {
  const s = o.session;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(o.title)} · Countersign</title>
<link rel="stylesheet" href="/reviews/assets/inbox.css">
${s ? `<meta name="csrf-token" content="${esc(s.csrf)}">` : ''}
<script src="/reviews/assets/inbox.js" defer></script>
</head>
<body>
<a class="skip" href="#card">Skip to the review card</a>
<header class="top">
  <p class="brand"><a href="/reviews">Countersign reviews</a></p>
  ${
    s
      ? `<p class="who">Signed in as <strong id="who">${esc(s.name)}</strong> <span class="roles">(${esc(s.principal.roles.join(', '))})</span></p>
  <button type="button" id="sign-out">Sign out</button>`
      : ''
  }
</header>
${o.body}
<p id="live" role="status" aria-live="polite" class="visually-hidden">${esc(o.status ?? '')}</p>
</body></html>`;
}

/** The inbox: filters, the queue, and the card pane (a selected item's card, or a hint). */
export function inboxBody(o: {
  items: ReviewItem[];
  all: ReviewItem[];
  filters: InboxFilters;
  choices?: FilterChoices;
  selected?: string;
  card?: string;
  viewer?: string;
}): string {
  return `<main class="inbox">
  <section class="queue" aria-labelledby="queue-heading">
    <h1 id="queue-heading">Waiting for you</h1>
    <p id="live-paused" class="result refused">Live updates paused: this list may be out of date. Trying again…</p>
    ${filtersForm(o.all, o.filters, o.choices)}
    <div id="queue">${queueList(o.items, o.selected, o.viewer)}</div>
    <p class="keys">Keys: <kbd>j</kbd>/<kbd>k</kbd> next/previous, <kbd>a</kbd> approve, <kbd>r</kbd> reject.</p>
  </section>
  <section id="card" class="card-pane" aria-label="Review card" tabindex="-1">
    ${o.card ?? '<p class="hint">Select an item to see what it would do.</p>'}
  </section>
</main>`;
}

function filtersForm(all: ReviewItem[], f: InboxFilters, choices: FilterChoices = { slaClasses: [], actionTypes: [] }): string {
  const values = (name: keyof InboxFilters, seen: string[]) => [...new Set([...seen, ...(f[name] ? [f[name]] : [])])].sort();
  const select = (name: keyof InboxFilters, label: string, seen: string[]) => `
      <label for="f-${name}">${label}</label>
      <select id="f-${name}" name="${name}">
        <option value="">Any</option>
        ${values(name, seen)
          .map((v) => `<option value="${esc(v)}"${f[name] === v ? ' selected' : ''}>${esc(v)}</option>`)
          .join('')}
      </select>`;
  // Tenants and agents are not known beforehand: typed, with the first page's as suggestions.
  const typed = (name: keyof InboxFilters, label: string, seen: string[]) => `
      <label for="f-${name}">${label}</label>
      <input id="f-${name}" name="${name}" list="f-${name}-seen" maxlength="200" autocomplete="off" placeholder="Any" value="${esc(f[name] ?? '')}">
      <datalist id="f-${name}-seen">${values(name, seen)
        .map((v) => `<option value="${esc(v)}"></option>`)
        .join('')}</datalist>`;
  return `<form class="filters" method="get" action="/reviews" aria-label="Filters">
      ${select('slaClass', 'Class', [...choices.slaClasses, ...all.map((i) => i.slaClass)])}
      ${select('actionType', 'Action type', [...choices.actionTypes, ...all.map((i) => i.proposal.actionType)])}
      ${typed(
        'tenant',
        'Tenant',
        all.map((i) => i.proposal.tenant),
      )}
      ${typed(
        'agentId',
        'Agent',
        all.map((i) => i.proposal.proposer.agentId),
      )}
      <button type="submit">Filter</button>
    </form>`;
}

/** The list fragment (`/reviews/list`), most urgent first. */
export function queueList(items: ReviewItem[], selected?: string, viewer?: string): string {
  if (!items.length) return '<p class="empty" id="queue-empty">Nothing waits for you.</p>';
  return `<ol class="items" aria-label="Review items, most urgent first" data-count="${items.length}">${items
    .map(
      (i) => `
    <li><a class="item" href="/reviews/${encodeURIComponent(i.actionId)}" data-action-id="${esc(i.actionId)}"${i.actionId === selected ? ' aria-current="true"' : ''}>
      <span class="what">${esc(i.proposal.actionType)}</span> <span class="target">${shownName(i.proposal.target)}</span>
      <span class="meta">${shownName(i.proposal.tenant)} · <span class="class class-${esc(i.slaClass)}">${esc(i.slaClass)}</span>${i.escalatedAt ? ' · escalated' : ''}${i.quorum > 1 ? ` · quorum ${i.quorum}${i.approvedBy?.length ? ` (${i.approvedBy.length} approved)` : ''}` : ''}${claimBadge(i, viewer)}</span>
      <time class="due" datetime="${esc(i.dueAt)}" data-due="${esc(i.dueAt)}">${esc(timeLeft(i.dueAt))}</time>
    </a></li>`,
    )
    .join('')}</ol>`;
}

/** A card: everything a decision rests on, and the decision form (unless the item is decided). */
export function card(o: {
  item: ReviewItem;
  shownDigest: string;
  session: ReviewerSession;
  revealed?: Proposal;
  canReveal: boolean;
  mayDecide: boolean;
  /** Approvals so far and recent decisions (`card-context.view.ts`). */
  context?: CardContext;
  /** The running contract's reading of an item queued under an older one (review-item/contract-now.ts). */
  contractNow?: { prohibitedBy: string };
  /** The flag of the action type's kill switch, when it is off now (kill-switches/kill-switch-now.ts). */
  killSwitchOff?: string;
}): string {
  const { item } = o;
  const p = o.revealed ?? item.proposal;
  const row = (k: string, v: string, cls = '') => `<dt>${k}</dt><dd${cls ? ` class="${cls}"` : ''}>${v}</dd>`;
  const pending = item.status === 'pending';
  return `<article class="card" data-action-id="${esc(item.actionId)}" data-shown-digest="${esc(o.shownDigest)}" data-claim="${claimState(item, o.session.principal.id)}" aria-labelledby="card-title">
  <h2 id="card-title">${esc(p.actionType)} on <span class="target">${shownName(p.target)}</span></h2>
  ${contractNowNote(item, o.contractNow)}${killSwitchNote(item, o.killSwitchOff)}${claimNote(item, o.session)}${quorumProgress(item, o.context)}
  <dl class="facts">
    ${row('Action type', esc(p.actionType), 'f-action-type')}
    ${row('Target', shownName(p.target), 'f-target')}
    ${row('Tenant / region', `${shownName(p.tenant)} / ${shownName(p.region)}`, 'f-tenant')}
    ${row('Proposer agent', shownName(p.proposer.agentId), 'f-agent')}
    ${row('Model', `${shownName(p.proposer.model.name)} ${shownName(p.proposer.model.version)}`, 'f-model')}
    ${row('Prompt template', shownName(p.proposer.promptTemplateVersion), 'f-prompt')}
    ${row('Confidence', String(p.confidence), 'f-confidence')}
    ${row('Contract version', esc(item.contractVersion), 'f-contract')}
    ${row('Class', esc(item.slaClass), 'f-class')}
    ${row('Status', esc(item.status), 'f-status')}
    ${pending ? row('Time left', `<time data-due="${esc(item.dueAt)}" datetime="${esc(item.dueAt)}">${esc(timeLeft(item.dueAt))}</time>`, 'f-sla') : ''}
    ${row('Escalation', item.escalatedAt ? `escalated at ${clock(item.escalatedAt)}` : item.escalateAt ? `at ${clock(item.escalateAt)} to ${esc((item.escalateTo ?? []).join(', ') || 'the next tier')}` : 'none', 'f-escalation')}
    ${row('Who may decide', esc(item.requiredRoles.join(', ') || 'any reviewer'), 'f-roles')}
    ${row('Quorum', `${item.quorum} approval${item.quorum > 1 ? 's' : ''} needed`, 'f-quorum')}
  </dl>
  ${riskSection(item)}
  <h3>Why it needs a person</h3>
  <ul class="reasons">${item.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>
  <h3>Parameters ${o.revealed ? '<span class="badge revealed">real values: your viewing is recorded</span>' : '<span class="badge">regulated data masked</span>'}</h3>
  ${shownValues(p.parameters, 'params', 'Parameters')}
  ${o.canReveal && !o.revealed && pending ? `<p><a class="reveal" href="/reviews/${encodeURIComponent(item.actionId)}?reveal=true" data-reveal>Show the real values (recorded in the audit trail)</a></p>` : ''}
  ${Object.keys(p.context ?? {}).length ? `<h3>Context <span class="badge">as the agent wrote it: not checked by Countersign</span></h3>${shownValues(p.context, 'context', 'Context')}` : ''}
  ${o.mayDecide ? stepUpNote(item, o.session) : ''}
  ${pending && o.mayDecide ? whileHeld(item, o.session, decisionForm(item) + revisionEditor(item, p.parameters)) : pending ? notDecidableNote(item, o.session) : decidedNote(item)}
  <p id="decision-result" role="alert" class="result"></p>
  ${recentSection(item, o.context, o.session.principal.roles)}
</article>`;
}

/**
 * A pending item whose action type's kill switch is off: the executor refuses an approved action for good while it is
 * (ADR 0014), so the reviewer reads so before approving. Whoever switches it on again does it through a raise request.
 */
function killSwitchNote(item: ReviewItem, flag: string | undefined): string {
  if (!flag || item.status !== 'pending') return '';
  return `<div class="contract-now kill-switch-off" role="note">
    <p><strong>The kill switch of ${esc(item.proposal.actionType)} is off</strong> (${esc(flag)}): an approval now will not be executed, and the action ends refused. Reject it, or wait until the switch is on again.</p>
  </div>`;
}

/**
 * A pending item the running contract now prohibits (it changed since the item was queued): an approval will not
 * execute, and the reviewer reads so before deciding, not from the executor's refusal after.
 */
function contractNowNote(item: ReviewItem, now: { prohibitedBy: string } | undefined): string {
  if (!now || item.status !== 'pending') return '';
  return `<div class="contract-now" role="note">
    <p>The contract changed since this item was queued (under ${esc(item.contractVersion)}): <strong>contract ${esc(now.prohibitedBy)} prohibits this proposal</strong>. An approval will not be executed; reject it, or let it expire.</p>
  </div>`;
}

/**
 * The decision forms, disabled while another reviewer's claim holds: the server would refuse the decision anyway (409),
 * and a form that looks usable invites writing a reason for nothing. Their claim ending is news of the item, which
 * renders the card again with the forms usable (and claims it for this reviewer).
 */
function whileHeld(item: ReviewItem, session: ReviewerSession, forms: string): string {
  if (claimState(item, session.principal.id) !== 'other') return forms;
  return `<fieldset class="held" disabled aria-describedby="held-note">
    <legend class="visually-hidden">Decision (claimed by another reviewer)</legend>
    <p id="held-note" class="help">${esc(item.claim!.name)} is reviewing this item: you can decide once their claim ends. This card updates by itself.</p>
    ${forms}
  </fieldset>`;
}

function decisionForm(item: ReviewItem): string {
  const presets = (kind: string, list: string[]) =>
    list.map((r) => `<button type="button" class="preset preset-${kind}" data-reason="${esc(r)}">${esc(r)}</button>`).join(' ');
  return `<form id="decide" class="decide" data-action-id="${esc(item.actionId)}" aria-label="Decision" novalidate>
    <label for="reason">Reason (required; recorded with your decision)</label>
    <input id="reason" name="reason" minlength="3" maxlength="2000" required autocomplete="off" aria-describedby="reason-help">
    <p id="reason-help" class="help">Pick a reason or write your own. <kbd>Enter</kbd> sends the decision chosen with <kbd>a</kbd> or <kbd>r</kbd>.</p>
    <div class="presets" role="group" aria-label="Reasons to approve">${presets('approve', APPROVE_PRESETS)}</div>
    <div class="presets" role="group" aria-label="Reasons to reject">${presets('reject', REJECT_PRESETS)}</div>
    <div class="buttons">
      <button type="submit" name="decision" value="approve" class="approve">Approve</button>
      <button type="submit" name="decision" value="reject" class="reject">Reject</button>
    </div>
  </form>`;
}

/** "12m 04s left", "overdue": the script keeps it current. */
export function timeLeft(dueAt: string, now = Date.now()): string {
  const s = Math.round((Date.parse(dueAt) - now) / 1000);
  if (s <= 0) return 'overdue';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h ${String(m).padStart(2, '0')}m left` : `${m}m ${String(s % 60).padStart(2, '0')}s left`;
}
