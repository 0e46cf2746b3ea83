/**
 * `npm run bench -- stories [items.jsonl] [--window-hours N] [--folds K] [--tune-on other.jsonl]`:
 * how well story grouping holds, measured so that it cannot flatter itself.
 *
 * Prints JSON lines on stdout:
 * - `in_sample`: the corpus (default `../shared/corpora/news/items.jsonl`) run
 *   in published order through `assignStory` with the shipped thresholds, on
 *   the real `DynamoStoryStore` over the embedded DynamoDB (with DynamoDB
 *   requests and milliseconds per item);
 * - `compute`: milliseconds per item of the story work alone (the same run on
 *   an in-memory store, after a warm-up run);
 * - `cross_validated`: K-fold cross-validation by story (default 5 folds):
 *   thresholds chosen on K − 1 folds (highest recall at pairwise precision
 *   ≥ 0.99 with no template sibling merged), the held-out fold run alone with
 *   them, the held-out runs scored together;
 * - `tuned_on_other` (with `--tune-on`): thresholds chosen on the other
 *   corpus, measured on this one.
 *
 * Each line has pairwise precision and recall, template siblings merged, and
 * how many of the items labelled `update` were told as updates; the in-sample
 * line also how many later reports of each variant joined their story.
 */
import { resolve } from 'node:path';
import { countDynamoRequests } from '../shared/adapters/dynamodb.ts';
import { startEmbeddedDynamo } from '../shared/adapters/embedded-dynamodb.ts';
import { DynamoStoryStore } from '../shared/adapters/story-store.ts';
import { type CompareOptions, DEFAULT_COMPARE_OPTIONS } from '../shared/stories/compare.ts';
import { type LabelledItem, readLabelledItems, runCorpus } from '../shared/stories/corpus.ts';
import { MemoryStoryStore } from '../shared/stories/memory-store.ts';
import {
  chooseThresholds,
  crossValidate,
  joinedByVariant,
  type StoryScores,
  scoreItems,
  scoreRun,
} from '../shared/stories/tuning.ts';

const DEFAULT_CORPUS = resolve(import.meta.dirname, '../../shared/corpora/news/items.jsonl');
const DEFAULT_FOLDS = 5;

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

/** The figures of one line: pairwise scores and updates. */
function figures(scores: StoryScores): Record<string, number> {
  return {
    pairs_precision: round(scores.pairs_precision, 4),
    pairs_recall: round(scores.pairs_recall, 4),
    template_sibling_merges: scores.template_sibling_merges,
    updates_labelled: scores.updates_labelled,
    update_items: scores.update_items,
    false_updates: scores.false_updates,
  };
}

/** The thresholds the search varies, as a line shows them. */
function thresholds(options: Partial<CompareOptions>): Partial<CompareOptions> {
  return {
    threshold: options.threshold,
    headlineThreshold: options.headlineThreshold,
    clashThreshold: options.clashThreshold,
  };
}

/** Reads `--name value`, and the positional arguments left. */
function parseArgs(args: string[]): { flags: Map<string, string>; positional: string[] } {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg.startsWith('--')) {
      const value = args[i + 1];
      if (value === undefined) throw new Error(`${arg} needs a value`);
      flags.set(arg.slice(2), value);
      i++;
    } else positional.push(arg);
  }
  return { flags, positional };
}

async function inSample(
  items: readonly LabelledItem[],
  windowHours: number | undefined,
): Promise<void> {
  const dynamo = await startEmbeddedDynamo();
  try {
    const requests = countDynamoRequests(dynamo.documentClient);
    const result = await runCorpus(
      items,
      (clock) =>
        new DynamoStoryStore(dynamo.documentClient, dynamo.tableNames.storyFingerprints, clock),
      windowHours !== undefined ? { windowHours } : {},
    );
    const perItem = (count: number): number => round(count / items.length, 1);
    process.stdout.write(
      `${JSON.stringify({
        figures: 'in_sample',
        ...figures(scoreRun(result.results)),
        thresholds: thresholds(DEFAULT_COMPARE_OPTIONS),
        ms_per_item: round(result.elapsedMs / items.length, 2),
        queries_per_item: perItem(requests.byOperation.Query ?? 0),
        // First reports are written in batches: count the records (write units), not requests.
        records_written_per_item: perItem(requests.writeUnits),
        scans: requests.byOperation.Scan ?? 0,
        joined_by_variant: joinedByVariant(result.results),
      })}\n`,
    );
  } finally {
    await dynamo.stop();
  }
}

export async function run(args: string[]): Promise<void> {
  const { flags, positional } = parseArgs(args);
  const windowHours = flags.has('window-hours') ? Number(flags.get('window-hours')) : undefined;
  if (windowHours !== undefined && !(windowHours > 0)) {
    throw new Error(
      `--window-hours needs a positive number of hours, got "${flags.get('window-hours')}"`,
    );
  }
  const folds = Number(flags.get('folds') ?? DEFAULT_FOLDS);
  if (!Number.isInteger(folds) || folds < 2) {
    throw new Error(`--folds needs a whole number of at least 2, got "${flags.get('folds')}"`);
  }
  const path = positional[0] ? resolve(positional[0]) : DEFAULT_CORPUS;
  const items = await readLabelledItems(path);
  process.stderr.write(`${items.length} items of ${path}\n`);

  await inSample(items, windowHours);

  // The story work alone, without the embedded DynamoDB's own CPU: the same run on a store in memory.
  await runCorpus(items, () => new MemoryStoryStore());
  const compute = await runCorpus(items, () => new MemoryStoryStore());
  process.stdout.write(
    `${JSON.stringify({
      figures: 'compute',
      ms_per_item: round(compute.elapsedMs / items.length, 2),
    })}\n`,
  );

  const cv = await crossValidate(items, folds);
  process.stdout.write(
    `${JSON.stringify({
      figures: 'cross_validated',
      folds: cv.folds,
      ...figures(cv.scores),
      thresholds_per_fold: cv.chosen,
    })}\n`,
  );

  const tuneOn = flags.get('tune-on');
  if (tuneOn) {
    const other = await readLabelledItems(resolve(tuneOn));
    const options = await chooseThresholds(other);
    const scores = await scoreItems(items, options);
    process.stdout.write(
      `${JSON.stringify({
        figures: 'tuned_on_other',
        tuned_on: tuneOn,
        ...figures(scores),
        thresholds: thresholds(options),
      })}\n`,
    );
  }
}
