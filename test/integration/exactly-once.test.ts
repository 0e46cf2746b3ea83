/**
 * One alert per (subscriber, watch, story) and destination, end to end on the
 * embedded stack with real parts: a local feed server, dynalite, the
 * in-process queues, a real SMTP server and a local HTTP endpoint standing in
 * for a Slack incoming webhook. The same story arrives from four outlets
 * (from the news corpus), in one batch and across runs; deliveries crash,
 * race, are rate limited and fail midway.
 */
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { LocalStack } from '../../cli/local/local-stack.ts';
import { DynamoAlertLedger, DynamoPendingAlertStore } from '../../shared/adapters/dynamodb.ts';
import { createSlackSender } from '../../shared/adapters/slack-api-sender.ts';
import { StaticSubscriptionStore, subscriberOf } from '../../shared/alerts/subscriptions.ts';
import { type Config, parseConfig } from '../../shared/config/config.ts';
import type { AlertMessage } from '../../shared/messages.ts';
import { createNotifierHandler, type NotifyResult } from '../../shared/pipeline/notify.ts';
import { pollFeeds } from '../../shared/pipeline/poll.ts';
import type { AlertKey, AlertLedger, SentDetail } from '../../shared/ports.ts';
import { silentLogger } from '../../shared/ports.ts';
import {
  Cleanups,
  type FeedEntry,
  openStores,
  PAST_VISIBILITY_TIMEOUT_MS,
  pollAndClassify,
  TestClock,
  TestFeedServer,
  TestSmtpServer,
  tempDir,
  writeConfigFiles,
} from './harness.ts';

const cleanups = new Cleanups();
afterEach(() => cleanups.release());

const MINUTE_MS = 60_000;
/** The notifier's default claim lease. */

const WATCHES = stringify({
  watches: [
    { id: 'patriot-transfers', name: 'Patriot transfers', severity: 'high', query: 'patriot*' },
  ],
});

/** Story dev-s002 of the news corpus: one event, four outlets (original, rewrite, light edit, spun copy). */
const STORY: { feed: string; entry: FeedEntry }[] = [
  {
    feed: 'europe-desk',
    entry: {
      guid: 'dev-002',
      title: 'Spain to send Ukraine another batch of Patriot missiles',
      description:
        'MADRID — Spain will send Ukraine a further batch of PAC-2 GEM-T interceptors for Patriot air defence systems, Defence Minister Margarita Robles said on Wednesday, after a request from Kyiv for help against intensifying ballistic missile attacks. Robles did not give the number of missiles, saying only that the delivery would take place "in the coming weeks". Spain has previously provided Patriot missiles and launchers to Ukraine.',
      link: 'https://europe-desk.example/2026/06/10/spain-to-send-ukraine-another-batch-of-patriot-missiles',
      pubDate: 'Wed, 10 Jun 2026 11:00:00 GMT',
    },
  },
  {
    feed: 'wire-a',
    entry: {
      guid: 'dev-003',
      title: 'Spain pledges more Patriot interceptors for Ukraine',
      description:
        'MADRID — Spain said on Wednesday it would ship more PAC-2 GEM-T Patriot interceptor missiles to Ukraine within weeks, responding to Kyiv\'s appeals for help against Russian ballistic missiles. Defense Minister Margarita Robles declined to say how many missiles would be sent, citing security reasons. Ukrainian President Volodymyr Zelenskyy thanked Madrid for what he called "life-saving" help.',
      link: 'https://wire-a.example/2026/06/10/spain-pledges-more-patriot-interceptors-for-ukraine',
      pubDate: 'Wed, 10 Jun 2026 13:20:00 GMT',
    },
  },
  {
    feed: 'aggregator',
    entry: {
      guid: 'dev-004',
      title: 'Spain to send Ukraine more Patriots within weeks',
      description:
        "Spain said on Wednesday it would ship more PAC-2 GEM-T Patriot interceptor missiles to Ukraine within weeks, responding to Kyiv's appeals for help against Russian ballistic missiles. Defense Minister Margarita Robles declined to say how many missiles would be sent. (Wire A)",
      link: 'https://aggregator.example/2026/06/10/spain-to-send-ukraine-more-patriots-within-weeks',
      pubDate: 'Wed, 10 Jun 2026 14:05:00 GMT',
    },
  },
  {
    feed: 'content-farm',
    entry: {
      guid: 'dev-005',
      title: 'Spain pledges extra Patriot interceptors for Ukraine',
      description:
        "Spain stated on Wednesday it could ship extra PAC-2 GEM-T Patriot interceptor missiles to Ukraine inside weeks, responding to Kyiv's appeals for assist towards Russian ballistic missiles. Protection Minister Margarita Robles declined to say what number of missiles could be despatched, citing safety causes.",
      link: 'https://content-farm.example/2026/06/10/spain-pledges-extra-patriot-interceptors-for-ukraine',
      pubDate: 'Wed, 10 Jun 2026 18:40:00 GMT',
    },
  },
];
const FIRST_TITLE = STORY[0]?.entry.title ?? '';
const OTHER_OUTLETS = ['wire-a', 'aggregator', 'content-farm'];

