/**
 * `npm run bench -- stories [items.jsonl] [--window-hours N]`: runs the news
 * corpus (default `../shared/corpora/news/items.jsonl`) through `assignStory`
 * in published order, on the real `DynamoStoryStore` over the embedded
 * DynamoDB, and prints one JSON line:
 * {"pairs_precision", "pairs_recall", "template_sibling_merges", "ms_per_item"}.
 * DynamoDB requests per item go to stderr.
 */
import { resolve } from 'node:path';
import { countDynamoRequests } from '../shared/adapters/dynamodb.ts';
import { startEmbeddedDynamo } from '../shared/adapters/embedded-dynamodb.ts';
import { DynamoStoryStore } from '../shared/adapters/story-store.ts';
import { readLabelledItems, runCorpus } from '../shared/stories/corpus.ts';
import { scoreStoryPairs } from '../shared/stories/evaluate.ts';

const DEFAULT_CORPUS = resolve(import.meta.dirname, '../../shared/corpora/news/items.jsonl');

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

export async function run(args: string[]): Promise<void> {
  const windowFlag = args.indexOf('--window-hours');
  const windowHours = windowFlag >= 0 ? Number(args[windowFlag + 1]) : undefined;
  if (windowHours !== undefined && !(windowHours > 0)) {
    throw new Error(
      `--window-hours needs a positive number of hours, got "${args[windowFlag + 1]}"`,
    );
  }
  const path = args.find(
    (arg, i) => !arg.startsWith('--') && (windowFlag < 0 || i !== windowFlag + 1),
  );
  const items = await readLabelledItems(path ? resolve(path) : DEFAULT_CORPUS);
  const dynamo = await startEmbeddedDynamo();
  try {
    const requests = countDynamoRequests(dynamo.documentClient);
    const result = await runCorpus(
      items,
      (clock) =>
        new DynamoStoryStore(dynamo.documentClient, dynamo.tableNames.storyFingerprints, clock),
      windowHours !== undefined ? { windowHours } : {},
    );
    const scores = scoreStoryPairs(result.results);
    process.stdout.write(
      `${JSON.stringify({
        pairs_precision: round(scores.pairs_precision, 4),
        pairs_recall: round(scores.pairs_recall, 4),
        template_sibling_merges: scores.template_sibling_merges,
        ms_per_item: round(result.elapsedMs / items.length, 2),
      })}\n`,
    );
    const perItem = (count: number): number => round(count / items.length, 1);
    const updates = result.results.filter((r) => r.assignment.isUpdate);
    process.stderr.write(
      `${JSON.stringify({
        items: items.length,
        same_story_pairs: scores.same_story_pairs,
        merged_pairs: scores.merged_pairs,
        updates_labelled: updates.length,
        updates_correct: updates.filter((r) => r.variant === 'update').length,
        update_items: result.results.filter((r) => r.variant === 'update').length,
        queries_per_item: perItem(requests.byOperation.Query ?? 0),
        // First reports are written in batches: count the records (write units), not requests.
        records_written_per_item: perItem(requests.writeUnits),
        write_requests_per_item: perItem(
          (requests.byOperation.PutItem ?? 0) + (requests.byOperation.BatchWriteItem ?? 0),
        ),
        scans: requests.byOperation.Scan ?? 0,
      })}\n`,
    );
  } finally {
    await dynamo.stop();
  }
}
