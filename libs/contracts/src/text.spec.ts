import { describeIssues, isSecretKey, ProposalSchema, ReviewDecidedV1, TOPIC_SCHEMAS, TOPICS } from './index';
import { z } from 'zod';
import {
  freeTextString,
  identifierString,
  isName,
  isWhiteSpaceCode,
  NAME_RULE,
  nameString,
  reasonString,
  VALUE_TEXT_RULE,
  visibleLettersOrDigits,
} from './text';

// real: the contract schemas; fake: nothing.
const proposal = {
  actionType: 'support.reply',
  target: 'ticket-1',
  parameters: { body: 'Hello,\r\n\tyour parcel ships tomorrow. 📦' },
  proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' },
  confidence: 0.9,
  tenant: 'acme',
  region: 'eu-west',
  context: { note: 'line one\nline two' },
};
const problems = (input: unknown) => {
  const r = ProposalSchema.safeParse(input);
  return r.success ? '' : describeIssues(r.error);
};

describe('control characters', () => {
  it('accepts a proposal whose free text has tabs, newlines and emoji', () => {
    expect(problems(proposal)).toBe('');
  });

  it.each([
    ['target', { ...proposal, target: 'order-77\u0000' }],
    ['tenant', { ...proposal, tenant: 'acme\u001b[31m' }],
    ['region', { ...proposal, region: 'eu\u0085west' }],
    ['proposer.agentId', { ...proposal, proposer: { ...proposal.proposer, agentId: 'support-copilot\u200b' } }],
    ['proposer.model.name', { ...proposal, proposer: { ...proposal.proposer, model: { name: 'gpt\u202ex', version: '1' } } }],
    ['proposer.promptTemplateVersion', { ...proposal, proposer: { ...proposal.proposer, promptTemplateVersion: 'v1\n' } }],
  ])('refuses a control or invisible character in %s', (field, input) => {
    expect(problems(input)).toBe(`${field}: must not contain control characters or invisible format characters`);
  });

  it('refuses NUL and other controls in free text, deep inside parameters and context, naming the path', () => {
    expect(problems({ ...proposal, parameters: { body: 'ok', lines: ['fine', 'bell\u0007'] } })).toBe(
      'parameters.lines.1: must not contain control characters other than tab, line feed and carriage return, nor bidirectional embedding, override or isolate characters (U+202A–U+202E, U+2066–U+2069)',
    );
    expect(problems({ ...proposal, context: { a: { b: '\u0000\u0000\u0000' } } })).toBe(
      'context.a.b: must not contain control characters other than tab, line feed and carriage return, nor bidirectional embedding, override or isolate characters (U+202A–U+202E, U+2066–U+2069)',
    );
    expect(problems({ ...proposal, parameters: { 'amo\u0000unt': 5 } })).toBe(
      'parameters: a key must not contain control characters or invisible format characters',
    );
  });

  it.each(['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'])(
    'refuses the bidi control %j in parameters and context: it reorders what the reviewer reads, not what the target runs',
    (c) => {
      const sql = `DELETE FROM orders WHERE created < '2020-01-01' ${c}OR 1=1 -- `;
      expect(problems({ ...proposal, parameters: { sql } })).toBe(`parameters.sql: ${VALUE_TEXT_RULE}`);
      expect(problems({ ...proposal, context: { notes: [sql] } })).toBe(`context.notes.0: ${VALUE_TEXT_RULE}`);
    },
  );

  it('accepts right-to-left text with its marks (U+200E, U+200F, U+061C), which reorder nothing', () => {
    expect(problems({ ...proposal, parameters: { body: 'שלום \u200fעולם\u200e and مرحبا\u061c' } })).toBe('');
  });

  it('refuses parameters nested deeper than 16 levels (so every event that carries them stays in the parser limit)', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 17; i++) deep = { a: deep };
    expect(problems({ ...proposal, parameters: deep })).toBe('parameters.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a: nested deeper than 16 levels');
    expect(problems({ ...proposal, parameters: (deep as { a: unknown }).a })).toBe('');
  });

  it('refuses anything but a string under a credential key, at any depth (red team, 2026-12-07: a deployment hidden under `password`)', () => {
    const rule =
      "holds a credential (scopedToken, privateKey, password, or another credential's name: apiKey, token, secret, …): one string, which every reviewer is shown as [secret]; an object, an array, a number or a boolean would hide what it holds from them";
    const hidden = { image: 'docker.io/attacker/miner:latest', replicas: 1000, privileged: true };
    expect(problems({ ...proposal, parameters: { replicas: 12, password: hidden } })).toBe(`parameters.password: ${rule}`);
    expect(problems({ ...proposal, parameters: { tls: { privateKey: ['-----BEGIN'] } } })).toBe(`parameters.tls.privateKey: ${rule}`);
    expect(problems({ ...proposal, context: { password: 1234 } })).toBe(`context.password: ${rule}`);
    // A string, or null, as a credential is: shown as [secret], sent as it is.
    expect(problems({ ...proposal, parameters: { password: 'hunter2', privateKey: null } })).toBe('');
    // Other names of a credential, however they are written (red team, 2026-12-07): the same rule.
    expect(problems({ ...proposal, parameters: { API_KEY: { x: 1 } } })).toBe(`parameters.API_KEY: ${rule}`);
    expect(problems({ ...proposal, context: { Token: 5 } })).toBe(`context.Token: ${rule}`);
  });

  it('names a credential key however it is written, and nothing that merely contains such a word', () => {
    for (const k of [
      'password',
      'Password',
      'PASSWD',
      'apiKey',
      'api_key',
      'API-KEY',
      'token',
      'access_token',
      'client_secret',
      'secret',
      'Authorization',
      'aws_secret_access_key',
      'privateKey',
    ])
      expect({ k, secret: isSecretKey(k) }).toEqual({ k, secret: true });
    for (const k of ['maxTokens', 'tokenCount', 'secretary', 'isSecret', 'passwordChangedAt', 'keyId', 'author'])
      expect({ k, secret: isSecretKey(k) }).toEqual({ k, secret: false });
  });

  it('refuses control characters in the envelope id fields and the actor', () => {
    const event = {
      id: 'e-1',
      type: TOPICS.proposalSubmitted,
      version: 1,
      source: 'agent',
      time: new Date().toISOString(),
      subject: 'action-1',
      correlationId: 'corr-1',
      causationId: null,
      actor: { id: 'support-copilot', kind: 'agent' },
      data: proposal,
    };
    const schema = TOPIC_SCHEMAS[TOPICS.proposalSubmitted];
    expect(schema.safeParse(event).success).toBe(true);
    for (const bad of [
      { id: 'e\u0000' },
      { subject: 'a\u0000' },
      { correlationId: 'c\r\n' },
      { source: 's\u007f' },
      { causationId: '\u0000' },
      { actor: { id: 'x\u0000', kind: 'agent' } },
    ]) {
      expect(schema.safeParse({ ...event, ...bad }).success).toBe(false);
    }
  });

  it('a review reason of three NULs is no reason', () => {
    const reason = freeTextString().trim().min(3);
    expect(reason.safeParse('\u0000\u0000\u0000').success).toBe(false);
    expect(reason.safeParse('photo shows\tthe damage\n').success).toBe(true);
    const decided = { decision: 'rejected', reviewers: [{ id: 'alice', kind: 'human' }], reason: '\u0000\u0000\u0000', digest: 'a'.repeat(64) };
    expect(ReviewDecidedV1.safeParse(decided).success).toBe(false);
    expect(ReviewDecidedV1.safeParse({ ...decided, reason: 'no evidence' }).success).toBe(true);
  });

  it('identifiers allow letters of any script, and refuse empty or too long ones', () => {
    expect(identifierString(10).safeParse('Zürich-東京').success).toBe(true);
    expect(identifierString(10).safeParse('').success).toBe(false);
    expect(identifierString(10).safeParse('x'.repeat(11)).success).toBe(false);
  });
});

