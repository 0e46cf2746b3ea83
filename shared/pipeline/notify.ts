/**
 * The notifier: for each alert and each of the subscriber's channels, claim the
 * delivery in the ledger with a conditional write, send, then mark it sent. A
 * redelivered or duplicated message finds the delivery already sent and sends
 * nothing. A failed channel is released for a retry without re-sending the
 * channels that succeeded; a destination that rejects the alert for good sends
 * it to the dead letters with the reason instead of retrying it in a loop.
 */
import { createHash } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DeliveryError } from '../alerts/delivery-error.ts';
import { type AlertMessage, AlertMessageSchema, decodeMessage } from '../messages.ts';
import type {
  Alert,
  AlertKey,
  AlertLedger,
  AlertSender,
  ChannelConfig,
  ChannelType,
  Clock,
  DeadLetterSender,
  Logger,
  SubscriptionStore,
} from '../ports.ts';
import { processSqsBatch } from './sqs-batch.ts';

export interface NotifierDeps {
  ledger: AlertLedger;
  subscriptions: SubscriptionStore;
  senders: Partial<Record<ChannelType, AlertSender>>;
  deadLetters: DeadLetterSender;
  clock: Clock;
  logger: Logger;
  /** How long a claim protects a send in progress. Default 5 minutes. */
  leaseMs?: number;
  /** How long the ledger remembers a sent alert. Default 90 days. */
  ledgerRetentionDays?: number;
}

export type DeliveryOutcome = 'sent' | 'already-sent' | 'failed' | 'rejected';

export interface Delivery {
  channel: ChannelType;
  outcome: DeliveryOutcome;
  error?: string;
}

export interface NotifyResult {
  alertId: string;
  subscriberId: string;
  deliveries: Delivery[];
}

/** Thrown when some channel failed in a way worth retrying; the message returns to the queue. */
export class DeliveryRetryError extends Error {
  constructor(
    message: string,
    readonly result: NotifyResult,
  ) {
    super(message);
    this.name = 'DeliveryRetryError';
  }
}

const DEFAULT_LEASE_MS = 5 * 60_000;
const DEFAULT_LEDGER_RETENTION_DAYS = 90;

/**
 * The ledger's name for a destination: its type and a digest of where it
 * points (never the address or webhook URL itself). Stable when channels are
 * added, removed or reordered, so a retry never sends to the same place twice.
 */
export function channelKey(channel: ChannelConfig): string {
  const destination =
    channel.type === 'email'
      ? channel.to.toLowerCase()
      : channel.type === 'slack'
        ? channel.webhookUrl
        : '';
  return destination
    ? `${channel.type}:${createHash('sha256').update(destination).digest('hex').slice(0, 16)}`
    : channel.type;
}

/** Delivers one alert on every channel of its subscriber, at most once each. */
export async function notifyAlert(
  message: AlertMessage,
  deps: NotifierDeps,
): Promise<NotifyResult> {
  const result: NotifyResult = {
    alertId: message.alertId,
    subscriberId: message.subscriberId,
    deliveries: [],
  };
  const subscriber = await deps.subscriptions.get(message.subscriberId);
  if (!subscriber?.watches.includes(message.watchId)) {
    deps.logger.info('alert dropped: subscriber no longer follows the watch', {
      alertId: message.alertId,
      subscriberId: message.subscriberId,
      watchId: message.watchId,
    });
    return result;
  }
  const alert: Alert = {
    alertId: message.alertId,
    subscriberId: message.subscriberId,
    watchId: message.watchId,
    watchName: message.watchName,
    severity: message.severity,
    item: message.item,
    storyId: message.storyId,
    matchedTerms: message.matchedTerms,
    ...(message.ruleVersion !== undefined ? { ruleVersion: message.ruleVersion } : {}),
  };
  const now = deps.clock.now();
  const expiresAt = new Date(
    now.getTime() + (deps.ledgerRetentionDays ?? DEFAULT_LEDGER_RETENTION_DAYS) * 86_400_000,
  );
  const retryable: string[] = [];

  for (const channel of subscriber.channels) {
    const key: AlertKey = {
      subscriberId: message.subscriberId,
      watchId: message.watchId,
      storyId: message.storyId,
      channel: channelKey(channel),
    };
    const sender = deps.senders[channel.type];
    if (!sender) {
      retryable.push(`${key.channel}: no sender for channel type ${channel.type}`);
      result.deliveries.push({ channel: channel.type, outcome: 'failed', error: 'no sender' });
      continue;
    }
    const claim = await deps.ledger.claim(key, deps.leaseMs ?? DEFAULT_LEASE_MS, expiresAt, {
      retryRejected: message.retryRejected ?? false,
    });
    if (claim.outcome === 'rejected') {
      result.deliveries.push({ channel: channel.type, outcome: 'rejected', error: claim.reason });
      continue;
    }
    if (claim.outcome === 'already-sent') {
      result.deliveries.push({ channel: channel.type, outcome: 'already-sent' });
      continue;
    }
    if (claim.outcome === 'in-progress') {
      retryable.push(`${key.channel}: another worker is sending it`);
      result.deliveries.push({
        channel: channel.type,
        outcome: 'failed',
        error: 'in progress elsewhere',
      });
      continue;
    }
    try {
      await sender.send(alert, channel);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (error instanceof DeliveryError && !error.retryable) {
        await deps.ledger.markRejected(key, claim.token, {
          reason,
          at: deps.clock.now().toISOString(),
        });
        // A broken destination: keep the alert for a person, do not loop on it.
        // On redrive, the ledger skips the channels that already have it and
        // `retryRejected` lets this one be tried again.
        await deps.deadLetters.deadLetter(
          JSON.stringify({ ...message, retryRejected: true }),
          `${key.channel} rejected the alert: ${reason}`,
        );
        deps.logger.error('destination rejected alert', {
          alertId: alert.alertId,
          channel: key.channel,
          reason,
        });
        result.deliveries.push({ channel: channel.type, outcome: 'rejected', error: reason });
      } else {
        await deps.ledger.release(key, claim.token);
        retryable.push(`${key.channel}: ${reason}`);
        result.deliveries.push({ channel: channel.type, outcome: 'failed', error: reason });
      }
      continue;
    }
    await deps.ledger.markSent(key, claim.token, {
      channel: key.channel,
      sentAt: deps.clock.now().toISOString(),
    });
    result.deliveries.push({ channel: channel.type, outcome: 'sent' });
  }
  if (retryable.length > 0) {
    throw new DeliveryRetryError(`delivery failed, will retry: ${retryable.join('; ')}`, result);
  }
  return result;
}

/** The SQS handler of the notifier, for Lambda and the local queue alike. */
export function createNotifierHandler(
  deps: NotifierDeps,
  onResult?: (result: NotifyResult) => void,
): (event: SQSEvent) => Promise<SQSBatchResponse> {
  return (event) =>
    processSqsBatch(
      event,
      async (body) => {
        try {
          // Not `onResult?.(await notifyAlert(...))`: an optional call skips its arguments
          // when there is no callback, and the alert would be acknowledged unsent.
          const result = await notifyAlert(decodeMessage(AlertMessageSchema, body), deps);
          onResult?.(result);
        } catch (error) {
          if (error instanceof DeliveryRetryError) onResult?.(error.result);
          throw error;
        }
      },
      deps,
    );
}
