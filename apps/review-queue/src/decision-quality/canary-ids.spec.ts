import { createHmac, hkdfSync } from 'node:crypto';
import { derivedEventId, newId, TOPICS } from '@countersign/contracts';
import { RunningContract } from '@countersign/policy';
import { refundProposal } from '@countersign/testing';
import { PROJECT_CONTRACT_PATH } from '../degradation/degradation.providers';
import { reviewItem } from '../review-item/review-item.suite';
import { generateReviewDataKey, parseReviewDataKey, ProposalSealer } from '../review-item/sealed-proposal';
import { DecisionQuality, decisionQualityContract } from './decision-quality';
import { createInMemoryDecisionQualityStore } from './in-memory-decision-quality.store';

// real: DecisionQuality's canary items and marks, the project's contract (its canary template), the proposal sealer;
// fake: nothing.
// A reviewer sees an item's action id and decision event id. A real item's decision event id derives from its action id
// by public rules (the orchestrator's proposal event id, then the policy engine's decision id): a canary's must derive
// the same way, or computing it tells every canary apart (red team, 2026-12-04).
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const publicDecisionId = (actionId: string) => derivedEventId(TOPICS.policyDecided, derivedEventId(TOPICS.actionProposed, actionId));

function setup() {
  const dataKey = parseReviewDataKey(generateReviewDataKey());
  const contract = decisionQualityContract(PROJECT_CONTRACT_PATH);
  const quality = new DecisionQuality({ store: createInMemoryDecisionQualityStore(), contract }, dataKey, new ProposalSealer(dataKey));
  const template = contract.canaries!.templates[0];
  const due = new Date(Date.now() + 3_600_000).toISOString();
  const real = (actionId = newId()) => ({ ...reviewItem(actionId, due), decisionEventId: publicDecisionId(actionId), proposal: refundProposal() });
  return { dataKey, quality, template, real };
}

describe('canary ids: what a reviewer sees of a canary is shaped and derived as a real item', () => {
  it("has a random-looking action id and the decision event id a real item's action id gives, and only the queue tells it apart", async () => {
    const t = setup();
    const canaries = await Promise.all([0, 1, 2, 3].map(() => t.quality.canaryItem(t.real(), t.template, new Date())));
    for (const c of canaries) {
      expect(c.actionId).toMatch(UUID_V4);
      expect(c.decisionEventId).toBe(publicDecisionId(c.actionId));
      expect(t.quality.isCanary(c)).toBe(true);
    }
    expect(new Set(canaries.map((c) => c.actionId)).size).toBe(4);
    // Real items (random action ids) are not canaries, and neither is a canary's id with one digit changed.
    for (let i = 0; i < 200; i++) expect(t.quality.isCanary(t.real())).toBe(false);
    const [c] = canaries;
    const last = c.actionId.at(-1) === '0' ? '1' : '0';
    const altered = `${c.actionId.slice(0, -1)}${last}`;
    expect(t.quality.isCanary({ actionId: altered, decisionEventId: publicDecisionId(altered) })).toBe(false);
  });

  it('still knows a canary queued before, marked by its decision event id', () => {
    const t = setup();
    // The earlier mark: an HMAC of the action id under the same derived key, shaped as a name-based UUID.
    const key = Buffer.from(hkdfSync('sha256', t.dataKey, Buffer.alloc(0), 'countersign canary mark v1', 32));
    const actionId = newId();
    const h = createHmac('sha256', key).update(actionId).digest('hex');
    const legacy = `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
    expect(t.quality.isCanary({ actionId, decisionEventId: legacy })).toBe(true);
    expect(t.quality.isCanary({ actionId, decisionEventId: publicDecisionId(actionId) })).toBe(false);
  });
});

describe('a canary shows the contract version it was assessed under', () => {
  it('the running one, not that of the real item it was queued beside (red team, 2026-12-06: older than the items around it after a change)', async () => {
    const dataKey = parseReviewDataKey(generateReviewDataKey());
    const contract = decisionQualityContract(PROJECT_CONTRACT_PATH);
    const running = RunningContract.fromFile(PROJECT_CONTRACT_PATH);
    const quality = new DecisionQuality(
      { store: createInMemoryDecisionQualityStore(), contract, policy: () => running.compiledContract() },
      dataKey,
      new ProposalSealer(dataKey),
    );
    const due = new Date(Date.now() + 3_600_000).toISOString();
    const real = {
      ...reviewItem(newId(), due),
      proposal: refundProposal(),
      contractVersion: '2026.01.01',
    };
    const canary = await quality.canaryItem(real, contract.canaries!.templates[0], new Date());
    expect(canary.contractVersion).toBe(running.current().version);
    expect(canary.contractVersion).not.toBe('2026.01.01');
  });
});
