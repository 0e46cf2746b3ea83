/**
 * The few word lists the story fingerprint keeps by hand: function words to
 * ignore, calendar words, English numerals, and spelling variants no
 * dictionary has. Everything else it knows of English (stems, irregular
 * forms, place adjectives, abbreviations, synonyms, how rare a word is) comes
 * from WordNet and the Snowball stemmer, see `lexicon.ts`.
 */

/** English function words and reporting verbs: they carry no fact of the story. */
export const STOPWORDS: ReadonlySet<string> = new Set(
  (
    'a about above after again against all also am an and any are around as at be because been ' +
    'before being below between both but by can could did do does doing down during each few for ' +
    'from further had has have having he her here hers herself him himself his how i if in into is ' +
    'it its itself just me more most my myself no nor not now of off on once only or other our ours ' +
    'ourselves out over own same she should so some such than that the their theirs them themselves ' +
    'then there these they this those through to too under until up very was we were what when where ' +
    'which while who whom why will with would you your yours yourself yourselves s t don didn doesn ' +
    'isn wasn weren won wouldn may might must shall upon per via amid among since within without ' +
    'said says say saying told according stated mentioned reported added stating mentioning ' +
    'monday tuesday wednesday thursday friday saturday sunday today yesterday tonight ' +
    'january february march april june july august september october november december ' +
    'mr mrs ms dr another further extra more'
  ).split(' '),
);

/** Weekdays and months: they shift between reports of one event (time zones, follow-ups). */
export const CALENDAR_WORDS: ReadonlySet<string> = new Set(
  (
    'monday tuesday wednesday thursday friday saturday sunday january february march april may ' +
    'june july august september october november december'
  ).split(' '),
);

/**
 * Spelling variants no dictionary folds, keyed by the folded word:
 * transliterations of names in the news (Ukrainian and Russian spellings of
 * one city or person) and the initial of "N. Korea". British and American
 * spellings and synonyms come from WordNet (see `lexicon.ts`), not from here.
 */
export const ALIASES: ReadonlyMap<string, string> = new Map([
  // Kyiv is the Ukrainian transliteration adopted by most style guides since 2019; Kiev the Russian.
  ['kiev', 'kyiv'],
  // The Ukrainian president's name in the spellings news agencies (and romanised Cyrillic) use.
  ['zelensky', 'zelenskyy'],
  ['zelenskiy', 'zelenskyy'],
  ['zelenskyi', 'zelenskyy'],
  // "N. Korea" in headlines: an initial the tokeniser reads as the word "n".
  ['n', 'north'],
]);

/** Compass words of region names ("North Korea", "East Asia"): parts of places, not events. */
export const COMPASS_WORDS: ReadonlySet<string> = new Set(['north', 'south', 'east', 'west']);

/**
 * English numerals: units and tens as their values, and the scales that
 * multiply what comes before them ("fifteen hundred", "1.2 billion", "3k").
 */
export const NUMERAL_VALUES: ReadonlyMap<string, number> = new Map([
  ['one', 1],
  ['two', 2],
  ['three', 3],
  ['four', 4],
  ['five', 5],
  ['six', 6],
  ['seven', 7],
  ['eight', 8],
  ['nine', 9],
  ['ten', 10],
  ['eleven', 11],
  ['twelve', 12],
  ['thirteen', 13],
  ['fourteen', 14],
  ['fifteen', 15],
  ['sixteen', 16],
  ['seventeen', 17],
  ['eighteen', 18],
  ['nineteen', 19],
  ['twenty', 20],
  ['thirty', 30],
  ['forty', 40],
  ['fifty', 50],
  ['sixty', 60],
  ['seventy', 70],
  ['eighty', 80],
  ['ninety', 90],
  ['dozen', 12],
]);

/** Scale words and the abbreviations financial copy uses for them. */
export const NUMERAL_SCALES: ReadonlyMap<string, number> = new Map([
  ['hundred', 100],
  ['thousand', 1e3],
  ['k', 1e3],
  ['million', 1e6],
  ['mln', 1e6],
  ['m', 1e6],
  ['billion', 1e9],
  ['bn', 1e9],
  ['b', 1e9],
  ['trillion', 1e12],
  ['tn', 1e12],
]);
