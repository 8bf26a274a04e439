// How the inbox writes what an agent sent: every value escaped, and nothing a person would misread. Hidden characters
// and long runs of blanks are said, and text with right-to-left letters is shown in the order it is stored. Used by the
// card, the queue list, the card's context and the second-review page alike.
import { canonicalText } from '@countersign/policy';

export const esc = (v: unknown) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// Characters that show as nothing or reorder what is around them: every default-ignorable code point (bidi controls
// and marks, zero-width spaces and joiners, the word joiner and its kin, BOM, soft hyphen, tag characters, variation
// selectors, Hangul fillers…), the Arabic letter mark, the line and paragraph separators (drawn as a blank), and C1
// controls. Ingress refuses the bidi controls in parameters and all of them in identifiers (libs/contracts text.ts);
// what a value may still hold is shown by its code point, so the reviewer reads what the target will get. A run of
// blanks inside a line is shown by its length: 300 spaces pushed `OR 1=1` out of sight (red team, 2026-12-04), and so
// did 20,000 no-break spaces, em spaces or braille blanks, which are neither spaces nor invisible (red team, 2026-12-06).
const HIDDEN = /[\p{Default_Ignorable_Code_Point}\u061c\u2028\u2029\u0080-\u009f]/gu;
/** Characters that show as a blank: the space, Unicode's other spaces (no-break, en, em, thin, ideographic…), the braille blank. */
const BLANK = ' \\u00a0\\u1680\\u2000-\\u200a\\u202f\\u205f\\u3000\\u2800';
/** Eight blanks or more; in JSON as `shownJson` writes it, a run of spaces at a line's start is its indentation. */
const BLANK_RUN = new RegExp(`[${BLANK}]{8,}`, 'gu');
const BLANK_CHAR = new RegExp(`[${BLANK}]`, 'u');
/** In a name, any blank but a single space. */
const NAME_BLANKS = new RegExp(`[${BLANK}]{2,}|[${BLANK.slice(1)}]`, 'gu');
/** Letters written right to left (Hebrew, Arabic, Syriac, Thaana, N'Ko… and their presentation forms). */
const RIGHT_TO_LEFT = /[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc\u{10800}-\u{10fff}\u{1e800}-\u{1efff}]/u;

/** A key of `shownJson`'s output: at a line's start, after its indentation, escaped as `esc` writes it. */
const KEY_LINE = /^( *)&#34;((?:[^&\\\n]|\\.|&(?!#34;))*)&#34;: /gm;
const NOT_ASCII = /[^\x00-\x7f]/gu;
/** A character as the card says one: its code point (`U+0435`); several, each once. */
const codePoint = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
const codePoints = (chars: Iterable<string>) => [...new Set(chars)].map(codePoint).join(', ');

/**
 * A key with characters outside ASCII, said after it by their code points: `replicas` and a `replicas` spelt with
 * Cyrillic `р` and `е` read alike on a card whose type takes any key (red team, 2026-12-06). A value of any script is
 * shown as it is; a key is the contract's vocabulary.
 */
const markedKeys = (json: string) =>
  json.replace(KEY_LINE, (line, _indent: string, key: string) => {
    const outside = key.match(NOT_ASCII);
    if (!outside) return line;
    return `${line.slice(0, -2)}<span class="hidden-char" title="a key with characters outside ASCII">${codePoints(outside)}</span>: `;
  });

/** A word; `OTHER_SCRIPT` finds its letters of a script other than Latin, `LATIN` its Latin ones. */
const WORD = /[\p{L}\p{M}]+/gu;
const LATIN = /\p{Script=Latin}/u;
const OTHER_SCRIPT = /(?=\p{L})\P{Script=Latin}/gu;
/** What a word of lookalikes folds to: Latin letters only. */
const LATIN_LETTERS = /^[a-z]+$/;
/** Scripts whose letters are drawn as Latin ones and no support reply is written in: any word of them is marked. */
const DRAWN_AS_LATIN = /[\p{Script=Cherokee}\p{Script=Lisu}]/u;

/**
 * A word that mixes Latin letters with letters of another script, marked with the latter's code points:
 * `registry.acmе.internal` with a Cyrillic `е` reads as the real registry (red team, 2026-12-07). So is a word wholly
 * of another script's letters that read as Latin ones: `раураӏ.com`, every letter Cyrillic, reads as paypal.com (red
 * team, 2026-12-07, third pass). Other text wholly in one script (German, Greek, Japanese) is shown as it is.
 */
const markedMixedWords = (text: string) =>
  text.replace(WORD, (word) => {
    const other = word.match(OTHER_SCRIPT);
    if (!other) return word;
    if (LATIN.test(word)) return `${word}<span class="hidden-char" title="letters of another script among Latin ones">${codePoints(other)}</span>`;
    // A Cherokee word with one letter no table folds (`ᏢᎪᎽᏢᎪᏞ`) reads as Latin all the same (red team of the change).
    if (!LATIN_LETTERS.test(canonicalText(word)) && !DRAWN_AS_LATIN.test(word)) return word;
    return `${word}<span class="hidden-char" title="letters of another script that read as Latin ones">${codePoints(other)}</span>`;
  });

