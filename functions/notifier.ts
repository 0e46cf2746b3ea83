/**
 * Notifier Lambda, fed by the alerts queue: delivers each alert once per
 * (subscriber, watch, story) and destination, turns later reports into
 * follow-ups, queues digest entries and holds alerts in quiet hours.
 * Composition only; the work is `notifyAlert`.
 *
 * Slack webhook URLs and tokens, SMTP credentials and the unsubscribe signing
 * key are the config file's `env:NAME` secrets, read from the stage's Secrets
 * Manager secret (`SECRET_ID`, a JSON object of NAME: value) when first
 * needed and cached for a few minutes, so a rotated secret applies without a
 * redeploy and no secret sits in the environment.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { sharedSecretsManagerClient, sharedSqsClient } from '../shared/adapters/aws-clients.ts';
import { deployedDelivery } from '../shared/adapters/deployed-delivery.ts';
import { PipelineMetrics } from '../shared/adapters/pipeline-metrics.ts';
import { createPowertoolsLogger } from '../shared/adapters/powertools-logger.ts';
import { SecretsManagerSecretResolver } from '../shared/adapters/secrets-manager.ts';
import { SqsDeadLetterSender, SqsQueueSender } from '../shared/adapters/sqs.ts';
import { requireEnv } from '../shared/config/env.ts';
import { CachedSecretResolver, SecretConfigSource } from '../shared/config/secrets.ts';
import { MAX_RECEIVE_COUNT, RETRY_FOR_MS } from '../shared/pipeline/delivery-timing.ts';
import { createNotifierHandler } from '../shared/pipeline/notify.ts';
import { systemClock } from '../shared/ports.ts';

/** How long a secret is used before it is read again. */
const SECRET_TTL_MS = 5 * 60_000;

const logger = createPowertoolsLogger('notifier');
const metrics = new PipelineMetrics('notifier');
const secrets = new CachedSecretResolver(
  new SecretsManagerSecretResolver(sharedSecretsManagerClient(), requireEnv('SECRET_ID')),
  { ttlMs: SECRET_TTL_MS, clock: systemClock, logger },
);
const config = await SecretConfigSource.load(requireEnv('WIREWATCH_CONFIG'), secrets, logger);
const delivery = await deployedDelivery(config, logger);

const notify = createNotifierHandler(
  {
    ledger: delivery.ledger,
    subscriptions: delivery.subscriptions,
    senders: delivery.senders,
    pending: delivery.pending,
    unsubscribeLinks: delivery.unsubscribeLinks,
    deadLetters: new SqsDeadLetterSender(sharedSqsClient(), requireEnv('ALERTS_DLQ_URL')),
    clock: systemClock,
    logger,
    requeue: {
      queue: new SqsQueueSender<unknown>(sharedSqsClient(), requireEnv('ALERTS_QUEUE_URL')),
      maxReceiveCount: MAX_RECEIVE_COUNT,
      retryForMs: RETRY_FOR_MS,
      clock: systemClock,
    },
  },
  (result) => metrics.recordDeliveries(result),
);

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  try {
    await delivery.refresh();
    return await notify(event);
  } finally {
    metrics.publish();
  }
};
