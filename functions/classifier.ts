/**
 * Classifier Lambda, fed by the items queue: matches each item against the
 * watches, finds the story of each matched item and queues one alert message
 * per (subscriber, watch) with the story. Composition
 * only; the work is `classifyItem`. An invocation whose batch has failed
 * items writes their count as the `RecordsFailed` metric, so that they raise
 * an alarm at once rather than in the dead-letter queue five receives later.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { sharedDocumentClient, sharedSqsClient } from '../shared/adapters/aws-clients.ts';
import { PipelineMetrics } from '../shared/adapters/pipeline-metrics.ts';
import { createPowertoolsLogger } from '../shared/adapters/powertools-logger.ts';
import { DynamoRuleStore } from '../shared/adapters/rule-store.ts';
import { SqsDeadLetterSender, SqsQueueSender } from '../shared/adapters/sqs.ts';
import { DynamoStoryStore } from '../shared/adapters/story-store.ts';
import { DynamoUnsubscribeStore } from '../shared/adapters/unsubscribe-store.ts';
import { deployedSubscribers, StaticSubscriptionStore } from '../shared/alerts/subscriptions.ts';
import { UnsubscribeFilteredSubscriptionStore } from '../shared/alerts/unsubscribing-subscriptions.ts';
import { loadConfig } from '../shared/config/config.ts';
import { requireEnv } from '../shared/config/env.ts';
import type { AlertMessage } from '../shared/messages.ts';
import { createClassifierHandler } from '../shared/pipeline/classify.ts';
import { MAX_RECEIVE_COUNT, RETRY_FOR_MS } from '../shared/pipeline/delivery-timing.ts';
import { systemClock } from '../shared/ports.ts';
import { FileWatchSource } from '../shared/rules/file-watch-source.ts';
import { TableWatchSource } from '../shared/rules/table-watch-source.ts';

const logger = createPowertoolsLogger('classifier');
const metrics = new PipelineMetrics('classifier');
const config = await loadConfig(requireEnv('WIREWATCH_CONFIG'));
const sqs = sharedSqsClient();
// Deployed, the rules are pushed to the rules table (the bundled watch file until the
// first push); without a table, the bundled watch file.
const rulesTable = process.env.RULES_TABLE_NAME;

const classify = createClassifierHandler({
  watches: rulesTable
    ? new TableWatchSource(new DynamoRuleStore(sharedDocumentClient(), rulesTable), logger, {
        beforeFirstPush: new FileWatchSource(config.watchFile, logger),
      })
    : new FileWatchSource(config.watchFile, logger),
  subscriptions: new UnsubscribeFilteredSubscriptionStore(
    new StaticSubscriptionStore(deployedSubscribers(config)),
    new DynamoUnsubscribeStore(sharedDocumentClient(), requireEnv('UNSUBSCRIBES_TABLE_NAME')),
  ),
  alertsQueue: new SqsQueueSender<AlertMessage>(sqs, requireEnv('ALERTS_QUEUE_URL')),
  deadLetters: new SqsDeadLetterSender(sqs, requireEnv('ITEMS_DLQ_URL')),
  stories: new DynamoStoryStore(
    sharedDocumentClient(),
    requireEnv('STORY_FINGERPRINTS_TABLE_NAME'),
    systemClock,
  ),
  clock: systemClock,
  logger,
  requeue: {
    queue: new SqsQueueSender<unknown>(sqs, requireEnv('ITEMS_QUEUE_URL')),
    maxReceiveCount: MAX_RECEIVE_COUNT,
    retryForMs: RETRY_FOR_MS,
    clock: systemClock,
  },
});

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  const response = await classify(event);
  metrics.recordFailedRecords(response.batchItemFailures.length);
  metrics.publish();
  return response;
};
