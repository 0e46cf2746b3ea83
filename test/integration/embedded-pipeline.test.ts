/**
 * The whole flow (poll, classify, notify) on the embedded stack, in-process,
 * against real parts: a local HTTP feed server, dynalite in a temp data dir,
 * a real SMTP server and a local HTTP endpoint standing in for Slack.
 */
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { type CycleSummary, LocalStack } from '../../cli/local/local-stack.ts';
import type { LocalQueue } from '../../shared/adapters/local-queue.ts';
import type { Config } from '../../shared/config/config.ts';
import type { AlertMessage } from '../../shared/messages.ts';
import type { NotifyResult } from '../../shared/pipeline/notify.ts';
import { silentLogger } from '../../shared/ports.ts';
import { closedPort } from '../alerts/alert-fixture.ts';
import {
  Cleanups,
  type ConfigInput,
  filesUnder,
  openStores,
  PAST_VISIBILITY_TIMEOUT_MS,
  pollAndClassify,
  SUMMIT_ENTRY,
  TestClock,
  TestFeedServer,
  TestSlackEndpoint,
  TestSmtpServer,
  TROOPS_ENTRY,
  tempDir,
  WEATHER_ENTRY,
  writeConfig,
} from './harness.ts';

const TROOPS_TITLE = TROOPS_ENTRY.title;
const SUMMIT_TITLE = SUMMIT_ENTRY.title;

const analystByEmail = {
  id: 'analyst-a',
  name: 'Analyst A',
  watches: ['troop-movements', 'korea'],
  channels: [{ type: 'email', to: 'a@example.org' }],
};
const opsOnSlack = {
  id: 'ops-b',
  name: '#ops',
  watches: ['troop-movements'],
  channels: [{ type: 'slack', webhookUrl: 'env:TEST_SLACK_URL' }],
};
const deskOnEmailAndSlack = {
  id: 'desk-c',
  watches: ['troop-movements'],
  channels: [
    { type: 'email', to: 'c@example.org' },
    { type: 'slack', webhookUrl: 'env:TEST_SLACK_URL' },
  ],
};
const archiveInOutbox = {
  id: 'archive-d',
  watches: ['korea'],
  channels: [{ type: 'outbox' }],
};

const cleanups = new Cleanups();
afterEach(() => cleanups.release());

interface Parts {
  dir: string;
  dataDir: string;
  outboxDir: string;
  clock: TestClock;
  feeds: TestFeedServer;
  slack: TestSlackEndpoint;
  consoleStream: PassThrough;
  /** What the console channel printed. */
  consoleText: () => string;
}

async function startParts(): Promise<Parts> {
  const dir = await tempDir(cleanups);
  const feeds = await TestFeedServer.start(cleanups);
  const slack = await TestSlackEndpoint.start(cleanups);
  const chunks: string[] = [];
  const consoleStream = new PassThrough();
  consoleStream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  return {
    dir,
    dataDir: join(dir, 'data'),
    outboxDir: join(dir, 'data', 'outbox'),
    clock: new TestClock(),
    feeds,
    slack,
    consoleStream,
    consoleText: () => chunks.join(''),
  };
}

async function startStack(p: Parts, input: ConfigInput): Promise<LocalStack> {
  const config: Config = await writeConfig(p.dir, input, { TEST_SLACK_URL: p.slack.url() });
  const stack = await LocalStack.start(config, {
    dataDir: p.dataDir,
    logger: silentLogger,
    clock: p.clock,
    consoleStream: p.consoleStream,
  });
  cleanups.defer(() => stack.stop());
  return stack;
}

/**
 * Puts raw bodies on a queue. `LocalQueue.send` serialises what it is given,
 * so a body that is not JSON can only enter the way a person's redrive brings
 * it back: from the dead letters.
 */
async function enqueueRaw<T>(queue: LocalQueue<T>, bodies: string[]): Promise<void> {
  for (const body of bodies) await queue.deadLetter(body, 'placed by the test');
  await queue.redriveDeadLetters();
}

function sentTotal(summary: CycleSummary): number {
  return Object.values(summary.sent).reduce((a, b) => a + (b ?? 0), 0);
}

