/**
 * The notifier: delivers each alert message to its subscriber, at most once
 * per (subscriber, watch, story) and destination.
 *
 * For each of the subscriber's channels it claims the story's ledger record
 * with a conditional write, sends, then marks it sent with what was sent
 * (the first report, and where it was posted). A later report of the same
 * story finds the record sent and becomes an "also reported by" follow-up
 * instead: a thread reply where the channel can reply in place, otherwise a
 * line in the subscriber's next digest; one per outlet, itself claimed in the
 * ledger. An update (new facts, on a watch with `updates: true`) alerts again,
 * once per updating report. Digest subscribers' alerts and follow-ups are
 * queued as digest entries under the same ledger records; quiet hours hold
 * immediate alerts (except critical ones) until they end.
 *
 * A failed channel is released for a retry without re-sending the channels
 * that succeeded; a destination that refuses for good is recorded as
 * rejected, dead-lettered once with the reason, and skipped by retries.
 *
 * The trade-off at the one unavoidable gap (the process dies after a send
 * and before the ledger says sent): the claim lapses after the lease and the
 * alert is sent again. wirewatch prefers a rare duplicate to a lost alert.
 */
import { createHash } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DeliveryError } from '../alerts/delivery-error.ts';
import { quietHoursEnd } from '../alerts/schedule.ts';
import { type AlertMessage, AlertMessageSchema, decodeMessage } from '../messages.ts';
import type {
  Alert,
  AlertKey,
  AlertLedger,
  AlertSender,
  ChannelConfig,
  ChannelType,
  ClaimResult,
  Clock,
  DeadLetterSender,
  DigestEntry,
  FirstReport,
  Item,
  Logger,
  PendingAlertStore,
  SendReceipt,
  Subscriber,
  SubscriptionStore,
  UnsubscribeLink,
} from '../ports.ts';
import { severityRank } from '../rules/watch.ts';
import { CLAIM_LEASE_MS } from './delivery-timing.ts';
import { processSqsBatch, type RequeuePolicy } from './sqs-batch.ts';

/** Signs unsubscribe links for alerts (see `shared/alerts/unsubscribe.ts`). */
export interface AlertUnsubscribeLinks {
  /** `undefined` when links cannot be made (no signing secret yet). */
  forWatch(subscriberId: string, watchId: string): UnsubscribeLink | undefined;
}

export interface NotifierDeps {
  ledger: AlertLedger;
  subscriptions: SubscriptionStore;
  senders: Partial<Record<ChannelType, AlertSender>>;
  /** Alerts held by quiet hours and entries of the next digests. */
  pending: PendingAlertStore;
  deadLetters: DeadLetterSender;
  clock: Clock;
  logger: Logger;
  /** One-click unsubscribe links for emails; none when absent. */
  unsubscribeLinks?: AlertUnsubscribeLinks;
  /** How long a claim protects a send in progress. Default 5 minutes. */
  leaseMs?: number;
  /** How long the ledger remembers a sent alert. Default 90 days. */
  ledgerRetentionDays?: number;
  /** Queues an alert that keeps failing again instead of letting it be dead-lettered (`sqs-batch.ts`). */
  requeue?: RequeuePolicy;
}

export type DeliveryOutcome =
  /** Sent now: an alert, an update or a follow-up. */
  | 'sent'
  /** Queued as a line of the subscriber's next digest. */
  | 'queued'
  /** Held until the subscriber's quiet hours end. */
  | 'held'
  /** Nothing to do: sent before, or another copy of a report already followed up. */
  | 'already-sent'
  | 'failed'
  | 'rejected';

export interface Delivery {
  channel: ChannelType;
  outcome: DeliveryOutcome;
  /** What went or would have gone out. */
  kind?: 'alert' | 'update' | 'follow-up';
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

/**
 * What one batch remembers between its messages: destinations that failed
 * for now. Later alerts for them in the same batch are not tried, so that
 * alerts reach a rate-limited Slack channel in the order they were queued.
 */
export interface BatchState {
  blockedDestinations: Set<string>;
}

const DEFAULT_LEDGER_RETENTION_DAYS = 90;
/** Held alerts and digest entries are kept at most this long (a stuck schedule loses nothing sooner). */
const PENDING_RETENTION_DAYS = 30;
const DAY_MS = 86_400_000;

function digestOf(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16);
}

/**
 * The ledger's name for a destination: its type and a digest of where it
 * points (never the address, webhook URL or token itself). Stable when
 * channels are added, removed or reordered, so a retry never sends to the
 * same place twice.
 */
