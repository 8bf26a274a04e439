/**
 * Built-in self-protection: an action aimed at Countersign's own audit store, flags, keys, contract or tokens
 * is prohibited, whatever the contract says (no contract setting reaches this code).
 *
 * The matcher reads the target and every string (value or key) in the parameters — for outbound action
 * types, whose text is a message to a person, only the target — after normalising it so that spelling does
 * not evade it: percent-decoding, Unicode NFKC (full-width letters), format characters removed (zero-width
 * spaces, soft hyphens), camelCase split, lower case, and every run of other characters turned into one
 * `_`. `Audit-Log`, `public."AUDIT_LOG"`, `auditLogs`, `audit%5Flog` and `ａｕｄｉｔ_log` all read `_audit_log_`.
 * Homoglyphs from other scripts (a Cyrillic `а`) are not folded: ingress rejects what it cannot read.
 */

/** What a protected name belongs to. */
export type ProtectedAsset = 'audit store' | 'flags' | 'keys' | 'operational contract' | 'tokens' | 'Countersign itself';

const ASSETS =
  'audit|exec|autonomy|flags?|keys?|signing|contracts?|policy|policies|tokens?|approvals?|decisions?|reviews?|kill|trust|redis|postgres|db|database|kafka|topics?|unleash|admin|config';

// Patterns over the normalised text (words joined by single `_`, with a `_` at both ends).
const IN_ANY: ReadonlyArray<readonly [ProtectedAsset, RegExp]> = [
  [
    'audit store',
    /_audit_?(log|logs|trail|trails|entry|entries|store|segments?|chain|jsonl|heads?|checkpoints?|writer|table|tables|db|database)_|_signed_tree_heads?_|_tree_heads?_/,
  ],
  ['flags', /_kill_?switch(es)?_|_unleash_|_countersign_(exec|autonomy)_/],
  ['keys', /_(signing|approval|audit|checkpoint|scoped_token|countersign)_keys?_|_approval_signing_/],
  ['operational contract', /_operational_contracts?_|_countersign_contract_|_v1_policy_/],
  ['tokens', /_(agent|reviewer|auditor|admin|scoped|approval|countersign)_tokens?_|_tokens?_(agent|reviewer|auditor|admin\d*|sink)_|_tokens_json_/],
  // The files of a Countersign home (COUNTERSIGN_HOME: wherever it is, its file names are its own).
  ['flags', /_flags_json_/],
  [
    'keys',
    /_(approvals|audit_heads|contract_changes|decisions|outcomes|review_data)_key_|_keys_(approvals|audit_heads|contract_changes|decisions|outcomes|review_data)_/,
  ],
  ['Countersign itself', new RegExp(`_countersign_(${ASSETS})_`)],
];
// A target in Countersign's own namespace (`countersign.exec.support.refund`, `countersign:keys`) is protected as a whole.
const IN_TARGET: ReadonlyArray<readonly [ProtectedAsset, RegExp]> = [['Countersign itself', /_countersign_/]];
// A path through a directory called `countersign` or `.countersign` (the default home) reaches Countersign's own files,
// whatever follows it (red team, 2026-12-04: `.countersign/embedded/flags.json` named no asset word next to the name).
const COUNTERSIGN_DIRECTORY = /(^|[/\\])\.?countersign[/\\]/i;

/** The normalised form the patterns read (exported for tests and the ADR's examples). */
export function normaliseName(text: string): string {
  return wordsOf(readable(text));
}

/** The text as a person reads it: percent-decoded, NFKC (full-width letters, a full-width `／`), no format characters. */
function readable(text: string): string {
  let t = text;
  if (t.includes('%')) {
    try {
      t = decodeURIComponent(t);
    } catch {
      // not percent-encoded after all: read it as it is
    }
  }
  return t.normalize('NFKC').replace(/\p{Cf}/gu, '');
}

/** Its words: camelCase split, lower case, every run of other characters one `_`, with a `_` at both ends. */
function wordsOf(readableText: string): string {
  const t = readableText.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
  return `_${t.replace(/[^a-z0-9]+/g, '_')}_`;
}

// Every pattern needs one of these words; text without them (and without anything normalising could turn
// into them: non-ASCII, percent-escapes) is skipped cheaply. Most parameters are such text.
const MAYBE_PROTECTED = /[^\x00-\x7f]|%|audit|kill|unleash|countersign|key|contract|polic|token|head|signing|flags/i;

function match(text: string, patterns: ReadonlyArray<readonly [ProtectedAsset, RegExp]>): ProtectedAsset | undefined {
  if (!MAYBE_PROTECTED.test(text)) return undefined;
  const read = readable(text);
  if (COUNTERSIGN_DIRECTORY.test(read)) return 'Countersign itself';
  const n = wordsOf(read);
  for (const [asset, re] of patterns) if (re.test(n)) return asset;
  return undefined;
}

/**
 * The first protected asset named by a string (value or key) in a JSON-like value. Recursive, without arrays of
 * strings or entries (it runs on every decision); the caller bounds the value's depth and size (`tooDeepOrLarge`).
 */
function firstIn(value: unknown): ProtectedAsset | undefined {
  if (typeof value === 'string') return match(value, IN_ANY);
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = firstIn(value[i]);
      if (hit) return hit;
    }
    return undefined;
  }
  for (const k in value) {
    if (!Object.prototype.hasOwnProperty.call(value, k)) continue;
    const hit = match(k, IN_ANY) ?? firstIn((value as Record<string, unknown>)[k]);
    if (hit) return hit;
  }
  return undefined;
}

/**
 * Which of Countersign's own assets a proposal is aimed at, if any. `scanParameters` is false for outbound
 * action types (their parameters are text for people, not names of systems).
 */
export function protectedAssetOf(target: unknown, parameters: unknown, scanParameters: boolean): ProtectedAsset | undefined {
  if (typeof target === 'string') {
    const hit = match(target, IN_TARGET) ?? match(target, IN_ANY);
    if (hit) return hit;
  }
  return scanParameters ? firstIn(parameters) : undefined;
}
