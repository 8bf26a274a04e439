// The reviewer inbox as its browser tests run it: the review queue's HTTP app (Nest) with its inbox on PostgreSQL
// (a database cloned from the migrated template), the local OpenID Connect provider with the seeded users, and
// Debian's Chromium driven by playwright-core. The bus is the in-memory one, recording what is published; intake is
// `queue()`, which adds items as the review consumer does. Each browser spec file starts one (`startInboxHarness`).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import AxeBuilder from '@axe-core/playwright';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import pino from 'pino';
import { generateSigningKey } from '@countersign/approval';
import { actionDigest, Proposal } from '@countersign/contracts';
import { maskDeep } from '@countersign/guardrails';
import { DEFAULT_USERS, RunningIdentityProvider, SeedUser, SignInRefusal, startIdentityProvider, WrittenUser, writeIdentityUsers } from '@countersign/identity';
import type { ReadLimits } from '@countersign/limits';
import { PlatformModule, serve, TokenEntry, TokenRegistry } from '@countersign/nest';
import { createPgPool, Pool } from '@countersign/storage';
import { CHROMIUM_LAUNCH, createTestDatabase, RecordingBus, testExecutorKey, testPolicyEngineKey } from '@countersign/testing';
import { createDecisionQualityStore } from '../../decision-quality/pg-decision-quality.store';
import { PgReviewItemRepository } from '../../review-item/pg-review-item.repository';
import { ReviewItem } from '../../review-item/review-item.repository';
import { generateReviewDataKey, parseReviewDataKey, ProposalSealer } from '../../review-item/sealed-proposal';
import { ReviewQueueModule, ReviewQueueOptions } from '../../review-queue.module';
import { createInMemorySessionStore } from '../in-memory-session.store';
import { InboxOptions } from '../inbox.options';

/** A card number in every queued proposal's parameters: regulated data the inbox must mask. */
export const CARD = '4111 1111 1111 1111';
/** Every seeded user's password in the harness. */
export const PASSWORD = 'correct horse battery staple';

