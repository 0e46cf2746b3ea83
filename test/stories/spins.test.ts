/**
 * Copies nobody tuned story grouping on: content-farm spins of the news
 * fixtures' first reports (a WordNet synonym swapped in for 20–40 % of the
 * plain words, by `test/support/wordnet-spinner.ts`), other outlets'
 * rewrites (sentences in another order, figures spelled another way, the
 * headline reworded), and the real content-farm copy of the Kim–Lavrov seed
 * story against a wire version of it. They must join their story; spun
 * templated look-alikes (a headline number or name changed) must not.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Item } from '../../shared/ports.ts';
import { readLabelledItems } from '../../shared/stories/corpus.ts';
import {
  joins,
  type Outcome,
  otherName,
  otherNumber,
  sentencesOf,
} from '../support/story-variants.ts';
import { random, spin } from '../support/wordnet-spinner.ts';

const CORPUS = resolve(import.meta.dirname, '../fixtures/news/items.jsonl');
const SEED = resolve(import.meta.dirname, '../fixtures/seed');

const NUMBER_WORDS = ['', '', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/**
 * Figures spelled the way another outlet might: "$1.2 billion" as "1.2
 * billion dollars", "15,000" as "15 thousand", "2,500" as "2.5 thousand",
 * a small count as a word.
 */
function respellFigures(text: string): string {
  return text
    .replace(/\$(\d+(?:\.\d+)?) (million|billion)/g, '$1 $2 dollars')
    .replace(/\b(\d{1,3}),(\d{3})\b(?![,.]\d)/g, (_, thousands: string, rest: string) => {
      const value = Number(`${thousands}.${rest}`);
      return `${value} thousand`;
    })
    .replace(/(?<![\d.,$-])\b([2-9])\b(?![\d.,%-])/g, (_, digit: string) => {
      return NUMBER_WORDS[Number(digit)] ?? digit;
    });
}

/** Another outlet's version: sentences reversed, figures respelled, headline and some words reworded. */
function rewrite(report: { title: string; summary: string }, seed: number): typeof report {
  const next = random(seed);
  const sentences = sentencesOf(report.summary).reverse();
  const comma = report.title.indexOf(', ');
  const title =
    comma < 0
      ? report.title
      : `${report.title.slice(comma + 2)}: ${report.title.slice(0, comma)}`.replace(/^./, (c) =>
          c.toUpperCase(),
        );
  return {
    title: respellFigures(spin(title, 0.2, next).text),
    summary: respellFigures(spin(sentences.join(' '), 0.2, next).text),
  };
}

/** A stable number from an id, to seed a report's spin. */
function seedOf(id: string): number {
  let hash = 2166136261;
  for (const char of id) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619);
  return hash >>> 0;
}

describe('story grouping on spun and rewritten copies nobody tuned it on', () => {
  let seeds: Item[] = [];

  beforeAll(async () => {
    const items = await readLabelledItems(CORPUS);
    // First reports only, one per distinct title, with a lede of at least two sentences.
    const firsts = new Map<string, Item>();
    for (const item of items) {
      if (!['original', 'distractor', 'template-sibling'].includes(item.variant)) continue;
      if (sentencesOf(item.summary).length >= 2) firsts.set(item.title, item);
    }
    seeds = [...firsts.values()];
  });

  it('joins content-farm spins (WordNet synonyms for 20–40 % of the plain words) to their story', async () => {
    const outcomes: (Outcome & { share: number })[] = [];
    for (const seed of seeds) {
      const next = random(seedOf(seed.id));
      const share = 0.2 + 0.2 * next();
      const title = spin(seed.title, share, next);
      const summary = spin(seed.summary, share, next);
      const outcome = await joins(seed, { title: title.text, summary: summary.text }, 'spun');
      outcomes.push({ ...outcome, share: summary.share });
    }

    const missed = outcomes.filter((outcome) => !outcome.joined).map((o) => o.seed);
    const meanShare = outcomes.reduce((sum, o) => sum + o.share, 0) / outcomes.length;
    console.info(JSON.stringify({ spins: outcomes.length, meanShare, missed }));
    expect(outcomes.length).toBeGreaterThan(50);
    expect(meanShare).toBeGreaterThanOrEqual(0.2);
    expect(missed.length / outcomes.length).toBeLessThanOrEqual(0.05);
  });

  it("joins other outlets' rewrites (sentence order, figures respelled, headline reworded) to their story", async () => {
    const outcomes: Outcome[] = [];
    for (const seed of seeds) {
      outcomes.push(await joins(seed, rewrite(seed, seedOf(seed.id)), 'rewrite'));
    }

    const missed = outcomes.filter((outcome) => !outcome.joined).map((o) => o.seed);
    console.info(JSON.stringify({ rewrites: outcomes.length, missed }));
    expect(missed.length / outcomes.length).toBeLessThanOrEqual(0.05);
  });

  it('never joins a spun templated look-alike (a headline number or name changed) to the story it imitates', async () => {
    const outcomes: Outcome[] = [];
    for (const seed of seeds) {
      const next = random(seedOf(seed.id) + 1);
      for (const [kind, sibling] of [
        ['number changed', otherNumber(seed)],
        ['name changed', otherName(seed)],
      ] as const) {
        if (!sibling) continue;
        const spun = {
          title: spin(sibling.title, 0.3, next).text,
          summary: spin(sibling.summary, 0.3, next).text,
        };
        outcomes.push(await joins(seed, spun, kind));
      }
    }

    const merged = outcomes.filter((outcome) => outcome.joined).map((o) => `${o.kind}: ${o.seed}`);
    console.info(JSON.stringify({ lookAlikes: outcomes.length, merged }));
    expect(outcomes.length).toBeGreaterThan(30);
    expect(merged).toEqual([]);
  });

  it('joins the real content-farm copy of the Kim–Lavrov story to a wire version of it', async () => {
    const wire = JSON.parse(await readFile(resolve(SEED, 'kim-lavrov-wire.json'), 'utf8')) as Item;
    const spun = (await readFile(resolve(SEED, 'kim-lavrov-spun.txt'), 'utf8')).trim();
    const firstSentence = spun.split('\n')[0]?.replace(/,.*$/, '') ?? '';

    const outcome = await joins(wire, { title: firstSentence, summary: spun }, 'seed');

    expect(outcome.joined).toBe(true);
  });
});
