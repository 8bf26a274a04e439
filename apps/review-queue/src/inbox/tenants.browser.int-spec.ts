// real: Chromium (Debian's, driven by playwright-core), the local OpenID Connect provider (oidc-provider, code + PKCE)
// asserting a `tenants` claim, openid-client, the review queue's HTTP app (Nest) with its inbox, sessions, ClaimService
// and ApprovalService, decision quality (the governance and second-review pages), PostgreSQL (a database cloned from
// the migrated template); fake: the bus (in memory, recording what is published) and intake (items are added to the
// repository as the review consumer adds them). (All started by `startInboxHarness`, testing/inbox.harness.ts.)
import { createHash } from 'node:crypto';
import type { Page } from 'playwright-core';
import { TOKEN_REGISTRY, TokenRegistry } from '@countersign/nest';
import { InboxHarness, PASSWORD, quietDecisionQuality, startInboxHarness } from './testing/inbox.harness';

jest.setTimeout(180_000);

describe('the inbox of a reviewer bound to a tenant, signed in with a tenants claim (ADR 0052)', () => {
  let h: InboxHarness;
  beforeAll(async () => {
    h = await startInboxHarness('inbox-tenants', {
      users: [
        { sub: 'tess', name: 'Tess Acme', roles: ['reviewer', 'finance', 'security'], tenants: ['acme'] },
        // A provider that sends the claim malformed: an empty list would read as "every tenant" if taken leniently.
        { sub: 'odd', name: 'Odd Claim', roles: ['reviewer', 'finance'], tenants: [] },
        // A lead of acme: the claim cannot be refused beside `lead` as the tokens file refuses it, so the pages refuse.
        { sub: 'leo', name: 'Leo Acme Lead', roles: ['reviewer', 'lead'], tenants: ['acme'] },
      ],
      // Decision quality runs (no canaries, no sampled second reviews): the governance and second-review pages exist.
      withPool: quietDecisionQuality,
    });
  }, 180_000);
  afterAll(() => h?.close(), 60_000);

  /** A request from the signed-in page, as its script makes them (the session's cookie; CSRF token for a POST). */
  const ask = async (page: Page, path: string, body?: object) => {
    const csrf = (await page.getAttribute('meta[name="csrf-token"]', 'content'))!;
    return page.evaluate(
      async ({ path, body, csrf }) => {
        const init = body ? { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: JSON.stringify(body) } : {};
        const res = await fetch(path, init);
        return { status: res.status, text: await res.text() };
      },
      { path, body, csrf },
    );
  };

  it("lists acme's items only, answers globex's card, claim and decision as an unknown item's, and decides acme's", async () => {
    const acme = await h.queue({ target: 'order-acme', tenant: 'acme' });
    const globex = await h.queue({ target: 'order-globex', tenant: 'globex' });
    const { page } = await h.signIn('tess');
    await page.waitForSelector(`.items a[data-action-id="${acme}"]`);
    expect(await page.$(`.items a[data-action-id="${globex}"]`)).toBeNull();
    expect(await page.content()).not.toContain('order-globex');
    // An unbound reviewer's inbox has both.
    const alice = (await h.signIn('alice')).page;
    await alice.waitForSelector(`.items a[data-action-id="${globex}"]`);

    const unknown = await ask(page, '/reviews/no-such-action/card');
    expect(unknown.status).toBe(404);
    for (const [path, body] of [
      [`/reviews/${globex}/card`, undefined],
      [`/reviews/${globex}/claim`, {}],
      [`/reviews/${globex}/decision`, { decision: 'approve', reason: 'looks fine to me', shownDigest: 'f'.repeat(64) }],
    ] as const) {
      const answer = await ask(page, path, body);
      expect([path, answer.status]).toEqual([path, 404]);
      expect(answer.text).toContain(`no review item for action ${globex}`);
      expect(answer.text).not.toContain('order-globex');
    }
    expect((await h.items.get(globex))!).toMatchObject({ status: 'pending' });
    expect((await h.items.get(globex))!.claim).toBeUndefined();
    // Acme's item is hers to decide.
    await page.click(`.items a[data-action-id="${acme}"]`);
    await page.waitForSelector(`article.card[data-action-id="${acme}"]`);
    await page.fill('#reason', 'receipt matches the order');
    await page.click('button.approve');
    await h.decided(page);
    expect(await h.items.get(acme)).toMatchObject({ status: 'approved', deciders: ['tess'] });
  });

  it('refuses a lead or reviewer bound to a tenant the governance page and second reviews, which serve every tenant, saying why', async () => {
    const { page } = await h.signIn('leo');
    const governance = await ask(page, '/reviews/governance');
    expect(governance.status).toBe(403);
    expect(governance.text).toContain('the governance page serves every tenant of the deployment, and you are bound to acme');
    const second = await ask(page, '/reviews/second-review');
    expect(second.status).toBe(403);
    expect(second.text).toContain('the blind second review serves every tenant of the deployment, and you are bound to acme');
    // A lead bound to no tenant reads the page.
    const lena = (await h.signIn('lena')).page;
    expect((await ask(lena, '/reviews/governance')).status).toBe(200);
  });

  it('refuses the sign-in of a person whose tenants claim is malformed, saying so, and opens no session', async () => {
    const context = await h.newContext();
    const page = await context.newPage();
    await page.goto(`${h.url}/reviews`);
    await page.waitForSelector('#username');
    await page.fill('#username', 'odd');
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL((u) => u.pathname === '/auth/callback');
    expect(await page.textContent('body')).toContain("sign-in refused: the identity provider's tenants claim must be a list of 1 to 1000 tenant names");
    // No session: the inbox sends the browser to sign in again.
    const res = await page.request.get(`${h.url}/reviews/list`);
    expect(res.status()).toBe(401);
  });

  it("a live-update stream opened before the person's tenants were narrowed tells only of the tenants they keep (red team, 2026-12-07)", async () => {
    const { page } = await h.signIn('alice');
    await page.goto(`${h.url}/reviews`);
    const cookie = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const abort = new AbortController();
    const stream = await fetch(`${h.url}/reviews/events`, { headers: { cookie }, signal: abort.signal });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    let told = '';
    const until = async (needle: string) => {
      while (!told.includes(needle)) told += new TextDecoder().decode((await reader.read()).value);
    };
    try {
      await until('event: ready');
      // The tokens file binds alice to globex while her stream is open.
      const tokens = h.provider<TokenRegistry>(TOKEN_REGISTRY);
      const entry = {
        principal: 'alice',
        kind: 'human' as const,
        roles: ['reviewer'],
        tenants: ['globex'],
        tokenSha256: createHash('sha256').update('a').digest('hex'),
      };
      tokens.replace([entry]);
      const acme = await h.queue({ target: 'order-acme-late', tenant: 'acme' });
      const globex = await h.queue({ target: 'order-globex-late', tenant: 'globex' });
      // The feed tells changes in order: once globex's arrival is told, acme's would have been before it.
      await until(globex);
      expect(told).not.toContain(acme);
    } finally {
      abort.abort();
      h.provider<TokenRegistry>(TOKEN_REGISTRY).replace([]);
    }
  });
});
