import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseContract } from './contract';
import { compileContract, evaluate } from './evaluate';
import { buildsSqlAtRunTime, COUNTERSIGN_TABLES, decodeSqlEscapes, normaliseName, protectedAssetOf } from './self-protection';
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

describe("Countersign's own tables, PostgreSQL's escapes and SQL built at run time (red team, 2026-12-05)", () => {
  const prohibited = (sql: string) =>
    expect(evaluate(compiled, write('table:pricing', sql), OK)).toMatchObject({
      lane: 'prohibited',
      decidedBy: 'prohibited-rule',
      rulesFired: expect.arrayContaining(['self-protection']),
    });

  it.each([
    "UPDATE review_items SET status='approved'",
    'DELETE FROM review_approvals',
    'TRUNCATE U&"audit\\005flog"',
    "DO $$ BEGIN EXECUTE 'TRUNCATE aud' || 'it_log'; END $$",
    'DELETE FROM policy_engine_decisions',
    "UPDATE policy_engine_change_requests SET state = 'approved'",
    'TRUNCATE orchestrator_idempotency_keys',
    'DELETE FROM public."ReviewItems"',
    'DELETE FROM canaries',
    'TRUNCATE TABLE U&"review!005fitems" UESCAPE \'!\'',
    'DROP TABLE U&"\\+000061udit_log"',
  ])('prohibits %s (it was reviewed)', (sql) => prohibited(sql));

  it('knows every table the migrations create, and the migration history of each service', () => {
    const root = join(__dirname, '../../..');
    const dirs = [
      ...readdirSync(join(root, 'apps')).map((app) => [app, join(root, 'apps', app, 'migrations')]),
      ['bus', join(root, 'libs/platform/bus/migrations')],
    ].filter(([, dir]) => existsSync(dir));
    expect(dirs.length).toBeGreaterThanOrEqual(6);
    const created = new Set<string>();
    for (const [service, dir] of dirs) {
      created.add(`${service.replace(/-/g, '_')}_migrations`);
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.sql'))) {
        const sql = readFileSync(join(dir, file), 'utf8');
        for (const m of sql.matchAll(
          /\bcreate\s+(?:(?:global\s+|local\s+)?(?:temp|temporary|unlogged)\s+)?table\s+(?:if\s+not\s+exists\s+)?(?:"?\w+"?\.)?"?(\w+)"?/gi,
        ))
          created.add(m[1].toLowerCase());
      }
    }
    expect(created).toContain('review_items');
    // A migration that creates a table missing from the list fails here: add it to COUNTERSIGN_TABLES.
    expect([...created].filter((t) => !COUNTERSIGN_TABLES.includes(t))).toEqual([]);
    for (const table of created) {
      expect(protectedAssetOf('table:pricing', { sql: `DELETE FROM ${table}` }, true)).toBeDefined();
      expect(protectedAssetOf(`table:${table}`, { sql: 'DELETE FROM x' }, true)).toBeDefined();
    }
  });

  it('decodes Unicode-escaped identifiers and strings and escape strings, once, as PostgreSQL does', () => {
    expect(decodeSqlEscapes('TRUNCATE U&"audit\\005flog"')).toBe('TRUNCATE audit_log');
    expect(decodeSqlEscapes('TRUNCATE u&"audit\\+00005flog"')).toBe('TRUNCATE audit_log');
    expect(decodeSqlEscapes('TRUNCATE U&"audit!005flog" UESCAPE \'!\'')).toBe('TRUNCATE audit_log');
    expect(decodeSqlEscapes("SELECT U&'a\\\\b'")).toBe('SELECT a\\b');
    expect(decodeSqlEscapes('SELECT U&"a""b"')).toBe('SELECT a"b');
    expect(decodeSqlEscapes("SELECT E'audit\\x5flog', E'\\141udit', E'\\u0061', E'it''s'")).toBe("SELECT audit_log, audit, a, it's");
    // Once: an escaped backslash does not start another escape.
    expect(decodeSqlEscapes('SELECT U&"\\005c0061"')).toBe('SELECT \\0061');
    expect(protectedAssetOf('table:pricing', { sql: "SELECT * FROM orders WHERE note = E'audit\\x5flog'" }, true)).toBe('audit store');
  });

  it.each([
    "DO $$ BEGIN EXECUTE 'TRUNCATE aud' || 'it_log'; END $$",
    "DO 'BEGIN PERFORM 1; END'",
    'DO LANGUAGE plpgsql $x$ BEGIN NULL; END $x$',
    "EXECUTE format('TRUNCATE %I', 'aud' || 'it_log')",
    "EXECUTE 'TRUNCATE ' || t",
    "EXECUTE ('TRUNCATE ' || t)",
    'EXECUTE stmt || suffix',
    "CREATE FUNCTION wipe(t text) RETURNS void AS $$ BEGIN EXECUTE 'TRUNCATE ' || t; END $$ LANGUAGE plpgsql",
    "SELECT dblink_exec('dbname=countersign', 'TRUNCATE x')",
    "SELECT query_to_xml('DELETE FROM x RETURNING 1', true, false, '')",
    "EXECUTE U&'TRUNCATE x'",
  ])('prohibits SQL that builds what it runs at run time: %s', (sql) => {
    expect(buildsSqlAtRunTime(sql)).toBe(true);
    expect(evaluate(compiled, write('table:pricing', sql), OK)).toMatchObject({
      lane: 'prohibited',
      rulesFired: expect.arrayContaining(['self-protection']),
      reasons: expect.arrayContaining([expect.stringContaining('SQL built at run time')]),
    });
  });

  it('leaves ordinary SQL and ordinary words alone', () => {
    for (const sql of [
      'UPDATE prices SET amount = amount * 0.9',
      'EXECUTE refresh_prices(1)',
      "UPDATE orders SET note = 'we do not ship on Sundays' WHERE id = 7",
      "UPDATE tickets SET status = 'review' WHERE id = 9",
    ]) {
      expect(buildsSqlAtRunTime(sql)).toBe(false);
      expect(protectedAssetOf('table:orders', { sql }, true)).toBeUndefined();
    }
    expect(protectedAssetOf('order-7', { amount: 5, currency: 'EUR', reason: 'please execute the refund: we do care' }, true)).toBeUndefined();
    // A one-word table name is a table only where SQL names one.
    expect(protectedAssetOf('ticket-1', { tags: ['canaries', 'yellow canaries'] }, true)).toBeUndefined();
    expect(protectedAssetOf('table:canaries', { sql: 'UPDATE x SET y = 1' }, true)).toBe('tables');
  });
});

describe('table names and SQL words in prose are no statement (2026-12-05)', () => {
  it('a refund reason that speaks of second reviews, or asks to "do \'this\' first", or a target named after a dashboard, is not aimed at our tables', () => {
    for (const reason of ['the customer asked for second reviews of the order', "please do 'this' first", 'execute the plan as agreed', 'card views were low'])
      expect(protectedAssetOf('order-7', { amount: 10, currency: 'EUR', reason }, true)).toBeUndefined();
    expect(protectedAssetOf('review-items-dashboard', {}, true)).toBeUndefined();
    // The same names in a statement, or as the whole target, are.
    expect(protectedAssetOf('orders-db', { sql: 'SELECT * FROM second_reviews' }, true)).toBe('tables');
    expect(protectedAssetOf('review_items', {}, true)).toBe('tables');
  });
});
