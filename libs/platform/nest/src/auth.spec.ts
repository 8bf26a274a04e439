import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  AuthenticatedRequest,
  AuthGuard,
  bearerToken,
  loadTokenRegistry,
  mayProposeAs,
  readTokensFile,
  Roles,
  TokenEntry,
  TokenRegistry,
  TokensFileError,
  narrowTenants,
  TenantsSchema,
} from './auth';

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

describe('TokenRegistry: a binding it would not hold to is refused at start', () => {
  const digest = (t: string) => createHash('sha256').update(t).digest('hex');
  const agent = (principal: string, more: Partial<TokenEntry> = {}): TokenEntry => ({
    principal,
    kind: 'agent',
    roles: ['agent'],
    tokenSha256: digest(principal),
    ...more,
  });

  it('takes tenants on a reviewer (their items are checked against them), and refuses them beside a role that serves every tenant', () => {
    const gina: TokenEntry = { principal: 'gina', kind: 'human', roles: ['reviewer', 'finance', 'pii:view'], tokenSha256: digest('gina'), tenants: ['globex'] };
    expect(new TokenRegistry([gina]).resolve('gina')).toMatchObject({ id: 'gina', tenants: ['globex'] });
    expect(() => new TokenRegistry([{ ...gina, roles: ['reviewer', 'lead'] }])).toThrow(
      /^gina: tenants bind what an agent proposes and which review items a reviewer reaches, and this entry also holds lead, whose routes serve every tenant/,
    );
    for (const role of ['admin', 'auditor', 'autonomy:lower', 'metrics']) {
      expect(() => new TokenRegistry([{ ...gina, roles: ['reviewer', role] }])).toThrow(`also holds ${role}, whose routes serve every tenant`);
    }
    // Regions bind agents only: the review queue reads no region, so a reviewer's would bind nothing.
    expect(() => new TokenRegistry([{ ...gina, tenants: undefined, regions: ['eu'] }])).toThrow(
      /^gina: regions bind what an agent proposes, and this entry also holds reviewer/,
    );
    expect(() => new TokenRegistry([{ ...agent('both'), roles: ['agent', 'auditor'], regions: ['eu'] }])).toThrow(/also holds auditor/);
    // Unbound people, and bound agents, are what the file is for.
    expect(() => new TokenRegistry([{ ...gina, tenants: undefined }, agent('bot', { tenants: ['globex'], regions: ['eu'] })])).not.toThrow();
  });

  it('binds a person once: two tokens of theirs bound otherwise are refused; an agent token of theirs binds what it proposes only (red team, 2026-12-05)', () => {
    const gina: TokenEntry = { principal: 'gina', kind: 'human', roles: ['reviewer'], tokenSha256: digest('gina'), tenants: ['acme'] };
    // A second token bound to no tenant unbound her.
    expect(() => new TokenRegistry([gina, { ...gina, tokenSha256: digest('gina-2'), tenants: undefined }])).toThrow(
      /^gina has tokens bound to acme and to any tenant: a person is bound to tenants once/,
    );
    expect(() => new TokenRegistry([gina, { ...gina, tokenSha256: digest('gina-2'), tenants: ['globex'] }])).toThrow(/bound to acme and to globex/);
    const registry = new TokenRegistry([gina, { ...gina, tokenSha256: digest('gina-2'), tenants: ['acme'] }, { ...agent('gina'), tenants: ['globex'] }]);
    expect(registry.tenantsOf('gina')).toEqual(['acme']);
    expect(registry.tenantsOf('nobody')).toBeUndefined();
    expect(narrowTenants(['acme', 'globex'], ['acme'])).toEqual(['acme']);
    expect(narrowTenants(undefined, ['acme'])).toEqual(['acme']);
    expect(narrowTenants(['globex'], ['acme'])).toEqual([]);
    expect(narrowTenants(undefined, undefined)).toBeUndefined();
  });

  it('reads a tenants list strictly: an empty one, or a name that is no identifier, is refused rather than read as any tenant', () => {
    expect(TenantsSchema.safeParse(['acme', 'globex']).success).toBe(true);
    expect(TenantsSchema.safeParse([]).success).toBe(false);
    expect(TenantsSchema.safeParse(['acme', '']).success).toBe(false);
    expect(TenantsSchema.safeParse('acme').success).toBe(false);
    expect(TenantsSchema.safeParse(['acme', 7]).success).toBe(false);
    // A name no proposal's tenant can be (white space at an edge) bound a reviewer to nothing, silently (red team, 2026-12-05).
    expect(TenantsSchema.safeParse([' acme']).success).toBe(false);
    expect(TenantsSchema.safeParse(['acme\u00a0']).success).toBe(false);
  });

  it("refuses one agent id proposed as under two bindings: its actions, statistics and backlog are one agent's", () => {
    const acme = agent('acme-support', { agentIds: ['support-copilot'], tenants: ['acme'] });
    expect(() => new TokenRegistry([acme, agent('globex-support', { agentIds: ['support-copilot'], tenants: ['globex'] })])).toThrow(
      /^agent id support-copilot is proposed as by acme-support \(tenants acme; regions any\) and by globex-support \(tenants globex; regions any\)/,
    );
    expect(() => new TokenRegistry([acme, agent('support-copilot')])).toThrow(/tenants any; regions any/);
    expect(() => new TokenRegistry([acme, agent('acme-support-2', { agentIds: ['support-copilot'], tenants: ['acme'], regions: ['eu'] })])).toThrow(
      /regions eu/,
    );
    // Bound alike (a second token, another principal for the same agent): one agent still.
    expect(() => new TokenRegistry([acme, agent('scenarios', { agentIds: ['ops', 'support-copilot'], tenants: ['acme'] })])).not.toThrow();
  });

  it('refuses two tenants bound in spellings that budgets count as one', () => {
    expect(() => new TokenRegistry([agent('a', { tenants: ['acme'] }), agent('b', { tenants: ['Ac-Me'] })])).toThrow(
      'tenants "acme" and "Ac-Me" count as one tenant in budgets and statistics: bind one spelling of each tenant',
    );
    expect(() => new TokenRegistry([agent('a', { tenants: ['acme', 'acme2'] }), agent('b', { tenants: ['beta2'] })])).not.toThrow();
  });

  it('takes neither of two ids that read alike, and the rest of the file; names the id a sign-in reads as (red team, 2026-12-07: `\u0430da` approved ada’s request, `b\u2c9fb` made a quorum with bob)', () => {
    const human = (principal: string) => ({
      principal,
      kind: 'human' as const,
      roles: ['admin'],
      tokenSha256: createHash('sha256').update(principal).digest('hex'),
    });
    const token = (principal: string) => createHash('sha256').update(principal).digest('hex');
    // Cyrillic, Coptic, Greek capitals and a Greek Nu, a mark, an invisible character, case, I and l, 0 and o.
    for (const [real, twin] of [
      ['ada', '\u0430da'],
      ['ada', 'ad\u2c81'],
      ['bob', 'b\u2c9fb'],
      ['hans', '\u0397ans'],
      ['nora', '\u039dora'],
      ['ada', 'Ada'],
      ['ada', 'ad\u200ba'],
      ['ada', 'a\u0301da'],
      ['lee', 'Iee'],
      ['bob', 'b0b'],
    ]) {
      const registry = new TokenRegistry([human(real), human(twin), human('grace')]);
      expect(registry.principals()).toEqual(['grace']);
      expect(registry.resolve(real)).toBeUndefined();
      expect(registry.resolve(twin)).toBeUndefined();
      expect(registry.resolve('grace')).toMatchObject({ id: 'grace' });
      expect(registry.refusedIds()).toEqual([
        `principals ${JSON.stringify(real)} and ${JSON.stringify(twin)} read alike (case, letters of another script, marks or invisible characters, I, 1 and l, 0 and o): neither is taken until one of them is given another id`,
      ]);
      // A sign-in as either reads as the other, taken or not.
      expect(registry.readsAlike(twin)).toBe(real);
      expect(token).toBeDefined();
    }
    // Ids a person tells apart are all taken (red team of the first fix: `worker-0` beside `worker` locked every token out).
    const apart = ['worker', 'worker-0', 'db-1-0', 'db-10', 'bb', 'b0', 'agent-v1.0', 'agent-v10', 'ops-copilot', 'opscopilot', 'nora', 'vera'];
    const registry = new TokenRegistry(apart.map(human));
    expect(registry.principals().sort()).toEqual([...apart].sort());
    expect(registry.refusedIds()).toEqual([]);
    expect(registry.readsAlike('ada')).toBeUndefined();
    // Agent ids too: the entries that propose as either are left out, the others kept.
    const two = new TokenRegistry([agent('a', { agentIds: ['support-copilot'] }), agent('b', { agentIds: ['supp\u043ert-copilot'] }), agent('c')]);
    expect(two.principals()).toEqual(['c']);
    expect(two.refusedIds()).toEqual([expect.stringMatching(/^agent ids "support-copilot" and "supp\u043ert-copilot" read alike/)]);
    // The same principal under two tokens is one person, not two alike.
    const same = new TokenRegistry([human('ada'), { ...human('ada'), tokenSha256: 'b'.repeat(64) }]);
    expect(same.principals()).toEqual(['ada']);
  });
});

