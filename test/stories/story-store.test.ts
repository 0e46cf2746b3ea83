import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countDynamoRequests } from '../../shared/adapters/dynamodb.ts';
import {
  type EmbeddedDynamo,
  startEmbeddedDynamo,
} from '../../shared/adapters/embedded-dynamodb.ts';
import { DynamoStoryStore } from '../../shared/adapters/story-store.ts';
import type { Clock, Item, StoryReport, StoryStore } from '../../shared/ports.ts';
import { assignStory, storyIdOf, storyKeys } from '../../shared/stories/assign.ts';
import { fingerprintItem } from '../../shared/stories/fingerprint.ts';

function fixedClock(iso: string): Clock & { set(iso: string): void } {
  let now = new Date(iso);
  return { now: () => now, set: (next) => (now = new Date(next)) };
}

function report(id: string, publishedAt: string): StoryReport {
  return {
    storyId: id,
    reportId: id,
    feed: 'wire-a',
    publishedAt,
    title: `Title of ${id}`,
    lede: `Lede of ${id}.`,
    fingerprintVersion: 1,
  };
}

let dynamo: EmbeddedDynamo;

beforeAll(async () => {
  dynamo = await startEmbeddedDynamo();
});

afterAll(async () => {
  await dynamo.stop();
});

describe('DynamoStoryStore on the embedded DynamoDB', () => {
  it('finds a first report under any of its keys, once, with one query per key and no scan', async () => {
    const clock = fixedClock('2026-04-01T12:00:00Z');
    const store = new DynamoStoryStore(
      dynamo.documentClient,
      dynamo.tableNames.storyFingerprints,
      clock,
    );
    const first = report('store-a', '2026-04-01T10:00:00.000Z');
    await store.recordFirstReport(first, ['k:a1', 'k:a2'], new Date('2026-04-04T12:00:00Z'));
    const requests = countDynamoRequests(dynamo.documentClient);

    const found = await store.findFirstReports(
      ['k:a1', 'k:a2', 'k:none'],
      new Date('2026-03-30T12:00:00Z'),
      new Date('2026-04-03T12:00:00Z'),
    );

    expect(found).toEqual([first]);
    expect(requests.byOperation).toEqual({ Query: 3 });
  });

  it('leaves out reports published outside the window and records whose TTL has passed', async () => {
    const clock = fixedClock('2026-04-10T12:00:00Z');
    const store = new DynamoStoryStore(
      dynamo.documentClient,
      dynamo.tableNames.storyFingerprints,
      clock,
    );
    await store.recordFirstReport(
      report('store-old', '2026-04-05T12:00:00.000Z'),
      ['k:b'],
      new Date('2026-04-20T00:00:00Z'),
    );
    await store.recordFirstReport(
      report('store-expired', '2026-04-10T11:00:00.000Z'),
      ['k:b'],
      new Date('2026-04-10T11:30:00Z'),
    );
    await store.recordFirstReport(
      report('store-live', '2026-04-10T11:00:00.000Z'),
      ['k:b'],
      new Date('2026-04-13T12:00:00Z'),
    );

    const found = await store.findFirstReports(
      ['k:b'],
      new Date('2026-04-07T12:00:00Z'),
      new Date('2026-04-13T12:00:00Z'),
    );

    expect(found.map((r) => r.reportId)).toEqual(['store-live']);
  });

  it('recording the same first report twice keeps one record per key', async () => {
    const clock = fixedClock('2026-04-15T12:00:00Z');
    const store = new DynamoStoryStore(
      dynamo.documentClient,
      dynamo.tableNames.storyFingerprints,
      clock,
    );
    const first = report('store-twice', '2026-04-15T11:00:00.000Z');

    await store.recordFirstReport(first, ['k:c'], new Date('2026-04-18T12:00:00Z'));
    await store.recordFirstReport(first, ['k:c'], new Date('2026-04-18T12:00:00Z'));
    const found = await store.findFirstReports(
      ['k:c'],
      new Date('2026-04-14T00:00:00Z'),
      new Date('2026-04-16T00:00:00Z'),
    );

    expect(found).toEqual([first]);
  });

  it('lets one report claim a key: others get the holder, until it expires or is replaced', async () => {
    const clock = fixedClock('2026-04-20T12:00:00Z');
    const store = new DynamoStoryStore(
      dynamo.documentClient,
      dynamo.tableNames.storyFingerprints,
      clock,
    );
    const first = report('claim-a', '2026-04-20T11:00:00.000Z');
    const second = report('claim-b', '2026-04-20T11:00:01.000Z');
    const third = report('claim-c', '2026-04-20T11:00:02.000Z');
    const until = new Date('2026-04-21T12:00:00Z');

    expect(await store.claimStory('k:claim', first, until)).toEqual({ won: true });
    expect(await store.claimStory('k:claim', second, until)).toEqual({ won: false, holder: first });
    expect(await store.claimStory('k:claim', first, until)).toEqual({ won: true });
    expect(await store.claimStory('k:claim', second, until, third)).toEqual({
      won: false,
      holder: first,
    });
    expect(await store.claimStory('k:claim', second, until, first)).toEqual({ won: true });
    clock.set('2026-04-22T12:00:00Z');
    expect(await store.claimStory('k:claim', third, until)).toEqual({ won: true });
  });
});

describe('a first report whose keys were written only in part', () => {
  it('writes them when it is delivered again, so that later copies find it under every key', async () => {
    const clock = fixedClock('2026-05-02T09:00:00Z');
    const store = new DynamoStoryStore(
      dynamo.documentClient,
      dynamo.tableNames.storyFingerprints,
      clock,
    );
    let failNext = true;
    const flaky: StoryStore = {
      findFirstReports: (keys, from, to) => store.findFirstReports(keys, from, to),
      claimStory: (key, report, expiresAt, replacing) =>
        store.claimStory(key, report, expiresAt, replacing),
      recordFirstReport: async (report, keys, expiresAt) => {
        if (failNext) {
          // The first batch of keys written, then the service throttles (or the process dies).
          failNext = false;
          await store.recordFirstReport(report, keys.slice(0, 3), expiresAt);
          throw new Error('ProvisionedThroughputExceededException (injected)');
        }
        await store.recordFirstReport(report, keys, expiresAt);
      },
    };
    const item: Item = {
      id: 'retry-1',
      feed: 'wire-a',
      title: 'Ferry Varokin capsizes off Telmaso with 214 passengers aboard',
      summary:
        'Coast guard commander Dulami Soretz said 180 people had been pulled from the water near the port of Telmaso by Tuesday night.',
      published: '2026-05-02T08:30:00.000Z',
    };
    const keys = storyKeys(fingerprintItem(item));

    await expect(assignStory(item, { store: flaky, clock })).rejects.toThrow(/injected/);
    const again = await assignStory(item, { store: flaky, clock });

    expect(again).toMatchObject({ storyId: storyIdOf(item), isNew: true });
    const from = new Date('2026-05-01T00:00:00Z');
    const to = new Date('2026-05-03T00:00:00Z');
    for (const key of keys) {
      const found = await store.findFirstReports([key], from, to);
      expect(
        found.map((r) => r.reportId),
        key,
      ).toEqual(['retry-1']);
    }
  });
});
