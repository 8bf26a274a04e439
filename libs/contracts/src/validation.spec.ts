import { z } from 'zod';
import { closestName, describeIssues, parseKnownFields, ProposalSchema, unknownFields } from './index';

const proposal = {
  actionType: 'support.reply',
  target: 'ticket-1',
  parameters: { body: 'We have sorted that for you.', nested: { deep: [{ constructor: 'an ordinary key' }] } },
  proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' },
  confidence: 0.9,
  tenant: 'acme',
  region: 'eu-west',
};

const refusal = (value: unknown) => {
  const result = parseKnownFields(ProposalSchema, value);
  return result.success ? undefined : describeIssues(result.error);
};

describe('parseKnownFields: a field the schema does not know is refused, not dropped', () => {
  it('accepts a proposal that names only its own fields, free keys in parameters and context included', () => {
    const result = parseKnownFields(ProposalSchema, { ...proposal, context: { containsCommitment: true, constructor: 1 } });
    expect(result.error?.issues).toBeUndefined();
    expect(result.data?.context).toEqual({ containsCommitment: true, constructor: 1 });
    expect(result.data?.parameters).toEqual(proposal.parameters);
  });

  it('refuses a misspelt context (whose flags would otherwise be dropped) and names the field it may have meant', () => {
    // The plain schema drops it without a word: this is what the refusal guards against.
    expect(ProposalSchema.safeParse({ ...proposal, Context: { containsCommitment: true } }).success).toBe(true);
    expect(refusal({ ...proposal, Context: { containsCommitment: true } })).toBe('Context: unknown field (did you mean context?)');
    expect(refusal({ ...proposal, scoped_token: 'x' })).toBe('scoped_token: unknown field (did you mean scopedToken?)');
    expect(refusal({ ...proposal, ctx: {} })).toBe('ctx: unknown field');
  });

  it('refuses fields that claim an authority a proposal cannot carry', () => {
    expect(refusal({ ...proposal, lane: 'autonomous', approvedBy: 'alice' })).toBe('lane: unknown field; approvedBy: unknown field');
  });

  it('names unknown fields in nested objects by their path', () => {
    expect(refusal({ ...proposal, proposer: { ...proposal.proposer, model: { ...proposal.proposer.model, temperature: 0 } } })).toBe(
      'proposer.model.temperature: unknown field',
    );
  });

  it('walks arrays element by element, and leaves what a schema keeps whole (a record, a string) alone', () => {
    const list = z.object({ items: z.array(z.object({ id: z.string() })), tags: z.record(z.string(), z.string()) });
    expect(
      unknownFields(
        { items: [{ id: 'a' }, { id: 'b', extra: 1 }], tags: { anything: 'x' } },
        list.parse({ items: [{ id: 'a' }, { id: 'b', extra: 1 }], tags: { anything: 'x' } }),
      ),
    ).toEqual([['items', 1, 'extra']]);
  });

  it('names a long key by its first 63 characters', () => {
    expect(refusal({ ...proposal, ['k'.repeat(5000)]: 1 })).toBe(`${'k'.repeat(63)}…: unknown field`);
  });

  it('stops at five, as the other issues do', () => {
    const noisy = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`x${i}`, i]));
    const result = parseKnownFields(ProposalSchema, { ...proposal, ...noisy });
    expect(result.error?.issues).toHaveLength(5);
  });

  it('lets the schema speak first when it refuses on its own', () => {
    expect(refusal({ ...proposal, confidence: 2, extra: 1 })).toBe('confidence: Too big: expected number to be <=1');
  });
});

describe('closestName', () => {
  const types = ['support.refund', 'support.reply', 'ticket.tag', 'account.update'];

  it('names the one known name at most two edits away: a letter missing, doubled, swapped, mistyped, or another script', () => {
    expect(closestName('support.refnud', types)).toBe('support.refund');
    expect(closestName('support.refnd', types)).toBe('support.refund');
    expect(closestName('tickets.tag', types)).toBe('ticket.tag');
    expect(closestName('tiсket.tag', types)).toBe('ticket.tag'); // a Cyrillic с
    expect(closestName('acount.updte', types)).toBe('account.update');
  });

  it('names none when nothing is that close, when the name is known, or when two are equally close', () => {
    expect(closestName('crypto.transfer', types)).toBeUndefined();
    expect(closestName('ticket.tag', types)).toBeUndefined();
    // The closest wins: "support.repund" is one edit from support.refund, two from support.reply.
    expect(closestName('support.repund', types)).toBe('support.refund');
    expect(closestName('ab', ['ac', 'ad'])).toBeUndefined();
  });
});