// real: AuthGuard with Nest's Reflector reading @Roles, the token registry; fake: the request (headers as Node gives them).
describe('AuthGuard', () => {
  const digest = (t: string) => createHash('sha256').update(t).digest('hex');
  const registry = new TokenRegistry([
    { principal: 'support-copilot', kind: 'agent', roles: ['agent'], tokenSha256: digest('agent-token') },
    { principal: 'ops-copilot', kind: 'agent', roles: ['agent'], tokenSha256: digest('agent2-token') },
  ]);
  class Routes {
    @Roles('agent')
    propose() {
      return undefined;
    }
  }
  const guard = new AuthGuard(new Reflector(), registry);
  const contextFor = (rawHeaders: string[]) => {
    const headers: Record<string, string> = {};
    // As Node does: the first Authorization header is kept, the others dropped.
    for (let i = 0; i < rawHeaders.length; i += 2) headers[rawHeaders[i].toLowerCase()] ??= rawHeaders[i + 1];
    const req: AuthenticatedRequest = { headers, rawHeaders };
    const context = { getHandler: () => Routes.prototype.propose, getClass: () => Routes, switchToHttp: () => ({ getRequest: () => req }) };
    return { req, context: context as unknown as ExecutionContext };
  };

  it('authenticates one bearer token', () => {
    const { req, context } = contextFor(['Authorization', 'Bearer agent-token']);
    expect(guard.canActivate(context)).toBe(true);
    expect(req.principal?.id).toBe('support-copilot');
  });

  it('tells a missing header from one in another form: two words after Bearer, another scheme (red team, 2026-12-06)', () => {
    expect(() => guard.canActivate(contextFor([]).context)).toThrow('missing bearer token (Authorization: Bearer <token>)');
    for (const header of ['Bearer agent-token x', 'Basic YWxpY2U6c2VjcmV0', 'Bearer']) {
      const { req, context } = contextFor(['Authorization', header]);
      expect(() => guard.canActivate(context)).toThrow('malformed Authorization header: send one token as Authorization: Bearer <token>');
      expect(req.principal).toBeUndefined();
    }
  });

  it('takes two Authorization headers for no token, in either order: a proxy may read the other one (red team, 2026-12-04)', () => {
    for (const order of [
      ['Bearer agent2-token', 'Bearer agent-token'],
      ['Bearer agent-token', 'Bearer agent2-token'],
      ['Bearer agent-token', 'Bearer agent-token'],
    ]) {
      const { req, context } = contextFor(['Authorization', order[0], 'authorization', order[1]]);
      expect(() => guard.canActivate(context)).toThrow(/more than one Authorization header/);
      expect(req.principal).toBeUndefined();
    }
  });
});

