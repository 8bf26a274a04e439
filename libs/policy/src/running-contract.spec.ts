import { readFileSync } from 'node:fs';
import { Proposal } from '@countersign/contracts';
import { changeDigest } from './change-control';
import { LoadedContract, parseContract } from './contract';
import { parameterRefusal } from './parameters';
import { RunningContract } from './running-contract';
import { PROJECT_CONTRACT } from './spec-fixtures';

// real: the project's contract, its parameter schemas and the digest; fake: nothing (the change events are built here).
const text = readFileSync(PROJECT_CONTRACT, 'utf8');
const tag = (tags: string[]) => ({ actionType: 'ticket.tag', target: 't-1', parameters: { tags } }) as unknown as Proposal;

describe('the running contract every service follows', () => {
  const setup = () => {
    const running = RunningContract.fromFile(PROJECT_CONTRACT);
    const from = running.current();
    // The next version allows one tag only.
    const nextText = text.replace(`version: ${from.version}`, 'version: 2099.1.0').replace('maxItems: 50', 'maxItems: 1');
    const next = parseContract(nextText);
    const digest = changeDigest({ kind: 'contract', from: { version: from.version, hash: from.hash }, to: { version: next.version, hash: next.hash } });
    const change = {
      fromVersion: from.version,
      toVersion: next.version,
      hash: next.hash,
      changeRequestId: 'CR-1',
      requestedBy: 'ada',
      approvedBy: 'grace',
      digest,
      contract: nextText,
    };
    return { running, from, change };
  };

  it('follows an approved change: parameters are then checked against the new version, and listeners hear of it', () => {
    const { running, change } = setup();
    const heard: LoadedContract[] = [];
    running.onChange((c) => heard.push(c));
    expect(parameterRefusal(running.compiledContract(), tag(['a', 'b']))).toBeUndefined();
    expect(running.apply(change)).toMatchObject({ kind: 'applied', contract: { version: '2099.1.0' } });
    expect(running.current().version).toBe('2099.1.0');
    expect(heard.map((c) => c.version)).toEqual(['2099.1.0']);
    expect(parameterRefusal(running.compiledContract(), tag(['a', 'b']))).toBe(
      'invalid parameters for ticket.tag: /parameters/tags (maxItems): must NOT have more than 1 items',
    );
  });

  it('skips a change made on another version (history replayed after a restart): never a rollback', () => {
    const { running, from, change } = setup();
    expect(running.apply({ ...change, fromVersion: 'some.other.version' })).toEqual({ kind: 'other-base' });
    expect(running.apply(change).kind).toBe('applied');
    // The same change again, replayed: its base is no longer the running version.
    expect(running.apply(change)).toEqual({ kind: 'other-base' });
    expect(running.current().version).toBe('2099.1.0');
    expect(from.version).not.toBe('2099.1.0');
  });

  it('refuses, with why, an unapproved change or a text that is not the approved contract, and keeps the running version', () => {
    const { running, from, change } = setup();
    const heard: LoadedContract[] = [];
    running.onChange((c) => heard.push(c));
    const refused = (over: Partial<typeof change>) => running.apply({ ...change, ...over });
    expect(refused({ digest: 'f'.repeat(64) })).toEqual({ kind: 'refused', reason: `it is not an approved change of ${from.version}` });
    expect(refused({ digest: undefined })).toEqual({ kind: 'refused', reason: `it is not an approved change of ${from.version}` });
    expect(refused({ approvedBy: 'ada' })).toEqual({ kind: 'refused', reason: `it is not an approved change of ${from.version}` });
    expect(refused({ contract: text })).toEqual({ kind: 'refused', reason: `its contract is not the approved 2099.1.0 (${change.hash})` });
    expect(refused({ contract: 'version: [' })).toMatchObject({
      kind: 'refused',
      reason: expect.stringMatching(/^its contract does not validate: change CR-1/),
    });
    expect(running.current().version).toBe(from.version);
    expect(heard).toEqual([]);
  });
});