export interface InboxHarness {
  url: string;
  items: PgReviewItemRepository;
  sealer: ProposalSealer;
  bus: RecordingBus;
  /** A provider of the running review queue (e.g. `REVIEW_ITEMS`, the store as its features wrap it). */
  provider<T>(token: symbol): T;
  browser: Browser;
  /** The seeded users as written (the TOTP secret of those enrolled in MFA). */
  secrets: Record<string, WrittenUser>;
  /** The sign-ins the identity provider refused, as it reports them for the audit (`onRefused`). */
  refusedSignIns: SignInRefusal[];
  /**
   * Moves an item's due time (or escalation time) to now, as if that much time had passed: the review clock takes the
   * step at its next tick. Lets a test set the page up first, then have the step happen, with no wait on a wall clock.
   */
  bringDue(actionId: string, step: 'due' | 'escalation'): Promise<void>;
  /** Adds a pending approval as the review consumer does: the proposal masked for every reviewer, the real one sealed. */
  queue(over?: Partial<Proposal>, item?: Partial<ReviewItem>): Promise<string>;
  /** A new browser context signed in as `user` (password; the harness's users have none enrolled in MFA but max), on the inbox, live. */
  signIn(user: string): Promise<{ context: BrowserContext; page: Page }>;
  /** A new browser context, not signed in. */
  newContext(): Promise<BrowserContext>;
  /** Waits for the decision's answer on the card, whichever it is (a refusal then fails the test with its message). */
  decided(page: Page): Promise<void>;
  /** axe-core's serious and critical violations on the page, as `id: help`. */
  seriousViolations(page: Page): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * Decision quality running with nothing drawn (no canaries, no sampled second reviews), for `withPool`: the governance
 * and second-review pages exist, and no decision is held for a second look.
 */
export const quietDecisionQuality = (pool: Pool): Partial<ReviewQueueOptions> => ({
  decisionQuality: {
    store: createDecisionQualityStore(pool),
    contract: { canaries: { rate: 0, templates: [] }, secondReview: { rate: 0 }, outliers: { minDecisions: 10, threshold: 3 } },
  },
});

/**
 * Starts the inbox. `options` adds to (or replaces) the review queue's module options, e.g. a contract's settings;
 * `inbox` adds to the inbox's.
 */
export async function startInboxHarness(
  name: string,
  o: {
    options?: Partial<ReviewQueueOptions>;
    inbox?: Partial<InboxOptions>;
    withPool?: (pool: Pool) => Partial<ReviewQueueOptions>;
    /** The tokens file's entries (none by default): e.g. an agent token of a person who also reviews. */
    tokens?: TokenEntry[];
    /** People the identity provider signs in besides the seeded ones (`DEFAULT_USERS`): e.g. a reviewer of one tenant. */
    users?: SeedUser[];
    /** The read limits per principal (the platform's `DEFAULT_READ_RATE` by default). */
    readRate?: ReadLimits;
  } = {},
): Promise<InboxHarness> {
  const logger = pino({ level: 'silent' });
  const cleanups: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const db = await createTestDatabase(name);
    const pool: Pool = createPgPool(db.url);
    cleanups.push(
      () => db.drop(),
      () => pool.end(),
    );
    const items = new PgReviewItemRepository(pool);
    const dataKey = parseReviewDataKey(generateReviewDataKey());
    const sealer = new ProposalSealer(dataKey);
    const bus = new RecordingBus({ source: 'review-queue', logger });
    const home = mkdtempSync(join(tmpdir(), 'inbox-'));
    cleanups.push(async () => rmSync(home, { recursive: true, force: true }));
    const seed = [...DEFAULT_USERS, ...(o.users ?? [])];
    const { users, secrets } = writeIdentityUsers(home, seed, Object.fromEntries(seed.map((u) => [u.sub, PASSWORD])));
    // Started once the review queue listens (its redirect URI names the port); the inbox asks for it lazily.
    const idp: { running?: RunningIdentityProvider } = {};
    let url = '';

    @Module({
      imports: [
        PlatformModule.forRoot({ service: 'review-queue', bus, logger, tokens: new TokenRegistry(o.tokens ?? []), readRate: o.readRate }),
        ReviewQueueModule.register({
          items,
          signingKeys: generateSigningKey('inbox-test').signing,
          decisionKeys: [testPolicyEngineKey.verifyKey],
          outcomeKeys: [testExecutorKey.verifyKey],
          dataKey,
          clock: { periodMs: 60_000 },
          ...o.options,
          ...o.withPool?.(pool),
          inbox: {
            issuer: () => idp.running!.issuer,
            clientId: 'countersign-inbox',
            clientSecret: 'inbox-secret',
            publicUrl: () => url,
            sessions: createInMemorySessionStore(),
            feedPeriodMs: 200,
            ...o.inbox,
          },
        }),
      ],
    })
    class Root {}
    const { app, port } = await serve(Root, logger, { host: '127.0.0.1', port: 0 });
    cleanups.push(() => app.close());
    url = `http://127.0.0.1:${port}`;
    const refusedSignIns: SignInRefusal[] = [];
    idp.running = await startIdentityProvider({
      users,
      onRefused: (r) => refusedSignIns.push(r),
      clients: [
        {
          clientId: 'countersign-inbox',
          clientSecret: 'inbox-secret',
          redirectUris: [`${url}/auth/callback`],
          postLogoutRedirectUris: [`${url}/auth/signed-out`],
        },
      ],
    });
    cleanups.push(() => idp.running!.close());
    const browser = await chromium.launch(CHROMIUM_LAUNCH);
    cleanups.push(() => browser.close());

    let n = 0;
    const newContext = async () => {
      const context = await browser.newContext();
      cleanups.push(() => context.close());
      // Two cores shared with other work: generous waits (each still ends as soon as its condition holds).
      context.setDefaultTimeout(60_000);
      return context;
    };
    return {
      url,
      refusedSignIns,
      items,
      sealer,
      bus,
      provider: <T>(token: symbol) => app.get<T>(token),
      browser,
      secrets,
      newContext,
      close,
      async bringDue(actionId, step) {
        const column = step === 'due' ? 'due_at' : 'escalate_at';
        const { rowCount } = await pool.query(`UPDATE review_items SET ${column} = now() WHERE action_id = $1 AND status = 'pending'`, [actionId]);
        if (rowCount !== 1) throw new Error(`${actionId} is not pending`);
      },
      async queue(over = {}, item = {}) {
        const actionId = `act-${++n}-${Date.now().toString(36)}`;
        const proposal: Proposal = {
          actionType: 'support.refund',
          target: `order-${n}`,
          parameters: { amount: 480 + n, currency: 'EUR', card: CARD },
          proposer: { agentId: 'support-copilot', model: { name: 'gpt-test', version: '2026-11' }, promptTemplateVersion: 'refund-v3' },
          confidence: 0.82,
          tenant: 'acme',
          region: 'eu',
          context: {},
          ...over,
        };
        await items.add({
          kind: 'approval',
          actionId,
          correlationId: `c-${actionId}`,
          decisionEventId: `d-${actionId}`,
          digest: actionDigest(proposal, '7'),
          proposal: maskDeep(proposal),
          sealed: sealer.seal(actionId, proposal),
          proposerPrincipal: 'support-copilot',
          contractVersion: '7',
          reasons: ['refund above the autonomous limit of 200 EUR'],
          slaClass: 'high',
          requiredRoles: ['finance'],
          quorum: 1,
          createdAt: new Date().toISOString(),
          dueAt: new Date(Date.now() + 3_600_000 + n * 1000).toISOString(),
          status: 'pending',
          ...item,
        });
        return actionId;
      },
      async signIn(user) {
        const context = await newContext();
        const page = await context.newPage();
        await page.goto(`${url}/reviews`);
        // Not signed in: the inbox sends the browser to the identity provider.
        await page.waitForSelector('#username');
        expect(page.url().startsWith(url)).toBe(false);
        await page.fill('#username', user);
        await page.fill('#password', PASSWORD);
        await page.click('button[type=submit]');
        await page.waitForSelector('#who');
        await page.waitForSelector('body[data-live="ready"]');
        return { context, page };
      },
      async decided(page) {
        await page.waitForSelector('#decision-result.done, #decision-result.refused');
        // Class and text in one read: the card may be told something else between two reads.
        expect(await page.$eval('#decision-result', (e) => `${e.className}: ${e.textContent}`)).toMatch(/^result done: /);
      },
      async seriousViolations(page) {
        return (await new AxeBuilder({ page }).analyze()).violations
          .filter((v) => v.impact === 'serious' || v.impact === 'critical')
          .map((v) => `${v.id}: ${v.help}`);
      },
    };
  } catch (e) {
    await close();
    throw e;
  }
}
