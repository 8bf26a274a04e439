import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { acceptContractChange, controlChanges, ApprovableChange, approvalRefusal, changeDigest, compareVersions } from './change-control';
import { loadContractFile, parseContract } from './contract';

const CONTRACT = join(__dirname, '../../../apps/policy-engine/contract/countersign.contract.yaml');
const contract = loadContractFile(CONTRACT);
const text = readFileSync(CONTRACT, 'utf8');
const bump = (to: string) => text.replace(`version: ${contract.version}`, `version: '${to}'`);

describe('contract change: the candidate', () => {
  it('accepts a valid new version, without any word on who approved it', () => {
    expect(acceptContractChange(contract, bump('2099.1.0'), 'next.yaml')).toMatchObject({ ok: true, contract: { version: '2099.1.0' } });
  });

  it('refuses an invalid contract, the running one again, and new content under the running version', () => {
    expect(acceptContractChange(contract, 'version: [', 'x.yaml')).toMatchObject({ ok: false, reason: expect.stringMatching(/invalid, keeping /) });
    expect(acceptContractChange(contract, text, 'x.yaml')).toMatchObject({ ok: false, reason: expect.stringMatching(/is the running one/) });
    const sameVersion = acceptContractChange(contract, text.replace('limit: 100', 'limit: 99'), 'x.yaml');
    expect(sameVersion).toMatchObject({ ok: false, reason: expect.stringMatching(/keeps version/) });
  });

  it('refuses a version not above the running one: a version names one content (an earlier label reused, or a lower one)', () => {
    for (const lower of ['2026.11.1', '2026.12.0', '2025.12.9', '2026.12'])
      expect(acceptContractChange(contract, bump(lower), 'x.yaml')).toMatchObject({
        ok: false,
        reason: `the new contract's version ${lower} is not above the running ${contract.version}: versions only go up`,
      });
    // The next version of the running one's last part (the running version moves with every contract change).
    const next = contract.version.replace(/\d+$/, (last) => String(Number(last) + 1));
    for (const higher of [next, '2027.1.0', `${contract.version}.1`])
      expect(acceptContractChange(contract, bump(higher), 'x.yaml')).toMatchObject({ ok: true });
  });

  it('orders versions part by part, numbers as numbers', () => {
    expect(compareVersions('2026.12.10', '2026.12.9')).toBe(1);
    expect(compareVersions('2026.12.1', '2026.12.1')).toBe(0);
    expect(compareVersions('2026.12', '2026.12.1')).toBe(-1);
    expect(compareVersions('2', '10')).toBe(-1);
    expect(compareVersions('v2', 'v10')).toBe(1); // not numbers: as text
  });

  it('is a total order, so a version cannot come back round with other content (10 < 1a < 9 < 10 did)', () => {
    expect(compareVersions('2026.12.1a', '2026.12.10')).toBe(1);
    expect(compareVersions('2026.12.9', '2026.12.1a')).toBe(-1);
    expect(compareVersions('2026.12.5', '2026.12.1a')).toBe(-1);
    const parts = fc.oneof(fc.nat(30).map(String), fc.stringMatching(/^[0-9a-z]{1,3}$/));
    const version = fc.array(parts, { minLength: 1, maxLength: 4 }).map((p) => p.join('.'));
    fc.assert(
      fc.property(version, version, version, (a, b, c) => {
        expect(Math.sign(compareVersions(a, b))).toBe(-Math.sign(compareVersions(b, a)) || 0);
        if (compareVersions(a, b) < 0 && compareVersions(b, c) < 0) expect(compareVersions(a, c)).toBe(-1);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('contract change: the digest', () => {
  const from = { version: '1', hash: 'sha256:a' };
  const to = { version: '2', hash: 'sha256:b' };

  it('names the step exactly: another candidate or another base is another digest', () => {
    const d = changeDigest({ kind: 'contract', from, to });
    expect(d).toMatch(/^[0-9a-f]{64}$/);
    expect(changeDigest({ kind: 'contract', from: { ...from }, to: { ...to } })).toBe(d);
    expect(changeDigest({ kind: 'contract', from, to: { ...to, hash: 'sha256:c' } })).not.toBe(d);
    expect(changeDigest({ kind: 'contract', from: { ...from, hash: 'sha256:z' }, to })).not.toBe(d);
    expect(changeDigest({ kind: 'contract', from: { ...from, version: '1.1' }, to })).not.toBe(d);
  });
});

describe('contract change: who may approve', () => {
  const now = new Date('2026-11-24T10:00:00.000Z');
  const change: ApprovableChange = { id: 'cr-1', requestedBy: 'ada', digest: 'd'.repeat(64), status: 'pending', expiresAt: '2026-11-25T10:00:00.000Z' };

  it('lets another principal approve the digest they were shown, before the request expires', () => {
    expect(approvalRefusal(change, 'grace', change.digest, now)).toBeUndefined();
  });

  it('never lets the requester approve, whatever digest they send', () => {
    expect(approvalRefusal(change, 'ada', change.digest, now)).toMatchObject({ code: 'own-request' });
    expect(approvalRefusal(change, 'ada', 'e'.repeat(64), now)).toMatchObject({ code: 'own-request' });
  });

  it('refuses another digest, a decided request, and an expired one', () => {
    expect(approvalRefusal(change, 'grace', 'e'.repeat(64), now)).toMatchObject({ code: 'digest-mismatch' });
    expect(approvalRefusal({ ...change, status: 'rejected' }, 'grace', change.digest, now)).toMatchObject({ code: 'not-pending' });
    expect(approvalRefusal(change, 'grace', change.digest, new Date('2026-11-25T10:00:00.000Z'))).toMatchObject({ code: 'expired' });
  });
});

describe('controlChanges: the controls a change removes, adds or changes (config probe, 2026-12-05)', () => {
  it('names sections removed or added whole, entries by id in listed sections, by key in the others', () => {
    const before = parseContract(text, 'a.yaml');
    const after = {
      ...before,
      guardrails: undefined,
      degradation: undefined,
      prohibited: [...(before.prohibited ?? []).slice(1), { id: 'new-one', reason: 'r' }],
      actions: { ...before.actions, 'support.refund': { ...before.actions['support.refund'], reason: 'another reason' } },
    };
    const lines = controlChanges(before, JSON.parse(JSON.stringify(after)));
    expect(lines).toEqual([
      '  control changed: actions support.refund',
      expect.stringMatching(/^ {2}control removed: the whole degradation section \(/),
      expect.stringMatching(/^ {2}control removed: the whole guardrails section \(regulatedDataInOutboundText, cardDataInParameters\)$/),
      `  control removed: prohibited ${before.prohibited![0].id}`,
      '  control added: prohibited new-one',
    ]);
    // Nothing but the version: no control changes.
    expect(controlChanges(before, parseContract(bump('2099.1.0'), 'b.yaml'))).toEqual([]);
  });
});
