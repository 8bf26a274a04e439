// real: Chromium (Debian's, driven by playwright-core), the local OpenID Connect provider (oidc-provider, code + PKCE,
// TOTP for max), openid-client, the review queue's HTTP app (Nest) with its inbox, sessions, ClaimService,
// ApprovalService and the review clock (running, with a short period), PostgreSQL (a database cloned from the migrated
// template), axe-core; fake: the bus (in memory, recording what is published) and intake (items are added to the
// repository as the review consumer adds them). (All started by `startInboxHarness`, testing/inbox.harness.ts.)
import type { Page } from 'playwright-core';
import { TOPICS } from '@countersign/contracts';
import { totpCode } from '@countersign/identity';
import { eventually } from '@countersign/testing';
import { InMemorySessionStore } from './in-memory-session.store';
import type { SessionRecord } from './session.store';
import { InboxHarness, PASSWORD, startInboxHarness } from './testing/inbox.harness';

/** The inbox's session store, counting the requests that counted as a reviewer's activity (a session's idle clock reset). */
class CountingSessionStore extends InMemorySessionStore {
  readonly activity = new Map<string, number>();
  override async touch(key: string, record: SessionRecord, expiresAt: number): Promise<boolean> {
    if (record.kind === 'session') this.activity.set(record.principal.id, (this.activity.get(record.principal.id) ?? 0) + 1);
    return super.touch(key, record, expiresAt);
  }
}

jest.setTimeout(180_000);

