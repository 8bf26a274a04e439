import { generateKeyPairSync } from 'node:crypto';
import { SubmittedProposal, submissionSignatureValid, TOPIC_SCHEMAS, TOPICS } from '@countersign/contracts';
import { KafkaProposer, ProposalProducer } from './kafka';

// real: KafkaProposer, the contracts' schema and signature check (as the orchestrator verifies); fake: the producer
// (records what it is asked to send; the caller brings a kafkajs producer in production).
describe('KafkaProposer', () => {
  it('produces a signed submission keyed by its action id, which the orchestrator’s check verifies', async () => {
    const sent: Parameters<ProposalProducer['send']>[0][] = [];
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const proposer = new KafkaProposer({ producer: { send: async (r) => void sent.push(r) }, agentId: 'support-copilot', keyId: 'k-1', privateKey });
    const { actionId, correlationId } = await proposer.propose({
      actionType: 'support.refund',
      target: 'order-1',
      parameters: { amount: 12.5, currency: 'EUR', reason: 'late' },
      proposer: { agentId: 'support-copilot', model: { name: 'm', version: '1' }, promptTemplateVersion: 'v1' },
      confidence: 0.9,
      tenant: 'acme',
      region: 'eu-west',
    });
    expect(sent).toHaveLength(1);
    expect(sent[0].topic).toBe(TOPICS.proposalSubmitted);
    expect(sent[0].messages[0].key).toBe(actionId);
    const event = TOPIC_SCHEMAS[TOPICS.proposalSubmitted].parse(JSON.parse(sent[0].messages[0].value)) as SubmittedProposal;
    expect(event).toMatchObject({ subject: actionId, correlationId, actor: { id: 'support-copilot', kind: 'agent' }, signature: { keyId: 'k-1' } });
    expect(submissionSignatureValid(event, publicKey)).toBe(true);
    // A changed amount no longer verifies: the signature covers the parameters.
    expect(submissionSignatureValid({ ...event, data: { ...event.data, parameters: { ...event.data.parameters, amount: 450 } } }, publicKey)).toBe(false);
  });
});
