import { readFileSync } from 'node:fs';
import { Proposal } from '@countersign/contracts';
import { generateKey } from '@countersign/keys';
import { changeDigest } from './change-control';
import { signContractChange } from './change-signature';
import { contractRoles, LoadedContract, parseContract } from './contract';
import { parameterRefusal } from './parameters';
import { ApprovedContractChange, RunningContract } from './running-contract';
import { PROJECT_CONTRACT } from './spec-fixtures';

// real: the project's contract, its parameter schemas, the digest and the Ed25519 signature (keys made here); fake:
// nothing (the change events are built here).
const text = readFileSync(PROJECT_CONTRACT, 'utf8');
const tag = (tags: string[]) => ({ actionType: 'ticket.tag', target: 't-1', parameters: { tags } }) as unknown as Proposal;

const policyEngineKey = generateKey('contract-changes-test');
const keys = [policyEngineKey.verifyKey];

/**
 * The change a second admin's approval publishes, from `from` to the contract `toText`, signed by the policy engine:
 * the event's fields and the claims it signs.
 */
function approvedChange(from: LoadedContract, toText: string, o: { id: string; requestedBy: string; approvedBy: string; approvedAt: string }) {
  const to = parseContract(toText);
  const digest = changeDigest({ kind: 'contract', from: { version: from.version, hash: from.hash }, to: { version: to.version, hash: to.hash } });
  const claims = {
    changeRequestId: o.id,
    fromVersion: from.version,
    fromHash: from.hash,
    toVersion: to.version,
    toHash: to.hash,
    requestedBy: o.requestedBy,
    approvedBy: o.approvedBy,
    digest,
    approvedAt: o.approvedAt,
  };
  const change = {
    fromVersion: from.version,
    toVersion: to.version,
    hash: to.hash,
    changeRequestId: o.id,
    requestedBy: o.requestedBy,
    approvedBy: o.approvedBy,
    digest,
    contract: toText,
    signature: signContractChange([policyEngineKey.key], claims),
  };
  return { to, claims, change };
}

