/**
 * Runs a labelled news corpus (`items.jsonl` of `shared/corpora/news`) through
 * `assignStory` in published order, for the stories test and benchmark.
 */
import { readFile } from 'node:fs/promises';
import { htmlToText } from '../feeds/html-text.ts';
import type { Item } from '../feeds/item.ts';
import type { Clock, StoryStore } from '../ports.ts';
import { assignStory, type StoryAssignment } from './assign.ts';
import type { CompareOptions } from './compare.ts';
import type { LabelledAssignment } from './evaluate.ts';
import { TermWeights } from './term-weights.ts';

/** One line of `items.jsonl`: an item with its labels. */
export interface LabelledItem extends Item {
  story: string;
  variant: string;
}

/** Reads a corpus file; summaries are turned into plain text as the poller does. */
export async function readLabelledItems(path: string): Promise<LabelledItem[]> {
  const lines = (await readFile(path, 'utf8')).split('\n').filter((line) => line.trim() !== '');
  return lines.map((line) => {
    const raw = JSON.parse(line) as LabelledItem;
    return { ...raw, summary: htmlToText(raw.summary) };
  });
}

/** A clock the corpus run sets to each item's publication time. */
class CorpusClock implements Clock {
  time = new Date(0);
  now(): Date {
    return this.time;
  }
}

/** What `runCorpus` gives back: each item's assignment with its labels. */
export interface CorpusRun {
  results: (LabelledAssignment & { id: string; assignment: StoryAssignment })[];
  /** Wall-clock milliseconds spent in `assignStory`, all items. */
  elapsedMs: number;
}

/**
 * Assigns every item a story in published order, the store's and the
 * assignment's clock standing at the item's publication time (as when the
 * item is classified moments after it is published).
 */
export async function runCorpus(
  items: readonly LabelledItem[],
  makeStore: (clock: Clock) => StoryStore,
  options: { windowHours?: number; compareOptions?: CompareOptions } = {},
): Promise<CorpusRun> {
  const clock = new CorpusClock();
  const store = makeStore(clock);
  const ordered = [...items].sort((a, b) => (a.published ?? '').localeCompare(b.published ?? ''));
  const results: CorpusRun['results'] = [];
  // Each run learns its term weights from its own items, as a fresh classifier would.
  const termWeights = new TermWeights();
  const started = performance.now();
  for (const item of ordered) {
    clock.time = item.published ? new Date(item.published) : new Date(0);
    const assignment = await assignStory(item, {
      store,
      clock,
      termWeights,
      ...(options.windowHours !== undefined ? { windowHours: options.windowHours } : {}),
      ...(options.compareOptions ? { compareOptions: options.compareOptions } : {}),
    });
    results.push({
      id: item.id,
      story: item.story,
      variant: item.variant,
      storyId: assignment.storyId,
      assignment,
    });
  }
  return { results, elapsedMs: performance.now() - started };
}
