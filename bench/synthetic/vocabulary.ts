/**
 * Vocabularies for synthetic wire items and watch rules: a few thousand named
 * entities (real names first, so that they are the most mentioned, then
 * invented ones), action words, and words that rules exclude.
 */
import type { Random } from './random.ts';

export const ENTITY_KINDS = [
  'country',
  'capital',
  'leader',
  'organisation',
  'weapon',
  'company',
  'vessel',
] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

export interface Entity {
  kind: EntityKind;
  /** Ways item text names the entity; the first is the full name. */
  mentions: string[];
  /** Ways a rule names it, in query syntax. */
  queries: string[];
}

export interface Action {
  /** Ways item text says it. */
  mentions: string[];
  /** Ways a rule asks for it, in query syntax. */
  queries: string[];
}

export interface Vocabulary {
  entities: Record<EntityKind, Entity[]>;
  actions: Action[];
  /** Query terms that rules exclude with AND NOT. */
  exclusions: string[];
}

const REAL_COUNTRIES = [
  'Ukraine',
  'Russia',
  'China',
  'Taiwan',
  'Iran',
  'Israel',
  'Syria',
  'Iraq',
  'Yemen',
  'Lebanon',
  'Turkey',
  'Egypt',
  'Libya',
  'Sudan',
  'Ethiopia',
  'Somalia',
  'Nigeria',
  'Mali',
  'Niger',
  'South Africa',
  'India',
  'Pakistan',
  'Afghanistan',
  'Bangladesh',
  'Myanmar',
  'Thailand',
  'Vietnam',
  'Philippines',
  'Indonesia',
  'Malaysia',
  'Japan',
  'South Korea',
  'North Korea',
  'Mongolia',
  'Kazakhstan',
  'Georgia',
  'Armenia',
  'Azerbaijan',
  'Belarus',
  'Poland',
  'Germany',
  'France',
  'Britain',
  'Spain',
  'Italy',
  'Greece',
  'Sweden',
  'Finland',
  'Norway',
  'Estonia',
  'Latvia',
  'Lithuania',
  'Romania',
  'Moldova',
  'Serbia',
  'Hungary',
  'United States',
  'Canada',
  'Mexico',
  'Venezuela',
  'Colombia',
  'Brazil',
  'Argentina',
  'Chile',
  'Cuba',
  'Saudi Arabia',
  'Qatar',
  'United Arab Emirates',
  'Oman',
  'Jordan',
];

const REAL_CAPITALS = [
  'Kyiv',
  'Moscow',
  'Beijing',
  'Taipei',
  'Tehran',
  'Jerusalem',
  'Damascus',
  'Baghdad',
  'Sanaa',
  'Beirut',
  'Ankara',
  'Cairo',
  'Tripoli',
  'Khartoum',
  'Addis Ababa',
  'Mogadishu',
  'Abuja',
  'Bamako',
  'Niamey',
  'Pretoria',
  'New Delhi',
  'Islamabad',
  'Kabul',
  'Dhaka',
  'Naypyidaw',
  'Bangkok',
  'Hanoi',
  'Manila',
  'Jakarta',
  'Kuala Lumpur',
  'Tokyo',
  'Seoul',
  'Pyongyang',
  'Tbilisi',
  'Yerevan',
  'Baku',
  'Minsk',
  'Warsaw',
  'Berlin',
  'Paris',
  'London',
  'Madrid',
  'Rome',
  'Athens',
  'Stockholm',
  'Helsinki',
  'Oslo',
  'Tallinn',
  'Riga',
  'Vilnius',
  'Bucharest',
  'Chisinau',
  'Belgrade',
  'Budapest',
  'Washington',
  'Ottawa',
  'Caracas',
  'Bogotá',
  'Brasília',
  'Buenos Aires',
  'Havana',
  'Riyadh',
  'Doha',
  'Abu Dhabi',
  'Muscat',
  'Amman',
];

