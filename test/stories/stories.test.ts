import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EmbeddedDynamo,
  startEmbeddedDynamo,
} from '../../shared/adapters/embedded-dynamodb.ts';
import { DynamoStoryStore } from '../../shared/adapters/story-store.ts';
import type { Clock, Item } from '../../shared/ports.ts';
import { assignStory, storyIdOf } from '../../shared/stories/assign.ts';
import { compareReports } from '../../shared/stories/compare.ts';
import { readLabelledItems, runCorpus } from '../../shared/stories/corpus.ts';
import { scoreStoryPairs } from '../../shared/stories/evaluate.ts';
import { fingerprintItem } from '../../shared/stories/fingerprint.ts';
import { manualClock } from '../support/manual-clock.ts';

const CORPUS = resolve(import.meta.dirname, '../fixtures/news/items.jsonl');

/** A clock the test sets by hand. */

let sequence = 0;
/** An item with a fresh id, so tests sharing one embedded table never collide. */
function newItem(title: string, summary: string, published: string): Item {
  sequence += 1;
  return { id: `test-${sequence}-${Date.now()}`, feed: 'wire-a', title, summary, published };
}

describe('stories on the embedded DynamoDB', () => {
  let dynamo: EmbeddedDynamo;

  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
  });

  afterAll(async () => {
    await dynamo.stop();
  });

  function storeAt(clock: Clock): DynamoStoryStore {
    return new DynamoStoryStore(dynamo.documentClient, dynamo.tableNames.storyFingerprints, clock);
  }

  it('groups the news corpus into its labelled stories (pairwise precision ≥ 0.99, recall ≥ 0.90, no template-sibling merge)', async () => {
    const items = await readLabelledItems(CORPUS);

    const run = await runCorpus(items, storeAt);
    const scores = scoreStoryPairs(run.results);

    expect(run.results).toHaveLength(items.length);
    expect(scores.pairs_precision).toBeGreaterThanOrEqual(0.99);
    expect(scores.pairs_recall).toBeGreaterThanOrEqual(0.9);
    expect(scores.template_sibling_merges).toBe(0);
    const feedOf = new Map(items.map((item) => [item.id, item.feed]));
    for (const result of run.results) {
      if (result.assignment.isNew) {
        expect(result.storyId).toBe(
          storyIdOf({ id: result.id, feed: feedOf.get(result.id) ?? '' }),
        );
      }
    }
  });

  it('joins a story only through its first report, never through a chain of near-duplicates', async () => {
    const clock = manualClock('2026-05-01T08:00:00Z');
    const store = storeAt(clock);
    const first = newItem(
      'Germany orders eight more Patriot systems for its air force',
      'BERLIN — Germany has signed a contract for eight additional Patriot air defence systems to replace units given to Ukraine, the defence ministry said on Thursday. Parliament approved the purchase on Wednesday.',
      '2026-05-01T08:00:00Z',
    );
    const middle = newItem(
      'Germany orders eight more Patriot systems as Lithuania and Latvia seek launchers',
      'BERLIN — Germany has signed a contract for eight additional Patriot air defence systems, the defence ministry said on Thursday, while Lithuania and Latvia asked Raytheon for launchers and Kongsberg offered NASAMS batteries to Vilnius and Riga.',
      '2026-05-01T09:00:00Z',
    );
    const last = newItem(
      'Lithuania and Latvia seek launchers from Raytheon',
      'VILNIUS — Lithuania and Latvia asked Raytheon for launchers on Thursday, and Kongsberg offered NASAMS batteries to Vilnius and Riga, officials in both Baltic capitals said.',
      '2026-05-01T10:00:00Z',
    );
    // The premise: last is like middle, middle is like first, last is not like first.
    const [a, b, c] = [fingerprintItem(first), fingerprintItem(middle), fingerprintItem(last)];
    expect(compareReports(a, b, 1).relation).not.toBe('different');
    expect(compareReports(b, c, 1).relation).not.toBe('different');
    expect(compareReports(a, c, 2).relation).toBe('different');

    const assigned = [];
    for (const item of [first, middle, last]) {
      clock.set(item.published ?? '');
      assigned.push(await assignStory(item, { store, clock }));
    }

    expect(assigned[0]).toMatchObject({ storyId: storyIdOf(first), isNew: true });
    expect(assigned[1]).toMatchObject({
      storyId: storyIdOf(first),
      isNew: false,
      matchedReportId: first.id,
    });
    expect(assigned[2]).toMatchObject({ storyId: storyIdOf(last), isNew: true });
  });

  it('gives a redelivered first report the same story and writes nothing new', async () => {
    const clock = manualClock('2026-05-03T08:00:00Z');
    const store = storeAt(clock);
    const item = newItem(
      'Typhoon brings heavy rain to northern Taiwan, schools closed',
      'TAIPEI — A typhoon brought heavy rain and strong winds to northern Taiwan on Wednesday, prompting authorities in Taipei and New Taipei to close schools and offices.',
      '2026-05-03T08:00:00Z',
    );

    const once = await assignStory(item, { store, clock });
    const twice = await assignStory(item, { store, clock });

    expect(once).toEqual({ storyId: storyIdOf(item), isNew: true, isUpdate: false });
    expect(twice).toEqual(once);
  });

  it('starts a new story when the first report is older than the window', async () => {
    const clock = manualClock('2026-05-05T08:00:00Z');
    const store = storeAt(clock);
    const text =
      'OSLO — Norway and the United States have delivered two more NASAMS air defence systems to Ukraine, the Norwegian defence ministry said on Monday.';
    const first = newItem(
      'Norway and US deliver two more NASAMS systems to Ukraine',
      text,
      '2026-05-05T08:00:00Z',
    );
    const copy = newItem(
      'Norway and US deliver two more NASAMS systems to Ukraine',
      text,
      '2026-05-09T09:00:00Z',
    );

    await assignStory(first, { store, clock });
    clock.set(copy.published ?? '');
    const late = await assignStory(copy, { store, clock });

    expect(late).toMatchObject({ storyId: storyIdOf(copy), isNew: true });
  });

  it('finds a copy of a first report published within the window', async () => {
    const clock = manualClock('2026-05-07T08:00:00Z');
    const store = storeAt(clock);
    const text =
      'MANILA — The Philippines has received the second of three BrahMos anti-ship missile batteries from India, the navy said on Thursday.';
    const first = newItem(
      'Philippines receives second BrahMos battery',
      text,
      '2026-05-07T08:00:00Z',
    );
    const copy = newItem(
      'Philippines receives second BrahMos battery',
      `${text} (Wire A)`,
      '2026-05-08T20:00:00Z',
    );

    await assignStory(first, { store, clock });
    clock.set(copy.published ?? '');
    const joined = await assignStory(copy, { store, clock });

    expect(joined).toMatchObject({ storyId: storyIdOf(first), isNew: false, isUpdate: false });
  });
});
