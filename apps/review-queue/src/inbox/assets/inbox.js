// The inbox's one script: no framework, no build step. The server renders every fragment; this swaps them in,
// keeps countdowns current, listens to live updates (server-sent events), sends decisions with the CSRF token,
// and gives the keys j/k (next/previous), a (approve), r (reject).
'use strict';

// What a reviewer is writing on a card survives that card being rendered again (news of its item, their own claim
// coming back): the reason, the "approve with changes" form (open or not, and its text), where the focus was, and
// what the card last told them ("Give a reason…", "Not recorded: …") while its decision form is still there.
// `swap` puts the new card in; only ever called for the same item's card.
function keepDraft(swap) {
  const byId = (id) => document.getElementById(id);
  const fields = ['reason', 'revise-parameters', 'revise-reason'].map((id) => [id, byId(id)?.value]);
  const open = byId('revise-form')?.hidden === false;
  const focused = document.activeElement?.id;
  const told = byId('decision-result') && { text: byId('decision-result').textContent, className: byId('decision-result').className };
  swap();
  for (const [id, value] of fields) if (value !== undefined && byId(id)) byId(id).value = value;
  // Once the item can no longer be decided here (decided elsewhere, expired), an old prompt to decide would mislead.
  if (told?.text && byId('decision-result') && (byId('decide') || byId('revise-form'))) {
    byId('decision-result').textContent = told.text;
    byId('decision-result').className = told.className;
  }
  if (open && byId('revise-form')) {
    byId('revise-form').hidden = false;
    byId('revise-open')?.setAttribute('aria-expanded', 'true');
  }
  if (focused) byId(focused)?.focus();
}

