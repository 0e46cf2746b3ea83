/**
 * News-like items for benchmarks: wire sentences generated from the
 * vocabularies, mixed with sentences of the real developer corpus so that the
 * filler text has the word statistics of news.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Random, Zipf } from './random.ts';
import {
  type Action,
  ENTITY_KINDS,
  type Entity,
  type EntityKind,
  type Vocabulary,
} from './vocabulary.ts';

/** The fields of an item that rules look at. */
export interface NewsItem {
  id: string;
  feed: string;
  lang: string;
  title: string;
  summary: string;
}

/** The developer corpus next to the repository (`../shared/corpora/news`). */
export const CORPUS_PATH = fileURLToPath(
  new URL('../../../shared/corpora/news/items.jsonl', import.meta.url),
);

/** The corpus's items, or none when the corpus is not checked out. */
export function loadCorpusItems(path = CORPUS_PATH): NewsItem[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const raw = JSON.parse(line) as Partial<Record<string, unknown>>;
      return {
        id: String(raw.id),
        feed: String(raw.feed ?? 'corpus'),
        lang: 'en',
        title: String(raw.title ?? ''),
        summary: String(raw.summary ?? ''),
      };
    });
}

/** A kind of story: the templates of its title and of its sentences. */
interface StoryKind {
  titles: string[];
  sentences: string[];
}

const STORY_KINDS: StoryKind[] = [
  {
    titles: [
      '{country} {action} {weapon} to {country}',
      '{weapon} {action} over {capital}, {country} says',
      '{leader} warns of {action} after {weapon} attack',
    ],
    sentences: [
      '{leader} said {country} {action} {weapon} {time}.',
      'Officials in {capital} said the {organisation} had {action} {weapon} near {capital}.',
      "{leader}'s office declined to comment on reports that {country} {action} {weapon}.",
      '{source} said {number} {unit} were {action} {country} {time}.',
      'The {weapon} systems were {action} {capital}, {source} said.',
    ],
  },
  {
    titles: [
      '{company} {action} {vessel} off {country}',
      '{country} {action} {vessel} carrying {company} cargo',
    ],
    sentences: [
      '{company} {action} {vessel} in waters off {country}, according to {source}.',
      'Satellite images showed {vessel} near {capital}, where {company} {action} cargo {time}.',
      'The {vessel} had switched off its transponder before it {action} {country}, {source} said.',
      '{organisation} said {company} {action} sanctions on {country} {time}.',
    ],
  },
  {
    titles: [
      '{leader} {action} {country} as talks stall in {capital}',
      '{organisation} {action} {country}, says {source}',
      '{country} says {organisation} {action} near {capital}',
    ],
    sentences: [
      '{country} {action} {country} after {organisation} {action} {capital}, {source} reported {time}.',
      'The move follows {action} by {organisation} {time}, which {leader} called unacceptable.',
      'Analysts said the {action} {country} could raise tensions with {country}.',
      '{leader} is due to meet {leader} in {capital} {time}.',
    ],
  },
  {
    titles: ['{company} {action} {company} in {country}', '{leader} {action} {company} deal'],
    sentences: [
      '{company} said it had {action} {company} under a contract signed {time}.',
      '{company} shares fell after {country} {action} its units in {capital}.',
      '{leader} said the {action} {company} would be reviewed by regulators in {capital}.',
      '{company} said it had {action} {weapon} components to {country} under a contract signed {time}.',
    ],
  },
];

const GENERIC_SENTENCES = [
  'The ministry did not respond to a request for comment.',
  'Analysts said the decision could raise tensions in the region.',
  'The statement gave no further details.',
  'Markets were little changed after the announcement.',
  'Diplomats said talks would resume next week.',
  'Local media reported several people were injured.',
  'The government has denied any involvement.',
  'It was not immediately clear how many people were affected.',
  'Officials said an investigation was under way.',
  'The report could not be independently verified.',
  'Prices for crude rose about 2% in early trading.',
  'Opposition lawmakers called for an emergency session of parliament.',
  'A spokesperson said more information would be released later in the day.',
  'The announcement came hours before a summit of regional leaders.',
  'Rights groups have criticised the decision.',
  'Shipping data showed traffic through the strait had slowed.',
  'Insurance costs for vessels in the area have risen sharply.',
  'The central bank left interest rates unchanged.',
  'Residents said they heard loud explosions overnight.',
  'Weather forecasters warned of heavy rain and flooding in coastal areas.',
  'The football federation said the match would go ahead as planned.',
  'Ticket sales for the festival opened on Monday.',
  'The museum reopened after a two-year renovation.',
  'Turnout in the regional election was the lowest in two decades.',
  'The company said quarterly revenue rose 12% on strong demand from Asia.',
  'Unemployment fell to 4.1% in the third quarter, the statistics office said.',
  'Thousands of people marched through the capital to protest against rising food prices.',
  'The court adjourned the hearing until next month.',
  'Emergency services said the fire had been brought under control by the evening.',
  'Lawmakers passed the budget by a narrow margin after a late-night debate.',
  'Train services were suspended for several hours because of a signalling fault.',
  'The health ministry reported a rise in hospital admissions over the winter.',
  'Teachers went on strike over pay for the second time this year.',
  'The airline cancelled dozens of flights because of staff shortages.',
  'Negotiators worked through the night but failed to agree on a final text.',
  'Police said three people had been arrested in connection with the attack.',
  'The ruling party has a comfortable majority in the lower house.',
  'Investors are watching for signals on interest rates from the central bank.',
  'The bridge, built in the 1960s, had been due for repairs for years.',
  'The finance minister said the government would not raise taxes next year.',
  'Aid agencies warned that supplies of food and clean water were running low.',
  'The exchange rate weakened to a record low against the dollar.',
  'Officials declined to say how long the measures would remain in place.',
  'Farmers blocked roads with tractors to protest against cheap imports.',
  'The opposition leader called the plan reckless and said it would be challenged in court.',
  'Scientists said the findings needed to be confirmed by further studies.',
  'The harbour authority said it was reviewing safety rules after the incident.',
  'A new timetable will take effect from the start of next month.',
  'The delegation is expected to meet business leaders before returning home on Friday.',
  'The prime minister is due to address parliament on Wednesday.',
];

