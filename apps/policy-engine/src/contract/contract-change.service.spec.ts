import { readFileSync } from 'node:fs';
import pino from 'pino';
import { TOPICS, TopicMap } from '@countersign/contracts';
import type { EventBus } from '@countersign/bus';
import { DEFAULT_CONTRACT_PATH } from '../policy-engine.module';
import { ContractChangeService } from './contract-change.service';
import { ContractStore } from './contract.store';

// real: the contract store on the project's contract, change control; fake: the bus (records what is published).
const text = readFileSync(DEFAULT_CONTRACT_PATH, 'utf8');
const admin = { id: 'ada', kind: 'human' as const, roles: ['admin'] };

function setup() {
  const store = new ContractStore(DEFAULT_CONTRACT_PATH, pino({ level: 'silent' }));
  const published: Array<TopicMap[typeof TOPICS.contractChanged]> = [];
  const service = new ContractChangeService(store, 'policy-engine', 'test');
  Object.assign(service, { bus: { publish: async (_t: string, e: TopicMap[typeof TOPICS.contractChanged]) => void published.push(e) } as unknown as EventBus });
  const handle = (e: TopicMap[typeof TOPICS.contractChanged]) => (service as unknown as { handlers(): Record<string, (e: unknown) => Promise<void>> }).handlers()[TOPICS.contractChanged](e);
  return { store, service, published, handle };
}

describe('contract change control', () => {
  it('publishes an approved change, and applies it when it comes back from the bus', async () => {
    const { store, service, published, handle } = setup();
    const before = store.current().version;
    await service.propose(text.replace(`version: ${before}`, 'version: 2026.12.0'), 'CR-1', 'grace', admin);
    expect(store.current().version).toBe(before);
    expect(published[0].data).toMatchObject({ fromVersion: before, toVersion: '2026.12.0', requestedBy: 'ada', approvedBy: 'grace' });
    await handle(published[0]);
    expect(store.current().version).toBe('2026.12.0');
  });

  it('refuses self-approval and invalid contracts, and keeps the running version', async () => {
    const { store, service, published } = setup();
    await expect(service.propose(text.replace(/version: .*/, 'version: 9'), 'CR-2', 'ada', admin)).rejects.toThrow(/approved by its own requester/);
    await expect(service.propose('version: [', 'CR-3', 'grace', admin)).rejects.toThrow(/invalid/);
    expect(published).toEqual([]);
    expect(store.current().version).toBe('2026.11.1');
  });

  it('never rolls back: a replayed change against another base version is skipped', async () => {
    const { store, service, published, handle } = setup();
    await service.propose(text.replace('version: 2026.11.1', 'version: 2026.12.0'), 'CR-4', 'grace', admin);
    await handle(published[0]);
    await service.propose(text.replace('version: 2026.11.1', 'version: 2026.12.1'), 'CR-5', 'grace', admin);
    await handle(published[1]);
    expect(store.current().version).toBe('2026.12.1');
    await handle(published[0]); // replayed after a restart
    expect(store.current().version).toBe('2026.12.1');
  });
});
