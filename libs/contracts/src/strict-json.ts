/**
 * The one JSON parser of every ingress (HTTP bodies and bus messages). Stricter than `JSON.parse`:
 *
 * - bytes must be valid UTF-8 (never silently replaced), a string input must be well-formed UTF-16;
 * - a size limit (bytes) and a nesting limit (objects and arrays), checked while parsing;
 * - a duplicate key in one object is an error (with `JSON.parse` the last one wins, so a reader that
 *   looks at the first one and a reader that looks at the last one disagree about what was sent);
 * - an escaped lone surrogate (`"\ud800"`) is an error: re-encoded it would turn into U+FFFD;
 * - a number that does not fit a double (`1e309`) is an error, not `Infinity`, and one too small for it (`1e-400`) is an
 *   error, not 0, and one with more significant digits than the double it is read as (`50.000000000000001`) is an error,
 *   not that double;
 * - a `__proto__` key is an error: `JSON.parse` keeps it as an own property, but most code that copies or validates
 *   an object (`obj[key] = value`, zod's records) sets the prototype instead, so the key and its value vanish
 *   silently, past a schema that refuses unknown keys. `constructor` and `prototype` stay ordinary keys: an own
 *   property of that name is data everywhere, and free text may use the words.
 *
 * It is iterative (an explicit stack of open containers), so no input can overflow the call stack.
 */

/** Nesting limit of a whole document (objects and arrays) when the caller does not say. */
export const MAX_JSON_DEPTH = 32;
/** Size limit when the caller does not say. */
export const MAX_JSON_BYTES = 1024 * 1024;

/** Why a document was refused: `too-large` maps to 413 over HTTP, everything else to 400. */
export type StrictJsonProblem = 'too-large' | 'invalid-encoding' | 'too-deep' | 'duplicate-key' | 'forbidden-key' | 'syntax';

export type StrictJsonResult = { ok: true; value: unknown } | { ok: false; problem: StrictJsonProblem; message: string };

export interface StrictJsonLimits {
  /** Most bytes (UTF-8) of the document. */
  maxBytes?: number;
  /** Most objects and arrays nested in one another: `{}` is 1 deep, `{"a":[]}` 2. */
  maxDepth?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class Refusal {
  constructor(
    readonly problem: StrictJsonProblem,
    readonly message: string,
  ) {}
}

/** One open object or array; `key` is the key whose value is being read (objects). */
interface Frame {
  container: Record<string, unknown> | unknown[];
  isArray: boolean;
  key: string;
}

/**
 * Parses a JSON document under the limits, or says precisely why not (with the position or the JSON
 * pointer of the problem). Never throws.
 */
export function parseStrictJson(input: Uint8Array | string, limits: StrictJsonLimits = {}): StrictJsonResult {
  const maxBytes = limits.maxBytes ?? MAX_JSON_BYTES;
  const maxDepth = limits.maxDepth ?? MAX_JSON_DEPTH;
  let text: string;
  if (typeof input === 'string') {
    const bytes = Buffer.byteLength(input, 'utf8');
    if (bytes > maxBytes) return { ok: false, problem: 'too-large', message: `${bytes} bytes, over the ${maxBytes}-byte limit` };
    if (!(input as unknown as { isWellFormed(): boolean }).isWellFormed())
      return { ok: false, problem: 'invalid-encoding', message: 'text contains a lone surrogate' };
    text = input;
  } else {
    if (input.length > maxBytes) return { ok: false, problem: 'too-large', message: `${input.length} bytes, over the ${maxBytes}-byte limit` };
    try {
      text = utf8.decode(input);
    } catch {
      return { ok: false, problem: 'invalid-encoding', message: `invalid UTF-8 at byte ${firstInvalidUtf8(input)}` };
    }
  }
  try {
    return { ok: true, value: new Parser(text, maxDepth).document() };
  } catch (e) {
    if (e instanceof Refusal) return { ok: false, problem: e.problem, message: e.message };
    throw e;
  }
}

class Parser {
  private pos = 0;
  private readonly frames: Frame[] = [];

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  document(): unknown {
    const { text, frames } = this;
    for (;;) {
      // Read one value; an opened container is pushed and its first member read on the next turn.
      this.skipWhitespace();
      const c = text.charCodeAt(this.pos);
      let value: unknown;
      if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
        if (frames.length >= this.maxDepth) {
          throw new Refusal('too-deep', `nested deeper than ${this.maxDepth} levels at ${this.pointer(frames.length)}`);
        }
        this.pos++;
        this.skipWhitespace();
        const isArray = c === 0x5b;
        const container = isArray ? [] : {};
        if (text.charCodeAt(this.pos) === (isArray ? 0x5d : 0x7d)) {
          this.pos++;
          value = container;
        } else {
          const frame: Frame = { container, isArray, key: '' };
          frames.push(frame);
          if (!isArray) frame.key = this.memberKey(frame);
          continue;
        }
      } else {
        value = this.primitive();
      }
      // Store the value in its container; close every container that ends here.
      for (;;) {
        const top = frames[frames.length - 1];
        if (!top) {
          this.skipWhitespace();
          if (this.pos < text.length) this.unexpected('after the JSON value');
          return value;
        }
        // No key is `__proto__` (memberKey refuses it), so an assignment makes an own data property.
        if (top.isArray) (top.container as unknown[]).push(value);
        else (top.container as Record<string, unknown>)[top.key] = value;
        this.skipWhitespace();
        const next = text.charCodeAt(this.pos);
        if (next === 0x2c /* , */) {
          this.pos++;
          if (!top.isArray) top.key = this.memberKey(top);
          break;
        }
        if (next === (top.isArray ? 0x5d : 0x7d)) {
          this.pos++;
          frames.pop();
          value = top.container;
          continue;
        }
        this.unexpected(top.isArray ? "where ',' or ']' should be" : "where ',' or '}' should be");
      }
    }
  }

