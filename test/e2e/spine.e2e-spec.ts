import { createHash } from 'node:crypto';
import { join } from 'node:path';
import canonicalize from 'canonicalize';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import pino from 'pino';
import { signApproval } from '@countersign/approval';
import { loadSigningKeys } from '@countersign/keys';
import { KafkaBus } from '@countersign/bus';
import { newId, signSubmission, TOPICS } from '@countersign/contracts';
import {
  call,
  copilotProposal as proposal,
  DEFAULT_PRINCIPALS,
  eventually,
  stackEnv,
  startDistributed,
  startWebhookSink,
  testFetch,
  uniqueName,
} from '@countersign/testing';
import { readdirSync, readFileSync } from 'node:fs';
import { entryBytes, leafHash, TreeHead, verifyInclusion, verifySegment } from '@countersign/audit-chain';

// real: Apache Kafka, Redis, PostgreSQL, Unleash (infra/stack.sh), the five services as separate processes;
// fake: the target system (a local webhook sink that records what it receives).
jest.setTimeout(120_000);
/** An autonomous action can still reach review (an anomaly rule), so it needs review settings. */
const LEGAL_REVIEW = 'review: { slaClass: normal, requiredRoles: [reviewer], quorum: 1, whenUnavailable: fail-closed },';

/** A Redis key's content, whatever its type. */
async function redisValue(redis: Redis, key: string): Promise<unknown> {
  switch (await redis.type(key)) {
    case 'string':
      return redis.get(key);
    case 'hash':
      return redis.hgetall(key);
    case 'list':
      return redis.lrange(key, 0, -1);
    case 'set':
      return redis.smembers(key);
    case 'zset':
      return redis.zrange(key, 0, -1);
    case 'stream':
      return redis.xrange(key, '-', '+');
    default:
      return null;
  }
}

const ACTION_TYPES = ['support.reply', 'support.refund', 'legal.statement', 'ticket.tag'];