// real: the tokens file reader both modes use (the services' loadTokenRegistry, the embedded home's), files on disk.
describe('readTokensFile', () => {
  const file = (text: string) => {
    const path = join(mkdtempSync(join(tmpdir(), 'tokens-')), 'tokens.json');
    writeFileSync(path, text);
    return path;
  };
  it('says what is wrong: unreadable, not JSON (a duplicate key too), or not token entries', () => {
    const problem = (path: string) => {
      try {
        readTokensFile(path);
        return undefined;
      } catch (e) {
        return (e as TokensFileError).problem;
      }
    };
    expect(problem('/nonexistent/tokens.json')).toBe('unreadable');
    expect(problem(file('{x'))).toBe('not-json');
    expect(problem(file('[{"principal": "a", "principal": "b"}]'))).toBe('not-json');
    expect(problem(file('[{"principal": 1}]'))).toBe('invalid');
    expect(() => loadTokenRegistry(file('[{"principal": 1}]'))).toThrow(/^tokens file .+ is invalid: 0\.principal: /);
  });

  it('refuses a field it does not know, naming the one meant: `tenant` for `tenants` unbound an agent silently (config probe, 2026-12-05)', () => {
    const entry = { principal: 'ops-copilot', kind: 'agent', roles: ['agent'], tokenSha256: 'a'.repeat(64), agentIds: ['ops-copilot'] };
    expect(readTokensFile(file(JSON.stringify([{ ...entry, tenants: ['acme'] }])))[0].tenants).toEqual(['acme']);
    expect(() => loadTokenRegistry(file(JSON.stringify([{ ...entry, tenant: ['acme'] }])))).toThrow(
      /^tokens file .+ is invalid: 0\.tenant: unknown field \(did you mean tenants\?\)$/,
    );
    expect(() => loadTokenRegistry(file(JSON.stringify([{ ...entry, region: ['eu-west'] }])))).toThrow(/0\.region: unknown field \(did you mean regions\?\)$/);
    expect(() => loadTokenRegistry(file(JSON.stringify([{ ...entry, note: 'x' }])))).toThrow(/0\.note: unknown field$/);
  });
});
