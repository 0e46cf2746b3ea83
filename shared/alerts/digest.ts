/**
 * The scheduled delivery step: releases alerts whose quiet hours have ended
 * (back onto the alerts queue, so the notifier sends them as usual) and
 * sends each subscriber's digests on their schedule.
 *
 * A digest is sent per (subscriber, scheduled time, channel), claimed in the
 * alert ledger like an alert. It takes exactly the entries queued up to its
 * scheduled time, so a digest resumed after a failure midway holds the same
 * entries as the first try; each channel's entries are removed only after
 * that channel's digest is marked sent, so a channel that failed gets them in
 * its next try and one that succeeded never gets them twice.
 */
import { createHash } from 'node:crypto';
import {
  type AlertMessage,
  AlertMessageSchema,
  decodeMessage,
  InvalidMessageError,
} from '../messages.ts';
import { CLAIM_LEASE_MS } from '../pipeline/delivery-timing.ts';
import { channelKey, type QueuedDigestEntry } from '../pipeline/notify.ts';
import type {
  AlertKey,
  AlertLedger,
  AlertSender,
  ChannelConfig,
  ChannelType,
  Clock,
  DeadLetterSender,
  Digest,
  Logger,
  PendingAlertStore,
  PendingEntry,
  QueueSender,
  Subscriber,
  SubscriptionStore,
  UnsubscribeLink,
} from '../ports.ts';
import { DeliveryError } from './delivery-error.ts';
import { latestDigestTime } from './schedule.ts';

/** Watch id of digest records in the alert ledger (not a valid watch id, so no collision). */
const DIGEST_LEDGER_WATCH = '~digest';

export interface ScheduledDeliveryDeps {
  /** Ids of every configured subscriber. */
  subscriberIds: () => Promise<readonly string[]>;
  /** The current view of each subscriber (unsubscriptions applied). */
  subscriptions: SubscriptionStore;
  pending: PendingAlertStore;
  ledger: AlertLedger;
  senders: Partial<Record<ChannelType, AlertSender>>;
  /** Released alerts go back to the notifier through this queue. */
  alertsQueue: QueueSender<AlertMessage>;
  deadLetters: DeadLetterSender;
  clock: Clock;
  logger: Logger;
  /** A link that stops all of a subscriber's alerts, for digest emails. */
  unsubscribeLinks?: { forAll(subscriberId: string): UnsubscribeLink | undefined };
  /**
   * A digest for time T is sent once T is this far in the past, so that an
   * entry queued just before T is written before the digest reads. Default 60 s.
   */
  graceMs?: number;
  leaseMs?: number;
  /** How long the ledger remembers a sent digest. Default 90 days. */
  ledgerRetentionDays?: number;
}

export interface ScheduledDeliveryResult {
  /** Held alerts put back on the alerts queue. */
  released: number;
  digestsSent: number;
  /** Entries in the digests sent. */
  entriesSent: number;
  /** Digests that failed and will be tried again on the next run. */
  failed: { subscriberId: string; channel: string; reason: string }[];
}

const DEFAULT_GRACE_MS = 60_000;
const DAY_MS = 86_400_000;

/** Stable id of the digest of one subscriber, time and channel. */
export function digestIdOf(subscriberId: string, scheduledFor: string, channel: string): string {
  return createHash('sha256')
    .update(`${subscriberId}\n${scheduledFor}\n${channel}`)
    .digest('hex')
    .slice(0, 32);
}

/** Runs one scheduled delivery step for every subscriber. */
export async function deliverScheduled(
  deps: ScheduledDeliveryDeps,
): Promise<ScheduledDeliveryResult> {
  const result: ScheduledDeliveryResult = {
    released: 0,
    digestsSent: 0,
    entriesSent: 0,
    failed: [],
  };
  for (const subscriberId of await deps.subscriberIds()) {
    const subscriber = await deps.subscriptions.get(subscriberId);
    if (!subscriber) continue;
    result.released += await releaseHeld(subscriber, deps);
    for (const channel of subscriber.channels) {
      await sendDigest(subscriber, channel, deps, result);
    }
  }
  return result;
}

/** Puts the subscriber's held alerts whose quiet hours ended back on the alerts queue. */
async function releaseHeld(subscriber: Subscriber, deps: ScheduledDeliveryDeps): Promise<number> {
  const now = deps.clock.now().toISOString();
  const due = (await deps.pending.list(subscriber.id, 'held')).filter(
    (entry) => (entry.releaseAt ?? '') <= now,
  );
  if (due.length === 0) return 0;
  const messages: AlertMessage[] = [];
  for (const entry of due) {
    try {
      messages.push({ ...decodeMessage(AlertMessageSchema, entry.body), released: true });
    } catch (error) {
      if (!(error instanceof InvalidMessageError)) throw error;
      await deps.deadLetters.deadLetter(entry.body, `held alert: ${error.message}`);
    }
  }
  await deps.alertsQueue.send(messages);
  await deps.pending.remove(
    subscriber.id,
    due.map((entry) => entry.entryKey),
  );
  deps.logger.info('held alerts released', {
    subscriberId: subscriber.id,
    alerts: messages.length,
    correlationIds: correlationIdsOf(messages),
  });
  return messages.length;
}

