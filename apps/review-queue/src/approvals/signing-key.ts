import { ServiceUnavailableException } from '@nestjs/common';
import { DecisionSigner, signingKeyAt } from '@countersign/approval';

/**
 * Answers 503 when no signing key is valid at `now` (past every key's `notAfter`, or the keys file lists none valid):
 * called before a decision stores anything, so a refused decision leaves nothing half done (no approval counted toward
 * a quorum, no item decided) and the reviewer's retry after a rotation starts clean. `now` is the decision's
 * `issuedAt`, so the key found here is the key that signs.
 */
export function requireSigningKey(signer: DecisionSigner, now: Date): void {
  const key = signingKeyAt(signer, now);
  if (!key.ok)
    throw new ServiceUnavailableException(`decisions cannot be signed now, nothing was recorded: ${key.reason}; retry after the signing key is rotated`);
}
