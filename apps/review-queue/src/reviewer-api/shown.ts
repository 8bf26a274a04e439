import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { ReviewItem } from '../queue/review-item.repository';

/** What a reviewer is shown of an item: everything they decide on. The audit trail keeps a copy. */
export function shownView(item: ReviewItem) {
  const { decidedBy: _b, decisionReason: _r, decidedAt: _a, ...view } = item;
  return view;
}

/** SHA-256 over the canonical JSON of what was shown: a decision names the version it was made on. */
export const shownDigest = (view: ReturnType<typeof shownView>) => createHash('sha256').update(canonicalize(view)!).digest('hex');
