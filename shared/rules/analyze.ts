/**
 * Text analysis shared by items and queries: the same function turns an item's
 * text and a query's words into tokens, so that `"north-korean"`, `North Korean`
 * and `NORTH-KOREAN` all meet on the same tokens.
 */

/** One token of analysed text. */
export interface Token {
  /** Folded form: lower-case, NFKC, diacritics and special letters folded. Matching uses this. */
  norm: string;
  /** The token as written (NFKC, possessive dropped, case kept), for `{CaseSensitive}` words. */
  exact: string;
  /** Character offset of the token in the analysed string (UTF-16 code units, inclusive). */
  start: number;
  /** Character offset just past the token (exclusive), possessive included. */
  end: number;
}

// A word is a run of letters and digits (with combining marks), and an apostrophe
// between two such runs keeps them one word (`don't`, `O'Brien`, `Korea's`).
const WORD = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*(?:['\u2019\u02bc][\p{L}\p{N}][\p{L}\p{N}\p{M}]*)*/gu;
const POSSESSIVE = /['\u2019\u02bc][sS]$/;
const APOSTROPHES = /[\u2019\u02bc]/g;
const ASCII = /^[\x20-\x7e]*$/;
const COMBINING_MARKS = /\p{Mn}/gu;

// Letters that NFKD leaves whole but that readers treat as plain Latin letters.
const SPECIAL_FOLDS: Record<string, string> = {
  ß: 'ss',
  ẞ: 'ss',
  ø: 'o',
  æ: 'ae',
  œ: 'oe',
  ł: 'l',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ħ: 'h',
  ı: 'i',
  ŀ: 'l',
  ŧ: 't',
  ĸ: 'k',
  ſ: 's',
};
const SPECIAL_LETTERS = new RegExp(`[${Object.keys(SPECIAL_FOLDS).join('')}]`, 'g');

/** Folds one word: NFKC, lower case, diacritics removed, special letters spelled out. */
export function foldWord(word: string): string {
  if (ASCII.test(word)) return word.toLowerCase();
  const lower = word.normalize('NFKC').toLowerCase();
  return lower
    .normalize('NFKD')
    .replace(COMBINING_MARKS, '')
    .normalize('NFC')
    .replace(SPECIAL_LETTERS, (letter) => SPECIAL_FOLDS[letter] ?? letter);
}

/** Splits text into tokens with their offsets; see the README's "Tokens" for the rules. */
export function analyze(text: string): Token[] {
  const tokens: Token[] = [];
  for (const match of text.matchAll(WORD)) {
    const start = match.index;
    const written = match[0];
    let word = POSSESSIVE.test(written) ? written.slice(0, -2) : written;
    if (!ASCII.test(word)) word = word.normalize('NFKC').replace(APOSTROPHES, "'");
    tokens.push({ norm: foldWord(word), exact: word, start, end: start + written.length });
  }
  return tokens;
}
