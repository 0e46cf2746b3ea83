/**
 * The scheduled delivery step (`deliverScheduled`) against the real DynamoDB
 * adapters on dynalite, with alerts held and queued by the real notifier and
 * recording senders standing in for destinations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAlertLedger, DynamoPendingAlertStore } from '../../shared/adapters/dynamodb.ts';
import {
  type EmbeddedDynamo,
  startEmbeddedDynamo,
} from '../../shared/adapters/embedded-dynamodb.ts';
import { DeliveryError } from '../../shared/alerts/delivery-error.ts';
import {
  deliverScheduled,
  digestIdOf,
  type ScheduledDeliveryDeps,
} from '../../shared/alerts/digest.ts';
import { StaticSubscriptionStore } from '../../shared/alerts/subscriptions.ts';
import type { AlertMessage } from '../../shared/messages.ts';
import { channelKey, type NotifierDeps, notifyAlert } from '../../shared/pipeline/notify.ts';
import type {
  Alert,
  AlertSender,
  ChannelConfig,
  ChannelType,
  Digest,
  FollowUp,
  Item,
  PendingAlertStore,
  PendingEntry,
  SendReceipt,
  Subscriber,
} from '../../shared/ports.ts';
import { silentLogger } from '../../shared/ports.ts';
import { RecordingLogger } from '../pipeline/recording-logger.ts';
import { ManualClock } from '../support/manual-clock.ts';

/** A sender that records alerts and digests; errors queued with `failNext` are thrown instead. */
class RecordingSender implements AlertSender {
  readonly alerts: Alert[] = [];
  readonly digests: Digest[] = [];
  private readonly failures: unknown[] = [];

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

  async send(alert: Alert): Promise<SendReceipt> {
    this.maybeFail();
    this.alerts.push(alert);
    return { ref: `ts-${this.alerts.length}` };
  }

  async sendFollowUp(followUp: FollowUp): Promise<SendReceipt> {
    this.maybeFail();
    this.alerts.push(followUp.alert);
    return {};
  }

  async sendDigest(digest: Digest): Promise<SendReceipt> {
    this.maybeFail();
    this.digests.push(digest);
    return {};
  }

  private maybeFail(): void {
    if (this.failures.length > 0) throw this.failures.shift();
  }
}

/** Makes `remove` throw once, as if the process died after a digest was marked sent. */
class CrashOnceOnRemove implements PendingAlertStore {
  crashes = 1;
  constructor(private readonly inner: PendingAlertStore) {}
  add(entry: PendingEntry, expiresAt: Date): Promise<void> {
    return this.inner.add(entry, expiresAt);
  }
  list(subscriberId: string, kind: 'held' | 'digest', channel?: string): Promise<PendingEntry[]> {
    return this.inner.list(subscriberId, kind, channel);
  }
  async remove(subscriberId: string, entryKeys: readonly string[]): Promise<void> {
    if (this.crashes > 0) {
      this.crashes -= 1;
      throw new Error('process died before the entries were removed');
    }
    await this.inner.remove(subscriberId, entryKeys);
  }
}

const WATCH_ID = 'patriot-transfers';
const EMAIL: ChannelConfig = { type: 'email', to: 'desk@example.org' };
const SLACK_BOT: ChannelConfig = { type: 'slack', botToken: 'xoxb-test', channelId: 'C0123456' };

let dynamo: EmbeddedDynamo;
let sequence = 0;

beforeAll(async () => {
  dynamo = await startEmbeddedDynamo();
});

afterAll(async () => {
  await dynamo.stop();
});

function item(feed: string, id: string, title: string): Item {
  return { id, feed, title, summary: '', link: `https://${feed}.example/${id}` };
}

interface World {
  subscriber: Subscriber;
  clock: ManualClock;
  email: RecordingSender;
  slack: RecordingSender;
  queued: AlertMessage[];
  pending: PendingAlertStore;
  notifier: NotifierDeps;
  scheduled: ScheduledDeliveryDeps;
  notify(
    storyId: string,
    reportItem: Item,
    storyReport?: 'first' | 'later',
    correlationId?: string,
  ): Promise<void>;
}

