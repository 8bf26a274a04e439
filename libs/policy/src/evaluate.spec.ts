import fc from 'fast-check';
import { ContractError, parseContract } from './contract';
import { compileContract, DecidedBy, DecisionInputs, evaluate, issueScopedToken, maskedInputs, PRECEDENCE, ProposalInput } from './evaluate';
import { InMemoryRateLimiter } from './in-memory-rate-limiter';
import { compiledProjectContract, OPEN_INPUTS, projectContract, proposalOf } from './spec-fixtures';
import { checkRateLimits } from './rate-limit';
import { maskText, useContractNationalIds } from '@countersign/guardrails';
import { RunningContract } from './running-contract';

const contract = projectContract;
const compiled = compiledProjectContract;
const now = OPEN_INPUTS.now;
const OK: DecisionInputs = OPEN_INPUTS;

// Parameters that fit each action type's schema, for tests about something else.
const VALID: Record<string, Record<string, unknown>> = {
  'support.refund': { amount: 12, currency: 'EUR', reason: 'late delivery' },
  'ticket.tag': { tags: ['billing'] },
  'support.reply': { body: 'On its way.' },
};

const proposal = (actionType: string, parameters: Record<string, unknown> = VALID[actionType] ?? {}, over: Partial<ProposalInput> = {}): ProposalInput =>
  proposalOf(actionType, parameters, over);

/** A valid refund of `amount` (EUR unless `extra` says otherwise). */
const refund = (amount: unknown, extra: Record<string, unknown> = {}, over: Partial<ProposalInput> = {}) =>
  proposal('support.refund', { amount, currency: 'EUR', reason: 'late delivery', ...extra }, over);

describe('the lighter type is no way around a second approver (red team, 2026-12-05)', () => {
  it('a payout over 10,000 EUR takes two finance approvers, as a refund of that size does', () => {
    const payout = (amount: number) => proposal('payments.payout', { amount, currency: 'EUR', iban: 'DE89370400440532013000' }, { target: 'vendor-3' });
    expect(evaluate(compiled, payout(5_000_000), OK)).toMatchObject({ lane: 'review', review: { requiredRoles: ['finance'], quorum: 2 } });
    expect(evaluate(compiled, payout(900), OK)).toMatchObject({ lane: 'review', review: { quorum: 1 } });
  });

  it('a wildcard among the permissions an IAM change adds takes two security approvers; a pattern reads each element', () => {
    const iam = (addPermissions: string[]) => proposal('infra.iam_policy_change', { addPermissions }, { target: 'role:deploy-bot' });
    expect(evaluate(compiled, iam(['s3:GetObject', '*:*']), OK)).toMatchObject({ review: { requiredRoles: ['security'], quorum: 2 } });
    expect(evaluate(compiled, iam(['iam:*']), OK)).toMatchObject({ review: { quorum: 2 } });
    expect(evaluate(compiled, iam(['s3:GetObject']), OK)).toMatchObject({ lane: 'review', review: { quorum: 1 } });
  });
});

describe('lanes', () => {
  it('autonomous, review and prohibited, each with the contract version, rules and reasons', () => {
    const a = evaluate(compiled, refund(12), OK);
    expect(a).toMatchObject({ lane: 'autonomous', decidedBy: 'contract', contractVersion: '2026.12.20', contractHash: contract.hash, score: 0 });
    const r = evaluate(compiled, refund(480), OK);
    expect(r).toMatchObject({
      lane: 'review',
      score: 30,
      review: { slaClass: 'high', slaSeconds: 900, requiredRoles: ['finance'], quorum: 1, whenUnavailable: 'fail-closed' },
    });
    expect(r.rulesFired).toEqual(expect.arrayContaining(['score:amount-over-50', 'threshold:review']));
    // The rule that set the lane leads, with its reason: what an agent reads as why (the action view's `reasonCode`).
    expect(r.rulesFired[0]).toBe('threshold:review');
    expect(r.reasons[0]).toBe('risk score 30 reaches the review threshold 30');
    // The action type's own lane rule leads where nothing made the lane stricter.
    expect(a.rulesFired[0]).toBe('support.refund.lane');
    const q = evaluate(compiled, refund(25000), OK);
    expect(q.review).toMatchObject({ quorum: 2 });
    expect(evaluate(compiled, proposal('legal.statement'), OK)).toMatchObject({
      lane: 'prohibited',
      reasons: expect.arrayContaining(['legal statements are made by people']),
    });
  });

  it("gives the action type's own reason only while its default lane holds: a refund sent to review is not also a 'small, policy-conform refund'", () => {
    const own = contract.actions['support.refund'].reason;
    expect(evaluate(compiled, refund(12), OK).reasons).toContain(own);
    const r = evaluate(compiled, refund(480), OK);
    expect(r.lane).toBe('review');
    expect(r.reasons).not.toContain(own);
    expect(r.reasons).toContain('risk score 30 reaches the review threshold 30');
  });

  it('prohibits unsupported action types', () => {
    expect(evaluate(compiled, proposal('crypto.transfer'), OK)).toMatchObject({
      lane: 'prohibited',
      decidedBy: 'prohibited-rule',
      rulesFired: ['unknown-action-type'],
    });
  });
});