/** Six different Patriot stories (none a copy of another), for the rate-limit test. */
const SEPARATE_STORIES: FeedEntry[] = [
  [
    'Germany orders eight more Patriot systems for its air force',
    'Berlin signed a contract for eight additional Patriot fire units to be delivered from 2029.',
  ],
  [
    'US approves $2.1 billion Patriot sale to Qatar',
    'The State Department cleared a possible sale of Patriot launchers and radars to Doha.',
  ],
  [
    'Taiwan takes delivery of Patriot PAC-3 MSE missiles from 2022 order',
    'The first batch of interceptors arrived in Kaohsiung by sea, the defence ministry said.',
  ],
  [
    'Romania hands its second Patriot battery to Kyiv after parliament vote',
    'Lawmakers in Bucharest approved the transfer by a wide margin on Tuesday evening.',
  ],
  [
    'Poland finishes training Patriot crews at Rzeszow base',
    'Two hundred soldiers completed a nine-month course on the Wisla air-defence programme.',
  ],
  [
    'Netherlands lends Patriot launchers to Slovakia for summit security',
    'The launchers will guard Bratislava during the NATO meeting and return in August.',
  ],
].map(([title, description], i) => ({
  guid: `sep-${i + 1}`,
  title: title ?? '',
  description: description ?? '',
  link: `https://wire-b.example/2026/06/10/sep-${i + 1}`,
  pubDate: `Wed, 10 Jun 2026 ${String(10 + i).padStart(2, '0')}:00:00 GMT`,
}));

/** One request to the stand-in Slack webhook. */
interface WebhookPost {
  path: string;
  status: number;
  text: string;
  /** The whole payload as JSON, to search rendered blocks. */
  json: string;
  /** The `ts` the Web API stand-in answered with. */
  ts: string;
  /** The thread the post replied in (Web API). */
  threadTs?: string;
}

interface WebhookReply {
  status: number;
  body: string;
  retryAfter?: string;
}

/** A Slack incoming webhook stand-in whose answers (with `Retry-After`) the test sets. */
class WebhookEndpoint {
  readonly posts: WebhookPost[] = [];
  private readonly replies: WebhookReply[] = [];

  private constructor(
    readonly port: number,
    /** Answer as the Web API (`chat.postMessage`): `{ ok, ts }` rather than `ok`. */
    private readonly webApi: boolean,
  ) {}

