import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { createLogger } from '@countersign/logging';
import { call, eventually } from '@countersign/testing';
import { DEFAULT_CONTRACT_PATH } from '@countersign/policy-engine';
import { EMBEDDED_TRUST_HEARTBEAT_MS, startEmbedded } from './embedded';

// real: all five services in one process, the in-process bus and stores, the local flag and audit files;
// fake: the target system (the embedded sink).
// The test card in any form it was sent in (plain, spaced, dashed, dotted, URL-encoded). Not a bare "4111":
// random hex ids and digests contain that often enough to make a test flaky.
const CARD_IN_ANY_FORM = /4111(?:[\s.-]|%20)?1111(?:[\s.-]|%20)?1111(?:[\s.-]|%20)?1111/;

describe('embedded mode', () => {
  let running: Awaited<ReturnType<typeof startEmbedded>>;
  const token = (name: string) => readFileSync(join(running.home, 'tokens', name), 'utf8');
  const example = (f: string) => JSON.parse(readFileSync(join(__dirname, '../examples', f), 'utf8'));
  const status = (id: string, want: string) =>
    eventually(async () => {
      const res = await call('GET', `${running.url}/v1/actions/${id}`, undefined, token('agent'));
      expect(res.body.status).toBe(want);
      return res.body;
    }, 10_000);

  // Every log line, to check that no secret or regulated value reaches a log.
  const logLines: string[] = [];
  beforeAll(async () => {
    const home = mkdtempSync(join(tmpdir(), 'countersign-'));
    chmodSync(home, 0o755); // as a home made by hand would be: the start closes it
    running = await startEmbedded({
      home,
      port: 0,
      logger: createLogger('embedded-test', { level: 'debug', destination: { write: (l: string) => void logLines.push(l) } }),
    });
  }, 60_000); // a first start makes the home's database
  afterAll(() => running.close());

  it('executes an autonomous proposal once and writes it to the local audit file', async () => {
    const res = await call('POST', `${running.url}/v1/proposals`, example('refund-small.json'), token('agent'));
    expect(res.status).toBe(202);
    const id = res.body.actionId as string;
    const view = await status(id, 'executed');
    expect(view.lane).toBe('autonomous');
    expect(running.sink.effects.filter((e) => e.actionId === id)).toHaveLength(1);
    await eventually(() => {
      const lines = readFileSync(join(running.home, 'audit', 'audit.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines.filter((l) => l.entry.actionId === id).map((l) => l.entry.eventType)).toEqual(
        expect.arrayContaining(['orchestrator.action.proposed.v1', 'policy.decision.made.v1', 'execution.action.executed.v1']),
      );
      // Each line carries its place in the Merkle log and its leaf hash (the roots are at the signed heads, ADR 0029).
      expect(lines.map((l) => l.index)).toEqual(lines.map((_, i) => i));
      expect(lines.every((l) => /^[0-9a-f]{64}$/.test(l.leafHash))).toBe(true);
    });
  });

  it('holds a large refund for review until a human approves it', async () => {
    const id = (await call('POST', `${running.url}/v1/proposals`, example('refund-large.json'), token('agent'))).body.actionId as string;
    await status(id, 'in_review');
    expect(running.sink.effects.filter((e) => e.actionId === id)).toHaveLength(0);
    const approve = await call('POST', `${running.url}/v1/reviews/${id}/approve`, { reason: 'damage confirmed by photo' }, token('reviewer'));
    expect(approve.status).toBe(200);
    await status(id, 'executed');
    expect(running.sink.effects.filter((e) => e.actionId === id)).toHaveLength(1);
  });

  it('masks a card number for the reviewer and the audit trail, and executes with the real one', async () => {
    const card = '4111 1111 1111 1111';
    const proposal = { ...example('refund-small.json'), target: 'order-81', parameters: { amount: 60, currency: 'EUR', reason: 'late', card } };
    const id = (await call('POST', `${running.url}/v1/proposals`, proposal, token('agent'))).body.actionId as string;
    await status(id, 'in_review');
    const item = await call('GET', `${running.url}/v1/reviews/${id}`, undefined, token('reviewer'));
    expect(JSON.stringify(item.body)).not.toContain(card);
    expect(JSON.stringify(item.body)).toContain('[card …1111]');
    await call(
      'POST',
      `${running.url}/v1/reviews/${id}/approve`,
      { reason: 'customer confirmed by phone', shownDigest: item.body.shownDigest },
      token('reviewer'),
    );
    await status(id, 'executed');
    expect(running.sink.effects.find((e) => e.actionId === id)!.body).toMatchObject({ parameters: { card } });
    await eventually(() => {
      const audit = readFileSync(join(running.home, 'audit', 'audit.jsonl'), 'utf8');
      expect(audit).toContain(id);
      expect(audit).not.toContain(card);
      expect(audit).not.toContain('4111111111111111');
    });
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('')).not.toMatch(CARD_IN_ANY_FORM);
    expect(logLines.join('')).not.toContain(token('agent'));
  });

  it("masks the contract's own national ids (de-tax-id) everywhere, as the built-in ones: the item, a reviewer's reason, the timeline, the audit", async () => {
    const taxId = '12 345 678 901';
    const proposal = { ...example('refund-small.json'), target: 'order-82', parameters: { amount: 60, currency: 'EUR', reason: `tax id ${taxId} on file` } };
    const id = (await call('POST', `${running.url}/v1/proposals`, proposal, token('agent'))).body.actionId as string;
    await status(id, 'in_review');
    const item = await call('GET', `${running.url}/v1/reviews/${id}`, undefined, token('reviewer'));
    expect(item.body.proposal).toMatchObject({ parameters: { reason: 'tax id [de-tax-id] on file' } });
    const rejected = await call('POST', `${running.url}/v1/reviews/${id}/reject`, { reason: `tax id ${taxId} does not match` }, token('reviewer'));
    expect(rejected.status).toBe(200);
    await status(id, 'rejected');
    const view = await call('GET', `${running.url}/v1/actions/${id}`, undefined, token('agent'));
    expect(JSON.stringify(view.body)).toContain('tax id [de-tax-id] does not match');
    expect((await call('GET', `${running.url}/v1/reviews/${id}`, undefined, token('reviewer'))).body.decisionReason).toBe('tax id [de-tax-id] does not match');
    await eventually(() => {
      const audit = readFileSync(join(running.home, 'audit', 'audit.jsonl'), 'utf8');
      expect(audit).toContain('tax id [de-tax-id] does not match');
      expect(audit).not.toContain(taxId);
    });
    expect(logLines.join('')).not.toContain(taxId);
  });

  it('refuses two Idempotency-Key headers, naming them, and accepts nothing (red team, 2026-12-08: "must be 1-200 characters")', async () => {
    const body = JSON.stringify({ ...example('refund-small.json'), target: 'order-dup-key' });
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${running.url}/v1/proposals`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token('agent')}`, 'Idempotency-Key': ['dup-a', 'dup-b'] },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text).message).toBe('more than one Idempotency-Key header: send one');
  });

  it('never executes a prohibited action', async () => {
    const id = (await call('POST', `${running.url}/v1/proposals`, example('legal-statement.json'), token('agent'))).body.actionId as string;
    const view = await status(id, 'prohibited');
    expect(JSON.stringify(view.timeline)).toMatch(/legal statements are made by people/);
    // Why, for a program: the rule that decided it, and no `retryLater` (the contract's own prohibition does not pass).
    expect(view.reasonCode).toBe('legal.statement.lane');
    expect(view).not.toHaveProperty('retryLater');
    expect(running.sink.effects.filter((e) => e.actionId === id)).toHaveLength(0);
  });

  it('keeps the stand-in target closed without its token: 401 or 403, audited; with the sink token the effects are there', async () => {
    const before = running.sink.effects.length;
    const fake = { actionId: 'fake-effect', actionType: 'support.refund', target: 'order-1', parameters: { amount: 1 } };
    const anonymous = await call('GET', `${running.url}/_sink/effects`);
    expect(anonymous).toMatchObject({ status: 401, body: { message: expect.stringMatching(/bearer token/) } });
    const post = (tok: string | undefined, key: string) =>
      call('POST', `${running.url}/_sink/effects`, fake, tok, { 'Idempotency-Key': key, 'X-Countersign-Action-Id': 'fake-effect' });
    expect((await post(undefined, 'fake-1')).status).toBe(401);
    expect((await post(token('agent'), 'fake-2')).status).toBe(403);
    expect((await call('GET', `${running.url}/_sink/effects`, undefined, 'cs_sink_guessed-token-000000')).status).toBe(401);
    expect(running.sink.effects.length).toBe(before);
    const listed = await call('GET', `${running.url}/_sink/effects`, undefined, token('sink'));
    expect(listed.status).toBe(200);
    expect((listed.body.effects as unknown[]).length).toBe(before);
    expect(before).toBeGreaterThan(0); // the connector delivered the earlier tests' effects with the token
    await eventually(() => {
      const rejected = readFileSync(join(running.home, 'audit', 'audit.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).entry)
        .filter((e) => e.eventType === 'security.request.rejected.v1' && e.data.path === '/_sink/effects');
      expect(rejected.map((e) => e.data.status).sort()).toEqual([401, 401, 401, 403]);
    });
  });

  /** The embedded mode on a home of its own, running the project's contract as `edit` changes it; its tokens by name. */
  const startWithContract = async (name: string, edit: (text: string) => string) => {
    const home = mkdtempSync(join(tmpdir(), `countersign-${name}-`));
    const contractPath = join(home, 'contract.yaml');
    writeFileSync(contractPath, edit(readFileSync(DEFAULT_CONTRACT_PATH, 'utf8')));
    const running = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }), contractPath });
    return { running, home, tokenOf: (token: string) => readFileSync(join(home, 'tokens', token), 'utf8') };
  };

  it('queues a sampled share of autonomous actions for an after-the-fact check (sampling at 100 % here)', async () => {
    const {
      running: sampled,
      home,
      tokenOf,
    } = await startWithContract('sampled', (t) => t.replace(/sampling: \{[^}]*\}/, 'sampling: { autonomousShare: 1, seed: all }'));
    try {
      const id = (await call('POST', `${sampled.url}/v1/proposals`, example('refund-small.json'), tokenOf('agent'))).body.actionId as string;
      const item = await eventually(async () => {
        const res = await call('GET', `${sampled.url}/v1/reviews/${id}`, undefined, tokenOf('reviewer'));
        expect(res.body).toMatchObject({ kind: 'audit-sample', status: 'pending' });
        return res.body;
      }, 10_000);
      await eventually(
        async () => expect((await call('GET', `${sampled.url}/v1/actions/${id}`, undefined, tokenOf('agent'))).body.status).toBe('executed'),
        10_000,
      );
      const approve = await call('POST', `${sampled.url}/v1/reviews/${id}/approve`, { reason: 'looks fine' }, tokenOf('reviewer'));
      expect(approve.status).toBe(409);
      const assess = await call(
        'POST',
        `${sampled.url}/v1/reviews/${id}/assess`,
        { verdict: 'agree', reason: 'refund matches the delay', shownDigest: item.shownDigest },
        tokenOf('reviewer'),
      );
      expect(assess.body).toEqual({ actionId: id, status: 'agreed' });
      await eventually(() => expect(readFileSync(join(home, 'audit', 'audit.jsonl'), 'utf8')).toContain('"eventType":"review.sample.assessed.v1"'));
      expect(sampled.sink.effects.filter((e) => e.actionId === id)).toHaveLength(1);
    } finally {
      await sampled.close();
    }
  });

  it('withholds a decision under a blind second review from other reviewers until the verdict is in (second reviews at 100 % here)', async () => {
    const { running: blind, tokenOf } = await startWithContract('blind', (t) => t.replace('secondReview: { rate: 0.05 }', 'secondReview: { rate: 1 }'));
    try {
      const id = (await call('POST', `${blind.url}/v1/proposals`, example('refund-large.json'), tokenOf('agent'))).body.actionId as string;
      await eventually(async () => expect((await call('GET', `${blind.url}/v1/reviews/${id}`, undefined, tokenOf('reviewer'))).status).toBe(200), 10_000);
      expect((await call('POST', `${blind.url}/v1/reviews/${id}/approve`, { reason: 'matches the order' }, tokenOf('reviewer'))).body).toMatchObject({
        status: 'approved',
      });
      // bob may take the second review: the item and its decision are withheld from him, and a late approval says only
      // "already decided"; alice, who decided, reads it.
      const bob = await call('GET', `${blind.url}/v1/reviews/${id}`, undefined, tokenOf('reviewer2'));
      expect(bob).toMatchObject({ status: 403, body: { message: expect.stringContaining('under a blind second review') } });
      expect(JSON.stringify(bob.body)).not.toMatch(/alice|approved/);
      const late = await call('POST', `${blind.url}/v1/reviews/${id}/approve`, { reason: 'me too' }, tokenOf('reviewer2'));
      expect(late).toMatchObject({ status: 409, body: { message: `action ${id} is already decided` } });
      expect((await call('GET', `${blind.url}/v1/reviews/${id}`, undefined, tokenOf('reviewer'))).body).toMatchObject({ status: 'approved' });
      // The governance state counts no canaries: not a reviewer's to read.
      expect((await call('GET', `${blind.url}/v1/governance`, undefined, tokenOf('reviewer'))).status).toBe(403);
    } finally {
      await blind.close();
    }
  });

  it("rejects at once an approval past its proposer's or its tenant's share of the backlog (maxPendingPerProposer, maxPendingPerTenant), audited, never executed", async () => {
    const {
      running: capped,
      home,
      tokenOf,
    } = await startWithContract('capped', (t) =>
      t.replace('maxPendingPerProposer: 500', 'maxPendingPerProposer: 2').replace('maxPendingPerTenant: 800', 'maxPendingPerTenant: 3'),
    );
    try {
      const view = (id: string, token = 'agent') => call('GET', `${capped.url}/v1/actions/${id}`, undefined, tokenOf(token));
      // One after the other: each is queued, or rejected, before the next is proposed. An item past the share reads
      // `in_review` for a moment before its rejection lands: each waits for the status it ends in (a clean clone read
      // the moment, 2026-12-05), and the reads below check them all again.
      const propose = async (i: number, token: string, agentId: string, ends: 'in_review' | 'rejected' = 'in_review') => {
        const large = example('refund-large.json');
        const body = { ...large, target: `order-cap-${i}`, proposer: { ...large.proposer, agentId } };
        const id = (await call('POST', `${capped.url}/v1/proposals`, body, tokenOf(token))).body.actionId as string;
        await eventually(async () => expect((await view(id, token)).body.status).toBe(ends), 10_000);
        return id;
      };
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push(await propose(i, 'agent', 'support-copilot', i === 2 ? 'rejected' : 'in_review'));
      expect(await Promise.all(ids.map(async (id) => (await view(id)).body.status))).toEqual(['in_review', 'in_review', 'rejected']);
      // The agent reads why, as a code it can act on (propose it again later), not only in the words.
      expect((await view(ids[2])).body.reasonCode).toBe('proposer_backlog_full');
      // A second agent of the same tenant (acme): its first takes the tenant's third place, its second is past the share.
      const second = [await propose(3, 'agent2', 'ops-copilot'), await propose(4, 'agent2', 'ops-copilot', 'rejected')];
      expect(await Promise.all(second.map(async (id) => (await view(id, 'agent2')).body.status))).toEqual(['in_review', 'rejected']);
      expect((await view(second[1], 'agent2')).body.reasonCode).toBe('tenant_backlog_full');
      await eventually(() => {
        const lines = readFileSync(join(home, 'audit', 'audit.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        for (const id of [ids[2], second[1]]) expect(lines.some((l) => l.entry.actionId === id && l.entry.eventType === 'review.decision.made.v1')).toBe(true);
      });
      expect(capped.sink.effects.filter((e) => [...ids, ...second].includes(e.actionId))).toHaveLength(0);
    } finally {
      await capped.close();
    }
  });

  it('masks a card number in a refused request: the path, the message, the log and the audit; and refuses it as correlation id', async () => {
    const before = logLines.length;
    const audited = () =>
      readFileSync(join(running.home, 'audit', 'audit.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).entry);
    // A 404 on an action is a normal answer (not audited), but its message and log are masked too.
    const dashed = await call('GET', `${running.url}/v1/actions/4111-1111-1111-1111`, undefined, token('agent'), { 'X-Correlation-Id': '4111.1111.1111.1111' });
    expect(dashed).toMatchObject({ status: 404, body: { message: 'no action [card …1111]' } });
    expect(dashed.headers.get('x-correlation-id')).not.toMatch(CARD_IN_ANY_FORM);
    // A refusal (the agent may not read reviews) is audited, with the path masked, also when URL-encoded.
    const encoded = await call('GET', `${running.url}/v1/reviews/4111%201111%201111%201111`, undefined, token('agent'));
    expect(encoded.status).toBe(403);
    await eventually(() => {
      const rejected = audited().filter(
        (e) => e.eventType === 'security.request.rejected.v1' && e.data.status === 403 && e.data.path.startsWith('/v1/reviews/'),
      );
      expect(rejected.map((e) => e.data.path)).toEqual(['/v1/reviews/[card …1111]']);
    });
    const logged = logLines.slice(before).join('');
    expect(logged).toContain('/v1/reviews/[card …1111]');
    expect(logged).not.toMatch(CARD_IN_ANY_FORM);
    expect(readFileSync(join(running.home, 'audit', 'audit.jsonl'), 'utf8')).not.toMatch(CARD_IN_ANY_FORM);
  });

  it('shows a reviewer holding pii:view the real new address of an e-mail change (audited); others see it masked, 403 on reveal', async () => {
    const newEmail = 'maria.lopez@example.org';
    const proposal = { ...example('refund-small.json'), actionType: 'account.email_change', target: 'customer-42', parameters: { newEmail } };
    const id = (await call('POST', `${running.url}/v1/proposals`, proposal, token('agent'))).body.actionId as string;
    await status(id, 'in_review');
    const masked = await call('GET', `${running.url}/v1/reviews/${id}`, undefined, token('reviewer'));
    expect(masked.body.proposal).toMatchObject({ parameters: { newEmail: 'm***@[email at example.org]' } });
    expect(masked.body).not.toHaveProperty('sealed');
    expect((await call('GET', `${running.url}/v1/reviews/${id}?reveal=true`, undefined, token('reviewer'))).status).toBe(403);
    const revealed = await call('GET', `${running.url}/v1/reviews/${id}?reveal=true`, undefined, token('privacy-reviewer'));
    expect(revealed).toMatchObject({ status: 200, body: { revealed: true, proposal: { parameters: { newEmail } }, shownDigest: masked.body.shownDigest } });
    const approved = await call(
      'POST',
      `${running.url}/v1/reviews/${id}/approve`,
      { reason: 'customer confirmed by phone', shownDigest: revealed.body.shownDigest },
      token('privacy-reviewer'),
    );
    expect(approved.status).toBe(200);
    await status(id, 'executed');
    expect(running.sink.effects.find((e) => e.actionId === id)!.body).toMatchObject({ parameters: { newEmail } });
    await eventually(() => {
      const entries = readFileSync(join(running.home, 'audit', 'audit.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).entry);
      expect(entries.filter((e) => e.actionId === id && e.eventType === 'review.data.revealed.v1').map((e) => e.actor.id)).toEqual(['carol']);
      expect(
        entries.some(
          (e) => e.eventType === 'security.request.rejected.v1' && e.data.status === 403 && e.data.path === `/v1/reviews/${id}` && e.actor.id === 'alice',
        ),
      ).toBe(true);
    });
    expect(readFileSync(join(running.home, 'audit', 'audit.jsonl'), 'utf8')).not.toContain(newEmail);
    expect(logLines.join('')).not.toContain(newEmail);
  });

  it('keeps its home its user’s alone (0700): the database files PGlite writes 0666 are out of other users’ reach', () => {
    expect((statSync(running.home).mode & 0o777).toString(8)).toBe('700');
  });

  it('answers /healthz and /readyz', async () => {
    expect((await call('GET', `${running.url}/healthz`)).status).toBe(200);
    expect((await call('GET', `${running.url}/readyz`)).body).toMatchObject({ status: 'ready' });
    // The trust stack as a signal: ok once the trust monitor's first verdict is read (red team, 2026-12-07).
    await eventually(async () => expect((await call('GET', `${running.url}/readyz`)).body).toMatchObject({ status: 'ready', signals: { trust: 'ok' } }));
  });

  it('publishes its trust verdict with the embedded heartbeat, so an idle home audits and signs one every 5 minutes', async () => {
    // At the distributed mode's 30 s, an idle home grew by 2,880 signed head files and 7 MB of audit a day. The verdict
    // carries its heartbeat: the followers count it stale after 3 of them (libs/platform/nest trust-health.ts).
    const verdicts = await eventually(() => {
      const found = readFileSync(join(running.home, 'audit', 'audit.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).entry)
        .filter((e) => e.eventType === 'control.trust.health-changed.v1');
      expect(found.length).toBeGreaterThan(0);
      return found;
    });
    expect(EMBEDDED_TRUST_HEARTBEAT_MS).toBe(300_000);
    expect(verdicts.map((v) => v.data.heartbeatMs)).toEqual(verdicts.map(() => EMBEDDED_TRUST_HEARTBEAT_MS));
  });

  it('verifies its audit file with the README command, once a signed head covers it', async () => {
    const audit = join(running.home, 'audit');
    const command = ['-r', './tools/register.js', 'tools/countersign.ts', 'audit', 'verify', '--file', join(audit, 'audit.jsonl')];
    command.push('--keys', join(audit, 'keys'));
    // The system keeps running (a heartbeat on a control topic is audited too): an entry may land between the look at
    // the file and the command, so the two are tried together until a signed head covers what the command reads.
    await eventually(async () => {
      const entries = readFileSync(join(audit, 'audit.jsonl'), 'utf8').trim().split('\n').length;
      const heads = readFileSync(join(audit, 'tree-heads.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).treeSize as number);
      expect(heads[heads.length - 1]).toBe(entries);
      const { stdout } = await promisify(execFile)(process.execPath, command, { cwd: join(__dirname, '../../..') });
      const verified = /^verified: (\d+) entries, \d+ signed heads?, root [0-9a-f]{64}\n$/.exec(stdout);
      expect(verified).not.toBeNull();
      expect(Number(verified![1])).toBeGreaterThanOrEqual(entries);
    }, 20_000);
  }, 60_000);

  it('keeps a head file a minute at most, while it signs a head every 2 s: each a head of tree-heads.jsonl', async () => {
    const audit = join(running.home, 'audit');
    const signed = () => (existsSync(join(audit, 'tree-heads.jsonl')) ? readFileSync(join(audit, 'tree-heads.jsonl'), 'utf8').trim().split('\n') : []);
    // Two heads signed seconds apart: entries, a head over them, entries again, another head.
    for (let i = 0; i < 2; i++) {
      const before = signed().length;
      expect((await call('POST', `${running.url}/v1/proposals`, example('refund-small.json'), token('agent'))).status).toBe(202);
      await eventually(() => expect(signed().length).toBeGreaterThan(before), 10_000);
    }
    const all = signed();
    const kept = readdirSync(join(audit, 'heads'))
      .sort()
      .map((f) => readFileSync(join(audit, 'heads', f), 'utf8').trim());
    expect(all.length).toBeGreaterThan(kept.length);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.filter((k) => !all.includes(k))).toEqual([]);
    const times = kept.map((k) => Date.parse(JSON.parse(k).timestamp));
    expect(times.slice(1).filter((t, i) => t - times[i] < 60_000)).toEqual([]);
  }, 60_000);
});
