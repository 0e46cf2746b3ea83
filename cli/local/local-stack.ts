/**
 * The embedded stack: the same poller, classifier and notifier code as on AWS,
 * wired to dynalite (persisted under the data directory), in-process queues
 * with SQS semantics, a local HTTP server for the sample feeds, and local
 * delivery (console, outbox, SMTP when configured, Slack when its secret is set).
 */
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createConsoleSender } from '../../shared/adapters/console-sender.ts';
import {
  DynamoAlertLedger,
  DynamoFeedStateStore,
  DynamoSeenItemsStore,
} from '../../shared/adapters/dynamodb.ts';
import {
  type EmbeddedDynamo,
  startEmbeddedDynamo,
} from '../../shared/adapters/embedded-dynamodb.ts';
import { createEmlOutboxSender } from '../../shared/adapters/eml-outbox-sender.ts';
import { type FeedServer, startFeedServer } from '../../shared/adapters/local-feed-server.ts';
import { LocalQueue } from '../../shared/adapters/local-queue.ts';
import { createOutboxSender } from '../../shared/adapters/outbox-sender.ts';
import { createSlackWebhookSender } from '../../shared/adapters/slack-webhook-sender.ts';
import { createSmtpSender, type SmtpSender } from '../../shared/adapters/smtp-sender.ts';
import { StaticSubscriptionStore } from '../../shared/alerts/subscriptions.ts';
import type { Config } from '../../shared/config/config.ts';
import type { AlertMessage, ItemMessage } from '../../shared/messages.ts';
import { type ClassifyResult, createClassifierHandler } from '../../shared/pipeline/classify.ts';
import { createNotifierHandler, type NotifyResult } from '../../shared/pipeline/notify.ts';
import { type FeedPollResult, type FeedToPoll, pollFeeds } from '../../shared/pipeline/poll.ts';
import type { ChannelType, Clock, Logger, Subscriber } from '../../shared/ports.ts';
import { systemClock } from '../../shared/ports.ts';
import { FileWatchSource } from '../../shared/rules/file-watch-source.ts';

export const ITEMS_QUEUE = 'items';
export const ALERTS_QUEUE = 'alerts';

export interface LocalStackOptions {
  dataDir: string;
  logger: Logger;
  /** Where the console channel writes. Default stdout. */
  consoleStream?: Writable & { isTTY?: boolean };
  clock?: Clock;
  /** Receives after which a message is dead-lettered. Default 5. */
  maxReceiveCount?: number;
  /** Visibility timeout of the local queues. Default 30 s. */
  visibilityTimeoutMs?: number;
}

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
  /** Messages left queued for a retry after this cycle. */
  pending: { items: number; alerts: number };
  deadLetters: { items: number; alerts: number };
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
      subscriptions: StaticSubscriptionStore;
      watches: FileWatchSource;
      smtp: SmtpSender | undefined;
      senders: ReturnType<typeof localSenders>;
    },
    private readonly options: LocalStackOptions,
  ) {}

  static async start(config: Config, options: LocalStackOptions): Promise<LocalStack> {
    const clock = options.clock ?? systemClock;
    const watches = new FileWatchSource(config.watchFile, options.logger);
    await watches.current(); // fail before starting anything when the rules are broken
    const dynamo = await startEmbeddedDynamo({ dataDir: options.dataDir });
    let feedServer: FeedServer | undefined;
    try {
      if (config.localFeedsDir) feedServer = await startFeedServer({ dir: config.localFeedsDir });
      const queueOptions = {
        dataDir: options.dataDir,
        clock,
        maxReceiveCount: options.maxReceiveCount ?? 5,
        visibilityTimeoutMs: options.visibilityTimeoutMs ?? 30_000,
      };
      const itemsQueue = await LocalQueue.open<ItemMessage>({ name: ITEMS_QUEUE, ...queueOptions });
      const alertsQueue = await LocalQueue.open<AlertMessage>({
        name: ALERTS_QUEUE,
        ...queueOptions,
      });
      const feeds = config.feeds.map((f) => ({
        id: f.id,
        url: f.url,
        intervalSeconds: f.intervalSeconds,
      }));
      const smtp = config.email.smtp
        ? createSmtpSender({ ...config.email.smtp, from: config.email.from })
        : undefined;
      const outboxDir = join(options.dataDir, 'outbox');
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
          subscriptions: new StaticSubscriptionStore(config.subscribers.map(toSubscriber)),
          watches,
          smtp,
          senders: localSenders(config, outboxDir, clock, smtp, options.consoleStream),
        },
        options,
      );
    } catch (error) {
      await feedServer?.stop();
      await dynamo.stop();
      throw error;
    }
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
        if (d.outcome === 'sent') summary.sent[d.channel] = (summary.sent[d.channel] ?? 0) + 1;
        else if (d.outcome === 'already-sent') summary.alreadySent++;
        else if (d.outcome === 'rejected') summary.rejected++;
        else summary.deliveryFailures++;
      }
    };
    await this.itemsQueue.drain(this.classifierHandler(onClassified), { batchSize: 10 });
    await this.alertsQueue.drain(this.notifierHandler(onNotified), { batchSize: 10 });
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
        clock: this.options.clock ?? systemClock,
        logger: this.options.logger,
      },
      onResult,
    );
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
        deadLetters: this.alertsQueue,
        clock: this.options.clock ?? systemClock,
        logger: this.options.logger,
      },
      onResult,
    );
  }

  async stop(): Promise<void> {
    this.deps.smtp?.close();
    await this.itemsQueue.close();
    await this.alertsQueue.close();
    await this.feedServer?.stop();
    await this.embedded.stop();
  }
}

/** Slack channels whose secret is not set write to the outbox instead. */
function toSubscriber(s: Config['subscribers'][number]): Subscriber {
  return {
    id: s.id,
    ...(s.name !== undefined ? { name: s.name } : {}),
    watches: s.watches,
    channels: s.channels.map((c) =>
      c.type === 'slack'
        ? c.webhookUrl
          ? { type: 'slack', webhookUrl: c.webhookUrl }
          : { type: 'outbox' }
        : c,
    ),
  };
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
    slack: createSlackWebhookSender({ clock }),
  };
}