function world(
  overrides: Partial<Subscriber>,
  start: string,
  wrapPending: (store: PendingAlertStore) => PendingAlertStore = (store) => store,
): World {
  sequence += 1;
  const subscriber: Subscriber = {
    id: `reader-${sequence}`,
    watches: [WATCH_ID],
    channels: [EMAIL],
    timezone: 'Europe/Warsaw',
    mode: 'digest',
    digestSchedule: '0 8 * * *',
    minSeverity: 'low',
    ...overrides,
  };
  const clock = new ManualClock(Date.parse(start));
  const email = new RecordingSender('email', false);
  const slack = new RecordingSender('slack', true);
  const queued: AlertMessage[] = [];
  const pending = wrapPending(
    new DynamoPendingAlertStore(dynamo.documentClient, dynamo.tableNames.pendingAlerts, clock),
  );
  const ledger = new DynamoAlertLedger(dynamo.documentClient, dynamo.tableNames.alertLedger, clock);
  const subscriptions = new StaticSubscriptionStore([subscriber]);
  const deadLetters = {
    deadLetter: async (_body: string, reason: string) => {
      throw new Error(`unexpected dead letter: ${reason}`);
    },
  };
  const notifier: NotifierDeps = {
    ledger,
    subscriptions,
    senders: { email, slack },
    pending,
    deadLetters,
    clock,
    logger: silentLogger,
  };
  return {
    subscriber,
    clock,
    email,
    slack,
    queued,
    pending,
    notifier,
    scheduled: {
      subscriberIds: async () => [subscriber.id],
      subscriptions,
      pending,
      ledger,
      senders: { email, slack },
      alertsQueue: {
        send: async (messages) => {
          queued.push(...messages);
        },
      },
      deadLetters,
      clock,
      logger: silentLogger,
    },
    notify: async (storyId, reportItem, storyReport = 'first', correlationId = undefined) => {
      // Reports arrive a few seconds apart (entries queued in the same instant are ordered by key).
      clock.advance(5_000);
      await notifyAlert(
        {
          type: 'alert',
          version: 1,
          alertId: `alert-${subscriber.id}-${storyId}`,
          subscriberId: subscriber.id,
          watchId: WATCH_ID,
          watchName: 'Patriot transfers',
          severity: 'high',
          storyId,
          storyReport,
          item: reportItem,
          matchedTerms: [],
          createdAt: clock.now().toISOString(),
          ...(correlationId !== undefined ? { correlationId } : {}),
        },
        notifier,
      );
    },
  };
}

const SPAIN = item('europe-desk', 'e-1', 'Spain to send Ukraine another batch of Patriot missiles');
const SPAIN_REWRITE = item('wire-a', 'a-3', 'Spain pledges more Patriot interceptors for Ukraine');
const GERMANY = item('wire-b', 'b-4', 'Germany delivers third Patriot system to Ukraine');
const ROMANIA = item('wire-a', 'a-9', 'Romania approves Patriot battery transfer to Ukraine');

describe('deliverScheduled: quiet hours', () => {
  it('releases a held alert onto the alerts queue when quiet hours end, not before, and once', async () => {
    // 23:30 CET: quiet until 07:00 CET (06:00 UTC).
    const w = world(
      { mode: 'immediate', quietHours: { start: '22:00', end: '07:00' } },
      '2026-03-05T22:30:00Z',
    );
    await w.notify('story-es', SPAIN);
    expect(w.email.alerts).toEqual([]);

    w.clock.set('2026-03-06T05:59:00Z');
    const early = await deliverScheduled(w.scheduled);

    expect(early.released).toBe(0);
    expect(w.queued).toEqual([]);

    w.clock.set('2026-03-06T06:00:00Z');
    const due = await deliverScheduled(w.scheduled);
    const again = await deliverScheduled(w.scheduled);

    expect(due.released).toBe(1);
    expect(again.released).toBe(0);
    expect(w.queued).toHaveLength(1);
    expect(w.queued[0]).toMatchObject({ item: { id: 'e-1' }, released: true });
    expect(await w.pending.list(w.subscriber.id, 'held')).toEqual([]);

    // The notifier sends the released alert, as it would from the queue.
    await notifyAlert(w.queued[0] as AlertMessage, w.notifier);
    expect(w.email.alerts.map((a) => a.item.id)).toEqual(['e-1']);
  });
});

