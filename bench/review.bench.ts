// npm run bench:review — the reviewer inbox with 100,000 pending items (BENCH_PENDING), on real PostgreSQL (the
// review queue's own migrated schema, a database of its own):
//  1. The first inbox page: GET /reviews for a signed-in reviewer (a real OpenID Connect sign-in through the local
//     provider, in Chromium, once; then plain HTTP with the session cookie): the review queue's Nest app queries the
//     page, filters, renders the HTML. Baseline, in the same run: the raw SELECT of the same rows (the same statement the
//     repository sends) from a pg client. Goal (issue 11): p50 ≤ 20 ms. Then the page filtered on an agent whose only
//     item is the last in the queue (no goal: what a filter that matches nothing near the front costs).
//  2. Claim + decide per second: ClaimService.claim then ApprovalService.approve (roles, separation of duties, a signed
//     decision token, the approval, the decision and its event in one write, published to the bus, marked published),
//     from BENCH_CONCURRENCY reviewers at once (default 32), BENCH_DECISIONS items (default 10,000). The review queue is
//     composed as the distributed main composes it: with decision quality (each decision recorded with its dwell, 5 %
//     sampled for a second review) and the degradation controller (the backlog gauges in Redis, kept beside every
//     decision, rebuilt from PostgreSQL every 15 s). Baseline: raw SQL of the same shape (docs/adr/0028) at the same
//     concurrency, through the same GroupCommit batcher: the claims as one multi-row UPDATE … RETURNING the items per
//     batch (asynchronous commit: leases), the decision's read of the item (one SELECT per batch), the approval +
//     decision + event as one multi-row statement per group commit, the item out of the gauges (one Redis script), the
//     reviewer's decision with its dwell (one multi-row INSERT per batch), the published marks batched (asynchronous
//     commit, not waited for); its statements are named (prepared), as the repository's are. Statements per item: about 4/batch size on either
//     path (the service path's count is printed). Goal (issue 11): ≥ 5,000/s. Each path's CPU per item is printed (Node, PostgreSQL, Redis);
//     BENCH_CPU_PROFILE=<file> writes a CPU profile of the services' phase.
//  3. The governance page for a lead, with BENCH_GOVERNANCE_DECISIONS reviewer decisions of the last 30 days (default
//     50,000, the page's cap) by five reviewers, BENCH_GOVERNANCE_LOADS loads (default 20), beside its own query (the
//     store's summary of the decisions) and the read of the decisions themselves (what the page did before); and the
//     longest the review queue's event loop was held meanwhile; each load after a decision (the summary asked for
//     again), then loads with none between them (one summary shared).
import { Module } from '@nestjs/common';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { chromium } from 'playwright-core';
import pino from 'pino';
import { generateSigningKey } from '@countersign/approval';
import { InMemoryBus } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import { DEFAULT_USERS, startIdentityProvider, writeIdentityUsers } from '@countersign/identity';
import { PlatformModule, Principal, serve, TokenRegistry } from '@countersign/nest';
import {
  ApprovalService,
  ClaimService,
  createBacklogGauges,
  createDecisionQualityStore,
  createInMemorySessionStore,
  createLeaderLease,
  createReviewHistory,
  decisionQualityContract,
  DecisionQualityService,
  degradationContract,
  createReviewItemRepository,
  generateReviewDataKey,
  INBOX_PAGE_SIZE,
  parseReviewDataKey,
  PROJECT_CONTRACT_PATH,
  ReviewQueueModule,
} from '@countersign/review-queue';
import { createPgPool, createRedis, GroupCommit } from '@countersign/storage';
import { CHROMIUM_LAUNCH, createTestDatabase, loadStackEnvFile } from '@countersign/testing';

