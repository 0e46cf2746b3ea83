/**
 * notifyAlert against the real DynamoDB adapters on dynalite (ledger and
 * pending alerts) with a recording sender standing in for a destination.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  countDynamoRequests,
  DynamoAlertLedger,
  DynamoPendingAlertStore,
} from '../../shared/adapters/dynamodb.ts';
import {
  type EmbeddedDynamo,
  startEmbeddedDynamo,
} from '../../shared/adapters/embedded-dynamodb.ts';
import { DeliveryError } from '../../shared/alerts/delivery-error.ts';
import { StaticSubscriptionStore } from '../../shared/alerts/subscriptions.ts';
import type { AlertMessage } from '../../shared/messages.ts';
import {
  type BatchState,
  channelKey,
  createNotifierHandler,
  DeliveryRetryError,
  type NotifierDeps,
  notifyAlert,
} from '../../shared/pipeline/notify.ts';
import type {
  Alert,
  AlertSender,
  ChannelConfig,
  ChannelType,
  Digest,
  DigestEntry,
  FollowUp,
  Item,
  SendReceipt,
  Subscriber,
} from '../../shared/ports.ts';
import { silentLogger } from '../../shared/ports.ts';
import { ManualClock } from '../support/manual-clock.ts';
import { RecordingLogger } from './recording-logger.ts';
import { sqsEvent } from './sqs-event.ts';

/** One call a recording sender received. */
interface SenderCall {
  op: 'send' | 'follow-up' | 'digest';
  destination: string;
  alert?: Alert;
  followUp?: FollowUp;
  digest?: Digest;
}

/**
 * A sender that records every call and answers with a receipt ref; errors
 * queued with `failNext` are thrown by the next calls instead.
 */
class RecordingSender implements AlertSender {
  readonly calls: SenderCall[] = [];
  private readonly failures: unknown[] = [];
  private refs = 0;

  constructor(
    readonly channel: ChannelType,
    private readonly followUpInPlace: boolean,
  ) {}

  failNext(...errors: unknown[]): void {
    this.failures.push(...errors);
  }

  canFollowUp(): boolean {
    return this.followUpInPlace;
  }

  async send(alert: Alert, channel: ChannelConfig): Promise<SendReceipt> {
    return this.record({ op: 'send', destination: channelKey(channel), alert });
  }

  async sendFollowUp(followUp: FollowUp, channel: ChannelConfig): Promise<SendReceipt> {
    return this.record({ op: 'follow-up', destination: channelKey(channel), followUp });
  }

  async sendDigest(digest: Digest, channel: ChannelConfig): Promise<SendReceipt> {
    return this.record({ op: 'digest', destination: channelKey(channel), digest });
  }

  private record(call: SenderCall): SendReceipt {
    if (this.failures.length > 0) throw this.failures.shift();
    this.calls.push(call);
    this.refs += 1;
    return { ref: `${this.channel}-ts-${this.refs}` };
  }
}

const WATCH_ID = 'dprk-troops';
const SLACK_BOT: ChannelConfig = { type: 'slack', botToken: 'xoxb-test', channelId: 'C0123456' };
const EMAIL: ChannelConfig = { type: 'email', to: 'desk@example.org' };
// 12:00 in Warsaw (CET), outside the night quiet hours used below.
const NOON_WARSAW = Date.parse('2026-03-05T11:00:00Z');

let dynamo: EmbeddedDynamo;
let subscriberSequence = 0;

beforeAll(async () => {
  dynamo = await startEmbeddedDynamo();
});

afterAll(async () => {
  await dynamo.stop();
});

function item(feed: string, id: string, title = 'North Korean troops cross into Kursk'): Item {
  return {
    id,
    feed,
    title,
    summary: 'Seoul says thousands of soldiers have crossed the border.',
    link: `https://${feed}.example/${id}`,
    published: '2026-03-05T09:00:00Z',
  };
}

interface World {
  subscriber: Subscriber;
  slack: RecordingSender;
  email: RecordingSender;
  deadLetters: { body: string; reason: string }[];
  clock: ManualClock;
  deps: NotifierDeps;
  pending: DynamoPendingAlertStore;
  message(
    reportItem: Item,
    extra?: Partial<Pick<AlertMessage, 'storyReport' | 'severity' | 'released' | 'storyId'>>,
  ): AlertMessage;
}

