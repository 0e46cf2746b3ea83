/**
 * What story grouping does to the alert count, measured on the labelled news
 * corpus (`../shared/corpora/news`), for the cost benchmark.
 *
 * The corpus items run, in published order, through what the classifier and
 * the notifier do with them: the real matcher compiled from
 * `samples/watches.yaml`, then, for items some watch matches (and only for
 * them, as in the classifier), `assignStory` on a `DynamoStoryStore` over the
 * embedded DynamoDB, the clock standing at each item's publication. Each
 * (watch, matched item) is then what the notifier makes of it: the first
 * report of its story for that watch is an alert; an update on a watch with
 * `updates: true` alerts again; a later report from an outlet not heard from
 * yet on that story is an "also reported by" follow-up (a Slack thread reply
 * or a digest line, never an email of its own); a later report from an outlet
 * already heard from is nothing.
 *
 * The corpus deliberately over-represents stories told by several outlets (a
 * third of its stories, most of them on watched topics) and hard negatives
 * (which the sample watches do not match): the share of matches that are
 * later reports is higher than in a random day of news, so the alerts per
 * match measured here are a lower bound on real traffic, not an estimate of it.
 */
import { resolve } from 'node:path';
import { startEmbeddedDynamo } from '../shared/adapters/embedded-dynamodb.ts';
import { DynamoStoryStore } from '../shared/adapters/story-store.ts';
import type { Clock } from '../shared/ports.ts';
import { compileWatches } from '../shared/rules/matcher.ts';
import { loadWatchFile, requireWatches } from '../shared/rules/watch-file.ts';
import { assignStory } from '../shared/stories/assign.ts';
import { type LabelledItem, readLabelledItems } from '../shared/stories/corpus.ts';
import { countDynamoByTable } from './dynamo-tables.ts';

export const DEFAULT_CORPUS = resolve(import.meta.dirname, '../../shared/corpora/news');
export const DEFAULT_WATCHES = resolve(import.meta.dirname, '../samples/watches.yaml');

/** What happens to the (watch, matched item) pairs of a corpus run. */
export interface DedupCounts {
  /** (watch, matched item) pairs. */
  matches: number;
  /** First reports of a story for the watch, plus updates on watches that want them. */
  alerts: number;
  /** Later reports from an outlet not heard from yet on the story: "also reported by". */
  followUps: number;
  /** Later reports from an outlet already heard from: nothing sent. */
  silent: number;
}

export interface StoryDedupMeasurement {
  source: string;
  items: number;
  /** Items some watch matched: the only ones that get story work. */
  matchedItems: number;
  /** Matched items that started a story of their own (`assignStory` said `isNew`). */
  newStories: number;
  /** With the stories `assignStory` found: what the pipeline does. */
  measured: DedupCounts;
  /** With the corpus's labelled stories in their place: what a perfect grouping would do. */
  labelled: DedupCounts;
  /** Matched items whose labelled topics differ from the watches that matched them. */
  labelDisagreements: number;
  /** Story fingerprints table, per matched item: read units of its look-ups. */
  storyReadUnitsPerMatchedItem: number;
  /** Story fingerprints table, per new story: write units of its first-report records. */
  storyWriteUnitsPerNewStory: number;
  /** Story fingerprints table, per new story: records written (one per fingerprint key). */
  storyPutsPerNewStory: number;
  storyQueriesPerMatchedItem: number;
  /** Mean bytes of an item as the alert message carries it (its JSON). */
  meanItemBytes: number;
}

/** A clock set to each item's publication time, as if it were classified moments after. */
class PublicationClock implements Clock {
  time = new Date(0);
  now(): Date {
    return this.time;
  }
}

