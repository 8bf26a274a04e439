import { parseStrictJson } from './strict-json';

// real: the parser; fake: nothing.
const bytes = (...b: number[]) => Uint8Array.from(b);
const utf8 = (s: string) => new TextEncoder().encode(s);
const refused = (input: Uint8Array | string, limits?: Parameters<typeof parseStrictJson>[1]) => {
  const r = parseStrictJson(input, limits);
  if (r.ok) throw new Error(`accepted ${JSON.stringify(r.value).slice(0, 100)}`);
  return r;
};

describe('strict JSON parser', () => {
  it.each([
    '{"actionType":"support.refund","parameters":{"amount":12.5,"currency":"EUR","tags":["a","b"]},"confidence":0.95,"ok":true,"no":false,"x":null}',
    ' [ 0, -0, 1e3, -1.5E-7, 123456789012345000000000000000, "\\"\\\\\\/\\b\\f\\n\\r\\t", "\\u00e9\\ud83d\\ude00", "é😀" ] ',
    '"just a string"',
    '42',
    '{}',
    '[[],{},[{}]]',
    '[0.0, 0e-400, -0.000e-999, 5e-324]',
  ])('reads what JSON.parse reads: %s', (text) => {
    expect(parseStrictJson(utf8(text))).toEqual({ ok: true, value: JSON.parse(text) });
    expect(parseStrictJson(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });

  it('refuses a duplicate key, where JSON.parse lets the last one win', () => {
    const body = '{"actionType":"legal.statement","target":"t","actionType":"support.refund"}';
    expect(JSON.parse(body).actionType).toBe('support.refund');
    expect(refused(utf8(body))).toEqual({ ok: false, problem: 'duplicate-key', message: 'duplicate key "actionType" in the object at /' });
    expect(refused('{"parameters":{"list":[{"a":1},{"a":1,"a":2}]}}').message).toBe('duplicate key "a" in the object at /parameters/list/1');
  });

  it.each([6_000, 100_000])('refuses %i levels of nesting without overflowing the stack', (levels) => {
    for (const text of ['['.repeat(levels) + ']'.repeat(levels), '{"a":'.repeat(levels) + '1' + '}'.repeat(levels), '['.repeat(levels)]) {
      const r = refused(utf8(text));
      expect(r.problem).toBe('too-deep');
      expect(r.message).toMatch(/^nested deeper than 32 levels at \//);
    }
  });

  it('allows exactly the nesting limit, and names where it is passed', () => {
    expect(parseStrictJson('['.repeat(32) + ']'.repeat(32)).ok).toBe(true);
    expect(refused('['.repeat(33) + ']'.repeat(33)).problem).toBe('too-deep');
    expect(refused('{"parameters":{"a":{"b":[[1]]}}}', { maxDepth: 4 }).message).toBe('nested deeper than 4 levels at /parameters/a/b/0');
  });

  it.each([
    ['a lone continuation byte', bytes(0x22, 0x80, 0x22), 1],
    ['an invalid byte', bytes(0x22, 0x6f, 0xff, 0x22), 2],
    ['an overlong "/"', bytes(0x22, 0xc0, 0xaf, 0x22), 1],
    ['an encoded surrogate', bytes(0x22, 0xed, 0xa0, 0x80, 0x22), 1],
    ['a truncated sequence', bytes(0x22, 0x61, 0xe2, 0x82, 0x22), 2],
    ['Latin-1 instead of UTF-8', bytes(0x22, 0x6f, 0x72, 0x64, 0x65, 0x72, 0xe9, 0x22), 6],
  ])('refuses invalid UTF-8 (%s) instead of replacing it', (_name, input, at) => {
    expect(Buffer.from(input).toString('utf8')).toContain('\ufffd'); // what the old code silently read
    expect(refused(input)).toEqual({ ok: false, problem: 'invalid-encoding', message: `invalid UTF-8 at byte ${at}` });
  });

  it('refuses lone surrogates, escaped or in a string given as text', () => {
    expect(refused('{"target":"order\\ud800"}')).toMatchObject({ problem: 'invalid-encoding', message: 'lone surrogate \\uD800 in a string at position 16' });
    expect(refused('"\\udc00"').problem).toBe('invalid-encoding');
    expect(refused('"\\ud83dx"').problem).toBe('invalid-encoding');
    expect(refused('"a\ud800"').problem).toBe('invalid-encoding');
  });

  it('refuses a document over the size limit, in bytes', () => {
    const text = JSON.stringify({ body: 'é'.repeat(50) }); // 100 bytes of é, 61 characters
    expect(refused(utf8(text), { maxBytes: 100 })).toEqual({
      ok: false,
      problem: 'too-large',
      message: `${Buffer.byteLength(text)} bytes, over the 100-byte limit`,
    });
    expect(refused(text, { maxBytes: 100 }).problem).toBe('too-large');
    expect(parseStrictJson(utf8(text), { maxBytes: Buffer.byteLength(text) }).ok).toBe(true);
  });

  it('refuses raw control characters in strings, and a byte order mark', () => {
    expect(refused(utf8('{"reason":"a\u0000b"}')).message).toBe('unescaped control character U+0000 in a string at position 12');
    expect(refused(utf8('"line\nbreak"')).problem).toBe('syntax');
    expect(refused(bytes(0xef, 0xbb, 0xbf, 0x7b, 0x7d)).message).toBe('unexpected U+FEFF at position 0 where a value should be');
    // Escaped, a control character is valid JSON: whether a field may hold one is the schema's call.
    expect(parseStrictJson('"\\u0000"')).toEqual({ ok: true, value: '\u0000' });
  });

  it('refuses a __proto__ key anywhere, escaped or not, naming the object: code that copies it would drop it silently', () => {
    const body = '{"actionType":"support.reply","parameters":{"body":"ok","__proto__":{"x":1}}}';
    // What the old parser let through: a record schema copies the key onto the prototype, and the key is gone.
    expect(Object.keys(JSON.parse(body).parameters)).toEqual(['body', '__proto__']);
    expect(refused(utf8(body))).toEqual({ ok: false, problem: 'forbidden-key', message: 'key "__proto__" is not allowed in the object at /parameters' });
    expect(refused('{"__proto__":{"isAdmin":true}}').message).toBe('key "__proto__" is not allowed in the object at /');
    expect(refused('{"a":[{"b":1},{"__proto__":[]}]}').message).toBe('key "__proto__" is not allowed in the object at /a/1');
    expect(refused('{"ctx":{"\\u005f_proto__":1}}').message).toBe('key "__proto__" is not allowed in the object at /ctx');
    expect(({} as { isAdmin?: unknown }).isAdmin).toBeUndefined();
  });

  it('keeps constructor and prototype as ordinary keys: own data properties, refused or kept by the schema', () => {
    const r = parseStrictJson('{"constructor":"a","prototype":{"toString":1},"__proto":1,"__proto__x":2}');
    expect(r).toEqual({ ok: true, value: JSON.parse('{"constructor":"a","prototype":{"toString":1},"__proto":1,"__proto__x":2}') });
    const value = (r as { value: Record<string, unknown> }).value;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['constructor', 'prototype', '__proto', '__proto__x']);
  });

  it('reads a number of up to 15 significant digits, or one written as its double is, whatever its zeros', () => {
    for (const text of [
      '[0.30000000000000004]',
      '[123456789012345]',
      '[1.2345678901234567e5]',
      '[100000000000000000000]',
      '[0.000000000000000000001]',
      '[-50.10000000000000000]',
    ])
      expect({ text, read: parseStrictJson(text) }).toEqual({ text, read: { ok: true, value: JSON.parse(text) } });
  });

  it.each([
    ['', 'unexpected end of input where a value should be'],
    ['{"a":1,}', "unexpected '}' at position 7 where a key in double quotes should be"],
    ['[1,]', "unexpected ']' at position 3 where a value should be"],
    ['{"a":1} x', "unexpected 'x' at position 8 after the JSON value"],
    ["{'a':1}", "unexpected ''' at position 1 where a key in double quotes should be"],
    ['[01]', "unexpected '1' at position 2 where ',' or ']' should be"],
    ['[NaN]', "unexpected 'N' at position 1 where a value should be"],
    ['[1e309]', 'number 1e309 at position 1 is out of range'],
    ['[-1e400]', 'number -1e400 at position 1 is out of range'],
    ['{"amount":1e-400}', 'number 1e-400 at position 10 is too small to be read (it would be 0)'],
    ['[-2.5e-330]', 'number -2.5e-330 at position 1 is too small to be read (it would be 0)'],
    // More digits than the double keeps (red team, 2026-12-04): read, each would be another number.
    ['{"amount":50.000000000000001}', 'number 50.000000000000001 at position 10 has more digits than can be read exactly (it would be 50)'],
    ['[9007199254740993]', 'number 9007199254740993 at position 1 has more digits than can be read exactly (it would be 9007199254740992)'],
    ['[1234567890123456.7]', 'number 1234567890123456.7 at position 1 has more digits than can be read exactly (it would be 1234567890123456.8)'],
    [
      '[123456789012345678901234567890]',
      'number 123456789012345678901234567890 at position 1 has more digits than can be read exactly (it would be 1.2345678901234568e+29)',
    ],
    ['"abc', 'unterminated string starting at position 0'],
    ['"\\x"', 'invalid escape "\\\\x" in a string at position 1'],
    ['{"a" 1}', "unexpected '1' at position 5 where ':' should be"],
  ])('refuses malformed JSON precisely: %s', (text, message) => {
    expect(refused(text)).toEqual({ ok: false, problem: 'syntax', message });
  });
});
