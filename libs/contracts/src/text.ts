import { z } from 'zod';

/**
 * What characters may appear where (docs/adr/0008).
 *
 * - Identifiers (ids, action types, targets, tenants, regions, agent ids, model names, principals, keys of
 *   free objects): no control characters at all (C0, DEL, C1), and none of the invisible format characters
 *   that make two ids look alike or reorder what a person reads (zero-width, bidi overrides and isolates,
 *   soft hyphen, BOM), nor line or paragraph separators.
 * - Free text (reasons, a reply's body, string values in parameters and context): tab, line feed and
 *   carriage return are allowed; every other C0 control, DEL and the C1 controls are not.
 *
 * Both are plain character classes, so the generated JSON Schema carries them as `pattern` too. Lone
 * surrogates never get this far from outside: the strict parser refuses them.
 */
const IDENTIFIER_FORBIDDEN = '\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u206f\\ufeff\\ufff9-\\ufffb';
const TEXT_FORBIDDEN = '\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f';

// Every default-ignorable code point too (tag characters U+E0000–E007F, variation selectors, Hangul fillers, U+034F…):
// drawn as nothing, `orders-db\u{E0020}` showed as `orders-db` (red team, 2026-12-04).
const IDENTIFIER_PATTERN = new RegExp(`^[^${IDENTIFIER_FORBIDDEN}\\p{Default_Ignorable_Code_Point}]*$`, 'u');
const TEXT_PATTERN = new RegExp(`^[^${TEXT_FORBIDDEN}]*$`);

export const IDENTIFIER_RULE = 'must not contain control characters or invisible format characters';
export const TEXT_RULE = 'must not contain control characters other than tab, line feed and carriage return';

/** True when `s` may be used as an identifier. */
export const isIdentifierText = (s: string): boolean => IDENTIFIER_PATTERN.test(s);
/** True when `s` is a string `identifierString(max)` accepts. */
export const isIdentifier = (s: unknown, max = 200): s is string => typeof s === 'string' && s.length >= 1 && s.length <= max && IDENTIFIER_PATTERN.test(s);
/** True when `s` may be used as free text. */
export const isFreeText = (s: string): boolean => TEXT_PATTERN.test(s);

// A string value of a proposal's parameters or context: free text without the bidi controls either (`BIDI_RULE`). A
// reviewer reads these on the card and the target acts on them: `… < '2020-01-01' \u202e\u2066OR 1=1\u2069\u2066 -- \u2069`
// reads as a commented-out `OR 1=1` and runs as a live one.
const VALUE_TEXT_PATTERN = new RegExp(`^[^${TEXT_FORBIDDEN}\\u202a-\\u202e\\u2066-\\u2069]*$`);
export const VALUE_TEXT_RULE =
  'must not contain control characters other than tab, line feed and carriage return, nor bidirectional embedding, override or isolate characters (U+202A–U+202E, U+2066–U+2069)';
/** True when `s` may be a string value of a proposal's parameters or context (`VALUE_TEXT_RULE`). */
export const isFreeValueText = (s: string): boolean => VALUE_TEXT_PATTERN.test(s);

/** An id-like string: 1..max characters, no control or invisible format characters. */
// Aborts on a control or invisible character, so a rule chained after it (`nameString`) does not say the same value twice.
export const identifierString = (max = 200) => z.string().min(1).max(max).regex(IDENTIFIER_PATTERN, { message: IDENTIFIER_RULE, abort: true });

// A name begins and ends with a character that is not white space (any Unicode space: U+00A0, U+3000, …), so it is
// never blank either. One character class each end, so the JSON Schema carries it as a `pattern` too.
const NAME_EDGES_PATTERN = /^\S(?:[\s\S]*\S)?$/;

/**
 * Whether a UTF-16 code unit is white space as `\s` reads it (ECMAScript's WhiteSpace and LineTerminator), without a
 * regular expression: the decision path asks it of six names per proposal.
 */
