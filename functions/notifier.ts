/**
 * Notifier Lambda, fed by the alerts queue: claims each delivery in the
 * ledger, sends it, marks it sent. Composition only; the work is `notifyAlert`.
 *
 * Slack webhook URLs and SMTP credentials are the config file's `env:NAME`
 * secrets, read from the stage's Secrets Manager secret (`SECRET_ID`, a JSON
 * object of NAME: value) when first
 * needed and cached for a few minutes, so a rotated secret applies without a
 * redeploy and no secret sits in the environment.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import {
  sharedDocumentClient,
  sharedSecretsManagerClient,
  sharedSqsClient,
} from '../shared/adapters/aws-clients.ts';
import { createConfigSmtpSender } from '../shared/adapters/config-smtp-sender.ts';
import { DynamoAlertLedger } from '../shared/adapters/dynamodb.ts';
import { PipelineMetrics } from '../shared/adapters/pipeline-metrics.ts';
import { createPowertoolsLogger } from '../shared/adapters/powertools-logger.ts';
import { SecretsManagerSecretResolver } from '../shared/adapters/secrets-manager.ts';
import { createSlackWebhookSender } from '../shared/adapters/slack-webhook-sender.ts';
import { SqsDeadLetterSender } from '../shared/adapters/sqs.ts';
import { ConfigSubscriptionStore } from '../shared/alerts/config-subscriptions.ts';
import { requireEnv } from '../shared/config/env.ts';
import { CachedSecretResolver, SecretConfigSource } from '../shared/config/secrets.ts';
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

const notify = createNotifierHandler(
  {
    ledger: new DynamoAlertLedger(
      sharedDocumentClient(),
      requireEnv('ALERT_LEDGER_TABLE_NAME'),
      systemClock,
    ),
    subscriptions: new ConfigSubscriptionStore(config),
    senders: {
      slack: createSlackWebhookSender({ clock: systemClock }),
      email: createConfigSmtpSender(config),
    },
    deadLetters: new SqsDeadLetterSender(sharedSqsClient(), requireEnv('ALERTS_DLQ_URL')),
    clock: systemClock,
    logger,
  },
  (result) => metrics.recordDeliveries(result),
);

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  try {
    return await notify(event);
  } finally {
    metrics.publish();
  }
};
