/**
 * The embedded stack: the same poller, classifier and notifier code as on AWS,
 * wired to dynalite (persisted under the data directory), in-process queues
 * with SQS semantics, a local HTTP server for the sample feeds, and local
 * delivery (console, outbox, SMTP when configured, Slack when its secret is set).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createConsoleSender } from '../../shared/adapters/console-sender.ts';
import {
  DynamoAlertLedger,
  DynamoFeedStateStore,
  DynamoPendingAlertStore,
  DynamoSeenItemsStore,
} from '../../shared/adapters/dynamodb.ts';
import {
  type EmbeddedDynamo,
  startEmbeddedDynamo,
} from '../../shared/adapters/embedded-dynamodb.ts';
import { createEmlOutboxSender } from '../../shared/adapters/eml-outbox-sender.ts';
import { type FeedServer, startFeedServer } from '../../shared/adapters/local-feed-server.ts';
import {
  LocalQueue,
  type OpenJournalFile,
  type QueueFaults,
} from '../../shared/adapters/local-queue.ts';
import { createOutboxSender } from '../../shared/adapters/outbox-sender.ts';
import { createSlackSender } from '../../shared/adapters/slack-api-sender.ts';
import type { SmtpSender } from '../../shared/adapters/smtp-sender.ts';
import { DynamoStoryStore } from '../../shared/adapters/story-store.ts';
import {
  startUnsubscribeServer,
  type UnsubscribeServer,
} from '../../shared/adapters/unsubscribe-server.ts';
import { DynamoUnsubscribeStore } from '../../shared/adapters/unsubscribe-store.ts';
import { deliverScheduled, type ScheduledDeliveryResult } from '../../shared/alerts/digest.ts';
import { nextDigestTime } from '../../shared/alerts/schedule.ts';
import { StaticSubscriptionStore, subscriberOf } from '../../shared/alerts/subscriptions.ts';
import { createUnsubscribeLinks, type UnsubscribeLinks } from '../../shared/alerts/unsubscribe.ts';
import { UnsubscribeFilteredSubscriptionStore } from '../../shared/alerts/unsubscribing-subscriptions.ts';
import type { Config } from '../../shared/config/config.ts';
import type { AlertMessage, ItemMessage } from '../../shared/messages.ts';
import { type ClassifyResult, createClassifierHandler } from '../../shared/pipeline/classify.ts';
import {
  checkDeliveryTiming,
  MAX_RECEIVE_COUNT,
  RETRY_FOR_MS,
  VISIBILITY_TIMEOUT_MS,
} from '../../shared/pipeline/delivery-timing.ts';
import { createNotifierHandler, type NotifyResult } from '../../shared/pipeline/notify.ts';
import { type FeedPollResult, type FeedToPoll, pollFeeds } from '../../shared/pipeline/poll.ts';
import type { ChannelType, Clock, Logger, Subscriber } from '../../shared/ports.ts';
import { systemClock } from '../../shared/ports.ts';
import { FileWatchSource } from '../../shared/rules/file-watch-source.ts';
import { type ControlServer, startControlServer } from './control-socket.ts';
import { ALERTS_QUEUE, ITEMS_QUEUE, queueDeadLetters } from './dead-letters.ts';

export { ALERTS_QUEUE, ITEMS_QUEUE };

export interface LocalStackOptions {
  dataDir: string;
  logger: Logger;
  /** Where the console channel writes. Default stdout. */
  consoleStream?: Writable & { isTTY?: boolean };
  clock?: Clock;
  /** Receives after which a message is dead-lettered. Default `MAX_RECEIVE_COUNT`. */
  maxReceiveCount?: number;
  /**
   * Visibility timeout of the local queues. Default `VISIBILITY_TIMEOUT_MS`
   * (as on AWS); it must exceed the ledger's claim lease (`CLAIM_LEASE_MS`).
   */
  visibilityTimeoutMs?: number;
  /**
   * Serve the unsubscribe endpoint on this port (0: any free port, and the
   * links point at it). Not served when absent: links keep pointing at
   * `unsubscribe.baseUrl` for the runner that serves it.
   */
  unsubscribePort?: number;
  /** How the queues open their journals; the fault bench hands in one that fills the disk. */
  openJournal?: OpenJournalFile;
  /** Redelivery, duplication and reordering on both queues, for the fault bench. */
  queueFaults?: QueueFaults;
}

