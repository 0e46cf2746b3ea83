/**
 * What the story fingerprint knows of English, from WordNet (see
 * `scripts/build-lexicon.ts`, which builds `lexicon.generated.ts`): stems,
 * place adjectives, abbreviations, title words, synonym concepts and how rare
 * a word is in general English. The tables are parsed on first use, not at
 * load, so a cold start that never compares a report pays nothing for them.
 */
import {
  ABBREVIATIONS_DATA,
  BACKGROUND_DATA,
  BACKGROUND_DOCUMENTS,
  CONCEPTS_DATA,
  IRREGULAR_FORMS_DATA,
  LOCATIONS_DATA,
  PLACE_ADJECTIVES_DATA,
} from './lexicon.generated.ts';
import { stemWith } from './stem.ts';
import { COMPASS_WORDS } from './vocabulary.ts';

function pairs(data: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of data.split('|')) {
    const colon = entry.indexOf(':');
    if (colon > 0) map.set(entry.slice(0, colon), entry.slice(colon + 1));
  }
  return map;
}

/** Parses a table once, on first use. */
function lazy<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= build();
    return value;
  };
}

const irregularForms = lazy(() => pairs(IRREGULAR_FORMS_DATA));
const placeAdjectives = lazy(() => pairs(PLACE_ADJECTIVES_DATA));
const abbreviations = lazy(
  () => new Map([...pairs(ABBREVIATIONS_DATA)].map(([k, v]) => [k, v.split(' ')] as const)),
);
const locations = lazy(() => new Set(LOCATIONS_DATA.split('|')));
const concepts = lazy(() => pairs(CONCEPTS_DATA));
const background = lazy(() => pairs(BACKGROUND_DATA));

const stems = new Map<string, string>();
/** The stem of a folded word: WordNet base form of an irregular form, then Porter2. */
export function stemWord(word: string): string {
  let stem = stems.get(word);
  if (stem === undefined) {
    stem = stemWith(irregularForms(), word);
    if (stems.size > 50_000) stems.clear();
    stems.set(word, stem);
  }
  return stem;
}

/** The place a place adjective names ("ukrainian" → "ukraine"), from WordNet's pertainyms. */
export function placeOfAdjective(word: string): string | undefined {
  return placeAdjectives().get(word);
}

/** The words of a place or body an abbreviation in capitals stands for ("dprk" → north korea). */
export function expandAbbreviation(word: string): readonly string[] | undefined {
  return abbreviations().get(word);
}

/**
 * A stem of a common English word, one WordNet files under a concept
 * ("minister", "defence", "weather", "patriot"): capitalised, it is part of a
 * title, an office or an institution more often than the name of a
 * particular person or place.
 */
export function isCommonWord(stem: string): boolean {
  return concepts().has(stem);
}

/** A folded word that is the name of a place in WordNet ("moscow", "gotland", "taiwan"). */
export function isLocationName(word: string): boolean {
  return locations().has(word);
}

const NO_CONCEPTS: readonly string[] = [];
const conceptLists = new Map<string, readonly string[]>();
/** The WordNet concepts of a stem: two stems sharing one can be a spinner's swap. */
export function conceptsOf(stem: string): readonly string[] {
  let list = conceptLists.get(stem);
  if (list === undefined) {
    list = concepts().get(stem)?.split(',') ?? NO_CONCEPTS;
    if (conceptLists.size > 50_000) conceptLists.clear();
    conceptLists.set(stem, list);
  }
  return list;
}

/**
 * The share of general English texts (WordNet's glosses) with a stem,
 * smoothed: `(df + 1) / (N + 1)`, so a stem no gloss has (most names of
 * people and small places) is as rare as can be.
 */
export function backgroundProbability(stem: string): number {
  const df = background().get(stem);
  return ((df === undefined ? 0 : Number.parseInt(df, 36)) + 1) / (BACKGROUND_DOCUMENTS + 1);
}

/** `-ln backgroundProbability(stem)`: a stem's weight before any report is seen. */
export function backgroundIdf(stem: string): number {
  return -Math.log(backgroundProbability(stem));
}

const placeTerms = lazy(() => {
  const words = [
    ...placeAdjectives().values(),
    // Countries and unions written as abbreviations ("US", "UK", "EU", "DPRK").
    ...[...abbreviations()].filter(([k]) => k.length <= 4).flatMap(([, v]) => v),
    ...COMPASS_WORDS,
  ];
  return new Set(words.flatMap((word) => word.split(' ')).map(stemWord));
});

/**
 * A term of a country or region name ("korea", "north", "united"): a headline
 * whose only details are such terms names no particular event.
 */
export function isPlaceTerm(term: string): boolean {
  return placeTerms().has(term);
}
