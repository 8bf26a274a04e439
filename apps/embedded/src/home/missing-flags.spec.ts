import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingKillSwitches, warnMissingKillSwitches } from './missing-flags';

// real: the file system (a temporary folder); fake: the logger (records its warnings).
describe('kill switches missing from an existing home’s flag file', () => {
  const flagFile = (features: unknown[]) => {
    const file = join(mkdtempSync(join(tmpdir(), 'missing-flags-')), 'flags.json');
    writeFileSync(file, JSON.stringify({ features }));
    return file;
  };
  const types = ['support.refund', 'billing.credit_note'];

  it('names each contract action type with no kill switch, whatever the switch’s state', () => {
    const file = flagFile([
      { name: 'countersign.exec.support.refund', enabled: false },
      { name: 'countersign.autonomy.default', enabled: true },
    ]);
    expect(missingKillSwitches(file, types, 'countersign.exec.')).toEqual(['billing.credit_note']);
  });

  it('warns once per missing type, saying how to switch it on', () => {
    const file = flagFile([{ name: 'countersign.exec.support.refund', enabled: true }]);
    const warnings: Array<{ fields: object; message: string }> = [];
    warnMissingKillSwitches(file, types, 'countersign.exec.', { warn: (fields, message) => warnings.push({ fields, message }) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0].fields).toEqual({ actionType: 'billing.credit_note', flag: 'countersign.exec.billing.credit_note', file });
    expect(warnings[0].message).toMatch(/^billing\.credit_note has no kill switch .* does not execute: switch it on with a raise request/);
    expect(warnings[0].message).toContain('/v1/autonomy/billing.credit_note/raise-requests');
  });

  it('says nothing when every type has one, or when the file is missing or unreadable (the flag reader reports that)', () => {
    const all = flagFile(types.map((t) => ({ name: `countersign.exec.${t}`, enabled: true })));
    expect(missingKillSwitches(all, types, 'countersign.exec.')).toEqual([]);
    const broken = join(mkdtempSync(join(tmpdir(), 'missing-flags-')), 'flags.json');
    expect(missingKillSwitches(broken, types, 'countersign.exec.')).toEqual([]);
    writeFileSync(broken, '{ not json');
    expect(missingKillSwitches(broken, types, 'countersign.exec.')).toEqual([]);
  });
});
