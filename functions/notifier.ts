/**
 * Notifier Lambda, fed by the alerts queue: claims each delivery in the
 * ledger, sends it, marks it sent. Composition only; the work is `notifyAlert`.
 */
import { sharedDocumentClient, sharedSqsClient } from '../shared/adapters/aws-clients.ts';
import { DynamoAlertLedger } from '../shared/adapters/dynamodb.ts';
import { createJsonLogger } from '../shared/adapters/json-logger.ts';
import { createSlackWebhookSender } from '../shared/adapters/slack-webhook-sender.ts';
import { createSmtpSender } from '../shared/adapters/smtp-sender.ts';
import { SqsDeadLetterSender } from '../shared/adapters/sqs.ts';
import { deployedSubscribers, StaticSubscriptionStore } from '../shared/alerts/subscriptions.ts';
import { loadConfig } from '../shared/config/config.ts';
import { requireEnv } from '../shared/config/env.ts';
import { createNotifierHandler } from '../shared/pipeline/notify.ts';
import { systemClock } from '../shared/ports.ts';

const logger = createJsonLogger('notifier');
const config = await loadConfig(requireEnv('WIREWATCH_CONFIG'));
const smtp = config.email.smtp;

export const handler = createNotifierHandler({
  ledger: new DynamoAlertLedger(
    sharedDocumentClient(),
    requireEnv('ALERT_LEDGER_TABLE_NAME'),
    systemClock,
  ),
  subscriptions: new StaticSubscriptionStore(deployedSubscribers(config)),
  senders: {
    slack: createSlackWebhookSender({ clock: systemClock }),
    ...(smtp ? { email: createSmtpSender({ ...smtp, from: config.email.from }) } : {}),
  },
  deadLetters: new SqsDeadLetterSender(sharedSqsClient(), requireEnv('ALERTS_DLQ_URL')),
  clock: systemClock,
  logger,
});
