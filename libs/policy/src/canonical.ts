import { asciiDigits, readableText, visibleText } from '@countersign/guardrails';

/**
 * The form the contract compares text in (docs/adr/0033). Two strings a person reads as the same value are
 * one value to the policy: `Email`, ` email`, `ＥＭＡＩＬ` and `e\u200bmail` are `email`; `order‐500` (a Unicode
 * hyphen) is `order-500`. Without it, a rule or a rate limit written for one spelling is dodged by another.
 *
 * - Unicode NFKC (full-width and other compatibility forms become their plain letters and digits);
 * - combining marks removed (`order-500` followed by U+0301, `café`: `order-500`, `cafe`), and the decimal digits of
 *   every script ASCII (`order-٥٠٠`, `order-५००`: `order-500`), as a downstream parser reads them;
 * - invisible format characters (Unicode Cf: zero-width, bidi controls, soft hyphen, BOM) removed;
 * - every run of white space (no-break and other Unicode spaces, line breaks) one space, none at either end;
 * - every dash (Unicode Pd) and minus sign `-`;
 * - every apostrophe and single quotation mark (`’`, `‘`, `ʼ`, `′`, …) `'`: "we’ll" is "we'll";
 * - lower case;
 * - Cyrillic, Greek, Armenian, Lisu and Cherokee letters that look like Latin ones (`а`, `е`, `о`, `р`, `с`, `ο`, `ν`,
 *   `օ`, `ս`, `ꓣ`, `Ꭱ`, …), and Latin small capitals, letters with a hook, stroke or tail and other letters NFKC keeps
 *   (`ᴏ`, `ʀ`, `ı`, `ƒ`, `ɾ`, `ł`), the Latin letter: the part of Unicode's confusable skeletons (UTS #39) that turns
 *   `оrder-500` or `аcme` into another value to a person's eye only.
 *
 * Plain printable ASCII (the common case) only pays for a test, a trim and the lower-casing.
 */
const PLAIN_ASCII = /^[\x20-\x7e]*$/;
const ASCII_SPACE_RUN = / {2,}/;
const FORMAT = /\p{Cf}/gu;
const MARK = /\p{M}/u;
const MARKS = /\p{M}/gu;
const SPACE_RUN = /[\s\p{Zs}]+/gu;
// Dashes (Pd), and the minus signs and other marks drawn as one (U+2212, U+2043, U+02D7, U+2796).
const DASH = /[\p{Pd}\u2212\u2043\u02d7\u2796]/gu;
// Apostrophes and single quotation marks drawn as one (U+2018, U+2019, U+201B, U+02BC, U+02B9, U+2032, U+0060, U+00B4).
const APOSTROPHE = /[\u2018\u2019\u201b\u02bc\u02b9\u2032\u0060\u00b4]/gu;