const PENDING = Number(process.env.BENCH_PENDING ?? 100_000);
const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const PAGE_LOADS = Number(process.env.BENCH_PAGE_LOADS ?? 300);
const GOVERNANCE_DECISIONS = Number(process.env.BENCH_GOVERNANCE_DECISIONS ?? 50_000);
const GOVERNANCE_LOADS = Number(process.env.BENCH_GOVERNANCE_LOADS ?? 20);
const PASSWORD = 'bench password, not a secret';

loadStackEnvFile();
const logger = pino({ level: 'silent' });

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const summary = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99) };
};
const f = (n: number) => n.toFixed(2);

/** The item columns the repository's decision statement returns (all but the stored event, which the caller has). */
const ITEM_COLUMNS = `r.action_id, r.kind, r.correlation_id, r.decision_event_id, r.digest, r.proposal, r.sealed, r.proposer_principal,
  r.contract_version, r.reasons, r.sla_class, r.required_roles, r.quorum, r.created_at, r.due_at, r.status, r.deciders, r.decision_reason,
  r.decided_at, r.escalate_at, r.escalate_to, r.fallback_team, r.sla_seconds, r.clock_step, r.escalated_at, r.rerouted_at, r.claimed_by,
  r.claimed_by_name, r.claimed_until, r.approved_by, r.risk_score, r.rules_fired, r.risk_class`;

/**
 * `PENDING` review items as the review consumer adds them (finance refunds, most urgent first by due time), in one
 * statement. The last (least urgent) was proposed by another agent: the page filtered on it walks the whole queue.
 */
const SEED = `
INSERT INTO review_items (action_id, kind, correlation_id, decision_event_id, digest, proposal, proposer_principal, contract_version,
  reasons, sla_class, required_roles, quorum, created_at, due_at, status, sla_seconds)
SELECT 'act-' || lpad(i::text, 7, '0'), 'approval', 'corr-' || i, 'dec-' || i, md5(i::text) || md5((i + 1)::text),
  jsonb_build_object('actionType', 'support.refund', 'target', 'order-' || i,
    'parameters', jsonb_build_object('amount', 200 + i % 800, 'currency', 'EUR', 'card', '[masked:card]'),
    'proposer', jsonb_build_object('agentId', CASE WHEN i = $1 THEN 'rogue-bot' ELSE 'support-copilot' END, 'model', jsonb_build_object('name', 'gpt-x', 'version', '2026-11'),
      'promptTemplateVersion', 'refund-v3'),
    'confidence', 0.8, 'tenant', CASE WHEN i % 3 = 0 THEN 'globex' ELSE 'acme' END, 'region', 'eu-west', 'context', '{}'::jsonb),
  'support-copilot', '7', ARRAY['refund above the autonomous limit'], 'high', ARRAY['finance'], 1,
  now(), now() + interval '1 hour' + i * interval '1 second', 'pending', 3600
FROM generate_series(1, $1::int) AS i`;

