import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { generateKey } from '@countersign/keys';
import { changeDigest, parseContract, RunningContract, signContractChange } from '@countersign/policy';
import { ContractChangesConsumer } from './contract-changes';

// real: the running contract on the project's contract, the consumer's handler, pino (into an array); fake: nothing
// (events are handed to the handler).
const CONTRACT = join(__dirname, '../../../../apps/policy-engine/contract/countersign.contract.yaml');
const text = readFileSync(CONTRACT, 'utf8');
type Changed = TopicMap[typeof TOPICS.contractChanged];

// The policy engine's contract-change key; the consumer verifies with its public half.
const changeKey = generateKey('contract-changes-test');

/** What the policy engine signs of a change made on top of `fromHash`. */
const claimsOf = (data: Changed['data'], fromHash: string) => ({
  changeRequestId: data.changeRequestId,
  fromVersion: data.fromVersion,
  fromHash,
  toVersion: data.toVersion,
  toHash: data.hash,
  requestedBy: data.requestedBy,
  approvedBy: data.approvedBy,
  digest: data.digest ?? '',
  approvedAt: '2026-11-24T10:00:00.000Z',
});
/** The policy engine's signature over what `data` says. */
const signed = (data: Changed['data'], fromHash: string) => signContractChange([changeKey.key], claimsOf(data, fromHash));

function setup() {
  const store = RunningContract.fromFile(CONTRACT);
  const logs: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const applier = new ContractChangesConsumer(store, logger, 'test', [changeKey.verifyKey]);
  const handle = (e: Changed) => (applier as unknown as { handlers(): Record<string, (e: unknown) => Promise<void>> }).handlers()[TOPICS.contractChanged](e);
  const running = store.current();
  /** The event a second admin's approval publishes, for `next` on top of the running version. */
  const approved = (next: string, over: Partial<Changed['data']> = {}): Changed => {
    const to = parseContract(next);
    const data: Changed['data'] = {
      fromVersion: running.version,
      toVersion: to.version,
      hash: to.hash,
      changeRequestId: 'cr-1',
      requestedBy: 'ada',
      approvedBy: 'grace',
      digest: changeDigest({ kind: 'contract', from: { version: running.version, hash: running.hash }, to: { version: to.version, hash: to.hash } }),
      contract: next,
      ...over,
    };
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
      data: { ...data, signature: 'signature' in over ? over.signature : signed(data, running.hash) },
    };
  };
  return { store, handle, running, approved, logs };
}

const bump = (version: string) => text.replace(/^version: .*$/m, `version: ${version}`);