describe('names (what a proposal names)', () => {
  const blankOrPadded = [' ', '   ', ' order-500', 'order-500 ', '\u00a0order-500', 'order-500\u3000', 'order-500\t', '\u2003acme', 'acme\u202f'];

  it('refuse a blank one and one that begins or ends with white space of any kind, and say so', () => {
    for (const s of blankOrPadded) {
      expect(isName(s)).toBe(false);
      const r = nameString().safeParse(s);
      expect(r.success).toBe(false);
    }
    expect(problems({ ...proposal, target: 'order-500 ' })).toContain(`target: ${NAME_RULE}`);
    expect(problems({ ...proposal, target: ' ' })).toContain(`target: ${NAME_RULE}`);
    expect(problems({ ...proposal, proposer: { ...proposal.proposer, agentId: '\u00a0support-copilot' } })).toContain(`proposer.agentId: ${NAME_RULE}`);
  });

  it('keep white space inside, one character, and every identifier rule', () => {
    for (const s of ['order 500', 'x', 'Zürich-東京', 'a\u00a0b']) {
      expect(isName(s)).toBe(true);
      expect(nameString().safeParse(s).success).toBe(true);
    }
    expect(isName('order\u200b1')).toBe(false);
    expect(nameString().safeParse('')).toMatchObject({ success: false });
    expect(isName('x'.repeat(201))).toBe(false);
  });

  it('read white space as \\s does, for every UTF-16 code unit', () => {
    const differ: number[] = [];
    for (let c = 0; c <= 0xffff; c++) if (isWhiteSpaceCode(c) !== /\s/.test(String.fromCharCode(c))) differ.push(c);
    expect(differ).toEqual([]);
  });

  it('say the same in the JSON Schema the contract publishes (a pattern)', () => {
    const schema = z.toJSONSchema(nameString()) as { pattern?: string; allOf?: Array<{ pattern: string }> };
    const patterns = [schema.pattern, ...(schema.allOf ?? []).map((p) => p.pattern)].filter((p): p is string => !!p).map((p) => new RegExp(p, 'u'));
    const accepts = (s: string) => patterns.every((p) => p.test(s));
    expect(blankOrPadded.some(accepts)).toBe(false);
    expect(accepts('order 500')).toBe(true);
  });
});