const REAL_LEADERS: [string, string][] = [
  ['Vladimir', 'Putin'],
  ['Xi', 'Jinping'],
  ['Volodymyr', 'Zelenskyy'],
  ['Kim', 'Jong Un'],
  ['Recep Tayyip', 'Erdoğan'],
  ['Narendra', 'Modi'],
  ['Emmanuel', 'Macron'],
  ['Keir', 'Starmer'],
  ['Benjamin', 'Netanyahu'],
  ['Ali', 'Khamenei'],
  ['Alexander', 'Lukashenko'],
  ['Lai', 'Ching-te'],
  ['Luiz Inácio', 'Lula da Silva'],
  ['Mohammed', 'bin Salman'],
  ['Abdel Fattah', 'el-Sisi'],
  ['Viktor', 'Orbán'],
  ['Donald', 'Tusk'],
  ['Pedro', 'Sánchez'],
  ['Giorgia', 'Meloni'],
  ['Shehbaz', 'Sharif'],
  ['Mark', 'Rutte'],
  ['António', 'Guterres'],
];

const REAL_ORGANISATIONS: [string, string | undefined][] = [
  ['NATO', undefined],
  ['International Atomic Energy Agency', 'IAEA'],
  ['OPEC', undefined],
  ['European Union', 'EU'],
  ['African Union', 'AU'],
  ['ASEAN', undefined],
  ['United Nations', 'UN'],
  ['Security Council', undefined],
  ['Hamas', undefined],
  ['Hezbollah', undefined],
  ['Houthis', undefined],
  ['Wagner Group', undefined],
  ['Red Cross', undefined],
  ['World Health Organization', 'WHO'],
  ['International Monetary Fund', 'IMF'],
  ['World Bank', undefined],
  ['Interpol', undefined],
  ['OSCE', undefined],
  ['Frontex', undefined],
  ['ECOWAS', undefined],
  ['Islamic State', 'ISIS'],
  ['al-Shabaab', undefined],
  ['Taliban', undefined],
  ['Pentagon', undefined],
  ['Kremlin', undefined],
];

const REAL_WEAPONS = [
  'Patriot',
  'HIMARS',
  'ATACMS',
  'Storm Shadow',
  'S-400',
  'F-16',
  'F-35',
  'Leopard 2',
  'Abrams',
  'Javelin',
  'Stinger',
  'Kinzhal',
  'Iskander',
  'Shahed',
  'Bayraktar TB2',
  'Su-35',
  'MiG-29',
  'Kalibr',
  'Oniks',
  'Hwasong-18',
  'Tomahawk',
  'Iron Dome',
  'NASAMS',
  'IRIS-T',
  'Gepard',
  'Caesar',
  'Switchblade',
  'Lancet',
  'Orlan',
  'Zircon',
];

const REAL_COMPANIES = [
  'Gazprom',
  'Rosneft',
  'Lukoil',
  'Sovcomflot',
  'Maersk',
  'Lockheed Martin',
  'Raytheon',
  'Rheinmetall',
  'BAE Systems',
  'Thales',
  'Saab',
  'General Dynamics',
  'Boeing',
  'Airbus',
  'Huawei',
  'SMIC',
  'TSMC',
  'Nvidia',
  'Aramco',
  'ADNOC',
  'Glencore',
  'Trafigura',
  'Vitol',
  'Hapag-Lloyd',
  'COSCO',
  'Evergreen',
  'Naftogaz',
  'Rosatom',
  'Embraer',
  'Hanwha',
];

const FIRST_NAMES = [
  'Ahmed',
  'Ana',
  'Andrei',
  'Aziz',
  'Bashir',
  'Carlos',
  'Chen',
  'Daniel',
  'Dmitry',
  'Elena',
  'Farid',
  'Fatima',
  'Gustavo',
  'Hassan',
  'Helena',
  'Ibrahim',
  'Ivan',
  'Jae-won',
  'Jorge',
  'Karim',
  'Laila',
  'Lucia',
  'Mahmoud',
  'Maria',
  'Mehmet',
  'Min-jun',
  'Mustafa',
  'Nadia',
  'Nikolai',
  'Olga',
  'Omar',
  'Pavel',
  'Rashid',
  'Ricardo',
  'Samir',
  'Sergei',
  'Sofia',
  'Tariq',
  'Thomas',
  'Viktor',
  'Wei',
  'Yusuf',
  'Zainab',
  'Jean-Pierre',
  'Kofi',
  'Amina',
];

