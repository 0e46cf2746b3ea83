/**
 * What the notifier and the digest function share on AWS: the ledger, the
 * pending-alerts store, subscriptions from the config minus one-click
 * unsubscriptions, the senders (Slack; email through SES from the stage's
 * identity, or SMTP from the config when no identity is set) and the signed
 * unsubscribe links. Built once per cold start from the environment.
 */

import { type ConfigSource, ConfigSubscriptionStore } from '../alerts/config-subscriptions.ts';
import { createUnsubscribeLinks } from '../alerts/unsubscribe.ts';
import { UnsubscribeFilteredSubscriptionStore } from '../alerts/unsubscribing-subscriptions.ts';
import { requireEnv } from '../config/env.ts';
import type { AlertUnsubscribeLinks } from '../pipeline/notify.ts';
import {
  type AlertSender,
  type ChannelType,
  type Clock,
  type Logger,
  systemClock,
  type UnsubscribeLink,
} from '../ports.ts';
import { sharedDocumentClient, sharedSesClient } from './aws-clients.ts';
import { createConfigSmtpSender } from './config-smtp-sender.ts';
import { DynamoAlertLedger, DynamoPendingAlertStore } from './dynamodb.ts';
import { createSesSender } from './ses-sender.ts';
import { createSlackSender } from './slack-api-sender.ts';
import { DynamoUnsubscribeStore } from './unsubscribe-store.ts';

export interface DeployedDelivery {
  ledger: DynamoAlertLedger;
  pending: DynamoPendingAlertStore;
  subscriptions: UnsubscribeFilteredSubscriptionStore;
  senders: Partial<Record<ChannelType, AlertSender>>;
  /** Links signed with the config's `unsubscribe.secret`; none until it is set. */
  unsubscribeLinks: AlertUnsubscribeLinks & {
    forAll(subscriberId: string): UnsubscribeLink | undefined;
  };
  /** Reads the config's secrets (call at the start of each invocation; cached for minutes). */
  refresh(): Promise<void>;
}

/**
 * Builds the delivery side from the environment: `ALERT_LEDGER_TABLE_NAME`,
 * `PENDING_ALERTS_TABLE_NAME`, `UNSUBSCRIBES_TABLE_NAME`, optional
 * `SES_FROM` (send email through SES from this address) and `UNSUBSCRIBE_URL`
 * (the unsubscribe function's URL).
 */
export async function deployedDelivery(
  config: ConfigSource,
  logger: Logger,
  clock: Clock = systemClock,
): Promise<DeployedDelivery> {
  const client = sharedDocumentClient();
  const sesFrom = process.env.SES_FROM;
  const unsubscribeUrl = process.env.UNSUBSCRIBE_URL;
  let links: ReturnType<typeof createUnsubscribeLinks> | undefined;
  let signedWith: string | undefined;
  const refresh = async (): Promise<void> => {
    const current = await config.current();
    const secret = current.unsubscribe.secret;
    if (!unsubscribeUrl || !secret || secret === signedWith) return;
    try {
      links = createUnsubscribeLinks({
        baseUrl: unsubscribeUrl,
        secret,
        ...(current.unsubscribe.mailto !== undefined ? { mailto: current.unsubscribe.mailto } : {}),
      });
      signedWith = secret;
    } catch (error) {
      logger.error('unsubscribe links disabled', {
        reason: error instanceof Error ? error.message : String(error),
      });
    }
  };
  return {
    ledger: new DynamoAlertLedger(client, requireEnv('ALERT_LEDGER_TABLE_NAME'), clock),
    pending: new DynamoPendingAlertStore(client, requireEnv('PENDING_ALERTS_TABLE_NAME'), clock),
    subscriptions: new UnsubscribeFilteredSubscriptionStore(
      new ConfigSubscriptionStore(config),
      new DynamoUnsubscribeStore(client, requireEnv('UNSUBSCRIBES_TABLE_NAME')),
      { clock },
    ),
    senders: {
      slack: createSlackSender({ clock }),
      email: sesFrom
        ? createSesSender({ sesClient: sharedSesClient(), from: sesFrom })
        : createConfigSmtpSender(config),
    },
    unsubscribeLinks: {
      forWatch: (subscriberId, watchId) => links?.forWatch(subscriberId, watchId),
      forAll: (subscriberId) => links?.forAll(subscriberId),
    },
    refresh,
  };
}
