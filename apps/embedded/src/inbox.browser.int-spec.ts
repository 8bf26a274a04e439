// real: the embedded mode (all five services in one process, PGlite, the in-process bus), its local OpenID Connect
// provider and seeded users, the reviewer inbox, Chromium (Debian's, driven by playwright-core); fake: the target
// system (the embedded sink).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, chromium } from 'playwright-core';
import pino from 'pino';
import { call, CHROMIUM_LAUNCH, eventually } from '@countersign/testing';
import { startEmbedded } from './embedded';

jest.setTimeout(120_000);

describe('the reviewer inbox in the embedded mode', () => {
  let running: Awaited<ReturnType<typeof startEmbedded>>;
  let browser: Browser;
  const token = (name: string) => readFileSync(join(running.home, 'tokens', name), 'utf8');

  beforeAll(async () => {
    running = await startEmbedded({ home: mkdtempSync(join(tmpdir(), 'countersign-inbox-')), port: 0, logger: pino({ level: 'silent' }) });
    browser = await chromium.launch(CHROMIUM_LAUNCH);
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await running?.close();
  }, 60_000);

  it('signs a seeded reviewer in, shows a held refund live, and executes it once approved in the page', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(running.inboxUrl);
    await page.waitForSelector('#username');
    expect(page.url().startsWith(running.identity.issuer)).toBe(true);
    await page.fill('#username', 'alice');
    await page.fill('#password', readFileSync(join(running.identity.passwordsDir, 'alice'), 'utf8'));
    await page.click('button[type=submit]');
    await page.waitForSelector('body[data-live="ready"]');
    // The filters offer the running contract's action types and classes, with nothing waiting yet.
    const offered = (id: string) => page.$$eval(`#${id} option`, (os) => os.map((o) => o.getAttribute('value')));
    expect(await offered('f-actionType')).toEqual(expect.arrayContaining(['support.refund', 'data.export', 'code.merge']));
    expect(await offered('f-slaClass')).toEqual(expect.arrayContaining(['critical', 'high', 'normal']));

    const example = JSON.parse(readFileSync(join(__dirname, '../examples/refund-large.json'), 'utf8'));
    const id = (await call('POST', `${running.url}/v1/proposals`, example, token('agent'))).body.actionId as string;
    await page.waitForSelector(`.items a[data-action-id="${id}"]`);
    await page.click(`.items a[data-action-id="${id}"]`);
    await page.waitForSelector(`article.card[data-action-id="${id}"] #decide`);
    await page.fill('#reason', 'damage confirmed by photo');
    await page.click('button.approve');
    await page.waitForSelector('#decision-result.done');
    await eventually(() => expect(running.sink.effects.filter((e) => e.actionId === id)).toHaveLength(1), 20_000);

    // Decision quality runs in this mode too: a lead's governance page counts alice's approval (recorded beside the
    // review item, with her dwell from the card the inbox served her).
    const lead = await (await browser.newContext()).newPage();
    await lead.goto(`${running.url}/reviews/governance`);
    await lead.waitForSelector('#username');
    await lead.fill('#username', 'lena');
    await lead.fill('#password', readFileSync(join(running.identity.passwordsDir, 'lena'), 'utf8'));
    await lead.click('button[type=submit]');
    await lead.waitForSelector('#decisions svg[role="img"]');
    expect(await lead.textContent('#decisions figcaption')).toContain('alice: approved 1, rejected 0');
    expect(await lead.textContent('#dwell figcaption')).toMatch(/alice · \w+: [\d.]+ s/);
    expect((await page.goto(`${running.url}/reviews/governance`))?.status()).toBe(403);
  });

  it('shows the reviewer what would run: the SQL after a masked key, the blanks before a second statement, a target in stored order (red team, 2026-12-06)', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(running.inboxUrl);
    await page.waitForSelector('#username');
    await page.fill('#username', 'alice');
    await page.fill('#password', readFileSync(join(running.identity.passwordsDir, 'alice'), 'utf8'));
    await page.click('button[type=submit]');
    await page.waitForSelector('body[data-live="ready"]');
    const sql = `UPDATE users SET role='admin' WHERE api_key=k7Hq2/**/OR/**/1=1;${'\u00a0'.repeat(20_000)}DELETE FROM audit;`;
    const proposal = {
      ...JSON.parse(readFileSync(join(__dirname, '../examples/refund-large.json'), 'utf8')),
      actionType: 'data.write_production',
      target: 'orders-db \u05d0 0532 0130',
      parameters: { sql, table: 'users' },
    };
    const answer = await call('POST', `${running.url}/v1/proposals`, proposal, token('agent'));
    expect(answer.status).toBe(202);
    const id = answer.body.actionId as string;
    await page.waitForSelector(`.items a[data-action-id="${id}"]`);
    await page.click(`.items a[data-action-id="${id}"]`);
    await page.waitForSelector(`article.card[data-action-id="${id}"] #decide`);
    const shown = await page.innerText('pre.params');
    // The key is masked, the comment-injection after it is not; the 20,000 no-break spaces are said, and the second
    // statement is in the box's first lines, not below them.
    expect(shown).toContain('WHERE [secret]/**/OR/**/1=1;20000 blanks (U+00A0)DELETE FROM audit;');
    expect(shown).not.toContain('k7Hq2');
    // Drawn left to right as stored: 0532 before 0130, in the title and the Target row (the bidi algorithm swapped them).
    // (A script as text: this file's types have no DOM.)
    const order = await page.evaluate(`['#card-title .target', 'dd.f-target'].map((selector) => {
      const node = document.querySelector(selector);
      const left = (part) => {
        const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
        for (let t = walker.nextNode(); t; t = walker.nextNode()) {
          const at = t.textContent.indexOf(part);
          if (at < 0) continue;
          const range = document.createRange();
          range.setStart(t, at);
          range.setEnd(t, at + part.length);
          return range.getBoundingClientRect().left;
        }
        throw new Error(part + ' is not in ' + node.textContent);
      };
      return left('0532') < left('0130');
    })`);
    expect(order).toEqual([true, true]);
  });

  it("signs no one in from the provider's session alone, and moves no browser to another person's session (sessions probe, 2026-12-06)", async () => {
    const password = (user: string) => readFileSync(join(running.identity.passwordsDir, user), 'utf8');
    const signIn = async (page: import('playwright-core').Page, user: string) => {
      await page.waitForSelector('#username');
      await page.fill('#username', user);
      await page.fill('#password', password(user));
      await page.click('button[type=submit]');
    };
    const alices = await browser.newContext();
    const page = await alices.newPage();
    await page.goto(running.inboxUrl);
    await signIn(page, 'alice');
    await page.waitForSelector('body[data-live="ready"]');

    // The provider's cookies, as a server on another port of the host receives them, replayed from another client: the
    // provider asks for the password, and no inbox session opens without it. (The inbox's own `cs_` cookies reach such a
    // server too over plain HTTP, as cookies are the host's, not the port's: the inbox is served under TLS, with
    // `__Host-` cookies, wherever other servers share its host; ADR 0016.)
    const elsewhere = await browser.newContext();
    await elsewhere.addCookies((await alices.cookies(running.identity.issuer)).filter((c) => !c.name.startsWith('cs_')));
    const replayed = await elsewhere.newPage();
    await replayed.goto(running.inboxUrl);
    await replayed.waitForSelector('#username');
    expect(replayed.url().startsWith(running.identity.issuer)).toBe(true);
    await elsewhere.close();

    // Login CSRF: the attacker signs in as bob in a browser of their own and stops before the callback; a page on
    // another port of the host plants bob's sign-in cookie in Alice's browser and sends it to that callback. Refused:
    // the inbox does not move a browser signed in as Alice to bob's session.
    const jar = new Map<string, string>();
    const send = async (url: string, init: RequestInit = {}) => {
      const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...init.headers, Cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const at = pair.indexOf('=');
        jar.set(pair.slice(0, at), pair.slice(at + 1));
      }
      return res;
    };
    // Through the sign-in as a browser goes, up to the provider's redirect to the inbox's callback, which is kept.
    let next = `${running.url}/auth/sign-in?returnTo=/reviews`;
    let res = await send(next);
    while (res.status === 303 || res.status === 302) res = await send((next = new URL(res.headers.get('location')!, next).href));
    const form = /action="([^"]+\/login)"/.exec(await res.text())![1];
    res = await send(new URL(form, next).href, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'bob', password: password('bob') }).toString(),
    });
    let callback = new URL(res.headers.get('location')!, next).href;
    while (!callback.includes('/auth/callback')) callback = new URL((await send(callback)).headers.get('location')!, callback).href;
    const planted = { name: 'cs_signin', value: jar.get('cs_signin')!, url: `${running.url}/auth` };
    await alices.addCookies([planted]);
    const refused = await page.goto(callback);
    expect(refused?.status()).toBe(409);
    expect(await refused?.text()).toContain('this browser is signed in to the inbox as alice: sign out first, then sign in as bob');
    await page.goto(running.inboxUrl);
    await page.waitForSelector('body[data-live="ready"]');
    expect(await page.textContent('#who')).toContain('Alice');
    await alices.close();
  });

  it('audits a refused sign-in at the identity provider, naming the user only when it is one', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(running.inboxUrl);
    for (const [user, password] of [
      ['bob', 'not bob’s password'],
      ['hunter2-typed-in-the-wrong-field', 'x'],
    ]) {
      await page.fill('#username', user);
      await page.fill('#password', password);
      await page.click('button[type=submit]');
      await page.waitForSelector('.problem:has-text("Wrong user name or password")');
    }
    const refused = () =>
      readFileSync(join(running.home, 'audit', 'audit.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('"security.request.rejected.v1"') && l.includes('"identity-provider"'));
    await eventually(() => expect(refused()).toHaveLength(2), 20_000);
    expect(refused()[0]).toContain('sign-in refused: wrong user name or password (user bob)');
    expect(refused()[1]).toContain('sign-in refused: wrong user name or password (a user name that is no user)');
    expect(refused().join('\n')).not.toContain('hunter2');
  });
});