/** A line of `shownJson`'s escaped output split into its key (`  &#34;key&#34;: `, or nothing) and its value. */
const KEY_PART = /^( *&#34;(?:[^&\\\n]|\\.|&(?!#34;))*&#34;: )?([^]*)$/;

/** `markedMixedWords` on the values of escaped JSON: a key with characters outside ASCII is marked as a key (`markedKeys`). */
const markedMixedValues = (json: string) =>
  json
    .split('\n')
    .map((line) => {
      const [, key = '', value] = KEY_PART.exec(line)!;
      return key + markedMixedWords(value);
    })
    .join('\n');

/**
 * A proposal's JSON value as the card shows it: escaped, with each hidden character written as a visible `U+XXXX` mark,
 * runs of blanks said, keys with characters outside ASCII marked, and words mixing Latin with another script marked.
 */
export const shownJson = (v: unknown) =>
  markedKeys(markedMixedValues(esc(JSON.stringify(v, null, 2))))
    .replace(HIDDEN, (c) => `<span class="hidden-char" title="an invisible character">${codePoint(c)}</span>`)
    .replace(BLANK_RUN, (run, at: number, text: string) => ((at === 0 || text[at - 1] === '\n') && !/[^ ]/.test(run) ? run : blanks(run)));

/** A run of blanks, said: how many, and which when they are not all spaces. */
const blanks = (run: string) => {
  const count = [...run].length;
  if (!/[^ ]/.test(run)) return `<span class="hidden-char" title="a run of spaces">${count} spaces</span>`;
  const kinds = [...new Set(run)].map((c) => (c === ' ' ? 'space' : codePoint(c)));
  return `<span class="hidden-char" title="a run of blank characters">${count} blank${count === 1 ? '' : 's'} (${kinds.join(', ')})</span>`;
};

/**
 * Eight or more of one character that is no letter or digit, in a name: said by its length, as a run of blanks is (red
 * team, 2026-12-07: `order-78` and 170 underscores read as an underlined `order-78`, its `99999` past the card's edge).
 * Escaped text: an entity (`&#39;`) is not one character of a run, and its `#`s and digits do not make one.
 */
const FILLER_RUN = /([^\p{L}\p{N}\s&#;])\1{7,}/gu;

/**
 * A name (target, tenant, region, agent, model, prompt template) as the inbox shows it: escaped; a blank other than a
 * single space said as what it is (150 no-break spaces pushed `and-order-99999` off the card's edge after `order-78`);
 * with right-to-left letters, in the order it is stored (`acct א 0532 0130` read as `acct 0130 0532 א`). Red team,
 * 2026-12-06: the names had none of what the parameters had.
 */
export function shownName(name: string): string {
  // A name is an identifier: every character outside ASCII is said, by its code point (red team, 2026-12-07: a target
  // `оrder-78` with a Cyrillic `о` read as order-78, and its recent decisions, "none yet", as order-78's).
  // Blanks and right-to-left letters are said their own way, below.
  const outside = (name.match(NOT_ASCII) ?? []).filter((c) => !RIGHT_TO_LEFT.test(c) && !BLANK_CHAR.test(c));
  const marked = outside.length ? `<span class="hidden-char" title="characters outside ASCII in a name">${codePoints(outside)}</span>` : '';
  const shown =
    esc(name)
      .replace(NAME_BLANKS, (run) => (run === ' ' ? run : blanks(run)))
      .replace(FILLER_RUN, (run, c: string) => `<span class="hidden-char" title="a run of one character">${[...run].length} × ${c}</span>`) + marked;
  return RIGHT_TO_LEFT.test(name)
    ? `<bdo dir="ltr" class="stored-order" title="right-to-left letters: shown in the order they are stored">${shown}</bdo>`
    : shown;
}

/**
 * Parameters or context on the card. With right-to-left letters in them, shown in the order they are stored, left to
 * right: the bidi algorithm otherwise moves the numbers and punctuation beside such letters, and `limit = א 100 ,
 * 5000000 ב` read as if the numbers were swapped (red team, 2026-12-04). A note says so.
 */
export function shownValues(v: unknown, cls: 'params' | 'context', label: string): string {
  const storedOrder = RIGHT_TO_LEFT.test(JSON.stringify(v) ?? '');
  return (
    (storedOrder
      ? `<p class="note stored-order-note">Right-to-left letters in these values: shown in the order they are stored, left to right, so the numbers and words beside them keep their places.</p>`
      : '') +
    // `<bdo>`, not only the stylesheet's `unicode-bidi`: a page without the inbox's stylesheet (the second reviews) keeps it.
    `<pre class="${cls}${storedOrder ? ' stored-order' : ''}" dir="ltr" tabindex="0" aria-label="${label}">${storedOrder ? `<bdo dir="ltr">${shownJson(v)}</bdo>` : shownJson(v)}</pre>`
  );
}
