import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Proposal } from '@countersign/contracts';
import { changeDigest, parseContract } from '@countersign/policy';
import { parameterRefusal } from '@countersign/policy';
import { RunningContract } from './running-contract';

// real: the project's contract, its parameter schemas and checkParameters; fake: nothing (the change events are built here).
const path = join(__dirname, '../../../policy-engine/contract/countersign.contract.yaml');
const text = readFileSync(path, 'utf8');
const tag = (tags: string[]) => ({ actionType: 'ticket.tag', target: 't-1', parameters: { tags } }) as unknown as Proposal;

describe('the running contract the orchestrator checks parameters against', () => {
  const setup = () => {
    const running = new RunningContract(path, pino({ level: 'silent' }));
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

  it('follows an approved change: parameters are then checked against the new version', () => {
    const { running, change } = setup();
    expect(parameterRefusal(running.compiledContract(), tag(['a', 'b']))).toBeUndefined();
    expect(running.apply(change)).toBe(true);
    expect(running.current().version).toBe('2099.1.0');
    expect(parameterRefusal(running.compiledContract(), tag(['a', 'b']))).toBe(
      'invalid parameters for ticket.tag: /parameters/tags (maxItems): must NOT have more than 1 items',
    );
  });

  it('keeps the running version for a replayed older change, an unapproved one, or a text that is not the approved contract', () => {
    const { running, from, change } = setup();
    expect(running.apply({ ...change, fromVersion: 'some.other.version' })).toBe(false);
    expect(running.apply({ ...change, digest: 'f'.repeat(64) })).toBe(false);
    expect(running.apply({ ...change, digest: undefined })).toBe(false);
    expect(running.apply({ ...change, approvedBy: 'ada' })).toBe(false);
    expect(running.apply({ ...change, contract: text })).toBe(false);
    expect(running.apply({ ...change, contract: 'version: [' })).toBe(false);
    expect(running.current().version).toBe(from.version);
  });
});
