import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { actionDigest, Proposal } from '@countersign/contracts';

/** Why a sealed proposal could not be opened (another key, or the sealed text was altered). */
export class SealError extends Error {}

/** The review queue's data key as text: 32 random bytes, base64 (what `REVIEW_DATA_KEY_FILE` holds). */
export const generateReviewDataKey = (): string => randomBytes(32).toString('base64');

/** Reads a data key written by `generateReviewDataKey`; throws with a clear message on anything else. */
export function parseReviewDataKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64');
  if (!/^[A-Za-z0-9+/]{43}=$/.test(trimmed) || key.length !== 32) throw new Error('must hold a 256-bit key as base64 (44 characters)');
  return key;
}

/**
 * Seals the real proposal of a review item (AES-256-GCM, the action id as associated data): the store keeps
 * only the masked proposal in clear, and a sealed copy is useless without the key, or beside another item.
 * Format: `v1.<key id>.<iv>.<ciphertext>.<tag>` (base64url).
 */
export class ProposalSealer {
  /** Names the key (not secret), so a copy sealed under another key is told apart from a tampered one. */
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the review data key must be 256 bits');
    this.keyId = createHash('sha256').update('countersign review data key\u0000').update(key).digest('hex').slice(0, 12);
  }

  seal(actionId: string, proposal: Proposal): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(actionId, 'utf8'));
    const sealed = Buffer.concat([cipher.update(JSON.stringify(proposal), 'utf8'), cipher.final()]);
    return ['v1', this.keyId, iv.toString('base64url'), sealed.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  open(actionId: string, sealed: string): Proposal {
    const [version, keyId, iv, text, tag, ...rest] = sealed.split('.');
    if (version !== 'v1' || rest.length || !iv || !text || !tag) throw new SealError('not a sealed proposal');
    if (keyId !== this.keyId) throw new SealError(`sealed under another key (${keyId}), not this service's (${this.keyId})`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'), { authTagLength: 16 });
      decipher.setAAD(Buffer.from(actionId, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return JSON.parse(Buffer.concat([decipher.update(Buffer.from(text, 'base64url')), decipher.final()]).toString('utf8')) as Proposal;
    } catch {
      throw new SealError('the sealed proposal does not open: altered, or sealed for another item');
    }
  }
}

/** What reading an item's real proposal found: the proposal, or why there is none to trust. */
export type RealProposal =
  | { ok: true; proposal: Proposal }
  | { ok: false; why: 'no-sealed-copy' }
  | { ok: false; why: 'unreadable'; detail: string }
  | { ok: false; why: 'digest-mismatch' };

/**
 * An item's real proposal: its sealed copy opened, and checked to be the proposal its digest names (what an approval
 * binds to), or why not. Every reader of the real values goes through it (a reveal, a revision, the card's reading of the
 * running contract), each saying the reason its own way.
 */
export function realProposalOf(sealer: ProposalSealer, item: { actionId: string; sealed?: string; digest: string; contractVersion: string }): RealProposal {
  if (!item.sealed) return { ok: false, why: 'no-sealed-copy' };
  let proposal: Proposal;
  try {
    proposal = sealer.open(item.actionId, item.sealed);
  } catch (e) {
    if (e instanceof SealError) return { ok: false, why: 'unreadable', detail: e.message };
    throw e;
  }
  return actionDigest(proposal, item.contractVersion) === item.digest ? { ok: true, proposal } : { ok: false, why: 'digest-mismatch' };
}