describe('deliverScheduled: digests', () => {
  it('sends at the cron time in the subscriber’s time zone, with the entries queued up to then', async () => {
    const w = world(
      { timezone: 'Europe/Warsaw', digestSchedule: '0 8 * * *' },
      '2026-03-05T11:00:00Z',
    );
    await w.notify('story-es', SPAIN);
    await w.notify('story-es', SPAIN_REWRITE, 'later');
    await w.notify('story-de', GERMANY);

    // 07:59 CET: the day's digest time (08:00 CET = 07:00 UTC) has not come yet.
    w.clock.set('2026-03-06T06:59:00Z');
    const before = await deliverScheduled(w.scheduled);
    // Just after 08:00 CET, queued after the digest time: waits for tomorrow.
    w.clock.set('2026-03-06T07:00:30Z');
    await w.notify('story-ro', ROMANIA);
    w.clock.set('2026-03-06T07:01:00Z');
    const due = await deliverScheduled(w.scheduled);
    w.clock.set('2026-03-06T09:00:00Z');
    const laterThatDay = await deliverScheduled(w.scheduled);

    expect(before).toMatchObject({ digestsSent: 0, entriesSent: 0 });
    expect(due).toMatchObject({ digestsSent: 1, entriesSent: 3, failed: [] });
    expect(laterThatDay).toMatchObject({ digestsSent: 0 });
    expect(w.email.alerts).toEqual([]);
    expect(w.email.digests).toHaveLength(1);
    const digest = w.email.digests[0] as Digest;
    expect(digest).toMatchObject({
      subscriberId: w.subscriber.id,
      scheduledFor: '2026-03-06T07:00:00.000Z',
      timezone: 'Europe/Warsaw',
      digestId: digestIdOf(w.subscriber.id, '2026-03-06T07:00:00.000Z', channelKey(EMAIL)),
    });
    expect(digest.entries.map((e) => [e.kind, e.alert.item.id])).toEqual([
      ['alert', 'e-1'],
      ['follow-up', 'a-3'],
      ['alert', 'b-4'],
    ]);
    expect(digest.entries[1]?.first).toMatchObject({ feed: 'europe-desk', title: SPAIN.title });

    // The next morning's digest carries what waited.
    w.clock.set('2026-03-07T07:01:00Z');
    const next = await deliverScheduled(w.scheduled);
    expect(next).toMatchObject({ digestsSent: 1, entriesSent: 1 });
    expect(w.email.digests[1]?.scheduledFor).toBe('2026-03-07T07:00:00.000Z');
    expect(w.email.digests[1]?.entries.map((e) => e.alert.item.id)).toEqual(['a-9']);
    expect(await w.pending.list(w.subscriber.id, 'digest')).toEqual([]);
  });

  it('dead-letters an entry it cannot read and sends the others', async () => {
    const w = world({ digestSchedule: '0 8 * * *' }, '2026-03-05T11:00:00Z');
    const deadLetters: { body: string; reason: string }[] = [];
    w.scheduled.deadLetters = {
      deadLetter: async (body, reason) => {
        deadLetters.push({ body, reason });
      },
    };
    await w.notify('story-es', SPAIN);
    await w.pending.add(
      {
        subscriberId: w.subscriber.id,
        entryKey: `digest#${channelKey(EMAIL)}#garbled`,
        kind: 'digest',
        channel: channelKey(EMAIL),
        queuedAt: '2026-03-05T12:00:00.000Z',
        body: '{"not": "an entry"',
      },
      new Date('2026-04-01T00:00:00Z'),
    );

    w.clock.set('2026-03-06T07:01:00Z');
    const result = await deliverScheduled(w.scheduled);

    expect(result).toMatchObject({ digestsSent: 1, entriesSent: 1 });
    expect(deadLetters).toEqual([
      { body: '{"not": "an entry"', reason: expect.stringContaining('is not valid') },
    ]);
    expect(await w.pending.list(w.subscriber.id, 'digest')).toEqual([]);
  });

  it('reads the schedule in each subscriber’s own time zone (New York)', async () => {
    const w = world(
      { timezone: 'America/New_York', digestSchedule: '30 17 * * 1-5' },
      '2026-03-06T15:00:00Z',
    );
    await w.notify('story-de', GERMANY);

    // Friday 17:30 EST is 22:30 UTC.
    w.clock.set('2026-03-06T22:29:00Z');
    await deliverScheduled(w.scheduled);
    expect(w.email.digests).toEqual([]);
    w.clock.set('2026-03-06T22:31:30Z');
    await deliverScheduled(w.scheduled);

    expect(w.email.digests.map((d) => d.scheduledFor)).toEqual(['2026-03-06T22:30:00.000Z']);
  });

  it('sends immediate subscribers’ email follow-ups in the digest', async () => {
    const w = world({ mode: 'immediate' }, '2026-03-05T11:00:00Z');
    await w.notify('story-es', SPAIN);
    await w.notify('story-es', SPAIN_REWRITE, 'later');
    w.clock.set('2026-03-06T07:01:00Z');

    await deliverScheduled(w.scheduled);

    expect(w.email.alerts.map((a) => a.item.id)).toEqual(['e-1']);
    expect(w.email.digests.map((d) => d.entries.map((e) => [e.kind, e.alert.item.feed]))).toEqual([
      [['follow-up', 'wire-a']],
    ]);
  });

  it('resumes a digest that failed on one channel without sending the other channel again', async () => {
    const w = world({ channels: [EMAIL, SLACK_BOT] }, '2026-03-05T11:00:00Z');
    await w.notify('story-es', SPAIN);
    await w.notify('story-de', GERMANY);
    w.slack.failNext(new DeliveryError('slack', { reason: 'HTTP 503', retryable: true }));
    w.clock.set('2026-03-06T07:01:00Z');

    const first = await deliverScheduled(w.scheduled);
    // Queued between the runs, after the digest time: not part of the resumed digest.
    w.clock.set('2026-03-06T07:03:00Z');
    await w.notify('story-ro', ROMANIA);
    w.clock.set('2026-03-06T07:06:00Z');
    const resumed = await deliverScheduled(w.scheduled);
    const third = await deliverScheduled(w.scheduled);

    expect(first).toMatchObject({
      digestsSent: 1,
      failed: [{ subscriberId: w.subscriber.id, channel: channelKey(SLACK_BOT) }],
    });
    expect(resumed).toMatchObject({ digestsSent: 1, failed: [] });
    expect(third).toMatchObject({ digestsSent: 0, failed: [] });
    expect(w.email.digests).toHaveLength(1);
    expect(w.slack.digests).toHaveLength(1);
    const ids = (d: Digest | undefined) => d?.entries.map((e) => e.alert.item.id);
    expect(ids(w.email.digests[0])).toEqual(['e-1', 'b-4']);
    expect(ids(w.slack.digests[0])).toEqual(['e-1', 'b-4']);
    expect(w.slack.digests[0]?.scheduledFor).toBe(w.email.digests[0]?.scheduledFor);
    expect(
      (await w.pending.list(w.subscriber.id, 'digest')).map(
        (e) => JSON.parse(e.body).alert.item.id,
      ),
    ).toEqual(['a-9', 'a-9']);
  });

  it('sends nothing again and cleans up when the last run died after marking the digest sent', async () => {
    const w = world({}, '2026-03-05T11:00:00Z', (store) => new CrashOnceOnRemove(store));
    await w.notify('story-es', SPAIN);
    await w.notify('story-de', GERMANY);
    w.clock.set('2026-03-06T07:01:00Z');

    await expect(deliverScheduled(w.scheduled)).rejects.toThrow('process died');
    expect(await w.pending.list(w.subscriber.id, 'digest')).toHaveLength(2);
    const next = await deliverScheduled(w.scheduled);

    expect(w.email.digests).toHaveLength(1);
    expect(next).toMatchObject({ digestsSent: 0, entriesSent: 0, failed: [] });
    expect(await w.pending.list(w.subscriber.id, 'digest')).toEqual([]);
  });

  it('leaves entries queued for the next digest when a destination refuses it for good', async () => {
    const w = world({}, '2026-03-05T11:00:00Z');
    await w.notify('story-es', SPAIN);
    w.email.failNext(new DeliveryError('email', { reason: '550 mailbox full', retryable: false }));
    w.clock.set('2026-03-06T07:01:00Z');

    const refused = await deliverScheduled(w.scheduled);
    const sameDay = await deliverScheduled(w.scheduled);
    w.clock.set('2026-03-07T07:01:00Z');
    const nextDay = await deliverScheduled(w.scheduled);

    expect(refused.failed).toHaveLength(1);
    expect(sameDay).toMatchObject({ digestsSent: 0, failed: [] });
    expect(nextDay).toMatchObject({ digestsSent: 1, entriesSent: 1 });
    expect(w.email.digests.map((d) => d.scheduledFor)).toEqual(['2026-03-07T07:00:00.000Z']);
  });
});