export const isWhiteSpaceCode = (c: number): boolean =>
  c === 32 ||
  (c >= 9 && c <= 13) ||
  c === 0xa0 ||
  c === 0x1680 ||
  (c >= 0x2000 && c <= 0x200a) ||
  c === 0x2028 ||
  c === 0x2029 ||
  c === 0x202f ||
  c === 0x205f ||
  c === 0x3000 ||
  c === 0xfeff;
export const NAME_RULE = 'must not be blank, nor begin or end with white space';

/**
 * What a proposal names (its target, tenant, region, agent, model, prompt template): an identifier (`identifierString`)
 * that neither begins nor ends with white space. `' order-500'`, `'order-500 '` and `' '` read as one order to a person,
 * or as none, and as three to an exact comparison (red team, 2026-12-04). Refused at the door, not folded: what the
 * agent sent is what the record and the target see.
 */
export const nameString = (max = 200) => identifierString(max).regex(NAME_EDGES_PATTERN, NAME_RULE);

/** True when `s` is a string `nameString(max)` accepts. */
export const isName = (s: unknown, max = 200): s is string =>
  isIdentifier(s, max) && !isWhiteSpaceCode(s.charCodeAt(0)) && !isWhiteSpaceCode(s.charCodeAt(s.length - 1));

/**
 * Free text (a message, a string value in parameters): tab, LF and CR allowed, no other control characters. For text
 * a person must write to say something (a decision's reason), use `reasonString`: a length is no proof of content.
 */
export const freeTextString = () => z.string().regex(TEXT_PATTERN, TEXT_RULE);

/**
 * Bidi embeddings and overrides (U+202A–U+202E) and isolates (U+2066–U+2069): they reorder what a reviewer or an
 * auditor reads. The marks (U+200E, U+200F, U+061C) stay allowed: right-to-left text needs them and they reorder nothing.
 */
const BIDI_CONTROL_PATTERN = /^[^\u202a-\u202e\u2066-\u2069]*$/;
export const BIDI_RULE = 'must not contain bidirectional embedding, override or isolate characters (U+202A–U+202E, U+2066–U+2069)';

/**
 * A letter or digit that shows: `Default_Ignorable_Code_Point` takes out the format characters (Cf: zero-width space,
 * joiners, bidi controls, BOM) and the few letters that render as nothing (the Hangul fillers U+115F, U+1160, U+3164,
 * U+FFA0); whitespace, punctuation and symbols are not letters or digits.
 */
const VISIBLE_LETTER_OR_DIGIT = /(?!\p{Default_Ignorable_Code_Point})[\p{L}\p{N}]/gu;

/** How many visible letters or digits (of any script) `s` holds: what is left to read once invisible characters and whitespace are gone. */
export const visibleLettersOrDigits = (s: string): number => s.match(VISIBLE_LETTER_OR_DIGIT)?.length ?? 0;

/** The rule `reasonString(min)` states when a reason says too little. */
export const reasonRule = (min: number) => `must contain at least ${min} letters or digits`;

/**
 * A reason a person gives for a decision, which is signed into the record: free text (`freeTextString`'s rule), no bidi
 * embedding, override or isolate characters, trimmed, at most `max` characters, and at least `min` visible letters or
 * digits (`visibleLettersOrDigits`), so three zero-width spaces, Hangul fillers or `...` are no reason. Each refusal
 * is one issue naming its rule.
 *
 * For request bodies: an event schema that also reads events already stored keeps its own, older rule.
 */
export const reasonString = (min = 3, max = 2000) =>
  z
    .string()
    .regex(TEXT_PATTERN, { message: TEXT_RULE, abort: true })
    .regex(BIDI_CONTROL_PATTERN, { message: BIDI_RULE, abort: true })
    .trim()
    // Implied by the rule below; stated so the JSON Schema of the body says `minLength` too.
    .min(min, { message: reasonRule(min), abort: true })
    .max(max)
    .refine((s) => visibleLettersOrDigits(s) >= min, { message: reasonRule(min), abort: true });

/**
 * Keys whose values are credentials, not data (`@countersign/guardrails` masking): every reviewer is shown `[secret]`
 * in their place, whoever looks, and the target receives them as sent.
 */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['scopedToken', 'privateKey', 'password']);