async function main() {
  const db = await createTestDatabase('bench_review');
  const pool = createPgPool(db.url, CONCURRENCY + 4);
  const home = mkdtempSync(join(tmpdir(), 'bench-review-'));
  const closers: Array<() => Promise<unknown>> = [async () => rmSync(home, { recursive: true, force: true }), () => db.drop(), () => pool.end()];
  try {
    const seeded = performance.now();
    // Seeded on a connection without the services' statement timeout: a large BENCH_PENDING may take longer than it.
    const seeder = createPgPool(db.url, 1, undefined, undefined, 0);
    await seeder.query(SEED, [PENDING]).finally(() => seeder.end());
    // Both tables the inbox reads: without the by-role table's statistics the planner guessed, and the first page took
    // 52 ms at 20,000 pending instead of 5.6 (2026-12-07; autovacuum analyzes it in time on a live database).
    await pool.query('ANALYZE review_items, review_items_by_role');
    process.stdout.write(`bench:review: ${PENDING} pending items seeded in ${((performance.now() - seeded) / 1000).toFixed(1)} s\n`);

    // The review queue as a main builds it, with the inbox signing in through the local identity provider.
    const { users } = writeIdentityUsers(home, DEFAULT_USERS, Object.fromEntries(DEFAULT_USERS.map((u) => [u.sub, PASSWORD])));
    const idp: { issuer?: string } = {};
    let url = '';
    const bus = new InMemoryBus({ source: 'review-queue', logger });
    // Redis as the distributed main uses it (the backlog gauges, the leader lease), under a prefix of this run's own.
    const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { keyPrefix: `bench-review-${process.pid}:`, logger });
    closers.push(async () => {
      const keys = await redis.keys(`bench-review-${process.pid}:*`);
      if (keys.length) await redis.del(...keys.map((k) => k.slice(`bench-review-${process.pid}:`.length)));
      redis.disconnect();
    });
    @Module({
      imports: [
        PlatformModule.forRoot({ service: 'review-queue', bus, logger, tokens: new TokenRegistry([]) }),
        ReviewQueueModule.register({
          items: createReviewItemRepository(pool),
          signingKeys: generateSigningKey('bench-review').signing,
          decisionKeys: [generateSigningKey('bench-policy-engine').verifyKey],
          outcomeKeys: [generateSigningKey('bench-executor').verifyKey],
          dataKey: parseReviewDataKey(generateReviewDataKey()),
          clock: { periodMs: 60_000 },
          // What the distributed main adds on the decision path: the backlog gauges (Redis) kept beside every decision,
          // and decision quality (dwell recorded per decision, second reviews sampled) with the project's contract.
          degradation: {
            gauges: createBacklogGauges(redis),
            lease: createLeaderLease(redis),
            history: createReviewHistory(pool),
            contract: degradationContract(PROJECT_CONTRACT_PATH),
          },
          decisionQuality: { store: createDecisionQualityStore(pool), contract: decisionQualityContract(PROJECT_CONTRACT_PATH) },
          inbox: {
            issuer: () => idp.issuer!,
            clientId: 'countersign-inbox',
            clientSecret: 'bench-secret',
            publicUrl: () => url,
            sessions: createInMemorySessionStore(),
          },
        }),
      ],
    })
    class Root {}
    const { app, port } = await serve(Root, logger, { host: '127.0.0.1', port: 0 });
    closers.unshift(() => app.close());
    url = `http://127.0.0.1:${port}`;
    const provider = await startIdentityProvider({
      users,
      clients: [
        {
          clientId: 'countersign-inbox',
          clientSecret: 'bench-secret',
          redirectUris: [`${url}/auth/callback`],
          postLogoutRedirectUris: [`${url}/auth/signed-out`],
        },
      ],
    });
    idp.issuer = provider.issuer;
    closers.unshift(() => provider.close());

    // 1. The first inbox page.
    const cookie = await signIn(url, 'alice');
    const page = async () => {
      const res = await fetch(`${url}/reviews`, { headers: { cookie }, redirect: 'manual' });
      const html = await res.text();
      if (res.status !== 200 || !html.includes('data-action-id="act-0000001"'))
        throw new Error(`the inbox answered ${res.status} without the most urgent item`);
    };
    const raw = async () => {
      const { rows } = await pool.query(
        `SELECT * FROM review_items WHERE status = 'pending' AND kind = 'approval' AND (cardinality(required_roles) = 0 OR required_roles && $1)
           AND proposer_principal <> $2 AND (proposal -> 'proposer' ->> 'agentId') <> $2 ORDER BY due_at, action_id LIMIT $3`,
        [['reviewer', 'finance'], 'alice', INBOX_PAGE_SIZE],
      );
      if (rows[0]?.action_id !== 'act-0000001') throw new Error('the raw query missed the most urgent item');
    };
    // The page filtered on one agent, whose only item waits at the back of the queue (an incident: one agent's work).
    const last = `act-${String(PENDING).padStart(7, '0')}`;
    const filtered = async () => {
      const res = await fetch(`${url}/reviews?agentId=rogue-bot`, { headers: { cookie }, redirect: 'manual' });
      const html = await res.text();
      if (res.status !== 200 || !html.includes(`data-action-id="${last}"`)) throw new Error(`the filtered inbox answered ${res.status} without ${last}`);
    };
    const pageMs = await timed(page, PAGE_LOADS);
    const rawMs = await timed(raw, PAGE_LOADS);
    const filteredMs = await timed(filtered, Math.max(5, Math.round(PAGE_LOADS / 10)), 2);
    const [p, r, fp] = [summary(pageMs), summary(rawMs), summary(filteredMs)];
    process.stdout.write(
      `bench:review: first inbox page (GET /reviews, ${INBOX_PAGE_SIZE} items, of ${PENDING} pending): p50 ${f(p.p50)} ms, p99 ${f(p.p99)} ms\n` +
        `bench:review: raw SELECT of the same rows (baseline):          p50 ${f(r.p50)} ms, p99 ${f(r.p99)} ms\n` +
        `bench:review: the page filtered on an agent whose one item is the last of ${PENDING}: p50 ${f(fp.p50)} ms, p99 ${f(fp.p99)} ms\n` +
        `ratio: inbox/raw p50 ${(p.p50 / r.p50).toFixed(1)}x; goal p50 ≤ 20 ms: ${p.p50 <= 20 ? 'met' : 'NOT met'}\n`,
    );

    // 2. Claim + decide, service path, then the raw statements of the same shape on other items.
    const claims = app.get(ClaimService);
    const approvals = app.get(ApprovalService);
    const reviewers: Principal[] = Array.from({ length: CONCURRENCY }, (_, i) => ({
      id: `reviewer-${i}`,
      kind: 'human',
      roles: ['reviewer', 'finance'],
      authMethod: 'oidc',
    }));
    const ids = (from: number) => Array.from({ length: DECISIONS }, (_, i) => `act-${String(from + i).padStart(7, '0')}`);
    const serviceIds = ids(PENDING - 2 * DECISIONS + 1);
    const rawIds = ids(PENDING - DECISIONS + 1);
    // Statements sent per claim + decide, on each path (every statement goes through this pool).
    let statements = 0;
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      statements++;
      return query(...args);
    };
    const service = await profiled(() =>
      rate(serviceIds, async (id, w) => {
        await claims.claim(id, reviewers[w]);
        const result = await approvals.approve(id, reviewers[w], 'checked against the order history');
        if (result.status !== 'approved') throw new Error(`${id}: ${result.status}`);
      }),
    );
    // The raw baseline's batchers: the same group commit, with the service path's statements of the same shape.
    const rawDecisions = new GroupCommit<{ id: string; by: string; event: object }, boolean>(
      async (batch) => {
        const { rows } = await pool.query<{ action_id: string }>(
          {
            name: 'raw.decide',
            text: `WITH input AS (
             SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(action_id text, deciders text[], reason text, event jsonb, approver text, after text[])
           ), decided AS (
             UPDATE review_items r SET status = 'approved', deciders = i.deciders, decision_reason = i.reason, decided_at = now(),
               decision_topic = '${TOPICS.reviewDecided}', decision_event = i.event, approved_by = i.after || i.approver
             FROM input i WHERE r.action_id = i.action_id AND r.status = 'pending' AND coalesce(r.approved_by, '{}') = i.after
               AND (r.claimed_by IS NULL OR r.claimed_by = i.approver OR r.claimed_until <= now())
             RETURNING ${ITEM_COLUMNS}
           ), approved AS (
             INSERT INTO review_approvals (action_id, approver, reason)
             SELECT d.action_id, i.approver, i.reason FROM decided d JOIN input i USING (action_id) ON CONFLICT DO NOTHING
           )
           SELECT * FROM decided`,
          },
          [
            JSON.stringify(
              batch
                .map((d) => ({ action_id: d.id, deciders: [d.by], reason: 'checked', event: d.event, approver: d.by, after: [] }))
                .sort((a, b) => a.action_id.localeCompare(b.action_id)),
            ),
          ],
        );
        const won = new Set(rows.map((r) => r.action_id));
        return batch.map((d) => won.has(d.id));
      },
      (d) => d.id,
      { maxBatch: 256, maxInFlight: 2 },
    );
    // What decision quality and the backlog gauges add to a decision, as raw operations: the reviewer's decision with its
    // dwell from the card views, one multi-row INSERT per batch; the item out of the gauges, one small script in Redis.
    const rawRecords = new GroupCommit<{ id: string; by: string }, void>(
      async (batch) => {
        await pool.query(
          {
            name: 'raw.record-decisions',
            text: `INSERT INTO reviewer_decisions (action_id, reviewer, decision, sla_class, decided_at, queued_at, dwell_ms, canary)
           SELECT d.action_id, d.reviewer, 'approved', 'high', now(), now(), (extract(epoch FROM now() - v.first_shown_at) * 1000)::bigint, false
           FROM unnest($1::text[], $2::text[]) AS d(action_id, reviewer) LEFT JOIN card_views v USING (action_id, reviewer)
           ON CONFLICT DO NOTHING`,
          },
          [batch.map((r) => r.id), batch.map((r) => r.by)],
        );
        return batch.map(() => undefined);
      },
      (r) => `${r.id}\u0000${r.by}`,
      { maxBatch: 256, maxInFlight: 2 },
    );
    const ungauge = (id: string) =>
      redis.eval(
        `local v = redis.call('HGET', KEYS[1] .. 'items', ARGV[1]) if not v then return 0 end
         local item = cjson.decode(v) redis.call('ZREM', KEYS[1] .. 'class:' .. item.c, ARGV[1])
         for _, r in ipairs(item.r) do redis.call('ZREM', KEYS[1] .. 'role:' .. r, ARGV[1]) end
         redis.call('HDEL', KEYS[1] .. 'items', ARGV[1]) return 1`,
        1,
        'backlog:',
        id,
      );
    const rawMarks = new GroupCommit<string, void>(
      async (batch) => {
        await pool.query(
          {
            name: 'raw.mark-published',
            text: `WITH lease AS (SELECT set_config('synchronous_commit', 'off', true))
           UPDATE review_items r SET decision_published_at = now() FROM lease WHERE r.action_id = ANY($1) AND r.decision_published_at IS NULL`,
          },
          [batch],
        );
        return batch.map(() => undefined);
      },
      (id) => id,
      { maxBatch: 256, maxInFlight: 2 },
    );
    const rawClaims = new GroupCommit<{ id: string; by: string; roles: string[]; until: string }, boolean>(
      async (batch) => {
        const { rows } = await pool.query<{ action_id: string }>(
          {
            name: 'raw.claim-for',
            text: `WITH lease AS (SELECT set_config('synchronous_commit', 'off', true)), input AS (
             SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(action_id text, by text, roles text[], until timestamptz)
           )
           UPDATE review_items r SET claimed_by = i.by, claimed_by_name = i.by, claimed_until = i.until FROM lease, input i
           WHERE r.action_id = i.action_id AND r.status = 'pending' AND r.kind = 'approval' AND (cardinality(r.required_roles) = 0 OR r.required_roles && i.roles)
             AND r.proposer_principal <> i.by AND (r.proposal -> 'proposer' ->> 'agentId') IS DISTINCT FROM i.by AND NOT (i.by = ANY (coalesce(r.approved_by, '{}')))
             AND (r.claimed_by IS NULL OR r.claimed_until <= now() OR r.claimed_by = i.by)
           RETURNING r.*`,
          },
          [
            JSON.stringify(
              batch.map((c) => ({ action_id: c.id, by: c.by, roles: c.roles, until: c.until })).sort((a, b) => a.action_id.localeCompare(b.action_id)),
            ),
          ],
        );
        const won = new Set(rows.map((r) => r.action_id));
        return batch.map((c) => won.has(c.id));
      },
      (c) => c.id,
      { maxBatch: 256, maxInFlight: 2 },
    );
    const rawReads = new GroupCommit<string, { digest: string } | undefined>(
      async (batch) => {
        const { rows } = await pool.query({ name: 'raw.get', text: 'SELECT * FROM review_items WHERE action_id = ANY($1::text[])' }, [batch]);
        const byId = new Map(rows.map((r) => [r.action_id, r]));
        return batch.map((id) => byId.get(id));
      },
      (id) => id,
      { maxBatch: 256, maxInFlight: 2 },
    );
    const serviceStatements = statements / DECISIONS;
    statements = 0;
    const marking: Array<Promise<void>> = [];
    const rawPath = await rate(rawIds, async (id, w) => {
      const by = reviewers[w].id;
      const until = new Date(Date.now() + 300_000).toISOString();
      if (!(await rawClaims.submit({ id, by, roles: reviewers[w].roles, until }))) throw new Error(`${id}: not claimed`);
      const item = await rawReads.submit(id);
      // About the size of the signed event (~2 KB: the envelope, the shown item, the reviewers, a token), so the
      // statements carry as much as the service path's.
      const event = {
        id: `e-${id}`,
        type: TOPICS.reviewDecided,
        actor: { id: by, kind: 'human', roles: reviewers[w].roles, authMethod: 'oidc' },
        data: { decision: 'approved', digest: item!.digest, shown: item, reviewers: [{ id: by, kind: 'human' }], signature: 'x'.repeat(700) },
      };
      if (!(await rawDecisions.submit({ id, by, event }))) throw new Error(`${id}: not decided`);
      await ungauge(id);
      await rawRecords.submit({ id, by });
      // As the outbox does after publishing: the published mark is not waited for.
      marking.push(rawMarks.submit(id));
    });
    await Promise.all(marking);
    const rawStatements = statements / DECISIONS;
    const eventBytes = async (of: string[]) =>
      Math.round(Number((await pool.query('SELECT avg(length(decision_event::text)) AS n FROM review_items WHERE action_id = ANY($1)', [of])).rows[0].n));
    const [serviceEventBytes, rawEventBytes] = [await eventBytes(serviceIds), await eventBytes(rawIds)];
    const decided = Number(
      (await pool.query(`SELECT count(*) AS n FROM review_items WHERE status = 'approved' AND action_id = ANY($1)`, [serviceIds])).rows[0].n,
    );
    if (decided !== DECISIONS) throw new Error(`${decided} of ${DECISIONS} items approved through the services`);
    process.stdout.write(
      `bench:review: claim + decide through the services (${DECISIONS} items, ${CONCURRENCY} reviewers at once): ${Math.round(service.perSecond)}/s, ` +
        `${cpuLine(service.cpuMs)}\n` +
        `bench:review: raw SQL of the same shape (baseline; batched claims, reads, decisions, records, marks; a Redis script): ${Math.round(rawPath.perSecond)}/s, ${cpuLine(rawPath.cpuMs)}\n` +
        `bench:review: statements per claim + decide: services ${serviceStatements.toFixed(2)}, raw ${rawStatements.toFixed(2)} (batched: 4 per batch); ` +
        `stored event: services ${serviceEventBytes} B, raw ${rawEventBytes} B\n` +
        `ratio: claim + decide services/raw ${(service.perSecond / rawPath.perSecond).toFixed(2)}; goal ≥ 5,000/s: ${service.perSecond >= 5000 ? 'met' : 'NOT met'}\n`,
    );

    // 3. The governance page at its cap: the newest 50,000 decisions of 30 days, by five reviewers (a small team's
    // month), beside its own query and the read of the decisions themselves. What the page does runs on the review
    // queue's event loop: the longest the loop was held meanwhile is how long every other request of the review queue
    // waited.
    await pool.query(
      `INSERT INTO reviewer_decisions (action_id, reviewer, decision, sla_class, decided_at, queued_at, dwell_ms, canary, miss_audited_at)
       SELECT 'gov-' || lpad(i::text, 7, '0'), 'gov-reviewer-' || (i % 5), CASE WHEN i % 7 = 0 THEN 'rejected' ELSE 'approved' END,
         (ARRAY['standard', 'urgent', 'critical'])[1 + i % 3], now() - make_interval(secs => i * 40), now() - make_interval(secs => i * 40 + 300),
         CASE WHEN i % 11 = 0 THEN NULL ELSE 5000 + (i % 300) * 100 END, i % 50 = 0, CASE WHEN i % 50 = 0 THEN now() END
       FROM generate_series(1, $1::int) i`,
      [GOVERNANCE_DECISIONS],
    );
    await pool.query('ANALYZE reviewer_decisions');
    const leadCookie = await signIn(url, 'lena');
    const governancePage = async () => {
      const res = await fetch(`${url}/reviews/governance`, { headers: { cookie: leadCookie }, redirect: 'manual' });
      const html = await res.text();
      if (res.status !== 200 || !html.includes('gov-reviewer-4')) throw new Error(`the governance page answered ${res.status} without the seeded reviewers`);
    };
    const store = createDecisionQualityStore(pool);
    const since = () => new Date(Date.now() - 30 * 86_400_000);
    const summaryRead = async () => {
      const summary = await store.decisionSummary(since(), 50_000, [1, 5, 15, 60, 240, 1440]);
      if (summary.reviewers.length < 5) throw new Error(`the summary has ${summary.reviewers.length} reviewers`);
    };
    const decisionsRead = async () => {
      const read = await store.decisionsSince(since(), 50_000);
      if (read.length < Math.min(GOVERNANCE_DECISIONS, 50_000)) throw new Error(`the store read ${read.length} decisions`);
    };
    const heldDuring = async (run: () => Promise<number[]>) => {
      const loop = monitorEventLoopDelay({ resolution: 5 });
      loop.enable();
      const ms = await run();
      loop.disable();
      return { ...summary(ms), held: loop.max / 1e6 };
    };
    // Each load after a decision recorded (the summary asked for again), then loads with none between them (one
    // summary shared: SummaryMemo, ADR 0018 addendum 2026-12-07).
    const quality = app.get(DecisionQualityService).quality;
    const g = await heldDuring(() => timed(() => (quality.noteDecisionsChanged(), governancePage()), GOVERNANCE_LOADS, 2));
    const gr = await heldDuring(() => timed(governancePage, GOVERNANCE_LOADS, 2));
    const sq = await heldDuring(() => timed(summaryRead, GOVERNANCE_LOADS, 2));
    const dr = await heldDuring(() => timed(decisionsRead, GOVERNANCE_LOADS, 2));
    process.stdout.write(
      `bench:review: governance page (GET /reviews/governance, ${GOVERNANCE_DECISIONS} decisions of 5 reviewers seeded, at most 50,000 summed up): ` +
        `p50 ${f(g.p50)} ms after a decision each; the event loop held for up to ${f(g.held)} ms meanwhile\n` +
        `bench:review: the same page loaded again with no decision between (one summary shared): p50 ${f(gr.p50)} ms, p99 ${f(gr.p99)} ms\n` +
        `bench:review: the store's summary of the same decisions (baseline, the page's own query): p50 ${f(sq.p50)} ms; the event loop held for up to ${f(sq.held)} ms\n` +
        `bench:review: reading the decisions out instead (what the page did before 2026-12-07): p50 ${f(dr.p50)} ms; the event loop held for up to ${f(dr.held)} ms\n` +
        `ratio: governance page/its summary query p50 ${(g.p50 / sq.p50).toFixed(2)}\n`,
    );
  } finally {
    for (const c of closers) await c().catch(() => undefined);
  }
}

