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
  DEMONYMS,
  EXPANSIONS,
  INSTITUTION_WORDS,
  IRREGULAR_FORMS,
  NUMBER_WORDS,
  STOPWORDS,
  SYNONYM_GROUPS,
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
 * Bands of the MinHash signature, each giving one look-up key. Name pairs find
 * most rewrites; the bands are there for reports with few names, and eight
 * keep every generated variant of the corpus reports found (twelve cost half
 * as many queries and puts again for nothing more).
 */
export const MINHASH_BANDS = 8;
/** Signature rows per band: two, so that a rewrite sharing a third of its terms still meets. */
export const MINHASH_ROWS = 2;
/** How many of the report's first names form pair keys (`n * (n - 1) / 2` keys: six). */
const NAMES_FOR_KEYS = 4;
/** Bumped whenever terms, names or keys change, so stored records stay comparable. */
export const FINGERPRINT_VERSION = 2;

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

/** The singular of a plural (or the base of a third-person verb): "cities" → "city". */
function singular(norm: string): string {
  if (norm.length > 4 && norm.endsWith('ies')) return `${norm.slice(0, -3)}y`;
  if (norm.length > 4 && /(?:ches|shes|sses|xes)$/.test(norm)) return norm.slice(0, -2);
  if (norm.length > 3 && norm.endsWith('s') && !/(?:ss|us|is)$/.test(norm))
    return norm.slice(0, -1);
  return norm;
}

/** Removes -ing, -ed and a final -e, and halves a final double consonant ("travelled" → "travel"). */
function stripEndings(norm: string): string {
  let word = norm;
  if (word.length > 5 && word.endsWith('ing')) word = word.slice(0, -3);
  else if (word.length > 4 && word.endsWith('ied')) word = `${word.slice(0, -3)}y`;
  else if (word.length > 4 && word.endsWith('ed')) word = word.slice(0, -2);
  if (word.length > 3 && word.endsWith('e')) word = word.slice(0, -1);
  if (word.length > 3 && /([^aeiouy])\1$/.test(word)) word = word.slice(0, -1);
  return word.replace(/([^aeiou])iz$/, '$1is').replace(/yz$/, 'ys');
}

/** The place a demonym or place adjective names: "Ukrainian" → "ukraine", "Syrian" → "syria". */
function placeOf(word: string): string | undefined {
  const listed = DEMONYMS.get(word);
  if (listed) return listed;
  if (word.length > 5 && /[ie]an$/.test(word) && !word.endsWith('ian')) return word.slice(0, -1);
  if (word.length > 6 && word.endsWith('ian')) return word.slice(0, -1);
  return undefined;
}

/** `stemTerm` without the synonym groups. */
function stemWithoutSynonyms(norm: string, name: boolean): string {
  const base = name ? norm : (IRREGULAR_FORMS.get(norm) ?? norm);
  const word = ALIASES.get(singular(base)) ?? singular(base);
  return placeOf(word) ?? (name ? word : stripEndings(word));
}

/** Each word of a synonym group, stemmed, to its group's first word, stemmed. */
const SYNONYMS: ReadonlyMap<string, string> = new Map(
  SYNONYM_GROUPS.flatMap((group) => {
    const canonical = stemWithoutSynonyms(group[0] ?? '', false);
    return group.map((word) => [stemWithoutSynonyms(word, false), canonical] as const);
  }),
);

/**
 * Folds a word to its comparable form: singular, base form of irregular verbs,
 * spelling variants merged, demonyms as their place ("Ukrainian" → "ukraine").
 * Other words also lose -ing, -ed and a final -e and are folded to their
 * synonym group; names keep their endings ("United", "Reading") and are never
 * swapped for another word.
 */
export function stemTerm(norm: string, options: { name?: boolean } = {}): string {
  const name = options.name ?? false;
  const stem = stemWithoutSynonyms(norm, name);
  return name ? stem : (SYNONYMS.get(stem) ?? stem);
}

/**
 * A term as a plain word, so that a name and the same word read as a plain
 * word meet ("wildfire" as a name, "wildfir" at a sentence start).
 */
export function looseTerm(term: string): string {
  return /^[\d.]+$/.test(term) ? term : stemTerm(term);
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

/** A capitalised word that could be a name: not an office, institution or calendar word. */
function mayBeName(token: RawToken): boolean {
  return (
    CAPITALISED.test(token.exact) &&
    token.norm.length > 1 &&
    !STOPWORDS.has(token.norm) &&
    !INSTITUTION_WORDS.has(token.norm) &&
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
  const isName =
    mayBeName(token) && (context.namesInText.has(norm) || (field.namesFromCase && !sentenceStart));
  const term = stemTerm(norm, { name: isName });
  if (!isName && field.namesFromCase && sentenceStart && mayBeName(token)) {
    context.capitalisedAtStart.set(term, (context.capitalisedAtStart.get(term) ?? 0) + 1);
  }
  return isName ? { term, detail: 'name' } : { term };
}

/** A capitalised word standing in for one word of an abbreviation's expansion. */
function expansionToken(word: string): RawToken {
  return { norm: word, exact: word.charAt(0).toUpperCase() + word.slice(1), start: 0, end: 0 };
}

/** The content terms of one field, with names and numbers marked. */
function fieldTerms(field: Field, context: ReportContext): Term[] {
  const terms: Term[] = [];
  const push = (term: Term | undefined): void => {
    if (term) terms.push(term);
  };
  for (const [i, token] of field.tokens.entries()) {
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
    const inCapitals = /^\p{Lu}{2,6}$/u.test(token.exact);
    const expansion = inCapitals ? EXPANSIONS.get(norm) : undefined;
    if (expansion) {
      for (const word of expansion) push(wordTerm(expansionToken(word), false, field, context));
      continue;
    }
    const spelledOut = inCapitals ? context.acronyms.get(norm) : undefined;
    if (spelledOut) {
      for (const word of spelledOut) push(wordTerm(word, false, field, context));
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
