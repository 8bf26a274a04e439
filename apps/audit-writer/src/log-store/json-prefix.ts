/**
 * Whether `bytes` are the start of some well-formed JSON text (RFC 8259, in UTF-8): what a write cut short leaves of a
 * line. An empty input is the start of any text; a complete text counts too (nothing after it but whitespace). A
 * character cut inside its UTF-8 bytes, a `\u` escape cut inside its hex digits, a number cut after its sign, point or
 * exponent: all starts. A byte that no JSON text can have there (`{"a":1x`), invalid UTF-8, or a second value after
 * the first: not. Read in one pass, with a stack of the open arrays and objects (no recursion, no depth limit).
 */
export function isJsonTextPrefix(bytes: Uint8Array): boolean {
  const open: number[] = [];
  let state = VALUE;
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) {
      i++;
      continue;
    }
    switch (state) {
      case VALUE:
      case VALUE_OR_CLOSE:
        if (state === VALUE_OR_CLOSE && b === 0x5d) {
          open.pop();
          i++;
          state = afterValue(open);
          continue;
        }
        if (b === 0x7b) {
          open.push(OBJECT);
          state = KEY_OR_CLOSE;
          i++;
          continue;
        }
        if (b === 0x5b) {
          open.push(ARRAY);
          state = VALUE_OR_CLOSE;
          i++;
          continue;
        }
        i = b === 0x22 ? string(bytes, i + 1) : b === 0x2d || isDigit(b) ? number(bytes, i) : literal(bytes, i);
        state = afterValue(open);
        break;
      case KEY_OR_CLOSE:
      case KEY:
        if (state === KEY_OR_CLOSE && b === 0x7d) {
          open.pop();
          i++;
          state = afterValue(open);
          continue;
        }
        if (b !== 0x22) return false;
        i = string(bytes, i + 1);
        state = COLON;
        break;
      case COLON:
        if (b !== 0x3a) return false;
        i++;
        state = VALUE;
        break;
      case AFTER_VALUE: {
        const inside = open[open.length - 1];
        if (b === 0x2c) state = inside === OBJECT ? KEY : VALUE;
        else if ((b === 0x7d && inside === OBJECT) || (b === 0x5d && inside === ARRAY)) {
          open.pop();
          state = afterValue(open);
        } else return false;
        i++;
        break;
      }
      default:
        // END: one value per text, then only whitespace.
        return false;
    }
    if (i === CUT) return true;
    if (i === BAD) return false;
  }
  return true;
}

// What may come next.
const VALUE = 0;
/** Right after `[`: a value, or `]`. */
const VALUE_OR_CLOSE = 1;
/** Right after `{`: a key, or `}`. */
const KEY_OR_CLOSE = 2;
/** After `,` in an object: a key. */
const KEY = 3;
const COLON = 4;
/** After a value inside an array or object: `,` or its closing bracket. */
const AFTER_VALUE = 5;
/** After the top-level value: only whitespace. */
const END = 6;

const ARRAY = 0;
const OBJECT = 1;

/** What the scanners below return instead of the next index: the input ended inside the token, or it cannot be JSON. */
const CUT = -1;
const BAD = -2;

const afterValue = (open: number[]) => (open.length ? AFTER_VALUE : END);
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isHex = (b: number) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);

/** A string's rest, from just after its opening quote: the index after its closing quote, `CUT` or `BAD`. */
function string(bytes: Uint8Array, from: number): number {
  const n = bytes.length;
  let i = from;
  while (i < n) {
    const b = bytes[i];
    if (b === 0x22) return i + 1;
    if (b < 0x20) return BAD;
    if (b === 0x5c) {
      if (i + 1 >= n) return CUT;
      const e = bytes[i + 1];
      if (e === 0x75) {
        for (let k = i + 2; k < i + 6; k++) {
          if (k >= n) return CUT;
          if (!isHex(bytes[k])) return BAD;
        }
        i += 6;
      } else if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) i += 2;
      else return BAD;
      continue;
    }
    if (b < 0x80) {
      i++;
      continue;
    }
    const end = utf8(bytes, i);
    if (end < 0) return end;
    i = end;
  }
  return CUT;
}

/**
 * One UTF-8 character of two to four bytes at `at` (RFC 3629: no overlong form, no surrogate, nothing past U+10FFFF):
 * the index after it, `CUT` or `BAD`.
 */
function utf8(bytes: Uint8Array, at: number): number {
  const b = bytes[at];
  // The continuation bytes, and the narrower range the second one has after some leading bytes.
  let more: number;
  let low = 0x80;
  let high = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) more = 1;
  else if (b >= 0xe0 && b <= 0xef) {
    more = 2;
    if (b === 0xe0) low = 0xa0;
    if (b === 0xed) high = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    more = 3;
    if (b === 0xf0) low = 0x90;
    if (b === 0xf4) high = 0x8f;
  } else return BAD;
  for (let k = 1; k <= more; k++) {
    if (at + k >= bytes.length) return CUT;
    const c = bytes[at + k];
    if (k === 1 ? c < low || c > high : c < 0x80 || c > 0xbf) return BAD;
  }
  return at + more + 1;
}

/**
 * A number from its first byte (`-` or a digit): the index of the byte after it, `CUT` or `BAD`. It ends at the first
 * byte that cannot continue it, which must then end it whole (`1.` and `1e+` do not).
 */
function number(bytes: Uint8Array, from: number): number {
  const n = bytes.length;
  let i = from;
  if (bytes[i] === 0x2d) i++;
  if (i >= n) return CUT;
  if (bytes[i] === 0x30) i++;
  else if (isDigit(bytes[i])) while (i < n && isDigit(bytes[i])) i++;
  else return BAD;
  if (i < n && bytes[i] === 0x2e) {
    i++;
    if (i >= n) return CUT;
    if (!isDigit(bytes[i])) return BAD;
    while (i < n && isDigit(bytes[i])) i++;
  }
  if (i < n && (bytes[i] === 0x65 || bytes[i] === 0x45)) {
    i++;
    if (i < n && (bytes[i] === 0x2b || bytes[i] === 0x2d)) i++;
    if (i >= n) return CUT;
    if (!isDigit(bytes[i])) return BAD;
    while (i < n && isDigit(bytes[i])) i++;
  }
  // After a leading 0 a digit cannot follow (`01`): the byte after the number is checked by its caller's state.
  return i >= n ? CUT : i;
}

const LITERALS = ['true', 'false', 'null'].map((w) => Buffer.from(w));

/** `true`, `false` or `null` from its first byte: the index after it, `CUT` or `BAD`. */
function literal(bytes: Uint8Array, from: number): number {
  const word = LITERALS.find((w) => w[0] === bytes[from]);
  if (!word) return BAD;
  for (let k = 1; k < word.length; k++) {
    if (from + k >= bytes.length) return CUT;
    if (bytes[from + k] !== word[k]) return BAD;
  }
  return from + word.length;
}