/** Counts alerts, follow-ups and silent repeats over (watch, item) pairs in published order. */
function countDeliveries(
  pairs: readonly {
    watchId: string;
    updates: boolean;
    story: string;
    item: LabelledItem;
    isUpdate: boolean;
  }[],
): DedupCounts {
  const outlets = new Map<string, Set<string>>();
  const counts: DedupCounts = { matches: 0, alerts: 0, followUps: 0, silent: 0 };
  for (const pair of pairs) {
    counts.matches++;
    const key = `${pair.watchId}\n${pair.story}`;
    const heard = outlets.get(key);
    if (!heard) {
      outlets.set(key, new Set([pair.item.feed]));
      counts.alerts++;
    } else if (pair.isUpdate && pair.updates) {
      counts.alerts++;
    } else if (!heard.has(pair.item.feed)) {
      heard.add(pair.item.feed);
      counts.followUps++;
    } else {
      counts.silent++;
    }
  }
  return counts;
}

/** Runs the corpus in `corpusDir` through matcher and story assignment; see the module comment. */
export async function measureStoryDedup(
  corpusDir: string = DEFAULT_CORPUS,
  watchFile: string = DEFAULT_WATCHES,
): Promise<StoryDedupMeasurement> {
  const items = await readLabelledItems(resolve(corpusDir, 'items.jsonl'));
  const watches = requireWatches(await loadWatchFile(watchFile));
  const byId = new Map(watches.map((w) => [w.id, w]));
  const matcher = compileWatches(watches);
  const ordered = [...items].sort((a, b) => (a.published ?? '').localeCompare(b.published ?? ''));
  const dynamo = await startEmbeddedDynamo();
  try {
    const counter = countDynamoByTable(dynamo.documentClient, dynamo.tableNames);
    const clock = new PublicationClock();
    const store = new DynamoStoryStore(
      dynamo.documentClient,
      dynamo.tableNames.storyFingerprints,
      clock,
    );
    const measuredPairs: Parameters<typeof countDeliveries>[0][number][] = [];
    const labelledPairs: Parameters<typeof countDeliveries>[0][number][] = [];
    let matchedItems = 0;
    let newStories = 0;
    let labelDisagreements = 0;
    let itemBytes = 0;
    for (const item of ordered) {
      clock.time = item.published ? new Date(item.published) : new Date(0);
      const {
        story: label,
        variant,
        topics,
        ...plain
      } = item as LabelledItem & {
        topics?: string[];
      };
      const matches = matcher.match({
        title: plain.title,
        summary: plain.summary,
        feed: plain.feed,
      });
      const labelled = new Set(topics ?? []);
      const matched = new Set(matches.map((m) => m.watchId));
      if (labelled.size !== matched.size || [...matched].some((id) => !labelled.has(id))) {
        labelDisagreements++;
      }
      if (matches.length === 0) continue;
      matchedItems++;
      itemBytes += Buffer.byteLength(JSON.stringify(plain));
      const assignment = await assignStory(plain, { store, clock });
      if (assignment.isNew) newStories++;
      for (const match of matches) {
        const updates = byId.get(match.watchId)?.updates ?? false;
        measuredPairs.push({
          watchId: match.watchId,
          updates,
          story: assignment.storyId,
          item,
          isUpdate: assignment.isUpdate,
        });
        labelledPairs.push({
          watchId: match.watchId,
          updates,
          story: label,
          item,
          isUpdate: variant === 'update',
        });
      }
    }
    const stories = counter.snapshot().storyFingerprints;
    const queries = stories?.requests.Query ?? 0;
    const puts = stories?.requests.PutItem ?? 0;
    return {
      source: `${items.length} items of ${corpusDir}/items.jsonl, watches of ${watchFile}`,
      items: items.length,
      matchedItems,
      newStories,
      measured: countDeliveries(measuredPairs),
      labelled: countDeliveries(labelledPairs),
      labelDisagreements,
      storyReadUnitsPerMatchedItem: (stories?.readUnits ?? 0) / Math.max(1, matchedItems),
      storyWriteUnitsPerNewStory: (stories?.writeUnits ?? 0) / Math.max(1, newStories),
      storyPutsPerNewStory: puts / Math.max(1, newStories),
      storyQueriesPerMatchedItem: queries / Math.max(1, matchedItems),
      meanItemBytes: itemBytes / Math.max(1, matchedItems),
    };
  } finally {
    await dynamo.stop();
  }
}