/** With BENCH_CPU_PROFILE=<file>, `phase` runs under the V8 CPU profiler and its profile is written there (open it in Chrome's DevTools). */
async function profiled<T>(phase: () => Promise<T>): Promise<T> {
  const file = process.env.BENCH_CPU_PROFILE;
  if (!file) return phase();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await phase();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    process.stdout.write(`bench:review: the services' phase profiled into ${file}\n`);
  }
}

/** Signs in once in Chromium (code + PKCE through the local provider) and returns the session cookie. */
async function signIn(url: string, user: string): Promise<string> {
  const browser = await chromium.launch(CHROMIUM_LAUNCH);
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    await page.goto(`${url}/reviews`);
    await page.fill('#username', user);
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector('#who');
    const session = (await context.cookies(url)).find((c) => c.name === 'cs_session');
    if (!session) throw new Error('signed in without a session cookie');
    return `cs_session=${session.value}`;
  } finally {
    await browser.close();
  }
}

/** Runs `once` `n` times one after the other (after `warmUp` runs) and returns each duration in ms. */
async function timed(once: () => Promise<void>, n: number, warmUp = 20): Promise<number[]> {
  for (let i = 0; i < warmUp; i++) await once();
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await once();
    ms.push(performance.now() - t);
  }
  return ms;
}