const TIMES = [
  'on Monday',
  'on Tuesday',
  'on Wednesday',
  'on Thursday',
  'on Friday',
  'on Saturday',
  'on Sunday',
  'last week',
  'earlier this month',
  'overnight',
  'late on Tuesday',
  'in March',
];
const SOURCES = [
  'Reuters',
  'state media',
  'the defence ministry',
  'officials',
  'a government spokesperson',
  'the news agency',
  'two people familiar with the matter',
  "{capital}'s foreign ministry",
  'the coast guard',
  'a senior official in {capital}',
];
const UNITS = ['troops', 'civilians', 'vessels', 'tonnes of fuel', 'shells', 'containers'];
const FEEDS = ['wire-a', 'wire-b', 'regional-asia', 'europe-desk', 'aggregator'];

const SLOT = /\{(\w+)\}/g;

/**
 * Generates `count` items of 60–250 words. Each item is one kind of story with
 * a focus (one entity of each kind, two actions) that most of its sentences
 * mention, as a story does.
 */
export function generateNewsItems(
  vocabulary: Vocabulary,
  count: number,
  seed: number,
  corpus: readonly NewsItem[] = [],
): NewsItem[] {
  const random = new Random(seed);
  const popularity = new Map<EntityKind, Zipf>(
    ENTITY_KINDS.map((kind) => [kind, new Zipf(vocabulary.entities[kind].length)]),
  );
  const drawEntity = (kind: EntityKind): Entity => {
    const rank = (popularity.get(kind) as Zipf).sample(random);
    return vocabulary.entities[kind][rank] as Entity;
  };
  const stories = corpus.map((item) => ({
    title: item.title,
    sentences: sentencesOf(item.summary),
  }));

  const items: NewsItem[] = [];
  for (let n = 0; n < count; n++) {
    const kind = random.pick(STORY_KINDS);
    const focus = new Map<EntityKind, Entity>(ENTITY_KINDS.map((k) => [k, drawEntity(k)]));
    const focusActions: Action[] = [
      random.pick(vocabulary.actions),
      random.pick(vocabulary.actions),
    ];
    const fill = (template: string): string => {
      let text = template;
      // Slots may expand to text with slots ({source} → "{capital}'s foreign ministry").
      while (text.includes('{')) {
        text = text.replace(SLOT, (_, slot: string) => {
          switch (slot) {
            case 'action':
              return random.pick(
                random.chance(0.6)
                  ? random.pick(focusActions).mentions
                  : random.pick(vocabulary.actions).mentions,
              );
            case 'time':
              return random.pick(TIMES);
            case 'source':
              return random.pick(SOURCES);
            case 'unit':
              return random.pick(UNITS);
            case 'number':
              return String(random.int(2, 5000));
            default: {
              const entityKind = slot as EntityKind;
              const entity = random.chance(0.8)
                ? (focus.get(entityKind) as Entity)
                : drawEntity(entityKind);
              return random.chance(0.5)
                ? (entity.mentions[0] as string)
                : random.pick(entity.mentions);
            }
          }
        });
      }
      return text.charAt(0).toUpperCase() + text.slice(1);
    };

    // Most items borrow the text of one corpus item, as a wire story quotes its
    // own background; mixing sentences of many stories would make every item
    // about everything.
    const story = stories.length > 0 && random.chance(0.6) ? random.pick(stories) : undefined;
    const title = story && random.chance(0.25) ? story.title : fill(random.pick(kind.titles));
    const borrowed = [...(story?.sentences ?? [])];
    const targetWords = random.int(60, 250);
    let words = wordCount(title);
    const sentences: string[] = [];
    while (words < targetWords) {
      const r = random.next();
      const sentence =
        borrowed.length > 0 && r < 0.5
          ? (borrowed.shift() as string)
          : r < 0.75
            ? fill(random.pick(kind.sentences))
            : random.pick(GENERIC_SENTENCES);
      sentences.push(sentence);
      words += wordCount(sentence);
    }
    const dateline = random.chance(0.4)
      ? `${(focus.get('capital') as Entity).mentions[0]?.toUpperCase()} — `
      : '';
    items.push({
      id: `synthetic-${n}`,
      feed: random.pick(FEEDS),
      lang: 'en',
      title,
      summary: dateline + sentences.join(' '),
    });
  }
  return items;
}

function sentencesOf(text: string): string[] {
  return text
    .replace(/<[^>]*>/g, ' ')
    .split(/(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter((s) => wordCount(s) >= 4);
}

function wordCount(text: string): number {
  return text.split(/\s+/).filter((w) => w !== '').length;
}