// A decision on its way: what the card said after an earlier try ("Not recorded: …") no longer holds.
function sending(result) {
  result.className = 'result sending';
  result.textContent = 'Recording your decision…';
}

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
  const $ = (sel, root) => (root ?? document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root ?? document).querySelectorAll(sel));
  let intent = null;

  const announce = (text) => {
    const live = $('#live');
    if (live) live.textContent = text;
  };
  const toSignIn = () => location.assign(`/auth/sign-in?returnTo=${encodeURIComponent(location.pathname + location.search)}`);
  const filters = () => {
    const form = $('form.filters');
    const params = form ? new URLSearchParams(new FormData(form)) : new URLSearchParams();
    for (const [k, v] of Array.from(params)) if (!v) params.delete(k);
    return params;
  };
  const selectedId = () => $('.items a[aria-current="true"]')?.dataset.actionId;

  // `background`: asked by the page itself (news on the live stream), not by the reviewer: it does not keep their session
  // from idling out (X-Inbox-Background; the server then leaves its idle clock as it is).
  // `latest`: whether this answer is still wanted. A refresh the page asked for itself, refused past the reviewer's read
  // limits (429: a burst of news, several tabs open; docs/adr/0048), waits as `Retry-After` says and is asked again while
  // its answer is still wanted: the list and the card asked last are shown, however many were asked at once. What the
  // reviewer asked for (a click, a reveal, which has limits of its own) is refused with its message, as before.
  async function fetchHtml(url, background = false, latest = () => true) {
    const headers = background ? { Accept: 'text/html', 'X-Inbox-Background': '1' } : { Accept: 'text/html' };
    for (;;) {
      const res = await fetch(url, { headers, credentials: 'same-origin' });
      if (res.status === 401) return toSignIn();
      if (res.status === 429 && background) {
        await res.arrayBuffer().catch(() => undefined);
        const seconds = Number(res.headers.get('Retry-After'));
        await new Promise((resolve) => setTimeout(resolve, (Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 60) : 1) * 1000));
        if (!latest()) return undefined;
        continue;
      }
      if (!res.ok) throw new Error((await res.json().catch(() => ({}))).message ?? `${res.status}`);
      return res.text();
    }
  }

  // Countdowns: "12m 04s left", then "overdue".
  function tick() {
    const now = Date.now();
    for (const el of $$('[data-due]')) {
      const s = Math.round((Date.parse(el.dataset.due) - now) / 1000);
      const h = Math.floor(s / 3600);
      const m = Math.floor((s % 3600) / 60);
      el.textContent = s <= 0 ? 'overdue' : h ? `${h}h ${String(m).padStart(2, '0')}m left` : `${m}m ${String(s % 60).padStart(2, '0')}s left`;
    }
  }

  // Lists and cards are fetched concurrently (news arrives while one is on its way), and their answers can come back in
  // any order: only the answer to the latest request is shown, so an older picture never replaces a newer one.
  let listAsked = 0;
  let cardAsked = 0;

  async function refreshList(background = false) {
    const params = filters();
    const sel = selectedId();
    if (sel) params.set('selected', sel);
    const asked = ++listAsked;
    const html = await fetchHtml(`/reviews/list?${params}`, background, () => asked === listAsked);
    // Counted whether shown or not, so that a test can wait for an answer it delayed.
    document.body.dataset.listsAnswered = String(Number(document.body.dataset.listsAnswered ?? 0) + 1);
    if (asked !== listAsked) return;
    if (html !== undefined) $('#queue').innerHTML = html;
    // A card opened while the list was on its way stays marked: the list was rendered for the card open before it.
    markCurrent($('article.card')?.dataset.actionId);
    tick();
  }

  /** Marks the list's link of the open card as the current one (and no other). */
  function markCurrent(actionId) {
    for (const a of $$('.items a.item')) {
      if (a.dataset.actionId === actionId) a.setAttribute('aria-current', 'true');
      else a.removeAttribute('aria-current');
    }
  }

  async function openCard(actionId, { reveal = false, push = true, background = false } = {}) {
    const asked = ++cardAsked;
    const html = await fetchHtml(`/reviews/${encodeURIComponent(actionId)}/card${reveal ? '?reveal=true' : ''}`, background, () => asked === cardAsked);
    if (html === undefined || asked !== cardAsked) return;
    const pane = $('#card');
    const before = $('article.card');
    // The same card again (news of its item, e.g. a claim): what the reviewer was writing stays, and so does their focus;
    // while their own decision is on its way, its answer stands and nothing replaces the card.
    const same = before?.dataset.actionId === actionId && !reveal;
    if (same && before.dataset.deciding) return;
    const swap = () => (pane.innerHTML = html);
    if (same) keepDraft(swap);
    else swap();
    markCurrent(actionId);
    if (push) history.pushState({ actionId }, '', `/reviews/${encodeURIComponent(actionId)}${filters().size ? `?${filters()}` : ''}`);
    tick();
    if (same) return;
    intent = null;
    pane.focus();
  }

  function move(step) {
    const links = $$('.items a.item');
    if (!links.length) return;
    const at = links.findIndex((a) => a.getAttribute('aria-current') === 'true');
    const next = links[Math.min(Math.max(at < 0 ? (step > 0 ? 0 : links.length - 1) : at + step, 0), links.length - 1)];
    void openCard(next.dataset.actionId);
  }

  // A decision form, and not one disabled while another reviewer's claim holds (the server would refuse it).
  const usable = () => !!$('#decide') && !$('#decide').closest('fieldset[disabled]');

  async function decide(decision) {
    const form = $('#decide');
    const article = $('article.card');
    const result = $('#decision-result');
    if (!form || !article) return;
    const reason = $('#reason', form).value.trim();
    if (reason.length < 3) {
      intent = decision;
      $('#reason', form).focus();
      result.textContent = `Give a reason (at least 3 letters or digits), then press Enter to ${decision}.`;
      return;
    }
    for (const b of $$('button', form)) b.disabled = true;
    // While this page's own decision is on its way, the live feed's news of it must not replace the card (and its answer).
    article.dataset.deciding = 'true';
    sending(result);
    const res = await fetch(`/reviews/${encodeURIComponent(article.dataset.actionId)}/decision`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify({ decision, reason, shownDigest: article.dataset.shownDigest }),
    });
    const body = await res.json().catch(() => ({}));
    if (res.status === 401) return toSignIn();
    if (!res.ok) {
      delete article.dataset.deciding;
      for (const b of $$('button', form)) b.disabled = false;
      result.className = 'result refused';
      result.textContent = `Not recorded: ${body.message ?? res.statusText}`;
      return;
    }
    const said =
      body.status === 'awaiting-quorum'
        ? `Your approval is recorded: ${body.approvers.length} of ${body.quorum} approvals so far.`
        : `${body.status === 'approved' ? 'Approved' : 'Rejected'}: the signed decision is recorded.`;
    result.className = 'result done';
    result.textContent = said;
    form.remove();
    intent = null;
    // Decided: the card as it now stands. Awaiting the quorum, it stays as it is (its form gone: this reviewer has approved).
    if (body.status !== 'awaiting-quorum') await showDecided(article.dataset.actionId, said);
    await refreshList();
  }

  // The card as it stands after this reviewer's decision (status, quorum, no form), with what the decision answered.
  async function showDecided(actionId, said) {
    const res = await fetch(`/reviews/${encodeURIComponent(actionId)}/card`, { headers: { Accept: 'text/html' }, credentials: 'same-origin' }).catch(
      () => undefined,
    );
    const article = $('article.card');
    if (!res?.ok || article?.dataset.actionId !== actionId) return;
    $('#card').innerHTML = await res.text();
    const result = $('#decision-result');
    if (result) {
      result.className = 'result done';
      result.textContent = said;
    }
  }
  // The revision form (the next script) shows its outcome the same way.
  window.countersignShowDecided = showDecided;

  document.addEventListener('click', (e) => {
    const target = e.target instanceof Element ? e.target : null;
    const item = target?.closest('.items a.item');
    if (item && !e.ctrlKey && !e.metaKey && !e.shiftKey) {
      e.preventDefault();
      void openCard(item.dataset.actionId);
      return;
    }
    const reveal = target?.closest('a[data-reveal]');
    if (reveal) {
      e.preventDefault();
      void openCard($('article.card').dataset.actionId, { reveal: true, push: false });
      return;
    }
    const preset = target?.closest('button.preset');
    if (preset) {
      const input = $('#reason');
      input.value = preset.dataset.reason;
      input.focus();
      return;
    }
    if (target?.closest('#sign-out')) {
      void fetch('/auth/sign-out', { method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf } })
        .then((r) => r.json())
        .then((b) => location.assign(b.next ?? '/auth/signed-out'));
    }
  });

  document.addEventListener('submit', (e) => {
    if (!(e.target instanceof HTMLFormElement) || e.target.id !== 'decide') return;
    e.preventDefault();
    const decision = e.submitter?.value ?? intent;
    if (decision) void decide(decision);
  });

  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const field = e.target instanceof Element && e.target.closest('input, textarea, select');
    if (field) {
      // Enter in the reason sends the decision chosen with a or r; without one, it does nothing (never a default approval).
      if (e.key === 'Enter' && field.id === 'reason') {
        e.preventDefault();
        if (intent) void decide(intent);
        else $('#decision-result').textContent = 'Choose: press Approve or Reject (or a / r outside the reason field).';
      }
      return;
    }
    if (e.key === 'j') move(1);
    else if (e.key === 'k') move(-1);
    else if (e.key === 'a' && usable()) void decide('approve');
    else if (e.key === 'r' && usable()) void decide('reject');
    else return;
    e.preventDefault();
  });

  window.addEventListener('popstate', () => {
    const m = /^\/reviews\/([^/]+)$/.exec(location.pathname);
    if (m) void openCard(decodeURIComponent(m[1]), { push: false });
  });

  // The live stream. A browser reconnects a stream that ended, but not one refused (a 429 past the reviewer's read rate or
  // their 8 open streams, a 503 while the server starts): the page opens it again after a while, on its own, and the
  // `ready` that follows fetches the list, so what happened meanwhile is shown.
  function live(delay = 2000) {
    const events = new EventSource('/reviews/events');
    events.addEventListener('ready', () => {
      delay = 2000;
      if (document.body.dataset.live === 'closed') announce('Live updates again.');
      document.body.dataset.live = 'ready';
      void refreshList(true);
    });
    events.addEventListener('error', () => {
      if (events.readyState !== EventSource.CLOSED) return;
      if (document.body.dataset.live !== 'closed') announce('Live updates paused: the list may be out of date. Trying again.');
      document.body.dataset.live = 'closed';
      setTimeout(() => {
        // Signed out meanwhile: the list's 401 sends the browser to sign in. Else the stream is opened again.
        refreshList(true).catch(() => undefined);
        live(Math.min(delay * 2, 60_000));
      }, delay);
    });
    events.addEventListener('change', (e) => {
      const change = JSON.parse(e.data);
      announce(
        change.type === 'arrived'
          ? 'A new item is waiting.'
          : change.type === 'expired'
            ? 'An item expired.'
            : change.type === 'decided'
              ? 'An item was decided.'
              : 'An item changed.',
      );
      void refreshList(true);
      const open = $('article.card');
      // The open card's item left the queue: show it as it now stands (its decision form goes).
      if (open && open.dataset.actionId === change.actionId && change.type !== 'arrived' && $('#decide') && !open.dataset.deciding) {
        void openCard(change.actionId, { push: false, background: true });
      }
    });
    events.addEventListener('signed-out', () => {
      events.close();
      toSignIn();
    });
  }

  if ($('#queue')) {
    live();
    setInterval(tick, 1000);
    tick();
  }
})();