describe('reasons', () => {
  const reason = reasonString(3, 2000);
  const problem = (input: unknown) => {
    const r = reason.safeParse(input);
    return r.success ? '' : describeIssues(r.error);
  };

  it.each([
    ['three zero-width spaces', '\u200b\u200b\u200b'],
    ['zero-width joiners, a BOM and word joiners', '\u200d\ufeff\u2060\u200c'],
    ['Hangul fillers, which are letters that show nothing', '\u3164\u3164\u3164\u115f\u1160\uffa0'],
    ['braille blanks and no-break spaces', '\u2800\u2800\u2800\u00a0\u3000'],
    ['punctuation only', '...!?'],
    ['two letters padded with invisible characters', ' o\u200bk\u200b\u200b '],
    ['whitespace only', ' \t\n '],
    ['nothing', ''],
  ])('refuses a reason with fewer than 3 visible letters or digits: %s', (_name, input) => {
    expect(problem(input)).toBe('(root): must contain at least 3 letters or digits');
  });

  it.each([
    ['English', 'photo shows\tthe damage\n', 'photo shows\tthe damage'],
    ['digits', ' #421 ', '#421'],
    ['Japanese', '確認済み', '確認済み'],
    ['Arabic with a right-to-left mark', 'تم التحقق\u200f', 'تم التحقق\u200f'],
    ['an emoji sequence beside words', 'ok 👩\u200d💻 fine', 'ok 👩\u200d💻 fine'],
    ['letters split by zero-width spaces', 'y\u200be\u200bs', 'y\u200be\u200bs'],
  ])('accepts a reason that says something (%s), trimmed', (_name, input, output) => {
    expect(reason.parse(input)).toBe(output);
  });

  it.each(['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'])(
    'refuses the bidi control %j, which reorders what a reviewer reads',
    (control) => {
      expect(problem(`refund ${control}approved${control} for order 77`)).toBe(
        '(root): must not contain bidirectional embedding, override or isolate characters (U+202A–U+202E, U+2066–U+2069)',
      );
    },
  );

  it('names one rule per refusal: control characters first, then the length limit', () => {
    expect(problem('\u0000\u0000\u0000')).toBe('(root): must not contain control characters other than tab, line feed and carriage return');
    expect(problem('x'.repeat(2001))).toBe('(root): Too big: expected string to have <=2000 characters');
    expect(problem(` ${'x'.repeat(2000)} `)).toBe('');
    expect(problem(42)).toMatch(/expected string/);
  });

  it('counts visible letters and digits of any script, nothing invisible', () => {
    expect(visibleLettersOrDigits('a1 é٣中')).toBe(5);
    expect(visibleLettersOrDigits('\u200b\u3164\u00ad\u034f\ufe0f')).toBe(0);
  });

  it('takes its minimum', () => {
    expect(reasonString(10).safeParse('too short').success).toBe(false);
    expect(reasonString(10).safeParse('long enough').success).toBe(true);
  });
});
