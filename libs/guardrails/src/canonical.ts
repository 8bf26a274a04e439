/**
 * The canonical form the detectors read: the text as a person sees it, not as it is encoded. A card number in
 * full-width digits, split by no-break or zero-width spaces or across a line, an IBAN grouped with en dashes, an
 * e-mail address with `＠`, `&#64;` or `(at)`: each reads the same as its plain form here. Every character of the
 * canonical text knows the range of the original text it comes from, so masking can replace exactly the original
 * characters of what was found and leave the rest of the text as it was (ADR 0035).
 */

/** A text and, for each of its UTF-16 code units, the range `[lo, hi)` of the original text it comes from. */
export interface MappedText {
  text: string;
  lo: number[];
  hi: number[];
  /** For each code unit: 0 when it is text, else the number of the mask it belongs to. */
  mask?: number[];
}

/** One replacement: the code units `[start, end)` of a text become `text`. Edits are sorted and never overlap. */
export type Edit = [start: number, end: number, text: string];

/**
 * What a text needs for its canonical form to have a digit or an '@' (what every built-in detector needs): a digit
 * of any script, a character whose NFKC has a digit or an '@' (`①`, `㏠`, `＠`, `﹫`), an HTML character reference,
 * or an "at" that may be spelled out: the word (invisible characters and marks inside allowed), or a compatibility
 * form of its letters (modifier, sub- and superscript, circled, full-width, mathematical, squared, outlined letters).
 * Text of any script without them (most prose) has nothing to find and needs no canonical form.
 */
export const MAYBE_DIGIT_OR_AT =
  /[\p{N}@&\u32c0-\u32cb\u3358-\u3370\u3378\u3379\u339f-\u33a6\u33a8\u33af\u33e0-\u33fe\ufe6b\uff20]|(?<![a-zA-Z])[aA][\p{M}\p{Cf}\p{Default_Ignorable_Code_Point}]*[tT](?![a-zA-Z])|[\u00aa\u1d2c-\u1d6a\u2090-\u209c\u24b6-\u24e9\uff21-\uff5a\u{1ccd6}-\u{1ccf9}\u{1d400}-\u{1d6a5}\u{1f130}-\u{1f149}]/u;

