import { join } from 'node:path';
import { IDENTIFIER_KEYS, maskDeep } from '@countersign/guardrails';
import { loadContractFile } from '@countersign/policy';
import { plannedIntent } from './reviewer';
import type { Intent } from './tally';

// real: the scripted reviewer's matching, the masking and the shipped contract's national-id patterns; fake: the items.

const contract = loadContractFile(join(__dirname, '../../apps/policy-engine/contract/countersign.contract.yaml'));
const nationalIds = (contract.masking?.nationalIds ?? []).map((p) => ({ name: p.name, pattern: new RegExp(p.pattern, 'g') }));
/** A review item as `GET /v1/reviews` lists it: its proposal masked with the contract's patterns (review.consumer.ts). */
const listed = (actionId: string, target: string) => ({
  actionId,
  kind: 'approval',
  proposal: maskDeep({ actionType: 'account.close', target }, { nationalIds, keepKeys: IDENTIFIER_KEYS }),
});

describe('chaos scripted reviewer', () => {
  // The failed run chaos_99470534 (2026-12-03): every review item from index 100 on was listed with a masked target,
  // left undecided ("left approval": 6339), and its approvals lost.
  const byTarget = new Map<string, Intent>([
    ['chaos_99470534-5', 'reject'],
    ['chaos_99470534-102', 'approve'],
  ]);

  it('finds the plan of an item whose target the review queue shows masked, by its action id', () => {
    const item = listed('a102', 'chaos_99470534-102');
    expect(item.proposal.target).toBe('chaos_[de-tax-id]');
    expect(byTarget.get(item.proposal.target)).toBeUndefined(); // what the harness used to look up
    expect(plannedIntent(item, new Map([['a102', 'approve']]), byTarget)).toBe('approve');
  });

  it('falls back on the target for an item listed before its 202 arrived', () => {
    const item = listed('a5', 'chaos_99470534-5');
    expect(item.proposal.target).toBe('chaos_99470534-5');
    expect(plannedIntent(item, new Map(), byTarget)).toBe('reject');
  });

  it('leaves an item it planned nothing for (a canary: an action id and a target of no proposal it made)', () => {
    expect(plannedIntent(listed('canary-1', 'chaos_31870264-57'), new Map([['a102', 'approve']]), byTarget)).toBeUndefined();
    expect(plannedIntent({ actionId: 'canary-2' }, new Map(), byTarget)).toBeUndefined();
  });

  it('trusts the action id over the target', () => {
    expect(plannedIntent(listed('a5', 'chaos_99470534-102'), new Map([['a5', 'reject']]), byTarget)).toBe('reject');
  });
});
