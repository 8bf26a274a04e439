import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parse } from 'yaml';
import { DEFAULT_PRINCIPALS, writeTokens } from '@countersign/nest';
import { DEFAULT_CONTRACT_PATH } from '@countersign/policy-engine';
import { call, eventually } from '@countersign/testing';
import { startEmbedded } from './embedded';

// real: all five services in one process (in-process bus and stores), the project's contract and its test
// table, the shipped scenarios; fake: the target system (the embedded sink).
const root = join(__dirname, '../../..');
const scenarios = readFileSync(join(root, 'libs/contracts/fixtures/scenarios.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { proposal: { actionType: string; target: string; proposer: { agentId: string } }; expectedLane: string });
const table = (
  parse(readFileSync(join(DEFAULT_CONTRACT_PATH.replace(/\.yaml$/, '.test.yaml')), 'utf8')) as {
    cases: Array<{ name: string; expect: string; why?: string; inputs?: unknown }>;
  }
).cases;

describe('the shipped scenarios through the HTTP API', () => {
  let running: Awaited<ReturnType<typeof startEmbedded>>;
  let token: string;

  beforeAll(async () => {
    const home = mkdtempSync(join(tmpdir(), 'countersign-scenarios-'));
    // One agent principal that may propose as every agent the scenarios name.
    const agents = [...new Set(scenarios.map((s) => s.proposal.proposer.agentId))];
    token = writeTokens(home, [
      ...DEFAULT_PRINCIPALS,
      { name: 'scenario-agents', principal: 'scenario-agents', kind: 'agent', roles: ['agent'], agentIds: agents },
    ]).tokens['scenario-agents'];
    running = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) });
  }, 60_000); // a first start makes the home's database
  afterAll(() => running.close());

  it('every scenario has a row in the contract test table, which departs from the scenario only with a reason', () => {
    for (const s of scenarios) {
      const row = table.find((c) => c.name === `${s.proposal.actionType} ${s.proposal.target}`);
      expect(row).toBeDefined();
      if (row!.expect !== s.expectedLane) expect(row!.why).toMatch(/stricter than the scenario/);
    }
  });

  it.each(scenarios.map((s) => [`${s.proposal.actionType} ${s.proposal.target}`, s] as const))('%s gets the lane its table row names', async (name, s) => {
    const res = await call('POST', `${running.url}/v1/proposals`, s.proposal, token);
    expect(res.status).toBe(202);
    const expected = table.find((c) => c.name === name)!.expect;
    await eventually(async () => {
      const view = await call('GET', `${running.url}/v1/actions/${res.body.actionId}`, undefined, token);
      expect(view.body.lane).toBe(expected);
    }, 10_000);
  });
});