const LEADER_TITLES = ['President', 'Prime Minister', 'General', 'Foreign Minister', 'Minister'];
const COMPANY_SUFFIXES = [
  'Shipping',
  'Petroleum',
  'Defence',
  'Holdings',
  'Marine',
  'Energy',
  'Logistics',
  'Trading',
  'Aerospace',
  'Industries',
  'Metals',
  'Group',
];
const ORGANISATION_PATTERNS = [
  (root: string) => `${root} Liberation Front`,
  (root: string) => `${root} Brigade`,
  (root: string) => `${root} People's Army`,
  (root: string) => `${root} Movement`,
  (root: string) => `${root} Council`,
];
const COUNTRY_SUFFIXES = ['ia', 'stan', 'land', 'ova', 'ar', 'ica', 'esh', 'ania'];
const CAPITAL_SUFFIXES = ['grad', 'abad', 'pur', 'burg', 'ville', 'sk', 'ovo', 'ston'];

const ONSETS = ['b', 'br', 'd', 'dr', 'g', 'k', 'kh', 'l', 'm', 'n', 'p', 'r', 's', 'st', 't'];
const MORE_ONSETS = ['tr', 'v', 'z', 'sh', 'ch', 'y', 'f', 'h'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ou', 'ei', 'ia', 'a', 'o'];
const CODAS = ['', '', '', 'n', 'r', 's', 'l', 'k', 'm', 'v', 'sk', 'nd', 'rt', 'z'];

const ACTIONS: Action[] = [
  { queries: ['deploy*', 'deployment'], mentions: ['deployed', 'deploys', 'deployment of'] },
  { queries: ['sanction*'], mentions: ['sanctioned', 'imposed sanctions on', 'sanctions against'] },
  { queries: ['"ship-to-ship"'], mentions: ['ship-to-ship transfer', 'ship-to-ship transfers'] },
  { queries: ['pledge*', 'pledged'], mentions: ['pledged', 'pledges'] },
  { queries: ['deliver*', 'delivery'], mentions: ['delivered', 'delivery of', 'deliveries of'] },
  { queries: ['strike', 'strikes', 'strike*'], mentions: ['strike on', 'strikes against'] },
  { queries: ['seiz*', 'seized'], mentions: ['seized', 'seizure of'] },
  { queries: ['launch*', 'launched'], mentions: ['launched', 'launches'] },
  { queries: ['intercept*'], mentions: ['intercepted', 'interception of'] },
  { queries: ['embargo', '"arms embargo"'], mentions: ['embargo on', 'arms embargo against'] },
  { queries: ['export*'], mentions: ['exports of', 'exported'] },
  { queries: ['"arms deal"', 'arms NEAR/2 deal*'], mentions: ['arms deal with'] },
  { queries: ['shell*', 'shelled'], mentions: ['shelled', 'shelling of'] },
  { queries: ['"air defence"', '"air defense"'], mentions: ['air defence', 'air defense'] },
  { queries: ['mobilis*', 'mobiliz*'], mentions: ['mobilised', 'mobilization of'] },
  { queries: ['tanker*', 'tanker'], mentions: ['tanker', 'tankers'] },
  { queries: ['blockade*'], mentions: ['blockade of', 'blockaded'] },
  { queries: ['ceasefire', '"cease-fire"'], mentions: ['ceasefire', 'cease-fire'] },
  { queries: ['negotiat*', 'talks'], mentions: ['negotiations with', 'talks with'] },
  { queries: ['evacuat*'], mentions: ['evacuated', 'evacuation of'] },
  { queries: ['"test-fired"', 'test ONEAR/1 fire*'], mentions: ['test-fired', 'test fired'] },
  { queries: ['drone*', 'drone'], mentions: ['drone', 'drones'] },
  { queries: ['missile*', 'missile'], mentions: ['missile', 'missiles'] },
  { queries: ['annex*'], mentions: ['annexed', 'annexation of'] },
  { queries: ['expel*', 'expelled'], mentions: ['expelled', 'expels'] },
  { queries: ['detain*', 'arrest*'], mentions: ['detained', 'arrested'] },
  { queries: ['"no-fly zone"'], mentions: ['no-fly zone over'] },
  { queries: ['tariff*'], mentions: ['tariffs on', 'tariff'] },
  { queries: ['acquir*', 'acquisition', 'takeover'], mentions: ['acquired', 'acquisition of'] },
  { queries: ['merger', 'merg*'], mentions: ['merger with', 'merged with'] },
  { queries: ['recall*'], mentions: ['recalled its ambassador to', 'recalled'] },
  { queries: ['coup', '"coup attempt"'], mentions: ['coup attempt in', 'coup'] },
  { queries: ['explosion*', 'blast'], mentions: ['explosion at', 'blast near'] },
  { queries: ['cyberattack*', '"cyber attack"'], mentions: ['cyberattack on', 'cyber attack on'] },
  { queries: ['hijack*'], mentions: ['hijacked', 'hijacking of'] },
  { queries: ['smuggl*'], mentions: ['smuggling', 'smuggled'] },
  { queries: ['default*'], mentions: ['defaulted on', 'default'] },
  { queries: ['withdraw*', 'withdrew'], mentions: ['withdrew from', 'withdrawal of'] },
  { queries: ['enrich*', 'uranium'], mentions: ['enriched uranium', 'enrichment'] },
  { queries: ['airstrike*', '"air strike"'], mentions: ['airstrike on', 'air strikes on'] },
  { queries: ['troops', 'soldiers'], mentions: ['troops', 'soldiers'] },
  { queries: ['convoy*'], mentions: ['convoy', 'convoys'] },
];

const EXCLUSIONS = [
  'football',
  'sports',
  'match',
  'exercise*',
  'drill*',
  'film',
  'movie',
  'anniversary',
  'museum',
  '"video game"',
  'concert',
  'Patriots',
  'rumour*',
  'obituary',
  'recipe',
  'festival',
];

const INVENTED_COUNTS: Record<EntityKind, number> = {
  country: 350,
  capital: 350,
  leader: 1200,
  organisation: 300,
  weapon: 500,
  company: 700,
  vessel: 400,
};

/** Builds the vocabularies; the same `random` state always gives the same words. */
export function buildVocabulary(random: Random, counts = INVENTED_COUNTS): Vocabulary {
  const names = new NameInventor(random);
  const entities: Record<EntityKind, Entity[]> = {
    country: REAL_COUNTRIES.map((name) => place('country', name)),
    capital: REAL_CAPITALS.map((name) => place('capital', name)),
    leader: REAL_LEADERS.map(([first, last]) => leader(first, last, random)),
    organisation: REAL_ORGANISATIONS.map(([name, short]) => organisation(name, short)),
    weapon: REAL_WEAPONS.map((name) => weapon(name)),
    company: REAL_COMPANIES.map((name) => company(name, undefined)),
    vessel: [],
  };
  for (let i = 0; i < counts.country; i++) {
    entities.country.push(place('country', names.root() + random.pick(COUNTRY_SUFFIXES)));
  }
  for (let i = 0; i < counts.capital; i++) {
    const root = names.root();
    const name = random.chance(0.2)
      ? `${random.pick(['Port', 'San', 'New', 'Fort'])} ${root}`
      : root + random.pick(CAPITAL_SUFFIXES);
    entities.capital.push(place('capital', name));
  }
  for (let i = 0; i < counts.leader; i++) {
    entities.leader.push(leader(random.pick(FIRST_NAMES), names.root(), random));
  }
  for (let i = 0; i < counts.organisation; i++) {
    const root = names.root();
    if (random.chance(0.3)) entities.organisation.push(organisation(root, names.acronym()));
    else
      entities.organisation.push(organisation(random.pick(ORGANISATION_PATTERNS)(root), undefined));
  }
  for (let i = 0; i < counts.weapon; i++) {
    const name = random.chance(0.5)
      ? `${names.root()}-${random.int(1, 40)}`
      : `${names.acronym().slice(0, 2)}-${random.int(100, 990)}`;
    entities.weapon.push(weapon(name));
  }
  for (let i = 0; i < counts.company; i++) {
    entities.company.push(company(names.root(), random.pick(COMPANY_SUFFIXES)));
  }
  for (let i = 0; i < counts.vessel; i++) {
    const name = names.root();
    entities.vessel.push({
      kind: 'vessel',
      mentions: [`the tanker ${name}`, `the ${name}`, `MT ${name}`, `the vessel ${name}`],
      queries: [name, `"MT ${name}"`, `{${name}}`],
    });
  }
  return { entities, actions: ACTIONS, exclusions: EXCLUSIONS };
}

/** Number of distinct entities in a vocabulary. */
export function entityCount(vocabulary: Vocabulary): number {
  return ENTITY_KINDS.reduce((n, kind) => n + vocabulary.entities[kind].length, 0);
}

function quoted(name: string): string {
  return /[\s-]/.test(name) ? `"${name}"` : name;
}

function place(kind: 'country' | 'capital', name: string): Entity {
  return { kind, mentions: [name, `${name}'s`], queries: [quoted(name)] };
}

function leader(first: string, last: string, random: Random): Entity {
  const title = random.pick(LEADER_TITLES);
  return {
    kind: 'leader',
    mentions: [`${first} ${last}`, last, `${title} ${last}`, `${last}'s`],
    queries: [quoted(last), `"${first} ${last}"`, quoted(last), `"${title} ${last}"`],
  };
}

function organisation(name: string, short: string | undefined): Entity {
  const queries = [quoted(name)];
  const mentions = [name];
  if (short) {
    queries.push(`{${short}}`);
    mentions.push(short);
  }
  return { kind: 'organisation', mentions, queries };
}

function weapon(name: string): Entity {
  const queries = [quoted(name)];
  const stem = name.split(/[\s-]/)[0] ?? name;
  // Analysts often widen a family name with a wildcard: Hwasong* for every variant.
  if (stem.length >= 4 && /^[A-Za-z]+$/.test(stem)) queries.push(`${stem}*`);
  return { kind: 'weapon', mentions: [name, `${name} systems`], queries };
}

function company(root: string, suffix: string | undefined): Entity {
  if (!suffix) return { kind: 'company', mentions: [root, `${root}'s`], queries: [quoted(root)] };
  const name = `${root} ${suffix}`;
  return { kind: 'company', mentions: [name, root], queries: [`"${name}"`, root] };
}

/** Invents pronounceable, distinct proper names. */
class NameInventor {
  private readonly used = new Set<string>();

  constructor(private readonly random: Random) {}

  root(): string {
    for (;;) {
      const syllables = this.random.int(2, 3);
      let name = '';
      for (let s = 0; s < syllables; s++) {
        const onset = this.random.chance(0.8)
          ? this.random.pick(ONSETS)
          : this.random.pick(MORE_ONSETS);
        name += onset + this.random.pick(VOWELS) + this.random.pick(CODAS);
      }
      if (name.length < 5 || this.used.has(name)) continue;
      this.used.add(name);
      return name.charAt(0).toUpperCase() + name.slice(1);
    }
  }

  acronym(): string {
    for (;;) {
      let acronym = '';
      const length = this.random.int(3, 4);
      for (let i = 0; i < length; i++) {
        acronym += String.fromCharCode(65 + this.random.int(0, 25));
      }
      const key = acronym.toLowerCase();
      if (this.used.has(key)) continue;
      this.used.add(key);
      return acronym;
    }
  }
}
