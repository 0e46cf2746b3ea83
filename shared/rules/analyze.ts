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

// Its own instance: `exec` keeps state in `lastIndex`, and `analyze` must not see it.
const ITEM_WORD = new RegExp(WORD.source, WORD.flags);

/**
 * The tokens of an item's title and summary as parallel columns, position `i`
 * being in the title when `i < titleLength`: exactly what `analyze` gives for
 * each field, without an object per token, because the matcher analyses every
 * item and reads only a few of its tokens' properties.
 */
export class ItemTokens {
  title = '';
  summary = '';
  length = 0;
  titleLength = 0;
  /** `Token.norm` per position. */
  readonly norms: string[] = [];
  /** `Token.exact` per position. */
  readonly exacts: string[] = [];
  /** `Token.start` and `Token.end` per position, offsets into the position's field. */
  starts = new Int32Array(64);
  ends = new Int32Array(64);

  /** Replaces the columns with the tokens of `title` then `summary`. */
  fill(title: string, summary: string): void {
    this.title = title;
    this.summary = summary;
    this.length = 0;
    this.append(title);
    this.titleLength = this.length;
    this.append(summary);
  }

  private append(text: string): void {
    const re = ITEM_WORD;
    re.lastIndex = 0;
    for (let match = re.exec(text); match !== null; match = re.exec(text)) {
      const start = match.index;
      const written = match[0];
      const n = written.length;
      let word = written;
      // POSSESSIVE, tested on character codes: an apostrophe then `s` or `S` at the end.
      const last = written.charCodeAt(n - 1);
      if (n > 2 && (last === 0x73 || last === 0x53)) {
        const before = written.charCodeAt(n - 2);
        if (before === 0x27 || before === 0x2019 || before === 0x2bc) word = written.slice(0, -2);
      }
      let norm: string;
      if (ASCII.test(word)) {
        norm = word.toLowerCase();
      } else {
        word = word.normalize('NFKC').replace(APOSTROPHES, "'");
        norm = foldWord(word);
      }
      const i = this.length++;
      if (i === this.starts.length) this.grow();
      this.norms[i] = norm;
      this.exacts[i] = word;
      this.starts[i] = start;
      this.ends[i] = start + n;
    }
  }

  private grow(): void {
    const starts = new Int32Array(this.starts.length * 2);
    starts.set(this.starts);
    this.starts = starts;
    const ends = new Int32Array(this.ends.length * 2);
    ends.set(this.ends);
    this.ends = ends;
  }
}