/** A fresh subscriber (so tests sharing dynalite never share ledger records) and its deps. */
function world(overrides: Partial<Subscriber> = {}): World {
  subscriberSequence += 1;
  const subscriber: Subscriber = {
    id: `desk-${subscriberSequence}`,
    watches: [WATCH_ID],
    channels: [SLACK_BOT],
    timezone: 'Europe/Warsaw',
    mode: 'immediate',
    digestSchedule: '0 8 * * *',
    minSeverity: 'low',
    ...overrides,
  };
  const clock = new ManualClock(NOON_WARSAW);
  const slack = new RecordingSender('slack', true);
  const email = new RecordingSender('email', false);
  const deadLetters: { body: string; reason: string }[] = [];
  const pending = new DynamoPendingAlertStore(
    dynamo.documentClient,
    dynamo.tableNames.pendingAlerts,
    clock,
  );
  const deps: NotifierDeps = {
    ledger: new DynamoAlertLedger(dynamo.documentClient, dynamo.tableNames.alertLedger, clock),
    subscriptions: new StaticSubscriptionStore([subscriber]),
    senders: { slack, email },
    pending,
    deadLetters: {
      deadLetter: async (body, reason) => {
        deadLetters.push({ body, reason });
      },
    },
    clock,
    logger: silentLogger,
  };
  return {
    subscriber,
    slack,
    email,
    deadLetters,
    clock,
    deps,
    pending,
    message: (reportItem, extra = {}) => ({
      type: 'alert',
      version: 1,
      alertId: `alert-${subscriber.id}-${extra.storyId ?? 'story-1'}`,
      subscriberId: subscriber.id,
      watchId: WATCH_ID,
      watchName: 'DPRK troop deployments',
      severity: extra.severity ?? 'high',
      storyId: extra.storyId ?? 'story-1',
      item: reportItem,
      matchedTerms: [],
      createdAt: clock.now().toISOString(),
      ...(extra.storyReport !== undefined ? { storyReport: extra.storyReport } : {}),
      ...(extra.released !== undefined ? { released: extra.released } : {}),
    }),
  };
}

async function digestEntries(w: World, channel: ChannelConfig): Promise<DigestEntry[]> {
  const entries = await w.pending.list(w.subscriber.id, 'digest', channelKey(channel));
  return entries.map((entry) => JSON.parse(entry.body) as DigestEntry);
}

const FIRST = item('wire-a', 'a-1');
const OTHER_OUTLET = item('wire-b', 'b-7', 'Thousands of North Korean troops enter Kursk');

