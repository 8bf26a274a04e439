import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { Proposal } from './events';

/**
 * SHA-256 (hex) over the RFC 8785 canonical JSON of `value`: the one way Countersign hashes a JSON value, so two
 * services (or a service and a verifier) that hash the same value agree byte for byte.
 */
export function canonicalDigest(value: unknown): string {
  const json = canonicalize(value);
  if (json === undefined) throw new Error('value cannot be canonicalized');
  return createHash('sha256').update(json).digest('hex');
}

/**
 * The action digest: SHA-256 over the RFC 8785 canonical JSON of what would be done. An approval is
 * bound to it, so editing any of these fields (or deciding under another policy version) makes a new
 * digest that no earlier approval covers.
 */
export function actionDigest(proposal: Proposal, policyVersion: string): string {
  const what = {
    actionType: proposal.actionType,
    target: proposal.target,
    parameters: proposal.parameters,
    proposer: proposal.proposer,
    policyVersion,
  };
  return canonicalDigest(what);
}