// Lower-case Cyrillic and Greek letters drawn like a Latin letter (after lower-casing), and that letter.
const LOOKALIKES: Record<string, string> = {
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  һ: 'h',
  і: 'i',
  ї: 'i',
  ј: 'j',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  ӏ: 'l',
  ɡ: 'g',
  α: 'a',
  β: 'b',
  ε: 'e',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ϲ: 'c',
  ϳ: 'j',
  // Red team, 2026-12-07: `rҽfund` (U+04BD) ran as a reply.
  ҽ: 'e',
  ҿ: 'e',
  ԍ: 'g',
  // Armenian (red team, 2026-12-04: `օrder-900` counted apart from `order-900`).
  ա: 'w',
  գ: 'q',
  զ: 'q',
  հ: 'h',
  ո: 'n',
  ռ: 'n',
  ս: 'u',
  ց: 'g',
  ք: 'p',
  օ: 'o',
  // Latin small capitals and other letters drawn as a plain one (`ᴏrder-900`), which NFKC leaves as they are.
  ᴀ: 'a',
  ʙ: 'b',
  ᴄ: 'c',
  ᴅ: 'd',
  ᴇ: 'e',
  ꜰ: 'f',
  ɢ: 'g',
  ʜ: 'h',
  ɪ: 'i',
  ᴊ: 'j',
  ᴋ: 'k',
  ʟ: 'l',
  ᴍ: 'm',
  ɴ: 'n',
  ᴏ: 'o',
  ᴘ: 'p',
  ʀ: 'r',
  ꜱ: 's',
  ᴛ: 't',
  ᴜ: 'u',
  ᴠ: 'v',
  ᴡ: 'w',
  ʏ: 'y',
  ᴢ: 'z',
  ı: 'i',
  ȷ: 'j',
  ɑ: 'a',
  ɩ: 'i',
  ʋ: 'u',
  ɒ: 'a',
};
// Latin letters with a hook, stroke, tail, bar or curl, which NFKC keeps and which have no mark to remove (`ƒ`, `ɾ`, `ɲ`,
// `ł`, `ɨ`; Latin Extended-A and -B, IPA, Phonetic Extensions, Latin Extended-C and -D), and the Latin ligatures NFKC
// keeps (`æ`, `œ`, `ȸ`): the letters they are drawn as. Each group is the letters drawn as the one before the colon.
// Turned and reversed letters (`ɐ`, `ə`, `ɹ`), and the letters of other alphabets (`ʃ`, `ʒ`, `ɣ`, `þ`), are not drawn as a
// Latin one and stay (the spec checks every letter of these blocks is one or the other).
const HOOKED_LATIN =
  'a:ⱥᶏ b:ƀɓƃƅᵬᶀꞗ c:ƈȼɕꞓꞔ d:đɖɗƌȡᵭᶁᶑð e:ɇɛᶒ f:ƒᵮᶂꞙ g:ɠǥʛᶃꞡ h:ħɦɧⱨꞕ i:ɨᵻᶖ j:ɉʄʝ k:ƙⱪꝁꝃꝅᶄꞣĸ l:łƚȴɫɬɭⱡꝉᶅǀ m:ɱᵯᶆ ' +
  'n:ɲƞȵɳᵰᶇꞑꞥŋ o:øɵ p:ƥᵱᵽᶈꝑꝓꝕ q:ɋʠꝗꝙ r:ɍɼɽɾᵲᵳᶉꞧ s:ȿʂᵴᶊꞩ t:ŧƫƭʈȶⱦᵵ u:ʉᵾᶙ v:ⱴꝟᶌ w:ⱳ x:ᶍ y:ƴɏ z:ƶȥɀʐʑⱬᵶᶎ ' +
  // Latin Extended-D and -E letters drawn as plain ones (red team, 2026-12-07: `refꭎnd`, `ꝛefund`, `ꞃefund` ran as replies).
  'd:ꝱ e:ꬲꬳꬴ f:ꝼ r:ꝛꞃꭇꭈꭉ u:ꭎꭏꭒ ' +
  'ae:æ oe:œ db:ȸ qp:ȹ dz:ʣʥ ts:ʦ tc:ʨ ls:ʪ lz:ʫ';
// Lisu letters (which have no case) drawn as Latin capitals: `ꓣꓰꓝꓴꓠꓓ` reads "REFUND" (red team, 2026-12-05). Lisu
// letters that are turned Latin ones (`ꓕ` ⊥, `ꓯ` ∀) are not.
const LISU = 'a:ꓮ b:ꓐ c:ꓚ d:ꓓ e:ꓰ f:ꓝ g:ꓖ h:ꓧ i:ꓲ j:ꓙ k:ꓗ l:ꓡ m:ꓟ n:ꓠ o:ꓳ p:ꓑ r:ꓣ s:ꓢ t:ꓔ u:ꓴ v:ꓦ w:ꓪ x:ꓫ y:ꓬ z:ꓜ';
// Cherokee capitals drawn as Latin letters (UTS #39 confusables); their lower case (U+AB70–U+ABBF, U+13F8–U+13FD, drawn
// as small capitals) folds too, since the canonical form lower-cases first.
const CHEROKEE = 'a:Ꭺ b:ᏴᏏ c:Ꮯ d:Ꭰ e:Ꭼ g:ᏀᏳ h:ᎻᏂ i:Ꭵ j:Ꭻ k:Ꮶ l:Ꮮ m:Ꮇ p:Ꮲ r:ᎡᏒ s:ᏚᏕ t:Ꭲ v:Ꮩ w:ᎳᏔ y:Ꭹ z:Ꮓ';
for (const groups of [HOOKED_LATIN, LISU, CHEROKEE])
  for (const group of groups.split(' ')) {
    const [latin, letters] = group.split(':');
    for (const c of letters) LOOKALIKES[c] = LOOKALIKES[c.toLowerCase()] = latin;
  }
