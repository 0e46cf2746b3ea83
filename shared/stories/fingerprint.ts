/**
 * The fingerprint of a report: its normalised text turned into comparable
 * terms (stemmed, spelling variants merged, figures as values, function words
 * dropped), the details that tell one event from a templated look-alike
 * (figures and names), and the keys it is looked up by: its rarest facts and
 * banded MinHash over its terms, so that rewrites, light edits, truncation,
 * reordering and synonym swaps still share keys with the first report.
 */
import { analyze } from '../rules/analyze.ts';
import {
  backgroundIdf,
  expandAbbreviation,
  isCommonWord,
  isLocationName,
  isPlaceTerm,
  placeOfAdjective,
  stemWord,
} from './lexicon.ts';
import { type StoryText, storyText } from './text.ts';
import {
  ALIASES,
  CALENDAR_WORDS,
  NUMERAL_SCALES,
  NUMERAL_VALUES,
  STOPWORDS,
} from './vocabulary.ts';

/** What a term of the text is, for the detail-agreement check. */
export type DetailKind = 'name' | 'number';

/** One content term of a report, in text order. */
export interface Term {
  /** Folded, singular, alias-merged form; numbers as plain digits (`15000`, `1.2`). */
  term: string;
  /** Set when the term is a distinguishing detail: a number, or a capitalised name. */
  detail?: DetailKind;
}

/** Everything the comparison and the look-up need about one report. */
export interface Fingerprint {
  text: StoryText;
  /** Content terms of title then lede, in order (function words dropped). */
  terms: Term[];
  /** How many of `terms` come from the title. */
  titleLength: number;
  /** The distinct terms. */
  termSet: ReadonlySet<string>;
  /** Distinct names (capitalised words that are neither titles nor calendar words). */
  names: ReadonlySet<string>;
  /** Distinct numbers. */
  numbers: ReadonlySet<string>;
  /** MinHash signature over `termSet`. */
  signature: Uint32Array;
}

/**
 * Bands of the MinHash signature, each giving one look-up key: for reports
 * with few facts, and copies that keep the wording.
 */
export const MINHASH_BANDS = 6;
/** Signature rows per band: two, so that a rewrite sharing a third of its terms still meets. */
export const MINHASH_ROWS = 2;
/** How many of the report's rarest facts (names, figures) are keys of their own. */
const FACT_KEYS = 6;
/** Bumped whenever terms, names or keys change, so stored records stay comparable. */
export const FINGERPRINT_VERSION = 3;

const SEEDS = Array.from({ length: MINHASH_BANDS * MINHASH_ROWS }, (_, i) =>
  Math.imul(i + 1, 0x9e3779b1),
);

