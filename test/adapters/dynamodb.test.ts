import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataDirInUseError } from '../../shared/adapters/data-dir-lock.ts';
import {
  ClaimLostError,
  countDynamoRequests,
  DynamoAlertLedger,
  DynamoFeedStateStore,
  DynamoSeenItemsStore,
} from '../../shared/adapters/dynamodb.ts';
import {
  type EmbeddedDynamo,
  startEmbeddedDynamo,
} from '../../shared/adapters/embedded-dynamodb.ts';
import type { AlertKey, Clock, FeedState } from '../../shared/ports.ts';
import { manualClock } from '../support/manual-clock.ts';

/** A clock the test moves by hand. */

const DAY_MS = 24 * 60 * 60 * 1000;
let keySequence = 0;

/** A fresh alert key per test, so tests sharing one embedded instance never collide. */
function newAlertKey(): AlertKey {
  keySequence += 1;
  return {
    subscriberId: 'analyst-1',
    watchId: 'dprk-troops',
    storyId: `story-${keySequence}`,
    channel: 'outbox:0',
  };
}

describe('DynamoDB adapter on the embedded DynamoDB', () => {
  let dynamo: EmbeddedDynamo;

  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
  });

  afterAll(async () => {
    await dynamo.stop();
  });

  describe('DynamoSeenItemsStore', () => {
    it('returns true for the first writer of an item and false for the second', async () => {
      const clock = manualClock('2025-03-01T10:00:00Z');
      const seen = new DynamoSeenItemsStore(
        dynamo.documentClient,
        dynamo.tableNames.seenItems,
        clock,
      );
      const expiresAt = new Date(clock.now().getTime() + 30 * DAY_MS);

      const first = await seen.markSeen('reuters-world', 'item-1', expiresAt);
      const second = await seen.markSeen('reuters-world', 'item-1', expiresAt);

      expect(first).toBe(true);
      expect(second).toBe(false);
    });

    it('reads in one batch which keys are seen, counting expired ones as unseen', async () => {
      const clock = manualClock('2025-03-01T10:00:00Z');
      const seen = new DynamoSeenItemsStore(
        dynamo.documentClient,
        dynamo.tableNames.seenItems,
        clock,
      );
      const soon = new Date(clock.now().getTime() + 60_000);
      const later = new Date(clock.now().getTime() + DAY_MS);
      await seen.markSeenMany('batch-feed', ['kept', 'expiring'], later);
      await seen.markSeen('batch-feed', 'short-lived', soon);
      clock.advance(120_000);
      const counter = countDynamoRequests(dynamo.documentClient);

      const found = await seen.whichSeen('batch-feed', ['kept', 'short-lived', 'never', 'kept']);

      expect([...found].sort()).toEqual(['kept']);
      expect(counter.byOperation).toEqual({ BatchGetItem: 1 });
    });

    it('keeps items of different feeds apart', async () => {
      const clock = manualClock('2025-03-01T10:00:00Z');
      const seen = new DynamoSeenItemsStore(
        dynamo.documentClient,
        dynamo.tableNames.seenItems,
        clock,
      );
      const expiresAt = new Date(clock.now().getTime() + DAY_MS);
      await seen.markSeen('feed-a', 'shared-guid', expiresAt);

      const otherFeed = await seen.markSeen('feed-b', 'shared-guid', expiresAt);

      expect(otherFeed).toBe(true);
    });

    it('treats an expired record that was never deleted as unseen', async () => {
      const clock = manualClock('2025-03-01T10:00:00Z');
      const seen = new DynamoSeenItemsStore(
        dynamo.documentClient,
        dynamo.tableNames.seenItems,
        clock,
      );
      await seen.markSeen(
        'reuters-world',
        'item-expiring',
        new Date(clock.now().getTime() + DAY_MS),
      );
      clock.advance(DAY_MS + 2000);

      const afterExpiry = await seen.markSeen(
        'reuters-world',
        'item-expiring',
        new Date(clock.now().getTime() + DAY_MS),
      );
      const again = await seen.markSeen(
        'reuters-world',
        'item-expiring',
        new Date(clock.now().getTime() + DAY_MS),
      );

      expect(afterExpiry).toBe(true);
      expect(again).toBe(false);
    });

    it('propagates errors other than a failed condition', async () => {
      const clock = manualClock('2025-03-01T10:00:00Z');
      const seen = new DynamoSeenItemsStore(dynamo.documentClient, 'no-such-table', clock);

      const attempt = seen.markSeen('reuters-world', 'item-1', new Date('2025-04-01T00:00:00Z'));

      await expect(attempt).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    });

    it('costs one DynamoDB request per new item', async () => {
      const clock = manualClock('2025-03-01T10:00:00Z');
      const seen = new DynamoSeenItemsStore(
        dynamo.documentClient,
        dynamo.tableNames.seenItems,
        clock,
      );
      const counter = countDynamoRequests(dynamo.documentClient);
      const expiresAt = new Date(clock.now().getTime() + DAY_MS);

      await seen.markSeen('counted-feed', 'item-1', expiresAt);
      await seen.markSeen('counted-feed', 'item-2', expiresAt);

      expect(counter.total).toBe(2);
      expect(counter.byOperation).toEqual({ PutItem: 2 });
      counter.reset();
      expect(counter.total).toBe(0);
    });
  });

  describe('DynamoAlertLedger', () => {
    const leaseMs = 60_000;

    function newLedger(clock: Clock): DynamoAlertLedger {
      return new DynamoAlertLedger(dynamo.documentClient, dynamo.tableNames.alertLedger, clock);
    }

    it('reports an alert as already sent once it was claimed and marked sent', async () => {
      const clock = manualClock('2025-03-01T10:00:00Z');
      const ledger = newLedger(clock);
      const key = newAlertKey();
      const expiresAt = new Date(clock.now().getTime() + 30 * DAY_MS);

      const claim = await ledger.claim(key, leaseMs, expiresAt);
      if (claim.outcome !== 'claimed') throw new Error(`expected a claim, got ${claim.outcome}`);
      await ledger.markSent(key, claim.token, { channel: 'email', sentAt: '2025-03-01T10:00:01Z' });
      const again = await ledger.claim(key, leaseMs, expiresAt);

      expect(again).toEqual({ outcome: 'already-sent', sentAt: '2025-03-01T10:00:01Z' });
    });

    it('skips a rejected delivery on retries and lets only a redrive claim it again', async () => {
      const clock = manualClock('2025-03-01T10:00:00Z');
      const ledger = newLedger(clock);
      const key = newAlertKey();
      const expiresAt = new Date(clock.now().getTime() + DAY_MS);
      const claim = await ledger.claim(key, leaseMs, expiresAt);
      if (claim.outcome !== 'claimed') throw new Error(`expected a claim, got ${claim.outcome}`);
      await ledger.markRejected(key, claim.token, {
        reason: 'channel_not_found',
        at: '2025-03-01T10:00:01Z',
      });

      const retry = await ledger.claim(key, leaseMs, expiresAt);
      const redrive = await ledger.claim(key, leaseMs, expiresAt, { retryRejected: true });

      expect(retry).toEqual({ outcome: 'rejected', reason: 'channel_not_found' });
      expect(redrive.outcome).toBe('claimed');
    });

    it('answers in-progress while another worker holds a live claim', async () => {
      const clock = manualClock('2025-03-01T10:00:00Z');
      const ledger = newLedger(clock);
      const key = newAlertKey();
      const expiresAt = new Date(clock.now().getTime() + DAY_MS);
      await ledger.claim(key, leaseMs, expiresAt);
      clock.advance(leaseMs - 1000);

      const second = await ledger.claim(key, leaseMs, expiresAt);

      expect(second).toEqual({ outcome: 'in-progress' });
    });

    it('lets a worker take over a claim older than the lease, and the old token loses it', async () => {
      const clock = manualClock('2025-03-01T10:00:00Z');
      const ledger = newLedger(clock);
      const key = newAlertKey();
      const expiresAt = new Date(clock.now().getTime() + DAY_MS);
      const dead = await ledger.claim(key, leaseMs, expiresAt);
      if (dead.outcome !== 'claimed') throw new Error(`expected a claim, got ${dead.outcome}`);
      clock.advance(leaseMs + 1);

      const takeover = await ledger.claim(key, leaseMs, expiresAt);
      const lateMarkSent = ledger.markSent(key, dead.token, {
        channel: 'slack',
        sentAt: clock.now().toISOString(),
      });

      expect(takeover.outcome).toBe('claimed');
      await expect(lateMarkSent).rejects.toBeInstanceOf(ClaimLostError);
    });

    it('lets a retry claim an alert whose claim was released', async () => {
      const clock = manualClock('2025-03-01T10:00:00Z');
      const ledger = newLedger(clock);
      const key = newAlertKey();
      const expiresAt = new Date(clock.now().getTime() + DAY_MS);
      const first = await ledger.claim(key, leaseMs, expiresAt);
      if (first.outcome !== 'claimed') throw new Error(`expected a claim, got ${first.outcome}`);

      await ledger.release(key, first.token);
      const retry = await ledger.claim(key, leaseMs, expiresAt);

      expect(retry.outcome).toBe('claimed');
    });

    it('refuses markSent and release with a token that does not hold the claim', async () => {
      const clock = manualClock('2025-03-01T10:00:00Z');
      const ledger = newLedger(clock);
      const key = newAlertKey();
      const expiresAt = new Date(clock.now().getTime() + DAY_MS);
      await ledger.claim(key, leaseMs, expiresAt);

      const markSent = ledger.markSent(key, 'not-the-token', {
        channel: 'email',
        sentAt: clock.now().toISOString(),
      });
      const release = ledger.release(key, 'not-the-token');

      await expect(markSent).rejects.toBeInstanceOf(ClaimLostError);
      await expect(release).rejects.toBeInstanceOf(ClaimLostError);
      expect(await ledger.claim(key, leaseMs, expiresAt)).toEqual({ outcome: 'in-progress' });
    });

    it('never releases an alert that was sent', async () => {
      const clock = manualClock('2025-03-01T10:00:00Z');
      const ledger = newLedger(clock);
      const key = newAlertKey();
      const expiresAt = new Date(clock.now().getTime() + DAY_MS);
      const claim = await ledger.claim(key, leaseMs, expiresAt);
      if (claim.outcome !== 'claimed') throw new Error(`expected a claim, got ${claim.outcome}`);
      await ledger.markSent(key, claim.token, { channel: 'email', sentAt: '2025-03-01T10:00:02Z' });

      const release = ledger.release(key, claim.token);

      await expect(release).rejects.toBeInstanceOf(ClaimLostError);
      expect(await ledger.claim(key, leaseMs, expiresAt)).toMatchObject({
        outcome: 'already-sent',
      });
    });

    it('treats an expired sent record as absent', async () => {
      const clock = manualClock('2025-03-01T10:00:00Z');
      const ledger = newLedger(clock);
      const key = newAlertKey();
      const claim = await ledger.claim(key, leaseMs, new Date(clock.now().getTime() + DAY_MS));
      if (claim.outcome !== 'claimed') throw new Error(`expected a claim, got ${claim.outcome}`);
      await ledger.markSent(key, claim.token, {
        channel: 'email',
        sentAt: clock.now().toISOString(),
      });
      clock.advance(DAY_MS + 2000);

      const afterExpiry = await ledger.claim(
        key,
        leaseMs,
        new Date(clock.now().getTime() + DAY_MS),
      );

      expect(afterExpiry.outcome).toBe('claimed');
    });

    it('keeps alerts whose ids contain the key separator apart', async () => {
      const clock = manualClock('2025-03-01T10:00:00Z');
      const ledger = newLedger(clock);
      const expiresAt = new Date(clock.now().getTime() + DAY_MS);
      await ledger.claim(
        { subscriberId: 's', watchId: 'a#b', storyId: 'c', channel: 'outbox:0' },
        leaseMs,
        expiresAt,
      );

      const other = await ledger.claim(
        { subscriberId: 's', watchId: 'a', storyId: 'b#c', channel: 'outbox:0' },
        leaseMs,
        expiresAt,
      );

      expect(other.outcome).toBe('claimed');
    });
  });

  describe('DynamoFeedStateStore', () => {
    it('returns a stored feed state as it was put, and lists it', async () => {
      const store = new DynamoFeedStateStore(dynamo.documentClient, dynamo.tableNames.feedState);
      const state: FeedState = {
        feedId: 'yonhap-nk',
        url: 'https://en.yna.co.kr/RSS/nk.xml',
        etag: '"abc"',
        lastPolledAt: '2025-03-01T10:00:00.000Z',
        lastError: { kind: 'http', message: 'HTTP 503', at: '2025-03-01T10:00:00.000Z' },
        consecutiveFailures: 2,
        nextPollAt: '2025-03-01T10:20:00.000Z',
        itemsSeenTotal: 41,
      };

      await store.put(state);
      const read = await store.get('yonhap-nk');
      const listed = await store.list();

      expect(read).toEqual(state);
      expect(listed).toContainEqual(state);
    });

    it('returns undefined for a feed never stored', async () => {
      const store = new DynamoFeedStateStore(dynamo.documentClient, dynamo.tableNames.feedState);

      const read = await store.get('never-polled');

      expect(read).toBeUndefined();
    });
  });
});

