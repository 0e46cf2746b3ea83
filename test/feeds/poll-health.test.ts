/**
 * The poller's handling of feed health against a real local HTTP server:
 * back-off with jitter that is capped and never gives up, Retry-After, 304s
 * that cost only a batched state write, permanent redirects, guid churn and
 * the adaptive schedule. The stores are small test implementations of the
 * ports, so that writes can be counted.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFeedFetcher } from '../../shared/feeds/fetch.ts';
import { backoffMs, feedHealth, nextPollTime } from '../../shared/feeds/health.ts';
import type { ItemMessage } from '../../shared/messages.ts';
import { type FeedToPoll, pollFeeds } from '../../shared/pipeline/poll.ts';
import type { Clock, FeedState, QueueSender } from '../../shared/ports.ts';
import { silentLogger } from '../../shared/ports.ts';
import { MemoryFeedStates, MemorySeenItems } from '../support/memory-stores.ts';

class MemoryQueue implements QueueSender<ItemMessage> {
  readonly messages: ItemMessage[] = [];
  async send(messages: ItemMessage[]) {
    this.messages.push(...messages);
  }
}

class TestClock implements Clock {
  constructor(private ms = Date.parse('2026-03-05T12:00:00.000Z')) {}
  now() {
    return new Date(this.ms);
  }
  advance(ms: number) {
    this.ms += ms;
  }
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void;
const routes = new Map<string, Handler>();
const hits: string[] = [];
const server = createServer((request, response) => {
  hits.push(request.url ?? '/');
  const handler = routes.get(request.url ?? '/');
  if (handler) handler(request, response);
  else response.writeHead(404).end();
});
let base = '';
const fetcher = createFeedFetcher({ allowPrivateNetworks: true, timeoutMs: 2_000 });

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  fetcher.close();
  await new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
});

let states: MemoryFeedStates;
let seen: MemorySeenItems;
let queue: MemoryQueue;
let clock: TestClock;
beforeEach(() => {
  routes.clear();
  hits.length = 0;
  states = new MemoryFeedStates();
  seen = new MemorySeenItems();
  queue = new MemoryQueue();
  clock = new TestClock();
});

function deps() {
  return {
    feedStates: states,
    seenItems: seen,
    itemsQueue: queue,
    clock,
    logger: silentLogger,
    fetchFeed: fetcher,
    random: () => 0,
  };
}

function rss(items: { guid: string; title: string; link: string; date?: string }[], extra = '') {
  return `<rss version="2.0"><channel><title>t</title>${extra}${items
    .map(
      (i) =>
        `<item><guid isPermaLink="false">${i.guid}</guid><title>${i.title}</title><link>${i.link}</link>${i.date ? `<pubDate>${i.date}</pubDate>` : ''}</item>`,
    )
    .join('')}</channel></rss>`;
}

/** A feed answering `body` with an ETag, and 304 when the ETag comes back. */
function serveWithEtag(path: string, body: () => string): void {
  routes.set(path, (request, response) => {
    const etag = `"${Buffer.from(body()).toString('base64').length}-${body().length}"`;
    if (request.headers['if-none-match'] === etag) response.writeHead(304, { ETag: etag }).end();
    else response.writeHead(200, { ETag: etag, 'Content-Type': 'application/rss+xml' }).end(body());
  });
}

const feed = (id: string, path: string, intervalSeconds = 300): FeedToPoll => ({
  id,
  url: `${base}${path}`,
  intervalSeconds,
});

