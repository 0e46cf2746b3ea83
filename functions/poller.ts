/**
 * Poller Lambda, run by the schedule: polls the due feeds of the config and
 * queues their new items. Composition only; the work is `pollFeeds`. Each
 * failing or silent feed gets a log line and a metric with its feed id, so
 * ops can alarm on one feed going bad.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ScheduledEvent } from 'aws-lambda';
import { sharedDocumentClient, sharedSqsClient } from '../shared/adapters/aws-clients.ts';
import { DynamoFeedStateStore, DynamoSeenItemsStore } from '../shared/adapters/dynamodb.ts';
import { createJsonLogger } from '../shared/adapters/json-logger.ts';
import { SqsQueueSender } from '../shared/adapters/sqs.ts';
import { loadConfig } from '../shared/config/config.ts';
import { requireEnv } from '../shared/config/env.ts';
import type { ItemMessage } from '../shared/messages.ts';
import { type PollReport, pollFeeds, unhealthyFeeds } from '../shared/pipeline/poll.ts';
import { systemClock } from '../shared/ports.ts';

const logger = createJsonLogger('poller');
const metrics = new Metrics({ namespace: 'wirewatch', serviceName: 'poller' });
const config = await loadConfig(requireEnv('WIREWATCH_CONFIG'));
const documentClient = sharedDocumentClient();
const deps = {
  feedStates: new DynamoFeedStateStore(documentClient, requireEnv('FEED_STATE_TABLE_NAME')),
  seenItems: new DynamoSeenItemsStore(
    documentClient,
    requireEnv('SEEN_ITEMS_TABLE_NAME'),
    systemClock,
  ),
  itemsQueue: new SqsQueueSender<ItemMessage>(sharedSqsClient(), requireEnv('ITEMS_QUEUE_URL')),
  clock: systemClock,
  logger,
  fetchOptions: config.feedFetch,
};

export const handler = async (_event: ScheduledEvent): Promise<Omit<PollReport, 'results'>> => {
  const { results, ...report } = await pollFeeds(config.feeds, deps);
  for (const feed of unhealthyFeeds(results)) {
    logger.warn('feed unhealthy', { ...feed });
    const single = metrics.singleMetric();
    single.addDimension('feedId', feed.feedId);
    single.addMetric(feed.status === 'silent' ? 'FeedSilent' : 'FeedFailed', MetricUnit.Count, 1);
  }
  metrics.addMetric('FeedsFailed', MetricUnit.Count, report.feedsFailed);
  metrics.addMetric('ItemsNew', MetricUnit.Count, report.itemsNew);
  metrics.publishStoredMetrics();
  logger.info('poll finished', { ...report });
  return report;
};