describe('the inbox: claims, quorum, step-up, live expiry and the fuller card, in a real browser', () => {
  let h: InboxHarness;
  const sessions = new CountingSessionStore();
  beforeAll(async () => {
    // The review clock runs for real, often: an item whose due time passes expires while a reviewer looks at it.
    h = await startInboxHarness('inbox-claims', { options: { clock: { periodMs: 500 } }, inbox: { sessions } });
  }, 180_000);
  afterAll(() => h?.close(), 60_000);

  /** Sends a decision from the page as its script would (the session's CSRF token and the card's digest). */
  const post = async (page: Page, actionId: string, decision: 'approve' | 'reject', reason: string) => {
    const sent = {
      actionId,
      decision,
      reason,
      csrf: (await page.getAttribute('meta[name="csrf-token"]', 'content'))!,
      shownDigest: (await page.getAttribute('article.card', 'data-shown-digest'))!,
    };
    return page.evaluate(async ({ actionId, decision, reason, csrf, shownDigest }) => {
      const res = await fetch(`/reviews/${actionId}/decision`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
        body: JSON.stringify({ decision, reason, shownDigest }),
      });
      return { status: res.status, body: (await res.json()) as { message?: string; status?: string } };
    }, sent);
  };

  const openCard = async (page: Page, id: string) => {
    await page.click(`.items a[data-action-id="${id}"]`);
    await page.waitForSelector(`article.card[data-action-id="${id}"]`);
  };

  /** Max signs in with his password and his authenticator's one-time code: his session's `amr` includes `mfa`. */
  const signInWithCode = async (user: string) => {
    const context = await h.newContext();
    const page = await context.newPage();
    await page.goto(`${h.url}/reviews`);
    await page.fill('#username', user);
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector('#code');
    await page.fill('#code', totpCode(h.secrets[user].totpSecret!));
    await page.click('button[type=submit]');
    await page.waitForSelector('#who');
    await page.waitForSelector('body[data-live="ready"]');
    return page;
  };

  it('claims an item when its card opens: another reviewer sees who holds it, live, and their decision is refused until it is released', async () => {
    const alice = (await h.signIn('alice')).page;
    const bob = (await h.signIn('bob')).page;
    const id = await h.queue({ target: 'order-claimed' });
    const other = await h.queue({ target: 'order-elsewhere' });
    await bob.waitForSelector(`.items a[data-action-id="${id}"]`);
    expect(await bob.$(`.items a[data-action-id="${id}"] .claimed`)).toBeNull();

    await alice.waitForSelector(`.items a[data-action-id="${id}"]`);
    await openCard(alice, id);
    await alice.waitForSelector('article.card[data-claim="mine"] .claim-mine');
    expect(await alice.textContent('.claim-mine')).toContain('You are reviewing this item');
    expect((await h.items.get(id))!.claim).toMatchObject({ by: 'alice', name: 'Alice Reviewer' });

    // Bob's list marks it live; his card names the holder and until when.
    await bob.waitForSelector(`.items a[data-action-id="${id}"] .claimed:has-text("claimed by Alice Reviewer")`);
    await openCard(bob, id);
    await bob.waitForSelector('article.card[data-claim="other"] .claim-other');
    expect(await bob.textContent('.claim-other')).toMatch(/Claimed by Alice Reviewer \(until \d\d:\d\d/);
    // Ending her claim is for leads: no such form for him.
    expect(await bob.$('#break-claim')).toBeNull();
    // His decision forms are disabled while her claim holds, and say so; the a key does nothing either.
    expect(await bob.textContent('#held-note')).toContain('Alice Reviewer is reviewing this item');
    expect(await bob.isDisabled('button.approve')).toBe(true);
    expect(await bob.isDisabled('#reason')).toBe(true);
    await bob.keyboard.press('a');
    expect(await bob.textContent('#decision-result')).toBe('');
    // The server refuses such a decision all the same (a stale page, a script of his own).
    const refused = await post(bob, id, 'approve', 'order checked, refund due');
    expect(refused.status).toBe(409);
    expect(refused.body.message).toMatch(/action .* is claimed by Alice Reviewer until \d\d:\d\d UTC/);
    expect((await h.items.get(id))!.status).toBe('pending');
    expect(await h.seriousViolations(bob)).toEqual([]);

    // Alice moves on to another item: her claim on the first is released, and Bob's card shows it free (and his), usable.
    await openCard(alice, other);
    await bob.waitForSelector('article.card[data-claim="mine"]');
    // The list follows on its own answer to the same news, which may come after the card's (CI, 2026-12-06).
    await bob.waitForSelector(`.items a[data-action-id="${id}"]:not(:has(.claimed))`);
    expect(await bob.$('fieldset.held')).toBeNull();
    await bob.click('button.preset-approve');
    await bob.click('button.approve');
    await h.decided(bob);
    expect(await h.items.get(id)).toMatchObject({ status: 'approved', deciders: ['bob'] });
  });

  it("lets a lead end another reviewer's claim from the card, with a reason, on the record: the item is free, not taken by the lead", async () => {
    const alice = (await h.signIn('alice')).page;
    const lena = (await h.signIn('lena')).page;
    // One any reviewer may work: the lead's inbox lists only the items of a role she holds.
    const id = await h.queue({ target: 'order-left-claimed' }, { requiredRoles: ['reviewer'] });
    await alice.waitForSelector(`.items a[data-action-id="${id}"]`);
    await openCard(alice, id);
    await alice.waitForSelector('article.card[data-claim="mine"]');
    await lena.waitForSelector(`.items a[data-action-id="${id}"] .claimed`);
    await openCard(lena, id);
    await lena.waitForSelector('article.card[data-claim="other"] #break-claim');
    expect(await h.seriousViolations(lena)).toEqual([]);
    // No reason, no request.
    await lena.click('#break-claim button');
    expect((await h.items.get(id))!.claim).toMatchObject({ by: 'alice' });
    await lena.fill('#break-reason', 'Alice is away until tomorrow');
    await lena.click('#break-claim button');
    await lena.waitForSelector('article.card[data-claim="free"]');
    // Said once the script has the answer (the live stream's news may show the card free before that).
    await lena.waitForSelector('#decision-result:has-text("The claim of Alice Reviewer has ended")');
    expect(await lena.$('#break-claim')).toBeNull();
    // Freed, and not claimed by the lead in its place; on the record under her, with her reason.
    expect((await h.items.get(id))!.claim).toBeUndefined();
    const event = h.bus.published.find((p) => p.topic === TOPICS.claimBroken && p.event.subject === id)!.event;
    expect(event.actor).toMatchObject({ id: 'lena' });
    expect(event.data).toMatchObject({ heldBy: 'alice', reason: 'Alice is away until tomorrow' });
    await alice.close();
    await lena.close();
  });

  it('news on the live stream refreshes the page without keeping its session alive: an unattended inbox idles out (red team, 2026-12-04)', async () => {
    const { page } = await h.signIn('carol');
    await page.waitForSelector('body[data-live="ready"]');
    const activity = () => sessions.activity.get('carol') ?? 0;
    const before = activity();
    const answered = async () => Number((await page.getAttribute('body', 'data-lists-answered')) ?? 0);
    const listsBefore = await answered();
    // An item arrives: the stream says so, and the page's script fetches the list on its own.
    const id = await h.queue({ target: 'order-news-only' });
    await page.waitForSelector(`.items a[data-action-id="${id}"]`);
    await eventually(async () => expect(await answered()).toBeGreaterThan(listsBefore));
    expect(activity()).toBe(before);
    // The reviewer's own click is activity.
    await openCard(page, id);
    expect(activity()).toBeGreaterThan(before);
    await page.close();
  });

  it('renewing an open card’s claim keeps the claim, not the session: an unattended card lets the session end (red team, 2026-12-02)', async () => {
    const { context, page } = await h.signIn('carol');
    const id = await h.queue({ target: 'order-left-open' });
    await page.waitForSelector(`.items a[data-action-id="${id}"]`);
    await openCard(page, id);
    await page.waitForSelector('article.card[data-claim="mine"]');
    // The page's own script stops here: what follows is exactly the requests below, with the page's cookie.
    const csrf = (await page.getAttribute('meta[name="csrf-token"]', 'content'))!;
    await page.close();
    // Leaving, the page releases its claim (`pagehide`, a keepalive request) and that counts as activity: counted only
    // once it has been handled (it once landed after `before` was read, and the count was one off).
    await eventually(async () => expect((await h.items.get(id))?.claim).toBeUndefined());
    const claim = (data: unknown) => context.request.post(`${h.url}/reviews/${id}/claim`, { data, headers: { 'X-CSRF-Token': csrf, Origin: h.url } });
    const activity = () => sessions.activity.get('carol') ?? 0;

    // A renewal does not take back a claim that ended (here: released as the page left; an escalation ends one too).
    expect((await claim({ renewal: true })).status()).toBe(409);
    const before = activity();
    expect((await claim({})).status()).toBe(200);
    expect(activity()).toBe(before + 1); // a claim the reviewer makes is activity
    const renewed = await claim({ renewal: true });
    expect(renewed.status()).toBe(200);
    expect((await renewed.json()).claim).toMatchObject({ by: 'carol' });
    expect(activity()).toBe(before + 1); // the claim renewed, the session's idle clock not reset
    expect((await claim({ renewal: 'yes', more: 1 })).status()).toBe(400);
  });

  it('shows a quorum of two filling live: alice approves, bob sees 1 of 2 with alice, alice cannot approve twice, bob completes it', async () => {
    const alice = (await h.signIn('alice')).page;
    const bob = (await h.signIn('bob')).page;
    const id = await h.queue({ target: 'order-quorum' }, { quorum: 2 });
    await alice.waitForSelector(`.items a[data-action-id="${id}"]`);
    await openCard(alice, id);
    await alice.waitForSelector('article.card[data-claim="mine"]');
    expect(await alice.textContent('.quorum-progress')).toContain('0 of 2 approvals: none yet');

    await bob.waitForSelector(`.items a[data-action-id="${id}"]`);
    await openCard(bob, id);
    await bob.waitForSelector('article.card[data-claim="other"]');

    await alice.fill('#reason', 'first of two: checked the order');
    await alice.click('button.approve');
    await h.decided(alice);
    expect(await alice.textContent('#decision-result')).toContain('1 of 2 approvals so far');

    // Live on Bob's open card: who approved, and the claim Alice held is gone (her approval ended it).
    await bob.waitForSelector('.quorum-progress:has-text("1 of 2 approvals: alice")');
    await bob.waitForSelector('article.card[data-claim="mine"]');
    expect(await bob.textContent('.quorum-progress')).toMatch(/1 of 2 approvals: alice \(\d\d:\d\d/);

    // Alice has done her part: the item leaves her list, her card says so, and the server refuses a second approval.
    await alice.waitForSelector(`.items a[data-action-id="${id}"]`, { state: 'detached' });
    await alice.goto(`${h.url}/reviews/${id}`);
    await alice.waitForSelector('.approved-by-you');
    expect(await alice.$('#decide')).toBeNull();
    const twice = await post(alice, id, 'approve', 'approving once more');
    expect(twice.status).toBe(409);
    expect(twice.body.message).toContain('you approved action');

    await bob.fill('#reason', 'second of two: agreed');
    await bob.click('button.approve');
    await h.decided(bob);
    expect(await bob.textContent('#decision-result')).toContain('Approved');
    expect(await h.items.get(id)).toMatchObject({ status: 'approved', deciders: ['alice', 'bob'] });
    const event = await eventually(() => h.bus.published.find((p) => p.topic === TOPICS.reviewDecided && p.event.subject === id)!);
    expect(event.event.data).toMatchObject({ decision: 'approved', reviewers: [{ id: 'alice' }, { id: 'bob' }] });
  });

  it('asks for a second factor before a critical approval: refused without it, re-authenticates through the link, approved with it', async () => {
    const critical = { actionType: 'permission.change', parameters: { grant: 'prod:admin' } };
    const refusedId = await h.queue({ ...critical, target: 'user-1' }, { slaClass: 'critical', requiredRoles: ['security'] });
    const approvedId = await h.queue({ ...critical, target: 'user-2' }, { slaClass: 'critical', requiredRoles: ['security'] });

    const { page: alice } = await h.signIn('alice');
    await alice.goto(`${h.url}/reviews/${refusedId}`);
    await alice.waitForSelector('.step-up');
    expect(await alice.textContent('.step-up')).toContain('needs a second factor. You signed in with a password.');
    await alice.click('button.preset-approve');
    await alice.click('button.approve');
    await alice.waitForSelector('#decision-result.refused');
    expect(await alice.textContent('#decision-result')).toContain('approving a critical-class action needs a second factor');
    expect((await h.items.get(refusedId))!.status).toBe('pending');
    expect(await h.seriousViolations(alice)).toEqual([]);

    // The link signs her in again at the provider (a password, though it knows her) and brings her back to the card;
    // she has no second factor enrolled, so the card still says so and the server still refuses.
    await alice.click('#step-up');
    await alice.waitForSelector('#username');
    await alice.fill('#username', 'alice');
    await alice.fill('#password', PASSWORD);
    await alice.click('button[type=submit]');
    await alice.waitForURL(`${h.url}/reviews/${refusedId}`);
    await alice.waitForSelector(`article.card[data-action-id="${refusedId}"] .step-up`);
    expect((await post(alice, refusedId, 'approve', 'still without a second factor')).status).toBe(403);

    // Max is enrolled: his sign-in asks for the one-time code, and his approval goes through.
    const max = await signInWithCode('max');
    await max.goto(`${h.url}/reviews/${approvedId}`);
    await max.waitForSelector(`article.card[data-action-id="${approvedId}"] #decide`);
    expect(await max.$('.step-up')).toBeNull();
    await max.click('button.preset-approve');
    await max.click('button.approve');
    await h.decided(max);
    expect(await h.items.get(approvedId)).toMatchObject({ status: 'approved', deciders: ['max'] });
  });

  it('shows an item expiring while the reviewer looks at it: its card says expired and it leaves the list', async () => {
    const { page } = await h.signIn('fiona');
    const id = await h.queue({ target: 'order-expiring' });
    await page.waitForSelector(`.items a[data-action-id="${id}"]`);
    await openCard(page, id);
    await page.waitForSelector(`article.card[data-action-id="${id}"] #decide`);
    expect(await page.$('article.card .note.expired')).toBeNull();
    // Every announcement of the live region, kept: another item's change (an open card's claim renewed on another
    // page) may replace the text before it is read.
    // (A script in the page, as a string: this file is compiled without the DOM's types.)
    await page.evaluate(`(() => {
      const live = document.querySelector('#live');
      window.said = [];
      new MutationObserver(() => window.said.push(live.textContent || '')).observe(live, { childList: true, characterData: true, subtree: true });
    })()`);
    // Its due time comes now that the card is open; the clock (every 500 ms) expires it.
    await h.bringDue(id, 'due');
    await page.waitForSelector('article.card .note.expired');
    expect(await page.textContent('article.card .note.expired')).toContain('no decision came within its high SLA, so it will never be executed');
    expect(await page.textContent('.f-status')).toBe('expired');
    await page.waitForSelector(`.items a[data-action-id="${id}"]`, { state: 'detached' });
    // Said too, once the feed's next look finds it gone: the due time moved first (a change the page may already have
    // re-read the expired card and list for), so the announcement can come after them (CI, 2026-12-06).
    // A function, not a string: Playwright evaluates a string predicate again at each poll, which the page's CSP (no
    // 'unsafe-eval') refuses unless the first look already found it (a flake, 2026-12-07); a function is evaluated once.
    await page.waitForFunction(() => (globalThis as unknown as { said: string[] }).said.some((text) => text.includes('expired')), undefined, {
      timeout: 15_000,
    });
    expect(await page.evaluate('window.said')).toContainEqual(expect.stringContaining('expired'));
    expect((await h.items.get(id))!.status).toBe('expired');
  });

  it('keeps what the reviewer is writing when news of the item renders the card again (an escalation while the changes form is open)', async () => {
    const { page } = await h.signIn('alice');
    const id = await h.queue({ target: 'order-escalating' }, { escalateAt: new Date(Date.now() + 1_800_000).toISOString(), escalateTo: ['finance-lead'] });
    await page.waitForSelector(`.items a[data-action-id="${id}"]`);
    await openCard(page, id);
    await page.waitForSelector(`article.card[data-action-id="${id}"][data-claim="mine"] #revise-open`);
    await page.click('#revise-open');
    await page.waitForSelector('#revise-form:not([hidden])');
    await page.fill('#revise-parameters', '{"amount": 120}');
    await page.fill('#revise-reason', 'half of it');
    expect(await page.textContent('article.card .f-escalation')).not.toContain('escalated at'); // the news is still to come
    // Its escalation time comes while the form is open; the clock (every 500 ms) escalates it.
    await h.bringDue(id, 'escalation');
    await page.waitForSelector('article.card .f-escalation:has-text("escalated at")');
    expect(await page.isVisible('#revise-form')).toBe(true);
    expect(await page.getAttribute('#revise-open', 'aria-expanded')).toBe('true');
    expect(await page.inputValue('#revise-parameters')).toBe('{"amount": 120}');
    expect(await page.inputValue('#revise-reason')).toBe('half of it');
    expect(await page.$eval(':focus', (el) => el.id)).toBe('revise-reason');
  });

  it("shows the risk score with the rules that fired, and the same target's and agent's recent decisions", async () => {
    const past = await h.queue({ target: 'order-history', proposer: agent('history-bot') });
    await h.items.decide(past, 'rejected', ['bob'], 'the customer was refunded already', new Date());
    const sameAgent = await h.queue({ target: 'order-other', proposer: agent('history-bot') });
    await h.items.decide(sameAgent, 'approved', ['alice'], 'fine', new Date());
    const id = await h.queue(
      { target: 'order-history', proposer: agent('history-bot') },
      { score: 0.87, rulesFired: ['amount-over-limit', 'new-payee'], riskClass: 'high' },
    );
    const old = await h.queue({ target: 'order-no-risk' });

    const { page } = await h.signIn('carol');
    await page.goto(`${h.url}/reviews/${id}`);
    await page.waitForSelector(`article.card[data-action-id="${id}"] .risk-score`);
    expect(await page.textContent('.risk-score')).toBe('0.87');
    expect(await page.textContent('.risk-class')).toBe('high');
    expect(await page.$$eval('.rules-fired li', (lis) => lis.map((l) => l.textContent))).toEqual(['amount-over-limit', 'new-payee']);
    expect(await page.textContent('.reasons')).toContain('refund above the autonomous limit');
    const target = (await page.textContent('#recent-target'))!;
    expect(target).toContain('rejected');
    expect(target).toContain('by bob');
    expect(target).toContain('the customer was refunded already');
    const byAgent = (await page.textContent('#recent-agent'))!;
    expect(byAgent).toContain('order-other');
    expect(byAgent).toContain('approved');
    expect(await h.seriousViolations(page)).toEqual([]);

    // An item queued before the card kept a risk assessment says so rather than showing nothing.
    await page.goto(`${h.url}/reviews/${old}`);
    await page.waitForSelector('.risk-unknown');
  });

  it('shows the recent decisions of the real target only, not of every target masked alike (red team, 2026-12-04)', async () => {
    // Both addresses are stored masked as j***@[email].
    const other = await h.queue({ target: 'jane.roe@example.com' });
    await h.items.decide(other, 'rejected', ['bob'], 'fraudulent closure attempt', new Date());
    const before = await h.queue({ target: 'john.smith@other.org' });
    await h.items.decide(before, 'approved', ['bob'], 'the same customer last week', new Date());
    const id = await h.queue({ target: 'john.smith@other.org' });

    const { page } = await h.signIn('carol');
    await page.goto(`${h.url}/reviews/${id}`);
    await page.waitForSelector(`article.card[data-action-id="${id}"] #recent-target`);
    const target = (await page.textContent('#recent-target'))!;
    expect(target).toContain('the same customer last week');
    expect(target).not.toContain('fraudulent closure attempt');
    await page.close();
  });
});

const agent = (agentId: string) => ({ agentId, model: { name: 'gpt-test', version: '2026-11' }, promptTemplateVersion: 'refund-v3' });