describe('notifyAlert: one alert per story and destination', () => {
  let w: World;
  beforeEach(() => {
    w = world();
  });

  it('sends the first report of a story as an alert', async () => {
    const result = await notifyAlert(w.message(FIRST, { storyReport: 'first' }), w.deps);

    expect(w.slack.calls.map((c) => [c.op, c.alert?.item.id, c.alert?.kind])).toEqual([
      ['send', 'a-1', 'alert'],
    ]);
    expect(result.deliveries).toEqual([{ channel: 'slack', outcome: 'sent', kind: 'alert' }]);
  });

  it('sends nothing when SQS redelivers the first report', async () => {
    await notifyAlert(w.message(FIRST), w.deps);

    const again = await notifyAlert(w.message(FIRST), w.deps);

    expect(w.slack.calls).toHaveLength(1);
    expect(again.deliveries).toEqual([{ channel: 'slack', outcome: 'already-sent' }]);
  });

  it('follows a later report from another feed up once, in the first alert’s thread', async () => {
    await notifyAlert(w.message(FIRST), w.deps);

    const result = await notifyAlert(w.message(OTHER_OUTLET, { storyReport: 'later' }), w.deps);

    expect(w.slack.calls.map((c) => c.op)).toEqual(['send', 'follow-up']);
    const followUp = w.slack.calls[1]?.followUp;
    expect(followUp?.threadRef).toBe('slack-ts-1');
    expect(followUp?.alert.item).toEqual(OTHER_OUTLET);
    expect(followUp?.first).toEqual({
      itemId: 'wire-a\na-1',
      title: FIRST.title,
      feed: 'wire-a',
      link: FIRST.link,
    });
    expect(result.deliveries).toEqual([{ channel: 'slack', outcome: 'sent', kind: 'follow-up' }]);
  });

  it('reads the story’s record for a later report instead of claiming it (no failed write)', async () => {
    await notifyAlert(w.message(FIRST), w.deps);
    const requests = countDynamoRequests(dynamo.documentClient);

    await notifyAlert(w.message(OTHER_OUTLET, { storyReport: 'later' }), w.deps);

    // One read of the story's record, then the follow-up's claim and mark.
    expect(requests.byOperation).toEqual({ GetItem: 1, PutItem: 1, UpdateItem: 1 });
  });

  it('follows each outlet up once: another report from that outlet, or a redelivery, sends nothing', async () => {
    await notifyAlert(w.message(FIRST), w.deps);
    await notifyAlert(w.message(OTHER_OUTLET, { storyReport: 'later' }), w.deps);

    const redelivered = await notifyAlert(
      w.message(OTHER_OUTLET, { storyReport: 'later' }),
      w.deps,
    );
    const secondFromOutlet = await notifyAlert(
      w.message(item('wire-b', 'b-8', 'North Korean units reach Kursk'), { storyReport: 'later' }),
      w.deps,
    );

    expect(w.slack.calls.map((c) => c.op)).toEqual(['send', 'follow-up']);
    for (const result of [redelivered, secondFromOutlet]) {
      expect(result.deliveries).toEqual([
        { channel: 'slack', outcome: 'already-sent', kind: 'follow-up' },
      ]);
    }
  });

  it('follows up a third outlet too, still in the first alert’s thread', async () => {
    await notifyAlert(w.message(FIRST), w.deps);
    await notifyAlert(w.message(OTHER_OUTLET, { storyReport: 'later' }), w.deps);

    await notifyAlert(w.message(item('aggregator', 'g-3'), { storyReport: 'later' }), w.deps);

    expect(
      w.slack.calls.map((c) => [c.op, c.followUp?.alert.item.feed, c.followUp?.threadRef]),
    ).toEqual([
      ['send', undefined, undefined],
      ['follow-up', 'wire-b', 'slack-ts-1'],
      ['follow-up', 'aggregator', 'slack-ts-1'],
    ]);
  });

  it('sends nothing for a later report from the feed that was alerted first', async () => {
    await notifyAlert(w.message(FIRST), w.deps);

    const result = await notifyAlert(
      w.message(item('wire-a', 'a-2', 'North Korean troops cross into Kursk (corrected)'), {
        storyReport: 'later',
      }),
      w.deps,
    );

    expect(w.slack.calls).toHaveLength(1);
    expect(result.deliveries).toEqual([
      { channel: 'slack', outcome: 'already-sent', kind: 'follow-up' },
    ]);
  });

  it('queues a follow-up for the digest where the channel cannot reply in place (email)', async () => {
    const mail = world({ channels: [EMAIL] });
    await notifyAlert(mail.message(FIRST), mail.deps);

    const result = await notifyAlert(
      mail.message(OTHER_OUTLET, { storyReport: 'later' }),
      mail.deps,
    );
    await notifyAlert(mail.message(OTHER_OUTLET, { storyReport: 'later' }), mail.deps);

    expect(mail.email.calls.map((c) => [c.op, c.alert?.item.id])).toEqual([['send', 'a-1']]);
    expect(result.deliveries).toEqual([{ channel: 'email', outcome: 'queued', kind: 'follow-up' }]);
    const entries = await digestEntries(mail, EMAIL);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      kind: 'follow-up',
      alert: { item: { feed: 'wire-b', id: 'b-7' } },
      first: { itemId: 'wire-a\na-1', feed: 'wire-a', title: FIRST.title },
      queuedAt: '2026-03-05T11:00:00.000Z',
    });
  });
});