export function channelKey(channel: ChannelConfig): string {
  const destination =
    channel.type === 'email'
      ? channel.to.toLowerCase()
      : channel.type === 'slack'
        ? 'webhookUrl' in channel
          ? channel.webhookUrl
          : `channel:${channel.channelId}`
        : '';
  return destination ? `${channel.type}:${digestOf(destination)}` : channel.type;
}

/** Identifies an item across feeds (item ids are unique only within a feed). */
function itemKey(item: Pick<Item, 'feed' | 'id'>): string {
  return `${item.feed}\n${item.id}`;
}

function firstReportOf(item: Item): FirstReport {
  return {
    itemId: itemKey(item),
    title: item.title,
    feed: item.feed,
    ...(item.link !== undefined ? { link: item.link } : {}),
  };
}

/** The message as the alert a sender renders. */
function alertOf(message: AlertMessage, unsubscribe?: UnsubscribeLink): Alert {
  return {
    alertId: message.alertId,
    subscriberId: message.subscriberId,
    watchId: message.watchId,
    watchName: message.watchName,
    severity: message.severity,
    item: message.item,
    storyId: message.storyId,
    matchedTerms: message.matchedTerms,
    kind: message.storyReport === 'update' ? 'update' : 'alert',
    ...(message.ruleVersion !== undefined ? { ruleVersion: message.ruleVersion } : {}),
    ...(unsubscribe ? { unsubscribe } : {}),
  };
}

/**
 * A digest entry as the notifier queues it: with the correlation id of the
 * alert message it came from, so that the digest's log line can name it.
 */
export type QueuedDigestEntry = DigestEntry & { correlationId?: string };

/** Key of the digest entry a follow-up or alert becomes, one per (story, report, kind). */
function digestEntryKey(channel: string, entry: DigestEntry): string {
  const { alert } = entry;
  return `digest#${channel}#${digestOf(alert.watchId, alert.storyId, entry.kind, itemKey(alert.item))}`;
}

/** Context shared by the deliveries of one message. */
interface Delivering {
  message: AlertMessage;
  subscriber: Subscriber;
  alert: Alert;
  deps: NotifierDeps;
  batch: BatchState;
  expiresAt: Date;
  retryable: string[];
  result: NotifyResult;
}

/** Delivers one alert message on every channel of its subscriber, at most once each. */
export async function notifyAlert(
  message: AlertMessage,
  deps: NotifierDeps,
  batch: BatchState = { blockedDestinations: new Set() },
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
  if (severityRank(message.severity) < severityRank(subscriber.minSeverity)) {
    deps.logger.info('alert dropped: below the subscriber minimum severity', {
      alertId: message.alertId,
      subscriberId: message.subscriberId,
      severity: message.severity,
    });
    return result;
  }
  const now = deps.clock.now();
  if (await holdForQuietHours(message, subscriber, deps, now)) {
    for (const channel of subscriber.channels) {
      result.deliveries.push({ channel: channel.type, outcome: 'held' });
    }
    return result;
  }
  const context: Delivering = {
    message,
    subscriber,
    alert: alertOf(message, deps.unsubscribeLinks?.forWatch(subscriber.id, message.watchId)),
    deps,
    batch,
    expiresAt: new Date(
      now.getTime() + (deps.ledgerRetentionDays ?? DEFAULT_LEDGER_RETENTION_DAYS) * DAY_MS,
    ),
    retryable: [],
    result,
  };
  for (const channel of subscriber.channels) {
    await deliverOnChannel(context, channel);
  }
  if (context.retryable.length > 0) {
    throw new DeliveryRetryError(
      `delivery failed, will retry: ${context.retryable.join('; ')}`,
      result,
    );
  }
  return result;
}

/** Holds an immediate, non-critical alert during quiet hours; `true` when it was held. */
async function holdForQuietHours(
  message: AlertMessage,
  subscriber: Subscriber,
  deps: NotifierDeps,
  now: Date,
): Promise<boolean> {
  if (subscriber.mode !== 'immediate' || !subscriber.quietHours) return false;
  if (message.released || message.severity === 'critical') return false;
  const end = quietHoursEnd(subscriber.quietHours, subscriber.timezone, now);
  if (!end) return false;
  const { retryRejected: _, ...held } = message;
  await deps.pending.add(
    {
      subscriberId: subscriber.id,
      entryKey: `held#${digestOf(message.alertId, itemKey(message.item), message.storyReport ?? 'first')}`,
      kind: 'held',
      queuedAt: now.toISOString(),
      releaseAt: end.toISOString(),
      body: JSON.stringify(held),
    },
    new Date(end.getTime() + PENDING_RETENTION_DAYS * DAY_MS),
  );
  deps.logger.info('alert held for quiet hours', {
    alertId: message.alertId,
    subscriberId: subscriber.id,
    until: end.toISOString(),
  });
  return true;
}