describe('guardrails', () => {
  it('masks regulated data in the explanation; nothing unmasked is in the decision', () => {
    const p = refund(
      60,
      { card: '4111 1111 1111 1111', reason: 'to DE89370400440532013000, mail jane.doe@example.com or +49 30 1234567' },
      { target: 'jane.doe@example.com' },
    );
    const json = JSON.stringify(evaluate(compiled, p, OK));
    const inputs = JSON.stringify(maskedInputs(compiled, p));
    expect(inputs).toContain('[card …1111]');
    for (const secret of ['4111 1111 1111 1111', 'DE89370400440532013000', 'jane.doe@example.com', '+49 30 1234567']) {
      expect(json).not.toContain(secret);
      expect(inputs).not.toContain(secret);
    }
  });

  it('uses the contract-configured national-id pattern: the guardrail names it, and the masked inputs hide it', () => {
    const p = proposal('support.reply', { body: 'tax id 12 345 678 901' });
    expect(evaluate(compiled, p, OK).reasons[0]).toContain('(de-tax-id)');
    expect(JSON.stringify(maskedInputs(compiled, p))).toContain('[de-tax-id]');
    expect(JSON.stringify(maskedInputs(compiled, p))).not.toContain('345 678');
  });

  it('masks the German tax id however it is grouped (a space, dash, dot, underscore or nothing), in the process as in the decision', () => {
    new RunningContract(contract); // the contract's patterns become the process's masking
    for (const written of ['12 345 678 901', '12-345-678-901', '12.345.678.901', '12_345_678_901', '12345678901', '12‑345‑678‑901']) {
      const p = proposal('support.reply', { body: `tax id ${written}` });
      expect(JSON.stringify(maskedInputs(compiled, p))).toContain('tax id [de-tax-id]');
      expect(maskText(`tax id ${written}`)).toBe('tax id [de-tax-id]');
    }
    useContractNationalIds([]);
  });

  it('requires a valid scoped token for privileged actions', () => {
    const key = Buffer.from('scoped-token-test-key');
    const p = proposal('permission.change', { grant: 'admin' });
    expect(evaluate(compiled, p, { ...OK, scopedTokenKey: key })).toMatchObject({
      lane: 'prohibited',
      rulesFired: expect.arrayContaining(['privileged:scoped-token']),
    });
    const token = issueScopedToken(key, 'permission.change', new Date(now.getTime() + 60_000));
    expect(evaluate(compiled, { ...p, scopedToken: token }, { ...OK, scopedTokenKey: key }).lane).toBe('review');
    const otherScope = issueScopedToken(key, 'support.refund', new Date(now.getTime() + 60_000));
    expect(evaluate(compiled, { ...p, scopedToken: otherScope }, { ...OK, scopedTokenKey: key }).lane).toBe('prohibited');
    const expired = issueScopedToken(key, 'permission.change', new Date(now.getTime() - 1));
    expect(evaluate(compiled, { ...p, scopedToken: expired }, { ...OK, scopedTokenKey: key }).lane).toBe('prohibited');
    expect(evaluate(compiled, { ...p, scopedToken: `${token.slice(0, -2)}xx` }, { ...OK, scopedTokenKey: key }).lane).toBe('prohibited');
  });

  it('rate-limits sensitive operations per tenant and per actor', async () => {
    const lowered = contract.rateLimits!.map((l) => ({ ...l, limit: 2 }));
    const limited = { ...contract, rateLimits: lowered };
    const limiter = new InMemoryRateLimiter();
    const small = refund(10);
    const results: string[][] = [];
    for (let i = 0; i < 3; i++) results.push(await checkRateLimits(limited, small, 'agent-1', `small-${i}`, limiter, now));
    expect(results).toEqual([[], [], ['refunds-per-tenant']]);
    expect(await checkRateLimits(limited, small, 'agent-1', 'small-0', limiter, now)).toEqual([]);
    expect(await checkRateLimits(limited, { ...small, tenant: 'globex' }, 'agent-1', 'small-3', limiter, now)).toEqual([]);
    expect(await checkRateLimits(limited, small, 'agent-1', 'small-4', limiter, new Date(now.getTime() + 3_600_000))).toEqual([]);
    expect(evaluate(compileContract(limited), small, { ...OK, rateLimited: ['refunds-per-tenant'] })).toMatchObject({
      lane: 'review',
      rulesFired: expect.arrayContaining(['rate-limit:refunds-per-tenant']),
    });
    const exp = proposal('data.export', { fields: ['orders'] });
    for (let i = 0; i < 2; i++) await checkRateLimits(limited, exp, 'agent-1', `export-${i}`, limiter, now);
    expect(await checkRateLimits(limited, exp, 'agent-2', 'export-2', limiter, now)).toEqual([]);
    expect(await checkRateLimits(limited, exp, 'agent-1', 'export-3', limiter, now)).toEqual(['exports-per-actor']);
  });
});

