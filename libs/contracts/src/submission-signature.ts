import { KeyObject, sign, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import { TOPIC_SCHEMAS, TOPICS, TopicMap } from './topics';

/** An `agent.proposal.submitted.v1` event, signed or not. */
export type SubmittedProposal = TopicMap[typeof TOPICS.proposalSubmitted];

/** The bytes a proposer signs: the canonical JSON (RFC 8785) of the event as its schema reads it, without `signature`. */
export function submissionSigningBytes(event: SubmittedProposal): Buffer {
  const { signature: _signature, ...unsigned } = event;
  const json = canonicalize(unsigned);
  if (json === undefined) throw new Error('event cannot be canonicalized');
  return Buffer.from(json, 'utf8');
}

/**
 * Signs a proposal an agent produces straight to Kafka with its Ed25519 key (docs/adr/0008). The event is
 * first read through its schema (defaults filled in, unknown fields dropped), so the orchestrator verifies
 * exactly the bytes signed here. Throws if the event violates its schema.
 */
export function signSubmission(event: Omit<SubmittedProposal, 'signature'>, keyId: string, privateKey: KeyObject): SubmittedProposal {
  const normal = TOPIC_SCHEMAS[TOPICS.proposalSubmitted].parse(event) as SubmittedProposal;
  const value = sign(null, submissionSigningBytes(normal), privateKey).toString('base64url');
  return { ...normal, signature: { alg: 'Ed25519', keyId, value } };
}

/** True when the event carries a signature that `publicKey` verifies. */
export function submissionSignatureValid(event: SubmittedProposal, publicKey: KeyObject): boolean {
  if (!event.signature) return false;
  try {
    return verify(null, submissionSigningBytes(event), publicKey, Buffer.from(event.signature.value, 'base64url'));
  } catch {
    return false;
  }
}