describe('notifyAlert: updates', () => {
  it('alerts again once per updating report, marked as an update', async () => {
    const w = world();
    await notifyAlert(w.message(FIRST), w.deps);
    const update = w.message(item('wire-a', 'a-9', 'North Korean troops now fighting in Kursk'), {
      storyReport: 'update',
    });

    const result = await notifyAlert(update, w.deps);
    const redelivered = await notifyAlert(update, w.deps);

    expect(w.slack.calls.map((c) => [c.op, c.alert?.item.id, c.alert?.kind])).toEqual([
      ['send', 'a-1', 'alert'],
      ['send', 'a-9', 'update'],
    ]);
    expect(result.deliveries).toEqual([{ channel: 'slack', outcome: 'sent', kind: 'update' }]);
    expect(redelivered.deliveries).toEqual([
      { channel: 'slack', outcome: 'already-sent', kind: 'update' },
    ]);

    await notifyAlert(
      w.message(item('wire-b', 'b-20', 'North Korean troops suffer losses in Kursk'), {
        storyReport: 'update',
      }),
      w.deps,
    );
    expect(w.slack.calls.map((c) => c.alert?.item.id)).toEqual(['a-1', 'a-9', 'b-20']);
  });

  it('sends an update as a plain alert to a subscriber who never had the story', async () => {
    const w = world();
    const update = w.message(item('wire-a', 'a-9', 'North Korean troops now fighting in Kursk'), {
      storyReport: 'update',
    });

    const result = await notifyAlert(update, w.deps);

    expect(w.slack.calls.map((c) => [c.op, c.alert?.item.id, c.alert?.kind])).toEqual([
      ['send', 'a-9', 'alert'],
    ]);
    expect(result.deliveries).toEqual([{ channel: 'slack', outcome: 'sent', kind: 'alert' }]);
  });
});

describe('notifyAlert: digest mode', () => {
  it('queues alerts, updates and follow-ups as digest entries and sends nothing', async () => {
    const w = world({ mode: 'digest', channels: [SLACK_BOT] });

    const first = await notifyAlert(w.message(FIRST), w.deps);
    await notifyAlert(w.message(FIRST), w.deps);
    await notifyAlert(w.message(OTHER_OUTLET, { storyReport: 'later' }), w.deps);
    await notifyAlert(
      w.message(item('wire-a', 'a-9', 'North Korean troops now fighting in Kursk'), {
        storyReport: 'update',
      }),
      w.deps,
    );

    expect(w.slack.calls).toEqual([]);
    expect(first.deliveries).toEqual([{ channel: 'slack', outcome: 'queued', kind: 'alert' }]);
    expect(
      (await digestEntries(w, SLACK_BOT)).map((e) => [e.kind, e.alert.item.id]).sort(),
    ).toEqual([
      ['alert', 'a-1'],
      ['follow-up', 'b-7'],
      ['update', 'a-9'],
    ]);
  });
});

describe('notifyAlert: quiet hours and severity', () => {
  const night = { start: '22:00', end: '07:00' };
  // 23:30 in Warsaw (CET); quiet hours end at 07:00 CET, 06:00 UTC.
  const LATE_EVENING = Date.parse('2026-03-05T22:30:00Z');

  it('holds a non-critical alert until quiet hours end, sending nothing', async () => {
    const w = world({ quietHours: night });
    w.clock.advance(LATE_EVENING - NOON_WARSAW);

    const result = await notifyAlert(w.message(FIRST), w.deps);

    expect(w.slack.calls).toEqual([]);
    expect(result.deliveries).toEqual([{ channel: 'slack', outcome: 'held' }]);
    const held = await w.pending.list(w.subscriber.id, 'held');
    expect(held).toHaveLength(1);
    expect(held[0]?.releaseAt).toBe('2026-03-06T06:00:00.000Z');
    expect(JSON.parse(held[0]?.body ?? '{}')).toMatchObject({ item: { id: 'a-1' } });
  });

  it('does not hold a critical alert', async () => {
    const w = world({ quietHours: night });
    w.clock.advance(LATE_EVENING - NOON_WARSAW);

    const result = await notifyAlert(w.message(FIRST, { severity: 'critical' }), w.deps);

    expect(w.slack.calls.map((c) => c.op)).toEqual(['send']);
    expect(result.deliveries).toEqual([{ channel: 'slack', outcome: 'sent', kind: 'alert' }]);
    expect(await w.pending.list(w.subscriber.id, 'held')).toEqual([]);
  });

  it('sends a released alert even while it is still quiet', async () => {
    const w = world({ quietHours: night });
    w.clock.advance(LATE_EVENING - NOON_WARSAW);

    await notifyAlert(w.message(FIRST, { released: true }), w.deps);

    expect(w.slack.calls.map((c) => c.op)).toEqual(['send']);
    expect(await w.pending.list(w.subscriber.id, 'held')).toEqual([]);
  });

  it('sends outside quiet hours', async () => {
    const w = world({ quietHours: night });

    await notifyAlert(w.message(FIRST), w.deps);

    expect(w.slack.calls.map((c) => c.op)).toEqual(['send']);
  });

  it('drops an alert below the subscriber’s minimum severity', async () => {
    const w = world({ minSeverity: 'high' });

    const result = await notifyAlert(w.message(FIRST, { severity: 'normal' }), w.deps);
    const later = await notifyAlert(w.message(FIRST, { severity: 'high' }), w.deps);

    expect(result.deliveries).toEqual([]);
    expect(await w.pending.list(w.subscriber.id, 'digest')).toEqual([]);
    // Nothing was recorded for the dropped alert: the same story at a severity that counts is sent.
    expect(later.deliveries).toEqual([{ channel: 'slack', outcome: 'sent', kind: 'alert' }]);
    expect(w.slack.calls).toHaveLength(1);
  });
});

