/**
 * Correlation ids: the poller gives each item it queues one, the classifier
 * copies it into the item's alerts, and every line logged while a record is
 * handled carries it with the record's SQS message id. Small test
 * implementations of the ports stand in for the stores and queues.
 */
import { describe, expect, it } from 'vitest';
import type { FeedFetcher } from '../../shared/feeds/fetch.ts';
import type { AlertMessage, ItemMessage } from '../../shared/messages.ts';
import { type ClassifierDeps, createClassifierHandler } from '../../shared/pipeline/classify.ts';
import { pollFeeds } from '../../shared/pipeline/poll.ts';
import type { FeedState, Item, Subscriber } from '../../shared/ports.ts';
import { compileVersion } from '../../shared/rules/table-watch-source.ts';
import { manualClock } from '../support/manual-clock.ts';
import { RecordingLogger } from './recording-logger.ts';
import { sqsEvent } from './sqs-event.ts';

const NOW = '2026-03-05T12:00:00Z';

const TROOPS: Item = {
  id: 'wire-1',
  feed: 'wire-a',
  title: 'North Korean troops cross into Kursk',
  summary: 'Seoul says thousands of soldiers have crossed the border.',
  link: 'https://wire-a.example/1',
  published: '2026-03-05T09:00:00Z',
};

const RSS = `<rss version="2.0"><channel><title>Wire A</title>
<item><guid isPermaLink="false">a-1</guid><title>North Korean troops cross into Kursk</title><link>https://wire-a.example/1</link></item>
<item><guid isPermaLink="false">a-2</guid><title>Spain sends Patriot missiles</title><link>https://wire-a.example/2</link></item>
</channel></rss>`;

/** A fetcher that answers every URL with `RSS`. */
const serveRss: FeedFetcher = async (url) => ({
  status: 'ok',
  body: RSS,
  charset: 'utf-8',
  bytes: RSS.length,
  finalUrl: url,
  baseUrl: url,
});

function pollerDeps(logger: RecordingLogger, queued: ItemMessage[]) {
  const states = new Map<string, FeedState>();
  return {
    feedStates: {
      get: async (feedId: string) => states.get(feedId),
      put: async (state: FeedState) => void states.set(state.feedId, state),
      putMany: async (batch: FeedState[]) => {
        for (const state of batch) states.set(state.feedId, state);
      },
      list: async () => [...states.values()],
    },
    seenItems: {
      markSeen: async () => true,
      whichSeen: async () => new Set<string>(),
      markSeenMany: async () => {},
      forget: async () => {},
    },
    itemsQueue: { send: async (messages: ItemMessage[]) => void queued.push(...messages) },
    clock: manualClock(NOW),
    logger,
    fetchFeed: serveRss,
  };
}

const ANALYST: Subscriber = {
  id: 'analyst',
  channels: [{ type: 'console' }],
  watches: ['troops'],
  timezone: 'UTC',
  mode: 'immediate',
  digestSchedule: '0 8 * * *',
  minSeverity: 'low',
};

function classifierDeps(logger: RecordingLogger, sent: AlertMessage[]): ClassifierDeps {
  const ruleSet = compileVersion({
    version: 1,
    sha256: '',
    author: 'test',
    message: 'test',
    createdAt: NOW,
    watchCount: 1,
    source: 'watches:\n  - id: troops\n    name: Troops\n    query: troops\n',
  });
  return {
    watches: { current: async () => ruleSet },
    subscriptions: { subscribersOf: async () => [ANALYST], get: async () => ANALYST },
    alertsQueue: { send: async (messages) => void sent.push(...messages) },
    deadLetters: { deadLetter: async () => {} },
    // Every item its own story: these tests are about what alerts carry.
    stories: {
      findFirstReports: async () => [],
      recordFirstReport: async () => {},
      claimStory: async () => ({ won: true }),
    },
    clock: manualClock(NOW),
    logger,
  };
}

function itemMessage(correlationId?: string): ItemMessage {
  return {
    type: 'item',
    version: 1,
    item: TROOPS,
    polledAt: NOW,
    ...(correlationId !== undefined ? { correlationId } : {}),
  };
}

describe('poller: correlation ids', () => {
  it('gives each queued item its own correlation id, beginning with the poll id, and logs it', async () => {
    const logger = new RecordingLogger();
    const queued: ItemMessage[] = [];

    const report = await pollFeeds(
      [{ id: 'wire-a', url: 'https://wire-a.example/rss', intervalSeconds: 300 }],
      pollerDeps(logger, queued),
      { pollId: 'poll-7' },
    );

    const ids = queued.map((message) => message.correlationId);
    expect(report.pollId).toBe('poll-7');
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    for (const id of ids) expect(id).toMatch(/^poll-7-[0-9a-f]{10}$/);
    expect(logger.named('item queued').map((line) => line.fields)).toEqual(
      queued.map((message) => ({
        feedId: 'wire-a',
        pollId: 'poll-7',
        itemId: message.item.id,
        correlationId: message.correlationId,
      })),
    );
  });

  it('makes up a poll id when none is given', async () => {
    const queued: ItemMessage[] = [];

    const report = await pollFeeds(
      [{ id: 'wire-a', url: 'https://wire-a.example/rss', intervalSeconds: 300 }],
      pollerDeps(new RecordingLogger(), queued),
    );

    expect(report.pollId).toMatch(/^[0-9a-f]{12}$/);
    expect(queued[0]?.correlationId?.startsWith(`${report.pollId}-`)).toBe(true);
  });
});

describe('classifier: correlation ids', () => {
  it('copies the item message’s correlationId into every alert it makes', async () => {
    const sent: AlertMessage[] = [];
    const handler = createClassifierHandler(classifierDeps(new RecordingLogger(), sent));

    await handler(sqsEvent({ messageId: 'm-1', body: itemMessage('poll-7-0123456789') }));

    expect(sent).toHaveLength(1);
    expect(sent[0]?.correlationId).toBe('poll-7-0123456789');
  });

  it('follows an item queued without a correlation id by its SQS message id', async () => {
    const sent: AlertMessage[] = [];
    const logger = new RecordingLogger();
    const handler = createClassifierHandler(classifierDeps(logger, sent));

    await handler(sqsEvent({ messageId: 'm-old', body: itemMessage() }));

    expect(sent[0]?.correlationId).toBe('m-old');
    expect(logger.named('item matched')[0]?.fields).toMatchObject({ correlationId: 'm-old' });
  });

  it('puts the record’s correlationId and messageId on every line, an invalid message’s too', async () => {
    const logger = new RecordingLogger();
    const handler = createClassifierHandler(classifierDeps(logger, []));

    await handler(
      sqsEvent(
        { messageId: 'm-1', body: itemMessage('poll-7-aaaaaaaaaa') },
        { messageId: 'm-2', body: { ...itemMessage('poll-7-bbbbbbbbbb'), version: 2 } },
      ),
    );

    expect(logger.lines.map((line) => [line.message, line.fields])).toEqual([
      [
        'item matched',
        expect.objectContaining({ messageId: 'm-1', correlationId: 'poll-7-aaaaaaaaaa' }),
      ],
      [
        'message dead-lettered',
        expect.objectContaining({ messageId: 'm-2', correlationId: 'poll-7-bbbbbbbbbb' }),
      ],
    ]);
  });
});
