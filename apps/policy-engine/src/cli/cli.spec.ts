import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPolicyCli } from './main';

// real: the policy CLI on the project's contract, its test table and the shipped scenarios; fake: nothing.
const root = join(__dirname, '../../../..');
const CONTRACT = join(root, 'apps/policy-engine/contract/countersign.contract.yaml');
const TABLE = join(root, 'apps/policy-engine/contract/countersign.contract.test.yaml');
const SCENARIOS = join(root, 'libs/contracts/fixtures/scenarios.jsonl');
const dir = mkdtempSync(join(tmpdir(), 'policy-cli-'));

async function run(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runPolicyCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

const variant = (name: string, edit: (text: string) => string) => {
  const file = join(dir, name);
  writeFileSync(file, edit(readFileSync(CONTRACT, 'utf8')));
  return file;
};

describe('countersign policy', () => {
  it('test: the project contract passes its own table', async () => {
    const json = join(dir, 'result.json');
    const r = await run('test', CONTRACT, TABLE, '--json', json);
    expect(r.code).toBe(0);
    expect(r.out[r.out.length - 1]).toMatch(/^policy: \d+ passed, 0 failed$/);
    expect(JSON.parse(readFileSync(json, 'utf8')).failed).toBe(0);
  });

  it('test: a contract that decides otherwise fails the table, naming the row', async () => {
    const looser = variant('looser.yaml', (t) => t.replace('thresholds: { review: 30 }', 'thresholds: { review: 3000 }'));
    const r = await run('test', looser, TABLE);
    expect(r.code).toBe(1);
    expect(r.out.join('\n')).toMatch(/FAIL {2}support\.refund order-78: expected review, got autonomous/);
  });

  it('lint: finds unreachable rules, overlapping rules with different lanes, and action types without an owner', async () => {
    expect((await run('lint', CONTRACT)).code).toBe(0);
    const bad = variant('bad.yaml', (t) =>
      t
        .replace('{ owner: sre-team, reversibility: reversible, customerImpact: medium', '{ reversibility: reversible, customerImpact: medium')
        .replace(
          'prohibited:\n',
          "  - { id: again-large, actionTypes: [support.refund], when: { field: parameters.amount, gt: 10000 }, lane: prohibited, reason: 'same condition, other lane' }\n  - { id: useless, actionTypes: [account.close], when: { field: target, exists: true }, lane: review, reason: never changes anything }\nprohibited:\n",
        ),
    );
    const r = await run('lint', bad);
    expect(r.code).toBe(1);
    const text = r.out.join('\n');
    // Rules are named by their index too: the two added last sit after however many the contract has.
    expect(text).toMatch(/error: actions\.infra\.deployment_manifest_change: no owner/);
    expect(text).toMatch(
      /error: rules\[\d+\] \(refund-very-large\) and rules\[\d+\] \(again-large\): the same condition on support\.refund gives different lanes/,
    );
    expect(text).toMatch(/warning: rules\[\d+\] \(useless\): unreachable/);
  });

  it('lint: warns of an anomaly rule that only covers action types already on its lane or stricter', async () => {
    const useless = variant('useless-anomaly.yaml', (t) =>
      t.replace(
        'anomalies:\n',
        'anomalies:\n  - { id: closing-spree, kind: volume-rise, actionTypes: [account.close], shortWindowSeconds: 300, baselineWindowSeconds: 86400, minCount: 20, factor: 5, onDetect: review }\n',
      ),
    );
    const r = await run('lint', useless);
    expect(r.out.join('\n')).toMatch(/warning: anomalies\[0\] \(closing-spree\): unreachable: every action it covers is already review or stricter/);
  });

  it('lint: warns of a prohibition with neither action types nor a condition, which stops every action (config probe, 2026-12-05)', async () => {
    const everything = variant('prohibits-everything.yaml', (t) =>
      t.replace('prohibited:\n', "prohibited:\n  - { id: half-written, reason: 'to be scoped' }\n"),
    );
    const r = await run('lint', everything);
    expect(r.out.join('\n')).toMatch(/warning: prohibited\[0\] \(half-written\): neither actionTypes nor when: it prohibits every action of every type/);
    expect(r.out.join('\n')).not.toMatch(/prohibited\[1\]/);
  });

  it("lint: refuses conditions and limits naming a parameter the action types' schemas do not declare", async () => {
    const typo = variant('typo.yaml', (t) =>
      t
        .replace(
          '{ id: refund-card-data, actionTypes: [support.refund], when: { field: parameters.card,',
          '{ id: refund-card-data, actionTypes: [support.refund], when: { field: parameters.cardNumber,',
        )
        .replace('{ id: many-recipients, when: { field: parameters.recipients,', '{ id: many-recipients, when: { field: parameters.recipient,')
        .replace('per: parameters.customerId,', 'per: parameters.customer,'),
    );
    const r = await run('lint', typo);
    expect(r.code).toBe(1);
    const text = r.out.join('\n');
    expect(text).toMatch(
      /error: rules\[\d+\] \(refund-card-data\): names parameters\.cardNumber, which the parameter schema of support\.refund does not declare/,
    );
    expect(text).toMatch(/error: scoring\[\d\] \(many-recipients\): names parameters\.recipient, which no action type's parameter schema declares/);
    expect(text).toMatch(/error: aggregateLimits\[0\] \(refunds-per-customer\): names parameters\.customer,/);
  });

  it('lint: an invalid contract names the file and the line', async () => {
    const broken = variant('broken.yaml', (t) =>
      t.replace('lane: prohibited,\n      reason: legal statements', 'lane: forbidden,\n      reason: legal statements'),
    );
    const r = await run('lint', broken);
    expect(r.code).toBe(1);
    expect(r.err.join('\n')).toMatch(/broken\.yaml:\d+: actions\.legal\.statement\.lane: must be equal to one of the allowed values/);
  });

  it('diff: lists the decisions that change between two versions over a corpus', async () => {
    const stricter = variant('stricter.yaml', (t) =>
      t.replace('version: 2026.11.2', 'version: 2026.11.3').replace('thresholds: { review: 30 }', 'thresholds: { review: 0 }'),
    );
    const r = await run('diff', CONTRACT, stricter, SCENARIOS);
    expect(r.out[r.out.length - 1]).toBe('1 of 24 decisions change');
    // The controls it changes first, then the decisions.
    expect(r.out[1]).toBe('  control changed: actions support.refund');
    expect(r.out[2]).toMatch(/support\.refund order-77: autonomous → review\/high/);
  });

  it('diff: names a removed section even where no decision of the corpus changes (config probe, 2026-12-05)', async () => {
    // Without guardrails an IBAN in a customer reply runs on its own; the corpus has no such reply.
    const loosened = variant('loosened.yaml', (t) => t.replace('version: 2026.11.2', 'version: 2026.11.3').replace(/^guardrails:.*\n(?:[ ].*\n)*/m, ''));
    expect(readFileSync(loosened, 'utf8')).not.toMatch(/^guardrails:/m);
    const r = await run('diff', CONTRACT, loosened, SCENARIOS);
    expect(r.out.slice(1)).toEqual([
      expect.stringMatching(/^ {2}control removed: the whole guardrails section \(.*regulatedDataInOutboundText.*\)$/),
      '0 of 24 decisions change',
    ]);
  });

  it('replay: forecasts reviewer load per SLA class against a baseline', async () => {
    const stricter = variant('stricter2.yaml', (t) =>
      t.replace('version: 2026.11.2', 'version: 2026.11.3').replace('thresholds: { review: 30 }', 'thresholds: { review: 0 }'),
    );
    const r = await run('replay', stricter, SCENARIOS, '--baseline', CONTRACT);
    const line = (k: string) => r.out.find((l) => l.trim().startsWith(k))!.trim();
    expect(line('review/high')).toMatch(/^review\/high\s+\d+ \(\+1 vs baseline\)$/);
    expect(line('autonomous')).toMatch(/^autonomous\s+\d+ \(-1 vs baseline\)$/);
    expect(line('prohibited')).toMatch(/\(\+0 vs baseline\)$/);
  });

  it('replay: reads recorded proposals from an exported audit segment too', async () => {
    const scenarios = readFileSync(SCENARIOS, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).proposal);
    const segment = [
      JSON.stringify({ kind: 'segment', version: 1, prefix: { size: 0, hashes: [] } }),
      ...scenarios.flatMap((proposal, i) => [
        JSON.stringify({ kind: 'entry', index: i * 2, entry: { eventType: 'orchestrator.action.proposed.v1', data: { proposal, receivedVia: 'http' } } }),
        JSON.stringify({ kind: 'entry', index: i * 2 + 1, entry: { eventType: 'policy.decision.made.v1', data: { proposal, lane: 'review' } } }),
      ]),
    ].join('\n');
    const file = join(dir, 'segment.jsonl');
    writeFileSync(file, segment);
    const fromSegment = await run('replay', CONTRACT, file);
    const fromScenarios = await run('replay', CONTRACT, SCENARIOS);
    expect(fromSegment.out).toEqual(fromScenarios.out);
    expect(fromSegment.out.join('\n')).toMatch(/autonomous\s+6\b/); // the six scenarios expected to run autonomously
  });

  it('explain: prints the decision path with masked inputs', async () => {
    const file = join(dir, 'p.json');
    writeFileSync(
      file,
      JSON.stringify({
        actionType: 'support.refund',
        target: 'order-9',
        parameters: { amount: 480, currency: 'EUR', reason: 'damaged', card: '4111 1111 1111 1111' },
        proposer: { agentId: 'a', model: { name: 'm', version: '1' }, promptTemplateVersion: 'p' },
        confidence: 0.9,
        tenant: 't',
        region: 'r',
        context: {},
      }),
    );
    const r = await run('explain', CONTRACT, file, '--inputs', '{"autonomy":"review-all"}');
    expect(r.out[0]).toMatch(/^lane: review/);
    expect(r.out.join('\n')).not.toContain('4111 1111 1111 1111');
  });

  it('answers bad usage with exit code 2', async () => {
    expect((await run('test', CONTRACT)).code).toBe(2);
    expect((await run('frobnicate')).code).toBe(2);
  });

  it('answers --help with the usage on stdout and exit code 0', async () => {
    for (const ask of [['--help'], ['-h'], ['test', '--help']]) {
      const r = await run(...ask);
      expect(r.code).toBe(0);
      expect(r.out.join('\n')).toMatch(/^countersign policy <command>/);
      expect(r.err).toEqual([]);
    }
  });
});

describe('countersign policy refuses what it cannot read, rather than reporting success on it', () => {
  const proposal = () => JSON.parse(readFileSync(SCENARIOS, 'utf8').split('\n')[0]).proposal as Record<string, unknown>;
  const file = (name: string, content: string | Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it('diff and replay: a corpus without a proposal (empty, an embedded audit.jsonl) is an error naming the file', async () => {
    const empty = file('empty.jsonl', '');
    const auditFile = file('audit.jsonl', `${JSON.stringify({ index: 0, entry: { _index: 0, eventType: 'x' }, leafHash: 'ab', recordedAt: 'now' })}\n`);
    for (const corpus of [empty, auditFile]) {
      const d = await run('diff', CONTRACT, CONTRACT, corpus);
      expect(d).toMatchObject({ code: 1, out: [] });
      expect(d.err.join('\n')).toBe(
        `error: ${corpus}: no proposal in it: a corpus holds scenario rows {"proposal": …}, bare proposals, or the entries of an exported audit segment (countersign audit export), one per line`,
      );
      const r = await run('replay', CONTRACT, corpus);
      expect(r).toMatchObject({ code: 1, out: [] });
      expect(r.err.join('\n')).toContain(`${corpus}: no proposal in it`);
    }
    const garbled = file('garbled.jsonl', `${readFileSync(SCENARIOS, 'utf8').split('\n')[0]}\n{"proposal":\n`);
    expect(await run('diff', CONTRACT, CONTRACT, garbled)).toMatchObject({ code: 1, err: [expect.stringMatching(/garbled\.jsonl:2: not a JSON line/)] });
  });

  it('diff and replay: a corpus line is read strictly, as the orchestrator reads a proposal: a key given twice is an error naming the line, not its last value', async () => {
    // The door refuses this proposal (duplicate key); read loosely, it was a small refund that `replay` decided.
    const [first] = readFileSync(SCENARIOS, 'utf8').split('\n');
    const twice = file('twice.jsonl', `${first}\n${first.replace('"proposal": {', '"proposal": {"target": "jane.doe@example.com", ')}\n`);
    expect(first).toContain('"proposal": {"');
    for (const command of [
      ['diff', CONTRACT, CONTRACT, twice],
      ['replay', CONTRACT, twice],
    ]) {
      const r = await run(...command);
      expect(r).toMatchObject({ code: 1, out: [] });
      expect(r.err.join('\n')).toMatch(/twice\.jsonl:2: a key given twice in one object \(read strictly, as the orchestrator reads a proposal\)/);
      // Not the line, nor its keys' values: the file may hold regulated data.
      expect(r.err.join('\n')).not.toContain('jane.doe');
    }
    const proto = file('proto.jsonl', `${first.replace('"proposal": {', '"proposal": {"__proto__": {}, ')}\n`);
    expect((await run('replay', CONTRACT, proto)).err.join('\n')).toMatch(/proto\.jsonl:1: a key no proposal may have \(__proto__\)/);
  });

  it('explain: refuses --inputs with a key or a value the inputs do not have, listing the ones they have (exit 2)', async () => {
    const p = file('inputs-p.json', JSON.stringify(proposal()));
    const refused: Array<[string, RegExp]> = [
      ['{"autonomy":"review-al"}', /^--inputs: autonomy: must be one of off, review-all, review-risky, autonomous, unknown \(got "review-al"\)$/],
      ['{"autonomy":"Review-All"}', /^--inputs: autonomy: must be one of .* \(got "Review-All"\)$/],
      ['{"degradationMode":"Halted"}', /^--inputs: degradationMode: must be one of normal, elevated, constrained, halted, unknown/],
      ['{"autonomyy":"off"}', /^--inputs: unknown input autonomyy \(the inputs are killSwitch, degradationMode, trustStackHealthy, autonomy,/],
      ['null', /^--inputs: the inputs must be an object/],
      ['[1]', /^--inputs: the inputs must be an object/],
      ['{"trustStackHealthy":"yes"}', /^--inputs: trustStackHealthy: must be true, false or unknown$/],
      ['{"autonomy":"off","autonomy":"autonomous"}', /^--inputs: not JSON: duplicate key "autonomy"/],
    ];
    for (const [inputs, message] of refused) {
      const r = await run('explain', CONTRACT, p, '--inputs', inputs);
      expect({ inputs, code: r.code, out: r.out, err: r.err[0].split('\n')[0] }).toEqual({ inputs, code: 2, out: [], err: expect.stringMatching(message) });
    }
    expect((await run('explain', CONTRACT, p, '--inputs', '{"autonomy":"off"}')).out[0]).toMatch(/^lane: prohibited \(decided by autonomy;/);
  });

  it('explain: refuses a proposal file the orchestrator would refuse: a duplicate key, an unknown field, invalid UTF-8', async () => {
    const refused: Array<[string, string | Buffer, string]> = [
      ['dup.json', JSON.stringify(proposal()).replace('{', '{"target":"order-1",'), 'duplicate key "target" in the object at /'],
      ['unknown.json', JSON.stringify({ ...proposal(), approvedBy: 'me' }), 'approvedBy: unknown field'],
      ['bytes.json', Buffer.concat([Buffer.from('{"actionType":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), 'invalid UTF-8 at byte 15'],
    ];
    for (const [name, content, problem] of refused) {
      const path = file(name, content);
      expect(await run('explain', CONTRACT, path)).toEqual({
        code: 1,
        out: [],
        err: [`error: ${path}: not a proposal the orchestrator would accept: ${problem}`],
      });
    }
  });

  it('test: refuses a table without cases, one with a YAML tag, and one whose inputs the decision does not know', async () => {
    const table = readFileSync(TABLE, 'utf8');
    const empty = file('empty-table.yaml', 'cases: []\n');
    expect(await run('test', CONTRACT, empty)).toEqual({
      code: 1,
      out: [],
      err: [`${empty}:1: cases: the table has no cases: a table that checks nothing passes nothing`],
    });
    const tagged = file('tagged-table.yaml', table.replace('expect: autonomous', 'expect: !!js/function "function () { return 1 }"'));
    expect(await run('test', CONTRACT, tagged)).toMatchObject({ code: 1, err: [expect.stringMatching(/^.*tagged-table\.yaml:\d+: \(yaml\): .*js\/function/)] });
    const typo = file('typo-table.yaml', table.replace('autonomy: review-all', 'autonomy: review-al'));
    expect(await run('test', CONTRACT, typo)).toMatchObject({
      code: 1,
      out: [],
      err: [
        expect.stringMatching(
          /typo-table\.yaml:\d+: cases\[\d+\] \(autonomy review-all sends a reply to review\)\.inputs\.autonomy: must be one of off, review-all, review-risky, autonomous, unknown \(got "review-al"\)$/,
        ),
      ],
    });
    const unknownKey = file('unknown-key-table.yaml', table.replace('autonomy: review-all', 'autonomyy: review-all'));
    expect((await run('test', CONTRACT, unknownKey)).err[0]).toMatch(/\.inputs: unknown input autonomyy \(the inputs are /);
  });

  it('explain: refuses a proposal file with no end (/dev/zero), reading no further than the size limit', async () => {
    expect(await run('explain', CONTRACT, '/dev/zero')).toEqual({
      code: 1,
      out: [],
      err: ['error: /dev/zero: not a proposal the orchestrator would accept: more than 65536 bytes, the most a proposal may hold'],
    });
  });

  it('lint: refuses a file with no end (/dev/zero), reading no further than the size limit (red team, 2026-12-04)', async () => {
    expect(await run('lint', '/dev/zero')).toEqual({
      code: 1,
      out: [],
      err: ['/dev/zero: (size): /dev/zero holds more than 16777216 bytes, the most a policy file may: it is not read'],
    });
  });

  it('lint: refuses a named pipe with nothing said for it, at once (red team, 2026-12-07: it waited for a writer for ever)', async () => {
    const fifo = join(dir, 'contract.fifo');
    execFileSync('mkfifo', [fifo]);
    expect(await run('lint', fifo)).toEqual({
      code: 1,
      out: [],
      err: [`${fifo}: (file): ${fifo} is a named pipe or a socket, not a file: save it to a file`],
    });
  });

  it('lint: refuses a contract with invalid UTF-8, naming the line and the byte', async () => {
    const text = readFileSync(CONTRACT);
    const at = text.indexOf('reason: legal statements');
    const bytes = Buffer.concat([text.subarray(0, at + 'reason: '.length), Buffer.from([0xff, 0xfe]), text.subarray(at + 'reason: '.length)]);
    const bad = file('bad-bytes.yaml', bytes);
    const line = text.subarray(0, at).toString('utf8').split('\n').length;
    expect(await run('lint', bad)).toEqual({
      code: 1,
      out: [],
      err: [`${bad}:${line}: (encoding): invalid UTF-8 at byte ${at + 'reason: '.length}: the file must be UTF-8`],
    });
  });
});

describe('countersign policy diff and replay decide each proposal at the time it was made, where the corpus records it', () => {
  // The shipped contract with one rule on the hour: a reply proposed from 23:00 UTC on is reviewed first.
  const night = variant('night.yaml', (t) =>
    t.replace(
      'rules:\n',
      'rules:\n  - { id: night-reply, actionTypes: [support.reply], when: { field: time.hour, gte: 23 }, lane: review, reason: a reply proposed at night is read first }\n',
    ),
  );
  // Scenario row 0: a reply the contract runs autonomously by day.
  const reply = () => JSON.parse(readFileSync(SCENARIOS, 'utf8').split('\n')[0]).proposal as { actionType: string; target: string };
  /** An exported audit segment (`countersign audit export`): the header, then an entry per line. */
  const segment = (name: string, entries: object[]) => {
    const file = join(dir, name);
    const lines = [{ kind: 'segment', version: 1, prefix: { size: 0, hashes: [] } }, ...entries.map((entry, index) => ({ kind: 'entry', index, entry }))];
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n'));
    return file;
  };
  const proposed = (time?: string) => ({
    eventType: 'orchestrator.action.proposed.v1',
    ...(time !== undefined && { time }),
    data: { proposal: reply(), receivedVia: 'http' },
  });

  it('replay: a proposal made at 23:00 UTC is decided at 23:00, and one whose entry has no time at the fixed time', async () => {
    expect(reply()).toMatchObject({ actionType: 'support.reply', target: 'ticket-1001' });
    const file = segment('night-segment.jsonl', [
      proposed('2026-11-24T23:00:00.000Z'),
      // A decision entry carries the proposal too; it is not a proposal of its own, and its time is not read.
      { eventType: 'policy.decision.made.v1', time: '2026-11-24T23:00:00.010Z', data: { proposal: reply(), lane: 'review' } },
      proposed(),
    ]);
    const r = await run('replay', night, file);
    expect(r).toMatchObject({ code: 0, err: [] });
    expect(r.out[0]).toBe("decided at each proposal's recorded time (1 of 2); the rest as at 2026-11-24T10:00:00Z; every flag at rest");
    expect(r.out.slice(1).map((l) => l.trim().split(/\s+/))).toEqual([
      ['autonomous', '1'],
      ['review/normal', '1'],
    ]);
  });

  it('diff: a weaker rule moved first is named as reordered, and the decision it changes names its reviewers (red team, 2026-12-05)', async () => {
    // Beside refund-very-large (finance, quorum 2), a rule of the same quorum asking any reviewer: placed after it, it
    // changes nothing; moved first, it sets who reviews.
    const weaker =
      '  - { id: refund-second-look, actionTypes: [support.refund], when: { field: parameters.amount, gt: 10000 }, lane: review, reason: r,\n      review: { slaClass: high, requiredRoles: [reviewer], quorum: 2, whenUnavailable: fail-closed } }\n';
    const after = variant('after.yaml', (t) => t.replace('version: 2026.11.2', 'version: 2026.11.3').replace(/(  - \{ id: refund-card-data)/, `${weaker}$1`));
    const first = variant('first.yaml', (t) => t.replace('version: 2026.11.2', 'version: 2026.11.4').replace(/^rules:\n/m, `rules:\n${weaker}`));
    const corpus = segment('very-large.jsonl', [
      { proposal: { ...reply(), actionType: 'support.refund', target: 'order-9', parameters: { amount: 50_000, currency: 'EUR', reason: 'x' } } },
    ]);
    const r = await run('diff', after, first, corpus);
    expect(r.out).toContainEqual(expect.stringMatching(/^ {2}control reordered: rules \(now refund-second-look, refund-very-large, /));
    expect(r.out.find((l) => l.startsWith('  #0'))).toBe(
      '  #0 support.refund order-9: review/high (roles finance, quorum 2, when unavailable "fail-closed") → review/high (roles reviewer, quorum 2, when unavailable "fail-closed")',
    );
    expect(r.out.at(-1)).toBe('1 of 1 decisions change');
  });

  it('diff: names the proposal the night rule now reviews; a corpus with no time keeps the fixed time, where the rule does not fire', async () => {
    const file = segment('night-diff.jsonl', [proposed('2026-11-24T23:59:59.999+00:00'), proposed('2026-11-24T22:59:59.999Z')]);
    expect((await run('diff', CONTRACT, night, file)).out).toEqual([
      "decided at each proposal's recorded time (2 of 2), every flag at rest",
      '  control added: rules night-reply',
      '  #0 support.reply ticket-1001: autonomous → review/normal',
      '1 of 2 decisions change',
    ]);
    // The time is the proposal's, with its offset: 00:30 in Berlin is 23:30 UTC, when the rule fires.
    const offset = segment('night-offset.jsonl', [proposed('2026-11-25T00:30:00+01:00')]);
    expect((await run('diff', CONTRACT, night, offset)).out.at(-1)).toBe('1 of 1 decisions change');
    // The scenario rows record no time: decided as at 10:00 UTC, so the night rule changes nothing, run after run.
    const scenarios = await run('diff', CONTRACT, night, SCENARIOS);
    expect(scenarios.out).toEqual([
      'decided as at 2026-11-24T10:00:00Z, every flag at rest (no proposal in the corpus records its time)',
      '  control added: rules night-reply',
      '0 of 24 decisions change',
    ]);
    expect((await run('diff', CONTRACT, night, SCENARIOS)).out).toEqual(scenarios.out);
  });

  it('diff and replay: a proposal entry whose time is not a time is an error naming the line, not a proposal decided at another time', async () => {
    const file = segment('bad-time.jsonl', [proposed('2026-11-24T10:00:00.000Z'), proposed('yesterday at eleven')]);
    for (const args of [
      ['diff', CONTRACT, night, file],
      ['replay', night, file],
    ]) {
      expect(await run(...args)).toEqual({
        code: 1,
        out: [],
        err: [`error: ${file}:3: the proposal's time "yesterday at eleven" is not an ISO 8601 time such as 2026-11-24T23:00:00.000Z`],
      });
    }
  });

  it('--help says which time each command decides at', async () => {
    const help = (await run('--help')).out.join('\n');
    expect(help).toContain('diff, replay   the time the proposal was made where the corpus records it');
    expect(help).toContain("test           a row's inputs.now, else 2026-11-24T10:00:00Z");
  });
});

describe('countersign policy answers a file it cannot read with one line naming it, and exit 2 (bad usage)', () => {
  const missing = join(dir, 'nope.yaml');
  const folder = mkdtempSync(join(dir, 'a-directory-'));
  const proposalFile = join(dir, 'readable-proposal.json');
  writeFileSync(proposalFile, JSON.stringify(JSON.parse(readFileSync(SCENARIOS, 'utf8').split('\n')[0]).proposal));

  it('each command, for each file it reads: missing, or a directory', async () => {
    const commands: Array<(bad: string) => string[]> = [
      (bad) => ['lint', bad],
      (bad) => ['test', bad, TABLE],
      (bad) => ['test', CONTRACT, bad],
      (bad) => ['explain', bad, proposalFile],
      (bad) => ['explain', CONTRACT, bad],
      (bad) => ['diff', bad, CONTRACT, SCENARIOS],
      (bad) => ['diff', CONTRACT, bad, SCENARIOS],
      (bad) => ['diff', CONTRACT, CONTRACT, bad],
      (bad) => ['replay', bad, SCENARIOS],
      (bad) => ['replay', CONTRACT, bad],
      (bad) => ['replay', CONTRACT, SCENARIOS, '--baseline', bad],
    ];
    for (const command of commands) {
      for (const [bad, why] of [
        [missing, 'no such file'],
        [folder, 'it is a directory'],
      ]) {
        const args = command(bad);
        const r = await run(...args);
        expect({ args, code: r.code, err: r.err }).toEqual({ args, code: 2, err: [`cannot read ${bad}: ${why}`] });
        // Nothing of a result: a report over a file that was never read would mislead.
        expect(r.out.filter((l) => /decisions change|^\s+(autonomous|review|prohibited)|^lane:|passed/.test(l))).toEqual([]);
      }
    }
  });

  it('test --json: a file it cannot write is named the same way', async () => {
    const out = join(dir, 'no-such-directory', 'result.json');
    const r = await run('test', CONTRACT, TABLE, '--json', out);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`cannot write ${out}: no such directory`]);
  });
});