/** Where the one-click links of local emails point when the config does not say. */
export const DEFAULT_LOCAL_UNSUBSCRIBE_URL = 'http://127.0.0.1:8787/unsubscribe';

/** What one cycle (poll, classify, notify) did. */
export interface CycleSummary {
  feedsDue: number;
  feedsPolled: number;
  feedsNotModified: number;
  feedsFailed: { feedId: string; kind: string; message: string }[];
  itemsNew: number;
  itemsSeen: number;
  itemsClassified: number;
  matches: number;
  alertsQueued: number;
  sent: Partial<Record<ChannelType, number>>;
  alreadySent: number;
  deliveryFailures: number;
  rejected: number;
  /** Follow-ups ("also reported by") sent in place. */
  followUps: number;
  /** Alerts and follow-ups queued for a digest. */
  queuedForDigest: number;
  /** Alerts held by quiet hours. */
  held: number;
  /** Held alerts released after quiet hours. */
  released: number;
  digestsSent: number;
  /** Messages left queued for a retry after this cycle. */
  pending: { items: number; alerts: number };
  deadLetters: { items: number; alerts: number };
}

/** A subscriber's deliveries that wait, and when they go. */
export interface WaitingDeliveries {
  subscriberId: string;
  timezone: string;
  digestEntries: number;
  held: number;
  nextDigest?: Date;
  nextRelease?: Date;
}

export interface CycleOptions {
  /** Poll every feed, due or not. */
  all?: boolean;
  onFeed?: (result: FeedPollResult) => void;
  /** The runner's period, as on AWS: healthy 304s due by the next run write nothing. */
  scheduleSeconds?: number;
}

export class LocalStack {
  private constructor(
    readonly config: Config,
    private readonly embedded: EmbeddedDynamo,
    private readonly feedServer: FeedServer | undefined,
    readonly itemsQueue: LocalQueue<ItemMessage>,
    readonly alertsQueue: LocalQueue<AlertMessage>,
    private readonly feeds: FeedToPoll[],
    private readonly deps: {
      feedStates: DynamoFeedStateStore;
      seenItems: DynamoSeenItemsStore;
      ledger: DynamoAlertLedger;
      pending: DynamoPendingAlertStore;
      stories: DynamoStoryStore;
      subscriptions: UnsubscribeFilteredSubscriptionStore;
      unsubscribeLinks: UnsubscribeLinks;
      unsubscribeServer: UnsubscribeServer | undefined;
      watches: FileWatchSource;
      smtp: SmtpSender | undefined;
      senders: ReturnType<typeof localSenders>;
      control: ControlServer;
    },
    private readonly options: LocalStackOptions,
  ) {}