  static async start(options: { webApi?: boolean } = {}): Promise<WebhookEndpoint> {
    let endpoint: WebhookEndpoint | undefined;
    const server = createServer((req, res) => {
      void endpoint?.answer(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = new WebhookEndpoint((server.address() as AddressInfo).port, options.webApi ?? false);
    cleanups.defer(
      () =>
        new Promise<void>((resolve, reject) => {
          server.close((error) => (error ? reject(error) : resolve()));
          server.closeAllConnections();
        }),
    );
    return endpoint;
  }

  url(): string {
    return `http://127.0.0.1:${this.port}/services/T000/B000/desk`;
  }

  /** Base URL of the stand-in Web API. */
  apiBaseUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  replyNext(...replies: WebhookReply[]): void {
    this.replies.push(...replies);
  }

  delivered(): WebhookPost[] {
    return this.posts.filter((post) => post.status === 200);
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const ts = `1781100000.${String(this.posts.length + 1).padStart(6, '0')}`;
    const reply = this.replies.shift() ?? {
      status: 200,
      body: this.webApi ? JSON.stringify({ ok: true, ts }) : 'ok',
    };
    const payload = JSON.parse(body) as { text?: string; thread_ts?: string };
    this.posts.push({
      path: req.url ?? '/',
      status: reply.status,
      text: payload.text ?? '',
      json: body,
      ts,
      ...(payload.thread_ts !== undefined ? { threadTs: payload.thread_ts } : {}),
    });
    res
      .writeHead(reply.status, {
        'content-type': 'text/plain',
        ...(reply.retryAfter !== undefined ? { 'retry-after': reply.retryAfter } : {}),
      })
      .end(reply.body);
  }
}

/** A real SMTP server that answers the first `refusals` messages with 451 (try again later). */
class RefusingSmtpServer {
  readonly mails: ParsedMail[] = [];
  refusals = 0;

  private constructor(
    readonly port: number,
    private readonly toRefuse: number,
  ) {}

  static async start(toRefuse: number): Promise<RefusingSmtpServer> {
    let smtp: RefusingSmtpServer | undefined;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, _session, callback) {
        simpleParser(stream).then(
          (mail) => {
            if (smtp && smtp.refusals < smtp.toRefuse) {
              smtp.refusals += 1;
              callback(
                Object.assign(new Error('4.3.0 mailbox temporarily unavailable'), {
                  responseCode: 451,
                }),
              );
              return;
            }
            smtp?.mails.push(mail);
            callback();
          },
          (error: Error) => callback(error),
        );
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    smtp = new RefusingSmtpServer((server.server.address() as AddressInfo).port, toRefuse);
    cleanups.defer(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return smtp;
  }
}

interface Parts {
  dir: string;
  clock: TestClock;
  feeds: TestFeedServer;
  slack: WebhookEndpoint;
  smtp: TestSmtpServer;
}

async function startParts(): Promise<Parts> {
  return {
    dir: await tempDir(cleanups),
    // Evening of the day the corpus story broke.
    clock: new TestClock('2026-06-10T19:00:00.000Z'),
    feeds: await TestFeedServer.start(cleanups),
    slack: await WebhookEndpoint.start(),
    smtp: await TestSmtpServer.start(cleanups),
  };
}

const slackDesk = {
  id: 'slack-desk',
  watches: ['patriot-transfers'],
  channels: [{ type: 'slack', webhookUrl: 'env:DESK_SLACK_URL' }],
};
const emailAnalyst = {
  id: 'email-analyst',
  watches: ['patriot-transfers'],
  channels: [{ type: 'email', to: 'analyst@example.org' }],
};

async function startStack(
  p: Parts,
  subscribers: unknown[],
  feedIds: readonly string[],
  env: NodeJS.ProcessEnv = {},
  smtpPort = p.smtp.port,
): Promise<{ stack: LocalStack; config: Config }> {
  const { path, text } = await writeConfigFiles(p.dir, {
    feeds: feedIds.map((id) => ({ id, url: p.feeds.url(`/${id}.xml`) })),
    subscribers,
    smtpPort,
  });
  await writeFile(join(p.dir, 'watches.yaml'), WATCHES);
  const config = parseConfig(text, path, { DESK_SLACK_URL: p.slack.url(), ...env });
  const stack = await LocalStack.start(config, {
    dataDir: join(p.dir, 'data'),
    logger: silentLogger,
    clock: p.clock,
  });
  cleanups.defer(() => stack.stop());
  return { stack, config };
}

/** Polls the feeds one at a time (in the order configured) and classifies what they brought. */
async function pollInOrderAndClassify(stack: LocalStack, p: Parts): Promise<void> {
  await pollFeeds(
    stack.feedList,
    {
      ...openStores(stack, p.clock),
      itemsQueue: stack.itemsQueue,
      clock: p.clock,
      logger: silentLogger,
      resolveUrl: (url) => stack.resolveUrl(url),
      fetchOptions: stack.config.feedFetch,
    },
    { all: true, concurrency: 1 },
  );
  await stack.itemsQueue.drain(stack.classifierHandler());
}

/** Delivers the alerts queue, moving the clock past visibility timeouts, until it is empty. */
async function deliverUntilEmpty(
  stack: LocalStack,
  p: Parts,
  handler = stack.notifierHandler(),
): Promise<void> {
  for (let round = 0; round < 10; round++) {
    await stack.alertsQueue.drain(handler);
    const depth = stack.alertsQueue.depth();
    if (depth.visible + depth.notVisible === 0) return;
    p.clock.advance(PAST_VISIBILITY_TIMEOUT_MS);
  }
  throw new Error('the alerts queue did not drain in 10 rounds');
}

/** The default digest schedule (08:00 UTC) of the next morning, past its grace. */
function toNextMorningDigest(p: Parts): void {
  const morning = Date.parse('2026-06-11T08:02:00.000Z');
  p.clock.advance(morning - p.clock.now().getTime());
}

function digestMails(smtp: TestSmtpServer): ParsedMail[] {
  return smtp.mails.filter((mail) => /digest/i.test(mail.subject ?? ''));
}

function alertMails(smtp: TestSmtpServer): ParsedMail[] {
  return smtp.mails.filter((mail) => !/digest/i.test(mail.subject ?? ''));
}

/** What every test of the four-outlet story expects once it is delivered and the digest sent. */
function expectOneAlertAndFollowUpsInDigests(p: Parts): void {
  const alertsOnSlack = p.slack.delivered().filter((post) => post.text.includes('Patriot'));
  expect(p.slack.posts.filter((post) => post.status !== 200)).toEqual([]);
  expect(p.slack.delivered()).toHaveLength(2);
  expect(alertsOnSlack[0]?.text).toContain(FIRST_TITLE);
  const slackDigest = p.slack.delivered()[1];
  for (const feed of OTHER_OUTLETS) {
    expect(slackDigest?.json).toContain(`Also reported by *${feed}*`);
  }
  expect(slackDigest?.json).not.toContain('Also reported by *europe-desk*');

  expect(alertMails(p.smtp).map((mail) => mail.subject)).toEqual([
    expect.stringContaining(FIRST_TITLE),
  ]);
  const digests = digestMails(p.smtp);
  expect(digests).toHaveLength(1);
  const text = digests[0]?.text ?? '';
  for (const feed of OTHER_OUTLETS) {
    expect(text.split(`Also reported by ${feed}:`)).toHaveLength(2);
  }
  expect(text).not.toContain('Also reported by europe-desk');
}

/**
 * The embedded stack with one alert queued and a notifier whose process
 * "dies" once between sending and recording the send in the ledger.
 */
async function crashOnceBetweenSendAndRecord() {
  const p = await startParts();
  p.feeds.route('/europe-desk.xml', { kind: 'rss', entries: [STORY[0]?.entry as FeedEntry] });
  const { stack, config } = await startStack(p, [slackDesk], ['europe-desk']);
  await pollAndClassify(stack, p.clock);
  const { documentClient, tableNames } = stack.dynamo;
  const ledger = new DynamoAlertLedger(documentClient, tableNames.alertLedger, p.clock);
  let crashes = 1;
  const crashingLedger: AlertLedger = {
    claim: (...args) => ledger.claim(...args),
    markRejected: (...args) => ledger.markRejected(...args),
    release: (...args) => ledger.release(...args),
    peek: (...args) => ledger.peek(...args),
    async markSent(key: AlertKey, token: string, detail: SentDetail) {
      if (crashes > 0) {
        crashes -= 1;
        throw new Error('the process died before the ledger said sent');
      }
      await ledger.markSent(key, token, detail);
    },
  };
  const notifier = createNotifierHandler({
    ledger: crashingLedger,
    subscriptions: new StaticSubscriptionStore(
      config.subscribers.map((s) => subscriberOf(s, () => undefined)),
    ),
    senders: { slack: createSlackSender({ clock: p.clock }) },
    pending: new DynamoPendingAlertStore(documentClient, tableNames.pendingAlerts, p.clock),
    deadLetters: stack.alertsQueue,
    clock: p.clock,
    logger: silentLogger,
  });

  return { p, stack, notifier };
}

describe('exactly once, end to end', () => {
  it('sends one alert per subscriber and channel for a story four outlets report in one batch, and the other outlets in the digest', async () => {
    const p = await startParts();
    for (const { feed, entry } of STORY)
      p.feeds.route(`/${feed}.xml`, { kind: 'rss', entries: [entry] });
    const { stack } = await startStack(
      p,
      [slackDesk, emailAnalyst],
      STORY.map((s) => s.feed),
    );
    await pollInOrderAndClassify(stack, p);
    const batches: SQSEvent[] = [];
    const notifier = stack.notifierHandler();

    await stack.alertsQueue.drain(async (event) => {
      batches.push(event);
      return notifier(event);
    });

    // The four reports of both subscribers went through the notifier in one batch.
    expect(batches.map((b) => b.Records.length)).toEqual([8]);
    expect(p.slack.delivered()).toHaveLength(1);
    expect(p.slack.delivered()[0]?.text).toContain(FIRST_TITLE);
    expect(p.smtp.mails).toHaveLength(1);

    toNextMorningDigest(p);
    const scheduled = await stack.deliverScheduled();
    await stack.deliverScheduled();

    expect(scheduled).toMatchObject({ digestsSent: 2, entriesSent: 6, failed: [] });
    expectOneAlertAndFollowUpsInDigests(p);
  });

  it('sends the same when the outlets publish their copies on later polls, one run each', async () => {
    const p = await startParts();
    for (const { feed } of STORY) p.feeds.route(`/${feed}.xml`, { kind: 'rss', entries: [] });
    const { stack } = await startStack(
      p,
      [slackDesk, emailAnalyst],
      STORY.map((s) => s.feed),
    );

    for (const { feed, entry } of STORY) {
      p.feeds.route(`/${feed}.xml`, { kind: 'rss', entries: [entry] });
      const summary = await stack.runCycle({ all: true });
      expect(summary).toMatchObject({ itemsNew: 1, alertsQueued: 2, deliveryFailures: 0 });
      p.clock.advance(20 * MINUTE_MS);
    }
    // A later poll that finds every copy again changes nothing.
    await stack.runCycle({ all: true });
    expect(p.slack.delivered()).toHaveLength(1);
    expect(p.smtp.mails).toHaveLength(1);

    toNextMorningDigest(p);
    await stack.runCycle({ all: true });
    await stack.runCycle({ all: true });

    expectOneAlertAndFollowUpsInDigests(p);
  });

  it('sends again exactly once when the notifier died between the send and the ledger update', async () => {
    const { p, stack, notifier } = await crashOnceBetweenSendAndRecord();

    await stack.alertsQueue.drain(notifier);
    expect(p.slack.delivered()).toHaveLength(1);
    // The message comes back after the visibility timeout, which outlasts the claim lease:
    // the dead worker's claim has lapsed and the alert goes out again, a duplicate, not a loss.
    for (let i = 0; i < 4; i++) {
      p.clock.advance(PAST_VISIBILITY_TIMEOUT_MS);
      await stack.alertsQueue.drain(notifier);
    }

    expect(p.slack.delivered().map((post) => post.text)).toEqual([
      expect.stringContaining(FIRST_TITLE),
      expect.stringContaining(FIRST_TITLE),
    ]);
    expect(stack.alertsQueue.depth()).toEqual({ visible: 0, notVisible: 0, deadLetters: 0 });
  });

  it('sends again after a crash mid-send when run --watch drains every 30 s, instead of dead-lettering the alert', async () => {
    const { p, stack, notifier } = await crashOnceBetweenSendAndRecord();

    await stack.alertsQueue.drain(notifier);
    for (let elapsed = 0; elapsed < 12 * MINUTE_MS; elapsed += 30_000) {
      p.clock.advance(30_000);
      await stack.alertsQueue.drain(notifier);
    }

    expect(p.slack.delivered()).toHaveLength(2);
    expect(stack.alertsQueue.depth()).toEqual({ visible: 0, notVisible: 0, deadLetters: 0 });
  });

  it('sends once when two notifiers handle copies of the same alert at the same time', async () => {
    const p = await startParts();
    p.feeds.route('/europe-desk.xml', { kind: 'rss', entries: [STORY[0]?.entry as FeedEntry] });
    const { stack } = await startStack(p, [slackDesk, emailAnalyst], ['europe-desk']);
    await pollAndClassify(stack, p.clock);
    const outcomes: string[] = [];
    const onResult = (r: NotifyResult) => {
      for (const d of r.deliveries) outcomes.push(`${d.channel}:${d.outcome}`);
    };
    const first = stack.notifierHandler(onResult);
    const second = stack.notifierHandler(onResult);

    // SQS may hand the same message to two consumers: both run it at once.
    await stack.alertsQueue.drain(async (event) => {
      const [a, b] = await Promise.all([first(event), second(event)]);
      return { batchItemFailures: [...a.batchItemFailures, ...b.batchItemFailures] };
    });
    // Each copy of each alert was handled, and only one of them sent it.
    expect(outcomes.filter((o) => o.endsWith(':sent')).sort()).toEqual([
      'email:sent',
      'slack:sent',
    ]);
    expect(outcomes).toHaveLength(4);
    await deliverUntilEmpty(stack, p);

    expect(p.slack.delivered()).toHaveLength(1);
    expect(p.smtp.mails).toHaveLength(1);
    expect(stack.alertsQueue.depth().deadLetters).toBe(0);
  });

  it('delivers every alert once and in queue order through a storm of Slack 429s', async () => {
    const p = await startParts();
    p.feeds.route('/wire-b.xml', { kind: 'rss', entries: SEPARATE_STORIES });
    const { stack } = await startStack(p, [slackDesk], ['wire-b']);
    await pollAndClassify(stack, p.clock);
    // Ten 429s: two posts give up after their inline waits, the third gets through.
    p.slack.replyNext(
      ...Array.from({ length: 10 }, (_, i) => ({
        status: 429,
        body: 'rate_limited',
        retryAfter: i === 4 ? '1' : '0',
      })),
    );
    const queueOrder: string[] = [];
    const notifier = stack.notifierHandler();
    const recording = async (event: SQSEvent) => {
      if (queueOrder.length === 0) {
        for (const record of event.Records) {
          queueOrder.push((JSON.parse(record.body) as { item: { title: string } }).item.title);
        }
      }
      return notifier(event);
    };

    await deliverUntilEmpty(stack, p, recording);

    expect(p.slack.posts.filter((post) => post.status === 429)).toHaveLength(10);
    expect(queueOrder).toHaveLength(SEPARATE_STORIES.length);
    const delivered = p.slack.delivered().map((post) => post.text);
    expect(delivered).toHaveLength(SEPARATE_STORIES.length);
    delivered.forEach((text, i) => {
      expect(text).toContain(queueOrder[i]);
    });
    expect(stack.alertsQueue.depth().deadLetters).toBe(0);
  });

  it('resumes a digest that failed on one of two channels without sending either twice', async () => {
    const p = await startParts();
    for (const { feed, entry } of STORY)
      p.feeds.route(`/${feed}.xml`, { kind: 'rss', entries: [entry] });
    const both = {
      id: 'digest-desk',
      watches: ['patriot-transfers'],
      mode: 'digest',
      timezone: 'Europe/Warsaw',
      digestSchedule: '0 9 * * *',
      channels: [
        { type: 'email', to: 'desk@example.org' },
        { type: 'slack', webhookUrl: 'env:DESK_SLACK_URL' },
      ],
    };
    const { stack } = await startStack(
      p,
      [both],
      STORY.map((s) => s.feed),
    );
    await pollInOrderAndClassify(stack, p);
    await deliverUntilEmpty(stack, p);
    expect(p.slack.posts).toEqual([]);
    expect(p.smtp.mails).toEqual([]);

    // 09:00 in Warsaw (CEST) is 07:00 UTC; Slack is down for the first digest post.
    p.clock.advance(Date.parse('2026-06-11T07:02:00.000Z') - p.clock.now().getTime());
    p.slack.replyNext({ status: 503, body: 'service unavailable' });
    const first = await stack.deliverScheduled();
    p.clock.advance(10 * MINUTE_MS);
    const resumed = await stack.deliverScheduled();
    p.clock.advance(10 * MINUTE_MS);
    const after = await stack.deliverScheduled();

    expect(first).toMatchObject({ digestsSent: 1, failed: [{ subscriberId: 'digest-desk' }] });
    expect(resumed).toMatchObject({ digestsSent: 1, failed: [] });
    expect(after).toMatchObject({ digestsSent: 0, failed: [] });
    expect(p.smtp.mails).toHaveLength(1);
    const [failedPost, slackDigest] = p.slack.posts;
    expect(p.slack.posts.map((post) => post.status)).toEqual([503, 200]);
    // The resumed digest is the very one that failed.
    expect(slackDigest?.json).toBe(failedPost?.json);
    const mailText = p.smtp.mails[0]?.text ?? '';
    expect(mailText).toContain(FIRST_TITLE);
    expect(slackDigest?.json).toContain(FIRST_TITLE);
    for (const feed of OTHER_OUTLETS) {
      expect(mailText).toContain(`Also reported by ${feed}`);
      expect(slackDigest?.json).toContain(`Also reported by *${feed}*`);
    }
  });

  it('replies in the alert’s thread once per other outlet on a Slack bot channel', async () => {
    const p = await startParts();
    const api = await WebhookEndpoint.start({ webApi: true });
    for (const { feed, entry } of STORY) {
      p.feeds.route(`/${feed}.xml`, { kind: 'rss', entries: [entry] });
    }
    const botDesk = {
      id: 'bot-desk',
      watches: ['patriot-transfers'],
      channels: [{ type: 'slack', botToken: 'env:DESK_BOT_TOKEN', channel: 'C0123456' }],
    };
    const { stack, config } = await startStack(
      p,
      [botDesk],
      STORY.map((s) => s.feed),
      {
        DESK_BOT_TOKEN: 'xoxb-test-token',
      },
    );
    await pollInOrderAndClassify(stack, p);
    const { documentClient, tableNames } = stack.dynamo;
    // The stack's Slack sender talks to slack.com: this notifier's talks to the stand-in.
    const notifier = createNotifierHandler({
      ledger: new DynamoAlertLedger(documentClient, tableNames.alertLedger, p.clock),
      subscriptions: new StaticSubscriptionStore(
        config.subscribers.map((s) => subscriberOf(s, () => undefined)),
      ),
      senders: { slack: createSlackSender({ clock: p.clock, apiBaseUrl: api.apiBaseUrl() }) },
      pending: new DynamoPendingAlertStore(documentClient, tableNames.pendingAlerts, p.clock),
      deadLetters: stack.alertsQueue,
      clock: p.clock,
      logger: silentLogger,
    });

    const bodies = new Set<string>();
    const recording = (event: SQSEvent) => {
      for (const record of event.Records) bodies.add(record.body);
      return notifier(event);
    };
    await deliverUntilEmpty(stack, p, recording);
    // SQS delivers every report again: nothing more is posted.
    expect(bodies.size).toBe(STORY.length);
    await stack.alertsQueue.send([...bodies].map((body) => JSON.parse(body) as AlertMessage));
    await deliverUntilEmpty(stack, p, notifier);

    const [alert, ...replies] = api.delivered();
    expect(alert?.path).toBe('/api/chat.postMessage');
    expect(alert?.text).toContain(FIRST_TITLE);
    expect(alert?.threadTs).toBeUndefined();
    expect(replies.map((r) => r.threadTs)).toEqual([alert?.ts, alert?.ts, alert?.ts]);
    expect(replies.map((r) => OTHER_OUTLETS.find((feed) => r.json.includes(`*${feed}*`)))).toEqual(
      OTHER_OUTLETS,
    );
  });

  it('resumes an email digest the SMTP server refused for now, sending it once', async () => {
    const p = await startParts();
    const smtp = await RefusingSmtpServer.start(1);
    p.feeds.route('/europe-desk.xml', { kind: 'rss', entries: [STORY[0]?.entry as FeedEntry] });
    p.feeds.route('/wire-a.xml', { kind: 'rss', entries: [STORY[1]?.entry as FeedEntry] });
    const reader = { ...emailAnalyst, id: 'digest-reader', mode: 'digest' };
    const { stack } = await startStack(p, [reader], ['europe-desk', 'wire-a'], {}, smtp.port);
    await pollInOrderAndClassify(stack, p);
    await deliverUntilEmpty(stack, p);
    toNextMorningDigest(p);

    const refused = await stack.deliverScheduled();
    p.clock.advance(5 * MINUTE_MS);
    const resumed = await stack.deliverScheduled();
    p.clock.advance(5 * MINUTE_MS);
    const after = await stack.deliverScheduled();

    expect(smtp.refusals).toBe(1);
    expect(refused).toMatchObject({ digestsSent: 0, failed: [{ subscriberId: 'digest-reader' }] });
    expect(refused.failed[0]?.reason).toContain('451');
    expect(resumed).toMatchObject({ digestsSent: 1, entriesSent: 2, failed: [] });
    expect(after).toMatchObject({ digestsSent: 0, failed: [] });
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]?.text).toContain(FIRST_TITLE);
    expect(smtp.mails[0]?.text).toContain('Also reported by wire-a');
  });
});
