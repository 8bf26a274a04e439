import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// real: Debian's promtool 2.42 (installed by infra/stack.sh), checking and unit-testing infra/prometheus/rules.yml; fake: nothing.
// promtool test rules evaluates days of series each second of rule time: 5 s alone, several times that on a busy machine.
jest.setTimeout(180_000);

const dir = __dirname;
const promtool = (...args: string[]) => spawnSync('promtool', args, { cwd: dir, encoding: 'utf8', timeout: 120_000 });
const rulesText = readFileSync(join(dir, 'rules.yml'), 'utf8');

/** A scratch copy of rules.yml (changed by `edit`) with the unit tests beside it. */
function scratch(edit: (rules: string) => string): string {
  const where = mkdtempSync(join(tmpdir(), 'rules-'));
  const changed = edit(rulesText);
  expect(changed).not.toBe(rulesText);
  writeFileSync(join(where, 'rules.yml'), changed);
  copyFileSync(join(dir, 'rules.test.yml'), join(where, 'rules.test.yml'));
  return where;
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
    const where = scratch((r) =>
      r.replace('max by (group, topic) (countersign_kafka_consumer_lag) > 1000', 'max by (group, topic) (countersign_kafka_consumer_lag) > 5000'),
    );
    made.push(where);
    const run = promtool('test', 'rules', join(where, 'rules.test.yml'));
    expect(run.status).not.toBe(0);
    expect(run.stdout + run.stderr).toContain('alertname: CountersignConsumerLagHigh');
  });
});