  /**
   * Starts the stack on its data directory, whose lock it holds until `stop`
   * (`DataDirInUseError` when another process holds it). While it runs it
   * serves the directory's control socket, through which `wirewatch dlq`
   * reaches its queues.
   */
  static async start(config: Config, options: LocalStackOptions): Promise<LocalStack> {
    const clock = options.clock ?? systemClock;
    const watches = new FileWatchSource(config.watchFile, options.logger);
    await watches.current(); // fail before starting anything when the rules are broken
    const dynamo = await startEmbeddedDynamo({ dataDir: options.dataDir });
    let feedServer: FeedServer | undefined;
    let unsubscribeServer: UnsubscribeServer | undefined;
    let control: ControlServer | undefined;
    try {
      if (config.localFeedsDir) feedServer = await startFeedServer({ dir: config.localFeedsDir });
      const queueOptions = {
        dataDir: options.dataDir,
        clock,
        maxReceiveCount: options.maxReceiveCount ?? MAX_RECEIVE_COUNT,
        visibilityTimeoutMs: options.visibilityTimeoutMs ?? VISIBILITY_TIMEOUT_MS,
        logger: options.logger,
        ...(options.openJournal ? { openJournal: options.openJournal } : {}),
        ...(options.queueFaults ? { faults: options.queueFaults } : {}),
      };
      checkDeliveryTiming(queueOptions);
      const itemsQueue = await LocalQueue.open<ItemMessage>({ name: ITEMS_QUEUE, ...queueOptions });
      const alertsQueue = await LocalQueue.open<AlertMessage>({
        name: ALERTS_QUEUE,
        ...queueOptions,
      });
      const feeds = config.feeds.map(
        (f): FeedToPoll => ({
          id: f.id,
          url: f.url,
          intervalSeconds: f.intervalSeconds,
          ...(f.maxIntervalSeconds !== undefined
            ? { maxIntervalSeconds: f.maxIntervalSeconds }
            : {}),
        }),
      );
      // nodemailer is loaded only when SMTP is configured (most local runs write .eml files).
      const smtp = config.email.smtp
        ? (await import('../../shared/adapters/smtp-sender.ts')).createSmtpSender({
            ...config.email.smtp,
            from: config.email.from,
          })
        : undefined;
      const outboxDir = join(options.dataDir, 'outbox');
      const unsubscribeSecret =
        config.unsubscribe.secret ?? (await localUnsubscribeSecret(options.dataDir));
      const subscriptions = new UnsubscribeFilteredSubscriptionStore(
        new StaticSubscriptionStore(config.subscribers.map(toSubscriber)),
        new DynamoUnsubscribeStore(dynamo.documentClient, dynamo.tableNames.unsubscribes),
        { cacheMs: 5_000, clock },
      );
      unsubscribeServer =
        options.unsubscribePort === undefined
          ? undefined
          : await startUnsubscribeServer({
              port: options.unsubscribePort,
              deps: {
                secrets: [unsubscribeSecret],
                store: new DynamoUnsubscribeStore(
                  dynamo.documentClient,
                  dynamo.tableNames.unsubscribes,
                ),
                subscriptions,
                watchName: async (watchId) => (await watches.current()).watches.get(watchId)?.name,
                clock,
                logger: options.logger,
              },
            });
      const unsubscribeLinks = createUnsubscribeLinks({
        baseUrl:
          options.unsubscribePort === 0 && unsubscribeServer
            ? unsubscribeServer.url
            : (config.unsubscribe.baseUrl ?? DEFAULT_LOCAL_UNSUBSCRIBE_URL),
        secret: unsubscribeSecret,
        ...(config.unsubscribe.mailto !== undefined ? { mailto: config.unsubscribe.mailto } : {}),
      });
      control = await startControlServer({
        dataDir: options.dataDir,
        deadLetters: queueDeadLetters({ items: itemsQueue, alerts: alertsQueue }),
        logger: options.logger,
      });
      return new LocalStack(
        config,
        dynamo,
        feedServer,
        itemsQueue,
        alertsQueue,
        feeds,
        {
          feedStates: new DynamoFeedStateStore(dynamo.documentClient, dynamo.tableNames.feedState),
          seenItems: new DynamoSeenItemsStore(
            dynamo.documentClient,
            dynamo.tableNames.seenItems,
            clock,
          ),
          ledger: new DynamoAlertLedger(
            dynamo.documentClient,
            dynamo.tableNames.alertLedger,
            clock,
          ),
          pending: new DynamoPendingAlertStore(
            dynamo.documentClient,
            dynamo.tableNames.pendingAlerts,
            clock,
          ),
          stories: new DynamoStoryStore(
            dynamo.documentClient,
            dynamo.tableNames.storyFingerprints,
            clock,
          ),
          subscriptions,
          unsubscribeLinks,
          unsubscribeServer,
          watches,
          smtp,
          senders: localSenders(config, outboxDir, clock, smtp, options.consoleStream),
          control,
        },
        options,
      );
    } catch (error) {
      await control?.stop();
      await unsubscribeServer?.stop();
      await feedServer?.stop();
      await dynamo.stop();
      throw error;
    }
  }

  /** The unsubscribe endpoint this stack serves, when it serves one. */
  get unsubscribeUrl(): string | undefined {
    return this.deps.unsubscribeServer?.url;
  }

  /** The links local emails carry. */
  get unsubscribeLinks(): UnsubscribeLinks {
    return this.deps.unsubscribeLinks;
  }

  /** The embedded DynamoDB (for tests and benchmarks that inspect tables or count requests). */
  get dynamo(): EmbeddedDynamo {
    return this.embedded;
  }

  get feedList(): readonly FeedToPoll[] {
    return this.feeds;
  }