// What a canonical form can change: a character outside printable ASCII, an HTML character reference, an escape
// (`\u0040`, `\x40`, `%40`), an "at"/"dot" written as a word, or HTML markup (a tag or a comment). Printable ASCII
// without them is its own canonical form.
// '…' is left out: every mask has one (`[card …1111]`) and it never hides anything.
export const MAYBE_OBFUSCATED = /[^\x20-\x7e\u2026]|&[#a-z]|\\(?:u[{0-9a-f]|x[0-9a-f])|%[0-9a-f]{2}|[\s([{<](?:at|dot)[\s)\]}>]|<[a-z/!]/i;
// Characters whose canonical form differs from themselves though NFKC keeps them: invisible (format, default
// ignorable, control) characters, separators, dashes, digits of other scripts, combining marks, the ideographic full stop.
const NOT_CANONICAL = /(?![ \-0-9])[\p{Cf}\p{Default_Ignorable_Code_Point}\p{Cc}\p{Z}\p{Pd}\p{Nd}\p{M}\u2212\u3002]/u;
// The tokens of the text as shown, in order: a run of printable ASCII but '&', '%', '<' and '\'; an HTML tag or comment
// (not `<at>` or `<dot>`, which spell out an e-mail address); an HTML character reference (decimal or hexadecimal); a
// JavaScript, JSON or C escape (`\u0040`, `\u{40}`, `\x40`) or a percent escape (`%40`), whose code is hexadecimal
// too; a named reference; a run of other characters without marks (one NFKC for the run: text of any script is mostly
// canonical already); or one character with its marks. The last five are the same in both readings:
const REFERENCES_AND_RUNS = String.raw`&#(?:(\d{1,7})|[xX]([0-9a-fA-F]{1,6}));?|\\(?:u([0-9a-fA-F]{4})|u\{([0-9a-fA-F]{1,6})\}|x([0-9a-fA-F]{2}))|%([0-9a-fA-F]{2})|&(commat|period|nbsp|hyphen|dash|ndash|mdash|minus);|([^\x00-\x7f\p{M}]+)(?!\p{M})|\P{M}\p{M}*|\p{M}+`;
const TOKEN_SHOWN = new RegExp(
  String.raw`([\x20-\x24\x27-\x3b\x3d-\x5b\x5d-\x7e]+)|(<!--[^]{0,4096}?-->|<\/?(?![aA][tT] ?>|[dD][oO][tT] ?>)[a-zA-Z][a-zA-Z0-9-]{0,31}(?:[\s/][^<>]{0,1024})?>)|${REFERENCES_AND_RUNS}`,
  'gu',
);
// As sent: the same tokens, but markup is text like any other ('<' in the ASCII runs; the markup group never matches).
const TOKEN_SENT = new RegExp(String.raw`([\x20-\x24\x27-\x5b\x5d-\x7e]+)|((?!))|${REFERENCES_AND_RUNS}`, 'gu');
// A character reference or an escape that the tokens decode.
const ESCAPED = /&[#a-z]|\\(?:u[{0-9a-f]|x[0-9a-f])|%[0-9a-f]{2}/i;
/** HTML markup (a tag or a comment): the text as shown differs from the text as sent. */
export const MARKUP = /<[a-z/!]/i;
// Tags a browser shows as a break between words (a line, a paragraph, a cell); any other tag joins what it separates
// (`4111<b>1111</b>…`, `re<span>fund</span>`).
const BREAKING_TAG =
  /^<\/?(?:br|p|div|li|ul|ol|dl|dt|dd|tr|td|th|table|thead|tbody|tfoot|caption|h[1-6]|hr|blockquote|pre|section|article|header|footer|nav|aside|main|address|figure|figcaption|details|summary|option|img|input|button|label)(?![a-z0-9-])/i;
const NAMED: Record<string, string> = { commat: '@', period: '.', nbsp: ' ', hyphen: '-', dash: '-', ndash: '-', mdash: '-', minus: '-' };
const CONTROL_SPACE = /[\t\n\v\f\r\x1c-\x1f\x85]/;
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}\p{Cc}]/u;
const SPACE = /[\s\p{Z}]/u;
const DASH = /[\p{Pd}\u2212]/u;
const MARK = /\p{M}/u;
const DIGIT = /\p{Nd}/u;

/**
 * The canonical form of `text` with its map back to `text`, or `undefined` when `text` is already canonical
 * (plain ASCII text almost always is, and costs one regular-expression test):
 * - NFKC (full-width and other compatibility forms become ASCII: `４` → `4`, `＠` → `@`, `．` → `.`);
 * - invisible characters removed: format characters (Unicode Cf: zero-width spaces and joiners, bidi controls,
 *   soft hyphen, BOM, word joiner), the other default-ignorable ones, control characters that are not line breaks;
 * - every other kind of whitespace (no-break and thin spaces, line breaks, tabs) a plain space, a run of them one;
 * - every dash (Unicode Pd, and the minus sign) `-`; the digits of every script ASCII; `。` a full stop;
 * - HTML character references decoded (`&#64;`, `&#x40;`, `&commat;`, `&period;`, `&nbsp;`, …), and so are escapes
 *   (`\u0040`, `\u{40}`, `\x40`, `%40`);
 * - read as `shown`: HTML markup removed as a browser would show the text: a comment or an inline tag
 *   (`4111<b>1111</b>`) is nothing, a tag that breaks the line or the block (`<br>`, `<p>`, `<td>`) a space;
 * - combining marks on an ASCII character (strike-through, underline) removed;
 * - e-mail addresses spelled out (`jane (at) example (dot) com`, `jane.doe at example dot com`) written with `@` and `.`.
 */
