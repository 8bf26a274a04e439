import { createHash } from 'node:crypto';
import { bearerToken, mayProposeAs, TokenRegistry } from './auth';

// real: the Authorization header parser every route's AuthGuard uses, the token registry; fake: nothing.
describe('bearerToken', () => {
  it.each([
    ['Bearer abc.def-1', 'abc.def-1'],
    ['bearer abc', 'abc'],
    ['BEARER abc', 'abc'],
    ['Bearer  abc ', 'abc'],
  ])('reads %p as the token %p (the scheme is case-insensitive)', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it.each([[undefined], [''], ['Bearer'], ['Bearer '], ['Basic YWxpY2U6c2VjcmV0'], ['Bearer a b'], ['Token abc'], [['Bearer abc']]])(
    'finds no token in %p',
    (header) => {
      expect(bearerToken(header)).toBeUndefined();
    },
  );
});

describe('TokenRegistry: who may propose as which agent, by principal id', () => {
  const digest = (t: string) => createHash('sha256').update(t).digest('hex');
  const registry = new TokenRegistry([
    { principal: 'fiona', kind: 'human', roles: ['reviewer', 'finance'], tokenSha256: digest('fiona-review') },
    { principal: 'fiona', kind: 'agent', roles: ['agent'], agentIds: ['support-copilot'], tokenSha256: digest('fiona-agent') },
    { principal: 'support-copilot', kind: 'agent', roles: ['agent'], tokenSha256: digest('agent') },
  ]);

  it("gives every token of a principal all the agent ids its tokens may propose as (proposesAs), and proposing only the token's own", () => {
    const reviewing = registry.resolve('fiona-review')!;
    expect(reviewing.agentIds).toEqual(['fiona']);
    expect(reviewing.proposesAs).toEqual(['fiona', 'support-copilot']);
    expect(mayProposeAs(reviewing, 'support-copilot')).toBe(false);
    expect(mayProposeAs(registry.resolve('fiona-agent')!, 'support-copilot')).toBe(true);
    expect(registry.proposesAs('fiona')).toEqual(['fiona', 'support-copilot']);
    expect(registry.proposesAs('support-copilot')).toEqual(['support-copilot']);
    // A person known only to the identity provider proposes as no one but themselves.
    expect(registry.proposesAs('max')).toEqual(['max']);
  });
});
