import { generateKeyPairSync } from 'node:crypto';
import { SubmittedProposal, submissionSignatureValid, TOPIC_SCHEMAS, TOPICS } from '@countersign/contracts';
import { KafkaProposalError, KafkaProposer, ProposalProducer } from './kafka';

// real: KafkaProposer, the contracts' schema and signature check (as the orchestrator verifies); fake: the producer
// (records what it is asked to send; the caller brings a kafkajs producer in production).
describe('KafkaProposer', () => {
  const proposal = {
    actionType: 'support.refund',
    target: 'order-1',
    parameters: { amount: 12.5, currency: 'EUR', reason: 'late' },
    proposer: { agentId: 'support-copilot', model: { name: 'm', version: '1' }, promptTemplateVersion: 'v1' },
    confidence: 0.9,
    tenant: 'acme',
    region: 'eu-west',
  };

  it('produces a signed submission keyed by its action id, which the orchestrator’s check verifies', async () => {
    const sent: Parameters<ProposalProducer['send']>[0][] = [];
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const proposer = new KafkaProposer({ producer: { send: async (r) => void sent.push(r) }, agentId: 'support-copilot', keyId: 'k-1', privateKey });
    const { actionId, correlationId } = await proposer.propose(proposal);
    expect(sent).toHaveLength(1);
    expect(sent[0].topic).toBe(TOPICS.proposalSubmitted);
    expect(sent[0].messages[0].key).toBe(actionId);
    const event = TOPIC_SCHEMAS[TOPICS.proposalSubmitted].parse(JSON.parse(sent[0].messages[0].value)) as SubmittedProposal;
    expect(event).toMatchObject({ subject: actionId, correlationId, actor: { id: 'support-copilot', kind: 'agent' }, signature: { keyId: 'k-1' } });
    expect(submissionSignatureValid(event, publicKey)).toBe(true);
    // A changed amount no longer verifies: the signature covers the parameters.
    expect(submissionSignatureValid({ ...event, data: { ...event.data, parameters: { ...event.data.parameters, amount: 450 } } }, publicKey)).toBe(false);
  });

  it('a producer that fails after the broker took the message gives the action id, and a resend under it is the same event', async () => {
    const sent: Parameters<ProposalProducer['send']>[0][] = [];
    let fail = true;
    const { privateKey } = generateKeyPairSync('ed25519');
    // The broker takes the message; the acknowledgement is lost (a timeout), so the producer throws all the same.
    const producer: ProposalProducer = {
      send: async (r) => {
        sent.push(r);
        if (fail) throw new Error('Request timed out');
      },
    };
    const proposer = new KafkaProposer({ producer, agentId: 'support-copilot', keyId: 'k-1', privateKey });
    const error = await proposer.propose(proposal).catch((e) => e);
    expect(error).toBeInstanceOf(KafkaProposalError);
    expect(error).toMatchObject({ actionId: sent[0].messages[0].key, sent: 'maybe', cause: { message: 'Request timed out' } });
    expect(error.message).toMatch(
      /^the producer failed to send proposal .* \(Error: Request timed out\): the broker may have it all the same; propose it again with this actionId/,
    );
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'KafkaProposalError',
      message: error.message,
      actionId: error.actionId,
      correlationId: `agent-${error.actionId}`,
      sent: 'maybe',
    });

    fail = false;
    await expect(proposer.propose(proposal, { actionId: error.actionId })).resolves.toEqual({
      actionId: error.actionId,
      correlationId: `agent-${error.actionId}`,
    });
    const [first, second] = sent.map((r) => JSON.parse(r.messages[0].value) as SubmittedProposal);
    // The same event id: the orchestrator derives the action's events from it, so every consumer drops the resend.
    expect(second).toMatchObject({ id: first.id, subject: first.subject, correlationId: first.correlationId });
    expect(sent[1].messages[0].key).toBe(sent[0].messages[0].key);
  });

  it('a proposal that does not validate is not sent, and its error still names the action id', async () => {
    const sent: unknown[] = [];
    const { privateKey } = generateKeyPairSync('ed25519');
    const proposer = new KafkaProposer({ producer: { send: async (r) => void sent.push(r) }, agentId: 'support-copilot', keyId: 'k-1', privateKey });
    const error = await proposer.propose({ ...proposal, confidence: 7 }, { actionId: 'act-1' }).catch((e) => e);
    expect(error).toBeInstanceOf(KafkaProposalError);
    expect(error).toMatchObject({ actionId: 'act-1', sent: 'no', message: 'proposal act-1 does not validate as a submission and was not sent' });
    await expect(proposer.propose(proposal, { actionId: 'act\n1' })).rejects.toThrow(/^KafkaProposer.propose: actionId must be an identifier/);
    expect(sent).toHaveLength(0);
  });
});