  /** `local:<file>` → the local feed server's URL of the file; other URLs unchanged. */
  resolveUrl(url: string): string {
    if (!url.startsWith('local:') || !this.feedServer) return url;
    return this.feedServer.url(url.slice('local:'.length));
  }

  /** Polls, then processes both queues until nothing is visible; failed messages stay for later. */
  async runCycle(cycle: CycleOptions = {}): Promise<CycleSummary> {
    const clock = this.options.clock ?? systemClock;
    const logger = this.options.logger;
    const poll = await pollFeeds(
      this.feeds,
      {
        feedStates: this.deps.feedStates,
        seenItems: this.deps.seenItems,
        itemsQueue: this.itemsQueue,
        clock,
        logger,
        resolveUrl: (url) => this.resolveUrl(url),
        fetchOptions: this.config.feedFetch,
      },
      {
        all: cycle.all ?? false,
        ...(cycle.onFeed ? { onFeed: cycle.onFeed } : {}),
        ...(cycle.scheduleSeconds !== undefined ? { scheduleSeconds: cycle.scheduleSeconds } : {}),
      },
    );
    const summary: CycleSummary = {
      feedsDue: poll.feedsDue,
      feedsPolled: poll.feedsPolled,
      feedsNotModified: poll.feedsNotModified,
      feedsFailed: poll.results.flatMap((r) =>
        r.status === 'failed'
          ? [{ feedId: r.feedId, kind: r.error.kind, message: r.error.message }]
          : [],
      ),
      itemsNew: poll.itemsNew,
      itemsSeen: poll.itemsSeen,
      itemsClassified: 0,
      matches: 0,
      alertsQueued: 0,
      sent: {},
      alreadySent: 0,
      deliveryFailures: 0,
      rejected: 0,
      followUps: 0,
      queuedForDigest: 0,
      held: 0,
      released: 0,
      digestsSent: 0,
      pending: { items: 0, alerts: 0 },
      deadLetters: { items: 0, alerts: 0 },
    };
    const onClassified = (r: ClassifyResult): void => {
      summary.itemsClassified++;
      summary.matches += r.matched.length;
      summary.alertsQueued += r.alerts;
    };
    const onNotified = (r: NotifyResult): void => {
      for (const d of r.deliveries) {
        if (d.outcome === 'sent' && d.kind === 'follow-up') summary.followUps++;
        else if (d.outcome === 'sent') summary.sent[d.channel] = (summary.sent[d.channel] ?? 0) + 1;
        else if (d.outcome === 'queued') summary.queuedForDigest++;
        else if (d.outcome === 'held') summary.held++;
        else if (d.outcome === 'already-sent') summary.alreadySent++;
        else if (d.outcome === 'rejected') summary.rejected++;
        else summary.deliveryFailures++;
      }
    };
    await this.itemsQueue.drain(this.classifierHandler(onClassified), { batchSize: 10 });
    await this.alertsQueue.drain(this.notifierHandler(onNotified), { batchSize: 10 });
    const scheduled = await this.deliverScheduled();
    summary.released = scheduled.released;
    summary.digestsSent = scheduled.digestsSent;
    if (scheduled.released > 0) {
      await this.alertsQueue.drain(this.notifierHandler(onNotified), { batchSize: 10 });
    }
    const items = this.itemsQueue.depth();
    const alerts = this.alertsQueue.depth();
    summary.pending = {
      items: items.visible + items.notVisible,
      alerts: alerts.visible + alerts.notVisible,
    };
    summary.deadLetters = { items: items.deadLetters, alerts: alerts.deadLetters };
    return summary;
  }

  /** The classifier's SQS handler, exactly as Lambda runs it. */
  classifierHandler(
    onResult?: (r: ClassifyResult) => void,
  ): (event: SQSEvent) => Promise<SQSBatchResponse> {
    return createClassifierHandler(
      {
        watches: this.deps.watches,
        subscriptions: this.deps.subscriptions,
        alertsQueue: this.alertsQueue,
        deadLetters: this.itemsQueue,
        stories: this.deps.stories,
        clock: this.options.clock ?? systemClock,
        logger: this.options.logger,
        requeue: this.requeuePolicy(this.itemsQueue),
      },
      onResult,
    );
  }