/**
 * The names of credentials as keys are written for them, in lower case without separators (`apiKey`, `api_key`,
 * `API-KEY` are `apikey`). Red team, 2026-12-07: `Password`, `apiKey`, `token`, `client_secret`, `secret` and `passwd`
 * went into the audit and onto every reviewer's card as sent; only the three names of `SECRET_KEYS`, as written, were.
 */
const CREDENTIAL_NAMES: ReadonlySet<string> = new Set([
  ...[...SECRET_KEYS].map((k) => k.toLowerCase()),
  'passwd',
  'pwd',
  'passphrase',
  'passcode',
  'secret',
  'clientsecret',
  'apikey',
  'apisecret',
  'apitoken',
  'accesskey',
  'secretkey',
  'secretaccesskey',
  'awssecretaccesskey',
  'token',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'authtoken',
  'bearertoken',
  'sessiontoken',
  'authorization',
  'credential',
  'credentials',
  'signingkey',
]);
const KEY_SEPARATORS = /[-_. ]/g;

/** Whether `key` names a credential (`SECRET_KEYS`, and the other ways keys are written for one: `CREDENTIAL_NAMES`). */
export const isSecretKey = (key: string): boolean => SECRET_KEYS.has(key) || CREDENTIAL_NAMES.has(key.toLowerCase().replace(KEY_SEPARATORS, ''));

/**
 * Why a value under a secret key is refused: a credential is one string (red team, 2026-12-07: an object under
 * `password` held a whole deployment, an attacker's image with 1,000 privileged replicas, shown to every reviewer as
 * `[secret]`, `pii:view` included, and executed as sent).
 */
const SECRET_VALUE_RULE = `holds a credential (${[...SECRET_KEYS].join(', ')}, or another credential's name: apiKey, token, secret, …): one string, which every reviewer is shown as [secret]; an object, an array, a number or a boolean would hide what it holds from them`;

/** How deep a free JSON value of a proposal (`parameters`, `context`) may nest, so that every event carrying it stays within the parser's limit. */
export const MAX_PROPOSAL_VALUE_DEPTH = 16;

/**
 * A free JSON object (a proposal's `parameters` or `context`): at most `maxDepth` levels of objects and
 * arrays, keys are identifiers, strings are free text without bidi controls (`VALUE_TEXT_RULE`). Walked
 * iteratively; each problem names its path.
 */
export const freeJsonObject = (maxDepth = MAX_PROPOSAL_VALUE_DEPTH) =>
  // Loose, not a record: zod's record refuses an object with its own `constructor` key ("expected record"), which is an
  // ordinary key here. Every key is kept as sent (checked below).
  z.looseObject({}).superRefine((root, ctx) => {
    const stack: Array<{ value: unknown; path: (string | number)[]; depth: number }> = [{ value: root, path: [], depth: 1 }];
    let reported = 0;
    const report = (path: (string | number)[], message: string) => {
      if (reported++ < 5) ctx.addIssue({ code: 'custom', path, message });
    };
    while (stack.length && reported < 5) {
      const { value, path, depth } = stack.pop()!;
      if (typeof value === 'string') {
        if (!isFreeValueText(value)) report(path, VALUE_TEXT_RULE);
      } else if (typeof value === 'number') {
        if (!Number.isFinite(value)) report(path, 'must be a finite number');
      } else if (value !== null && typeof value === 'object') {
        if (depth > maxDepth) {
          report(path, `nested deeper than ${maxDepth} levels`);
          continue;
        }
        if (Array.isArray(value)) value.forEach((v, i) => stack.push({ value: v, path: [...path, i], depth: depth + 1 }));
        else
          for (const [k, v] of Object.entries(value)) {
            if (!isIdentifierText(k)) report(path, `a key ${IDENTIFIER_RULE}`);
            if (isSecretKey(k) && v !== null && typeof v !== 'string') report([...path, k], SECRET_VALUE_RULE);
            stack.push({ value: v, path: [...path, k], depth: depth + 1 });
          }
      }
    }
  });