describe('notifyAlert: failures', () => {
  it('records a destination that refuses for good, dead-letters once, and skips it on redelivery', async () => {
    const w = world();
    w.slack.failNext(new DeliveryError('slack', { reason: 'channel_not_found', retryable: false }));

    const result = await notifyAlert(w.message(FIRST), w.deps);
    const redelivered = await notifyAlert(w.message(FIRST), w.deps);

    expect(w.slack.calls).toEqual([]);
    expect(result.deliveries).toMatchObject([
      { channel: 'slack', outcome: 'rejected', kind: 'alert' },
    ]);
    expect(redelivered.deliveries).toMatchObject([{ channel: 'slack', outcome: 'rejected' }]);
    expect(w.deadLetters).toHaveLength(1);
    expect(w.deadLetters[0]?.reason).toContain('channel_not_found');
    expect(JSON.parse(w.deadLetters[0]?.body ?? '{}')).toMatchObject({
      alertId: w.message(FIRST).alertId,
      retryRejected: true,
    });

    // A redrive of the dead letter tries the destination again.
    const redriven = JSON.parse(w.deadLetters[0]?.body ?? '{}') as AlertMessage;
    await notifyAlert(redriven, w.deps);
    expect(w.slack.calls.map((c) => c.op)).toEqual(['send']);
  });

  it('never records a rejection whose dead letter could not be written: the retry rejects and dead-letters it', async () => {
    const w = world();
    w.slack.failNext(new DeliveryError('slack', { reason: 'channel_not_found', retryable: false }));
    const writeDeadLetter = w.deps.deadLetters.deadLetter;
    let diskFull = true;
    w.deps.deadLetters = {
      deadLetter: async (body, reason) => {
        if (diskFull) throw new Error('ENOSPC: no space left on device, write');
        await writeDeadLetter(body, reason);
      },
    };

    await expect(notifyAlert(w.message(FIRST), w.deps)).rejects.toThrow(/ENOSPC/);
    expect(w.deadLetters).toEqual([]);
    // Space freed; the message comes back once the claim has lapsed.
    diskFull = false;
    w.clock.advance(6 * 60_000);
    w.slack.failNext(new DeliveryError('slack', { reason: 'channel_not_found', retryable: false }));
    const retried = await notifyAlert(w.message(FIRST), w.deps);

    expect(retried.deliveries).toMatchObject([{ channel: 'slack', outcome: 'rejected' }]);
    expect(w.deadLetters).toHaveLength(1);
    expect(w.deadLetters[0]?.reason).toContain('channel_not_found');
  });

  it('retries only the channel that failed, never re-sending the one that succeeded', async () => {
    const w = world({ channels: [EMAIL, SLACK_BOT] });
    w.slack.failNext(new DeliveryError('slack', { reason: 'HTTP 503', retryable: true }));

    await expect(notifyAlert(w.message(FIRST), w.deps)).rejects.toBeInstanceOf(DeliveryRetryError);
    const retried = await notifyAlert(w.message(FIRST), w.deps);

    expect(w.email.calls.map((c) => c.op)).toEqual(['send']);
    expect(w.slack.calls.map((c) => c.op)).toEqual(['send']);
    expect(retried.deliveries).toEqual([
      { channel: 'email', outcome: 'already-sent' },
      { channel: 'slack', outcome: 'sent', kind: 'alert' },
    ]);
  });

  it('keeps order: after a retryable failure, later alerts of the batch for that destination are not tried', async () => {
    const w = world();
    const other = world({ channels: [EMAIL] });
    const batch: BatchState = { blockedDestinations: new Set() };
    w.slack.failNext(new DeliveryError('slack', { reason: 'HTTP 429', retryable: true }));
    const first = w.message(FIRST, { storyId: 'story-1' });
    const second = w.message(item('wire-c', 'c-1', 'Patriot battery arrives in Rzeszow'), {
      storyId: 'story-2',
    });

    const firstError = await notifyAlert(first, w.deps, batch).catch((e: unknown) => e);
    const secondError = await notifyAlert(second, w.deps, batch).catch((e: unknown) => e);
    await notifyAlert(other.message(FIRST), other.deps, batch);

    expect(firstError).toBeInstanceOf(DeliveryRetryError);
    expect(secondError).toBeInstanceOf(DeliveryRetryError);
    expect((secondError as DeliveryRetryError).result.deliveries).toEqual([
      { channel: 'slack', outcome: 'failed', error: 'kept in order' },
    ]);
    expect(w.slack.calls).toEqual([]);
    // Another destination in the same batch is not held back.
    expect(other.email.calls.map((c) => c.op)).toEqual(['send']);

    // The retry (a new batch) delivers both, in their order.
    const retry: BatchState = { blockedDestinations: new Set() };
    await notifyAlert(first, w.deps, retry);
    await notifyAlert(second, w.deps, retry);
    expect(w.slack.calls.map((c) => c.alert?.item.id)).toEqual(['a-1', 'c-1']);
  });

  it('keys a destination by a digest, never by the address or webhook URL', () => {
    const key = channelKey({
      type: 'slack',
      webhookUrl: 'https://hooks.slack.com/services/SECRET',
    });

    expect(key).toMatch(/^slack:[0-9a-f]{16}$/);
    expect(key).not.toContain('SECRET');
    expect(channelKey({ type: 'email', to: 'Desk@Example.org' })).toBe(channelKey(EMAIL));
  });
});

