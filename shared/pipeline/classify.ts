/**
 * The classifier: runs each new item through the compiled rule set once and
 * turns every (subscriber, watch) pair that follows a matching watch into an
 * alert message. Alert ids are derived from their key, so a redelivered item
 * produces the same alerts and the notifier's ledger drops the repeats.
 */
import { createHash } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Item } from '../feeds/item.ts';
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
  SubscriptionStore,
  WatchSource,
} from '../ports.ts';
import { processSqsBatch } from './sqs-batch.ts';

export interface ClassifierDeps {
  watches: WatchSource;
  subscriptions: SubscriptionStore;
  alertsQueue: QueueSender<AlertMessage>;
  deadLetters: DeadLetterSender;
  clock: Clock;
  logger: Logger;
}

export interface ClassifyResult {
  /** Ids of the watches that matched. */
  matched: string[];
  alerts: number;
}

/**
 * The story an item belongs to. Until story grouping exists every item is its
 * own story; the id is global (item ids are unique only within a feed).
 */
export function storyIdOf(item: Pick<Item, 'feed' | 'id'>): string {
  return `s-${createHash('sha256').update(`${item.feed}\n${item.id}`).digest('hex').slice(0, 24)}`;
}

/** Deterministic id of the alert for one (subscriber, watch, story). */
export function alertIdOf(subscriberId: string, watchId: string, storyId: string): string {
  return createHash('sha256')
    .update(`${subscriberId}\n${watchId}\n${storyId}`)
    .digest('hex')
    .slice(0, 32);
}

/** Classifies one item and queues its alerts. */
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
  const storyId = storyIdOf(item);
  const createdAt = deps.clock.now().toISOString();
  const alerts: AlertMessage[] = [];
  for (const match of matches) {
    const watch = ruleSet.watches.get(match.watchId);
    if (!watch) continue;
    for (const subscriber of await deps.subscriptions.subscribersOf(watch.id)) {
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
          item,
          matchedTerms: match.hits,
          ruleVersion: ruleSet.version,
          createdAt,
        }),
      );
    }
  }
  await deps.alertsQueue.send(alerts);
  if (matches.length > 0) {
    deps.logger.info('item matched', {
      feedId: item.feed,
      itemId: item.id,
      watches: matches.map((m) => m.watchId),
      alerts: alerts.length,
    });
  }
  return { matched: matches.map((m) => m.watchId), alerts: alerts.length };
}

/** The SQS handler of the classifier, for Lambda and the local queue alike. */
export function createClassifierHandler(
  deps: ClassifierDeps,
  onResult?: (result: ClassifyResult) => void,
): (event: SQSEvent) => Promise<SQSBatchResponse> {
  return (event) =>
    processSqsBatch(
      event,
      async (body) => {
        const result = await classifyItem(decodeMessage(ItemMessageSchema, body), deps);
        onResult?.(result);
      },
      deps,
    );
}
