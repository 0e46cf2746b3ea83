/**
 * The poller loses no item, whatever fails and whenever: it queues new items
 * before it records them as seen, so a process that dies in between causes at
 * most a redelivery (dropped downstream by its key); and one item that cannot
 * be queued never holds back the others of its feed. The feed is served over
 * local HTTP, the items queue is the embedded `LocalQueue`, and the seen-items
 * store is a small in-memory implementation of the port, wrapped to die at a
 * chosen moment.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FeedServer, startFeedServer } from '../../shared/adapters/local-feed-server.ts';
import { LocalQueue } from '../../shared/adapters/local-queue.ts';
import { createFeedFetcher } from '../../shared/feeds/fetch.ts';
import type { ItemMessage } from '../../shared/messages.ts';
import { type FeedToPoll, type PollerDeps, pollFeeds } from '../../shared/pipeline/poll.ts';
import type { QueueSender, SeenItemsStore } from '../../shared/ports.ts';
import { silentLogger } from '../../shared/ports.ts';
import { manualClock } from '../support/manual-clock.ts';
import { MemoryFeedStates, MemorySeenItems } from '../support/memory-stores.ts';
import { RecordingLogger } from './recording-logger.ts';

/**
 * A seen-items store in a process that dies at its first write: the write
 * reaches the store (or not, with `writeLands: false`), and then nothing more
 * happens — the call never returns, so no catch or undo of the poller can run,
 * as when `kill -9` or a Lambda timeout ends the process there.
 */
class DyingSeenItems implements SeenItemsStore {
  /** Resolves once the process has died. */
  readonly died: Promise<void>;
  private die: () => void = () => {};

  constructor(
    private readonly store: MemorySeenItems,
    private readonly writeLands: boolean,
  ) {
    this.died = new Promise((resolve) => {
      this.die = resolve;
    });
  }
  whichSeen(feedId: string, keys: readonly string[]) {
    return this.store.whichSeen(feedId, keys);
  }
  async markSeen(feedId: string, itemId: string): Promise<boolean> {
    if (this.writeLands) await this.store.markSeen(feedId, itemId);
    return this.dead();
  }
  async markSeenMany(feedId: string, keys: readonly string[]): Promise<void> {
    if (this.writeLands) await this.store.markSeenMany(feedId, keys);
    return this.dead();
  }
  async forget(feedId: string, itemId: string) {
    await this.store.forget(feedId, itemId);
  }
  private dead(): Promise<never> {
    this.die();
    return new Promise<never>(() => {});
  }
}

/**
 * The embedded items queue, refusing any message that carries a chosen item
 * (as SQS refuses a body with characters it does not allow) until `accept`.
 */
class PickyQueue implements QueueSender<ItemMessage> {
  refusedItemId: string | undefined;
  readonly refusals: string[] = [];
  constructor(private readonly queue: LocalQueue<ItemMessage>) {}
  async send(messages: ItemMessage[]) {
    if (messages.some((message) => message.item.id === this.refusedItemId)) {
      this.refusals.push(...messages.map((message) => message.item.id));
      throw new Error('InvalidMessageContents: Invalid binary character #xFFFF was found');
    }
    await this.queue.send(messages);
  }
}

/** The item ids on `queue`, taking every message off it. */
async function drainItemIds(queue: LocalQueue<ItemMessage>): Promise<string[]> {
  const ids: string[] = [];
  await queue.drain(async (event) => {
    for (const record of event.Records) {
      ids.push((JSON.parse(record.body) as ItemMessage).item.id);
    }
    return { batchItemFailures: [] };
  });
  return ids;
}

function rssItem(guid: string, title: string, link: string): string {
  return `<item><guid isPermaLink="false">${guid}</guid><title>${title}</title><link>${link}</link></item>`;
}

function rss(items: string[]): string {
  return `<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title>${items.join('')}</channel></rss>`;
}

const NORMAL = [
  rssItem('w-1', 'North Korean troops cross into Kursk', 'https://wire.example/1'),
  rssItem('w-2', 'Spain sends Patriot missiles', 'https://wire.example/2'),
  rssItem('w-3', 'Ceasefire talks resume in Doha', 'https://wire.example/3'),
];

let dir: string;
let server: FeedServer;
const fetcher = createFeedFetcher({ allowPrivateNetworks: true, timeoutMs: 5_000 });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wirewatch-poll-no-loss-'));
  server = await startFeedServer({ dir });
});

