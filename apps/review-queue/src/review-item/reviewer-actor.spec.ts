import { ActorSchema } from '@countersign/contracts';
import { reviewerActor } from './reviewer-actor';

// real: reviewerActor and the envelope's actor schema; fake: nothing.
describe('reviewerActor', () => {
  it('names how the reviewer signed in: method, amr and time; a principal without a method used a bearer token', () => {
    expect(reviewerActor({ id: 'dora', kind: 'human', roles: ['reviewer'], authMethod: 'oidc', amr: ['pwd', 'otp', 'mfa'], authTime: 1_000 })).toEqual({
      id: 'dora',
      kind: 'human',
      roles: ['reviewer'],
      authMethod: 'oidc',
      amr: ['pwd', 'otp', 'mfa'],
      authTime: 1_000,
    });
    expect(reviewerActor({ id: 'bob', kind: 'human', roles: [] })).toEqual({ id: 'bob', kind: 'human', roles: [], authMethod: 'bearer-token' });
  });

  it('leaves out amr values the envelope cannot carry, keeping mfa, so the event is never refused', () => {
    const amr = ['pwd', 'pwd\u001b[31m', 'x'.repeat(40), 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'mfa', 'pwd'];
    const actor = reviewerActor({ id: 'dora', kind: 'human', roles: ['reviewer'], authMethod: 'oidc', amr });
    expect(actor.amr).toEqual(['mfa', 'pwd', 'a', 'b', 'c', 'd', 'e', 'f']);
    expect(ActorSchema.safeParse(actor).success).toBe(true);
  });
});
