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
  ['n', 'north'],
  ['bn', 'billion'],
  ['mln', 'million'],
]);

/**
 * Abbreviations written in capitals that stand for several words, e.g. `DPRK`
 * for North Korea, keyed by the folded abbreviation. Only a token written in
 * capitals is expanded ("US", not the pronoun "us"). Abbreviations a report
 * spells out itself ("Joint Chiefs of Staff (JCS)") need no entry here.
 */
export const EXPANSIONS: ReadonlyMap<string, readonly string[]> = new Map([
  ['dprk', ['north', 'korea']],
  ['rok', ['south', 'korea']],
  ['prc', ['china']],
  ['uk', ['britain']],
  ['us', ['united', 'states']],
  ['usa', ['united', 'states']],
  ['eu', ['european', 'union']],
  ['un', ['united', 'nations']],
  ['uae', ['united', 'arab', 'emirates']],
]);

/**
 * Adjectives and demonyms of places, as the place: "Ukrainian" meets "Ukraine",
 * "Chinese" meets "China". Regular "-an" forms ("Russian", "Korean") are
 * folded by rule; these are the ones the rule gets wrong.
 */
export const DEMONYMS: ReadonlyMap<string, string> = new Map([
  ['ukrainian', 'ukraine'],
  ['chinese', 'china'],
  ['japanese', 'japan'],
  ['taiwanese', 'taiwan'],
  ['vietnamese', 'vietnam'],
  ['lebanese', 'lebanon'],
  ['sudanese', 'sudan'],
  ['burmese', 'myanmar'],
  ['portuguese', 'portugal'],
  ['iranian', 'iran'],
  ['canadian', 'canada'],
  ['brazilian', 'brazil'],
  ['mexican', 'mexico'],
  ['european', 'europe'],
  ['peruvian', 'peru'],
  ['norwegian', 'norway'],
  ['belarusian', 'belarus'],
  ['pakistani', 'pakistan'],
  ['afghan', 'afghanistan'],
  ['israeli', 'israel'],
  ['iraqi', 'iraq'],
  ['saudi', 'saudi'],
  ['yemeni', 'yemen'],
  ['kuwaiti', 'kuwait'],
  ['qatari', 'qatar'],
  ['omani', 'oman'],
  ['bangladeshi', 'bangladesh'],
  ['nepali', 'nepal'],
  ['somali', 'somalia'],
  ['german', 'germany'],
  ['french', 'france'],
  ['british', 'britain'],
  ['english', 'england'],
  ['scottish', 'scotland'],
  ['welsh', 'wales'],
  ['irish', 'ireland'],
  ['greek', 'greece'],
  ['spanish', 'spain'],
  ['polish', 'poland'],
  ['turkish', 'turkey'],
  ['swedish', 'sweden'],
  ['finnish', 'finland'],
  ['danish', 'denmark'],
  ['dutch', 'netherlands'],
  ['swiss', 'switzerland'],
  ['filipino', 'philippines'],
  ['philippine', 'philippines'],
  ['thai', 'thailand'],
  ['kyrgyz', 'kyrgyzstan'],
  ['kazakh', 'kazakhstan'],
  ['uzbek', 'uzbekistan'],
  ['tajik', 'tajikistan'],
  ['czech', 'czechia'],
  ['slovak', 'slovakia'],
  ['estonian', 'estonia'],
  ['latvian', 'latvia'],
  ['lithuanian', 'lithuania'],
  ['romanian', 'romania'],
  ['hungarian', 'hungary'],
  ['bulgarian', 'bulgaria'],
  ['serbian', 'serbia'],
  ['croatian', 'croatia'],
  ['syrian', 'syria'],
  ['egyptian', 'egypt'],
  ['libyan', 'libya'],
  ['tunisian', 'tunisia'],
  ['algerian', 'algeria'],
  ['moroccan', 'morocco'],
  ['nigerian', 'nigeria'],
  ['nigerien', 'niger'],
  ['ethiopian', 'ethiopia'],
  ['kenyan', 'kenya'],
  ['indonesian', 'indonesia'],
  ['malaysian', 'malaysia'],
  ['australian', 'australia'],
  ['indian', 'india'],
  ['argentine', 'argentina'],
  ['argentinian', 'argentina'],
  ['chilean', 'chile'],
  ['colombian', 'colombia'],
  ['venezuelan', 'venezuela'],
  ['cuban', 'cuba'],
  ['haitian', 'haiti'],
  ['american', 'america'],
  ['russian', 'russia'],
  ['korean', 'korea'],
  ['georgian', 'georgia'],
  ['armenian', 'armenia'],
  ['azerbaijani', 'azerbaijan'],
  ['moldovan', 'moldova'],
  ['belgian', 'belgium'],
  ['austrian', 'austria'],
  ['italian', 'italy'],
]);

/**
 * Words of country and region names beyond the demonyms' places: a headline
 * whose only details are countries ("North Korea", "Russia") names no
 * particular event.
 */
