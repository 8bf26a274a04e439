// real: Chromium (Debian's, driven by playwright-core), the local OpenID Connect provider, the review queue's HTTP app
// (Nest) with its inbox, sessions, RevisionService and signed decisions, PostgreSQL (a database cloned from the migrated
// template), axe-core; fake: the bus (in memory, recording what is published) and intake (items are added to the
// repository as the review consumer adds them). (All started by `startInboxHarness`, testing/inbox.harness.ts.)
import { revisedActionId, TOPICS } from '@countersign/contracts';
import { eventually } from '@countersign/testing';
import { CARD, InboxHarness, startInboxHarness } from './testing/inbox.harness';

jest.setTimeout(120_000);

describe('approve with changes in the inbox (docs/adr/0017)', () => {
  let h: InboxHarness;
  beforeAll(async () => {
    h = await startInboxHarness('inbox_revisions');
  });
  afterAll(() => h?.close(), 60_000);

  it('edits the parameters from the keyboard, keeps the masked card’s real value, and names the new action', async () => {
    const { page } = await h.signIn('alice');
    const id = await h.queue();
    await page.waitForSelector(`.items a[data-action-id="${id}"]`);
    await page.click(`.items a[data-action-id="${id}"]`);
    await page.waitForSelector(`article.card[data-action-id="${id}"] #revise-open`);
    expect(await page.isVisible('#revise-form')).toBe(false);

    // Keyboard: focus the button and open the editor with Enter; the editor takes the focus.
    await page.focus('#revise-open');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#revise-form:not([hidden])');
    expect(await page.getAttribute('#revise-open', 'aria-expanded')).toBe('true');
    expect(await page.$eval(':focus', (el) => el.id)).toBe('revise-parameters');
    expect(await h.seriousViolations(page)).toEqual([]);

    // The editor shows what the card shows: the card masked.
    const shown = JSON.parse(await page.inputValue('#revise-parameters')) as Record<string, unknown>;
    expect(shown.card).toBe('[card …1111]');

    // A masked value edited in part is refused, naming it; nothing is decided.
    await page.fill('#revise-parameters', JSON.stringify({ ...shown, card: '[card …1111] 2' }));
    await page.fill('#revise-reason', 'refund the item only');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#decision-result.refused');
    expect(await page.textContent('#decision-result')).toContain('parameters/card: still shows a masked value');
    expect(await h.items.get(id)).toMatchObject({ status: 'pending' });

    await page.fill('#revise-parameters', JSON.stringify({ ...shown, amount: 120 }, null, 2));
    await page.focus('#revise-reason');
    const answered = page.waitForResponse((r) => r.url().endsWith(`/reviews/${id}/revise`) && r.request().method() === 'POST' && r.status() === 200);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#decision-result.done');
    // Alice has no pii:view: the new version's digest, which covers the card she saw masked, is not in the answer (it
    // let the card be found offline; the JSON API already left it out; red team, 2026-12-05).
    const body = (await (await answered).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ actionId: id, status: 'revised', changed: ['/amount'] });
    expect(body).not.toHaveProperty('revisedDigest');
    const revision = await eventually(() => h.bus.published.find((p) => p.topic === TOPICS.proposalRevised && p.event.subject === id)!);
    const newActionId = revisedActionId(revision.event.id);
    expect(await page.textContent('#decision-result')).toContain(`new action ${newActionId}`);
    expect(await page.getAttribute('#decision-result', 'data-new-action-id')).toBe(newActionId);
    // The new version carries the real card the reviewer never saw, and the amount they typed.
    expect(revision.event.data).toMatchObject({
      newActionId,
      proposal: { parameters: { amount: 120, currency: 'EUR', card: CARD } },
      changed: ['/amount'],
      reason: 'refund the item only',
    });
    expect(revision.event.actor).toMatchObject({ id: 'alice', kind: 'human', authMethod: 'oidc' });
    expect(await h.items.get(id)).toMatchObject({ status: 'revised', deciders: ['alice'] });
    await page.waitForSelector(`.items a[data-action-id="${id}"]`, { state: 'detached' });
    expect(await h.seriousViolations(page)).toEqual([]);
  });

  it('refuses text that is not JSON with a precise message, and a revision without a CSRF token', async () => {
    const { page } = await h.signIn('alice');
    const id = await h.queue();
    await page.waitForSelector(`.items a[data-action-id="${id}"]`);
    await page.click(`.items a[data-action-id="${id}"]`);
    await page.waitForSelector(`article.card[data-action-id="${id}"] #revise-open`);
    await page.click('#revise-open');
    await page.waitForSelector('#revise-form:not([hidden])');
    await page.fill('#revise-parameters', '{"amount": 120,');
    await page.fill('#revise-reason', 'less');
    await page.click('button.revise-send');
    await page.waitForSelector('#decision-result.refused');
    expect(await page.textContent('#decision-result')).toContain('parameters: not valid JSON');

    const status = await page.evaluate(async (actionId) => {
      const res = await fetch(`/reviews/${actionId}/revise`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ parameters: '{"amount": 1}', reason: 'no token', shownDigest: 'a'.repeat(64) }),
      });
      return res.status;
    }, id);
    expect(status).toBe(403);
    expect(await h.items.get(id)).toMatchObject({ status: 'pending' });
  });
});