afterAll(async () => {
  fetcher.close();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

let queue: LocalQueue<ItemMessage>;
let seen: MemorySeenItems;
beforeEach(async () => {
  queue = await LocalQueue.open<ItemMessage>({ name: 'items' });
  seen = new MemorySeenItems();
});

function wire(): FeedToPoll {
  return { id: 'wire', url: server.url('wire.xml'), intervalSeconds: 300 };
}

function deps(overrides: Partial<PollerDeps> = {}): PollerDeps {
  return {
    // A fresh process: nothing of an earlier run's feed state was written.
    feedStates: new MemoryFeedStates(),
    seenItems: seen,
    itemsQueue: queue,
    clock: manualClock('2026-03-05T12:00:00Z'),
    logger: silentLogger,
    fetchFeed: fetcher,
    random: () => 0,
    ...overrides,
  };
}

describe('poller: a process that dies while polling loses no item', () => {
  for (const writeLands of [true, false]) {
    it(`has every new item queued before the first seen-items write, which ${writeLands ? 'lands' : 'is lost'} as the process dies; the next run loses none`, async () => {
      await writeFile(join(dir, 'wire.xml'), rss(NORMAL));
      const dying = new DyingSeenItems(seen, writeLands);

      // The run never finishes: it is abandoned once the process has died.
      void pollFeeds([wire()], deps({ seenItems: dying }), { all: true });
      await dying.died;
      const queuedBeforeDeath = await drainItemIds(queue);
      const rerun = await pollFeeds([wire()], deps(), { all: true });
      const queuedByRerun = await drainItemIds(queue);

      expect(queuedBeforeDeath.sort()).toEqual(['w-1', 'w-2', 'w-3']);
      expect(rerun.feedsFailed).toBe(0);
      // A write that was lost means the rerun queues the items again: a
      // redelivery the classifier drops by key, never a loss.
      expect(new Set([...queuedBeforeDeath, ...queuedByRerun])).toEqual(
        new Set(['w-1', 'w-2', 'w-3']),
      );
      expect(queuedByRerun).toHaveLength(writeLands ? 0 : 3);
    });
  }

  it('records items as seen only once they are queued, so a failing queue leaves them for the next poll', async () => {
    await writeFile(join(dir, 'wire.xml'), rss(NORMAL));
    const broken: QueueSender<ItemMessage> = {
      send: async () => {
        throw new Error('queue unavailable');
      },
    };

    const failed = await pollFeeds([wire()], deps({ itemsQueue: broken }), { all: true });
    const seenAfterFailure = seen.seen.size;
    const retried = await pollFeeds([wire()], deps(), { all: true });

    expect(failed.results[0]?.status).toBe('failed');
    expect(seenAfterFailure).toBe(0);
    expect(retried.itemsNew).toBe(3);
    expect((await drainItemIds(queue)).sort()).toEqual(['w-1', 'w-2', 'w-3']);
  });

  it('still sends an item only once when only its guid changes (same link and title)', async () => {
    await writeFile(join(dir, 'wire.xml'), rss(NORMAL));
    await pollFeeds([wire()], deps(), { all: true });
    await writeFile(
      join(dir, 'wire.xml'),
      rss([
        rssItem('w-1-rebuilt', 'North Korean troops cross into Kursk', 'https://wire.example/1'),
      ]),
    );

    const second = await pollFeeds([wire()], deps(), { all: true });

    expect(second.itemsNew).toBe(0);
    expect((await drainItemIds(queue)).sort()).toEqual(['w-1', 'w-2', 'w-3']);
    expect(seen.seen.has('wire w-1-rebuilt')).toBe(true);
  });
});

describe('poller: one item that cannot be queued never holds back its feed', () => {
  it('delivers the normal items and a cut-down copy of an item with a 1 MB title, and the feed is not failed', async () => {
    const hugeTitle = 'Breaking '.repeat(120_000);
    await writeFile(
      join(dir, 'wire.xml'),
      rss([
        NORMAL[0] ?? '',
        rssItem('w-huge', hugeTitle, 'https://wire.example/huge'),
        NORMAL[1] ?? '',
      ]),
    );
    const delivered: ItemMessage[] = [];

    const report = await pollFeeds([wire()], deps(), { all: true });
    await queue.drain(async (event) => {
      for (const record of event.Records) delivered.push(JSON.parse(record.body) as ItemMessage);
      return { batchItemFailures: [] };
    });

    expect(hugeTitle.length).toBeGreaterThan(1_000_000);
    expect(report.results[0]?.status).toBe('polled');
    expect(delivered.map((message) => message.item.id).sort()).toEqual(['w-1', 'w-2', 'w-huge']);
    const huge = delivered.find((message) => message.item.id === 'w-huge');
    expect(huge?.item.title.length).toBeLessThanOrEqual(1_000);
    expect(huge?.item.title).toMatch(/^Breaking (Breaking )*Breaking…$/);
  });

  it('queues the others when the queue refuses one item, logs it by feed and item, and tries it again on the next poll', async () => {
    await writeFile(join(dir, 'wire.xml'), rss(NORMAL));
    const picky = new PickyQueue(queue);
    picky.refusedItemId = 'w-2';
    const logger = new RecordingLogger();
    const states = new MemoryFeedStates();

    const first = await pollFeeds(
      [wire()],
      deps({ itemsQueue: picky, logger, feedStates: states }),
      {
        all: true,
      },
    );
    const firstQueued = await drainItemIds(queue);
    const recordedAfterFirst = [...seen.seen];
    picky.refusedItemId = undefined;
    const second = await pollFeeds([wire()], deps({ itemsQueue: picky, feedStates: states }), {
      all: true,
    });
    const secondQueued = await drainItemIds(queue);

    expect(first.results[0]?.status).toBe('polled');
    expect(first.itemsNew).toBe(2);
    expect(firstQueued.sort()).toEqual(['w-1', 'w-3']);
    expect(logger.named('item not queued').map((line) => line.fields)).toEqual([
      expect.objectContaining({
        feedId: 'wire',
        itemId: 'w-2',
        error: expect.stringContaining('InvalidMessageContents'),
      }),
    ]);
    expect(recordedAfterFirst).toContain('wire w-1');
    expect(recordedAfterFirst).not.toContain('wire w-2');
    expect(first.results[0]).toMatchObject({ itemsNew: 2, itemsNotQueued: 1 });
    expect(second.itemsNew).toBe(1);
    expect(secondQueued).toEqual(['w-2']);
  });
});