  /** Failing messages are queued again on their last receive, as the deployed consumers do. */
  private requeuePolicy(queue: LocalQueue<ItemMessage> | LocalQueue<AlertMessage>) {
    return {
      queue: queue as LocalQueue<unknown>,
      maxReceiveCount: this.options.maxReceiveCount ?? MAX_RECEIVE_COUNT,
      retryForMs: RETRY_FOR_MS,
      clock: this.options.clock ?? systemClock,
    };
  }

  /** The scheduled step, as the digest function runs it: quiet hours released, digests sent. */
  deliverScheduled(): Promise<ScheduledDeliveryResult> {
    return deliverScheduled({
      subscriberIds: async () => this.config.subscribers.map((s) => s.id),
      subscriptions: this.deps.subscriptions,
      pending: this.deps.pending,
      ledger: this.deps.ledger,
      senders: this.deps.senders,
      alertsQueue: this.alertsQueue,
      deadLetters: this.alertsQueue,
      clock: this.options.clock ?? systemClock,
      logger: this.options.logger,
      unsubscribeLinks: this.deps.unsubscribeLinks,
    });
  }

  /** What waits for a digest or for quiet hours to end, per subscriber, and when it goes. */
  async waiting(): Promise<WaitingDeliveries[]> {
    const now = (this.options.clock ?? systemClock).now();
    const waiting: WaitingDeliveries[] = [];
    for (const config of this.config.subscribers) {
      const digest = (await this.deps.pending.list(config.id, 'digest')).length;
      const held = await this.deps.pending.list(config.id, 'held');
      if (digest === 0 && held.length === 0) continue;
      const releases = held.map((entry) => entry.releaseAt ?? '').sort();
      const nextDigest =
        digest > 0 ? nextDigestTime(config.digestSchedule, config.timezone, now) : undefined;
      waiting.push({
        subscriberId: config.id,
        timezone: config.timezone,
        digestEntries: digest,
        held: held.length,
        ...(nextDigest ? { nextDigest } : {}),
        ...(releases[0] ? { nextRelease: new Date(releases[0]) } : {}),
      });
    }
    return waiting;
  }

  /** The notifier's SQS handler, exactly as Lambda runs it. */
  notifierHandler(
    onResult?: (r: NotifyResult) => void,
  ): (event: SQSEvent) => Promise<SQSBatchResponse> {
    return createNotifierHandler(
      {
        ledger: this.deps.ledger,
        subscriptions: this.deps.subscriptions,
        senders: this.deps.senders,
        pending: this.deps.pending,
        deadLetters: this.alertsQueue,
        clock: this.options.clock ?? systemClock,
        logger: this.options.logger,
        unsubscribeLinks: this.deps.unsubscribeLinks,
        requeue: this.requeuePolicy(this.alertsQueue),
      },
      onResult,
    );
  }

  /** Stops everything and releases the data directory; the control socket goes first. */
  async stop(): Promise<void> {
    await this.deps.control.stop();
    this.deps.smtp?.close();
    await this.deps.unsubscribeServer?.stop();
    await this.itemsQueue.close();
    await this.alertsQueue.close();
    await this.feedServer?.stop();
    await this.embedded.stop();
  }
}

/**
 * The key that signs local unsubscribe links when the config names none:
 * random, made once and kept in the data directory, so links stay valid.
 */
async function localUnsubscribeSecret(dataDir: string): Promise<string> {
  const file = join(dataDir, 'unsubscribe.key');
  try {
    const existing = (await readFile(file, 'utf8')).trim();
    if (existing.length >= 16) return existing;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(32).toString('base64url');
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/** Slack channels whose secret is not set write to the outbox instead. */
function toSubscriber(s: Config['subscribers'][number]): Subscriber {
  return subscriberOf(s, () => ({ type: 'outbox' }));
}

function localSenders(
  config: Config,
  outboxDir: string,
  clock: Clock,
  smtp: SmtpSender | undefined,
  consoleStream: (Writable & { isTTY?: boolean }) | undefined,
) {
  return {
    console: createConsoleSender({ stream: consoleStream ?? process.stdout }),
    outbox: createOutboxSender({ outboxDir, clock }),
    email: smtp ?? createEmlOutboxSender({ outboxDir, from: config.email.from }),
    slack: createSlackSender({ clock }),
  };
}