describe('following approved contract changes (every service that works with the contract)', () => {
  it('applies a change approved against the running version', async () => {
    const { store, handle, approved, logs } = setup();
    await handle(approved(bump('2099.1.0')));
    expect(store.current().version).toBe('2099.1.0');
    expect(logs).toEqual([expect.objectContaining({ level: 30, msg: 'operational contract replaced', contractVersion: '2099.1.0' })]);
  });

  it('changes nothing for an event without the approval digest (as before change requests), or with another one', async () => {
    const { store, handle, approved, running, logs } = setup();
    await handle(approved(bump('2099.1.0'), { digest: undefined }));
    await handle(approved(bump('2099.1.0'), { digest: 'e'.repeat(64) }));
    expect(store.current().version).toBe(running.version);
    // Refused and said so, as an error: someone published a change nobody approved.
    const refused = `refused contract change cr-1: it is not an approved change of ${running.version}; keeping ${running.version}`;
    expect(logs).toEqual([expect.objectContaining({ level: 50, msg: refused }), expect.objectContaining({ level: 50, msg: refused })]);
  });

  it('changes nothing when the requester is the approver, or the text is not the approved content', async () => {
    const { store, handle, approved, running } = setup();
    await handle(approved(bump('2099.1.0'), { approvedBy: 'ada' }));
    const other = approved(bump('2099.1.0'));
    await handle({ ...other, data: { ...other.data, contract: bump('2099.1.0').replace('limit: 100', 'limit: 1000') } });
    expect(store.current().version).toBe(running.version);
  });

  it('never rolls back: a replayed change against another base version is skipped', async () => {
    const { store, handle, approved, logs } = setup();
    const first = approved(bump('2099.1.0'));
    await handle(first);
    const s2 = setup();
    // The next change, made on top of 2099.1.0.
    const second = s2.approved(bump('2099.2.0'));
    const from = { version: '2099.1.0', hash: store.current().hash };
    const digest = changeDigest({ kind: 'contract', from, to: { version: '2099.2.0', hash: second.data.hash } });
    const onTopData = { ...second.data, fromVersion: '2099.1.0', changeRequestId: 'cr-2', digest };
    const onTop = { ...second, data: { ...onTopData, signature: signed(onTopData, from.hash) } };
    await handle(onTop);
    expect(store.current().version).toBe('2099.2.0');
    const logged = logs.length;
    await handle(first); // replayed after a restart
    expect(store.current().version).toBe('2099.2.0');
    // History, not an incident: nothing logged.
    expect(logs.length).toBe(logged);
  });

  it('after an upgrade that shipped another contract file, runs the newer approved contract and says over which; an older one it says is not in force (upgrade probe, 2026-12-05)', async () => {
    const { approved } = setup();
    const change = approved(bump('2099.1.0'));
    const after = (file: string) => {
      const store = new RunningContract(parseContract(bump(file), 'shipped.yaml'));
      const logs: Array<{ level: number; msg: string; alert?: string }> = [];
      const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
      const applier = new ContractChangesConsumer(store, logger, 'test', [changeKey.verifyKey]);
      const handle = (e: Changed) =>
        (applier as unknown as { handlers(): Record<string, (e: unknown) => Promise<void>> }).handlers()[TOPICS.contractChanged](e);
      return { store, logs, handle };
    };
    const older = after('2098.1.0');
    await older.handle(change);
    expect(older.store.current().version).toBe('2099.1.0');
    expect(older.logs).toEqual([
      expect.objectContaining({
        level: 40,
        alert: 'contract-file-superseded',
        msg: `running approved contract 2099.1.0 (change cr-1, made on ${change.data.fromVersion}) over this version's contract file 2098.1.0: what the file changed since ${change.data.fromVersion} is not in force; request it as a change of 2099.1.0`,
      }),
    ]);
    const newer = after('2100.1.0');
    await newer.handle(change);
    expect(newer.store.current().version).toBe('2100.1.0');
    expect(newer.logs).toEqual([
      expect.objectContaining({
        level: 40,
        alert: 'contract-change-superseded',
        msg: `approved contract change cr-1 (${change.data.fromVersion} to 2099.1.0) is not in force: the running contract 2100.1.0 is newer; if it lacks what the change did, request it again`,
      }),
    ]);
  });

  it('changes nothing for a change the policy engine did not sign, and raises an alert (red team: a forged change with its Kafka credential)', async () => {
    const { store, handle, approved, running, logs } = setup();
    await handle(approved(bump('2099.1.0'), { signature: undefined }));
    await handle(
      approved(bump('2099.1.0'), {
        signature: signContractChange([generateKey('mallory').key], { ...claimsOf(approved(bump('2099.1.0')).data, running.hash) }),
      }),
    );
    expect(store.current().version).toBe(running.version);
    expect(logs).toEqual([
      expect.objectContaining({
        level: 50,
        alert: 'contract-change-refused',
        msg: `refused contract change cr-1: it is not signed as approved: it carries no signature; keeping ${running.version}`,
      }),
      expect.objectContaining({
        level: 50,
        alert: 'contract-change-refused',
        msg: `refused contract change cr-1: it is not signed as approved: it is signed with an unknown key "mallory"; keeping ${running.version}`,
      }),
    ]);
  });
});
