import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { parse } from 'yaml';
import { SCENARIO_AGENT_IDS } from '@countersign/nest';
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
  let home: string;
  let token: string;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'countersign-scenarios-'));
    running = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) });
    // A new home has an agent token that may propose as every agent the scenarios name.
    token = readFileSync(join(home, 'tokens', 'scenarios'), 'utf8');
  }, 60_000); // a first start makes the home's database
  afterAll(() => running.close());

  it('the home’s scenarios token may propose as every agent the scenarios name, and as no other', async () => {
    expect([...new Set(scenarios.map((s) => s.proposal.proposer.agentId))].sort()).toEqual([...SCENARIO_AGENT_IDS].sort());
    const other = { ...scenarios[0].proposal, proposer: { ...scenarios[0].proposal.proposer, agentId: 'payroll-agent' } };
    expect(await call('POST', `${running.url}/v1/proposals`, other, token)).toMatchObject({ status: 403 });
  });

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

  it('`countersign scenarios` sends them through the typed client and prints each lane beside the expected one', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['-r', './tools/register.js', 'tools/countersign.ts', 'scenarios', '--url', running.url, '--token-file', join(home, 'tokens', 'scenarios')],
      { cwd: join(__dirname, '../../..'), timeout: 120_000 },
    );
    const lines = stdout.trim().split('\n');
    expect(lines.at(-1)).toMatch(new RegExp(`^${scenarios.length} of ${scenarios.length} given a lane; \\d+ on another lane than the row expects`));
    for (const s of scenarios) {
      const name = `${s.proposal.actionType} ${s.proposal.target}`;
      const line = lines.find((l) => l.includes(` ${name} `))!;
      // Each line: the lane the action got (the API's view of it, named at the end), the lane the scenario expects. The
      // rows above proposed the same targets first, so a budget per target may send a second refund to review: the
      // line must say what happened, not what the table expects.
      const [lane, expected] = line.split(/\s+/);
      const view = await call('GET', `${running.url}/v1/actions/${line.split(/\s+/).at(-1)}`, undefined, token);
      expect([lane, expected]).toEqual([view.body.lane, s.expectedLane]);
    }
  }, 150_000);
});
