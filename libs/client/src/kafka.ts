import type { KeyObject } from 'node:crypto';
import { derivedEventId, isIdentifier, newId, signSubmission, TOPICS } from '@countersign/contracts';
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
 * `KafkaProposer.propose` failed: `actionId` is the action the proposal was (or would have been) sent as. When the
 * producer failed (`sent: 'maybe'`) the broker may have taken the message all the same: propose the same proposal again
 * with `{ actionId }` to reach the same action, never a second one. `cause` is the producer's (or the schema's) error.
 */
export class KafkaProposalError extends Error {
  constructor(
    message: string,
    readonly actionId: string,
    readonly correlationId: string,
    /** `no`: it did not validate and was not sent. `maybe`: the producer failed, and the broker may have it. */
    readonly sent: 'no' | 'maybe',
    options: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  /** The ids to resend by (the message is not enumerable; the cause may quote the proposal, so it is left out). */
  toJSON(): Record<string, unknown> {
    const { name, message, actionId, correlationId, sent } = this;
    return { name, message, actionId, correlationId, sent };
  }
}

/**
 * Proposes over Kafka instead of HTTP (docs/adr/0008): each proposal is an `agent.proposal.submitted.v1` event signed
 * with the agent's Ed25519 key, keyed by its action id. Unsigned, badly signed or invalid proposals are dead-lettered
 * by the orchestrator, with the reason audited; follow the action with `CountersignClient.awaitDecision`.
 */
export class KafkaProposer {
  constructor(private readonly options: KafkaProposerOptions) {}

  /**
   * Signs and produces one proposal; resolves once the producer has it acknowledged. Without an `actionId` one is made.
   * Every error is a `KafkaProposalError` carrying it: when the producer failed the broker may have the message, so
   * propose the same proposal again with `{ actionId: error.actionId }`. That resend is the same event (its id is derived
   * from the action id), which the orchestrator and every consumer after it drop as a duplicate: never a second action.
   */
  async propose(proposal: ProposalInput, options: { actionId?: string; correlationId?: string } = {}): Promise<{ actionId: string; correlationId: string }> {
    if (options.actionId !== undefined && !isIdentifier(options.actionId))
      throw new TypeError(
        'KafkaProposer.propose: actionId must be an identifier (1-200 characters, no control or invisible ones; not shown); nothing was sent',
      );
    const actionId = options.actionId ?? newId();
    const correlationId = options.correlationId ?? `agent-${actionId}`;
    const { agentId, keyId, privateKey } = this.options;
    // An agent has no bus to emit through: it builds the submission itself, and signSubmission checks it against the
    // topic's schema before it signs (the orchestrator verifies exactly those bytes).
    // eslint-disable-next-line no-restricted-syntax
    const unsigned = {
      // Derived from the action id, not fresh: a resend after a producer failure is then the same event, and the
      // orchestrator derives the action's events from this id, so every consumer drops the second one as a duplicate.
      id: derivedEventId(TOPICS.proposalSubmitted, actionId),
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
    let event: ReturnType<typeof signSubmission>;
    try {
      event = signSubmission(unsigned, keyId, privateKey);
    } catch (e) {
      // The schema's text may quote the proposal's values: it stays in `cause`, out of the message.
      throw new KafkaProposalError(`proposal ${actionId} does not validate as a submission and was not sent`, actionId, correlationId, 'no', { cause: e });
    }
    try {
      await this.options.producer.send({ topic: this.options.topic ?? TOPICS.proposalSubmitted, messages: [{ key: actionId, value: JSON.stringify(event) }] });
    } catch (e) {
      const why = e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 200) : 'a failure';
      throw new KafkaProposalError(
        `the producer failed to send proposal ${actionId} (${why}): the broker may have it all the same; propose it again with this actionId, never a new one`,
        actionId,
        correlationId,
        'maybe',
        { cause: e },
      );
    }
    return { actionId, correlationId };
  }
}
