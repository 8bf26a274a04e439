import pino from 'pino';
import { generateSigningKey } from '@countersign/approval';
import { actionDigest } from '@countersign/contracts';
import type { AuthenticatedRequest, Principal } from '@countersign/nest';
import { changedProjectContract, projectContract, RecordingBus, refundProposal } from '@countersign/testing';
import { ApprovalService } from '../approvals/approval.service';
import { ClaimService } from '../claims/claim.service';
import { card } from '../inbox/inbox.view';
import type { ReviewerSession } from '../inbox/session.store';
import { RevealService } from '../reviewer-api/reveal.service';
import { ReviewsController } from '../reviewer-api/reviews.controller';
import { RevisionService } from '../revisions/revision.service';
import { contractNow } from './contract-now';
import { DecisionOutbox } from './decision-outbox';
import { InMemoryReviewItemRepository } from './in-memory-review-item.repository';
import { reviewItem } from './review-item.suite';
import { generateReviewDataKey, parseReviewDataKey, ProposalSealer } from './sealed-proposal';
import { shownDigest, shownView } from './shown';

// real: contractNow over the project's contract and a changed copy of it (parsed, compiled, evaluated), the review data
// key's sealing, the reviewer API's controller and its services over the in-memory items, the card's HTML; fake: nothing.
describe("the running contract's reading of an item queued under an older one (lifecycle probe, 2026-12-05)", () => {
  const queuedUnder = projectContract().current().version;
  /** The project's contract as version 2999.1.1, with the small-refund rule's thresholds replaced. */
  const next = (thresholds: string) => changedProjectContract('2999.1.1', thresholds);
  const sealer = new ProposalSealer(parseReviewDataKey(generateReviewDataKey()));
  const due = new Date(Date.now() + 3_600_000).toISOString();
  /** A waiting refund of 480 EUR queued under the project's contract, with its sealed copy, as the review consumer keeps it. */
  const queued = (actionId: string, over: Parameters<typeof reviewItem>[2] = {}) => {
    const proposal = { ...refundProposal(), parameters: { amount: 480, currency: 'EUR', reason: 'damaged' } } as ReturnType<typeof refundProposal>;
    return reviewItem(actionId, due, {
      proposal,
      contractVersion: queuedUnder,
      digest: actionDigest(proposal, queuedUnder),
      sealed: sealer.seal(actionId, proposal),
      ...over,
    });
  };

  it('names the running version that now prohibits a waiting item, and says nothing otherwise', () => {
    const prohibiting = contractNow(next('{ review: 0, prohibited: 0 }'), sealer);
    expect(prohibiting(queued('a1'))).toEqual({ prohibitedBy: '2999.1.1' });
    // Decided already: nothing left to warn of.
    expect(prohibiting(queued('a2', { status: 'approved' }))).toBeUndefined();
    // Queued under the running version (or a newer one): the policy engine read it under that one already.
    expect(prohibiting(queued('a3', { contractVersion: '2999.1.1' }))).toBeUndefined();
    // A change that still sends it to a person leaves the item as it is.
    expect(contractNow(next('{ review: 0 }'), sealer)(queued('a4'))).toBeUndefined();
    // No reading without the real proposal: no sealed copy, one that does not open, or one that is not the item's digest.
    expect(prohibiting(queued('a5', { sealed: undefined }))).toBeUndefined();
    expect(prohibiting(queued('a6', { sealed: queued('another').sealed }))).toBeUndefined();
    expect(prohibiting(queued('a7', { digest: 'b'.repeat(64) }))).toBeUndefined();
  });

  it('the card warns the reviewer before they decide, and the JSON API names the version (`prohibitedByContract`)', async () => {
    const now = contractNow(next('{ review: 0, prohibited: 0 }'), sealer);
    const item = queued('a1');
    const alice: Principal = { id: 'alice', kind: 'human', roles: ['reviewer'], authMethod: 'oidc' };
    const session = { principal: alice, name: 'Alice', amr: ['pwd'] } as unknown as ReviewerSession;
    const shown = (contractNote: ReturnType<typeof now>) =>
      card({ item, session, shownDigest: shownDigest(shownView(item)), canReveal: false, mayDecide: true, contractNow: contractNote });
    expect(shown(now(item))).toContain('<strong>contract 2999.1.1 prohibits this proposal</strong>. An approval will not be executed');
    expect(shown(undefined)).not.toContain('contract-now');

    const logger = pino({ level: 'silent' });
    const bus = new RecordingBus({ source: 'review-queue', logger });
    const items = new InMemoryReviewItemRepository();
    const key = generateSigningKey('rq-1').signing;
    const outbox = new DecisionOutbox(bus, items, logger, { graceMs: 5_000 });
    const approvals = new ApprovalService(bus, items, key, outbox);
    const api = (reading?: typeof now) =>
      new ReviewsController(
        items,
        approvals,
        new ClaimService(items, logger),
        new RevealService(items, sealer, bus),
        new RevisionService(bus, items, key, sealer, logger, outbox, approvals),
        undefined,
        reading,
      );
    await items.add(item);
    const req = { principal: alice } as AuthenticatedRequest;
    expect(await api(now).one('a1', req)).toMatchObject({ actionId: 'a1', prohibitedByContract: '2999.1.1' });
    expect(await api().one('a1', req)).not.toHaveProperty('prohibitedByContract');
  });
});
