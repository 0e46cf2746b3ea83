import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAlertLedger } from '../../shared/adapters/dynamodb.ts';
import {
  type EmbeddedDynamo,
  startEmbeddedDynamo,
} from '../../shared/adapters/embedded-dynamodb.ts';
import { StaticSubscriptionStore } from '../../shared/alerts/subscriptions.ts';
import type { AlertMessage } from '../../shared/messages.ts';
import { channelKey, notifyAlert } from '../../shared/pipeline/notify.ts';
import type {
  Alert,
  AlertSender,
  ChannelConfig,
  ChannelType,
  Subscriber,
} from '../../shared/ports.ts';
import { silentLogger, systemClock } from '../../shared/ports.ts';

/** A sender that records what it was asked to deliver. */
function recordingSender(channel: ChannelType, sent: string[]): AlertSender {
  return {
    channel,
    async send(alert: Alert, config: ChannelConfig) {
      sent.push(`${config.type}:${alert.alertId}`);
    },
  };
}

const message: AlertMessage = {
  type: 'alert',
  version: 1,
  alertId: 'alert-1',
  subscriberId: 'desk',
  watchId: 'dprk',
  watchName: 'DPRK',
  severity: 'high',
  storyId: 's-1',
  item: { id: 'i-1', feed: 'wire-a', title: 'North Korean troops', summary: '' },
  matchedTerms: [],
  createdAt: '2026-11-27T10:00:00Z',
};

describe('notifyAlert ledger keys', () => {
  let dynamo: EmbeddedDynamo;

  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
  });

  afterAll(async () => {
    await dynamo.stop();
  });

  it('sends nothing again when the subscriber reorders channels or adds one before the others', async () => {
    const sent: string[] = [];
    const email: ChannelConfig = { type: 'email', to: 'desk@example.org' };
    const slack: ChannelConfig = { type: 'slack', webhookUrl: 'https://hooks.example/T1' };
    const deps = (channels: ChannelConfig[]) => ({
      ledger: new DynamoAlertLedger(
        dynamo.documentClient,
        dynamo.tableNames.alertLedger,
        systemClock,
      ),
      subscriptions: new StaticSubscriptionStore([
        { id: 'desk', watches: ['dprk'], channels } satisfies Subscriber,
      ]),
      senders: {
        email: recordingSender('email', sent),
        slack: recordingSender('slack', sent),
        outbox: recordingSender('outbox', sent),
      },
      deadLetters: { deadLetter: async () => {} },
      clock: systemClock,
      logger: silentLogger,
    });
    await notifyAlert(message, deps([email, slack]));

    await notifyAlert(message, deps([{ type: 'outbox' }, slack, email]));

    expect(sent).toEqual(['email:alert-1', 'slack:alert-1', 'outbox:alert-1']);
  });

  it('keys a destination by a digest, never by the address or webhook URL', () => {
    const key = channelKey({
      type: 'slack',
      webhookUrl: 'https://hooks.slack.com/services/SECRET',
    });

    expect(key).toMatch(/^slack:[0-9a-f]{16}$/);
    expect(key).not.toContain('SECRET');
  });
});
