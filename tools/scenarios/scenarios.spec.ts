import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenariosCli } from './scenarios';

// real: the CLI's argument and file reading; a run against a live instance is in apps/embedded/src/scenarios.spec.ts.
describe('countersign scenarios: what it refuses before it sends anything', () => {
  const dir = mkdtempSync(join(tmpdir(), 'countersign-scenarios-cli-'));
  const token = join(dir, 'token');
  writeFileSync(token, 'cs_scenarios_x');
  let stderr: string;
  const write = process.stderr.write.bind(process.stderr);
  beforeEach(() => {
    stderr = '';
    process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
  });
  afterEach(() => (process.stderr.write = write));

  it.each([
    ['a file that is not there', [join(dir, 'nope.jsonl'), '--token-file', token], /cannot read .*nope\.jsonl: no such file/],
    [
      'a line that is not JSON',
      [(writeFileSync(join(dir, 'bad.jsonl'), '{"proposal": {}}\n{oops\n'), join(dir, 'bad.jsonl')), '--token-file', token],
      /bad\.jsonl:2: not JSON/,
    ],
    [
      // Sent again after a loose parse, it would reach the server as its last value: the server refuses it as it is.
      'a row with a key given twice',
      [(writeFileSync(join(dir, 'twice.jsonl'), '{"proposal": {"target": "a", "target": "b"}}\n'), join(dir, 'twice.jsonl')), '--token-file', token],
      /twice\.jsonl:1: not strict JSON \(duplicate-key\)/,
    ],
    [
      'a row without a proposal',
      [(writeFileSync(join(dir, 'row.jsonl'), '{"expectedLane": "review"}\n'), join(dir, 'row.jsonl')), '--token-file', token],
      /row\.jsonl:1: a row is/,
    ],
    ['no token', ['--token-file', join(dir, 'missing')], /no token at .*missing: a home made before 2026-12-05 has no tokens\/scenarios/],
    // A named pipe with no writer: refused at once, not waited on for ever (red team, 2026-12-07).
    [
      'a named pipe for the rows',
      [(execFileSync('mkfifo', [join(dir, 'rows.fifo')]), join(dir, 'rows.fifo')), '--token-file', token],
      /rows\.fifo is not a regular file/,
    ],
    [
      'a named pipe for the token',
      ['--token-file', (execFileSync('mkfifo', [join(dir, 'token.fifo')]), join(dir, 'token.fifo'))],
      /cannot read the token file: .*token\.fifo is not a regular file/,
    ],
    ['a timeout that is not a number', ['--timeout-ms', 'soon'], /--timeout-ms must be a whole number/],
    ['an unknown option', ['--urll', 'x'], /Unknown option '--urll'/],
    // A URL that is none, or of another scheme: one line, exit 2 (red team, 2026-12-07: a stack trace, exit 1).
    ['a URL that is none', ['--url', 'notaurl', '--token-file', token], /^countersign scenarios: --url: baseUrl is not a URL/],
    ['a URL of another scheme', ['--url', 'ftp://x', '--token-file', token], /^countersign scenarios: --url: baseUrl must be https:/],
  ])('%s: exit 2 with the reason, nothing sent', async (_name, args, message) => {
    const lines: string[] = [];
    expect(await runScenariosCli(args as string[], (l) => lines.push(l))).toBe(2);
    expect(stderr).toMatch(message);
    expect(lines).toEqual([]);
  });
});