async function deliverOnChannel(context: Delivering, channel: ChannelConfig): Promise<void> {
  const { message, subscriber, deps, result } = context;
  const destination = channelKey(channel);
  const sender = deps.senders[channel.type];
  if (!sender) {
    context.retryable.push(`${destination}: no sender for channel type ${channel.type}`);
    result.deliveries.push({ channel: channel.type, outcome: 'failed', error: 'no sender' });
    return;
  }
  if (context.batch.blockedDestinations.has(destination)) {
    context.retryable.push(`${destination}: failed earlier in this batch, kept in order`);
    result.deliveries.push({ channel: channel.type, outcome: 'failed', error: 'kept in order' });
    return;
  }
  const storyKey: AlertKey = {
    subscriberId: subscriber.id,
    watchId: message.watchId,
    storyId: message.storyId,
    channel: destination,
  };
  const toDigest = subscriber.mode === 'digest';
  // The subscriber's first alert of a story is an alert, even when the report
  // that brings it is an update of a story they never heard of.
  const kind = 'alert' as const;
  const firstAlert: Alert = { ...context.alert, kind };
  // A later report usually finds its story sent here: one read then, not a
  // claim that fails (which costs a write and a read).
  const sentBefore =
    message.storyReport === 'later' || message.storyReport === 'update'
      ? await deps.ledger.peek(storyKey)
      : undefined;
  const first =
    sentBefore?.outcome === 'already-sent'
      ? sentBefore
      : await attempt(context, channel, storyKey, kind, async () => {
          if (toDigest) {
            await queueForDigest(context, destination, { kind, alert: firstAlert });
            return { outcome: 'queued', receipt: {} };
          }
          return { outcome: 'sent', receipt: await sender.send(firstAlert, channel) };
        });
  if (first?.outcome !== 'already-sent') return;

  // The story was delivered here before: this is a redelivery or another report.
  const report = firstReportOf(message.item);
  if (!first.first || first.first.itemId === report.itemId) {
    result.deliveries.push({ channel: channel.type, outcome: 'already-sent' });
    return;
  }
  if (message.storyReport === 'update') {
    const updateKey = { ...storyKey, channel: `${destination}~update~${digestOf(report.itemId)}` };
    const again = await attempt(context, channel, updateKey, 'update', async () => {
      if (toDigest) {
        await queueForDigest(context, destination, { kind: 'update', alert: context.alert });
        return { outcome: 'queued', receipt: {} };
      }
      return { outcome: 'sent', receipt: await sender.send(context.alert, channel) };
    });
    if (again) {
      result.deliveries.push({ channel: channel.type, outcome: 'already-sent', kind: 'update' });
    }
    return;
  }
  if (first.first.feed === message.item.feed) {
    // The same outlet again (a republished copy): nothing new to tell.
    result.deliveries.push({ channel: channel.type, outcome: 'already-sent', kind: 'follow-up' });
    return;
  }
  const alsoKey = { ...storyKey, channel: `${destination}~also~${digestOf(message.item.feed)}` };
  const firstReport = first.first;
  const again = await attempt(context, channel, alsoKey, 'follow-up', async () => {
    if (toDigest || !sender.canFollowUp(channel)) {
      await queueForDigest(context, destination, {
        kind: 'follow-up',
        alert: context.alert,
        first: firstReport,
      });
      return { outcome: 'queued', receipt: {} };
    }
    const receipt = await sender.sendFollowUp(
      {
        alert: context.alert,
        first: firstReport,
        ...(first.ref !== undefined ? { threadRef: first.ref } : {}),
      },
      channel,
    );
    return { outcome: 'sent', receipt };
  });
  if (again) {
    result.deliveries.push({ channel: channel.type, outcome: 'already-sent', kind: 'follow-up' });
  }
}

async function queueForDigest(
  context: Delivering,
  destination: string,
  entry: Omit<DigestEntry, 'queuedAt'>,
): Promise<void> {
  const now = context.deps.clock.now();
  const { correlationId } = context.message;
  const full: QueuedDigestEntry = {
    ...entry,
    queuedAt: now.toISOString(),
    ...(correlationId !== undefined ? { correlationId } : {}),
  };
  await context.deps.pending.add(
    {
      subscriberId: context.subscriber.id,
      entryKey: digestEntryKey(destination, full),
      kind: 'digest',
      channel: destination,
      queuedAt: full.queuedAt,
      body: JSON.stringify(full),
    },
    new Date(now.getTime() + PENDING_RETENTION_DAYS * DAY_MS),
  );
}

