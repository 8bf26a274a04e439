import { readFileSync } from 'node:fs';
import { ConflictException, ForbiddenException, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import pino from 'pino';
import { buildEnvelope, EmitOptions, EventBus } from '@countersign/bus';
import { AnyTopic, EventData, schemaFor, TOPICS, TopicMap } from '@countersign/contracts';
import { generateKey } from '@countersign/keys';
import { ContractChangesConsumer } from '@countersign/nest';
import { DecisionInputs, evaluate, parseContract, RunningContract, verifyContractChange } from '@countersign/policy';
import { DEFAULT_CONTRACT_PATH, DEFAULT_DIFF_CORPUS_PATH } from '../policy-engine.module';
import { ChangeRequestService } from './change-request.service';
import { InMemoryChangeRequestStore } from './in-memory-change-request.store';

// real: change control, the in-memory change-request store, the contract store on the project's contract, the
// applier; fake: the clock, and the bus (builds envelopes as the real one does, validates each event against its
// topic's schema and records it).
/** An autonomous action can still reach review (an anomaly rule), so it needs review settings. */
const LEGAL_REVIEW = 'review: { slaClass: normal, requiredRoles: [reviewer], quorum: 1, whenUnavailable: fail-closed },';
const text = readFileSync(DEFAULT_CONTRACT_PATH, 'utf8');
const running = parseContract(text).version;
const ada = { id: 'ada', kind: 'human' as const, roles: ['admin'] };
const grace = { id: 'grace', kind: 'human' as const, roles: ['admin'] };
const joan = { id: 'joan', kind: 'human' as const, roles: ['admin'] };
const t0 = new Date('2026-11-24T10:00:00.000Z');
const HOUR = 3600_000;
/** Every other input at rest: what the contract alone decides. */
const AT_REST: DecisionInputs = { killSwitch: 'on', degradationMode: 'normal', trustStackHealthy: true, autonomy: 'autonomous', now: t0 };

/** The contract with `legal.statement` made autonomous (what one admin alone could do before). */
const legalAutonomous = (version: string) =>
  text.replace(`version: ${running}`, `version: ${version}`).replace(/(legal\.statement:[\s\S]*?lane: )prohibited,/, `$1autonomous, ${LEGAL_REVIEW}`);
const bumped = (version: string) => text.replace(`version: ${running}`, `version: ${version}`);

const legalStatement = {
  actionType: 'legal.statement',
  target: 'customer-7',
  parameters: { body: 'We accept liability.' },
  proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' },
  confidence: 0.99,
  tenant: 'acme',
  region: 'eu-west',
  context: {},
};

// The policy engine's contract-change key (CONTRACT_SIGNING_KEYS_FILE) and its public half (CONTRACT_VERIFY_KEYS_FILE).
const changeKey = generateKey('contract-changes-test');

function setup() {
  const logger = pino({ level: 'silent' });
  const clock = { now: t0 };
  const published: Array<{ topic: AnyTopic; event: TopicMap[AnyTopic] }> = [];
  const bus = {
    up: true,
    publish: async (topic: AnyTopic, event: TopicMap[AnyTopic]) => {
      if (!bus.up) throw new Error('the bus is down');
      schemaFor(topic)!.parse(event);
      published.push({ topic, event });
    },
    emit: async (topic: AnyTopic, data: EventData<AnyTopic>, options: EmitOptions) => {
      const event = buildEnvelope(topic, data, 'policy-engine', options);
      await bus.publish(topic, event);
      return event;
    },
  };
  const contracts = RunningContract.fromFile(DEFAULT_CONTRACT_PATH);
  const store = new InMemoryChangeRequestStore();
  const settings = { requestTtlSeconds: 24 * 3600, diffCorpusPath: DEFAULT_DIFF_CORPUS_PATH, signingKeys: [changeKey.key], now: () => clock.now };
  const service = new ChangeRequestService(contracts, store, settings, bus as unknown as EventBus);
  const applier = new ContractChangesConsumer(contracts, logger, 'test', [changeKey.verifyKey]);
  const apply = (event: TopicMap[AnyTopic]) =>
    (applier as unknown as { handlers(): Record<string, (e: unknown) => Promise<void>> }).handlers()[TOPICS.contractChanged](event);
  /** Every policy-engine instance applies what was published on the contract topic. */
  const deliver = async () => {
    for (const p of published.filter((x) => x.topic === TOPICS.contractChanged)) await apply(p.event);
  };
  const of = (topic: AnyTopic) => published.filter((p) => p.topic === topic).map((p) => p.event);
  return { clock, bus, published, contracts, store, service, apply, deliver, of, settings };
}

describe('change requests: four eyes on the operational contract', () => {
  it('a request changes nothing yet; it carries the digest to approve and the policy diff of what would change', async () => {
    const { service, contracts, of } = setup();
    const r = await service.request({ kind: 'contract', contract: legalAutonomous('2099.1.0'), reason: 'let the bot apologise' }, ada);
    const expiresAt = new Date(t0.getTime() + 24 * HOUR).toISOString();
    expect(r).toMatchObject({ status: 'pending', requestedBy: 'ada', digest: expect.stringMatching(/^[0-9a-f]{64}$/), expiresAt });
    expect(r.contract).toMatchObject({ fromVersion: running, toVersion: '2099.1.0', hash: parseContract(legalAutonomous('2099.1.0')).hash });
    expect(r.diff).toMatchObject({ corpus: 'scenarios.jsonl', changed: 1 });
    expect(r.diff.output).toContain('legal.statement customer-7: prohibited → autonomous');
    // The control it changes comes first, named.
    expect(r.diff.output.split('\n')[0]).toBe('  control changed: actions legal.statement');
    expect(r.diff.output).toMatch(/1 of \d+ decisions change$/);
    expect(contracts.current().version).toBe(running);
    expect(of(TOPICS.changeRequested)).toEqual([
      expect.objectContaining({
        subject: r.id,
        actor: expect.objectContaining({ id: 'ada', authMethod: 'bearer-token' }),
        data: expect.objectContaining({ digest: r.digest, diff: r.diff }),
      }),
    ]);
    expect(of(TOPICS.contractChanged)).toEqual([]);
  });

  it('the requester cannot approve their own request, whatever digest they send (403), and nothing changes', async () => {
    const { service, contracts, deliver, of } = setup();
    const r = await service.request({ kind: 'contract', contract: legalAutonomous('2099.1.0'), reason: 'let the bot apologise' }, ada);
    await expect(service.approve(r.id, { digest: r.digest, reason: 'looks fine to me' }, ada)).rejects.toThrow(ForbiddenException);
    await expect(service.approve(r.id, { digest: 'e'.repeat(64), reason: 'looks fine to me' }, ada)).rejects.toThrow(ForbiddenException);
    await deliver();
    expect(contracts.current().version).toBe(running);
    expect(evaluate(contracts.compiledContract(), legalStatement, AT_REST).lane).toBe('prohibited');
    expect(of(TOPICS.changeDecided)).toEqual([]);
    expect((await service.get(r.id)).status).toBe('pending');
  });

  it('a contract text edited in the store since it was requested is not approved (red team, 2026-12-07)', async () => {
    const { service, contracts, store, of } = setup();
    const r = await service.request({ kind: 'contract', contract: bumped('2099.1.0'), reason: 'version bump' }, ada);
    const stored = (store as unknown as { requests: Map<string, { contract: { text: string } }> }).requests.get(r.id)!;
    const requested = stored.contract.text;
    stored.contract.text = legalAutonomous('2099.1.0');
    await expect(service.approve(r.id, { digest: r.digest, reason: 'approved' }, grace)).rejects.toThrow(
      new ConflictException(`change ${r.id} as stored is not the change that was requested (its text no longer matches its digest): not approved`),
    );
    expect(of(TOPICS.changeDecided)).toEqual([]);
    expect(contracts.current().version).toBe(running);
    stored.contract.text = requested;
    expect(await service.approve(r.id, { digest: r.digest, reason: 'approved' }, grace)).toMatchObject({ status: 'approved' });
  });

  it('another admin must name the digest they reviewed: any other is refused (409)', async () => {
    const { service, of } = setup();
    const r = await service.request({ kind: 'contract', contract: bumped('2099.1.0'), reason: 'version bump' }, ada);
    await expect(service.approve(r.id, { digest: 'e'.repeat(64), reason: 'approved' }, grace)).rejects.toThrow(ConflictException);
    expect(of(TOPICS.changeDecided)).toEqual([]);
    expect((await service.get(r.id)).status).toBe('pending');
  });

  it('approved by another admin: audited, applied by every instance, and proposals are decided under the new version', async () => {
    const { service, contracts, deliver, of } = setup();
    const r = await service.request({ kind: 'contract', contract: legalAutonomous('2099.1.0'), reason: 'let the bot apologise' }, ada);
    const approved = await service.approve(r.id, { digest: r.digest, reason: 'diff reviewed with legal' }, grace);
    expect(approved).toMatchObject({ status: 'approved', decider: 'grace', decisionReason: 'diff reviewed with legal' });
    expect(of(TOPICS.changeDecided)).toEqual([
      expect.objectContaining({
        actor: expect.objectContaining({ id: 'grace' }),
        data: expect.objectContaining({
          decision: 'approved',
          digest: r.digest,
          decider: expect.objectContaining({ id: 'grace' }),
          requestedBy: expect.objectContaining({ id: 'ada' }),
        }),
      }),
    ]);
    const changed = expect.objectContaining({ requestedBy: 'ada', approvedBy: 'grace', digest: r.digest, toVersion: '2099.1.0' });
    expect(of(TOPICS.contractChanged)).toEqual([expect.objectContaining({ data: changed })]);
    await deliver();
    expect(contracts.current().version).toBe('2099.1.0');
    expect(evaluate(contracts.compiledContract(), legalStatement, AT_REST)).toMatchObject({ lane: 'autonomous', contractVersion: '2099.1.0' });
    await expect(service.approve(r.id, { digest: r.digest, reason: 'again' }, joan)).rejects.toThrow(ConflictException);
  });

  it('signs the approved change, so every service can tell it from a forged one; without a signing key nothing is approved (503)', async () => {
    const { service, contracts, deliver, of, settings, store } = setup();
    const r = await service.request({ kind: 'contract', contract: legalAutonomous('2099.1.0'), reason: 'let the bot apologise' }, ada);
    settings.signingKeys = [];
    await expect(service.approve(r.id, { digest: r.digest, reason: 'diff reviewed' }, grace)).rejects.toThrow(
      new ServiceUnavailableException(
        `change ${r.id} cannot be approved now: no contract-change signing key is valid at ${t0.toISOString()} (CONTRACT_SIGNING_KEYS_FILE)`,
      ),
    );
    expect((await store.get(r.id))!.status).toBe('pending');
    expect(of(TOPICS.contractChanged)).toEqual([]);
    settings.signingKeys = [changeKey.key];
    await service.approve(r.id, { digest: r.digest, reason: 'diff reviewed' }, grace);
    const [event] = of(TOPICS.contractChanged) as Array<TopicMap[typeof TOPICS.contractChanged]>;
    const check = verifyContractChange(event.data.signature, [changeKey.verifyKey]);
    expect(check).toMatchObject({
      ok: true,
      claims: { changeRequestId: r.id, requestedBy: 'ada', approvedBy: 'grace', digest: r.digest, toVersion: '2099.1.0', approvedAt: t0.toISOString() },
    });
    await deliver();
    expect(contracts.current().version).toBe('2099.1.0');
  });

  it('a request expires after 24 hours: it can no longer be approved or rejected', async () => {
    const { service, clock, of } = setup();
    const r = await service.request({ kind: 'contract', contract: bumped('2099.1.0'), reason: 'version bump' }, ada);
    clock.now = new Date(t0.getTime() + 24 * HOUR);
    await expect(service.approve(r.id, { digest: r.digest, reason: 'late approval' }, grace)).rejects.toThrow(/expired/);
    await expect(service.reject(r.id, { reason: 'late rejection' }, grace)).rejects.toThrow(/expired/);
    expect((await service.get(r.id)).status).toBe('expired');
    expect((await service.list('expired')).map((v) => v.id)).toEqual([r.id]);
    expect(of(TOPICS.changeDecided)).toEqual([]);
  });

  it('an approval made against an older version is refused, and never rolls a newer one back', async () => {
    const { service, contracts, deliver, apply, of } = setup();
    const first = await service.request({ kind: 'contract', contract: bumped('2099.1.0'), reason: 'first change' }, ada);
    const rival = await service.request({ kind: 'contract', contract: legalAutonomous('2099.2.0'), reason: 'rival change' }, ada);
    await service.approve(first.id, { digest: first.digest, reason: 'ok' }, grace);
    // Before any instance applied the first one, the rival made against the same version is refused.
    await expect(service.approve(rival.id, { digest: rival.digest, reason: 'ok' }, grace)).rejects.toThrow(/was approved first/);
    await deliver();
    expect(contracts.current().version).toBe('2099.1.0');
    // Once applied, the running version says it; and the rival reads as superseded, not as pending.
    await expect(service.approve(rival.id, { digest: rival.digest, reason: 'ok' }, grace)).rejects.toThrow(/requested against .* but 2099\.1\.0 runs now/);
    expect(await service.get(rival.id)).toMatchObject({ status: 'superseded' });
    expect((await service.list('superseded')).map((r) => r.id)).toEqual([rival.id]);
    expect(await service.list('pending')).toEqual([]);
    // Its requester can still close it.
    expect(await service.reject(rival.id, { reason: 'overtaken' }, ada)).toMatchObject({ status: 'withdrawn' });
    // A newer change, then the first one replayed (a restart): the newer version stays.
    const newer = await service.request({ kind: 'contract', contract: bumped('2099.3.0'), reason: 'newer' }, grace);
    await service.approve(newer.id, { digest: newer.digest, reason: 'ok' }, ada);
    await deliver();
    expect(contracts.current().version).toBe('2099.3.0');
    await apply(of(TOPICS.contractChanged)[0]);
    expect(contracts.current().version).toBe('2099.3.0');
  });

  it('another admin rejects, the requester withdraws; each is audited and ends the request', async () => {
    const { service, of } = setup();
    const a = await service.request({ kind: 'contract', contract: bumped('2099.1.0'), reason: 'change a' }, ada);
    const b = await service.request({ kind: 'contract', contract: bumped('2099.2.0'), reason: 'change b' }, ada);
    expect(await service.reject(a.id, { reason: 'not now' }, grace)).toMatchObject({ status: 'rejected', decider: 'grace' });
    expect(await service.reject(b.id, { reason: 'wrong file' }, ada)).toMatchObject({ status: 'withdrawn', decider: 'ada' });
    expect(of(TOPICS.changeDecided).map((e) => [e.subject, (e.data as { decision: string }).decision])).toEqual([
      [a.id, 'rejected'],
      [b.id, 'withdrawn'],
    ]);
    await expect(service.approve(a.id, { digest: a.digest, reason: 'after all' }, grace)).rejects.toThrow(ConflictException);
    await expect(service.reject(a.id, { reason: 'twice' }, joan)).rejects.toThrow(ConflictException);
    expect(of(TOPICS.contractChanged)).toEqual([]);
  });

  it('refuses an invalid contract, the running one again, and unknown requests; nothing is published', async () => {
    const { service, published } = setup();
    await expect(service.request({ kind: 'contract', contract: 'version: [', reason: 'broken' }, ada)).rejects.toThrow(/invalid/);
    await expect(service.request({ kind: 'contract', contract: text, reason: 'same' }, ada)).rejects.toThrow(/running one/);
    // What `policy lint` calls an error: a condition on a parameter no schema declares, which never fires (config probe).
    const typo = bumped('2099.1.0').replace(
      /^prohibited:\n/m,
      'prohibited:\n  - { id: typo, actionTypes: [support.refund], when: { field: parameters.amout, gt: 1000 }, reason: r }\n',
    );
    expect(typo).toContain('id: typo');
    await expect(service.request({ kind: 'contract', contract: typo, reason: 'cap refunds' }, ada)).rejects.toThrow(
      /^the new contract has 1 lint error \(countersign policy lint\), keeping [^:]+: prohibited\[0\] \(typo\): names parameters\.amout, which the parameter schema of support\.refund does not declare$/,
    );
    await expect(service.approve('00000000-0000-4000-8000-000000000000', { digest: 'e'.repeat(64), reason: 'x' }, grace)).rejects.toThrow(NotFoundException);
    expect(published).toEqual([]);
  });

  it('when the bus does not take the approval, the same approval again publishes it, under the same event ids', async () => {
    const { service, bus, published, contracts, deliver } = setup();
    const r = await service.request({ kind: 'contract', contract: bumped('2099.1.0'), reason: 'version bump' }, ada);
    bus.up = false;
    await expect(service.approve(r.id, { digest: r.digest, reason: 'ok' }, grace)).rejects.toThrow(ServiceUnavailableException);
    bus.up = true;
    // Someone else cannot take over the approval meanwhile; the approver retries.
    await expect(service.approve(r.id, { digest: r.digest, reason: 'ok' }, joan)).rejects.toThrow(ConflictException);
    await service.approve(r.id, { digest: r.digest, reason: 'ok' }, grace);
    await service.approve(r.id, { digest: r.digest, reason: 'ok' }, grace);
    const ids = published.filter((p) => p.topic !== TOPICS.changeRequested).map((p) => p.event.id);
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(2);
    await deliver();
    expect(contracts.current().version).toBe('2099.1.0');
  });

  it('caps the pending requests per requester (5) and in all (50): 409 before the diff and the audit entry', async () => {
    const { service, of, clock } = setup();
    const ask = (by: typeof ada, n: number) => service.request({ kind: 'contract', contract: bumped(`2099.${n}.0`), reason: `bump ${n}` }, by);
    for (let n = 1; n <= 5; n++) await ask(ada, n);
    await expect(ask(ada, 6)).rejects.toThrow(
      new ConflictException(
        `ada has 5 change requests pending against ${running} (at most 5): withdraw one (POST /v1/policy/change-requests/{id}/reject) or wait until one is decided or expires`,
      ),
    );
    expect(of(TOPICS.changeRequested)).toHaveLength(5);
    // Another admin still can; one of ada's withdrawn makes room for her again.
    await ask(grace, 7);
    const mine = (await service.list('pending')).find((r) => r.requestedBy === 'ada')!;
    await service.reject(mine.id, { reason: 'not this one' }, ada);
    await ask(ada, 8);
    // Expired requests no longer count.
    clock.now = new Date(t0.getTime() + 25 * HOUR);
    for (let n = 9; n <= 13; n++) await ask(ada, n);
    await expect(ask(ada, 14)).rejects.toThrow(ConflictException);
  });

  it('refuses past the total cap, even made at once', async () => {
    const { service, settings, of } = setup();
    Object.assign(settings, { pendingCaps: { perRequester: 5, total: 3 } });
    const admins = ['a1', 'a2', 'a3', 'a4', 'a5'].map((id) => ({ id, kind: 'human' as const, roles: ['admin'] }));
    const results = await Promise.allSettled(
      admins.map((by, n) => service.request({ kind: 'contract', contract: bumped(`2099.${n + 1}.0`), reason: 'bump' }, by)),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected']);
    expect((results[3] as PromiseRejectedResult).reason).toEqual(
      new ConflictException(`3 change requests are pending against ${running} (at most 3 in all): decide or withdraw some, or wait until they expire`),
    );
    expect(of(TOPICS.changeRequested)).toHaveLength(3);
  });
});