/** 32-bit FNV-1a of a string. */
function hashString(value: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A 32-bit mix of a hash with a seed (murmur3 finaliser). */
function mix(hash: number, seed: number): number {
  let h = (hash ^ seed) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Folds a word to its comparable form: spelling variants merged (Kiev →
 * Kyiv), a place adjective as its place ("Ukrainian" → "ukraine", from
 * WordNet), then the WordNet base form of an irregular form and the Porter2
 * stem ("flew" → "fly", "deployed" → "deploy"). Names are folded the same
 * way, so that "Patriots" meets "Patriot"; synonyms are not folded here but
 * matched by concept when reports are compared (see `compare.ts`).
 */
export function stemTerm(norm: string, _options: { name?: boolean } = {}): string {
  const word = ALIASES.get(norm) ?? norm;
  const place = placeOfAdjective(word);
  return place ?? stemWord(word);
}

/** A term as a plain word: terms are folded alike whether names or not, so this is the term. */
export function looseTerm(term: string): string {
  return term;
}

const CAPITALISED = /^\p{Lu}/u;
const DIGITS = /^\p{N}+$/u;
// Between two tokens: the start of a new sentence (or of a quotation).
const SENTENCE_BREAK = /[.!?:;"“”]\s*$/u;

interface RawToken {
  norm: string;
  exact: string;
  start: number;
  end: number;
}

/** Joins digit groups split by the tokeniser: `15,000` → `15000`, `1.2` → `1.2`. */
function mergeNumbers(tokens: RawToken[], text: string): RawToken[] {
  const merged: RawToken[] = [];
  for (const token of tokens) {
    const previous = merged.at(-1);
    if (
      previous &&
      /^\d+[a-z]{0,3}$/.test(token.norm) &&
      /^[\d.]+$/.test(previous.norm) &&
      token.start === previous.end + 1 &&
      /[.,]/.test(text.charAt(previous.end)) &&
      DIGITS.test(text.charAt(token.start))
    ) {
      const separator = text.charAt(previous.end) === ',' ? '' : '.';
      previous.norm += separator + token.norm;
      previous.exact += text.charAt(previous.end) + token.exact;
      previous.end = token.end;
      continue;
    }
    merged.push({ ...token });
  }
  return merged;
}

/**
 * True when most words of a title are capitalised (Title Case or ALL CAPS):
 * then a capital says nothing about a name, and only the lede's names count.
 */
function isTitleCased(tokens: RawToken[]): boolean {
  const words = tokens.filter((token) => /^\p{L}/u.test(token.exact) && token.exact.length > 3);
  if (words.length < 3) return false;
  const capitalised = words.filter((token) => CAPITALISED.test(token.exact)).length;
  return capitalised / words.length > 0.7;
}

/** Joins initials written with full stops into one abbreviation: `U.S.` → `US`. */
function mergeInitials(tokens: RawToken[], text: string): RawToken[] {
  const merged: RawToken[] = [];
  for (const token of tokens) {
    const previous = merged.at(-1);
    if (
      previous &&
      /^\p{Lu}+$/u.test(previous.exact) &&
      /^\p{Lu}$/u.test(token.exact) &&
      token.start === previous.end + 1 &&
      text.charAt(previous.end) === '.' &&
      text.charAt(token.end) === '.'
    ) {
      previous.norm += token.norm;
      previous.exact += token.exact;
      previous.end = token.end;
      continue;
    }
    merged.push({ ...token });
  }
  return merged;
}

/** The tokens of one field, digit groups and dotted initials joined. */
function fieldTokens(text: string): RawToken[] {
  return mergeInitials(mergeNumbers(analyze(text), text), text);
}

/** A token starts a sentence (or a quotation), where a capital says nothing about a name. */
function startsSentence(tokens: readonly RawToken[], i: number, text: string): boolean {
  const previous = tokens[i - 1];
  const token = tokens[i];
  return (
    previous === undefined ||
    token === undefined ||
    SENTENCE_BREAK.test(text.slice(previous.end, token.start))
  );
}

/** One field of a report as the term extraction reads it. */
interface Field {
  text: string;
  tokens: RawToken[];
  /** Capitals in this field mark names (not a Title Case or ALL CAPS headline). */
  namesFromCase: boolean;
}

/** What the term extraction knows about the whole report before reading a field. */
interface ReportContext {
  /** Folded words written with a capital inside a sentence somewhere in the report. */
  namesInText: ReadonlySet<string>;
  /** Abbreviations the report spells out ("Joint Chiefs of Staff" … "JCS"), to their words. */
  acronyms: ReadonlyMap<string, readonly RawToken[]>;
  /** Terms written with a capital at a sentence start, and how often. */
  capitalisedAtStart: Map<string, number>;
}

/**
 * A capitalised word that could be a name: one WordNet does not know as a
 * common English word (so "Kaohsiung", "Lavrov", "Taiwan", but not "Defence",
 * "Minister", "Weather" or "Patriot"), and no calendar word.
 */
function mayBeName(token: RawToken): boolean {
  return (
    CAPITALISED.test(token.exact) &&
    token.norm.length > 1 &&
    !STOPWORDS.has(token.norm) &&
    !isCommonWord(stemTerm(token.norm)) &&
    !CALENDAR_WORDS.has(token.norm)
  );
}

// Lower-case words allowed inside a spelled-out name: "Joint Chiefs of Staff".
const NAME_CONNECTORS = new Set(['of', 'the', 'and', 'for', 'on', 'de']);

/**
 * Reads what the fields say about the whole report: the words capitalised
 * inside a sentence (names wherever they appear, even at a sentence start or
 * in a Title Case headline), and the abbreviations whose words it spells out.
 */
function readContext(fields: readonly Field[]): ReportContext {
  const namesInText = new Set<string>();
  const acronyms = new Map<string, RawToken[]>();
  for (const field of fields) {
    if (!field.namesFromCase) continue;
    const run: RawToken[] = [];
    const closeRun = (): void => {
      for (let from = 0; from + 1 < run.length; from++) {
        for (let to = from + 2; to <= run.length; to++) {
          const words = run.slice(from, to);
          acronyms.set(words.map((word) => word.norm.charAt(0)).join(''), words);
        }
      }
      run.length = 0;
    };
    for (const [i, token] of field.tokens.entries()) {
      if (mayBeName(token) && !startsSentence(field.tokens, i, field.text)) {
        namesInText.add(token.norm);
      }
      if (CAPITALISED.test(token.exact) && !/^\p{Lu}+$/u.test(token.exact)) run.push(token);
      else if (!NAME_CONNECTORS.has(token.exact) || run.length === 0) closeRun();
    }
    closeRun();
  }
  return { namesInText, acronyms, capitalisedAtStart: new Map() };
}

/** The term of one word (`undefined` for a function word), a name when its capital says so. */
function wordTerm(
  token: RawToken,
  sentenceStart: boolean,
  field: Pick<Field, 'namesFromCase'>,
  context: ReportContext,
): Term | undefined {
  const norm = token.norm;
  if (STOPWORDS.has(norm)) return undefined;
  const term = stemTerm(norm);
  // A place is a name wherever it stands, even opening a sentence or a Title Case headline.
  const isName =
    mayBeName(token) &&
    (context.namesInText.has(norm) ||
      (field.namesFromCase && !sentenceStart) ||
      isPlaceTerm(term) ||
      isLocationName(norm));
  if (!isName && field.namesFromCase && sentenceStart && mayBeName(token)) {
    context.capitalisedAtStart.set(term, (context.capitalisedAtStart.get(term) ?? 0) + 1);
  }
  return isName ? { term, detail: 'name' } : { term };
}

/** A capitalised word standing in for one word of an abbreviation's expansion. */
function expansionToken(word: string): RawToken {
  return { norm: word, exact: word.charAt(0).toUpperCase() + word.slice(1), start: 0, end: 0 };
}

// A figure as written in digits, possibly with a scale suffix: "15000", "1.2", "1.2bn", "3k".
const FIGURE = /^(\d+(?:\.\d+)?)([a-z]{0,3})$/;
/** Scale words that may follow a figure as a word of their own ("1.2 billion", "fifteen hundred"). */
const SCALE_WORDS = new Set(['hundred', 'thousand', 'million', 'mln', 'billion', 'bn', 'trillion']);

/** The value of a numeral starting at a token, and how many tokens it spans. */
function readNumeral(
  tokens: readonly RawToken[],
  i: number,
): { value: number; length: number } | undefined {
  const norm = tokens[i]?.norm ?? '';
  let value: number | undefined;
  const figure = FIGURE.exec(norm);
  if (figure) {
    const scale = figure[2] ? NUMERAL_SCALES.get(figure[2]) : 1;
    if (scale === undefined) return undefined;
    value = Number(figure[1]) * scale;
  } else if (NUMERAL_VALUES.has(norm) && norm !== 'one') {
    value = NUMERAL_VALUES.get(norm);
  } else if (norm === 'one' && SCALE_WORDS.has(tokens[i + 1]?.norm ?? '')) {
    value = 1; // "one million"
  } else if (SCALE_WORDS.has(norm) && tokens[i - 1]?.norm === 'a') {
    value = NUMERAL_SCALES.get(norm); // "a thousand"; "several hundred" names no figure
  }
  if (value === undefined) return undefined;
  let length = 1;
  for (let next = tokens[i + length]; next; next = tokens[i + length]) {
    const unit = NUMERAL_VALUES.get(next.norm);
    if (SCALE_WORDS.has(next.norm)) value *= NUMERAL_SCALES.get(next.norm) ?? 1;
    else if (unit !== undefined && unit < 10 && value >= 20 && value < 100 && value % 10 === 0)
      value += unit; // "twenty-five"
    else break;
    length++;
  }
  return { value, length };
}

/** A figure's canonical spelling: "3,000", "three thousand" and "3k" are all `3000`. */
export function figureTerm(value: number): string {
  return String(Number(value.toPrecision(6)));
}

/** The content terms of one field, with names and numbers marked. */
function fieldTerms(field: Field, context: ReportContext): Term[] {
  const terms: Term[] = [];
  const push = (term: Term | undefined): void => {
    if (term) terms.push(term);
  };
  for (let i = 0; i < field.tokens.length; i++) {
    const token = field.tokens[i] as RawToken;
    const numeral = readNumeral(field.tokens, i);
    if (numeral) {
      terms.push({ term: figureTerm(numeral.value), detail: 'number' });
      i += numeral.length - 1;
      continue;
    }
    const norm = token.norm;
    if (STOPWORDS.has(norm)) continue;
    // Abbreviations in capitals, in text where capitals mean something (not an ALL CAPS headline).
    const inCapitals = field.namesFromCase && /^\p{Lu}{2,6}$/u.test(token.exact);
    const spelledOut = inCapitals ? context.acronyms.get(norm) : undefined;
    if (spelledOut) {
      for (const word of spelledOut) push(wordTerm(word, false, field, context));
      continue;
    }
    const expansion = inCapitals ? expandAbbreviation(norm) : undefined;
    if (expansion) {
      for (const word of expansion) {
        if (!STOPWORDS.has(word)) push(wordTerm(expansionToken(word), false, field, context));
      }
      continue;
    }
    push(wordTerm(token, startsSentence(field.tokens, i, field.text), field, context));
  }
  return terms;
}

/**
 * Marks a sentence-initial capitalised term as a name when it is capitalised
 * somewhere else in the report too ("Germany orders …" then "Germany has
 * signed …"): a capital at a sentence start alone says nothing.
 */
function markNamesSeenElsewhere(
  terms: Term[],
  capitalisedAtStart: ReadonlyMap<string, number>,
): void {
  const names = new Set(terms.filter((t) => t.detail === 'name').map((t) => t.term));
  for (const term of terms) {
    if (term.detail) continue;
    if (names.has(term.term) || (capitalisedAtStart.get(term.term) ?? 0) >= 2) term.detail = 'name';
  }
}

/** MinHash signature of a set of terms, `MINHASH_BANDS * MINHASH_ROWS` values. */
function minHash(terms: Iterable<string>): Uint32Array {
  const signature = new Uint32Array(SEEDS.length).fill(0xffffffff);
  for (const term of terms) {
    const hash = hashString(term);
    for (let i = 0; i < SEEDS.length; i++) {
      const value = mix(hash, SEEDS[i] ?? 0);
      if (value < (signature[i] ?? 0)) signature[i] = value;
    }
  }
  return signature;
}

/** Computes the fingerprint of already normalised story text. */
export function fingerprintText(text: StoryText): Fingerprint {
  const titleTokens = fieldTokens(text.title);
  const title: Field = {
    text: text.title,
    tokens: titleTokens,
    namesFromCase: !isTitleCased(titleTokens),
  };
  const lede: Field = { text: text.lede, tokens: fieldTokens(text.lede), namesFromCase: true };
  const context = readContext([title, lede]);
  const titleTerms = fieldTerms(title, context);
  const ledeTerms = fieldTerms(lede, context);
  const terms = [...titleTerms, ...ledeTerms];
  markNamesSeenElsewhere(terms, context.capitalisedAtStart);
  const termSet = new Set(terms.map((t) => t.term));
  return {
    text,
    terms,
    titleLength: titleTerms.length,
    termSet,
    names: new Set(terms.filter((t) => t.detail === 'name').map((t) => t.term)),
    numbers: new Set(terms.filter((t) => t.detail === 'number').map((t) => t.term)),
    signature: minHash(termSet),
  };
}

/** Computes the fingerprint of an item: its title and lede, boilerplate removed. */
export function fingerprintItem(item: { title: string; summary: string }): Fingerprint {
  return fingerprintText(storyText(item));
}

/** A figure that tells events apart: not a small count, an ordinal-like figure or a year. */
function isDistinctiveFigure(term: string): boolean {
  const value = Number(term);
  return value >= 100 && !(Number.isInteger(value) && value >= 1900 && value <= 2100);
}

/**
 * The report's facts, rarest first: names by their rarity in general English
 * (`backgroundIdf`), distinctive figures as rare as an unknown name.
 */
export function rarestFacts(fingerprint: Fingerprint): string[] {
  const weighted: [string, number][] = [];
  for (const name of fingerprint.names) weighted.push([name, backgroundIdf(name)]);
  for (const number of fingerprint.numbers) {
    if (isDistinctiveFigure(number)) weighted.push([number, backgroundIdf('')]);
  }
  return weighted.sort(([a, wa], [b, wb]) => wb - wa || a.localeCompare(b)).map(([term]) => term);
}

/**
 * The keys a report is stored and looked up under: one per rare fact
 * (`f:<term>`, its `FACT_KEYS` rarest names and figures, rarest first) and
 * one per MinHash band (`m<band>:<hex>`) for reports with few facts. An
 * independent rewrite shares few words but keeps the rare names and figures,
 * so it shares a fact key; two reports sharing any key are candidates, and
 * only a confirmed comparison makes them one story. The first key is the
 * report's strongest.
 */
export function lookupKeys(fingerprint: Fingerprint): string[] {
  const keys = rarestFacts(fingerprint)
    .slice(0, FACT_KEYS)
    .map((fact) => `f:${fact}`);
  if (fingerprint.termSet.size > 0) {
    for (let band = 0; band < MINHASH_BANDS; band++) {
      const rows = fingerprint.signature.subarray(band * MINHASH_ROWS, (band + 1) * MINHASH_ROWS);
      keys.push(`m${band}:${[...rows].map((row) => row.toString(16)).join('.')}`);
    }
  }
  return keys;
}