/** The correlation ids of what a log line is about, to find it with `filter @message like`. */
function correlationIdsOf(values: readonly { correlationId?: string }[]): string[] {
  return values.flatMap((value) =>
    value.correlationId !== undefined ? [value.correlationId] : [],
  );
}

function parseEntry(entry: PendingEntry): QueuedDigestEntry | undefined {
  try {
    const value = JSON.parse(entry.body) as QueuedDigestEntry;
    return value && typeof value === 'object' && value.alert ? value : undefined;
  } catch {
    return undefined;
  }
}

async function sendDigest(
  subscriber: Subscriber,
  channel: ChannelConfig,
  deps: ScheduledDeliveryDeps,
  result: ScheduledDeliveryResult,
): Promise<void> {
  const destination = channelKey(channel);
  const now = deps.clock.now();
  const scheduled = latestDigestTime(
    subscriber.digestSchedule,
    subscriber.timezone,
    new Date(now.getTime() - (deps.graceMs ?? DEFAULT_GRACE_MS)),
  );
  if (!scheduled) return;
  const scheduledFor = scheduled.toISOString();
  const entries = (await deps.pending.list(subscriber.id, 'digest', destination)).filter(
    (entry) => entry.queuedAt <= scheduledFor,
  );
  if (entries.length === 0) return;
  const entryKeys = entries.map((entry) => entry.entryKey);
  const key: AlertKey = {
    subscriberId: subscriber.id,
    watchId: DIGEST_LEDGER_WATCH,
    storyId: scheduledFor,
    channel: destination,
  };
  const expiresAt = new Date(now.getTime() + (deps.ledgerRetentionDays ?? 90) * DAY_MS);
  const claim = await deps.ledger.claim(key, deps.leaseMs ?? CLAIM_LEASE_MS, expiresAt);
  if (claim.outcome === 'already-sent') {
    // Sent before the entries could be removed: finish the job.
    await deps.pending.remove(subscriber.id, entryKeys);
    return;
  }
  if (claim.outcome !== 'claimed') return;

  const followed = new Set(subscriber.watches);
  const lines: QueuedDigestEntry[] = [];
  for (const entry of entries) {
    const line = parseEntry(entry);
    if (!line) {
      // Never written by the notifier: keep it for a person, not in a digest.
      await deps.deadLetters.deadLetter(entry.body, `digest entry ${entry.entryKey} is not valid`);
      deps.logger.error('invalid digest entry dead-lettered', {
        subscriberId: subscriber.id,
        entryKey: entry.entryKey,
      });
    } else if (followed.has(line.alert.watchId)) {
      lines.push(line);
    }
  }
  const sender = deps.senders[channel.type];
  try {
    if (lines.length > 0) {
      if (!sender) throw new Error(`no sender for channel type ${channel.type}`);
      const unsubscribe = deps.unsubscribeLinks?.forAll(subscriber.id);
      const digest: Digest = {
        digestId: digestIdOf(subscriber.id, scheduledFor, destination),
        subscriberId: subscriber.id,
        ...(subscriber.name !== undefined ? { subscriberName: subscriber.name } : {}),
        scheduledFor,
        timezone: subscriber.timezone,
        entries: lines,
        ...(unsubscribe ? { unsubscribe } : {}),
      };
      await sender.sendDigest(digest, channel);
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (error instanceof DeliveryError && !error.retryable) {
      await deps.ledger.markRejected(key, claim.token, { reason, at: now.toISOString() });
      deps.logger.error('destination rejected digest', {
        subscriberId: subscriber.id,
        channel: destination,
        reason,
        correlationIds: correlationIdsOf(lines),
      });
    } else {
      await deps.ledger.release(key, claim.token);
      deps.logger.warn('digest failed, will retry', {
        subscriberId: subscriber.id,
        channel: destination,
        reason,
        correlationIds: correlationIdsOf(lines),
      });
    }
    result.failed.push({ subscriberId: subscriber.id, channel: destination, reason });
    return;
  }
  await deps.ledger.markSent(key, claim.token, {
    channel: destination,
    sentAt: deps.clock.now().toISOString(),
  });
  await deps.pending.remove(subscriber.id, entryKeys);
  if (lines.length > 0) {
    result.digestsSent++;
    result.entriesSent += lines.length;
    deps.logger.info('digest sent', {
      subscriberId: subscriber.id,
      channel: destination,
      scheduledFor,
      entries: lines.length,
      correlationIds: correlationIdsOf(lines),
    });
  }
}
