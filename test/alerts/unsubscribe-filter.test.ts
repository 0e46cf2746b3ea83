import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EmbeddedDynamo,
  startEmbeddedDynamo,
} from '../../shared/adapters/embedded-dynamodb.ts';
import { DynamoUnsubscribeStore } from '../../shared/adapters/unsubscribe-store.ts';
import { StaticSubscriptionStore } from '../../shared/alerts/subscriptions.ts';
import { UnsubscribeFilteredSubscriptionStore } from '../../shared/alerts/unsubscribing-subscriptions.ts';
import type { Subscriber, UnsubscribeStore } from '../../shared/ports.ts';
import { manualClock } from '../support/manual-clock.ts';

const AT = new Date('2025-03-05T14:00:00Z');

function subscriber(id: string, watches: string[]): Subscriber {
  return {
    id,
    channels: [{ type: 'email', to: `${id}@example.org` }],
    watches,
    timezone: 'UTC',
    mode: 'immediate',
    digestSchedule: '0 8 * * *',
    minSeverity: 'low',
  };
}

/** Counts reads of a real store, to see what the cache saves. */
function countingReads(store: UnsubscribeStore): UnsubscribeStore & { reads: number } {
  const counted = {
    reads: 0,
    unsubscribe: (subscriberId: string, watchId: string, at: Date) =>
      store.unsubscribe(subscriberId, watchId, at),
    unsubscribedFrom: (subscriberId: string) => {
      counted.reads += 1;
      return store.unsubscribedFrom(subscriberId);
    },
  };
  return counted;
}

describe('UnsubscribeFilteredSubscriptionStore', () => {
  let dynamo: EmbeddedDynamo;
  let unsubscribes: DynamoUnsubscribeStore;

  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
    unsubscribes = new DynamoUnsubscribeStore(
      dynamo.documentClient,
      dynamo.tableNames.unsubscribes,
    );
  });

  afterAll(async () => {
    await dynamo.stop();
  });

  it('leaves out a subscriber who unsubscribed from the watch, keeps the others', async () => {
    const config = new StaticSubscriptionStore([
      subscriber('f1-stopped', ['dprk-troops', 'patriot-transfers']),
      subscriber('f1-kept', ['dprk-troops']),
    ]);
    const store = new UnsubscribeFilteredSubscriptionStore(config, unsubscribes, { cacheMs: 0 });
    await unsubscribes.unsubscribe('f1-stopped', 'dprk-troops', AT);

    const ofTroops = await store.subscribersOf('dprk-troops');
    const ofPatriots = await store.subscribersOf('patriot-transfers');

    expect(ofTroops.map((s) => s.id)).toEqual(['f1-kept']);
    expect(ofPatriots.map((s) => s.id)).toEqual(['f1-stopped']);
    expect(ofPatriots[0]?.watches).toEqual(['patriot-transfers']);
  });

  it('returns the subscriber from get with the unsubscribed watches removed', async () => {
    const config = new StaticSubscriptionStore([
      subscriber('f2', ['dprk-troops', 'patriot-transfers']),
    ]);
    const store = new UnsubscribeFilteredSubscriptionStore(config, unsubscribes, { cacheMs: 0 });
    await unsubscribes.unsubscribe('f2', 'patriot-transfers', AT);

    expect((await store.get('f2'))?.watches).toEqual(['dprk-troops']);
    expect(await store.get('nobody')).toBeUndefined();
  });

  it('drops an all-alerts unsubscriber from every watch, and get returns it with no watches', async () => {
    const config = new StaticSubscriptionStore([
      subscriber('f3', ['dprk-troops', 'patriot-transfers']),
    ]);
    const store = new UnsubscribeFilteredSubscriptionStore(config, unsubscribes, { cacheMs: 0 });
    await unsubscribes.unsubscribe('f3', '*', AT);

    expect(await store.subscribersOf('dprk-troops')).toEqual([]);
    expect(await store.subscribersOf('patriot-transfers')).toEqual([]);
    expect((await store.get('f3'))?.watches).toEqual([]);
  });

  it('drops a subscriber whose every watch was unsubscribed one by one', async () => {
    const config = new StaticSubscriptionStore([subscriber('f4', ['dprk-troops'])]);
    const store = new UnsubscribeFilteredSubscriptionStore(config, unsubscribes, { cacheMs: 0 });
    await unsubscribes.unsubscribe('f4', 'dprk-troops', AT);

    expect(await store.subscribersOf('dprk-troops')).toEqual([]);
    expect((await store.get('f4'))?.watches).toEqual([]);
  });

  it('does not change the subscribers of the wrapped store', async () => {
    const original = subscriber('f5', ['dprk-troops', 'patriot-transfers']);
    const config = new StaticSubscriptionStore([original]);
    const store = new UnsubscribeFilteredSubscriptionStore(config, unsubscribes, { cacheMs: 0 });
    await unsubscribes.unsubscribe('f5', 'dprk-troops', AT);

    await store.get('f5');
    await store.subscribersOf('patriot-transfers');

    expect(original.watches).toEqual(['dprk-troops', 'patriot-transfers']);
  });

  it('reads a subscriber once within the cache time and again after it', async () => {
    const clock = manualClock(AT);
    const counted = countingReads(unsubscribes);
    const config = new StaticSubscriptionStore([subscriber('f6', ['dprk-troops'])]);
    const store = new UnsubscribeFilteredSubscriptionStore(config, counted, {
      cacheMs: 60_000,
      clock,
    });

    await store.subscribersOf('dprk-troops');
    await unsubscribes.unsubscribe('f6', 'dprk-troops', AT);
    const cached = await store.subscribersOf('dprk-troops');
    clock.advance(60_000);
    const fresh = await store.subscribersOf('dprk-troops');

    expect(cached.map((s) => s.id)).toEqual(['f6']);
    expect(fresh).toEqual([]);
    expect(counted.reads).toBe(2);
  });

  it('reads on every call with cacheMs 0', async () => {
    const counted = countingReads(unsubscribes);
    const config = new StaticSubscriptionStore([subscriber('f7', ['dprk-troops'])]);
    const store = new UnsubscribeFilteredSubscriptionStore(config, counted, { cacheMs: 0 });

    await store.get('f7');
    await store.get('f7');

    expect(counted.reads).toBe(2);
  });
});
