/**
 * Deterministic masking of regulated data in everything that reaches reviewers, logs, Redis and the audit
 * trail: e-mail addresses, card numbers (only those that pass the Luhn check, in any separator form or as
 * JSON numbers), IBANs (any case, only those that pass the mod-97 check), phone numbers, and configurable
 * national-id patterns. The detectors are in detectors.ts; the unmasked value stays only where execution
 * needs it. Framework-free. The detectors read the canonical form of the text (canonical.ts), so a card number in
 * full-width digits, split by zero-width or no-break spaces, or an e-mail address written `(at)` is masked too; a mask
 * replaces exactly the original characters of what it hides, and text with nothing to mask comes back unchanged.
 */
import { isSecretKey, SECRET_KEYS } from '@countersign/contracts';
import { DEFAULT_NATIONAL_IDS, IDENTIFIER_KEYS, keptBelow, MAX_SCAN_DEPTH, MaskingOptions, maskNumberValue, scanText } from './detectors';

export { DEFAULT_NATIONAL_IDS, IDENTIFIER_KEYS, ibanValid, luhnValid } from './detectors';
export type { MaskingOptions } from './detectors';

/** The operational contract's own national-id patterns, once a contract has named them in this process. */
let contractNationalIds: MaskingOptions['nationalIds'];

/**
 * The operational contract's own national-id patterns (`masking.nationalIds`, e.g. `de-tax-id`), applied from now on by
 * every `maskText` and `maskDeep` in this process that is given none of its own: reviewers' reasons, the review items,
 * the action timelines, the audit trail, the logs and error messages mask them as the policy engine's decision does.
 * Called by the contract as it is loaded and at each approved change (libs/policy `RunningContract`); an empty list
 * leaves the built-in detectors only. The patterns come from a validated, four-eyes-approved contract.
 */
export function useContractNationalIds(patterns: ReadonlyArray<{ name: string; pattern: string }>): void {
  contractNationalIds = patterns.length ? patterns.map((p) => ({ name: p.name, pattern: new RegExp(p.pattern, 'g') })) : undefined;
}

/** `options`, with the contract's national ids when it names none. */
const withContractIds = (options: MaskingOptions): MaskingOptions =>
  options.nationalIds === undefined && contractNationalIds ? { ...options, nationalIds: contractNationalIds } : options;

/** Masks the regulated data in one string. Idempotent: masking masked text changes nothing. */
export function maskText(text: string, options: MaskingOptions = {}): string {
  return scanText(text, withContractIds(options));
}

/**
 * Keys whose values are credentials, not data: a scoped token (`cst1.…`) is a bearer credential for a privileged action
 * type until it expires, bound to no agent or action, so whoever reads one can use it. Never kept or shown, whoever
 * looks: `maskDeep` and `redactSecrets` replace their values with `SECRET_SHOWN` (red team, 2026-12-04: the token was in
 * the audit trail and on every reviewer's card). Execution and the policy engine read the proposal as sent.
 */
export { SECRET_KEYS };

/** What a secret's value is shown as. */
export const SECRET_SHOWN = '[secret]';

/**
 * Every form masking writes in place of a value, but a contract's own national ids: an e-mail address (`j***@[email]`),
 * a card, an IBAN or a phone number with its last digits (`[card …1111]`, `DE** [iban …3000]`, `[phone …67]`), a
 * built-in national id (`[us-ssn]`, `[uk-nino]`), a secret (`[secret]`), encoded data (`[encoded email, card]`), a value
 * too deep to read (`[too deep]`).
 */
const MASK_FORMS = new RegExp(
  [
    String.raw`\*\*\*@\[email(?:\]| at )`,
    String.raw`\[(?:card|iban|phone) …[^\]\n]{0,8}\]`,
    `\\[(?:${[...new Set(DEFAULT_NATIONAL_IDS.map((n) => n.name))].join('|')}|secret|too deep)\\]`,
    String.raw`\[encoded [^\]\n:]{1,200}[\]:]`,
  ].join('|'),
  'u',
);