describe('embedded DynamoDB with a data directory', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'wirewatch-dynamo-'));
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps seen items, ledger records and feed state across a stop and a start', async () => {
    const clock = manualClock('2025-03-01T10:00:00Z');
    const expiresAt = new Date(clock.now().getTime() + DAY_MS);
    const key: AlertKey = {
      subscriberId: 'ops',
      watchId: 'patriot',
      storyId: 'story-p',
      channel: 'outbox:0',
    };
    const first = await startEmbeddedDynamo({ dataDir });
    try {
      const ledger = new DynamoAlertLedger(
        first.documentClient,
        first.tableNames.alertLedger,
        clock,
      );
      await new DynamoSeenItemsStore(
        first.documentClient,
        first.tableNames.seenItems,
        clock,
      ).markSeen('feed', 'item', expiresAt);
      const claim = await ledger.claim(key, 60_000, expiresAt);
      if (claim.outcome !== 'claimed') throw new Error(`expected a claim, got ${claim.outcome}`);
      await ledger.markSent(key, claim.token, { channel: 'slack', sentAt: '2025-03-01T10:00:03Z' });
      await new DynamoFeedStateStore(first.documentClient, first.tableNames.feedState).put({
        feedId: 'feed',
        url: 'http://127.0.0.1/feed.xml',
        consecutiveFailures: 0,
        itemsSeenTotal: 1,
      });
    } finally {
      await first.stop();
    }

    const second = await startEmbeddedDynamo({ dataDir });
    try {
      const seenAgain = await new DynamoSeenItemsStore(
        second.documentClient,
        second.tableNames.seenItems,
        clock,
      ).markSeen('feed', 'item', expiresAt);
      const claimAgain = await new DynamoAlertLedger(
        second.documentClient,
        second.tableNames.alertLedger,
        clock,
      ).claim(key, 60_000, expiresAt);
      const state = await new DynamoFeedStateStore(
        second.documentClient,
        second.tableNames.feedState,
      ).get('feed');

      expect(seenAgain).toBe(false);
      expect(claimAgain).toEqual({ outcome: 'already-sent', sentAt: '2025-03-01T10:00:03Z' });
      expect(state?.itemsSeenTotal).toBe(1);
    } finally {
      await second.stop();
    }
  });

  it('refuses a second instance on a data directory in use, with a clear error', async () => {
    const running = await startEmbeddedDynamo({ dataDir });
    try {
      const second = startEmbeddedDynamo({ dataDir });

      await expect(second).rejects.toBeInstanceOf(DataDirInUseError);
      await expect(second).rejects.toThrow(`Data directory ${dataDir} is in use`);
    } finally {
      await running.stop();
    }
  });
});
