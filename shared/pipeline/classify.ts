/**
 * The classifier: runs each new item through the compiled rule set once, and
 * when some watch matches, finds the item's story (fingerprints looked up by
 * key within the story window) and turns every (subscriber, watch) pair that
 * follows a matching watch into an alert message carrying the story and where
 * the item stands in it. Alert ids are derived from (subscriber, watch,
 * story), so every report of a story and every redelivery lands on the same
 * ledger record, and the notifier turns later reports into follow-ups.
 *
 * Items no watch matches get no story work: they can never alert, and the
 * story table then holds only what subscribers may hear about.
 */
import { createHash } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import {
  type AlertMessage,
  AlertMessageSchema,
  decodeMessage,
  encodeMessage,
  type ItemMessage,
  ItemMessageSchema,
} from '../messages.ts';
import type {
  Clock,
  DeadLetterSender,
  Logger,
  QueueSender,
  StoryStore,
  SubscriptionStore,
  WatchSource,
} from '../ports.ts';
import { severityRank } from '../rules/watch.ts';
import { assignStory } from '../stories/assign.ts';
import { processSqsBatch, type RequeuePolicy } from './sqs-batch.ts';

export interface ClassifierDeps {
  watches: WatchSource;
  subscriptions: SubscriptionStore;
  alertsQueue: QueueSender<AlertMessage>;
  deadLetters: DeadLetterSender;
  /** Where story fingerprints are looked up and recorded. */
  stories: StoryStore;
  /** Hours around an item's publication in which its story is looked for. Default 72. */
  storyWindowHours?: number;
  clock: Clock;
  logger: Logger;
  /** Queues an item that keeps failing again instead of letting it be dead-lettered (`sqs-batch.ts`). */
  requeue?: RequeuePolicy;
}

export interface ClassifyResult {
  /** Ids of the watches that matched. */
  matched: string[];
  alerts: number;
  /** The item's story, when some watch matched. */
  storyId?: string;
  /** Where the item stands in its story, when some watch matched. */
  storyReport?: 'first' | 'later' | 'update';
}

/** Deterministic id of the alert for one (subscriber, watch, story). */
export function alertIdOf(subscriberId: string, watchId: string, storyId: string): string {
  return createHash('sha256')
    .update(`${subscriberId}\n${watchId}\n${storyId}`)
    .digest('hex')
    .slice(0, 32);
}

/** Classifies one item and queues its alerts, which carry the item message's `correlationId`. */
export async function classifyItem(
  message: ItemMessage,
  deps: ClassifierDeps,
): Promise<ClassifyResult> {
  const ruleSet = await deps.watches.current();
  const { item } = message;
  const matches = ruleSet.matcher.match({
    title: item.title,
    summary: item.summary,
    feed: item.feed,
    ...(item.lang !== undefined ? { lang: item.lang } : {}),
  });
  if (matches.length === 0) return { matched: [], alerts: 0 };
  const story = await assignStory(item, {
    store: deps.stories,
    clock: deps.clock,
    ...(deps.storyWindowHours !== undefined ? { windowHours: deps.storyWindowHours } : {}),
  });
  const { storyId } = story;
  const position = story.isNew ? 'first' : story.isUpdate ? 'update' : 'later';
  const createdAt = deps.clock.now().toISOString();
  const alerts: AlertMessage[] = [];
  for (const match of matches) {
    const watch = ruleSet.watches.get(match.watchId);
    if (!watch) continue;
    // An update alerts again only where the watch asks for updates; elsewhere it is a later report.
    const storyReport = position === 'update' && !watch.updates ? 'later' : position;
    for (const subscriber of await deps.subscriptions.subscribersOf(watch.id)) {
      if (severityRank(watch.severity) < severityRank(subscriber.minSeverity)) continue;
      alerts.push(
        encodeMessage(AlertMessageSchema, {
          type: 'alert',
          version: 1,
          alertId: alertIdOf(subscriber.id, watch.id, storyId),
          subscriberId: subscriber.id,
          watchId: watch.id,
          watchName: watch.name,
          severity: watch.severity,
          storyId,
          storyReport,
          item,
          matchedTerms: match.hits,
          ruleVersion: ruleSet.version,
          createdAt,
          ...(message.correlationId !== undefined ? { correlationId: message.correlationId } : {}),
        }),
      );
    }
  }
  await deps.alertsQueue.send(alerts);
  deps.logger.info('item matched', {
    feedId: item.feed,
    itemId: item.id,
    watches: matches.map((m) => m.watchId),
    storyId,
    storyReport: position,
    alerts: alerts.length,
  });
  return {
    matched: matches.map((m) => m.watchId),
    alerts: alerts.length,
    storyId,
    storyReport: position,
  };
}

/** The SQS handler of the classifier, for Lambda and the local queue alike. */
export function createClassifierHandler(
  deps: ClassifierDeps,
  onResult?: (result: ClassifyResult) => void,
): (event: SQSEvent) => Promise<SQSBatchResponse> {
  return (event) =>
    processSqsBatch(
      event,
      async (body, _record, { correlationId, logger }) => {
        // An item queued before correlation ids existed passes on the record's.
        const message = { ...decodeMessage(ItemMessageSchema, body), correlationId };
        const result = await classifyItem(message, { ...deps, logger });
        onResult?.(result);
      },
      deps,
    );
}
