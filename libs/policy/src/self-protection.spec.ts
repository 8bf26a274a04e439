import { readFileSync } from 'node:fs';
import { parseContract } from './contract';
import { compileContract, evaluate } from './evaluate';
import { normaliseName, protectedAssetOf } from './self-protection';
import { compiledProjectContract, OPEN_INPUTS, PROJECT_CONTRACT, proposalOf } from './spec-fixtures';

// real: the project's contract, evaluate and the self-protection matcher; fake: nothing.
const CONTRACT = PROJECT_CONTRACT;
const compiled = compiledProjectContract;
const OK = OPEN_INPUTS;
const write = (target: string, sql = 'UPDATE prices SET amount = amount * 0.9') =>
  proposalOf(
    'data.write_production',
    { sql },
    { target, confidence: 0.99, proposer: { agentId: 'ops-agent', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'ops-v5' } },
  );

describe('built-in self-protection', () => {
  it.each([
    'audit_log',
    'table:AUDIT_LOG',
    'public."Audit-Log"',
    'auditLogs',
    'audit%5Flog',
    'ａｕｄｉｔ_log',
    'audit\u200b_log',
    'countersign.exec.support.refund',
    'countersign:keys',
    'redis:countersign',
  ])('prohibits a production write aimed at %s', (target) => {
    expect(evaluate(compiled, write(target), OK)).toMatchObject({
      lane: 'prohibited',
      decidedBy: 'prohibited-rule',
      rulesFired: expect.arrayContaining(['self-protection']),
    });
  });

  it('reads the parameters too: SQL naming the audit entries, the flags or the signing keys', () => {
    for (const sql of [
      'DELETE FROM audit_entries WHERE index > 10',
      "UPDATE flags SET enabled = false WHERE name = 'countersign.exec.support.refund'",
      'DROP TABLE countersign_signing_keys',
    ]) {
      expect(evaluate(compiled, write('table:pricing', sql), OK)).toMatchObject({
        lane: 'prohibited',
        rulesFired: expect.arrayContaining(['self-protection']),
      });
    }
  });

  it.each([
    ['/work/main/.countersign/embedded/flags.json', 'Countersign itself'],
    ['/work/main/.countersign/embedded/tokens/admin', 'Countersign itself'],
    ['C:\\Users\\ops\\.countersign\\embedded\\keys\\review-data.key', 'Countersign itself'],
    ['%2Fsrv%2Fcountersign%2Fdata', 'Countersign itself'],
    ['/tmp/probe/home/flags.json', 'flags'],
    ['/tmp/probe/home/tokens.json', 'tokens'],
    ['/tmp/probe/home/tokens/admin2', 'tokens'],
    ['/srv/cs/keys/decisions.key', 'keys'],
    ['/srv/cs/keys/review-data.key', 'keys'],
  ])("an export's destination at Countersign's own files (%s) is prohibited, wherever its home is", (destination, asset) => {
    // Red team (2026-12-04): a directory between `.countersign` and the file's name, or a home elsewhere, ran on its own.
    expect(protectedAssetOf('report-1', { fields: ['orders'], destination }, true)).toBe(asset);
    expect(evaluate(compiled, proposalOf('data.export', { fields: ['orders'], destination }, { target: 'report-1' }), OK)).toMatchObject({
      lane: 'prohibited',
      rulesFired: expect.arrayContaining(['self-protection']),
    });
  });

  it('leaves a destination that only mentions countersign in a name alone', () => {
    for (const destination of ['s3://countersign-internal/weekly', 'internal-dashboard', 'https://example.com/countersigned/report.csv'])
      expect(protectedAssetOf('report-1', { fields: ['orders'], destination }, true)).toBeUndefined();
  });

  it('no contract can lift it: not even one that makes production writes autonomous', () => {
    const text = readFileSync(CONTRACT, 'utf8').replace(
      'blastRadius: global, lane: review,\n      reason: production data change,',
      'blastRadius: global, lane: autonomous,\n      reason: production data change,',
    );
    const loose = compileContract(parseContract(text, 'loose.yaml'));
    expect(evaluate(loose, write('table:pricing'), OK).lane).toBe('autonomous');
    expect(evaluate(loose, write('audit_log'), OK)).toMatchObject({ lane: 'prohibited', decidedBy: 'prohibited-rule' });
  });

  it('leaves ordinary targets alone, and does not read a reply to a person as a system name', () => {
    expect(evaluate(compiled, write('table:pricing'), OK).rulesFired).not.toContain('self-protection');
    expect(protectedAssetOf('table:auditoriums', { sql: 'UPDATE keynotes SET head_count = 3' }, true)).toBeUndefined();
    expect(protectedAssetOf('ticket-1', { body: 'Our audit log shows the refund.' }, false)).toBeUndefined();
    expect(protectedAssetOf('ticket-1', { body: 'Our audit log shows the refund.' }, true)).toBe('audit store');
  });

  it('normalises case, separators, camelCase, width and invisible characters', () => {
    expect(normaliseName('Public.AuditLog')).toBe('_public_audit_log_');
    expect(normaliseName('ＡＵＤＩＴ－ＬＯＧ')).toBe('_audit_log_');
  });
});