// Approve with changes (docs/adr/0017): the card's button opens an editor of the parameters; sending it revises the
// item (it ends as revised) and the answer names the new action, evaluated again, which the card then shows.
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
  const $ = (sel, root) => (root ?? document).querySelector(sel);

  function toggle(open) {
    const button = $('#revise-open');
    const form = $('#revise-form');
    if (!button || !form) return;
    form.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    (open ? $('#revise-parameters') : button).focus();
  }

  async function send(form) {
    const article = $('article.card');
    const result = $('#decision-result');
    const reason = $('#revise-reason', form).value.trim();
    if (reason.length < 3) {
      result.className = 'result refused';
      result.textContent = 'Give a reason for the changes (at least 3 letters or digits).';
      $('#revise-reason', form).focus();
      return;
    }
    for (const b of form.querySelectorAll('button')) b.disabled = true;
    article.dataset.deciding = 'true';
    sending(result);
    const res = await fetch(`/reviews/${encodeURIComponent(form.dataset.actionId)}/revise`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify({ parameters: $('#revise-parameters', form).value, reason, shownDigest: article.dataset.shownDigest }),
    });
    const body = await res.json().catch(() => ({}));
    if (res.status === 401) return location.assign(`/auth/sign-in?returnTo=${encodeURIComponent(location.pathname)}`);
    if (!res.ok) {
      delete article.dataset.deciding;
      for (const b of form.querySelectorAll('button')) b.disabled = false;
      result.className = 'result refused';
      result.textContent = `Not recorded: ${body.message ?? res.statusText}`;
      return;
    }
    const said = `Approved with changes: new action ${body.newActionId} was created with your changes and is evaluated again; your approval counts for it.`;
    result.className = 'result done';
    result.dataset.newActionId = body.newActionId;
    result.textContent = said;
    $('#decide')?.remove();
    form.closest('section.revise')?.remove();
    await window.countersignShowDecided?.(form.dataset.actionId, said);
    const shown = $('#decision-result');
    if (shown) shown.dataset.newActionId = body.newActionId;
  }

  document.addEventListener('click', (e) => {
    const target = e.target instanceof Element ? e.target : null;
    if (target?.closest('#revise-open')) toggle($('#revise-form')?.hidden ?? false);
    else if (target?.closest('.revise-cancel')) toggle(false);
  });

  document.addEventListener('submit', (e) => {
    if (!(e.target instanceof HTMLFormElement) || e.target.id !== 'revise-form') return;
    e.preventDefault();
    void send(e.target);
  });
})();

