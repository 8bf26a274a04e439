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
    // A path given is said to be missing; the home's own file missing is an older home (first-user probe, 2026-12-07).
    ['no token at the path given', ['--token-file', join(dir, 'missing')], /no token at .*missing: no such file \(--token-file\)\n$/],
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
    // Said with the option's name, not the SDK's `baseUrl` (first-user probe, 2026-12-07).
    [
      'a URL that is none',
      ['--url', '127.0.0.1:8391', '--token-file', token],
      /^countersign scenarios: --url is not a URL .*\(e\.g\. http:\/\/127\.0\.0\.1:8080\)\n$/,
    ],
    ['a URL of another scheme', ['--url', 'ftp://x', '--token-file', token], /^countersign scenarios: --url must be https:/],
  ])('%s: exit 2 with the reason, nothing sent', async (_name, args, message) => {
    const lines: string[] = [];
    expect(await runScenariosCli(args as string[], (l) => lines.push(l))).toBe(2);
    expect(stderr).toMatch(message);
    expect(lines).toEqual([]);
  });

  it("the home's own token file missing: an older home, and what to do", async () => {
    const home = mkdtempSync(join(tmpdir(), 'countersign-scenarios-home-'));
    const before = process.env.COUNTERSIGN_HOME;
    process.env.COUNTERSIGN_HOME = home;
    try {
      expect(await runScenariosCli([], () => undefined)).toBe(2);
    } finally {
      if (before === undefined) delete process.env.COUNTERSIGN_HOME;
      else process.env.COUNTERSIGN_HOME = before;
    }
    expect(stderr).toMatch(/no token at .*tokens\/scenarios: a home made before 2026-12-05 has no tokens\/scenarios/);
  });

  it('stops at the first proposal nothing answers, instead of waiting through every row (first-user probe, 2026-12-07: 66 s)', async () => {
    const lines: string[] = [];
    // Nothing listens on port 1.
    expect(await runScenariosCli(['--url', 'http://127.0.0.1:1', '--token-file', token], (l) => lines.push(l))).toBe(1);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/ no lane: no answer from POST \/v1\/proposals: /);
    expect(lines[1]).not.toMatch(/no lane: 503/);
    expect(lines[2]).toBe('stopped: nothing answers at http://127.0.0.1:1; is Countersign running there? (--url, or PORT)');
  });
});