describe('polling and feed health', () => {
  it('records a 304 with a next poll time, writing all unchanged feeds in a few batches', async () => {
    const feeds = Array.from({ length: 60 }, (_, i) => feed(`f${i}`, `/f${i}`));
    for (const f of feeds) {
      serveWithEtag(new URL(f.url).pathname, () =>
        rss([{ guid: '1', title: 'a', link: 'https://x.example/1' }]),
      );
    }
    await pollFeeds(feeds, deps(), { all: true });
    states.putManyCalls = 0;
    clock.advance(301_000);

    const report = await pollFeeds(feeds, deps());

    expect(report.feedsNotModified).toBe(60);
    expect(states.putManyCalls).toBe(3);
    const state = states.states.get('f0');
    expect(state?.lastSuccessAt).toBe(clock.now().toISOString());
    expect(Date.parse(state?.nextPollAt ?? '')).toBeGreaterThan(clock.now().getTime());
  });

  it('writes no state for a healthy 304 when the feed is due again by the next scheduled run', async () => {
    const everyRun = feed('every-run', '/every-run', 300);
    const hourly = feed('hourly', '/hourly', 3600);
    for (const f of [everyRun, hourly]) {
      serveWithEtag(new URL(f.url).pathname, () =>
        rss([{ guid: '1', title: 'a', link: 'https://x.example/1' }]),
      );
    }
    await pollFeeds([everyRun, hourly], deps(), { all: true, scheduleSeconds: 300 });
    const before = states.states.get('every-run');
    clock.advance(3_601_000);

    const report = await pollFeeds([everyRun, hourly], deps(), { scheduleSeconds: 300 });

    expect(report.feedsNotModified).toBe(2);
    expect(states.states.get('every-run')).toEqual(before);
    expect(states.states.get('hourly')?.lastPolledAt).toBe(clock.now().toISOString());
  });

  it('backs off exponentially after failures, capped at 24 hours, and never gives up', async () => {
    routes.set('/down', (_q, response) => response.writeHead(500).end());
    const down = feed('down', '/down', 60);
    const waits: number[] = [];
    let lastHealth = '';

    for (let i = 0; i < 14; i++) {
      const report = await pollFeeds([down], deps(), { all: true });
      const state = states.states.get('down');
      waits.push(Date.parse(state?.nextPollAt ?? '') - clock.now().getTime());
      expect(report.results[0]?.status).toBe('failed');
      lastHealth = report.results[0]?.health.status ?? '';
      clock.advance(waits.at(-1) ?? 0);
    }

    // random() = 0 takes the lower half of the jitter range: 30 s, 60 s, 120 s, ...
    expect(waits.slice(0, 4)).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(waits.at(-1)).toBe(43_200_000);
    expect(Math.max(...waits)).toBeLessThanOrEqual(86_400_000);
    const state = states.states.get('down');
    expect(state?.consecutiveFailures).toBe(14);
    expect(state?.failingSince).toBe('2026-03-05T12:00:00.000Z');
    expect(state?.backoffUntil).toBe(state?.nextPollAt);
    expect(lastHealth).toBe('backing-off');
  });

  it('waits at least as long as Retry-After asks', async () => {
    routes.set('/busy', (_q, response) => response.writeHead(429, { 'Retry-After': '7200' }).end());

    await pollFeeds([feed('busy', '/busy')], deps(), { all: true });

    const state = states.states.get('busy');
    expect(Date.parse(state?.nextPollAt ?? '') - clock.now().getTime()).toBe(7_200_000);
    expect(state?.lastError?.kind).toBe('rate-limited');
  });

  it('clears the failure on the next success', async () => {
    let up = false;
    routes.set('/flaky', (_q, response) => {
      if (up) response.writeHead(200).end(rss([]));
      else response.writeHead(503).end();
    });
    await pollFeeds([feed('flaky', '/flaky')], deps(), { all: true });
    up = true;

    await pollFeeds([feed('flaky', '/flaky')], deps(), { all: true });

    const state = states.states.get('flaky');
    expect(state?.consecutiveFailures).toBe(0);
    expect(state?.failingSince).toBeUndefined();
    expect(state?.backoffUntil).toBeUndefined();
    expect(state?.lastError?.kind).toBe('unavailable');
  });

  it('stores the new URL of a permanent redirect and polls it directly afterwards', async () => {
    routes.set('/old', (_q, response) => response.writeHead(301, { Location: '/new' }).end());
    serveWithEtag('/new', () => rss([]));

    await pollFeeds([feed('moved', '/old')], deps(), { all: true });
    hits.length = 0;
    await pollFeeds([feed('moved', '/old')], deps(), { all: true });

    expect(states.states.get('moved')?.url).toBe(`${base}/new`);
    expect(states.states.get('moved')?.configuredUrl).toBe(`${base}/old`);
    expect(hits).toEqual(['/new']);
  });

  it('keeps the stored URL when the target of a permanent redirect fails', async () => {
    routes.set('/old', (_q, response) => response.writeHead(301, { Location: '/broken' }).end());

    await pollFeeds([feed('moved', '/old')], deps(), { all: true });

    expect(states.states.get('moved')?.url).toBe(`${base}/old`);
  });

  it('looks up only the items a changed document adds, not the ones an earlier poll handled', async () => {
    const items = Array.from({ length: 20 }, (_, i) => ({
      guid: `g-${i}`,
      title: `story ${i}`,
      link: `https://w.example/${i}`,
    }));
    let listed = items;
    routes.set('/busy', (_q, response) => response.writeHead(200).end(rss(listed)));
    await pollFeeds([feed('busy', '/busy')], deps(), { all: true });
    seen.lookedUp.length = 0;
    listed = [{ guid: 'g-new', title: 'story new', link: 'https://w.example/new' }, ...items];

    const second = await pollFeeds([feed('busy', '/busy')], deps(), { all: true });

    expect(second.itemsNew).toBe(1);
    expect(queue.messages.map((m) => m.item.id)).toContain('g-new');
    expect(queue.messages).toHaveLength(21);
    expect(seen.lookedUp.filter((key) => key.startsWith('g-'))).toEqual(['g-new']);
  });

  it('sends nothing again when only the guid changes (same link and title)', async () => {
    let guid = 'build-1';
    routes.set('/churn', (_q, response) =>
      response
        .writeHead(200)
        .end(
          rss([{ guid, title: 'Troops cross border', link: 'https://w.example/a?utm_source=x' }]),
        ),
    );
    await pollFeeds([feed('churn', '/churn')], deps(), { all: true });
    guid = 'build-2';

    const second = await pollFeeds([feed('churn', '/churn')], deps(), { all: true });

    expect(queue.messages).toHaveLength(1);
    expect(second.itemsNew).toBe(0);
  });

  it('polls a feed that publishes every few hours less often, within the maximum', async () => {
    const dates = [0, 4, 8, 12].map((h) =>
      new Date(Date.parse('2026-03-05T00:00:00Z') + h * 3_600_000).toUTCString(),
    );
    routes.set('/slow', (_q, response) =>
      response.writeHead(200).end(
        rss(
          dates.map((date, i) => ({
            guid: `${i}`,
            title: `t${i}`,
            link: `https://s.example/${i}`,
            date,
          })),
        ),
      ),
    );

    await pollFeeds([feed('slow', '/slow', 300)], deps(), { all: true });

    const state = states.states.get('slow');
    expect(state?.cadenceSeconds).toBe(4 * 3600);
    // A quarter of the 4 h cadence.
    expect(Date.parse(state?.nextPollAt ?? '') - clock.now().getTime()).toBe(3_600_000);
  });

  it('honours the feed TTL and skipHours', () => {
    const now = new Date('2026-03-05T12:00:00Z');
    const bounds = { minSeconds: 300, maxSeconds: 86_400 };

    const withTtl = nextPollTime(now, {}, { ttlMinutes: 90 }, bounds);
    const skipping = nextPollTime(now, {}, { skipHours: [12, 13] }, bounds);
    const capped = nextPollTime(
      now,
      {},
      { ttlMinutes: 10_000 },
      { minSeconds: 300, maxSeconds: 3_600 },
    );

    expect(withTtl.toISOString()).toBe('2026-03-05T13:30:00.000Z');
    expect(skipping.toISOString()).toBe('2026-03-05T14:00:00.000Z');
    expect(capped.toISOString()).toBe('2026-03-05T13:00:00.000Z');
  });

  it('reports a feed silent far beyond its usual cadence', () => {
    const state: FeedState = {
      feedId: 'quiet',
      url: 'https://q.example/rss',
      consecutiveFailures: 0,
      itemsSeenTotal: 10,
      lastPolledAt: '2026-03-05T12:00:00Z',
      lastSuccessAt: '2026-03-05T12:00:00Z',
      cadenceSeconds: 3_600,
      lastNewItemAt: '2026-03-04T12:00:00Z',
    };

    expect(feedHealth(state, new Date('2026-03-05T12:00:00Z')).status).toBe('silent');
    expect(
      feedHealth(
        { ...state, lastNewItemAt: '2026-03-05T10:00:00Z' },
        new Date('2026-03-05T12:00:00Z'),
      ).status,
    ).toBe('healthy');
  });

  it('keeps jittered back-off between half and all of the exponential ceiling', () => {
    expect(backoffMs(3, 60, () => 0)).toBe(120_000);
    expect(backoffMs(3, 60, () => 0.999_999)).toBeCloseTo(240_000, -1);
    expect(backoffMs(40, 60, () => 0.999_999)).toBeLessThanOrEqual(86_400_000);
  });
});