export function canonicalForm(text: string, reading: Reading = 'sent'): MappedText | undefined {
  if (!MAYBE_OBFUSCATED.test(text)) return undefined;
  const shown = reading === 'shown' && MARKUP.test(text);
  const characters = (/[^\x20-\x7e\u2026]/.test(text) && (NOT_CANONICAL.test(text) || text.normalize('NFKC') !== text)) || ESCAPED.test(text) || shown;
  let mapped = characters ? canonicalCharacters(text, shown ? TOKEN_SHOWN : TOKEN_SENT) : undefined;
  const spelled = spelledEmailEdits(mapped?.text ?? text);
  if (spelled.length) mapped = splice(mapped ?? identity(text), spelled);
  return mapped && mapped.text !== text ? mapped : undefined;
}

/**
 * The text as a person reads it where it is shown (markup removed, references and escapes decoded, invisible
 * characters gone, every space one space), or `undefined` when that is the text itself. The map back is dropped.
 */
export function readableText(text: string): string | undefined {
  return canonicalForm(text, 'shown')?.text;
}

/**
 * Which text a canonical form reads: the text as `sent` (markup is text: an attribute value is read like any other),
 * or as `shown` by a browser (markup removed: what tags split is joined). The detectors read both; a secret hidden in
 * one reading is found in the other.
 */
export type Reading = 'sent' | 'shown';

function identity(text: string): MappedText {
  const lo = new Array<number>(text.length);
  const hi = new Array<number>(text.length);
  for (let i = 0; i < text.length; i++) {
    lo[i] = i;
    hi[i] = i + 1;
  }
  return { text, lo, hi };
}

function canonicalCharacters(source: string, tokens: RegExp): MappedText {
  let text = '';
  const lo: number[] = [];
  const hi: number[] = [];
  // The last character written, kept apart: reading the end of a string being built would flatten it every time.
  let last = -1;
  const push = (c: string, from: number, to: number) => {
    text += c;
    last = c.charCodeAt(0);
    lo.push(from);
    hi.push(to);
    if (c.length === 2) {
      lo.push(from);
      hi.push(to);
    }
  };
  // What [from, to) of the source reads as (the canonical characters of a character, a reference, a run).
  const emit = (canonical: string, from: number, to: number) => {
    for (const c of canonical) {
      if (c === ' ') {
        // A run of whitespace (with the invisible characters in it) is one space.
        if (last === 32) hi[hi.length - 1] = to;
        else push(c, from, to);
      } else if (c.charCodeAt(0) >= 0x80 && MARK.test(c)) {
        // A mark on an ASCII character that NFKC could not compose (a strike-through, an underline) only decorates it.
        if (last < 0 || last >= 0x80) push(c, from, to);
      } else push(c, from, to);
    }
  };
  tokens.lastIndex = 0;
  for (let m = tokens.exec(source); m; m = tokens.exec(source)) {
    const from = m.index;
    const to = from + m[0].length;
    const [token, ascii, tag, decimal, hexReference, u4, uBraced, x2, percent, named, run] = m;
    const hex = hexReference ?? u4 ?? uBraced ?? x2 ?? percent;
    if (ascii !== undefined) {
      for (let i = from; i < to; i++) emit(source[i], i, i + 1);
    } else if (tag !== undefined) {
      // Markup is not text: a breaking tag reads as a space, any other tag or a comment as nothing.
      if (BREAKING_TAG.test(tag)) emit(' ', from, to);
    } else if (decimal !== undefined || hex !== undefined) {
      const code = decimal !== undefined ? Number(decimal) : parseInt(hex, 16);
      if (code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff)) emit(canonicalCharacter(String.fromCodePoint(code)), from, to);
      else for (let i = from; i < to; i++) emit(source[i], i, i + 1);
    } else if (named !== undefined) {
      emit(NAMED[named], from, to);
    } else if (run !== undefined && !NOT_CANONICAL.test(run) && run.normalize('NFKC') === run) {
      for (let i = from; i < to; i++) push(source[i], i, i + 1);
    } else if (run !== undefined) {
      // Without marks, nothing in the run composes: each character on its own.
      for (let i = from; i < to;) {
        const c = String.fromCodePoint(source.codePointAt(i) as number);
        emit(canonicalCharacter(c), i, i + c.length);
        i += c.length;
      }
    } else {
      emit(canonicalCharacter(token), from, to);
    }
  }
  return { text, lo, hi };
}