/**
 * Claims `key`, runs `act`, and records the result in the ledger. Returns the
 * claim when the key was already sent (the caller decides what that means),
 * `undefined` otherwise; every other outcome is pushed onto the result.
 */
async function attempt(
  context: Delivering,
  channel: ChannelConfig,
  key: AlertKey,
  kind: 'alert' | 'update' | 'follow-up',
  act: () => Promise<{ outcome: 'sent' | 'queued'; receipt: SendReceipt }>,
): Promise<Extract<ClaimResult, { outcome: 'already-sent' }> | undefined> {
  const { deps, message, result } = context;
  const claim = await deps.ledger.claim(key, deps.leaseMs ?? CLAIM_LEASE_MS, context.expiresAt, {
    retryRejected: message.retryRejected ?? false,
  });
  if (claim.outcome === 'already-sent') return claim;
  if (claim.outcome === 'rejected') {
    result.deliveries.push({
      channel: channel.type,
      outcome: 'rejected',
      kind,
      error: claim.reason,
    });
    return undefined;
  }
  if (claim.outcome === 'in-progress') {
    context.retryable.push(`${key.channel}: another worker is sending it`);
    result.deliveries.push({
      channel: channel.type,
      outcome: 'failed',
      kind,
      error: 'in progress elsewhere',
    });
    return undefined;
  }
  let done: { outcome: 'sent' | 'queued'; receipt: SendReceipt };
  try {
    done = await act();
  } catch (error) {
    await recordFailure(context, channel, key, claim.token, kind, error);
    return undefined;
  }
  await deps.ledger.markSent(key, claim.token, {
    channel: key.channel,
    sentAt: deps.clock.now().toISOString(),
    first: firstReportOf(message.item),
    ...(done.receipt.ref !== undefined ? { ref: done.receipt.ref } : {}),
  });
  deps.logger.info(done.outcome === 'sent' ? 'alert sent' : 'alert queued for digest', {
    alertId: message.alertId,
    subscriberId: message.subscriberId,
    watchId: message.watchId,
    storyId: message.storyId,
    channel: key.channel,
    kind,
  });
  result.deliveries.push({ channel: channel.type, outcome: done.outcome, kind });
  return undefined;
}

async function recordFailure(
  context: Delivering,
  channel: ChannelConfig,
  key: AlertKey,
  token: string,
  kind: 'alert' | 'update' | 'follow-up',
  error: unknown,
): Promise<void> {
  const { deps, message, result } = context;
  const reason = error instanceof Error ? error.message : String(error);
  if (error instanceof DeliveryError && !error.retryable) {
    // A broken destination: keep the alert for a person, do not loop on it. On
    // redrive the ledger skips what was delivered and `retryRejected` lets
    // this destination be tried again. Dead-lettered before it is recorded as
    // rejected: a rejection recorded with no dead letter (a full disk, an
    // outage of the queue in between) would be an alert nobody ever sees.
    await deps.deadLetters.deadLetter(
      JSON.stringify({ ...message, retryRejected: true }),
      `${key.channel} rejected the alert: ${reason}`,
    );
    await deps.ledger.markRejected(key, token, { reason, at: deps.clock.now().toISOString() });
    deps.logger.error('destination rejected alert', {
      alertId: message.alertId,
      channel: key.channel,
      reason,
    });
    result.deliveries.push({ channel: channel.type, outcome: 'rejected', kind, error: reason });
    return;
  }
  await deps.ledger.release(key, token);
  context.batch.blockedDestinations.add(channelKey(channel));
  context.retryable.push(`${key.channel}: ${reason}`);
  result.deliveries.push({ channel: channel.type, outcome: 'failed', kind, error: reason });
}

/** The SQS handler of the notifier, for Lambda and the local queue alike. */
export function createNotifierHandler(
  deps: NotifierDeps,
  onResult?: (result: NotifyResult) => void,
): (event: SQSEvent) => Promise<SQSBatchResponse> {
  return (event) => {
    const batch: BatchState = { blockedDestinations: new Set() };
    return processSqsBatch(
      event,
      async (body, _record, { correlationId, logger }) => {
        try {
          // An alert queued before correlation ids existed keeps the record's from here on
          // (held, dead-lettered, queued for a digest).
          const message = { ...decodeMessage(AlertMessageSchema, body), correlationId };
          // Not `onResult?.(await notifyAlert(...))`: an optional call skips its arguments
          // when there is no callback, and the alert would be acknowledged unsent.
          const result = await notifyAlert(message, { ...deps, logger }, batch);
          onResult?.(result);
        } catch (error) {
          if (error instanceof DeliveryRetryError) onResult?.(error.result);
          throw error;
        }
      },
      deps,
    );
  };
}
