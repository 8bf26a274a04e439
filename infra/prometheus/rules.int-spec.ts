import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

// real: Debian's promtool 2.42 (installed by infra/stack.sh), checking and unit-testing infra/prometheus/rules.yml; fake: nothing.
// promtool test rules evaluates days of series each second of rule time: 5 s alone, several times that on a busy machine.
jest.setTimeout(180_000);

const dir = __dirname;
const promtool = (...args: string[]) => spawnSync('promtool', args, { cwd: dir, encoding: 'utf8', timeout: 120_000 });
const rulesText = readFileSync(join(dir, 'rules.yml'), 'utf8');

/** A scratch copy of rules.yml (changed by `edit`) with the unit tests beside it: all of them, or only those of `alert`. */
function scratch(edit: (rules: string) => string, alert?: string): string {
  const where = mkdtempSync(join(tmpdir(), 'rules-'));
  const changed = edit(rulesText);
  expect(changed).not.toBe(rulesText);
  writeFileSync(join(where, 'rules.yml'), changed);
  if (alert) writeFileSync(join(where, 'rules.test.yml'), testsOf(alert));
  else copyFileSync(join(dir, 'rules.test.yml'), join(where, 'rules.test.yml'));
  return where;
}

/**
 * rules.test.yml with only the tests that check `alert`. promtool runs every test of a file, and the whole file costs
 * 13–20 s of CPU: a moved threshold is shown failing its own test without evaluating the other thirty again.
 */
function testsOf(alert: string): string {
  const file = parse(readFileSync(join(dir, 'rules.test.yml'), 'utf8')) as { tests: Array<{ alert_rule_test?: Array<{ alertname: string }> }> };
  const tests = file.tests.filter((t) => t.alert_rule_test?.some((a) => a.alertname === alert));
  expect(tests.length).toBeGreaterThan(0);
  expect(tests.length).toBeLessThan(file.tests.length);
  return stringify({ ...file, tests });
}

describe('promtool on the alerting rules', () => {
  const made: string[] = [];
  afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('check rules: every rule is valid', () => {
    const run = promtool('check', 'rules', 'rules.yml');
    expect(run.error).toBeUndefined();
    expect(run.stderr).toBe('');
    const rules = (rulesText.match(/^\s+- (alert|record): /gm) ?? []).length;
    expect(run.stdout).toContain(`SUCCESS: ${rules} rules found`);
    expect(run.status).toBe(0);
  });

  it('check rules refuses a broken rules file (so the check above can fail)', () => {
    const where = scratch((r) => r.replace('expr: max(countersign_degradation_mode) > 0', 'expr: max(countersign_degradation_mode > 0'));
    made.push(where);
    const run = promtool('check', 'rules', join(where, 'rules.yml'));
    expect(run.status).not.toBe(0);
    expect(run.stdout + run.stderr).toMatch(/FAILED|parse error/);
  });

  it('test rules: every alert fires and stays quiet where rules.test.yml says', () => {
    const run = promtool('test', 'rules', 'rules.test.yml');
    expect(run.stdout + run.stderr).toContain('SUCCESS');
    expect(run.status).toBe(0);
  });

  it('test rules fails when a rule no longer does what its unit test says (a threshold moved)', () => {
    const where = scratch(
      (r) => r.replace('max by (group, topic) (countersign_kafka_consumer_lag) > 1000', 'max by (group, topic) (countersign_kafka_consumer_lag) > 5000'),
      'CountersignConsumerLagHigh',
    );
    made.push(where);
    const run = promtool('test', 'rules', join(where, 'rules.test.yml'));
    expect(run.status).not.toBe(0);
    expect(run.stdout + run.stderr).toContain('alertname: CountersignConsumerLagHigh');
    // The same tests pass against the rules as they are: the moved threshold, not the selection, made them fail.
    writeFileSync(join(where, 'rules.yml'), rulesText);
    expect(promtool('test', 'rules', join(where, 'rules.test.yml')).status).toBe(0);
  });
});