describe('precedence: prohibited rule > kill switch > degradation > trust stack > autonomy > contract', () => {
  // Each input set so that it demands the strictest outcome it can, with a valid proposal that would
  // otherwise run autonomously with medium risk.
  // An unprotected-branch merge: autonomous by contract, medium risk (its blast radius is a tenant).
  const medium = proposal('code.merge', { pullRequest: 88 }, { target: 'repo:docs#draft-notes' });
  const demand: Record<DecidedBy, (i: DecisionInputs) => [DecisionInputs, ProposalInput]> = {
    'prohibited-rule': (i) => [i, { ...proposal('shell.exec', { cmd: 'ls' }) }],
    'kill-switch': (i) => [{ ...i, killSwitch: 'off' }, medium],
    degradation: (i) => [{ ...i, degradationMode: 'halted' }, medium],
    'trust-stack': (i) => [{ ...i, trustStackHealthy: false }, medium],
    autonomy: (i) => [{ ...i, autonomy: 'off' }, medium],
    contract: (i) => [i, medium],
  };

  it('the medium-risk proposal runs autonomously with every input at rest', () => {
    expect(evaluate(compiled, medium, OK)).toMatchObject({ lane: 'autonomous', riskClass: 'medium', decidedBy: 'contract' });
  });

  const pairs = PRECEDENCE.flatMap((hi, i) => PRECEDENCE.slice(i + 1).map((lo) => [hi, lo] as const)).filter(([hi]) => hi !== 'prohibited-rule');
  // A prohibition that passes (halted, an unhealthy trust stack: `retryLater`) yields to one that lasts (autonomy off):
  // the agent is not told to propose again what stays refused (2026-12-05).
  const passes = (by: DecidedBy) => by === 'degradation' || by === 'trust-stack';
  it.each(pairs)('%s wins over %s (a lasting prohibition before one that passes)', (hi, lo) => {
    const [afterLo, p1] = demand[lo](OK);
    const [both, p2] = demand[hi](afterLo);
    const d = evaluate(compiled, hi === 'contract' ? p1 : p2, both);
    const winner = passes(hi) && lo === 'autonomy' ? lo : hi;
    expect(d.decidedBy).toBe(winner);
    expect(d.lane).toBe('prohibited');
    expect(d.rulesFired[0]).toMatch(new RegExp(`^${winner}`));
    expect(d.retryLater).toBe(passes(winner) ? true : undefined);
  });

  it.each(PRECEDENCE.slice(1))('a prohibited rule wins over %s', (lo) => {
    const [inputs] = demand[lo](OK);
    expect(evaluate(compiled, proposal('shell.exec', { cmd: 'ls' }), inputs)).toMatchObject({ lane: 'prohibited', decidedBy: 'prohibited-rule' });
  });

  it('degradation: elevated sends medium risk to review, constrained blocks review-lane proposals with retry later', () => {
    expect(evaluate(compiled, medium, { ...OK, degradationMode: 'elevated' })).toMatchObject({ lane: 'review', decidedBy: 'degradation' });
    expect(evaluate(compiled, refund(5), { ...OK, degradationMode: 'elevated' }).lane).toBe('autonomous');
    expect(evaluate(compiled, refund(480), { ...OK, degradationMode: 'constrained' })).toMatchObject({
      lane: 'prohibited',
      retryLater: true,
      decidedBy: 'degradation',
    });
    expect(evaluate(compiled, proposal('ticket.tag', { tags: ['x'] }), { ...OK, degradationMode: 'constrained' }).lane).toBe('autonomous');
  });

  it('autonomy never loosens the contract: review-risky, review-all', () => {
    expect(evaluate(compiled, medium, { ...OK, autonomy: 'review-risky' })).toMatchObject({ lane: 'review', decidedBy: 'autonomy' });
    expect(evaluate(compiled, proposal('ticket.tag'), { ...OK, autonomy: 'review-risky' }).lane).toBe('autonomous');
    expect(evaluate(compiled, proposal('ticket.tag'), { ...OK, autonomy: 'review-all' }).lane).toBe('review');
    expect(evaluate(compiled, proposal('legal.statement'), { ...OK, autonomy: 'autonomous' }).lane).toBe('prohibited');
  });

  it.each([
    ['killSwitch', 'prohibited'],
    ['degradationMode', 'prohibited'],
    ['autonomy', 'review'],
  ] as const)('an unknown %s fails closed (%s)', (input, lane) => {
    expect(evaluate(compiled, proposal('ticket.tag'), { ...OK, [input]: 'unknown' }).lane).toBe(lane);
  });

  it.each([
    ['killSwitch', 'On', 'prohibited'],
    ['degradationMode', 'Halted', 'prohibited'],
    ['degradationMode', 'halt', 'prohibited'],
    ['autonomy', 'review-al', 'review'],
    ['autonomy', 'Autonomous', 'review'],
    ['trustStackHealthy', 'true', 'prohibited'],
  ] as const)('a %s of a value it does not know (%s) fails closed as unknown (%s), never as the loosest (red team, 2026-12-04)', (input, value, lane) => {
    // The services' readers give only known values; a table, the CLI or a new adapter may not.
    const subject = input === 'trustStackHealthy' ? medium : proposal('ticket.tag');
    const decided = evaluate(compiled, subject, { ...OK, [input]: value as never });
    expect(decided.lane).toBe(lane);
    if (input !== 'trustStackHealthy') expect(decided.rulesFired.join(' ')).toMatch(/:unknown/);
  });

  it('a kill switch that cannot be read prohibits with retry later (a doubt passes); one that is off does not (an answer)', () => {
    // Red team (2026-12-04): a flag missing for the second the drift watcher took to restore it made a final prohibition.
    expect(evaluate(compiled, proposal('ticket.tag'), { ...OK, killSwitch: 'unknown' })).toMatchObject({
      lane: 'prohibited',
      decidedBy: 'kill-switch',
      rulesFired: ['kill-switch:unknown'],
      retryLater: true,
    });
    expect(evaluate(compiled, proposal('ticket.tag'), { ...OK, killSwitch: 'off' }).retryLater).toBeUndefined();
  });

  it('a prohibition for good is not made "retry later" by one that passes (red team, 2026-12-05)', () => {
    // A legal statement is prohibited by the contract whatever the mode: constrained, halted, a kill switch not read or a
    // trust stack unhealthy beside it changes neither its reason nor tells the agent to propose it again.
    for (const inputs of [
      { ...OK, degradationMode: 'constrained' as const },
      { ...OK, degradationMode: 'halted' as const },
      { ...OK, killSwitch: 'unknown' as const },
      { ...OK, trustStackHealthy: false },
    ]) {
      const d = evaluate(compiled, proposal('legal.statement'), inputs);
      expect(d).toMatchObject({ lane: 'prohibited', decidedBy: 'contract', rulesFired: expect.arrayContaining(['legal.statement.lane']) });
      expect(d.rulesFired[0]).toBe('legal.statement.lane');
      expect(d.retryLater).toBeUndefined();
    }
    // Alone, the passing one still says so.
    expect(evaluate(compiled, refund(480), { ...OK, degradationMode: 'constrained' }).retryLater).toBe(true);
  });

  it('an unknown trust-stack health fails risky actions closed', () => {
    expect(evaluate(compiled, medium, { ...OK, trustStackHealthy: 'unknown' })).toMatchObject({ lane: 'prohibited', decidedBy: 'trust-stack' });
  });

  it('an unhealthy trust stack prohibits risky actions for now (the agent may retry), and leaves low-risk ones alone', () => {
    expect(evaluate(compiled, medium, { ...OK, trustStackHealthy: false })).toMatchObject({ lane: 'prohibited', decidedBy: 'trust-stack', retryLater: true });
    expect(evaluate(compiled, proposal('ticket.tag'), { ...OK, trustStackHealthy: false }).lane).toBe('autonomous');
  });
});

