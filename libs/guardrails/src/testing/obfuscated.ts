import fc from 'fast-check';

// Ways to write a character of a card number or IBAN that a person still reads as it (in HTML too: inline markup shows nothing).
const INVISIBLE = [
  '',
  '',
  '',
  '\u200b',
  '\u200c',
  '\u200d',
  '\u2060',
  '\ufeff',
  '\u00ad',
  '\u202e',
  '\u2066',
  '<b>',
  '</span>',
  '<span style="x">',
  '<!-- -->',
];
const SEPARATOR = [' ', '\u00a0', '\u2009', '\u202f', '\u3000', '\n', '\r\n', '\t', '-', '\u2010', '\u2013', '\u2014', '\u2212'];
const digit = (d: number) =>
  fc.constantFrom(
    String(d),
    String.fromCharCode(0xff10 + d), // full width
    String.fromCharCode(0x0660 + d), // Arabic-Indic
    String.fromCharCode(0x0966 + d), // Devanagari
    String.fromCodePoint(0x1d7ce + d), // mathematical bold
    `&#${48 + d};`, // HTML reference
  );
const letter = (c: string) => fc.constantFrom(c, c.toLowerCase(), String.fromCharCode(c.charCodeAt(0) - 0x41 + 0xff21));

/** `secret` (digits, upper-case letters and spaces) written with full-width or other digits, other spaces and dashes, and invisible characters. */
export function obfuscated(secret: string): fc.Arbitrary<string> {
  const characters = [...secret].map((c) =>
    fc.tuple(/\d/.test(c) ? digit(Number(c)) : c === ' ' ? fc.constantFrom(...SEPARATOR) : letter(c), fc.constantFrom(...INVISIBLE)),
  );
  return fc.tuple(...characters).map((parts) => parts.map(([c, invisible]) => c + invisible).join(''));
}

/** Card numbers and an IBAN, with their kind. */
export const SECRETS = [
  ['4111 1111 1111 1111', 'card'],
  ['5500 0055 5555 5559', 'card'],
  ['3782 822463 10005', 'card'],
  ['DE89 3704 0044 0532 0130 00', 'iban'],
  ['GB82 WEST 1234 5698 7654 32', 'iban'],
] as const;

/** Text of any script: printable ASCII, the rest of the basic plane (but surrogates) and the supplementary planes. */
export const anyText = (maxLength: number): fc.Arbitrary<string> =>
  fc
    .array(fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0, max: 0xd7ff }), fc.integer({ min: 0xe000, max: 0x10ffff })), { maxLength })
    .map((codes) => String.fromCodePoint(...codes));