const LOOKALIKE = new RegExp(`[${Object.keys(LOOKALIKES).join('')}]`, 'gu');

// The last short text made canonical, and its canonical form: a decision's rules read the same field again and again
// (a region in each of an action type's rules), and a text's canonical form depends on nothing but the text. One entry,
// of at most `REMEMBERED_LENGTH` characters: nothing large is kept, and comparing with it costs next to nothing.
const REMEMBERED_LENGTH = 256;
let lastText: string | undefined;
let lastCanonical = '';
let lastAscii = true;
const ASCII_ONLY = /^[\x00-\x7f]*$/;

/**
 * The readings of the last few long texts (a reply's body, which a dozen rules read, each in three or four readings),
 * each made once: made again for every rule, a 50 KB reply of `*a` or `<a ` took 200–400 ms to decide, and an agent
 * could hold the policy engine with them at its own rate (red team, 2026-12-07). `null`: the reading is the text itself.
 */
const LONG_KEPT = 4;
const longReadings = new Map<string, { canonical?: string; ascii?: boolean; shown?: string | null; visible?: string | null }>();
function readingsOf(s: string) {
  let readings = longReadings.get(s);
  if (!readings) {
    if (longReadings.size >= LONG_KEPT) longReadings.delete(longReadings.keys().next().value!);
    longReadings.set(s, (readings = {}));
  }
  return readings;
}

export function canonicalText(s: string): string {
  if (s === lastText) return lastCanonical;
  if (s.length > REMEMBERED_LENGTH) {
    const readings = readingsOf(s);
    return (readings.canonical ??= canonicalTextOf(s));
  }
  const canonical = canonicalTextOf(s);
  if (s.length <= REMEMBERED_LENGTH) {
    lastText = s;
    lastCanonical = canonical;
    lastAscii = ASCII_ONLY.test(s);
  }
  return canonical;
}

/**
 * Whether `s` is ASCII alone: its letters read the same as sent and canonical (no lookalike of another script to fold).
 * Remembered with the last text `canonicalText` read, which is asked first.
 */
export function isAsciiOnly(s: string): boolean {
  if (s === lastText) return lastAscii;
  if (s.length > REMEMBERED_LENGTH) {
    const readings = readingsOf(s);
    return (readings.ascii ??= ASCII_ONLY.test(s));
  }
  return ASCII_ONLY.test(s);
}

function canonicalTextOf(s: string): string {
  if (PLAIN_ASCII.test(s)) {
    const trimmed = (s.includes('`') ? s.replace(APOSTROPHE, "'") : s).trim();
    return (ASCII_SPACE_RUN.test(trimmed) ? trimmed.replace(/ +/g, ' ') : trimmed).toLowerCase();
  }
  // Lower case before the marks go: lower-casing can make one (`İ` is `i` and U+0307).
  const lower = s.normalize('NFKC').toLowerCase();
  const decomposed = lower.normalize('NFD');
  const bare = MARK.test(decomposed) ? decomposed.replace(MARKS, '').normalize('NFC') : lower;
  const t = asciiDigits(bare).replace(FORMAT, '').replace(SPACE_RUN, ' ').replace(DASH, '-').replace(APOSTROPHE, "'").trim();
  return t.replace(LOOKALIKE, (c) => LOOKALIKES[c]);
}