describe('sampling', () => {
  it('flags a deterministic share of autonomous decisions for after-the-fact review', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `action-${i}`);
    const flagged = ids.filter((id) => evaluate(compiled, proposal('ticket.tag'), { ...OK, actionId: id }).sampledForAudit);
    expect(flagged.length).toBeGreaterThan(60);
    expect(flagged.length).toBeLessThan(140);
    expect(ids.filter((id) => evaluate(compiled, proposal('ticket.tag'), { ...OK, actionId: id }).sampledForAudit)).toEqual(flagged);
    expect(evaluate(compiled, refund(480), { ...OK, actionId: flagged[0] }).sampledForAudit).toBe(false);
  });
});

describe('the contract file', () => {
  it('names the file, the line and the rule of a schema error', () => {
    const text =
      'version: 1\nservice: { name: s, model: { type: llm, version: "1" }, dataSources: [], owners: { product: a, platform: b, security: c, sre: d } }\nslaClasses: { normal: 60 }\nactions:\n  support.refund:\n    owner: x\n    reversibility: sometimes\n';
    try {
      parseContract(text, 'broken.yaml');
      throw new Error('expected a ContractError');
    } catch (e) {
      expect(e).toBeInstanceOf(ContractError);
      expect((e as ContractError).message).toMatch(/^broken\.yaml:6: actions\.support\.refund: must have required property 'customerImpact'/);
    }
  });

  it('names a bad action type name and points at its own line, not at the first action', () => {
    // A block map, so that the key's line (6) and its value's first line (7) differ.
    const text = `${readBase()}  billing.credit-note:\n    owner: o\n    reversibility: reversible\n    customerImpact: low\n    regulatorySensitivity: none\n    blastRadius: single\n    lane: autonomous\n    reason: r\n    parameters: { type: object, additionalProperties: true }\n`;
    expect(text.split('\n')[5]).toBe('  billing.credit-note:');
    expect(() => parseContract(text, 'c.yaml')).toThrow(
      'c.yaml:6: actions.billing.credit-note: action type name "billing.credit-note" must be two or more dot-separated lower-case words of a-z, 0-9 and _, each starting with a letter (no "-")',
    );
    expect(() => parseContract(text.replace('billing.credit-note', 'billing.credit_note'), 'c.yaml')).not.toThrow();
  });

  it('refuses a pattern that can stall every decision, or one that does not compile, naming the rule and its line (red team, 2026-12-04)', () => {
    const base = readBase();
    const rule = (matches: string) =>
      `${base}rules:\n  - { id: probe-redos, actionTypes: [support.refund], when: { field: parameters.body, matches: '${matches}' }, lane: prohibited, reason: r }\n`;
    expect(() => parseContract(rule('thanks,(?:[a-z ]+)*x'), 'c.yaml')).toThrow(
      /^c\.yaml:\d+: rules\[0\] \(probe-redos\).*a pattern that can stall every decision: `\[a-z \]\+` repeats inside/,
    );
    expect(() => parseContract(rule('(unclosed'), 'c.yaml')).toThrow(/not a valid regular expression/);
    expect(() => parseContract(rule('thanks,[a-z ]*x'), 'c.yaml')).not.toThrow();
  });

  it('refuses YAML tags (a value the parser would drop the tag of and keep as text), naming the line', () => {
    const base = readBase();
    const tagged = base.replace(/^version: .*$/m, 'version: !!js/function "function(){}"');
    expect(tagged).not.toBe(base);
    expect(() => parseContract(tagged, 'c.yaml')).toThrow(/^c\.yaml:\d+: \(yaml\): Unresolved tag: tag:yaml\.org,2002:js\/function/);
    expect(() => parseContract(`${base}extra: !foo 1\n`, 'c.yaml')).toThrow(/\(yaml\): Unresolved tag: !foo/);
  });

  it('refuses YAML nested deeper than 64 levels, naming the line, whether or not the parser could read it (red team, 2026-12-05)', () => {
    const base = readBase();
    // A thousand brackets overflow the parser's stack: it was "Maximum call stack size exceeded".
    const flow = `${base}extra:\n  deep: ${'['.repeat(1000)}${']'.repeat(1000)}\n`;
    const line = flow.split('\n').findIndex((l) => l.includes('deep:')) + 1;
    expect(() => parseContract(flow, 'c.yaml')).toThrow(`c.yaml:${line}: (yaml): nested more than 64 levels deep: a contract needs far fewer`);
    // Seventy levels the parser reads: refused all the same, at the collection past the bound.
    expect(() => parseContract(`${base}extra:\n  deep: ${'['.repeat(70)}${']'.repeat(70)}\n`, 'c.yaml')).toThrow(
      `c.yaml:${line}: (yaml): nested more than 64 levels deep`,
    );
    // The shipped contract is far within it.
    expect(() => parseContract(base, 'c.yaml')).not.toThrow();
  });

  it('refuses text no store can keep (a NUL, another control character, a lone surrogate), made with YAML escapes (red team, 2026-12-04)', () => {
    const base = readBase();
    // Each once answered 500 at a change request (PostgreSQL's jsonb refuses them), after the request was audited.
    expect(() => parseContract(base.replace(/^version: .*$/m, 'version: "2026.12.9\\u0000"'), 'c.yaml')).toThrow(
      /^c\.yaml:\d+: version: the text holds the control character U\+0000/,
    );
    expect(() => parseContract(base.replace(/^version: .*$/m, 'version: "2026.12.9\\u0001"'), 'c.yaml')).toThrow(/control character U\+0001/);
    expect(() => parseContract(base.replace(/^version: .*$/m, 'version: "2026.12.9\\ud800"'), 'c.yaml')).toThrow(/a lone surrogate/);
    expect(() => parseContract(`${base}"x\\u0000": 1\n`, 'c.yaml')).toThrow(/a key holds the control character U\+0000/);
    // Nor text that would forge or hijack what the CLI prints, or reorder a card: a carriage return, a C1 control, a bidi
    // control (red team, 2026-12-04: a reason forged a second `lane: autonomous` line in `policy explain`).
    for (const [escape, code] of [
      ['\\r', 'U+000D'],
      ['\\u009b', 'U+009B'],
      ['\\u202e', 'U+202E'],
      ['\\u2066', 'U+2066'],
    ])
      expect(() => parseContract(base.replace(/^version: .*$/m, `version: "2026.12.9${escape}"`), 'c.yaml')).toThrow(`control character ${code}`);
    // The same version without the escape parses.
    expect(() => parseContract(base.replace(/^version: .*$/m, 'version: "2026.12.9"'), 'c.yaml')).not.toThrow();
  });

  it('names a bad rule by its id and line', () => {
    const text = `${readBase()}rules:\n  - { id: bad-rule, actionTypes: [nope.nope], when: { field: target, eq: 1 }, lane: review, reason: r }\n`;
    expect(() => parseContract(text, 'c.yaml')).toThrow(/^c\.yaml:\d+: rules\[0\] \(bad-rule\).*unknown action type nope\.nope/);
  });

  it('refuses a prohibition or a scoring rule naming a type the contract lacks, or none, which would cover nothing (config probe, 2026-12-05)', () => {
    const base = readBase();
    const prohibited = (types: string) =>
      `${base}prohibited:\n  - { id: no-hold-removal, actionTypes: ${types}, when: { field: parameters.tags, in: [x] }, reason: r }\n`;
    expect(() => parseContract(prohibited('[support.refund]'), 'c.yaml')).not.toThrow();
    expect(() => parseContract(prohibited('[support.refnd]'), 'c.yaml')).toThrow(
      /^c\.yaml:\d+: prohibited\[0\] \(no-hold-removal\).*unknown action type support\.refnd/,
    );
    // A Cyrillic "с" in the name: another name, as far as the contract goes.
    expect(() => parseContract(prohibited('[support.refund, suppоrt.refund]'), 'c.yaml')).toThrow(/unknown action type suppоrt\.refund/);
    expect(() => parseContract(prohibited('[]'), 'c.yaml')).toThrow(/an empty list of action types covers none/);
    const scoring = (types: string) => `${base}scoring:\n  - { id: big, actionTypes: ${types}, when: { field: parameters.amount, gt: 50 }, points: 40 }\n`;
    expect(() => parseContract(scoring('[support.refund]'), 'c.yaml')).not.toThrow();
    expect(() => parseContract(scoring('[support.refnd]'), 'c.yaml')).toThrow(/^c\.yaml:\d+: scoring\[0\] \(big\).*unknown action type support\.refnd/);
    expect(() => parseContract(scoring('[]'), 'c.yaml')).toThrow(/covers none/);
  });

  it('refuses a condition the engine would read otherwise than it is written: two shapes in one, or a field with no test (config probe, 2026-12-05)', () => {
    const base = readBase();
    const rule = (when: string) => `${base}rules:\n  - { id: unqualified, actionTypes: [support.refund], when: ${when}, lane: prohibited, reason: r }\n`;
    // Each of these loaded, and the engine dropped a part: `not` read only its `all`, and a lone field always held.
    expect(() => parseContract(rule('{ not: { all: [{ field: context.a, in: [x] }], field: context.b, in: [y] } }'), 'c.yaml')).toThrow(
      /^c\.yaml:\d+: rules\[0\] \(unqualified\).*a condition is one of all, any, not, or a field with its tests, not all and field together/,
    );
    expect(() => parseContract(rule('{ all: [{ field: context.a, eq: 1 }], any: [{ field: context.b, eq: 2 }] }'), 'c.yaml')).toThrow(
      /not all and any together/,
    );
    expect(() => parseContract(rule('{ field: context.a }'), 'c.yaml')).toThrow(/a field condition needs a test \(eq, ne, gt.*"field" alone would always hold/);
    expect(() => parseContract(rule('{ all: [{ field: context.a, eq: 1 }, { field: context.b }] }'), 'c.yaml')).toThrow(/"field" alone would always hold/);
    expect(() => parseContract(rule('{ not: { field: context.a, eq: 1 }, eq: 2 }'), 'c.yaml')).toThrow(
      /"not" stands alone in its condition; eq beside it would be ignored/,
    );
    expect(() => parseContract(rule('{ eq: 2 }'), 'c.yaml')).toThrow(/a condition needs all, any, not, or a field with a test/);
    // Written as one thing each, they load.
    expect(() => parseContract(rule('{ not: { all: [{ field: context.a, in: [x] }, { field: context.b, in: [y] }] } }'), 'c.yaml')).not.toThrow();
    expect(() => parseContract(rule('{ field: context.a, gte: 1, lt: 5 }'), 'c.yaml')).not.toThrow();
  });

  it('refuses what loads and never fires: a field a decision does not read, an empty list, an empty pattern, two entries of one id, a YAML 1.1 directive (red team, 2026-12-05)', () => {
    const base = readBase();
    const rule = (when: string, extra = '') =>
      `${base}rules:\n  - { id: r1, actionTypes: [support.refund], when: ${when}, lane: prohibited, reason: r }\n${extra}`;
    expect(() => parseContract(rule('{ field: confidnce, lt: 0.6 }'), 'c.yaml')).toThrow(
      /rules\[0\] \(r1\).*confidnce names nothing a decision reads \(did you mean confidence\?\): a field starts with one of parameters, context/,
    );
    expect(() => parseContract(rule('{ field: time.hours, gte: 22 }'), 'c.yaml')).toThrow(
      /time\.hours names nothing a decision reads: time has time\.hour, time\.weekday/,
    );
    expect(() => parseContract(rule('{ field: proposer.modle.name, eq: x }'), 'c.yaml')).toThrow(/proposer\.modle\.name names nothing/);
    expect(() => parseContract(rule('{ field: target.id, eq: x }'), 'c.yaml')).toThrow(/target has no fields/);
    expect(() => parseContract(rule('{ not: { field: tenant, in: [] } }'), 'c.yaml')).toThrow(/an empty list matches nothing \(and everything under not\)/);
    expect(() => parseContract(rule("{ field: parameters.body, matches: '' }"), 'c.yaml')).toThrow(/an empty pattern matches every text/);
    expect(() =>
      parseContract(
        rule('{ field: target, eq: x }', '  - { id: r1, actionTypes: [support.refund], when: { field: tenant, eq: y }, lane: prohibited, reason: r }\n'),
        'c.yaml',
      ),
    ).toThrow(/rules\[1\] \(r1\).*another entry of rules is called r1: ids name one entry each/);
    expect(() => parseContract(`%YAML 1.1\n---\n${rule('{ field: region, in: [NO] }')}`, 'c.yaml')).toThrow(
      /a %YAML 1\.1 directive: the policy tools read YAML 1\.2 only/,
    );
    // What a decision reads, each: loads.
    for (const f of [
      'parameters.x',
      'context.y',
      'confidence',
      'tenant',
      'region',
      'target',
      'actionType',
      'proposer.agentId',
      'proposer.model.version',
      'time.weekday',
    ])
      expect(() => parseContract(rule(`{ field: ${f}, exists: true }`), 'c.yaml')).not.toThrow();
  });

  it('refuses a version YAML reads as a decimal number, which is not the version written (config probe, 2026-12-05)', () => {
    const base = readBase();
    expect(() => parseContract(base.replace(/^version: .*$/m, 'version: 2026.20'), 'c.yaml')).toThrow(
      /^c\.yaml:1: version: YAML reads this version as the number 2026\.2: write it in quotes/,
    );
    expect(parseContract(base.replace(/^version: .*$/m, "version: '2026.20'"), 'c.yaml').version).toBe('2026.20');
    expect(parseContract(base, 'c.yaml').version).toBe('1');
  });
});

describe('evaluate, property-based', () => {
  const types = [...Object.keys(contract.actions), 'unknown.action'];
  const arbProposal = fc.record({
    actionType: fc.constantFrom(...types),
    target: fc.oneof(fc.string(), fc.constantFrom('repo:x#main', 'order-1', 'jane@example.com')),
    parameters: fc.record(
      {
        amount: fc.oneof(fc.integer({ min: -10, max: 50000 }), fc.string()),
        fields: fc.array(fc.constantFrom('email', 'orders', 'iban')),
        recipients: fc.integer({ min: 0, max: 100 }),
        destination: fc.constantFrom('s3://ext', 's3://countersign-internal/x'),
      },
      { requiredKeys: [] },
    ),
    confidence: fc.double({ min: 0, max: 1, noNaN: true }),
    context: fc.record({ containsCommitment: fc.boolean() }, { requiredKeys: [] }),
  });
  const arbInputs = fc.record({
    killSwitch: fc.constantFrom('on', 'off', 'unknown'),
    degradationMode: fc.constantFrom('normal', 'elevated', 'constrained', 'halted', 'unknown'),
    trustStackHealthy: fc.constantFrom(true, false, 'unknown'),
    autonomy: fc.constantFrom('off', 'review-all', 'review-risky', 'autonomous', 'unknown'),
  });
  const strict = { autonomous: 0, review: 1, prohibited: 2 } as const;

  it('never throws, is deterministic, and is never less strict than a matching prohibited or review rule', () => {
    fc.assert(
      fc.property(arbProposal, arbInputs, (p, i) => {
        const full = { ...proposal(p.actionType), ...p } as ProposalInput;
        const inputs = { ...OK, ...i } as DecisionInputs;
        const d = evaluate(compiled, full, inputs);
        expect(evaluate(compiled, full, inputs)).toEqual(d);
        const baseline = evaluate(compiled, full, OK);
        // Inputs only ever tighten what the contract alone decides.
        expect(strict[d.lane]).toBeGreaterThanOrEqual(strict[baseline.lane]);
        const action = contract.actions[full.actionType];
        if (!action || action.lane === 'prohibited') expect(d.lane).toBe('prohibited');
        if (action?.lane === 'review') expect(strict[d.lane]).toBeGreaterThanOrEqual(1);
        for (const r of contract.rules ?? [])
          if (r.actionTypes.includes(full.actionType) && d.rulesFired.includes(r.id)) expect(strict[d.lane]).toBeGreaterThanOrEqual(strict[r.lane]);
      }),
      { numRuns: 500 },
    );
  });
});

describe('the explanation', () => {
  // Two money fields in a currency outside the rate table: the same rule fires twice, once for each.
  const swap = compileContract(
    parseContract(
      `${readBase()}  fx.swap:\n    owner: o\n    reversibility: reversible\n    customerImpact: low\n    regulatorySensitivity: none\n    blastRadius: single\n    lane: autonomous\n    reason: a small swap\n    parameters:\n      type: object\n      additionalProperties: false\n      properties:\n        amount: { money: { currency: currency } }\n        currency: { type: string }\n        fee: { money: { currency: feeCurrency } }\n        feeCurrency: { type: string }\nmoney: { reference: EUR, rates: { EUR: 1 }, unknownCurrency: prohibited }\n`,
      'swap.yaml',
    ),
  );
  const twice = proposalOf('fx.swap', { amount: 10, currency: 'BRL', fee: 1, feeCurrency: 'BRL' });

  it('leads with the decider, and names each rule once however often it fired', () => {
    const d = evaluate(swap, twice, OK);
    expect(d).toMatchObject({ lane: 'prohibited', decidedBy: 'contract' });
    expect(d.rulesFired).toEqual(['money:unknown-currency']);
    expect(d.reasons).toEqual([
      "parameters.amount is in a currency outside the contract's rate table: it cannot be compared in EUR",
      "parameters.fee is in a currency outside the contract's rate table: it cannot be compared in EUR",
    ]);
    const stopped = evaluate(swap, twice, { ...OK, killSwitch: 'off' });
    expect(stopped.rulesFired).toEqual(['kill-switch:off', 'money:unknown-currency']);
  });

  it('keeps nothing of one decision in the next, nor changes a decision already given', () => {
    const first = evaluate(swap, twice, { ...OK, autonomy: 'review-all', degradationMode: 'halted' });
    const kept = structuredClone(first);
    const next = evaluate(swap, proposalOf('fx.swap', { amount: 10, currency: 'EUR' }), OK);
    expect(next).toMatchObject({ lane: 'autonomous', rulesFired: ['fx.swap.lane'], reasons: ['a small swap'] });
    expect(first).toEqual(kept);
    // A lasting prohibition decides before one that passes; the others follow in order, then the contract's.
    expect(first.rulesFired).toEqual(['money:unknown-currency', 'degradation:halted', 'autonomy:review-all']);
  });
});

function readBase(): string {
  return 'version: 1\nservice: { name: s, model: { type: llm, version: "1" }, dataSources: [], owners: { product: a, platform: b, security: c, sre: d } }\nslaClasses: { normal: 60 }\nactions:\n  support.refund: { owner: o, reversibility: reversible, customerImpact: low, regulatorySensitivity: none, blastRadius: single, lane: autonomous, reason: r, parameters: { type: object, additionalProperties: true } }\n';
}
