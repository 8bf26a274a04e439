import { readFileSync } from 'node:fs';
import pino from 'pino';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { changeDigest, parseContract } from '@countersign/policy';
import { DEFAULT_CONTRACT_PATH } from '../policy-engine.module';
import { ContractChangeService } from './contract-change.service';
import { ContractStore } from './contract.store';

// real: the contract store on the project's contract, the applier; fake: nothing (events are handed to it).
const text = readFileSync(DEFAULT_CONTRACT_PATH, 'utf8');
type Changed = TopicMap[typeof TOPICS.contractChanged];

function setup() {
  const store = new ContractStore(DEFAULT_CONTRACT_PATH, pino({ level: 'silent' }));
  const applier = new ContractChangeService(store, pino({ level: 'silent' }), 'test');
  const handle = (e: Changed) => (applier as unknown as { handlers(): Record<string, (e: unknown) => Promise<void>> }).handlers()[TOPICS.contractChanged](e);
  const running = store.current();
  /** The event a second admin's approval publishes, for `next` on top of the running version. */
  const approved = (next: string, over: Partial<Changed['data']> = {}): Changed => {
    const to = parseContract(next);
    return {
      id: `e-${to.version}`,
      type: TOPICS.contractChanged,
      version: 1,
      source: 'policy-engine',
      time: '2026-11-24T10:00:00.000Z',
      subject: 'operational-contract',
      correlationId: 'cr-1',
      causationId: null,
      actor: { id: 'grace', kind: 'human', roles: ['admin'], authMethod: 'bearer-token' },
      data: {
        fromVersion: running.version,
        toVersion: to.version,
        hash: to.hash,
        changeRequestId: 'cr-1',
        requestedBy: 'ada',
        approvedBy: 'grace',
        digest: changeDigest({ kind: 'contract', from: { version: running.version, hash: running.hash }, to: { version: to.version, hash: to.hash } }),
        contract: next,
        ...over,
      },
    };
  };
  return { store, handle, running, approved };
}

const bump = (version: string) => text.replace(/^version: .*$/m, `version: ${version}`);

describe('applying approved contract changes', () => {
  it('applies a change approved against the running version', async () => {
    const { store, handle, approved } = setup();
    await handle(approved(bump('2099.1.0')));
    expect(store.current().version).toBe('2099.1.0');
  });

  it('changes nothing for an event without the approval digest (as before change requests), or with another one', async () => {
    const { store, handle, approved, running } = setup();
    await handle(approved(bump('2099.1.0'), { digest: undefined }));
    await handle(approved(bump('2099.1.0'), { digest: 'e'.repeat(64) }));
    expect(store.current().version).toBe(running.version);
  });

  it('changes nothing when the requester is the approver, or the text is not the approved content', async () => {
    const { store, handle, approved, running } = setup();
    await handle(approved(bump('2099.1.0'), { approvedBy: 'ada' }));
    const other = approved(bump('2099.1.0'));
    await handle({ ...other, data: { ...other.data, contract: bump('2099.1.0').replace('limit: 100', 'limit: 1000') } });
    expect(store.current().version).toBe(running.version);
  });

  it('never rolls back: a replayed change against another base version is skipped', async () => {
    const { store, handle, approved } = setup();
    const first = approved(bump('2099.1.0'));
    await handle(first);
    const s2 = setup();
    // The next change, made on top of 2099.1.0.
    const second = s2.approved(bump('2099.2.0'));
    const from = { version: '2099.1.0', hash: store.current().hash };
    const digest = changeDigest({ kind: 'contract', from, to: { version: '2099.2.0', hash: second.data.hash } });
    const onTop = { ...second, data: { ...second.data, fromVersion: '2099.1.0', digest } };
    await handle(onTop);
    expect(store.current().version).toBe('2099.2.0');
    await handle(first); // replayed after a restart
    expect(store.current().version).toBe('2099.2.0');
  });
});