/** Separators: everything but letters and digits (punctuation, symbols, spaces), in the canonical text. */
const SEPARATORS = /[^\p{L}\p{N}]+/gu;

/** The zeros that lead a run of digits (the canonical text's digits are ASCII). */
const LEADING_ZEROS = /(?<![0-9])0+/g;

/**
 * The identity a limit counts under (a tenant, an order, a customer): the canonical text without its separators, so
 * `order-500`, `order_500`, `order.500`, `order 500`, `order/500` and `order500` are one order (
 * each had been a budget of its own; red team, 2026-12-04), and without the zeros that lead a number, so `order-0500`
 * and `order-500` are one order too, as a target that reads the number reads them (red team, second pass). Two ids
 * that differ only in punctuation or leading zeros then share one budget: stricter, never looser. An id of separators
 * alone keeps its canonical text (it would otherwise share the empty one).
 */
export function limitKey(s: string): string {
  const canonical = canonicalText(s);
  const bare = canonical.replace(SEPARATORS, '').replace(LEADING_ZEROS, '');
  return bare === '' ? canonical : bare;
}

/** An id of letters and then a number, nothing else (`limitKey`'s spelling): `order77`, `ord77`, `cust42`. */
const NAMED_NUMBER = /^\p{L}+(\p{N}+)$/u;

/**
 * The order or customer an aggregate limit counts under: `limitKey`, and an id that is a word and a number counted by
 * its number, so that the word naming the kind of thing is no part of it: `order-77`, `ord-77`, `#77`, `77` and
 * `ORDER 077` are one order (red team, 2026-12-05: each spelling had a budget of its own, so two refunds a day per
 * order became two per spelling). Within one tenant and one limit, two ids that share a number then share a budget:
 * stricter, never looser. Not for tenants: `acme2` and `beta2` stay two tenants (a shared budget there would let one
 * tenant spend another's).
 */
export function subjectKey(s: string): string {
  const key = limitKey(s);
  return key.match(NAMED_NUMBER)?.[1] ?? key;
}

/** `canonicalText` for strings; any other value as it is. */
export const canonicalValue = (v: unknown): unknown => (typeof v === 'string' ? canonicalText(v) : v);

/**
 * The canonical form of what a reader is shown when the text is rendered (HTML markup removed, character references
 * and escapes decoded: `<b>re</b>fund` and `re&#102;und` read `refund`), or `undefined` when the text has none, i.e.
 * it reads as `canonicalText` reads it. A pattern that must see through markup tests both (conditions.ts).
 */
export function shownText(s: string): string | undefined {
  return canonicalReading(s, 'shown', readableText);
}

/** The canonical form of `read(s)` (undefined: the reading is `s` itself); made once for a long text (`readingsOf`). */
function canonicalReading(s: string, which: 'shown' | 'visible', read: (s: string) => string | undefined): string | undefined {
  if (s.length <= REMEMBERED_LENGTH) {
    const reading = read(s);
    return reading === undefined ? undefined : canonicalText(reading);
  }
  const readings = readingsOf(s);
  if (readings[which] === undefined) {
    const reading = read(s);
    readings[which] = reading === undefined ? null : canonicalText(reading);
  }
  return readings[which] ?? undefined;
}

/**
 * The canonical form of what a reader sees when the text is rendered: `shownText` without the content of hidden elements
 * (`<span style="display:none">…</span>`, `hidden`, a zero font size: guardrails `hiddenRanges`), or `undefined` when
 * nothing in it is hidden. `re<span style="display:none">xyz</span>fund` is seen as `refund` (red team, 2026-12-05).
 */
export function visibleShownText(s: string): string | undefined {
  return canonicalReading(s, 'visible', visibleText);
}