describe('Countersign end to end on the real stack', () => {
  const ns = uniqueName('e2e');
  let stack: Awaited<ReturnType<typeof startDistributed>>;
  let sink: Awaited<ReturnType<typeof startWebhookSink>>;
  let bus: KafkaBus;
  const api = () => stack.urls.orchestrator;

  const submit = async (body: unknown, token = stack.tokens.agent, headers: Record<string, string> = {}) => {
    const res = await call('POST', `${api()}/v1/proposals`, body, token, headers);
    expect(res.status).toBe(202);
    return res.body.actionId as string;
  };
  // As the proposing agent sees its action (an agent's token reads only its own agents' actions).
  const action = async (id: string, token = stack.tokens.agent) => (await call('GET', `${api()}/v1/actions/${id}`, undefined, token)).body;
  const waitStatus = (id: string, status: string, token?: string) =>
    eventually(
      async () => {
        const view = await action(id, token);
        expect(view.status).toBe(status);
        return view;
      },
      60_000,
      100,
    );
  const audit = async (query: string) =>
    (await call('GET', `${stack.urls['audit-writer']}/v1/audit/entries?${query}`, undefined, stack.tokens.auditor)).body.entries as Array<
      Record<string, unknown>
    >;

  beforeAll(async () => {
    sink = await startWebhookSink();
    stack = await startDistributed({
      namespace: ns,
      webhookUrl: sink.url,
      actionTypes: ACTION_TYPES,
      dir: join(__dirname, '../../.stack/e2e', ns),
      // dana both proposes (as an agent would) and reviews refunds (finance): she must never approve her own proposal.
      principals: [...DEFAULT_PRINCIPALS, { name: 'dana', principal: 'dana', kind: 'human', roles: ['agent', 'reviewer', 'finance'] }],
    });
    bus = new KafkaBus({ ...stackEnv().kafkaBus, clientId: 'e2e-test', namespace: ns, logger: pino({ level: 'silent' }) });
    await bus.connect();
  }, 300_000);

  afterAll(async () => {
    await bus?.deleteNamespaceTopics();
    await bus?.close();
    await stack?.stop();
    await stack?.dropDatabase();
    await sink?.close();
  });

  it('autonomous: executed once and audited, with the correlation id on every entry', async () => {
    const correlationId = `corr-${newId()}`;
    const id = await submit(proposal('support.reply', 'ticket-1001', { body: 'Your parcel ships tomorrow.' }), stack.tokens.agent, {
      'X-Correlation-Id': correlationId,
    });
    const view = await waitStatus(id, 'executed');
    expect(view.lane).toBe('autonomous');
    expect(sink.effects(id)).toBe(1);
    await eventually(async () => {
      const entries = await audit(`correlationId=${correlationId}`);
      expect(entries.map((e) => e.type)).toEqual(expect.arrayContaining([TOPICS.actionProposed, TOPICS.policyDecided, TOPICS.actionExecuted]));
      expect(entries.every((e) => e.subject === id)).toBe(true);
    });
  });

  it('an Idempotency-Key makes a retried POST return the same action, executed once', async () => {
    const body = proposal('ticket.tag', `ticket-${newId()}`, { tags: ['billing'] });
    const key = `retry-${newId()}`;
    const first = await submit(body, stack.tokens.agent, { 'Idempotency-Key': key });
    const second = await submit(body, stack.tokens.agent, { 'Idempotency-Key': key });
    expect(second).toBe(first);
    const reused = await call('POST', `${api()}/v1/proposals`, { ...body, target: 'other' }, stack.tokens.agent, { 'Idempotency-Key': key });
    expect(reused.status).toBe(409);
    await waitStatus(first, 'executed');
    expect(sink.effects(first)).toBe(1);
  });

  it('review: approved by a human, then executed once; the approval names the reviewer and reason', async () => {
    const id = await submit(proposal('support.refund', `order-${newId()}`, { amount: 480, currency: 'EUR', reason: 'damaged item' }));
    await waitStatus(id, 'in_review');
    const pending = await eventually(async () => {
      const list = await call('GET', `${stack.urls['review-queue']}/v1/reviews`, undefined, stack.tokens.reviewer);
      const item = (list.body.items as Array<{ actionId: string }>).find((i) => i.actionId === id);
      expect(item).toBeDefined();
      return item!;
    });
    expect(pending).toMatchObject({ status: 'pending', proposerPrincipal: 'support-copilot' });
    expect(sink.effects(id)).toBe(0);

    const missingReason = await call('POST', `${stack.urls['review-queue']}/v1/reviews/${id}/approve`, {}, stack.tokens.reviewer);
    expect(missingReason.status).toBe(400);
    expect(missingReason.body.message).toContain('reason');

    const shown = (await call('GET', `${stack.urls['review-queue']}/v1/reviews/${id}`, undefined, stack.tokens.reviewer)).body as { shownDigest: string };
    const stale = await call(
      'POST',
      `${stack.urls['review-queue']}/v1/reviews/${id}/approve`,
      { reason: 'photo shows the damage', shownDigest: '0'.repeat(64) },
      stack.tokens.reviewer,
    );
    expect(stale.status).toBe(409);
    expect(stale.body.message).toMatch(/changed since it was shown/);
    const approved = await call(
      'POST',
      `${stack.urls['review-queue']}/v1/reviews/${id}/approve`,
      { reason: 'photo shows the damage', shownDigest: shown.shownDigest },
      stack.tokens.reviewer,
    );
    expect(approved.status).toBe(200);
    await waitStatus(id, 'executed');
    expect(sink.effects(id)).toBe(1);
    await eventually(async () => {
      const entries = await audit(`actionId=${id}&type=${TOPICS.reviewDecided}`);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        actor: { id: 'alice', kind: 'human' },
        data: { decision: 'approved', reason: 'photo shows the damage', shownDigest: shown.shownDigest },
      });
      // The audit trail keeps exactly what the reviewer was shown, and its digest proves it.
      const data = entries[0].data as { shown: unknown; shownDigest: string };
      expect(createHash('sha256').update(canonicalize(data.shown)!).digest('hex')).toBe(data.shownDigest);
      expect(data.shown).toMatchObject({ actionId: id, proposal: { parameters: { amount: 480 } }, status: 'pending' });
    });
  });

  it('review: rejected, never executed', async () => {
    const id = await submit(proposal('support.refund', `order-${newId()}`, { amount: 900, currency: 'EUR', reason: 'unclear' }));
    await waitStatus(id, 'in_review');
    await eventually(async () =>
      expect((await call('GET', `${stack.urls['review-queue']}/v1/reviews/${id}`, undefined, stack.tokens.reviewer)).status).toBe(200),
    );
    const rejected = await call('POST', `${stack.urls['review-queue']}/v1/reviews/${id}/reject`, { reason: 'no evidence of damage' }, stack.tokens.reviewer2);
    expect(rejected.status).toBe(200);
    await waitStatus(id, 'rejected');
    const late = await call('POST', `${stack.urls['review-queue']}/v1/reviews/${id}/approve`, { reason: 'changed my mind' }, stack.tokens.reviewer);
    expect(late.status).toBe(409);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(sink.effects(id)).toBe(0);
  });

  it('regulated data reaches the target system and nothing else: reviewers, Redis, the audit table, the services’ records and the logs see it masked', async () => {
    const card = '4111 1111 1111 1111';
    const email = 'jane.doe@example.org';
    const iban = 'DE89370400440532013000';
    const secrets = [card, card.replace(/ /g, ''), email, iban];
    const id = await submit(
      proposal('support.refund', `order-${newId()}`, { amount: 520, currency: 'EUR', reason: `refund to ${iban}, receipt to ${email}`, card }),
    );
    await waitStatus(id, 'in_review');
    const shown = await eventually(async () => {
      const res = await call('GET', `${stack.urls['review-queue']}/v1/reviews/${id}`, undefined, stack.tokens.reviewer);
      expect(res.status).toBe(200);
      return res.body as { shownDigest: string };
    });
    expect(JSON.stringify(shown)).toContain('[card …1111]');
    const approved = await call(
      'POST',
      `${stack.urls['review-queue']}/v1/reviews/${id}/approve`,
      { reason: 'card holder confirmed', shownDigest: shown.shownDigest },
      stack.tokens.reviewer,
    );
    expect(approved.status).toBe(200);
    await waitStatus(id, 'executed');
    // Execution needs the real values, and gets them.
    expect(sink.receipts.find((r) => r.actionId === id)!.body).toMatchObject({ parameters: { card, reason: `refund to ${iban}, receipt to ${email}` } });

    const db = new Client({ connectionString: stack.env.DATABASE_URL });
    await db.connect();
    try {
      const rows = await eventually(async () => {
        const { rows } = await db.query<{ entry_json: string }>(`SELECT entry_json::text FROM audit_log WHERE entry_json::text LIKE '%' || $1 || '%'`, [id]);
        expect(rows.map((r) => JSON.parse(r.entry_json).topic)).toEqual(
          expect.arrayContaining([TOPICS.actionProposed, TOPICS.reviewDecided, TOPICS.actionExecuted]),
        );
        return rows;
      });
      for (const secret of secrets) expect(rows.filter((r) => r.entry_json.includes(secret))).toEqual([]);
      // The orchestrator's and the policy engine's records (idempotency keys, action views, decisions, change
      // requests) hold the action, never the card in any form (with or without separators), nor the rest.
      const records: string[] = [];
      for (const table of [
        'orchestrator_idempotency_keys',
        'orchestrator_action_timeline',
        'policy_engine_decisions',
        'policy_engine_change_requests',
        'policy_engine_base_claims',
      ]) {
        records.push(...(await db.query<{ row: string }>(`SELECT t::text AS row FROM ${table} t`)).rows.map((r) => r.row));
      }
      expect(records.filter((r) => r.includes(id)).length).toBeGreaterThanOrEqual(2);
      expect(records.filter((r) => r.replace(/\D/g, '').includes(card.replace(/\D/g, '')))).toEqual([]);
      for (const secret of secrets) expect(records.filter((r) => r.includes(secret))).toEqual([]);
    } finally {
      await db.end();
    }
    const redis = new Redis(stack.env.REDIS_URL);
    try {
      const keys = await redis.keys(`${stack.env.REDIS_KEY_PREFIX}*`);
      const values = await Promise.all(keys.map(async (k) => JSON.stringify(await redisValue(redis, k))));
      expect(values.some((v) => v.includes(id))).toBe(true);
      for (const secret of secrets) expect(values.filter((v) => v.includes(secret))).toEqual([]);
    } finally {
      redis.disconnect();
    }
    const logDir = join(__dirname, '../../.stack/e2e', ns, 'logs');
    const logs = readdirSync(logDir).map((f) => readFileSync(join(logDir, f), 'utf8'));
    expect(logs.some((l) => l.includes(id))).toBe(true);
    for (const secret of secrets) expect(logs.filter((l) => l.includes(secret))).toEqual([]);
  });

  it('separation of duties: the proposer cannot approve its own action, and the refusal is audited', async () => {
    // dana proposes as herself: a token may propose only as the agent ids its entry names (its own by default).
    const asDana = { proposer: { agentId: 'dana', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' } };
    const id = await submit(proposal('support.refund', `order-${newId()}`, { amount: 700, currency: 'EUR', reason: 'late' }, asDana), stack.tokens.dana);
    await waitStatus(id, 'in_review', stack.tokens.dana);
    // Another agent's token does not read dana's action: to it, the action is not there (the answer to an id no one
    // proposed, so it cannot tell real actions from canaries), and the attempt is audited.
    const theirs = await call('GET', `${api()}/v1/actions/${id}`, undefined, stack.tokens.agent2);
    const nobody = await call('GET', `${api()}/v1/actions/no-such-action`, undefined, stack.tokens.agent2);
    expect([theirs.status, theirs.body.message]).toEqual([404, `no action ${id}`]);
    expect({ ...theirs.body, message: '' }).toEqual({ ...nobody.body, message: '' });
    await eventually(async () => {
      const entries = await audit(`actor=ops-copilot&type=${TOPICS.requestRejected}`);
      expect(entries.some((e) => (e.data as { path: string }).path.includes(id))).toBe(true);
    });
    await eventually(async () => expect((await call('GET', `${stack.urls['review-queue']}/v1/reviews/${id}`, undefined, stack.tokens.dana)).status).toBe(200));
    const self = await call('POST', `${stack.urls['review-queue']}/v1/reviews/${id}/approve`, { reason: 'trust me' }, stack.tokens.dana);
    expect(self.status).toBe(403);
    expect(self.body.message).toMatch(/proposer/);
    await eventually(async () => {
      const entries = await audit(`actor=dana&type=${TOPICS.requestRejected}`);
      expect(entries.some((e) => (e.data as { path: string }).path.includes(id))).toBe(true);
    });
    expect(sink.effects(id)).toBe(0);
  });

  it('prohibited and unknown action types are never executed', async () => {
    const prohibited = await submit(proposal('legal.statement', 'customer-7', { body: 'We accept liability for the outage.' }));
    const unknown = await submit(proposal('crypto.transfer', 'wallet-1', { amount: 1 }));
    for (const id of [prohibited, unknown]) {
      const view = await waitStatus(id, 'prohibited');
      expect(view.lane).toBe('prohibited');
    }
    const approve = await call('POST', `${stack.urls['review-queue']}/v1/reviews/${prohibited}/approve`, { reason: 'please' }, stack.tokens.reviewer);
    expect(approve.status).toBe(404);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(sink.effects(prohibited) + sink.effects(unknown)).toBe(0);
  });

  it('kill switch off (through the Unleash admin API): not executed, and the timeline says so', async () => {
    const flag = `${stack.flagPrefix}ticket.tag`;
    /** A fresh ticket.tag proposal, followed to its end. */
    const probe = async () => {
      const id = await submit(proposal('ticket.tag', `ticket-${newId()}`, { tags: ['vip'] }));
      return eventually(
        async () => {
          const view = await action(id);
          expect(['executed', 'prohibited', 'refused']).toContain(view.status);
          return { id, status: view.status as string };
        },
        60_000,
        100,
      );
    };
    await stack.flags.set(flag, false);
    try {
      await stack.flags.visible(flag, false);
      // The services see it at their Unleash clients' next refresh (every 500 ms, later on a busy machine): from then on a
      // proposal is prohibited. The policy engine reads the kill switch first (the executor checks it again before acting).
      const { id } = await eventually(
        async () => {
          const p = await probe();
          expect(p.status).toBe('prohibited');
          return p;
        },
        60_000,
        200,
      );
      expect(JSON.stringify((await action(id)).timeline)).toMatch(/kill switch of ticket\.tag is off/);
      expect(sink.effects(id)).toBe(0);
    } finally {
      // On again through four eyes: a switch turned on directly in Unleash is set back by the drift watcher.
      await stack.switchOn('ticket.tag');
      // On again for the tests that follow: once every service has seen it, a proposal executes.
      await eventually(async () => expect((await probe()).status).toBe('executed'), 60_000, 200);
    }
  });

  it('a malformed event on the proposals topic goes to the DLQ with a reason, is audited, and the services keep running', async () => {
    const key = `poison-${newId()}`;
    await bus.publishRaw(TOPICS.proposalSubmitted, key, '{"not": "an envelope"');
    await eventually(async () => {
      const entries = await audit(`actionId=${key}`);
      expect(entries).toHaveLength(1);
      expect(entries[0].type).toBe(`${TOPICS.proposalSubmitted}.dlq`);
      expect((entries[0].data as { reason: string }).reason).toMatch(/^malformed JSON/);
    });
    const id = await submit(proposal('support.reply', `ticket-${newId()}`, { body: 'still here' }));
    await waitStatus(id, 'executed');
  });

  it('agents may produce proposals straight to Kafka, signed with their key; an unsigned one is dead-lettered and audited', async () => {
    const submission = (id: string) => ({
      id: newId(),
      type: TOPICS.proposalSubmitted,
      version: 1 as const,
      source: 'support-copilot',
      time: new Date().toISOString(),
      subject: id,
      correlationId: `corr-${id}`,
      causationId: null,
      actor: { id: 'support-copilot', kind: 'agent' as const },
      data: proposal('support.reply', `ticket-${newId()}`, { body: 'via kafka' }) as never,
    });
    const [id, unsigned] = [newId(), newId()];
    await bus.publish(TOPICS.proposalSubmitted, signSubmission(submission(id), stack.signingKeys.agent.keyId, stack.signingKeys.agent.privateKey));
    await bus.publish(TOPICS.proposalSubmitted, submission(unsigned));
    await waitStatus(id, 'executed');
    expect(sink.effects(id)).toBe(1);
    // The audit writer follows on its own: the entry may land just after the action's status says executed.
    await eventually(async () =>
      expect((await audit(`correlationId=corr-${id}`)).find((e) => e.type === TOPICS.actionProposed)).toMatchObject({
        actor: { id: 'support-copilot', authMethod: 'signature' },
      }),
    );
    await eventually(async () => {
      const entries = await audit(`correlationId=corr-${unsigned}`);
      expect(entries.find((e) => e.type === `${TOPICS.proposalSubmitted}.dlq`)?.data).toMatchObject({
        reason: expect.stringMatching(/^unauthenticated proposer: the submission is not signed/),
      });
      expect(entries.some((e) => e.type === TOPICS.actionProposed)).toBe(false);
    });
    expect(sink.effects(unsigned)).toBe(0);
  });

  it('an approval for another action id is refused, audited as suspicious, and executes nothing; the action stays in review', async () => {
    const a = await submit(proposal('support.refund', `order-${newId()}`, { amount: 600, currency: 'EUR', reason: 'a' }));
    const b = await submit(proposal('support.refund', `order-${newId()}`, { amount: 650, currency: 'EUR', reason: 'b' }));
    await waitStatus(a, 'in_review');
    await waitStatus(b, 'in_review');
    const itemB = await eventually(async () => {
      const res = await call('GET', `${stack.urls['review-queue']}/v1/reviews/${b}`, undefined, stack.tokens.reviewer);
      expect(res.status).toBe(200);
      // The review API does not give a reviewer the digest (it would help find masked values): the attacker here has
      // it from the audit trail, as an auditor would.
      const [decided] = await audit(`actionId=${b}&type=${TOPICS.policyDecided}`);
      expect(decided).toBeDefined();
      return { ...(res.body as { decisionEventId: string; correlationId: string }), digest: (decided.data as { digest: string }).digest };
    });
    // A genuinely signed approval, but of action A, sent as the approval of action B.
    const [key] = loadSigningKeys(stack.keys.signingKeysFile);
    const now = new Date();
    const token = signApproval(key, {
      actionId: a,
      digest: itemB.digest,
      approvers: ['alice'],
      reasons: ['x'],
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 60_000).toISOString(),
    });
    await bus.publish(TOPICS.reviewDecided, {
      id: newId(),
      type: TOPICS.reviewDecided,
      version: 1,
      source: 'attacker',
      time: now.toISOString(),
      subject: b,
      correlationId: itemB.correlationId,
      causationId: itemB.decisionEventId,
      actor: { id: 'alice', kind: 'human' },
      data: { decision: 'approved', reviewers: [{ id: 'alice', kind: 'human' }], reason: 'x', digest: itemB.digest, approval: token },
    });
    await eventually(async () => {
      const refused = await audit(`actionId=${b}&type=${TOPICS.actionRefused}`);
      expect(refused[0]).toMatchObject({ data: { code: 'approval-for-other-action', suspicious: true, final: false } });
    });
    // The event was refused, not the action: B is still in review, and neither the forged approval nor its refusal is
    // on its timeline (ADR 0017, addendum 2026-12-02).
    const view = await waitStatus(b, 'in_review');
    expect((view.timeline as Array<{ status: string }>).map((t) => t.status)).toEqual(['proposed', 'in_review']);
    expect(sink.effects(a) + sink.effects(b)).toBe(0);
  });

  it('rejects bad requests precisely, and audits them', async () => {
    const bad = await call('POST', `${api()}/v1/proposals`, { ...proposal('support.reply', 't', {}), confidence: 3 }, stack.tokens.agent);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe('confidence: Too big: expected number to be <=1');
    const huge = await call('POST', `${api()}/v1/proposals`, proposal('support.reply', 't', { body: 'x'.repeat(100_000) }), stack.tokens.agent);
    expect(huge.status).toBe(413);
    const anonymous = await call('POST', `${api()}/v1/proposals`, proposal('support.reply', 't', {}));
    expect(anonymous.status).toBe(401);
    const wrongRole = await call('POST', `${api()}/v1/proposals`, proposal('support.reply', 't', {}), stack.tokens.auditor);
    expect(wrongRole.status).toBe(403);
    await eventually(async () => {
      const entries = await audit(`type=${TOPICS.requestRejected}&actor=audrey`);
      expect(entries.some((e) => (e.data as { status: number }).status === 403)).toBe(true);
    });
  });

  it('a second instance of a service joins its group and shares the work with no duplicates', async () => {
    await stack.startInstance('executor', 'executor-2');
    await stack.startInstance('policy-engine', 'policy-engine-2');
    const ids = await Promise.all(Array.from({ length: 24 }, (_, i) => submit(proposal('ticket.tag', `ticket-scale-${i}-${newId()}`, { tags: ['x'] }))));
    for (const id of ids) await waitStatus(id, 'executed');
    expect(ids.map((id) => sink.effects(id))).toEqual(ids.map(() => 1));
    const deliveries = sink.receipts.filter((r) => ids.includes(r.actionId)).length;
    expect(deliveries).toBe(24);
    const logs = ['executor', 'executor-2'].map((n) => readFileSync(join(__dirname, '../../.stack/e2e', ns, 'logs', `${n}.log`), 'utf8'));
    // Both instances executed some of them: the partitions were shared.
    const executedBy = logs.map((log) =>
      log
        .split('\n')
        .filter((line) => line.includes('"msg":"action executed"'))
        .map((line) => JSON.parse(line).actionId as string)
        .filter((id) => ids.includes(id)),
    );
    expect(executedBy[0].length).toBeGreaterThan(0);
    expect(executedBy[1].length).toBeGreaterThan(0);
    expect(executedBy[0].length + executedBy[1].length).toBe(24);
  });

  it('the audit trail is a signed Merkle log: a segment export and an inclusion proof verify offline', async () => {
    const id = await submit(proposal('support.reply', `ticket-${newId()}`, { body: 'audited' }));
    await waitStatus(id, 'executed');
    const keys = stack.headKeys;
    // Heads come every second while anything is new; wait for one that covers the executed event.
    const executedIndex = await eventually(async () => {
      const [executed] = await audit(`actionId=${id}&type=${TOPICS.actionExecuted}`);
      const heads = (await call('GET', `${stack.urls['audit-writer']}/v1/audit/heads`, undefined, stack.tokens.auditor)).body.heads as TreeHead[];
      expect(heads.some((h) => h.treeSize > (executed.index as number))).toBe(true);
      return executed.index as number;
    }, 15_000);
    const res = await testFetch(`${stack.urls['audit-writer']}/v1/audit/segment`, { headers: { Authorization: `Bearer ${stack.tokens.auditor}` } });
    expect(res.status).toBe(200);
    const segment = await res.text();
    const wormHeads = readdirSync(join(stack.env.AUDIT_HEAD_STORE_DIR)).map(
      (f) => JSON.parse(readFileSync(join(stack.env.AUDIT_HEAD_STORE_DIR, f), 'utf8')) as TreeHead,
    );
    const verified = verifySegment(
      segment,
      keys,
      wormHeads.filter((h) => h.treeSize <= Number(/"treeSize":(\d+)/.exec(segment.trimEnd().split('\n').pop()!)![1])),
    );
    expect(verified).toMatchObject({ ok: true });
    // The same log with one entry changed no longer verifies, and the index is named.
    const tampered = segment.replace(/"body":"audited"/, '"body":"changed"');
    expect(verifySegment(tampered, keys)).toMatchObject({ ok: false, firstBadIndex: expect.any(Number) });
    const proof = (await call('GET', `${stack.urls['audit-writer']}/v1/audit/proof/${executedIndex}`, undefined, stack.tokens.auditor)).body as {
      leafHash: string;
      proof: string[];
      root: string;
      treeSize: number;
      entry: unknown;
    };
    expect(leafHash(entryBytes(proof.entry)).toString('hex')).toBe(proof.leafHash);
    expect(
      verifyInclusion(
        Buffer.from(proof.leafHash, 'hex'),
        executedIndex,
        proof.treeSize,
        proof.proof.map((h) => Buffer.from(h, 'hex')),
        Buffer.from(proof.root, 'hex'),
      ),
    ).toBe(true);
    // Only auditors read the audit trail.
    expect((await call('GET', `${stack.urls['audit-writer']}/v1/audit/heads`, undefined, stack.tokens.reviewer)).status).toBe(403);
  });

  it('change control: four eyes — one admin alone cannot load a contract, a second admin approves the reviewed digest', async () => {
    const policy = stack.urls['policy-engine'];
    const changes = `${policy}/v1/policy/change-requests`;
    const running = async () => (await call('GET', `${policy}/v1/policy`, undefined, stack.tokens.agent)).body as { version: string };
    const before = (await running()).version;
    const text = readFileSync(join(__dirname, '../../apps/policy-engine/contract/countersign.contract.yaml'), 'utf8');
    const legalAutonomous = text
      .replace(`version: ${before}`, `version: ${before}.1-rogue`)
      .replace(/(legal\.statement:[\s\S]*?lane: )prohibited,/, `$1autonomous, ${LEGAL_REVIEW}`);
    const legal = () => proposal('legal.statement', 'customer-7', { body: 'We accept liability for the outage.' });

    // What one admin did before: load a contract naming someone else as approver. There is no such call now: the path
    // only reads the contract in force.
    const old = { contract: legalAutonomous, changeRequestId: 'CR-1', approvedBy: 'someone' };
    const asserted = await call('PUT', `${policy}/v1/policy`, old, stack.tokens.admin);
    expect(asserted.status).toBe(405);
    expect(asserted.headers.get('allow')).toBe('GET, HEAD');
    // Nor does a change request take an approver from its body.
    const named = await call('POST', changes, { contract: legalAutonomous, reason: 'approved by legal', approvedBy: 'grace' }, stack.tokens.admin);
    expect(named.status).toBe(400);
    expect((await call('POST', changes, { contract: legalAutonomous, reason: 'not an admin' }, stack.tokens.reviewer)).status).toBe(403);
    expect((await call('POST', changes, { contract: 'version: [', reason: 'broken' }, stack.tokens.admin)).status).toBe(400);

    // One admin requests; the request carries the digest to approve and the policy diff of what would change.
    const created = await call('POST', changes, { contract: legalAutonomous, reason: 'let the bot make legal statements' }, stack.tokens.admin);
    expect(created.status).toBe(201);
    const rogue = created.body as { id: string; digest: string; status: string; diff: { output: string }; contract: { hash: string } };
    expect(rogue).toMatchObject({ status: 'pending', digest: expect.stringMatching(/^[0-9a-f]{64}$/), contract: { hash: expect.stringMatching(/^sha256:/) } });
    expect(rogue.diff.output).toContain('legal.statement customer-7: prohibited → autonomous');
    // The same admin cannot approve it (403, audited), whatever the digest.
    const self = await call('POST', `${changes}/${rogue.id}/approve`, { digest: rogue.digest, reason: 'I checked it myself' }, stack.tokens.admin);
    expect(self.status).toBe(403);
    // Another admin naming another digest is refused (409).
    const wrong = await call('POST', `${changes}/${rogue.id}/approve`, { digest: 'e'.repeat(64), reason: 'approve whatever' }, stack.tokens.admin2);
    expect(wrong.status).toBe(409);
    // Nothing changed: a legal statement is still prohibited, under the running version.
    const stillProhibited = await submit(legal());
    expect(await waitStatus(stillProhibited, 'prohibited')).toMatchObject({ lane: 'prohibited' });
    expect((await running()).version).toBe(before);
    // The second admin rejects it.
    const rejected = await call('POST', `${changes}/${rogue.id}/reject`, { reason: 'legal statements are made by people' }, stack.tokens.admin2);
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({ status: 'rejected', decider: 'grace' });

    // A change the second admin approves, naming the digest they reviewed, is applied, and proposals are decided under it.
    // Versions only go up: the next one extends the running one.
    const nextVersion = `${before}.1-e2e`;
    // It also lets reviews leave a degraded mode sooner: the review queue follows approved changes too.
    const next = text.replace(`version: ${before}`, `version: ${nextVersion}`).replace('minDwellSeconds: 300', 'minDwellSeconds: 240');
    expect(next).toContain('minDwellSeconds: 240');
    const bump = (await call('POST', changes, { contract: next, reason: 'new version' }, stack.tokens.admin)).body as { id: string; digest: string };
    const reviewed = (await call('GET', `${changes}/${bump.id}`, undefined, stack.tokens.admin2)).body as { digest: string; contract: { text: string } };
    expect(reviewed).toMatchObject({ digest: bump.digest, contract: { text: next } });
    const approval = { digest: reviewed.digest, reason: 'diff reviewed: no decision changes' };
    const approved = await call('POST', `${changes}/${bump.id}/approve`, approval, stack.tokens.admin2);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'approved', requestedBy: 'ada', decider: 'grace' });
    await eventually(async () => expect((await running()).version).toBe(nextVersion));
    const thresholds = async () =>
      ((await call('GET', `${stack.urls['review-queue']}/v1/governance`, undefined, stack.tokens.auditor)).body as { thresholds: { minDwellSeconds: number } })
        .thresholds;
    await eventually(async () => expect((await thresholds()).minDwellSeconds).toBe(240));
    const id = await submit(proposal('support.reply', `ticket-${newId()}`, { body: 'under the new version' }));
    const view = await waitStatus(id, 'executed');
    expect(JSON.stringify(view.timeline)).toContain(`contract ${nextVersion}`);
    const listed = (await call('GET', `${changes}?status=approved`, undefined, stack.tokens.admin)).body as { changeRequests: Array<{ id: string }> };
    expect(listed.changeRequests.map((r) => r.id)).toEqual([bump.id]);

    // Every step is in the audit trail, with the authenticated principals.
    await eventually(async () => {
      expect(await audit(`correlationId=${rogue.id}`)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: TOPICS.changeRequested, actor: expect.objectContaining({ id: 'ada' }) }),
          expect.objectContaining({
            type: TOPICS.changeDecided,
            actor: expect.objectContaining({ id: 'grace' }),
            data: expect.objectContaining({ decision: 'rejected' }),
          }),
        ]),
      );
      const refusals = await audit(`type=${TOPICS.requestRejected}&actor=ada`);
      const path = `/v1/policy/change-requests/${rogue.id}/approve`;
      const refused = (status: number) => expect.objectContaining({ data: expect.objectContaining({ status, path }) });
      expect(refusals).toEqual(expect.arrayContaining([refused(403)]));
      const mismatch = await audit(`type=${TOPICS.requestRejected}&actor=grace`);
      expect(mismatch).toEqual(expect.arrayContaining([refused(409)]));
      const steps = await audit(`correlationId=${bump.id}`);
      expect(steps.map((e) => e.type)).toEqual(expect.arrayContaining([TOPICS.changeRequested, TOPICS.changeDecided, TOPICS.contractChanged]));
      expect(steps.find((e) => e.type === TOPICS.contractChanged)).toMatchObject({
        data: { fromVersion: before, toVersion: nextVersion, changeRequestId: bump.id, requestedBy: 'ada', approvedBy: 'grace' },
      });
    });
  });
});