describe('the embedded pipeline', () => {
  it('delivers an item matching two watches once per watch to each subscriber, and nothing else', async () => {
    const p = await startParts();
    const smtp = await TestSmtpServer.start(cleanups);
    p.feeds.route('/wire.xml', { kind: 'rss', entries: [TROOPS_ENTRY, WEATHER_ENTRY] });
    const stack = await startStack(p, {
      feeds: [{ id: 'wire', url: p.feeds.url('/wire.xml') }],
      subscribers: [analystByEmail, opsOnSlack],
      smtpPort: smtp.port,
    });

    const summary = await stack.runCycle({ all: true });

    expect(smtp.received()).toEqual([
      `a@example.org: [Korea news] ${TROOPS_TITLE}`,
      `a@example.org: [Troop movements] ${TROOPS_TITLE}`,
    ]);
    expect(p.slack.posts.map((post) => [post.path, post.payload.text])).toEqual([
      ['/services/T000/B000/ops', `[HIGH] Troop movements: ${TROOPS_TITLE}`],
    ]);
    expect(summary.sent).toEqual({ email: 2, slack: 1 });
    expect(summary).toMatchObject({ itemsNew: 2, matches: 2, alertsQueued: 3, rejected: 0 });
    expect(await filesUnder(p.outboxDir)).toEqual(new Map());
    expect(p.consoleText()).toBe('');
  });

  it('delivers alerts through the notifier handler as Lambda calls it, with no result callback', async () => {
    const p = await startParts();
    const smtp = await TestSmtpServer.start(cleanups);
    p.feeds.route('/wire.xml', { kind: 'rss', entries: [TROOPS_ENTRY] });
    const stack = await startStack(p, {
      feeds: [{ id: 'wire', url: p.feeds.url('/wire.xml') }],
      subscribers: [analystByEmail, opsOnSlack],
      smtpPort: smtp.port,
    });
    await pollAndClassify(stack, p.clock);

    const report = await stack.alertsQueue.drain(stack.notifierHandler());

    expect(report).toMatchObject({ delivered: 3, succeeded: 3, failed: 0 });
    expect(smtp.received()).toHaveLength(2);
    expect(p.slack.delivered()).toHaveLength(1);
  });

  describe('redelivery', () => {
    async function deliverOnce(): Promise<{
      p: Parts;
      stack: LocalStack;
      smtp: TestSmtpServer;
      batches: SQSEvent[];
    }> {
      const p = await startParts();
      const smtp = await TestSmtpServer.start(cleanups);
      p.feeds.route('/wire.xml', { kind: 'rss', entries: [TROOPS_ENTRY, SUMMIT_ENTRY] });
      const stack = await startStack(p, {
        feeds: [{ id: 'wire', url: p.feeds.url('/wire.xml') }],
        subscribers: [analystByEmail, opsOnSlack, archiveInOutbox],
        smtpPort: smtp.port,
      });
      await pollAndClassify(stack, p.clock);
      const batches: SQSEvent[] = [];
      const notifier = stack.notifierHandler();
      await stack.alertsQueue.drain(async (event) => {
        batches.push(event);
        return notifier(event);
      });
      return { p, stack, smtp, batches };
    }

    it('sends nothing again when the notifier receives the same SQS batch a second time', async () => {
      const { p, stack, smtp, batches } = await deliverOnce();
      const mailsBefore = smtp.received();
      const outboxBefore = await filesUnder(p.outboxDir);
      expect(mailsBefore).toEqual([
        `a@example.org: [Korea news] ${SUMMIT_TITLE}`,
        `a@example.org: [Korea news] ${TROOPS_TITLE}`,
        `a@example.org: [Troop movements] ${TROOPS_TITLE}`,
      ]);
      expect(p.slack.posts).toHaveLength(1);
      expect(outboxBefore.size).toBe(2);
      p.clock.advance(60_000);

      const results: NotifyResult[] = [];
      const responses = [];
      for (const event of batches) {
        responses.push(await stack.notifierHandler((r) => results.push(r))(event));
      }

      expect(responses.every((r) => r.batchItemFailures.length === 0)).toBe(true);
      expect(results).toHaveLength(6);
      expect(new Set(results.flatMap((r) => r.deliveries.map((d) => d.outcome)))).toEqual(
        new Set(['already-sent']),
      );
      expect(smtp.received()).toEqual(mailsBefore);
      expect(p.slack.posts).toHaveLength(1);
      expect(await filesUnder(p.outboxDir)).toEqual(outboxBefore);
    });

    it('sends nothing again when a duplicate alert message is queued', async () => {
      const { p, stack, smtp, batches } = await deliverOnce();
      const mailsBefore = smtp.received();
      const outboxBefore = await filesUnder(p.outboxDir);
      const duplicates = batches.flatMap((event) =>
        event.Records.map((record) => JSON.parse(record.body) as AlertMessage),
      );
      p.clock.advance(60_000);

      await stack.alertsQueue.send(duplicates);
      const summary = await stack.runCycle();

      expect(summary.sent).toEqual({});
      expect(summary.alreadySent).toBe(6);
      expect(summary.pending).toEqual({ items: 0, alerts: 0 });
      expect(smtp.received()).toEqual(mailsBefore);
      expect(p.slack.posts).toHaveLength(1);
      expect(await filesUnder(p.outboxDir)).toEqual(outboxBefore);
    });
  });

  it('records failing feeds on their state and still delivers the alerts of the good feed', async () => {
    const p = await startParts();
    const smtp = await TestSmtpServer.start(cleanups);
    p.feeds.route('/down.xml', { kind: 'status', status: 500 });
    p.feeds.route('/garbled.xml', { kind: 'body', body: 'this is <<< not a feed' });
    p.feeds.route('/reset.xml', { kind: 'reset' });
    p.feeds.route('/wire.xml', { kind: 'rss', entries: [TROOPS_ENTRY] });
    const stack = await startStack(p, {
      feeds: [
        { id: 'down', url: p.feeds.url('/down.xml') },
        { id: 'garbled', url: p.feeds.url('/garbled.xml') },
        { id: 'reset', url: p.feeds.url('/reset.xml') },
        { id: 'wire', url: p.feeds.url('/wire.xml') },
      ],
      subscribers: [analystByEmail],
      smtpPort: smtp.port,
    });

    const summary = await stack.runCycle({ all: true });

    const failed = [...summary.feedsFailed].sort((a, b) => a.feedId.localeCompare(b.feedId));
    expect(failed).toEqual([
      { feedId: 'down', kind: 'http', message: expect.stringMatching(/HTTP 500/) },
      { feedId: 'garbled', kind: 'parse', message: expect.stringMatching(/Could not parse feed/) },
      { feedId: 'reset', kind: 'network', message: expect.stringMatching(/reset\.xml/) },
    ]);
    expect(summary.feedsPolled).toBe(1);
    const { feedStates } = openStores(stack, p.clock);
    for (const [feedId, kind] of [
      ['down', 'http'],
      ['garbled', 'parse'],
      ['reset', 'network'],
    ] as const) {
      expect(await feedStates.get(feedId)).toMatchObject({
        feedId,
        consecutiveFailures: 1,
        lastError: { kind, at: p.clock.now().toISOString() },
      });
    }
    const good = await feedStates.get('wire');
    expect(good).toMatchObject({ consecutiveFailures: 0, lastSuccessAt: expect.any(String) });
    expect(good?.lastError).toBeUndefined();
    expect(smtp.received()).toEqual([
      `a@example.org: [Korea news] ${TROOPS_TITLE}`,
      `a@example.org: [Troop movements] ${TROOPS_TITLE}`,
    ]);
  });

  it('dead-letters poison messages with their reason and processes the rest of their batch', async () => {
    const p = await startParts();
    const smtp = await TestSmtpServer.start(cleanups);
    p.feeds.route('/wire.xml', { kind: 'rss', entries: [TROOPS_ENTRY] });
    const stack = await startStack(p, {
      feeds: [{ id: 'wire', url: p.feeds.url('/wire.xml') }],
      subscribers: [analystByEmail],
      smtpPort: smtp.port,
    });
    const badItem = JSON.stringify({
      type: 'item',
      version: 1,
      item: { id: 'x-1', feed: 'wire', title: 42, summary: '' },
      polledAt: p.clock.now().toISOString(),
    });
    const badAlert = JSON.stringify({ type: 'alert', version: 1, subscriberId: 'analyst-a' });
    await enqueueRaw(stack.itemsQueue, ['this is { not JSON', badItem]);
    await enqueueRaw(stack.alertsQueue, ['<alert/>', badAlert]);

    const summary = await stack.runCycle({ all: true });

    expect(
      stack.itemsQueue.listDeadLetters().map((d) => ({ body: d.body, reason: d.reason })),
    ).toEqual([
      { body: 'this is { not JSON', reason: 'body is not JSON' },
      { body: badItem, reason: expect.stringMatching(/^invalid message: item\.title: /) },
    ]);
    expect(
      stack.alertsQueue.listDeadLetters().map((d) => ({ body: d.body, reason: d.reason })),
    ).toEqual([
      { body: '<alert/>', reason: 'body is not JSON' },
      { body: badAlert, reason: expect.stringMatching(/^invalid message: alertId: /) },
    ]);
    expect(summary.deadLetters).toEqual({ items: 2, alerts: 2 });
    expect(summary.pending).toEqual({ items: 0, alerts: 0 });
    expect(summary.itemsClassified).toBe(1);
    expect(smtp.received()).toHaveLength(2);
  });

  it('keeps alerts queued through an SMTP outage and sends each exactly once when it ends', async () => {
    const p = await startParts();
    p.feeds.route('/wire.xml', { kind: 'rss', entries: [TROOPS_ENTRY] });
    const input = {
      feeds: [{ id: 'wire', url: p.feeds.url('/wire.xml') }],
      subscribers: [analystByEmail, deskOnEmailAndSlack],
    };
    const down = await startStack(p, { ...input, smtpPort: await closedPort() });

    const during = await down.runCycle({ all: true });
    await down.stop();

    expect(during.sent).toEqual({ slack: 1 });
    expect(during.deliveryFailures).toBe(3);
    expect(during.pending).toEqual({ items: 0, alerts: 3 });
    expect(during.deadLetters).toEqual({ items: 0, alerts: 0 });

    const smtp = await TestSmtpServer.start(cleanups);
    p.clock.advance(PAST_VISIBILITY_TIMEOUT_MS);
    const up = await startStack(p, { ...input, smtpPort: smtp.port });

    const after = await up.runCycle();
    p.clock.advance(PAST_VISIBILITY_TIMEOUT_MS);
    const later = await up.runCycle();

    expect(after.sent).toEqual({ email: 3 });
    expect(after.alreadySent).toBe(1);
    expect(after.pending).toEqual({ items: 0, alerts: 0 });
    expect(sentTotal(later)).toBe(0);
    expect(smtp.received()).toEqual([
      `a@example.org: [Korea news] ${TROOPS_TITLE}`,
      `a@example.org: [Troop movements] ${TROOPS_TITLE}`,
      `c@example.org: [Troop movements] ${TROOPS_TITLE}`,
    ]);
    expect(p.slack.posts.map((post) => post.payload.text)).toEqual([
      `[HIGH] Troop movements: ${TROOPS_TITLE}`,
    ]);
  });

  describe('Slack outage', () => {
    async function slackOnly(): Promise<{ p: Parts; stack: LocalStack }> {
      const p = await startParts();
      p.feeds.route('/wire.xml', { kind: 'rss', entries: [TROOPS_ENTRY] });
      const stack = await startStack(p, {
        feeds: [{ id: 'wire', url: p.feeds.url('/wire.xml') }],
        subscribers: [opsOnSlack],
      });
      return { p, stack };
    }

    it('retries an alert the Slack webhook answered 500 and delivers it once when Slack recovers', async () => {
      const { p, stack } = await slackOnly();
      p.slack.replyNext({ status: 500, body: 'internal_error' });

      const during = await stack.runCycle({ all: true });
      p.clock.advance(PAST_VISIBILITY_TIMEOUT_MS);
      const after = await stack.runCycle();
      p.clock.advance(PAST_VISIBILITY_TIMEOUT_MS);
      const later = await stack.runCycle();

      expect(during).toMatchObject({ sent: {}, deliveryFailures: 1, pending: { alerts: 1 } });
      expect(after).toMatchObject({ sent: { slack: 1 }, pending: { alerts: 0 } });
      expect(sentTotal(later)).toBe(0);
      expect(p.slack.posts.map((post) => post.status)).toEqual([500, 200]);
      expect(p.slack.delivered().map((post) => post.payload.text)).toEqual([
        `[HIGH] Troop movements: ${TROOPS_TITLE}`,
      ]);
      expect(stack.alertsQueue.listDeadLetters()).toEqual([]);
    });

    it('dead-letters an alert the Slack webhook rejected with 404 channel_not_found, without retrying it', async () => {
      const { p, stack } = await slackOnly();
      p.slack.replyNext({ status: 404, body: 'channel_not_found' });

      const during = await stack.runCycle({ all: true });
      p.clock.advance(10 * 60_000);
      const later = await stack.runCycle({ all: true });

      expect(during).toMatchObject({
        sent: {},
        rejected: 1,
        deliveryFailures: 0,
        pending: { alerts: 0 },
        deadLetters: { alerts: 1 },
      });
      expect(later).toMatchObject({ sent: {}, rejected: 0, deliveryFailures: 0 });
      expect(p.slack.posts.map((post) => post.status)).toEqual([404]);
      const deadLetters = stack.alertsQueue.listDeadLetters();
      expect(deadLetters).toHaveLength(1);
      expect(deadLetters[0]?.reason).toMatch(
        /^slack:[0-9a-f]{16} rejected the alert: .*channel_not_found/,
      );
      expect(JSON.parse(deadLetters[0]?.body ?? '{}')).toMatchObject({
        subscriberId: 'ops-b',
        watchId: 'troop-movements',
      });
    });

    it('delivers a rejected Slack alert once when its dead letter is redriven after the webhook is fixed', async () => {
      const { p, stack } = await slackOnly();
      p.slack.replyNext({ status: 404, body: 'channel_not_found' });
      await stack.runCycle({ all: true });
      p.clock.advance(60_000);

      const moved = await stack.alertsQueue.redriveDeadLetters();
      const after = await stack.runCycle();
      p.clock.advance(PAST_VISIBILITY_TIMEOUT_MS);
      const later = await stack.runCycle();

      expect(moved).toBe(1);
      expect(after).toMatchObject({ sent: { slack: 1 }, deadLetters: { alerts: 0 } });
      expect(sentTotal(later)).toBe(0);
      expect(p.slack.posts.map((post) => post.status)).toEqual([404, 200]);
    });

    it('does not post again to a Slack webhook that rejected the alert while the same subscriber’s email is retried', async () => {
      const p = await startParts();
      p.feeds.route('/wire.xml', { kind: 'rss', entries: [TROOPS_ENTRY] });
      const stack = await startStack(p, {
        feeds: [{ id: 'wire', url: p.feeds.url('/wire.xml') }],
        subscribers: [deskOnEmailAndSlack],
        smtpPort: await closedPort(),
      });
      p.slack.replyNext(
        { status: 404, body: 'channel_not_found' },
        { status: 404, body: 'channel_not_found' },
        { status: 404, body: 'channel_not_found' },
      );

      await stack.runCycle({ all: true });
      p.clock.advance(PAST_VISIBILITY_TIMEOUT_MS);
      await stack.runCycle();
      p.clock.advance(PAST_VISIBILITY_TIMEOUT_MS);
      await stack.runCycle();

      expect(p.slack.posts).toHaveLength(1);
      expect(
        stack.alertsQueue
          .listDeadLetters()
          .filter((d) => /^slack:[0-9a-f]{16} rejected/.test(d.reason)),
      ).toHaveLength(1);
    });
  });

  it('waits a full interval before polling a feed again after it answered 304 Not Modified', async () => {
    const p = await startParts();
    p.feeds.route('/wire.xml', { kind: 'rss', entries: [WEATHER_ENTRY] });
    const stack = await startStack(p, {
      feeds: [{ id: 'wire', url: p.feeds.url('/wire.xml'), interval: '5m' }],
      subscribers: [analystByEmail],
    });

    const first = await stack.runCycle();
    p.clock.advance(5 * 60_000 + 1_000);
    const second = await stack.runCycle();
    p.clock.advance(60_000);
    const third = await stack.runCycle();

    expect(first).toMatchObject({ feedsDue: 1, feedsPolled: 1 });
    expect(second).toMatchObject({ feedsDue: 1, feedsNotModified: 1 });
    expect(third.feedsDue).toBe(0);
    expect(p.feeds.requests.map((r) => r.answer)).toEqual([200, 304]);
  });
});