/** CPU time (user + system, ms) each process of PostgreSQL and of Redis on this machine has used so far, from /proc. */
function serverCpuMs(): Map<string, { server: 'postgres' | 'redis'; ms: number }> {
  const used = new Map<string, { server: 'postgres' | 'redis'; ms: number }>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const server = comm === 'postgres' ? 'postgres' : comm.startsWith('redis-server') ? 'redis' : undefined;
      if (!server) continue;
      // utime and stime: the 12th and 13th fields after "pid (comm) ", in clock ticks (100 a second on Linux).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      used.set(pid, { server, ms: ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 });
    } catch {
      // The process ended meanwhile.
    }
  }
  return used;
}

/** What each server's processes used between two readings (a process started meanwhile counts whole; one that ended, not at all). */
function serverCpuSince(before: ReturnType<typeof serverCpuMs>): { postgres: number; redis: number } {
  const total = { postgres: 0, redis: 0 };
  for (const [pid, now] of serverCpuMs()) total[now.server] += now.ms - (before.get(pid)?.ms ?? 0);
  return total;
}

interface Rate {
  perSecond: number;
  /** CPU per item (ms): this process (Node), and PostgreSQL's and Redis's processes, which serve nothing else here. */
  cpuMs: { node: number; postgres: number; redis: number };
}

/** Works `ids` off with `CONCURRENCY` workers, each taking the next id; returns items per second and the CPU per item. */
async function rate(ids: string[], work: (id: string, worker: number) => Promise<void>): Promise<Rate> {
  let next = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const servers = serverCpuMs();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      for (let i = next++; i < ids.length; i = next++) await work(ids[i], w);
    }),
  );
  const used = process.cpuUsage(cpu);
  const elsewhere = serverCpuSince(servers);
  return {
    perSecond: ids.length / ((performance.now() - started) / 1000),
    cpuMs: { node: (used.user + used.system) / 1000 / ids.length, postgres: elsewhere.postgres / ids.length, redis: elsewhere.redis / ids.length },
  };
}

const cpuLine = (c: Rate['cpuMs']) =>
  `CPU per item ${f(c.node + c.postgres + c.redis)} ms (Node ${f(c.node)}, PostgreSQL ${f(c.postgres)}, Redis ${f(c.redis)})`;

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench:review failed: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
