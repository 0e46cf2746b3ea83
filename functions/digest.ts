/**
 * Digest Lambda, run by a schedule (every 15 minutes): releases alerts held
 * by quiet hours back onto the alerts queue and sends each subscriber's
 * digests that are due. Composition only; the work is `deliverScheduled`.
 * Secrets as for the notifier (`SECRET_ID`).
 */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { sharedSecretsManagerClient, sharedSqsClient } from '../shared/adapters/aws-clients.ts';
import { deployedDelivery } from '../shared/adapters/deployed-delivery.ts';
import { createPowertoolsLogger } from '../shared/adapters/powertools-logger.ts';
import { SecretsManagerSecretResolver } from '../shared/adapters/secrets-manager.ts';
import { SqsDeadLetterSender, SqsQueueSender } from '../shared/adapters/sqs.ts';
import { deliverScheduled, type ScheduledDeliveryResult } from '../shared/alerts/digest.ts';
import { requireEnv } from '../shared/config/env.ts';
import { CachedSecretResolver, SecretConfigSource } from '../shared/config/secrets.ts';
import type { AlertMessage } from '../shared/messages.ts';
import { systemClock } from '../shared/ports.ts';

const SECRET_TTL_MS = 5 * 60_000;

const logger = createPowertoolsLogger('digest');
const secrets = new CachedSecretResolver(
  new SecretsManagerSecretResolver(sharedSecretsManagerClient(), requireEnv('SECRET_ID')),
  { ttlMs: SECRET_TTL_MS, clock: systemClock, logger },
);
const config = await SecretConfigSource.load(requireEnv('WIREWATCH_CONFIG'), secrets, logger);
const delivery = await deployedDelivery(config, logger);
const sqs = sharedSqsClient();

export const handler = async (
  _event: ScheduledEvent,
  context: Context,
): Promise<ScheduledDeliveryResult> => {
  logger.addContext(context);
  await delivery.refresh();
  const result = await deliverScheduled({
    subscriberIds: async () => (await config.current()).subscribers.map((s) => s.id),
    subscriptions: delivery.subscriptions,
    pending: delivery.pending,
    ledger: delivery.ledger,
    senders: delivery.senders,
    alertsQueue: new SqsQueueSender<AlertMessage>(sqs, requireEnv('ALERTS_QUEUE_URL')),
    deadLetters: new SqsDeadLetterSender(sqs, requireEnv('ALERTS_DLQ_URL')),
    clock: systemClock,
    logger,
    unsubscribeLinks: delivery.unsubscribeLinks,
  });
  logger.info('scheduled delivery done', { ...result, failed: result.failed.length });
  return result;
};