// The canonical characters of one character with its marks, out of context (spaces and marks are joined or dropped
// in context by `emit`). Remembered: a text repeats its characters, and NFKC and the Unicode classes cost.
const known = new Map<string, string>();

function canonicalCharacter(character: string): string {
  let canonical = known.get(character);
  if (canonical !== undefined) return canonical;
  canonical = '';
  // NFKC would make '…' three dots; every mask has one.
  for (const c of character === '\u2026' ? character : character.normalize('NFKC')) {
    const code = c.codePointAt(0) as number;
    if (code >= 0x20 && code < 0x7f) canonical += c;
    else if (CONTROL_SPACE.test(c)) canonical += ' ';
    else if (INVISIBLE.test(c)) continue;
    else if (SPACE.test(c)) canonical += ' ';
    else if (DASH.test(c)) canonical += '-';
    else if (c === '\u3002') canonical += '.';
    else if (DIGIT.test(c)) canonical += String(digitValue(code));
    else canonical += c;
  }
  if (known.size >= 4096) known.clear();
  known.set(character, canonical);
  return canonical;
}

/** `text` with the decimal digits of every script (`٥`, `५`, `๕`) written as ASCII digits (`5`). */
export function asciiDigits(text: string): string {
  return text.replace(DIGITS, (d) => String(digitValue(d.codePointAt(0)!)));
}
const DIGITS = /(?![0-9])\p{Nd}/gu;

// Decimal digits come in runs of whole blocks of ten, 0 to 9, in every script (a property test checks it).
function digitValue(code: number): number {
  let start = code;
  while (start > 0 && DIGIT.test(String.fromCodePoint(start - 1))) start--;
  return (code - start) % 10;
}

/**
 * `mapped` with `edits` applied: an edit's text comes from the whole original range of what it replaces (every
 * character of it, so nothing of the original can outlive a mask). With `mask`, the edits are masks numbered from it.
 */
export function splice(mapped: MappedText, edits: readonly Edit[], mask?: number): MappedText {
  const { text, lo, hi } = mapped;
  const marks = mapped.mask ?? (mask === undefined ? undefined : new Array<number>(text.length).fill(0));
  let out = '';
  const outLo: number[] = [];
  const outHi: number[] = [];
  const outMask: number[] | undefined = marks && [];
  const copy = (from: number, to: number) => {
    out += text.slice(from, to);
    for (let i = from; i < to; i++) {
      outLo.push(lo[i]);
      outHi.push(hi[i]);
      outMask?.push((marks as number[])[i]);
    }
  };
  let last = 0;
  for (let n = 0; n < edits.length; n++) {
    const [start, end, replacement] = edits[n];
    const id = mask === undefined ? 0 : mask + n;
    copy(last, start);
    let from = start < end ? lo[start] : start > 0 ? hi[start - 1] : 0;
    let to = from;
    for (let i = start; i < end; i++) {
      from = Math.min(from, lo[i]);
      to = Math.max(to, hi[i]);
    }
    out += replacement;
    for (let k = 0; k < replacement.length; k++) {
      outLo.push(from);
      outHi.push(to);
      outMask?.push(id);
    }
    last = end;
  }
  copy(last, text.length);
  return { text: out, lo: outLo, hi: outHi, ...(outMask && { mask: outMask }) };
}