// Claims (leases, docs/adr/0016): a card that opens claims its item, so no other reviewer works it meanwhile; the claim
// is renewed every minute while the card stays open with its decision form, and released when another card opens or
// the page goes. The server renders who holds a claim (`data-claim` on the card: mine, other, free); after a claim
// changed hands the card is fetched again. Times in `time[data-clock]` are shown in the reviewer's own time zone.
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
  const $ = (sel, root) => (root ?? document).querySelector(sel);
  const RENEW_MS = 60_000;
  let claimed = null;
  // The card whose claim this lead ended: not claimed for them in its place (it is freed for the others).
  let broke = null;

  const post = (actionId, what, keepalive = false, body = {}) =>
    fetch(`/reviews/${encodeURIComponent(actionId)}/${what}`, {
      method: 'POST',
      credentials: 'same-origin',
      keepalive,
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify(body),
    });

  function clocks() {
    for (const el of document.querySelectorAll('time[data-clock]')) {
      const d = new Date(el.getAttribute('datetime'));
      if (!Number.isNaN(d.getTime())) el.textContent = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    }
  }

  // `background`: not the reviewer opening the card, so the server claims nothing for them (X-Inbox-Background).
  async function refetch(actionId, background = false) {
    const headers = background ? { Accept: 'text/html', 'X-Inbox-Background': '1' } : { Accept: 'text/html' };
    const res = await fetch(`/reviews/${encodeURIComponent(actionId)}/card`, { headers, credentials: 'same-origin' });
    if (!res.ok) return;
    const html = await res.text();
    const article = $('article.card');
    // Only if that card is still the one shown (the reviewer may have moved on meanwhile) and no decision of theirs is
    // on its way; what is being written is kept.
    if (!article || article.dataset.actionId !== actionId || article.dataset.deciding) return;
    keepDraft(() => ($('#card').innerHTML = html));
  }

  // A card that shows a decision form claims its item, once per card opened (renewals come from the timer).
  async function onCard() {
    clocks();
    const article = $('article.card');
    const id = article?.dataset.actionId;
    if (!id || id === claimed) return;
    if (claimed) void post(claimed, 'release').catch(() => undefined);
    claimed = null;
    if (!$('#decide') || id === broke) return;
    claimed = id;
    const res = await post(id, 'claim').catch(() => undefined);
    if (!res) return;
    const now = res.ok ? 'mine' : res.status === 409 ? 'other' : article.dataset.claim;
    if (now !== article.dataset.claim) await refetch(id);
    if (!res.ok) claimed = null;
  }

  // A lead ends another reviewer's claim (the card's form shows to leads only; the server checks the role).
  document.addEventListener('submit', async (e) => {
    if (!(e.target instanceof HTMLFormElement) || e.target.id !== 'break-claim') return;
    e.preventDefault();
    const article = $('article.card');
    const result = $('#break-result');
    const reason = $('#break-reason').value.trim();
    if (!article || reason.length < 3) {
      result.textContent = 'Give a reason (at least 3 letters or digits).';
      return;
    }
    const id = article.dataset.actionId;
    // Before the request: the live stream's news of the break can render the card again before its answer is read.
    broke = id;
    const res = await post(id, 'claim/break', false, { reason }).catch(() => undefined);
    const body = res ? await res.json().catch(() => ({})) : {};
    if (!res?.ok) {
      broke = null;
      result.className = 'result refused';
      result.textContent = `Not ended: ${body.message ?? res?.statusText ?? 'no answer'}`;
      return;
    }
    await refetch(id, true);
    const told = $('#decision-result');
    if (told) told.textContent = `The claim of ${body.released?.name ?? body.released?.by} has ended: the item is free for any reviewer.`;
  });

  const pane = $('#card');
  if (!pane) return;
  new MutationObserver(() => void onCard()).observe(pane, { childList: true });
  void onCard();
  setInterval(() => {
    const article = $('article.card');
    // A renewal: it keeps the claim, not the session (an unattended card lets the session end when idle).
    if (claimed && article?.dataset.actionId === claimed && $('#decide')) void post(claimed, 'claim', false, { renewal: true }).catch(() => undefined);
  }, RENEW_MS);
  setInterval(clocks, 30_000);
  window.addEventListener('pagehide', () => {
    if (claimed) void post(claimed, 'release', true).catch(() => undefined);
  });
})();