describe('notifier handler: log lines', () => {
  it('puts the record’s correlationId and messageId on every line it logs for the record', async () => {
    const w = world({ channels: [EMAIL, SLACK_BOT] });
    const logger = new RecordingLogger();
    const handler = createNotifierHandler({ ...w.deps, logger });
    w.slack.failNext(new DeliveryError('slack', { reason: 'HTTP 503', retryable: true }));

    await handler(
      sqsEvent({
        messageId: 'm-1',
        body: { ...w.message(FIRST), correlationId: 'poll-7-0123456789' },
      }),
    );

    expect(logger.lines.map((line) => line.message)).toEqual([
      'alert sent',
      'message failed, will be retried',
    ]);
    for (const line of logger.lines) {
      expect(line.fields).toMatchObject({ messageId: 'm-1', correlationId: 'poll-7-0123456789' });
    }
    expect(logger.named('alert sent')[0]?.fields).toMatchObject({
      subscriberId: w.subscriber.id,
      channel: channelKey(EMAIL),
      kind: 'alert',
    });
  });

  it('keeps the correlationId on what it queues for a digest', async () => {
    const w = world({ mode: 'digest' });
    const handler = createNotifierHandler({ ...w.deps, logger: new RecordingLogger() });

    await handler(
      sqsEvent({
        messageId: 'm-1',
        body: { ...w.message(FIRST), correlationId: 'poll-7-0123456789' },
      }),
    );

    const [entry] = await w.pending.list(w.subscriber.id, 'digest', channelKey(SLACK_BOT));
    expect(JSON.parse(entry?.body ?? '{}')).toMatchObject({ correlationId: 'poll-7-0123456789' });
  });
});