describe('the running contract every service follows', () => {
  const setup = () => {
    const running = RunningContract.fromFile(PROJECT_CONTRACT);
    const from = running.current();
    // The next version allows one tag only.
    const nextText = text.replace(`version: ${from.version}`, 'version: 2099.1.0').replace('maxItems: 50', 'maxItems: 1');
    const {
      to: next,
      claims,
      change,
    } = approvedChange(from, nextText, { id: 'CR-1', requestedBy: 'ada', approvedBy: 'grace', approvedAt: '2026-12-02T18:00:00.000Z' });
    return { running, from, next, nextText, claims, change };
  };

  it('follows an approved change: parameters are then checked against the new version, and listeners hear of it', () => {
    const { running, change } = setup();
    const heard: LoadedContract[] = [];
    running.onChange((c) => heard.push(c));
    expect(parameterRefusal(running.compiledContract(), tag(['a', 'b']))).toBeUndefined();
    expect(running.apply(change, keys)).toMatchObject({ kind: 'applied', contract: { version: '2099.1.0' } });
    expect(running.current().version).toBe('2099.1.0');
    expect(heard.map((c) => c.version)).toEqual(['2099.1.0']);
    expect(parameterRefusal(running.compiledContract(), tag(['a', 'b']))).toBe(
      'invalid parameters for ticket.tag: /parameters/tags (maxItems): must NOT have more than 1 items',
    );
  });

  it('skips a change made on another version (history replayed after a restart): never a rollback', () => {
    const { running, from, change } = setup();
    // Its base changed on the bus: the signature names another.
    expect(running.apply({ ...change, fromVersion: 'some.other.version' }, keys)).toEqual({
      kind: 'refused',
      reason: 'its signature is for another change (fromVersion)',
    });
    expect(running.apply(change, keys).kind).toBe('applied');
    // The same change again, replayed: its base is no longer the running version.
    expect(running.apply(change, keys)).toEqual({ kind: 'other-base' });
    expect(running.current().version).toBe('2099.1.0');
    expect(from.version).not.toBe('2099.1.0');
  });

  it('refuses, with why, an unapproved change or a text that is not the approved contract, and keeps the running version', () => {
    const { running, from, change } = setup();
    const heard: LoadedContract[] = [];
    running.onChange((c) => heard.push(c));
    const refused = (over: Partial<typeof change>) => running.apply({ ...change, ...over }, keys);
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

  it('applies no change that the policy engine did not sign as exactly this approval (red team: a forged change with its Kafka credential)', () => {
    const { running, from, change, claims } = setup();
    const other = generateKey('someone-else');
    const refusal = (c: ApprovedContractChange) => {
      const outcome = running.apply(c, keys);
      return outcome.kind === 'refused' ? outcome.reason : outcome.kind;
    };
    // A digest and four eyes anyone can compute and claim, but no signature, or one by another key, or a bad one.
    expect(refusal({ ...change, signature: undefined })).toBe('it is not signed as approved: it carries no signature');
    expect(refusal({ ...change, signature: signContractChange([other.key], claims) })).toBe(
      'it is not signed as approved: it is signed with an unknown key "someone-else"',
    );
    expect(refusal({ ...change, signature: `${change.signature!.slice(0, -4)}AAAA` })).toBe('it is not signed as approved: its signature does not verify');
    expect(refusal({ ...change, signature: 'ccs1.e30.AAAA' })).toBe('it is not signed as approved: it is signed with an unknown key undefined');
    // A genuine signature on another approval: another approver, requester or request id is not this change.
    expect(refusal({ ...change, approvedBy: 'mallory', signature: change.signature })).toBe('its signature is for another change (approvedBy)');
    expect(refusal({ ...change, changeRequestId: 'CR-2' })).toBe('its signature is for another change (changeRequestId)');
    // A service without verify keys applies nothing (fail closed), and says why.
    expect(running.apply(change, undefined)).toEqual({
      kind: 'refused',
      reason: 'this service has no contract-change verify keys (CONTRACT_VERIFY_KEYS_FILE): it applies no change',
    });
    // A key outside its window signed nothing that counts.
    const expired = generateKey('contract-changes-old', { notBefore: new Date('2020-01-01'), notAfter: new Date('2021-01-01') });
    expect(() => signContractChange([expired.key], claims)).toThrow(/no contract-change signing key is valid at 2026-12-02T18:00:00.000Z/);
    expect(running.current().version).toBe(from.version);
    expect(running.apply(change, keys).kind).toBe('applied');
  });

  it('applies no change dated before a genuine change read before it, and adopts none over another base under a retired key (trust probe and red team, 2026-12-05)', () => {
    const { running, change, next } = setup();
    expect(running.apply(change, keys).kind).toBe('applied');
    // A key retired since (or leaked from a backup) signs a change on the running version, dated back into its window.
    const retired = generateKey('contract-changes-2025', { notBefore: new Date('2025-01-01'), notAfter: new Date('2025-07-01') });
    const withRetired = [...keys, retired.verifyKey];
    const backdated = approvedChange(next, text.replace(/^version: .*$/m, 'version: 2099.2.0'), {
      id: 'CR-9',
      requestedBy: 'mallory',
      approvedBy: 'mallory2',
      approvedAt: '2025-03-01T00:00:00.000Z',
    });
    const signedByRetired = { ...backdated.change, signature: signContractChange([retired.key], backdated.claims) };
    expect(running.apply(signedByRetired, withRetired)).toEqual({
      kind: 'refused',
      reason: 'it was approved at 2025-03-01T00:00:00.000Z, before a change approved earlier on the topic (at 2026-12-02T18:00:00.000Z)',
    });
    expect(running.current().version).toBe('2099.1.0');
    // Approved after the changes before it, by a key valid then: applied.
    const genuine = { ...backdated.claims, approvedAt: '2026-12-02T18:10:00.000Z' };
    expect(running.apply({ ...backdated.change, signature: signContractChange([policyEngineKey.key], genuine) }, keys).kind).toBe('applied');

    // The file's contract runs (nothing approved read yet), and a retired key signs a change "made" on another base,
    // to a version above everything: not adopted (the red team's script installed version 9999 this way).
    const fresh = RunningContract.fromFile(PROJECT_CONTRACT);
    const forged = approvedChange(parseContract(text.replace(/^version: .*$/m, 'version: 1.0.0')), text.replace(/^version: .*$/m, 'version: 9999.1.0'), {
      id: 'CR-X',
      requestedBy: 'mallory',
      approvedBy: 'mallory2',
      approvedAt: '2025-03-01T00:00:00.000Z',
    });
    expect(fresh.apply({ ...forged.change, signature: signContractChange([retired.key], forged.claims) }, withRetired)).toEqual({
      kind: 'refused',
      reason: `it was made on 1.0.0, not the running ${fresh.current().version}, and its key contract-changes-2025 is not valid now: request it again on ${fresh.current().version}`,
    });
    // History passed over moves the newest approval time too: a change dated before it is refused, on its base or not.
    const history = RunningContract.fromFile(PROJECT_CONTRACT);
    const older = approvedChange(parseContract(text.replace(/^version: .*$/m, 'version: 1.0.0')), text.replace(/^version: .*$/m, 'version: 1.0.1'), {
      id: 'CR-OLD',
      requestedBy: 'ada',
      approvedBy: 'grace',
      approvedAt: '2026-12-03T00:00:00.000Z',
    });
    expect(history.apply(older.change, keys)).toEqual({ kind: 'other-base' });
    const onFile = approvedChange(history.current(), text.replace(/^version: .*$/m, 'version: 2099.3.0'), {
      id: 'CR-B',
      requestedBy: 'mallory',
      approvedBy: 'mallory2',
      approvedAt: '2025-03-01T00:00:00.000Z',
    });
    expect(history.apply({ ...onFile.change, signature: signContractChange([retired.key], onFile.claims) }, withRetired)).toMatchObject({
      kind: 'refused',
      reason: expect.stringContaining('before a change approved earlier on the topic (at 2026-12-03T00:00:00.000Z)'),
    });
  });

  it('runs a newer approved contract made on a base it never ran (an upgrade shipped another file), and says over which (upgrade probe, 2026-12-05)', () => {
    // Approved on the project's contract, as the deployment ran it before the upgrade.
    const { change } = setup();
    // The upgrade ships a file of its own, newer than the project's but older than the approved change.
    const shipped = text.replace(/^version: .*$/m, 'version: 2098.1.0').replace('maxItems: 50', 'maxItems: 40');
    const upgraded = new RunningContract(parseContract(shipped, 'shipped.yaml'));
    expect(upgraded.apply(change, keys)).toMatchObject({ kind: 'applied', contract: { version: '2099.1.0' }, over: '2098.1.0' });
    expect(parameterRefusal(upgraded.compiledContract(), tag(['a', 'b']))).toBe(
      'invalid parameters for ticket.tag: /parameters/tags (maxItems): must NOT have more than 1 items',
    );
    // Replayed again: history.
    expect(upgraded.apply(change, keys)).toEqual({ kind: 'other-base' });
    // A file newer than the change: the change is history, the file runs.
    const newer = new RunningContract(parseContract(text.replace(/^version: .*$/m, 'version: 2100.1.0'), 'newer.yaml'));
    expect(newer.apply(change, keys)).toEqual({ kind: 'other-base' });
    expect(newer.current().version).toBe('2100.1.0');
    // Off its base, nothing is taken on trust: a forged text, an unsigned or self-approved change is refused.
    const fresh = () => new RunningContract(parseContract(shipped, 'shipped.yaml'));
    expect(fresh().apply({ ...change, contract: text }, keys)).toEqual({
      kind: 'refused',
      reason: `its contract is not the approved 2099.1.0 (${change.hash})`,
    });
    expect(fresh().apply({ ...change, signature: undefined }, keys)).toEqual({
      kind: 'refused',
      reason: 'it is not signed as approved: it carries no signature',
    });
    expect(fresh().apply({ ...change, approvedBy: 'ada' }, keys)).toMatchObject({ kind: 'refused' });
    expect(fresh().apply({ ...change, digest: 'f'.repeat(64) }, keys)).toMatchObject({ kind: 'refused' });
  });

  it('applies each approved change once: replayed after a rollback to its base, it is refused', () => {
    const { running, from, change, next, nextText } = setup();
    expect(running.apply(change, keys).kind).toBe('applied');
    // An approved change back to the first version (its own request), then the first change replayed.
    const { change: rollback } = approvedChange(next, readFileSync(PROJECT_CONTRACT, 'utf8'), {
      id: 'CR-3',
      requestedBy: 'grace',
      approvedBy: 'ada',
      approvedAt: '2026-12-02T18:05:00.000Z',
    });
    expect(running.apply(rollback, keys).kind).toBe('applied');
    expect(running.current().version).toBe(from.version);
    expect(running.apply(change, keys)).toEqual({ kind: 'refused', reason: 'change CR-1 was applied before: a replay' });
    expect(running.current().version).toBe(from.version);
    expect(nextText).toContain('version: 2099.1.0');
  });
});

describe('the roles a contract routes reviews to (a tokens file role outside them and the platform grants nothing)', () => {
  it('names every required role, fallback team and escalation tier of the shipped contract, once each', () => {
    expect(contractRoles(RunningContract.fromFile(PROJECT_CONTRACT).current())).toEqual([
      'finance',
      'finance-lead',
      'marketing-on-call',
      'review-lead',
      'reviewer',
      'security',
      'security-lead',
    ]);
  });

  it("takes a rule's review and a fallback team as roles too", () => {
    const review = (requiredRoles: string[], whenUnavailable: 'fail-closed' | { fallback: string }) => ({
      slaClass: 'normal',
      requiredRoles,
      quorum: 1,
      whenUnavailable,
    });
    const actions = { 'x.y': { review: review(['ops'], { fallback: 'ops-night' }) } } as never;
    const rules = [{ review: review(['legal'], 'fail-closed') }] as never;
    expect(contractRoles({ actions, rules })).toEqual(['legal', 'ops', 'ops-night']);
  });
});
