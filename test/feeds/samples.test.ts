import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FeedServer, startFeedServer } from '../../shared/adapters/local-feed-server.ts';
import { createFeedFetcher } from '../../shared/feeds/fetch.ts';
import type { Item } from '../../shared/feeds/item.ts';
import { normaliseEntries } from '../../shared/feeds/normalise.ts';
import { parseFeed } from '../../shared/feeds/parse.ts';

// The sample feeds are served on loopback, as the sample config allows.
const fetchFeed = createFeedFetcher({ allowPrivateNetworks: true });
afterAll(() => fetchFeed.close());

const SAMPLES = fileURLToPath(new URL('../../samples/feeds/', import.meta.url));

describe('the sample feeds, served by the local feed server', () => {
  let feeds: FeedServer;
  let files: string[];
  const itemsByFeed = new Map<string, Item[]>();

  beforeAll(async () => {
    files = (await readdir(SAMPLES)).filter((name) => name.endsWith('.xml')).sort();
    feeds = await startFeedServer({ dir: SAMPLES });
    for (const file of files) {
      const fetched = await fetchFeed(feeds.url(file), {});
      if (fetched.status !== 'ok') throw new Error(`${file}: expected a 200`);
      const feedId = file.replace(/\.xml$/, '');
      const { items, skipped } = normaliseEntries(
        feedId,
        fetched.finalUrl,
        await parseFeed(fetched.body, fetched.finalUrl),
      );
      if (skipped.length > 0) throw new Error(`${file}: skipped ${JSON.stringify(skipped)}`);
      itemsByFeed.set(feedId, items);
    }
  });

  afterAll(async () => {
    await feeds.stop();
  });

  it('has the five outlets', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'aggregator.xml',
        'asia-desk.xml',
        'europe-desk.xml',
        'wire-a.xml',
        'wire-b.xml',
      ]),
    );
  });

  it('parses every feed into 12 to 20 items with ids unique within the feed', () => {
    for (const [feedId, items] of itemsByFeed) {
      expect(items.length, feedId).toBeGreaterThanOrEqual(12);
      expect(items.length, feedId).toBeLessThanOrEqual(20);
      expect(new Set(items.map((item) => item.id)).size, feedId).toBe(items.length);
    }
  });

  it('gives every item a title, a summary, an absolute link free of trackers and a 2026 date', () => {
    for (const item of [...itemsByFeed.values()].flat()) {
      expect(item.title, item.id).not.toBe('');
      expect(item.summary, item.id).not.toBe('');
      expect(item.link, item.id).toMatch(/^https:\/\/[a-z-]+\.example\//);
      expect(item.link, item.id).not.toMatch(/utm_|fbclid|gclid|mc_cid|igshid|ref_src|#/);
      expect(item.published, item.id).toMatch(/^2026-0[23]-\d\dT/);
      expect(item.summary, item.id).not.toMatch(/<|&[a-z]+;|adSlot|np_ad/);
    }
  });

  it('carries one story in the wire original and the aggregator copy under the same canonical link', () => {
    const link =
      'https://wire-a.example/world/asia-pacific/north-korea-more-troops-russia-2026-03-04/';

    const carriers = [...itemsByFeed.entries()]
      .filter(([, items]) => items.some((item) => item.link === link))
      .map(([feedId]) => feedId);

    expect(carriers.sort()).toEqual(['aggregator', 'wire-a']);
  });

  it('declares the language of every item, German for the one German entry', () => {
    const all = [...itemsByFeed.values()].flat();

    expect(all.every((item) => item.lang !== undefined)).toBe(true);
    expect(all.filter((item) => item.lang === 'de').map((item) => item.title)).toEqual([
      'Deutschland liefert zwei weitere Patriot-Systeme an die Ukraine',
    ]);
  });
});
