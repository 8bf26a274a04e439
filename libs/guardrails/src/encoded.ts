/**
 * Text hidden in an encoding (ADR 0045): a card number, IBAN, e-mail address or phone number written in base64 (or
 * base64url, padded or not) or in hex, standing as one token. `decodedText` returns the text a token decodes to, when it
 * decodes to printable text at all; the scanner reads that text as it reads any other and masks the whole token when
 * something is found in it.
 *
 * Most tokens are not encodings (words, identifiers, digests, signatures): each is turned down by a test of its
 * characters before anything is decoded, and what decodes to bytes that are not printable text (a digest, a signature,
 * a key, random ids) is turned down after.
 */

/** The shortest base64 token read: 9 bytes (a phone number's nine digits, an e-mail address of nine characters). */
export const MIN_BASE64 = 12;
/** The shortest hex token read: 9 bytes. */
const MIN_HEX = 18;

/** A character of the base64 or base64url alphabet (padding aside). */
const isTokenChar = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47 || c === 45 || c === 95;

/**
 * Whether `text` has a token that may be printable text in base64 or hex: at least 12 characters, where the 1st, 5th and
 * 9th are each one that base64 of text (`mayBeBase64Text`) or hex of text (`mayBeHexText`) has there. One test in
 * native code, nothing allocated: most strings (words, sentences, a run of one letter) fail it.
 */
const LEAD = '[CDI-Za-f0-7]';
export const MAY_HOLD_ENCODED_TEXT = new RegExp(String.raw`(?:^|[^A-Za-z0-9+/_-])(?:${LEAD}[A-Za-z0-9+/_-]{3}){3}`);

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

/**
 * Calls `visit(pieces)` for each token of `text` that may be an encoding: at least `MIN_BASE64` characters of the
 * base64 and base64url alphabets, then at most two `=`, with none of those characters either side. `pieces` holds its
 * start and end, or, for base64 wrapped over lines or split by spaces (MIME wraps it at 76 characters), the start and
 * end of each piece: every piece but the last at least `MIN_BASE64` characters, a whole number of groups of four and
 * unpadded, the pieces apart by whitespace only. A loop over the characters once the test above passed: it runs on every
 * string of every decision.
 */
export function forEachToken(text: string, visit: (pieces: number[]) => void): void {
  if (!MAY_HOLD_ENCODED_TEXT.test(text)) return;
  const n = text.length;
  for (let i = 0; i < n;) {
    if (!isTokenChar(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const end = tokenEnd(text, i);
    if (end < 0) {
      // Not a token (more padding, or a token character after it: `x=…`): what follows the `=` run is read anew.
      while (i < n && isTokenChar(text.charCodeAt(i))) i++;
      while (i < n && text.charCodeAt(i) === 61) i++;
      continue;
    }
    // Shorter tokens (most words) start nothing: nothing is allocated for them.
    if (end - i < MIN_BASE64) {
      i = end;
      continue;
    }
    const pieces = [i, end];
    // Wrapped: while the last piece is a whole line of base64 (long enough, whole groups, unpadded), whitespace and a next
    // piece that is a token too continue it.
    let last = end;
    while (last - pieces[pieces.length - 2] >= MIN_BASE64 && (last - pieces[pieces.length - 2]) % 4 === 0 && text.charCodeAt(last - 1) !== 61) {
      let next = last;
      while (next < n && isSpace(text.charCodeAt(next))) next++;
      if (next === last || next === n || !isTokenChar(text.charCodeAt(next))) break;
      const nextEnd = tokenEnd(text, next);
      if (nextEnd < 0) break;
      pieces.push(next, nextEnd);
      last = nextEnd;
    }
    visit(pieces);
    i = last;
  }
}

/** The end (padding included) of the token of `text` starting at `i`, or -1 when more `=` or a token character follow. */
function tokenEnd(text: string, i: number): number {
  const n = text.length;
  let end = i + 1;
  while (end < n && isTokenChar(text.charCodeAt(end))) end++;
  const body = end;
  while (end < n && end - body < 2 && text.charCodeAt(end) === 61) end++;
  return end === n || (text.charCodeAt(end) !== 61 && !isTokenChar(text.charCodeAt(end))) ? end : -1;
}

/**
 * The first character of each group of four in base64 holds the top six bits of a byte. A printable ASCII byte (0x20–
 * 0x7e) or a tab, line feed or carriage return has them between 2 and 31: `C`, `D`, `I`–`Z`, `a`–`f`. A word, a hex
 * digest or random base64 fails this within a few groups, before anything is decoded.
 */
function mayBeBase64Text(text: string, start: number, length: number): boolean {
  if (length < MIN_BASE64 || length % 4 === 1) return false;
  for (let i = start; i < start + length; i += 4) {
    const c = text.charCodeAt(i);
    if (!(c === 67 || c === 68 || (c >= 73 && c <= 90) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** Hex of printable ASCII: an even length, and the high digit of each byte 2–7 (or 0 before 9, a or d: a tab or line break). */
function mayBeHexText(text: string, start: number, end: number): boolean {
  if (end - start < MIN_HEX || (end - start) % 2 === 1) return false;
  for (let i = start; i < end; i += 2) {
    const hi = text.charCodeAt(i);
    const lo = text.charCodeAt(i + 1) | 32; // lower case
    if (!((lo >= 48 && lo <= 57) || (lo >= 97 && lo <= 102))) return false;
    if (hi >= 50 && hi <= 55) continue; // '2'–'7'
    if (hi === 48 && (lo === 57 || lo === 97 || lo === 100)) continue; // 09, 0a, 0d
    return false;
  }
  return true;
}

/** Whether every byte is printable ASCII, a tab or a line break. */
function printable(bytes: Buffer): boolean {
  for (const b of bytes) if (!((b >= 0x20 && b <= 0x7e) || b === 0x09 || b === 0x0a || b === 0x0d)) return false;
  return bytes.length > 0;
}

/**
 * The text that the pieces of a token (`forEachToken`) encode together in base64, when they decode to printable ASCII
 * text; otherwise undefined.
 */
export function decodedPieces(text: string, pieces: number[]): string | undefined {
  let joined = '';
  for (let p = 0; p < pieces.length; p += 2) joined += text.slice(pieces[p], pieces[p + 1]);
  return decodedText(joined);
}

/**
 * The text that `text` from `start` to `end` (a whole token, padding included) encodes in hex or base64, when it decodes
 * to printable ASCII text; otherwise undefined. Nothing is allocated for a token the character tests turn down.
 */
export function decodedText(text: string, start = 0, end = text.length): string | undefined {
  if (mayBeHexText(text, start, end)) return Buffer.from(text.slice(start, end), 'hex').toString('latin1');
  // Hex written as a literal, `0x…` (red team, 2026-12-07: `0x3431…` was read as base64, and decoded to nothing).
  if (text.charCodeAt(start) === 48 && (text.charCodeAt(start + 1) | 32) === 120 && mayBeHexText(text, start + 2, end))
    return Buffer.from(text.slice(start + 2, end), 'hex').toString('latin1');
  let body = end;
  while (body > start && text.charCodeAt(body - 1) === 61) body--;
  if (!mayBeBase64Text(text, start, body - start)) return undefined;
  // Node's base64 decoder reads both alphabets (`+/` and `-_`), padded or not.
  const bytes = Buffer.from(text.slice(start, end), 'base64');
  return printable(bytes) ? bytes.toString('latin1') : undefined;
}
