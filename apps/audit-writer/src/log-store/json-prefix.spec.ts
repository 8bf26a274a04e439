import fc from 'fast-check';
import { isJsonTextPrefix } from './json-prefix';

// real: the prefix check on bytes, JSON.parse to hold it to; fake: nothing.
const prefix = (text: string | Buffer) => isJsonTextPrefix(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);

/** Every byte prefix of `text`'s UTF-8, the whole included. */
const cuts = (text: string) => {
  const bytes = Buffer.from(text, 'utf8');
  return Array.from({ length: bytes.length + 1 }, (_, n) => bytes.subarray(0, n));
};

describe('isJsonTextPrefix: the start of a well-formed JSON text, as a write cut short leaves it', () => {
  it('takes every cut of a line the audit file writes, in the middle of a character or an escape too', () => {
    const line = JSON.stringify({
      index: 12,
      entry: {
        _index: 12,
        eventId: 'ab-1',
        data: { note: 'a "quote", a \\ and \u0001 \u00e9\u4e2d\u{1f600}', amount: -480.25e-2, list: [1, [true, false, null], {}] },
      },
      leafHash: 'f'.repeat(64),
    });
    // The escapes are really there: a `\u` escape and a 4-byte character, to be cut inside.
    expect(line).toContain('\\u0001');
    expect(Buffer.byteLength('\u{1f600}')).toBe(4);
    for (const cut of cuts(line)) expect({ cut: cut.toString('latin1'), prefix: isJsonTextPrefix(cut) }).toEqual({ cut: cut.toString('latin1'), prefix: true });
  });

  it('takes the examples of a torn line: an object cut in a string, a number cut mid-way, nested arrays, whitespace', () => {
    for (const text of [
      '',
      '   ',
      '{"_index":12,"eventId":"ab',
      '{"a":-',
      '{"a":1.',
      '{"a":1.5e',
      '{"a":1.5e+',
      '{"a":0',
      '[[[1,[2,[',
      ' { "a" : [ 1 , 2 ] , "b" : nu',
      '{"a":"\\',
      '{"a":"\\u00',
      '{"a":tr',
      '"text"',
      '{"a":1} ',
      '{"a":"x"}\r\n\t ',
    ])
      expect({ text, prefix: prefix(text) }).toEqual({ text, prefix: true });
  });

  it('takes a UTF-8 character cut short, and refuses bytes that are no UTF-8 at all', () => {
    const e = Buffer.from('{"a":"é', 'utf8');
    expect(isJsonTextPrefix(e.subarray(0, e.length - 1))).toBe(true);
    const emoji = Buffer.from('["\u{1f600}', 'utf8');
    for (let cut = 1; cut <= 4; cut++) expect(isJsonTextPrefix(emoji.subarray(0, emoji.length - cut + 1))).toBe(true);
    // A lone continuation byte, an overlong form, a surrogate, a leading byte past U+10FFFF, a character cut then
    // followed by another byte.
    for (const bad of [[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf5, 0x80], [0xe4, 0xb8, 0x22]])
      expect({ bad, prefix: isJsonTextPrefix(Buffer.concat([Buffer.from('{"a":"'), Buffer.from(bad)])) }).toEqual({ bad, prefix: false });
  });

  it('refuses what no write cut short leaves: a byte no JSON text has there', () => {
    for (const text of [
      '{"a":1x',
      '{"a":01',
      '{"a":1.x',
      '{"a":1e+x',
      '{"a":-x',
      '{"a";1',
      '{"a":1,}',
      '{,',
      '[1,]',
      '[1}',
      '{"a":1]',
      '{a:1',
      '{"a":truE',
      '{"a":nulll',
      '{"a":"\\x',
      '{"a":"\\u00g',
      '{"a":"tab\there',
      '{"a":1} {',
      '{"a":1}x',
      '1 2',
      "{'a':1",
      '\ufeff{"a":1',
      '{"a":1\u0000',
    ])
      expect({ text, prefix: prefix(text) }).toEqual({ text, prefix: false });
  });

  it('refuses a whole line of the audit file with one byte changed where it breaks the JSON, and its newline cut', () => {
    const line = JSON.stringify({ index: 7, entry: { _index: 7, eventId: 'e7', data: { lane: 'review' } }, leafHash: 'a'.repeat(64) });
    expect(prefix(line)).toBe(true);
    expect(prefix(line.replace('"index":7', '"index";7'))).toBe(false);
    expect(prefix(line.replace('{"_index"', '{_"index"'))).toBe(false);
    expect(prefix(line.replace('"lane":"review"}', '"lane":"review"]'))).toBe(false);
  });

  it('agrees with JSON.parse: every cut of any JSON text is a start, and a text JSON.parse reads is one, one byte changed or not', () => {
    // A fixed seed: the same texts every run.
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.nat(), fc.nat(), fc.constantFrom(...'{}[],:"\\-+.eE0 a\u0000'), (value, indent, at, byte) => {
        const text = JSON.stringify(value, null, indent % 3);
        for (const cut of cuts(text)) expect(isJsonTextPrefix(cut)).toBe(true);
        expect(prefix(`${text}x`)).toBe(false);
        const changed = text.slice(0, at % (text.length + 1)) + byte + text.slice((at % (text.length + 1)) + 1);
        let parses = true;
        try {
          JSON.parse(changed);
        } catch {
          parses = false;
        }
        if (parses) expect(prefix(changed)).toBe(true);
      }),
      { seed: 20261204, numRuns: 300 },
    );
  });
});
