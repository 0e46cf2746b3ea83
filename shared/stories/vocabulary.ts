/**
 * Word lists the story fingerprint relies on: function words to ignore, the
 * spelling variants wire copy uses for the same thing, number words, and the
 * capitalised words of titles and institutions that name no particular event.
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
 * Capitalised words that are part of titles, offices and institutions. They
 * are swapped freely by paraphrasers ("Defence Minister" → "Protection
 * Minister", "People's Assembly" → "Folks's Meeting") and name no place or
 * person, so a difference in them is not a different event.
 */
export const INSTITUTION_WORDS: ReadonlySet<string> = new Set(
  (
    'minister ministry defence defense protection foreign prime president premier chancellor ' +
    'secretary general assembly council supreme people folks meeting parliament parliamentary ' +
    'congress senate house committee department agency office service services administration ' +
    'army navy air force forces military guard coast command national state federal republic ' +
    'democratic union party government authority commission court bank university institute ' +
    'centre center group international joint chiefs staff leader chief governor mayor speaker ' +
    "the a an it he she they we this that in on at of for and but president's head deputy vice " +
    'materiel cabinet central special operations'
  ).split(' '),
);

/**
 * Spelling variants folded to one form before comparing (British/American,
 * transliterations, abbreviations), keyed by the folded, singular word.
 */
export const ALIASES: ReadonlyMap<string, string> = new Map([
  ['kiev', 'kyiv'],
  ['zelensky', 'zelenskyy'],
  ['zelenskiy', 'zelenskyy'],
  ['defense', 'defence'],
  ['offense', 'offence'],
  ['analyze', 'analyse'],
  ['analyzed', 'analysed'],
  ['organization', 'organisation'],
  ['program', 'programme'],
  ['center', 'centre'],
  ['fueled', 'fuelled'],
  ['canceled', 'cancelled'],
  ['traveled', 'travelled'],
  ['rocket', 'missile'],
  ['usa', 'us'],
  ['n', 'north'],
]);

/** Abbreviations that stand for several words, e.g. `DPRK` for North Korea. */
export const EXPANSIONS: ReadonlyMap<string, readonly string[]> = new Map([
  ['dprk', ['north', 'korea']],
  ['uk', ['britain']],
]);

/** Number words spelled out in wire copy, as the digits a rewrite may use instead. */
export const NUMBER_WORDS: ReadonlyMap<string, string> = new Map([
  ['two', '2'],
  ['three', '3'],
  ['four', '4'],
  ['five', '5'],
  ['six', '6'],
  ['seven', '7'],
  ['eight', '8'],
  ['nine', '9'],
  ['ten', '10'],
  ['eleven', '11'],
  ['twelve', '12'],
  ['twenty', '20'],
  ['thirty', '30'],
  ['forty', '40'],
  ['fifty', '50'],
  ['hundred', '100'],
]);