  /** Reads `"key":` of an object member, refusing `__proto__` and a key the object already has. */
  private memberKey(frame: Frame): string {
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) !== 0x22) this.unexpected('where a key in double quotes should be');
    this.pos++;
    const key = this.string();
    if (key === '__proto__') {
      throw new Refusal('forbidden-key', `key "__proto__" is not allowed in the object at ${this.pointer(this.frames.length - 1)}`);
    }
    if (Object.prototype.hasOwnProperty.call(frame.container, key)) {
      throw new Refusal('duplicate-key', `duplicate key ${quote(key)} in the object at ${this.pointer(this.frames.length - 1)}`);
    }
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) !== 0x3a /* : */) this.unexpected("where ':' should be");
    this.pos++;
    return key;
  }

  private primitive(): unknown {
    const { text } = this;
    const c = text.charCodeAt(this.pos);
    if (c === 0x22) {
      this.pos++;
      return this.string();
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) return this.number();
    for (const [word, value] of LITERALS) {
      if (text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    return this.unexpected('where a value should be');
  }

  /** The rest of a string whose opening quote was consumed. */
  private string(): string {
    const { text } = this;
    let out = '';
    let start = this.pos;
    for (;;) {
      if (this.pos >= text.length) throw new Refusal('syntax', `unterminated string starting at position ${start - 1}`);
      const c = text.charCodeAt(this.pos);
      if (c === 0x22) {
        out += text.slice(start, this.pos);
        this.pos++;
        return out;
      }
      if (c === 0x5c /* \ */) {
        out += text.slice(start, this.pos) + this.escape();
        start = this.pos;
      } else if (c < 0x20) {
        throw new Refusal('syntax', `unescaped control character ${codePoint(c)} in a string at position ${this.pos}`);
      } else {
        this.pos++;
      }
    }
  }

  private escape(): string {
    const at = this.pos;
    const c = this.text[this.pos + 1];
    this.pos += 2;
    switch (c) {
      case '"':
      case '\\':
      case '/':
        return c;
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'u': {
        const unit = this.hex4(at);
        if (unit >= 0xdc00 && unit <= 0xdfff) throw new Refusal('invalid-encoding', `lone surrogate \\u${hex(unit)} in a string at position ${at}`);
        if (unit < 0xd800 || unit > 0xdbff) return String.fromCharCode(unit);
        // A high surrogate must be followed by an escaped low one: together they are one character.
        if (this.text[this.pos] === '\\' && this.text[this.pos + 1] === 'u') {
          this.pos += 2;
          const low = this.hex4(this.pos - 2);
          if (low >= 0xdc00 && low <= 0xdfff) return String.fromCharCode(unit, low);
        }
        throw new Refusal('invalid-encoding', `lone surrogate \\u${hex(unit)} in a string at position ${at}`);
      }
      default:
        throw new Refusal('syntax', `invalid escape ${quote(`\\${c ?? ''}`)} in a string at position ${at}`);
    }
  }

  private hex4(at: number): number {
    const digits = this.text.slice(this.pos, this.pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) throw new Refusal('syntax', `invalid \\u escape in a string at position ${at}`);
    this.pos += 4;
    return parseInt(digits, 16);
  }

  /** `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, and it must fit a double. */
  private number(): number {
    const { text } = this;
    const start = this.pos;
    const digits = () => {
      const from = this.pos;
      while (this.pos < text.length && text.charCodeAt(this.pos) >= 0x30 && text.charCodeAt(this.pos) <= 0x39) this.pos++;
      return this.pos - from;
    };
    if (text.charCodeAt(this.pos) === 0x2d) this.pos++;
    if (text.charCodeAt(this.pos) === 0x30) this.pos++;
    else if (!digits()) this.unexpected('in a number');
    if (text.charCodeAt(this.pos) === 0x2e /* . */) {
      this.pos++;
      if (!digits()) this.unexpected('in a number');
    }
    if ((text.charCodeAt(this.pos) | 0x20) === 0x65 /* e */) {
      this.pos++;
      if (text.charCodeAt(this.pos) === 0x2b || text.charCodeAt(this.pos) === 0x2d) this.pos++;
      if (!digits()) this.unexpected('in a number');
    }
    const literal = text.slice(start, this.pos);
    const value = Number(literal);
    if (!Number.isFinite(value)) throw new Refusal('syntax', `number ${literal.slice(0, 40)} at position ${start} is out of range`);
    // `1e-400` is not 0: read as 0, an amount would pass every limit (red team, 2026-12-02).
    if (value === 0 && /[1-9]/.test(literal.split(/[eE]/)[0]))
      throw new Refusal('syntax', `number ${literal.slice(0, 40)} at position ${start} is too small to be read (it would be 0)`);
    // `50.000000000000001` is not 50: read as 50, it would be decided and run as 50 (red team, 2026-12-04). Any 15
    // significant digits are read exactly; past that, the digits must be those the double is written with.
    if (this.pos - start > 15 && lostPrecision(literal, value))
      throw new Refusal('syntax', `number ${literal.slice(0, 40)} at position ${start} has more digits than can be read exactly (it would be ${value})`);
    return value;
  }

  private skipWhitespace(): void {
    const { text } = this;
    for (;;) {
      const c = text.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos++;
      else return;
    }
  }

  private unexpected(where: string): never {
    if (this.pos >= this.text.length) throw new Refusal('syntax', `unexpected end of input ${where}`);
    const ch = String.fromCodePoint(this.text.codePointAt(this.pos)!);
    const shown = /^[\x21-\x7e]$/.test(ch) ? `'${ch}'` : codePoint(ch.codePointAt(0)!);
    throw new Refusal('syntax', `unexpected ${shown} at position ${this.pos} ${where}`);
  }

  /** The JSON pointer of the value being read inside the first `depth` open containers. */
  private pointer(depth: number): string {
    let out = '';
    for (const f of this.frames.slice(0, depth)) {
      out += `/${f.isArray ? (f.container as unknown[]).length : f.key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      if (out.length > 200) return `${out.slice(0, 200)}…`;
    }
    return out || '/';
  }
}

const LITERALS: ReadonlyArray<[string, unknown]> = [
  ['true', true],
  ['false', false],
  ['null', null],
];

/** A number's significant digits: no sign, point or exponent, no zeros before the first digit or after the last. */
const significant = (text: string): string => text.split(/[eE]/)[0].replace(/[-+.]/g, '').replace(/^0+/, '').replace(/0+$/, '');

/** Whether the literal holds digits its double does not: more than 15 significant ones, and not the double's own. */
function lostPrecision(literal: string, value: number): boolean {
  const digits = significant(literal);
  return digits.length > 15 && digits !== significant(Math.abs(value).toExponential());
}

const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
const codePoint = (n: number) => `U+${hex(n)}`;
const quote = (s: string) => JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}…` : s);

/** The offset of the first byte that is not part of a well-formed UTF-8 sequence (for a message that says where). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    const [len, min] =
      b < 0x80 ? [1, 0] : b >= 0xc2 && b <= 0xdf ? [2, 0x80] : b >= 0xe0 && b <= 0xef ? [3, 0x800] : b >= 0xf0 && b <= 0xf4 ? [4, 0x10000] : [0, 0];
    if (!len || i + len > bytes.length) return i;
    let cp = len === 1 ? b : b & (0xff >> (len + 1));
    for (let k = 1; k < len; k++) {
      if ((bytes[i + k] & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (bytes[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += len;
  }
  return bytes.length;
}