describe('deliverScheduled: correlation ids', () => {
  it('names the correlation ids of a digest’s alerts on its log line', async () => {
    const w = world({ digestSchedule: '0 8 * * *' }, '2026-03-05T11:00:00Z');
    const logger = new RecordingLogger();
    await w.notify('story-es', SPAIN, 'first', 'poll-1-aaaaaaaaaa');
    await w.notify('story-de', GERMANY, 'first', 'poll-2-bbbbbbbbbb');

    w.clock.set('2026-03-06T07:01:00Z');
    await deliverScheduled({ ...w.scheduled, logger });

    expect(logger.named('digest sent')[0]?.fields).toMatchObject({
      subscriberId: w.subscriber.id,
      entries: 2,
      correlationIds: ['poll-1-aaaaaaaaaa', 'poll-2-bbbbbbbbbb'],
    });
  });

  it('releases a held alert with its correlation id', async () => {
    const w = world(
      { mode: 'immediate', quietHours: { start: '22:00', end: '07:00' } },
      '2026-03-05T22:30:00Z',
    );
    const logger = new RecordingLogger();
    await w.notify('story-es', SPAIN, 'first', 'poll-1-aaaaaaaaaa');

    w.clock.set('2026-03-06T06:00:00Z');
    await deliverScheduled({ ...w.scheduled, logger });

    expect(w.queued[0]).toMatchObject({ correlationId: 'poll-1-aaaaaaaaaa', released: true });
    expect(logger.named('held alerts released')[0]?.fields).toMatchObject({
      correlationIds: ['poll-1-aaaaaaaaaa'],
    });
  });
});
