import { reviewItem } from '../review-item/review-item.suite';
import { recentSection } from './card-context.view';

// real: the card's recent-decisions section; fake: nothing (items as the repository returns them).
const decided = (actionId: string, requiredRoles: string[], decisionReason: string) =>
  reviewItem(actionId, '2026-11-24T12:00:00.000Z', {
    requiredRoles,
    status: 'rejected',
    deciders: ['alice'],
    decisionReason,
    decidedAt: '2026-11-24T10:05:00.000Z',
  });

describe("the card's recent decisions", () => {
  const reason = 'customer jane.doe@victim.example card 4111 1111 1111 1111 is not theirs';
  const context = { approvals: [], sameTarget: [decided('f1', ['finance'], reason)], sameAgent: [decided('s1', ['security'], 'checked with the team')] };
  const card = reviewItem('now', '2026-11-24T12:00:00.000Z');

  it('shows a reason masked (a row stored before reasons were), and only on items the viewer could have decided', () => {
    const html = recentSection(card, context, ['finance']);
    expect(html).toContain('customer j***@[email] card [card …1111] is not theirs');
    expect(html).not.toMatch(/jane\.doe|4111 1111/);
    expect(html).not.toContain('checked with the team');
    expect(html).toContain('rejected');
    expect(html).toContain('(reason not shown: an item of roles you do not hold)');
    const security = recentSection(card, context, ['security']);
    expect(security).toContain('checked with the team');
    expect(security).not.toContain('[card');
  });
});
