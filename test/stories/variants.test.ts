/**
 * A check of story grouping that the corpus labels never tuned: each first
 * report of the news corpus is turned into variants that must join its story
 * (boilerplate added, a sentence dropped, the lede cut short, sentences or
 * headline clauses reordered, synonyms swapped from a list written here, and
 * two of these at once) and into templated look-alikes of another event that
 * must not (a number or a name of the headline changed throughout). Only the
 * text of the corpus is used, never its `story` or `variant` labels.
 */
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Item } from '../../shared/ports.ts';
import { readLabelledItems } from '../../shared/stories/corpus.ts';
import {
  escapeRegExp,
  joins,
  type Outcome,
  otherName,
  otherNumber,
  sentencesOf,
} from '../support/story-variants.ts';

const CORPUS = resolve(import.meta.dirname, '../fixtures/news/items.jsonl');

/** Words rewriters swap, as this test's own list (matched as whole words, any case). */
const SWAPS: readonly [string, string][] = [
  ['fired', 'launched'],
  ['launched', 'fired'],
  ['images', 'pictures'],
  ['attack', 'assault'],
  ['sent', 'dispatched'],
  ['sends', 'dispatches'],
  ['receives', 'gets'],
  ['received', 'obtained'],
  ['approves', 'authorises'],
  ['approved', 'authorized'],
  ['troops', 'soldiers'],
  ['soldiers', 'troops'],
  ['near', 'close to'],
  ['homes', 'houses'],
  ['large', 'big'],
  ['warned', 'cautioned'],
  ['ships', 'vessels'],
  ['boat', 'vessel'],
  ['began', 'started'],
  ['signed', 'inked'],
  ['deal', 'agreement'],
  ['help', 'assist'],
  ['military', 'army'],
  ['systems', 'methods'],
  ['killed', 'slew'],
  ['talks', 'negotiations'],
  ['seized', 'confiscated'],
  ['record', 'all-time'],
];

/** Swaps every listed word it finds, keeping a leading capital. */
function swapSynonyms(text: string): string {
  let result = text;
  for (const [from, to] of SWAPS) {
    result = result.replace(new RegExp(`\\b${escapeRegExp(from)}\\b`, 'gi'), (word) =>
      /^[A-Z]/.test(word) ? to.charAt(0).toUpperCase() + to.slice(1) : to,
    );
  }
  return result;
}

/** A variant: a new title and summary made from a first report's. */
type Variant = (report: { title: string; summary: string }) => { title: string; summary: string };

const JOINING: Record<string, Variant> = {
  'dateline, byline and agency tag added': ({ title, summary }) => ({
    title: `UPDATE 1-${title} - Wire C`,
    summary: `LONDON, Nov 3 (Wire C) — ${summary} (Reporting by Ann Lee; Editing by Tom Hart) Read more at wire-c.example`,
  }),
  'last sentence dropped': ({ title, summary }) => {
    const sentences = sentencesOf(summary);
    return { title, summary: sentences.slice(0, Math.max(1, sentences.length - 1)).join(' ') };
  },
  'lede cut to its first sentence': ({ title, summary }) => ({
    title,
    summary: sentencesOf(summary)[0] ?? '',
  }),
  'first two sentences swapped': ({ title, summary }) => {
    const [first, second, ...rest] = sentencesOf(summary);
    return { title, summary: [second, first, ...rest].filter(Boolean).join(' ') };
  },
  'headline clauses reordered': ({ title, summary }) => {
    const comma = title.indexOf(', ');
    if (comma < 0) return { title: `${title} (report)`, summary };
    const tail = title.slice(comma + 2);
    return {
      title: `${tail.charAt(0).toUpperCase()}${tail.slice(1)}: ${title.slice(0, comma)}`,
      summary,
    };
  },
  'synonyms swapped': ({ title, summary }) => ({
    title: swapSynonyms(title),
    summary: swapSynonyms(summary),
  }),
  'headline in capitals': ({ title, summary }) => ({ title: title.toUpperCase(), summary }),
  'synonyms swapped and last sentence dropped': (report) =>
    JOINING['last sentence dropped']?.(JOINING['synonyms swapped']?.(report) ?? report) ?? report,
  'boilerplate added and lede cut': (report) =>
    JOINING['dateline, byline and agency tag added']?.(
      JOINING['lede cut to its first sentence']?.(report) ?? report,
    ) ?? report,
};

describe('story grouping on generated variants of corpus first reports', () => {
  let seeds: Item[] = [];

  beforeAll(async () => {
    const items = await readLabelledItems(CORPUS);
    // One report per distinct title: the seeds are texts, whatever their labels say.
    const byTitle = new Map(items.map((item) => [item.title, item]));
    seeds = [...byTitle.values()].filter(
      (item) => sentencesOf(item.summary).length >= 2 && item.title.split(' ').length >= 4,
    );
  });

  it('joins rewrites, trims, reorderings, synonym swaps and added boilerplate to their story', async () => {
    const outcomes: Outcome[] = [];
    for (const seed of seeds) {
      for (const [kind, variant] of Object.entries(JOINING)) {
        outcomes.push(await joins(seed, variant(seed), kind));
      }
    }

    const missed = outcomes.filter((outcome) => !outcome.joined);
    const byKind = Object.keys(JOINING).map((kind) => {
      const ofKind = outcomes.filter((outcome) => outcome.kind === kind);
      return { kind, joined: ofKind.filter((o) => o.joined).length, of: ofKind.length };
    });
    console.info(JSON.stringify({ seeds: seeds.length, byKind, missed }));
    expect(seeds.length).toBeGreaterThan(50);
    expect(missed.length / outcomes.length).toBeLessThanOrEqual(0.02);
    for (const kind of byKind) expect(kind.joined / kind.of).toBeGreaterThanOrEqual(0.95);
  });

  it('never joins a templated report of another event (a headline number or name changed)', async () => {
    const outcomes: Outcome[] = [];
    for (const seed of seeds) {
      const numberSibling = otherNumber(seed);
      if (numberSibling) outcomes.push(await joins(seed, numberSibling, 'number changed'));
      const nameSibling = otherName(seed);
      if (nameSibling) outcomes.push(await joins(seed, nameSibling, 'name changed'));
    }

    const merged = outcomes.filter((outcome) => outcome.joined);
    console.info(
      JSON.stringify({
        siblings: outcomes.length,
        numberChanged: outcomes.filter((o) => o.kind === 'number changed').length,
        merged: merged.map((o) => `${o.kind}: ${o.seed}`),
      }),
    );
    expect(outcomes.length).toBeGreaterThan(40);
    expect(merged).toEqual([]);
  });
});
