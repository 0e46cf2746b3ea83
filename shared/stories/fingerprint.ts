/**
 * The fingerprint of a report: its normalised text turned into comparable
 * terms (folded, singular, spelling variants merged, function words dropped),
 * the details that tell one event from a templated look-alike (numbers and
 * names), and the keys it is looked up by: banded MinHash over its terms and
 * pairs of its names, so that light edits, truncation, reordering and synonym
 * swaps still share keys with the first report.
 */
import { analyze } from '../rules/analyze.ts';
import { type StoryText, storyText } from './text.ts';
import {
  ALIASES,
  CALENDAR_WORDS,
  EXPANSIONS,
  INSTITUTION_WORDS,
  NUMBER_WORDS,
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

/** Bands of the MinHash signature, each giving one look-up key. */
export const MINHASH_BANDS = 12;
/** Signature rows per band: two, so that a rewrite sharing a third of its terms still meets. */
export const MINHASH_ROWS = 2;
/** How many of the report's first names form pair keys (`n * (n - 1) / 2` keys). */
const NAMES_FOR_KEYS = 5;
/** Bumped whenever terms, names or keys change, so stored records stay comparable. */
export const FINGERPRINT_VERSION = 1;

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

/** Folds a word to its comparable form: singular, common suffixes and spelling variants merged. */
export function stemTerm(norm: string, options: { name?: boolean } = {}): string {
  let word = norm;
  if (word.length > 4 && word.endsWith('ies')) word = `${word.slice(0, -3)}y`;
  else if (word.length > 4 && /(?:ches|shes|sses|xes)$/.test(word)) word = word.slice(0, -2);
  else if (word.length > 3 && word.endsWith('s') && !/(?:ss|us|is)$/.test(word))
    word = word.slice(0, -1);
  word = ALIASES.get(word) ?? word;
  if (!options.name) {
    // Names keep their endings ("United", "Reading"); other words lose -ing, -ed and a final
    // -e, so that "fire", "fired" and "firing" meet.
    if (word.length > 5 && word.endsWith('ing')) word = word.slice(0, -3);
    else if (word.length > 4 && word.endsWith('ed')) word = word.slice(0, -2);
    if (word.length > 3 && word.endsWith('e')) word = word.slice(0, -1);
    word = word.replace(/([^aeiou])iz$/, '$1is').replace(/yz$/, 'ys');
  }
  // Country adjectives meet their country: russian → russia, korean → korea.
  if (word.length > 5 && /[ie]an$/.test(word) && !word.endsWith('ian')) word = word.slice(0, -1);
  else if (word.length > 6 && word.endsWith('ian')) word = word.slice(0, -1);
  return word;
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
      DIGITS.test(token.norm) &&
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

/** The content terms of one field, with names and numbers marked. */
function fieldTerms(
  text: string,
  options: { namesFromCase: boolean },
  capitalisedAtStart: Map<string, number>,
): Term[] {
  const tokens = mergeNumbers(analyze(text), text);
  const terms: Term[] = [];
  for (const [i, token] of tokens.entries()) {
    const previous = tokens[i - 1];
    const sentenceStart =
      previous === undefined || SENTENCE_BREAK.test(text.slice(previous.end, token.start));
    const norm = token.norm;
    if (/^[\d.]+$/.test(norm)) {
      terms.push({ term: norm.replace(/^0+(?=\d)/, ''), detail: 'number' });
      continue;
    }
    const number = NUMBER_WORDS.get(norm);
    if (number) {
      terms.push({ term: number, detail: 'number' });
      continue;
    }
    const expansion = EXPANSIONS.get(norm);
    if (expansion) {
      for (const word of expansion) terms.push({ term: word, detail: 'name' });
      continue;
    }
    if (STOPWORDS.has(norm)) continue;
    const isName =
      options.namesFromCase &&
      CAPITALISED.test(token.exact) &&
      !sentenceStart &&
      !INSTITUTION_WORDS.has(norm) &&
      !CALENDAR_WORDS.has(norm) &&
      norm.length > 1;
    const term = stemTerm(norm, { name: isName });
    if (
      options.namesFromCase &&
      sentenceStart &&
      CAPITALISED.test(token.exact) &&
      !INSTITUTION_WORDS.has(norm) &&
      !CALENDAR_WORDS.has(norm)
    ) {
      capitalisedAtStart.set(term, (capitalisedAtStart.get(term) ?? 0) + 1);
    }
    terms.push(isName ? { term, detail: 'name' } : { term });
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
  const titleTokens = analyze(text.title);
  const capitalisedAtStart = new Map<string, number>();
  const titleTerms = fieldTerms(
    text.title,
    { namesFromCase: !isTitleCased(titleTokens) },
    capitalisedAtStart,
  );
  const ledeTerms = fieldTerms(text.lede, { namesFromCase: true }, capitalisedAtStart);
  const terms = [...titleTerms, ...ledeTerms];
  markNamesSeenElsewhere(terms, capitalisedAtStart);
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

/**
 * The keys a report is stored and looked up under: one per MinHash band
 * (`m<band>:<hex>`) and one per pair of its first names in text order
 * (`n:<name>|<name>`, the pair sorted). Two reports sharing any key are
 * candidates; only a confirmed comparison makes them one story.
 */
export function lookupKeys(fingerprint: Fingerprint): string[] {
  const keys: string[] = [];
  if (fingerprint.termSet.size > 0) {
    for (let band = 0; band < MINHASH_BANDS; band++) {
      const rows = fingerprint.signature.subarray(band * MINHASH_ROWS, (band + 1) * MINHASH_ROWS);
      keys.push(`m${band}:${[...rows].map((row) => row.toString(16)).join('.')}`);
    }
  }
  const names = [...fingerprint.names].slice(0, NAMES_FOR_KEYS);
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const pair = [names[i], names[j]].sort();
      keys.push(`n:${pair.join('|')}`);
    }
  }
  return keys;
}
