import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Proposal } from '@countersign/contracts';
import { Principal, TokenRegistry, TokensFileSchema, writeTokens } from '@countersign/nest';
import { proposerRefusal } from './admission';

// real: proposerRefusal, the tokens file as writeTokens writes it and TokenRegistry reads it; fake: nothing.
describe('who may propose what', () => {
  const proposal = (agentId: string, tenant: string, region = 'eu-west') => ({ proposer: { agentId }, tenant, region }) as unknown as Proposal;
  const agent: Principal = { id: 'support-copilot', kind: 'agent', roles: ['agent'], agentIds: ['support-copilot'], tenants: ['acme', 'initech'] };

  it('a principal bound to tenants proposes for them only, spelled exactly as listed', () => {
    expect(proposerRefusal(agent, proposal('support-copilot', 'acme'))).toBeUndefined();
    expect(proposerRefusal(agent, proposal('support-copilot', 'initech'))).toBeUndefined();
    for (const tenant of ['globex', 'ACME', 'acme ', 'acme\u00a0', '\u0430cme'])
      expect(proposerRefusal(agent, proposal('support-copilot', tenant))).toBe(
        `principal support-copilot may not act for tenant ${JSON.stringify(tenant)}: it acts for acme, initech`,
      );
  });

  it('a principal bound to no tenant acts for any; the agent id is checked first', () => {
    const unbound: Principal = { ...agent, tenants: undefined };
    expect(proposerRefusal(unbound, proposal('support-copilot', 'globex'))).toBeUndefined();
    expect(proposerRefusal(agent, proposal('finance-agent', 'globex'))).toBe(
      'principal support-copilot may not propose as agent "finance-agent": it may propose as support-copilot',
    );
  });

  it('a principal bound to regions proposes in them only, spelled exactly as listed; one bound to none in any (red team, 2026-12-05)', () => {
    const regional: Principal = { ...agent, regions: ['eu-west'] };
    expect(proposerRefusal(regional, proposal('support-copilot', 'acme', 'eu-west'))).toBeUndefined();
    for (const region of ['EU-West', 'eu-west-1', 'euwest', 'eu-west '])
      expect(proposerRefusal(regional, proposal('support-copilot', 'acme', region))).toBe(
        `principal support-copilot may not act in region ${JSON.stringify(region)}: it acts in eu-west`,
      );
    expect(proposerRefusal(agent, proposal('support-copilot', 'acme', 'EU-West'))).toBeUndefined();
    // Through the tokens file, as an operator binds one.
    const dir = mkdtempSync(join(tmpdir(), 'admission-'));
    try {
      const { tokensFile, tokens } = writeTokens(dir, [{ name: 'eu', principal: 'eu-agent', kind: 'agent', roles: ['agent'], regions: ['eu-west'] }]);
      const registry = new TokenRegistry(TokensFileSchema.parse(JSON.parse(readFileSync(tokensFile, 'utf8'))));
      expect(proposerRefusal(registry.resolve(tokens.eu)!, proposal('eu-agent', 'acme', 'eu-west-1'))).toMatch(/may not act in region "eu-west-1"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the default agents' tokens are bound to their tenant, through the tokens file", () => {
    const dir = mkdtempSync(join(tmpdir(), 'admission-'));
    try {
      const { tokensFile, tokens } = writeTokens(dir);
      const registry = new TokenRegistry(TokensFileSchema.parse(JSON.parse(readFileSync(tokensFile, 'utf8'))));
      const support = registry.resolve(tokens.agent)!;
      expect(support.tenants).toEqual(['acme']);
      expect(proposerRefusal(support, proposal('support-copilot', 'globex'))).toMatch(/may not act for tenant "globex"/);
      expect(registry.resolve(tokens.reviewer)!.tenants).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