// E-mail addresses spelled out: `jane.doe (at) example (dot) com`, `jane [at] example [dot] com`, `jane at example
// dot com`, `jane@example dot com`. Bounded like the parts of an address, so a long text costs linear time.
const AT = String.raw` {0,3}[([{<] ?at ?[)\]}>] {0,3}| {1,3}at {1,3}|@`;
const DOT = String.raw` {0,3}[([{<] ?dot ?[)\]}>] {0,3}| {1,3}dot {1,3}|\.`;
const WORD = String.raw`[\p{L}\p{N}_%+-]{1,64}`;
const LABEL = String.raw`[\p{L}\p{N}-]{1,63}`;
const SPELLED_EMAIL = new RegExp(
  String.raw`(?<![\p{L}\p{N}._%+-])${WORD}(?:(?:${DOT})${WORD}){0,8}(?:${AT})(?:${LABEL}(?:${DOT})){1,8}\p{L}{2,24}(?![\p{L}\p{N}_-])`,
  'giu',
);
const SEPARATOR = / {0,3}[([{<] ?(at|dot) ?[)\]}>] {0,3}| {1,3}(at|dot) {1,3}|([@.])/giu;
const MAYBE_SPELLED = /[ ([{<](?:at|dot)[ )\]}>]/i;
// Where a spelled address could be: an "at" with a domain label and a "dot" after it. Cheaper than SPELLED_EMAIL,
// which tries every word of the text.
const AT_THEN_DOT = new RegExp(String.raw`(?:${AT}) {0,3}${LABEL}(?:${DOT})`, 'iu');
// "at" and "dot" are also ordinary words ("look at the dot in the middle", "rich at the dot com boom"): spelled
// out as words (not in brackets) they make an address only with a common top-level domain that is no English word,
// a domain that is no article or pronoun, and a user name of letters.
const WORD_TLDS = new Set(
  (
    'com net org edu gov mil int info biz name pro mobi io ai app dev co eu uk de fr nl ch es se dk fi pl cz sk ru ua cn jp kr tw hk sg au nz ' +
    'ca mx br ar cl za ie pt gr hu ro bg hr si lt lv ee lu li cy mt tr il ae sa eg ng ke tv cc xyz online site email tech'
  ).split(' '),
);
const NOT_A_DOMAIN = new Set('the a an this that these those my your our his her its their any some each every all'.split(' '));

interface Separator {
  at: number;
  length: number;
  kind: 'at' | 'dot';
  style: 'symbol' | 'bracket' | 'word';
}

function spelledEmailEdits(text: string): Edit[] {
  if (!MAYBE_SPELLED.test(text) || !AT_THEN_DOT.test(text)) return [];
  const edits: Edit[] = [];
  SPELLED_EMAIL.lastIndex = 0;
  for (let m = SPELLED_EMAIL.exec(text); m; m = SPELLED_EMAIL.exec(text)) {
    const found = spelledSeparators(m[0]);
    if (!found) {
      SPELLED_EMAIL.lastIndex = m.index + ((m[0].codePointAt(0) as number) > 0xffff ? 2 : 1); // a shorter address may start inside
      continue;
    }
    for (const s of found) if (s.style !== 'symbol') edits.push([m.index + s.at, m.index + s.at + s.length, s.kind === 'at' ? '@' : '.']);
  }
  return edits;
}

// The separators of a candidate address when it is one spelled out, else undefined (a plain address: the
// detectors read it as it is; or words that only look like one).
function spelledSeparators(candidate: string): Separator[] | undefined {
  const separators: Separator[] = [];
  const parts: string[] = [];
  let last = 0;
  SEPARATOR.lastIndex = 0;
  for (let m = SEPARATOR.exec(candidate); m; m = SEPARATOR.exec(candidate)) {
    const kind = (m[1] ?? m[2] ?? (m[3] === '@' ? 'at' : 'dot')).toLowerCase() as 'at' | 'dot';
    separators.push({ at: m.index, length: m[0].length, kind, style: m[3] ? 'symbol' : m[1] ? 'bracket' : 'word' });
    parts.push(candidate.slice(last, m.index));
    last = m.index + m[0].length;
  }
  parts.push(candidate.slice(last));
  const at = separators.findIndex((s) => s.kind === 'at');
  if (at < 0 || separators.every((s) => s.style === 'symbol')) return undefined;
  if (separators.some((s) => s.style === 'word')) {
    const user = parts.slice(0, at + 1);
    const domain = parts.slice(at + 1);
    if (!WORD_TLDS.has(domain[domain.length - 1].toLowerCase()) || NOT_A_DOMAIN.has(domain[0].toLowerCase())) return undefined;
    if (!user.every((p) => /\p{L}/u.test(p))) return undefined;
    // "available at example.com" is a web site; "jane.doe at example.com" an address.
    if (separators[at].style === 'word' && separators.every((s) => s.kind === 'at' || s.style === 'symbol') && user.length < 2 && !/[_+]/.test(user[0]))
      return undefined;
  }
  return separators;
}
