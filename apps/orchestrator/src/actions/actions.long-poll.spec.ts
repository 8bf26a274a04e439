import pino from 'pino';
import { BadRequestException, NotFoundException } from '@nestjs/common';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { AuthenticatedRequest, NotFoundAnswer, Principal, requiredRoles } from '@countersign/nest';
import { eventually, sealTestDecision, sealTestOutcome, testExecutorKey, testPolicyEngineKey } from '@countersign/testing';
import { ActionChanges, LONG_POLLS_PER_PRINCIPAL } from './action-changes';
import { EXECUTION_PENDING, EXECUTION_PENDING_AFTER_MS, OUTCOME_BEING_RECONCILED } from './action-status';
import { ActionViewConsumer } from './action-view.consumer';
import { TimelineEntry } from './action-view.repository';
import { ActionsController } from './actions.controller';
import { FlagHealthWatch } from './flag-health';
import { InMemoryActionViewRepository } from './in-memory-action-view.repository';

// real: ActionsController's long poll, ActionChanges, ActionViewConsumer, the in-memory read model; fake: nothing
// (events are handed to the consumer's handlers directly, as the bus would).
describe('GET /v1/actions/{id}?waitFor= (long poll)', () => {
  const entry = (actionId: string, status: TimelineEntry['status'], eventId = `${actionId}-${status}`): TimelineEntry => ({
    eventId,
    type: 'test',
    time: new Date().toISOString(),
    status,
    actor: 'test',
    detail: status,
  });
  const executed = (actionId: string): TopicMap[typeof TOPICS.actionExecuted] =>
    sealTestOutcome({
      id: `${actionId}-executed`,
      type: TOPICS.actionExecuted,
      version: 1,
      source: 'executor',
      time: new Date().toISOString(),
      subject: actionId,
      correlationId: 'c-1',
      causationId: 'd-1',
      actor: { id: 'executor', kind: 'service' },
      data: { connector: 'webhook', digest: 'a'.repeat(64), authorisedBy: 'approval', attempt: 1 },
    });
  const unknownOutcome = (actionId: string, step: string): TopicMap[typeof TOPICS.actionFailed] =>
    sealTestOutcome({
      ...executed(actionId),
      id: `${actionId}-unknown-${step}`,
      type: TOPICS.actionFailed,
      data: { outcome: 'outcome_unknown', connector: 'webhook', digest: 'a'.repeat(64), error: `webhook answered 503 (${step})` },
    });
  const asAuditor = { principal: { id: 'aud-1', kind: 'human', roles: ['auditor'] } } as unknown as AuthenticatedRequest;
  const as = (principal: Partial<Principal>) => ({ principal: { kind: 'agent', roles: ['agent'], ...principal } }) as unknown as AuthenticatedRequest;
  const proposedBy = (actionId: string, proposer: string | undefined, actor = 'orchestrator'): TimelineEntry => ({
    ...entry(actionId, 'proposed'),
    type: TOPICS.actionProposed,
    actor,
    ...(proposer !== undefined && { proposer }),
  });
  const setup = () => {
    const views = new InMemoryActionViewRepository();
    const changes = new ActionChanges();
    const consumer = new ActionViewConsumer(views, [], [testPolicyEngineKey.verifyKey], [testExecutorKey.verifyKey], pino({ level: 'silent' }), changes);
    const handlers = (consumer as unknown as { handlers(): Record<string, (e: unknown) => Promise<void>> }).handlers();
    return { views, changes, handlers, controller: new ActionsController(views, changes) };
  };

  it('answers at once when the action is already decided, without waiting', async () => {
    const { views, changes, controller } = setup();
    await views.record('a-1', entry('a-1', 'proposed'));
    await views.record('a-1', entry('a-1', 'autonomous'));
    const next = jest.spyOn(changes, 'next');
    await expect(controller.get('a-1', asAuditor, 'decision', '30000')).resolves.toMatchObject({ actionId: 'a-1', status: 'autonomous' });
    expect(next).not.toHaveBeenCalled();
  });

  it('ends the poll of a client that went away, instead of re-reading until its deadline', async () => {
    const { views, changes, controller } = setup();
    await views.record('a-9', entry('a-9', 'proposed'));
    const socket = { destroyed: false };
    const request = { ...asAuditor, socket } as unknown as AuthenticatedRequest;
    const reads = jest.spyOn(views, 'timeline');
    const poll = controller.get('a-9', request, 'final', '30000');
    await eventually(() => expect(reads).toHaveBeenCalled());
    socket.destroyed = true;
    changes.notify('a-9');
    // Well before its 30 s deadline (the code before re-read until then).
    const cap = new Promise((_, reject) => setTimeout(() => reject(new Error('still polling for a client that went away')), 10_000).unref());
    await expect(Promise.race([poll, cap])).resolves.toMatchObject({ actionId: 'a-9', status: 'proposed' });
  });

  it('holds at most LONG_POLLS_PER_PRINCIPAL polls of one principal open; one beyond answers at once, others still wait', async () => {
    const { views, changes, controller } = setup();
    await views.record('a-20', proposedBy('a-20', 'bot-1'));
    const bot = as({ id: 'bot-1', agentIds: ['bot-1'] } as Partial<Principal>);
    const reads = jest.spyOn(views, 'timeline');
    const open = Array.from({ length: LONG_POLLS_PER_PRINCIPAL }, () => controller.get('a-20', bot, 'final', '30000'));
    await eventually(() => expect(reads.mock.calls.length).toBeGreaterThanOrEqual(LONG_POLLS_PER_PRINCIPAL));
    // One more from the same principal: the current view at once (a wait would outlast the test's 5 s).
    await expect(controller.get('a-20', bot, 'final', '30000')).resolves.toMatchObject({ actionId: 'a-20', status: 'proposed' });
    // Another principal's poll still waits (here the auditor's, who reads every action).
    const before = reads.mock.calls.length;
    let otherAnswered = false;
    const other = controller.get('a-20', asAuditor, 'final', '30000').finally(() => (otherAnswered = true));
    await eventually(() => expect(reads.mock.calls.length).toBeGreaterThan(before));
    expect(otherAnswered).toBe(false);
    await views.record('a-20', entry('a-20', 'executed'));
    changes.notify('a-20');
    await expect(Promise.all([...open, other])).resolves.toHaveLength(LONG_POLLS_PER_PRINCIPAL + 1);
    // Once they answered, the principal may wait again.
    const again = controller.get('a-20', bot, 'final', '30000');
    await expect(again).resolves.toMatchObject({ status: 'executed' });
  });

  it('waits, then answers as soon as the view consumer records the awaited state', async () => {
    const { views, changes, handlers, controller } = setup();
    await views.record('a-2', entry('a-2', 'proposed'));
    await views.record('a-2', entry('a-2', 'approved'));
    // Approved is a decision, not final: the poll for `final` waits.
    const answer = controller.get('a-2', asAuditor, 'final', '30000');
    let settled = false;
    void answer.then(() => (settled = true));
    await eventually(() => expect(changes.waiting).toBe(1));
    expect(settled).toBe(false);
    await handlers[TOPICS.actionExecuted](executed('a-2'));
    await expect(answer).resolves.toMatchObject({ status: 'executed' });
    expect(changes.waiting).toBe(0);
  });

  it('waits through an unknown outcome and its reconciliation steps for `final`, and answers once the reconciler settles it', async () => {
    const { views, changes, handlers, controller } = setup();
    await views.record('a-10', entry('a-10', 'proposed'));
    await views.record('a-10', entry('a-10', 'autonomous'));
    const answer = controller.get('a-10', asAuditor, 'final', '30000');
    let settled = false;
    void answer.then(() => (settled = true));
    await eventually(() => expect(changes.waiting).toBe(1));
    // The executor cannot tell whether the call took effect; the reconciler asks again and still cannot tell.
    await handlers[TOPICS.actionFailed](unknownOutcome('a-10', 'call'));
    await handlers[TOPICS.actionFailed](unknownOutcome('a-10', 'resend-1'));
    await eventually(() => expect(changes.waiting).toBe(1));
    expect(settled).toBe(false);
    expect((await controller.get('a-10', asAuditor)).status).toBe('outcome_unknown');
    await handlers[TOPICS.actionExecuted](executed('a-10'));
    await expect(answer).resolves.toMatchObject({ status: 'executed' });
    await expect(answer).resolves.not.toHaveProperty('waiting');
  });

  it('tells a poll that ends on an unknown outcome (its timeout, a plain read, a decision) that it is being settled: do not retry', async () => {
    const { views, changes } = setup();
    // With the flag-health watch the service has (the hint does not depend on it).
    const controller = new ActionsController(views, changes, new FlagHealthWatch());
    await views.record('a-11', entry('a-11', 'proposed'));
    await views.record('a-11', entry('a-11', 'outcome_unknown'));
    await expect(controller.get('a-11', asAuditor, 'final', '300')).resolves.toMatchObject({ status: 'outcome_unknown', waiting: OUTCOME_BEING_RECONCILED });
    await expect(controller.get('a-11', asAuditor)).resolves.toMatchObject({ status: 'outcome_unknown', waiting: OUTCOME_BEING_RECONCILED });
    await expect(controller.get('a-11', asAuditor, 'decision', '0')).resolves.toMatchObject({ waiting: OUTCOME_BEING_RECONCILED });
    await views.record('a-11', entry('a-11', 'failed'));
    await expect(controller.get('a-11', asAuditor, 'final', '30000')).resolves.not.toHaveProperty('waiting');
  });

  it('tells the caller of an action decided to run, outcome not in for a while, not to propose it again (lifecycle probe)', async () => {
    const { views, changes } = setup();
    const controller = new ActionsController(views, changes, new FlagHealthWatch());
    await views.record('a-12', entry('a-12', 'proposed'));
    await views.record('a-12', { ...entry('a-12', 'autonomous'), time: new Date(Date.now() - EXECUTION_PENDING_AFTER_MS).toISOString() });
    await expect(controller.get('a-12', asAuditor)).resolves.toMatchObject({ status: 'autonomous', waiting: EXECUTION_PENDING });
    await expect(controller.get('a-12', asAuditor, 'final', '200')).resolves.toMatchObject({ status: 'autonomous', waiting: EXECUTION_PENDING });
    // Just decided: an execution takes milliseconds, nothing holds it.
    await views.record('a-14', entry('a-14', 'proposed'));
    await views.record('a-14', entry('a-14', 'approved'));
    await expect(controller.get('a-14', asAuditor)).resolves.not.toHaveProperty('waiting');
    await views.record('a-12', entry('a-12', 'executed'));
    await expect(controller.get('a-12', asAuditor)).resolves.not.toHaveProperty('waiting');
    // Still in review: nothing to wait on from the executor.
    await views.record('a-13', entry('a-13', 'in_review'));
    await expect(controller.get('a-13', asAuditor)).resolves.not.toHaveProperty('waiting');
  });

  it('sees a change recorded by another instance (no notification) by re-reading the view', async () => {
    const { views, changes, controller } = setup();
    await views.record('a-3', entry('a-3', 'proposed'));
    const answer = controller.get('a-3', asAuditor, 'decision', '30000');
    await eventually(() => expect(changes.waiting).toBe(1));
    await views.record('a-3', entry('a-3', 'in_review'));
    await views.record('a-3', entry('a-3', 'rejected'));
    await expect(answer).resolves.toMatchObject({ status: 'rejected' });
  });

  it('answers the current state at its timeout (still in review), and 404 for an action still unknown', async () => {
    const { views, controller } = setup();
    await views.record('a-4', entry('a-4', 'proposed'));
    await views.record('a-4', entry('a-4', 'in_review'));
    await expect(controller.get('a-4', asAuditor, 'decision', '600')).resolves.toMatchObject({ status: 'in_review' });
    await expect(controller.get('nobody', asAuditor, 'decision', '300')).rejects.toThrow(NotFoundException);
  });

  it('answers every waiting poll at once when the service stops (with the view as it is), and waits no more after', async () => {
    const { views, changes, controller } = setup();
    await views.record('a-7', entry('a-7', 'proposed'));
    await views.record('a-7', entry('a-7', 'in_review'));
    const started = Date.now();
    const waiting = controller.get('a-7', asAuditor, 'final', '30000');
    await eventually(() => expect(changes.waiting).toBe(1));
    changes.beforeApplicationShutdown();
    await expect(waiting).resolves.toMatchObject({ actionId: 'a-7', status: 'in_review' });
    await expect(controller.get('a-7', asAuditor, 'final', '30000')).resolves.toMatchObject({ status: 'in_review' });
    // Well under one poll's 30 s (and under the 500 ms re-read: the stop woke it).
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(changes.waiting).toBe(0);
  });

  it('refuses an unknown waitFor or an unbounded timeout with 400 and a precise message', async () => {
    const { controller } = setup();
    await expect(controller.get('a-5', asAuditor, 'executed', '100')).rejects.toThrow(new BadRequestException('waitFor must be "decision" or "final"'));
    await expect(controller.get('a-5', asAuditor, 'final', '30001')).rejects.toThrow('timeoutMs must be a whole number of milliseconds from 0 to 30000');
    await expect(controller.get('a-5', asAuditor, 'final', '-1')).rejects.toThrow(BadRequestException);
    await expect(controller.get('a-5', asAuditor, undefined, '100')).rejects.toThrow('timeoutMs needs waitFor=decision or waitFor=final');
  });

  describe('who reads an action', () => {
    it("an agent's token reads the actions proposed as its own agent ids, and another agent's is no action to it (404, audited)", async () => {
      const { views, controller } = setup();
      await views.record('mine', proposedBy('mine', 'support-copilot'));
      await views.record('theirs', proposedBy('theirs', 'ops-copilot'));
      const agent = as({ id: 'support-token', agentIds: ['support-copilot', 'support-backup'] });
      await expect(controller.get('mine', agent)).resolves.toMatchObject({ actionId: 'mine', status: 'proposed' });
      // The same answer as an id no one proposed (red team, 2026-12-05: 403 beside 404 told real actions from canaries),
      // but a NotFoundException the rejection filter audits, where an id not known yet is a NotFoundAnswer it does not.
      const theirs = await controller.get('theirs', agent).catch((e) => e);
      const unknown = await controller.get('nobody-proposed-it', agent).catch((e) => e);
      expect(theirs).toBeInstanceOf(NotFoundException);
      expect(theirs).not.toBeInstanceOf(NotFoundAnswer);
      expect(unknown).toBeInstanceOf(NotFoundAnswer);
      expect(theirs.getResponse()).toEqual({ ...unknown.getResponse(), message: 'no action theirs' });
      // Also while it waits: the long poll waits as for an unknown id, and then answers the same.
      const started = Date.now();
      await expect(controller.get('theirs', agent, 'final', '300')).rejects.toThrow(new NotFoundException('no action theirs'));
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      // A token without agent ids proposes (and reads) as its own id.
      await expect(controller.get('theirs', as({ id: 'ops-copilot' }))).resolves.toMatchObject({ actionId: 'theirs' });
    });

    it('auditors and admins read every action, in review or not', async () => {
      const { views, handlers, controller } = setup();
      await views.record('a', proposedBy('a', 'ops-copilot'));
      await views.record('a', { ...entry('a', 'autonomous'), lane: 'autonomous' });
      await views.record('r', proposedBy('r', 'support-copilot'));
      await handlers[TOPICS.policyDecided](
        sealTestDecision({
          id: 'r-review',
          type: TOPICS.policyDecided,
          time: new Date().toISOString(),
          subject: 'r',
          actor: { id: 'policy-engine', kind: 'service' },
          data: { lane: 'review', contractVersion: '7', reasons: ['large refund'], review: { requiredRoles: ['finance'] } },
        } as unknown as TopicMap[typeof TOPICS.policyDecided]),
      );
      for (const role of ['auditor', 'admin']) {
        await expect(controller.get('a', as({ id: `someone-${role}`, kind: 'human', roles: [role] }))).resolves.toMatchObject({ actionId: 'a' });
        await expect(controller.get('r', as({ id: `someone-${role}`, kind: 'human', roles: [role] }))).resolves.toMatchObject({ status: 'in_review' });
      }
    });

    it('a reviewer reads no action here, whether it exists or not (the route refuses the role before any lookup)', () => {
      // Answering by id would tell a canary (never proposed) from a real item, and show a blind second reviewer the first
      // decision: reviewers read the review card instead. The roles guard answers 403 for what the route declares
      // (apps/embedded/src/review-roles.spec.ts shows it over HTTP).
      expect(requiredRoles(ActionsController.prototype.get, ActionsController)).toEqual(['agent', 'auditor', 'admin']);
    });

    it('an action whose proposal is not recorded yet is not there yet for an agent (404, or the long poll waits)', async () => {
      const { views, controller } = setup();
      await views.record('early', entry('early', 'autonomous'));
      const agent = as({ id: 'support-copilot' });
      await expect(controller.get('early', agent)).rejects.toThrow(NotFoundException);
      await expect(controller.get('early', agent, 'decision', '200')).rejects.toThrow(NotFoundException);
      await views.record('early', proposedBy('early', 'support-copilot'));
      await expect(controller.get('early', agent, 'decision', '200')).resolves.toMatchObject({ status: 'autonomous' });
    });

    it('entries recorded before the proposer was kept are read by the principal that proposed them (their actor)', async () => {
      const { views, controller } = setup();
      await views.record('old', proposedBy('old', undefined, 'support-copilot'));
      await expect(controller.get('old', as({ id: 'support-copilot' }))).resolves.toMatchObject({ actionId: 'old' });
      await expect(controller.get('old', as({ id: 'ops-copilot' }))).rejects.toThrow(new NotFoundException('no action old'));
    });

    it('the view consumer keeps the agent id a proposal (or its revision) was proposed as', async () => {
      const { views, handlers } = setup();
      const proposal = { actionType: 'support.reply', target: 't-1', proposer: { agentId: 'support-copilot' } };
      await handlers[TOPICS.actionProposed]({
        ...executed('r-1'),
        id: 'r-1-proposed',
        type: TOPICS.actionProposed,
        actor: { id: 'orchestrator', kind: 'service' },
        data: { proposal, receivedVia: 'revision', revisionOf: { actionId: 'r-0', by: 'alice' } },
      });
      expect(await views.timeline('r-1')).toEqual([expect.objectContaining({ proposer: 'support-copilot', revisionOf: 'r-0' })]);
    });
  });
});
