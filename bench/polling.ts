/**
 * `npm run bench -- polling [feeds]`: one poll cycle over `feeds` local feeds
 * (default 500) of which 90 % are unchanged and answer 304, after a warm-up
 * cycle that stored every feed's validators. Real HTTP on loopback, the real
 * fetcher and poller, the embedded DynamoDB (on disk). Prints one JSON line:
 * {"feeds", "seconds", "requests", "dynamodb_writes", "peak_rss_mb"}, where
 * `requests` are HTTP requests to the feeds and `dynamodb_writes` are write
 * requests (PutItem, BatchWriteItem, UpdateItem, DeleteItem).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  countDynamoRequests,
  DynamoFeedStateStore,
  DynamoSeenItemsStore,
} from '../shared/adapters/dynamodb.ts';
import { startEmbeddedDynamo } from '../shared/adapters/embedded-dynamodb.ts';
import { createFeedFetcher } from '../shared/feeds/fetch.ts';
import type { ItemMessage } from '../shared/messages.ts';
import { type FeedToPoll, pollFeeds } from '../shared/pipeline/poll.ts';
import { type QueueSender, silentLogger, systemClock } from '../shared/ports.ts';

const ITEMS_PER_FEED = 5;
const WRITE_OPERATIONS = new Set(['PutItem', 'BatchWriteItem', 'UpdateItem', 'DeleteItem']);

function feedXml(feed: number, version: number): string {
  const items: string[] = [];
  for (let i = version; i < version + ITEMS_PER_FEED; i++) {
    items.push(
      `<item><title>Feed ${feed} story ${i}</title><link>https://feed-${feed}.example/story/${i}</link><guid isPermaLink="false">f${feed}-${i}</guid><pubDate>${new Date(Date.UTC(2026, 2, 1, i)).toUTCString()}</pubDate><description>Story ${i} of feed ${feed}.</description></item>`,
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Feed ${feed}</title><link>https://feed-${feed}.example/</link><description>bench</description>${items.join('')}</channel></rss>`;
}

export async function run(args: string[]): Promise<void> {
  const feedCount = Number(args[0] ?? 500);
  const versions = new Array<number>(feedCount).fill(0);
  let httpRequests = 0;
  const server = createServer((request, response) => {
    httpRequests++;
    const feed = Number(/^\/feed-(\d+)\.xml$/.exec(request.url ?? '')?.[1] ?? -1);
    const version = versions[feed];
    if (version === undefined) {
      response.writeHead(404).end();
      return;
    }
    const etag = `"${feed}-${version}"`;
    if (request.headers['if-none-match'] === etag) {
      response.writeHead(304, { ETag: etag }).end();
      return;
    }
    const body = feedXml(feed, version);
    response
      .writeHead(200, {
        'Content-Type': 'application/rss+xml; charset=utf-8',
        ETag: etag,
        'Content-Length': Buffer.byteLength(body),
      })
      .end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  // Tables on disk, so the figure is the poller's memory rather than an in-memory database's.
  const dataDir = await mkdtemp(join(tmpdir(), 'wirewatch-bench-polling-'));
  const dynamo = await startEmbeddedDynamo({ dataDir });
  const fetcher = createFeedFetcher({ allowPrivateNetworks: true });
  let queued = 0;
  const itemsQueue: QueueSender<ItemMessage> = {
    async send(messages) {
      queued += messages.length;
    },
  };
  try {
    const feeds: FeedToPoll[] = Array.from({ length: feedCount }, (_, i) => ({
      id: `feed-${i}`,
      url: `http://127.0.0.1:${port}/feed-${i}.xml`,
      intervalSeconds: 300,
    }));
    const deps = {
      feedStates: new DynamoFeedStateStore(dynamo.documentClient, dynamo.tableNames.feedState),
      seenItems: new DynamoSeenItemsStore(
        dynamo.documentClient,
        dynamo.tableNames.seenItems,
        systemClock,
      ),
      itemsQueue,
      clock: systemClock,
      logger: silentLogger,
      fetchFeed: fetcher,
    };
    await pollFeeds(feeds, deps, { all: true });

    // One feed in ten publishes a new item (its oldest drops off).
    const changed = new Set(
      Array.from({ length: feedCount }, (_, i) => i).filter(
        (i) => (createHash('sha1').update(String(i)).digest()[0] as number) < 26,
      ),
    );
    for (const i of changed) versions[i] = (versions[i] ?? 0) + 1;
    const counter = countDynamoRequests(dynamo.documentClient);
    httpRequests = 0;
    queued = 0;
    (globalThis as { gc?: () => void }).gc?.();
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 10);

    const started = performance.now();
    const report = await pollFeeds(feeds, deps, { all: true });
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);

    const writes = Object.entries(counter.byOperation)
      .filter(([operation]) => WRITE_OPERATIONS.has(operation))
      .reduce((sum, [, n]) => sum + n, 0);
    process.stderr.write(
      `${report.feedsNotModified} not modified, ${report.feedsPolled} changed, ${report.feedsFailed} failed; ` +
        `${report.itemsNew} new items queued (${queued}); DynamoDB requests ${JSON.stringify(counter.byOperation)}\n`,
    );
    console.log(
      JSON.stringify({
        feeds: feedCount,
        seconds: Number(seconds.toFixed(2)),
        requests: httpRequests,
        dynamodb_writes: writes,
        peak_rss_mb: Math.round(peakRss / 2 ** 20),
      }),
    );
  } finally {
    fetcher.close();
    await dynamo.stop();
    await rm(dataDir, { recursive: true, force: true });
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