/**
 * Whether `text` shows what masking writes in place of a value (`MASK_FORMS`), or `[<name>]` for one of `names` (a
 * contract's own national ids, `MaskingOptions.nationalIds`): text holding one was edited from a masked value, and holds
 * no value there, only the mask (red team, 2026-12-07: `[de-tax-id]`, `[secret]` and `[encoded email]` edited in part on
 * a card went out to a customer as written).
 */
export function showsMask(text: string, names: Iterable<string> = []): boolean {
  if (MASK_FORMS.test(text)) return true;
  for (const name of names) if (text.includes(`[${name}]`)) return true;
  return false;
}

const isSecret = (key: string, value: unknown): boolean => isSecretKey(key) && value !== undefined && value !== null;

/**
 * A copy of a JSON-like value with every secret (`SECRET_KEYS`) replaced and nothing else changed: what a reviewer who
 * may see regulated data (`pii:view`) is shown.
 */
export function redactSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => redactSecrets(v)) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isSecret(k, v) ? SECRET_SHOWN : redactSecrets(v);
  return out as T;
}

/**
 * Masks every string, every object key and every card number given as a number inside a JSON-like value, and replaces
 * every secret (`SECRET_KEYS`);
 * returns a new value of the same shape. Values under `keepKeys` (identifiers, digests) get only the
 * checksum-validated detectors and e-mail. Never throws: past `MAX_SCAN_DEPTH` levels a value is replaced
 * by `[too deep]` (what cannot be scanned is not kept).
 */
export function maskDeep<T>(value: T, options: MaskingOptions = {}): T {
  return mask(value, withContractIds(options), options.keepKeys ?? IDENTIFIER_KEYS, false, []) as T;
}

// `within`: the objects being masked around this one (a log object may refer to itself: `[Circular]`, as pino writes).
function mask(value: unknown, options: MaskingOptions, keep: ReadonlySet<string>, strict: boolean, within: object[]): unknown {
  if (typeof value === 'string') return scanText(value, options, strict);
  if (typeof value === 'number') return maskNumberValue(value, options, strict) ?? value;
  if (value === null || typeof value !== 'object') return value;
  if (within.length >= MAX_SCAN_DEPTH) return '[too deep]';
  if (within.includes(value)) return '[Circular]';
  within.push(value);
  try {
    return maskObject(value, options, keep, strict, within);
  } finally {
    within.pop();
  }
}

function maskObject(value: object, options: MaskingOptions, keep: ReadonlySet<string>, strict: boolean, within: object[]): unknown {
  if (Array.isArray(value)) return value.map((v) => mask(v, options, keep, strict, within));
  // Masked as JSON would write it (a Date as its ISO string).
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return mask((value as { toJSON(): unknown }).toJSON(), options, keep, strict, within);
  const out: Record<string, unknown> = {};
  // Own enumerable keys in Object.entries' order, without an array of pairs per object (masking runs on every decision).
  for (const k in value) {
    if (!Object.prototype.hasOwnProperty.call(value, k)) continue;
    const v = (value as Record<string, unknown>)[k];
    // A key's own value is read as an identifier if its key is one; an object below it is not, and under agent content no key is.
    const masked = isSecret(k, v) ? SECRET_SHOWN : mask(v, options, keptBelow(k, keep), keep.has(k), within);
    // An e-mail used as a key is masked like any other; two keys masked alike both stay (`#2`, `#3`, …).
    const base = scanText(k, options);
    let key = base;
    for (let n = 2; Object.prototype.hasOwnProperty.call(out, key); n++) key = `${base}#${n}`;
    // A key named __proto__ (JSON.parse makes one) stays a plain key, as Object.fromEntries would keep it.
    if (key === '__proto__') Object.defineProperty(out, key, { value: masked, enumerable: true, writable: true, configurable: true });
    else out[key] = masked;
  }
  return out;
}
