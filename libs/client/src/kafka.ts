import type { KeyObject } from 'node:crypto';
import { newId, signSubmission, TOPICS } from '@countersign/contracts';
import type { ProposalInput } from './types';

/**
 * The part of a kafkajs `Producer` this path uses: bring your own, connected, with your TLS and client certificate.
 * Typed structurally so that the SDK itself does not depend on kafkajs.
 */
export interface ProposalProducer {
  send(record: { topic: string; messages: Array<{ key: string; value: string }> }): Promise<unknown>;
}

export interface KafkaProposerOptions {
  producer: ProposalProducer;
  /** The agent id the signing key's principal may propose as. */
  agentId: string;
  /** The key id registered for the agent in Countersign's tokens file, and its Ed25519 private key. */
  keyId: string;
  privateKey: KeyObject;
  /** The topic's name on the wire, if your cluster prefixes names (default `agent.proposal.submitted.v1`). */
  topic?: string;
}

/**
 * Proposes over Kafka instead of HTTP (docs/adr/0008): each proposal is an `agent.proposal.submitted.v1` event signed
 * with the agent's Ed25519 key, keyed by its action id. Unsigned, badly signed or invalid proposals are dead-lettered
 * by the orchestrator, with the reason audited; follow the action with `CountersignClient.awaitDecision`.
 */
export class KafkaProposer {
  constructor(private readonly options: KafkaProposerOptions) {}

  /** Signs and produces one proposal; resolves once the producer has it acknowledged. */
  async propose(proposal: ProposalInput, options: { actionId?: string; correlationId?: string } = {}): Promise<{ actionId: string; correlationId: string }> {
    const actionId = options.actionId ?? newId();
    const correlationId = options.correlationId ?? `agent-${actionId}`;
    const { agentId, keyId, privateKey } = this.options;
    // An agent has no bus to emit through: it builds the submission itself, and signSubmission checks it against the
    // topic's schema before it signs (the orchestrator verifies exactly those bytes).
    // eslint-disable-next-line no-restricted-syntax
    const unsigned = {
      id: newId(),
      type: TOPICS.proposalSubmitted,
      version: 1,
      source: agentId,
      time: new Date().toISOString(),
      subject: actionId,
      correlationId,
      causationId: null,
      actor: { id: agentId, kind: 'agent' as const },
      data: { context: {}, ...proposal },
    };
    const event = signSubmission(unsigned, keyId, privateKey);
    await this.options.producer.send({ topic: this.options.topic ?? TOPICS.proposalSubmitted, messages: [{ key: actionId, value: JSON.stringify(event) }] });
    return { actionId, correlationId };
  }
}
