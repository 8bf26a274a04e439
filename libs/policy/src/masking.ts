/**
 * Deterministic masking of regulated data in everything that reaches reviewers, logs and the audit
 * trail: e-mail addresses, card numbers (only digit runs that pass the Luhn check), IBANs (only those
 * that pass the mod-97 check), phone numbers, and configurable national-id patterns. The unmasked value
 * stays only where execution needs it. Framework-free.
 */

export interface MaskingOptions {
  /** Extra patterns (e.g. national ids), each replaced by `[<name>]`. Use the global flag. */
  nationalIds?: Array<{ name: string; pattern: RegExp }>;
  /** Keys whose values are identifiers or digests, never personal data: left as they are. */
  keepKeys?: ReadonlySet<string>;
}

/** Identifier and digest fields of Countersign's own events: masking them would break references. */
export const IDENTIFIER_KEYS: ReadonlySet<string> = new Set([
  'id', 'eventId', 'actionId', 'subject', 'correlationId', 'causationId', 'decisionEventId',
  'digest', 'shownDigest', 'contractHash', 'rootHash', 'signature', 'approval', 'nonce', 'keyId', 'offset',
]);

/** Built-in national-id patterns, each checked as a whole token. */
export const DEFAULT_NATIONAL_IDS = [
  { name: 'us-ssn', pattern: /\b\d{3}-\d{2}-\d{4}\b/g },
  { name: 'uk-nino', pattern: /\b[A-CEGHJ-PR-TW-Z]{2}\d{6}[A-D]\b/g },
];

/** True when a string of digits passes the Luhn check. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** True when an IBAN (spaces allowed) passes the ISO 13616 mod-97 check. */
export function ibanValid(iban: string): boolean {
  const s = iban.replace(/\s+/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(s)) return false;
  const rearranged = s.slice(4) + s.slice(0, 4);
  let rest = 0;
  for (const ch of rearranged) {
    const v = ch >= 'A' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const digit of v) rest = (rest * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return rest === 1;
}

/** What any built-in pattern needs somewhere in the text. */
const MAYBE_REGULATED = /[\d@]/;
const EMAIL = /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b/g;
const IBAN = /\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]){11,30}\b/g;
// A card number is written as one run of 13–19 digits or in the usual groups (4-4-4-4, 4-6-5).
const CARD = /\b\d{13,19}\b|\b\d{4}(?:[ -]\d{4}){3}\b|\b\d{4}[ -]\d{6}[ -]\d{5}\b/g;
// International numbers (+…), or numbers written with separators; a bare run of digits is an id, not a phone.
const PHONE = /(?<![\w+])(?:\+\d[\d ()-]{7,}\d|\(?\d{2,5}\)?[ -]\d{3,4}[ -]\d{3,5})\b/g;

/** Masks the regulated data in one string. Idempotent: masking masked text changes nothing. */
export function maskText(text: string, options: MaskingOptions = {}): string {
  // Every built-in pattern needs a digit or an '@': most strings (reasons, names, tags) have neither.
  if (!MAYBE_REGULATED.test(text)) return options.nationalIds?.length ? maskNationalIds(text, options.nationalIds) : text;
  let out = text.includes('@') ? text.replace(EMAIL, (m) => `${m[0]}***@[email]`) : text;
  out = out.replace(IBAN, (m) => (ibanValid(m) ? `${m.slice(0, 2)}** [iban …${m.replace(/\s/g, '').slice(-4)}]` : m));
  out = out.replace(CARD, (m) => {
    const digits = m.replace(/[ -]/g, '');
    return luhnValid(digits) ? `[card …${digits.slice(-4)}]` : m;
  });
  out = maskNationalIds(out, DEFAULT_NATIONAL_IDS);
  if (options.nationalIds?.length) out = maskNationalIds(out, options.nationalIds);
  out = out.replace(PHONE, (m) => (m.replace(/\D/g, '').length >= 9 ? `[phone …${m.replace(/\D/g, '').slice(-2)}]` : m));
  return out;
}

function maskNationalIds(text: string, patterns: ReadonlyArray<{ name: string; pattern: RegExp }>): string {
  let out = text;
  for (const { name, pattern } of patterns) out = out.replace(pattern, `[${name}]`);
  return out;
}

/** Masks every string inside a JSON-like value (keys are kept); returns a new value. */
export function maskDeep<T>(value: T, options: MaskingOptions = {}): T {
  if (typeof value === 'string') return maskText(value, options) as T;
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, options)) as T;
  if (value && typeof value === 'object') {
    const keep = options.keepKeys ?? IDENTIFIER_KEYS;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const masked = keep.has(k) ? v : maskDeep(v, options);
      // A key named __proto__ (JSON.parse makes one) stays a plain key, as Object.fromEntries would keep it.
      if (k === '__proto__') Object.defineProperty(out, k, { value: masked, enumerable: true, writable: true, configurable: true });
      else out[k] = masked;
    }
    return out as T;
  }
  return value;
}