export const PLACE_WORDS: ReadonlySet<string> = new Set([
  ...DEMONYMS.values(),
  ...'north south east west united states kingdom arab emirates republic europe asia africa america britain'.split(
    ' ',
  ),
]);

/**
 * Irregular forms of verbs common in news copy, as their base form, so that
 * "flew" meets "fly" and "sent" meets "send" (regular forms are stemmed).
 */
export const IRREGULAR_FORMS: ReadonlyMap<string, string> = new Map(
  (
    'flew:fly flown:fly sent:send held:hold met:meet led:lead took:take taken:take gave:give ' +
    'given:give began:begin begun:begin fell:fall fallen:fall struck:strike shot:shoot ' +
    'rose:rise risen:rise sank:sink sunk:sink spoke:speak spoken:speak brought:bring ' +
    'bought:buy went:go gone:go came:come saw:see seen:see chose:choose chosen:choose ' +
    'drove:drive driven:drive fought:fight froze:freeze frozen:freeze grew:grow grown:grow ' +
    'knew:know known:know lost:lose made:make paid:pay ran:run sold:sell stood:stand ' +
    'threw:throw thrown:throw wrote:write written:write broke:break broken:break built:build ' +
    'caught:catch fled:flee sought:seek spent:spend won:win hid:hide hidden:hide ' +
    'stole:steal stolen:steal swore:swear sworn:swear woke:wake shook:shake shaken:shake ' +
    'withdrew:withdraw withdrawn:withdraw overtook:overtake oversaw:oversee overseen:oversee ' +
    'undertook:undertake forbade:forbid forbidden:forbid dealt:deal felt:feel kept:keep ' +
    'left:leave meant:mean slept:sleep swept:sweep wept:weep bore:bear borne:bear tore:tear ' +
    'torn:tear wore:wear worn:wear drew:draw drawn:draw blew:blow blown:blow ' +
    'rode:ride ridden:ride rang:ring rung:ring sang:sing sung:sing'
  )
    .split(' ')
    .map((pair) => pair.split(':') as [string, string]),
);

/**
 * Groups of words paraphrasers and rewriters swap for one another ("fire" a
 * missile or "launch" it, "pictures" for "images", "assault" for "attack").
 * Each group folds to its first word. Only plain words are folded: names and
 * numbers are the details that tell events apart and are never merged.
 */
export const SYNONYM_GROUPS: readonly (readonly string[])[] = [
  ['launch', 'fire'],
  ['fly', 'travel'],
  ['attack', 'assault', 'raid', 'strike', 'hit', 'bombard', 'pound', 'shell'],
  ['kill', 'slay'],
  ['injure', 'wound', 'hurt'],
  ['send', 'dispatch', 'deploy'],
  ['receive', 'get', 'obtain', 'acquire'],
  ['buy', 'purchase', 'order'],
  ['approve', 'authorise', 'authorize', 'greenlight'],
  ['pledge', 'promise', 'vow', 'commit'],
  ['visit', 'tour', 'trip'],
  ['arrive', 'land'],
  ['begin', 'start', 'commence'],
  ['end', 'finish', 'conclude'],
  ['show', 'present', 'display', 'reveal', 'indicate'],
  ['image', 'picture', 'photo', 'photograph', 'imagery'],
  ['home', 'house', 'property', 'residence', 'dwelling'],
  ['people', 'folks', 'individuals', 'persons'],
  ['force', 'drive', 'compel'],
  ['upper', 'higher'],
  ['lower', 'decrease', 'reduce', 'cut', 'slash'],
  ['raise', 'increase', 'boost', 'lift'],
  ['military', 'army', 'navy', 'armed'],
  ['soldier', 'troop', 'serviceman'],
  ['system', 'method', 'technique', 'mechanism'],
  ['team', 'crew', 'unit', 'workforce', 'group', 'squad'],
  ['worker', 'employee', 'labourer', 'laborer'],
  ['doctor', 'medic', 'physician'],
  ['medical', 'health'],
  ['near', 'close', 'nearby'],
  ['big', 'large', 'huge', 'major', 'massive'],
  ['small', 'little', 'minor'],
  ['help', 'assist', 'aid', 'support'],
  ['need', 'require'],
  ['use', 'utilise', 'utilize', 'employ'],
  ['try', 'attempt'],
  ['country', 'nation'],
  ['leader', 'chief', 'head'],
  ['meeting', 'assembly', 'gathering'],
  ['city', 'town'],
  ['quick', 'fast', 'rapid', 'swift'],
  ['key', 'crucial', 'vital', 'important', 'essential'],
  ['agreement', 'deal', 'accord', 'pact'],
  ['sign', 'ink'],
  ['warn', 'caution'],
  ['condemn', 'denounce'],
  ['rebuild', 'restore', 'repair', 'reconstruct'],
  ['boat', 'vessel', 'ship'],
  ['plane', 'aircraft', 'jet'],
  ['roughly', 'approximately', 'nearly', 'almost'],
  ['overnight', 'nighttime'],
  ['detect', 'spot', 'observe'],
  ['interceptor', 'missile'],
];

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
  ['dozen', '12'],
]);
