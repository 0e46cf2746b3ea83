/**
 * Poller Lambda, run by the schedule: polls the due feeds of the config and
 * queues their new items. Composition only; the work is `pollFeeds`. Each
 * unhealthy feed (failing, backing off, silent) gets a log line, which names
 * it; the poll's figures (items polled, failing feeds) go out as metrics.
 */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { sharedDocumentClient, sharedSqsClient } from '../shared/adapters/aws-clients.ts';
import { DynamoFeedStateStore, DynamoSeenItemsStore } from '../shared/adapters/dynamodb.ts';
import { PipelineMetrics } from '../shared/adapters/pipeline-metrics.ts';
import { createPowertoolsLogger } from '../shared/adapters/powertools-logger.ts';
import { SqsQueueSender } from '../shared/adapters/sqs.ts';
import { loadConfig } from '../shared/config/config.ts';
import { requireEnv } from '../shared/config/env.ts';
import type { ItemMessage } from '../shared/messages.ts';
import { type PollReport, pollFeeds, unhealthyFeeds } from '../shared/pipeline/poll.ts';
import { systemClock } from '../shared/ports.ts';

const logger = createPowertoolsLogger('poller');
const metrics = new PipelineMetrics('poller');
const config = await loadConfig(requireEnv('WIREWATCH_CONFIG'));
/** The schedule's period: a feed due again by the next run needs no state write on a 304. */
const scheduleSeconds = Number(requireEnv('POLL_EVERY_SECONDS'));
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

export const handler = async (
  _event: ScheduledEvent,
  context: Context,
): Promise<Omit<PollReport, 'results'>> => {
  logger.addContext(context);
  const { results, ...report } = await pollFeeds(config.feeds, deps, { scheduleSeconds });
  for (const feed of unhealthyFeeds(results)) {
    logger.warn('feed unhealthy', { ...feed, pollId: report.pollId });
  }
  metrics.recordPoll({
    feedsPolled: report.feedsPolled,
    feedsNotModified: report.feedsNotModified,
    itemsNew: report.itemsNew,
    itemsSeen: report.itemsSeen,
    failingFeeds: results.flatMap((r) => (r.status === 'failed' ? [r.feedId] : [])),
  });
  metrics.publish();
  logger.info('poll finished', { ...report });
  return report;
};
