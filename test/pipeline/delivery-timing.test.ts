import { describe, expect, it } from 'vitest';
import {
  CLAIM_LEASE_MS,
  CONSUMER_TIMEOUT_MS,
  checkDeliveryTiming,
  DeliveryTimingError,
  MAX_RECEIVE_COUNT,
  VISIBILITY_TIMEOUT_MS,
} from '../../shared/pipeline/delivery-timing.ts';

describe('delivery timing', () => {
  it('orders consumer timeout < claim lease < visibility timeout, as on AWS (60 s, 5 min, 6 min)', () => {
    expect([CONSUMER_TIMEOUT_MS, CLAIM_LEASE_MS, VISIBILITY_TIMEOUT_MS]).toEqual([
      60_000, 300_000, 360_000,
    ]);
    expect(MAX_RECEIVE_COUNT).toBe(5);
  });

  it('refuses a visibility timeout that a crashed send would meet with its claim still held', () => {
    expect(() => checkDeliveryTiming({ visibilityTimeoutMs: 30_000, maxReceiveCount: 5 })).toThrow(
      DeliveryTimingError,
    );
    expect(() => checkDeliveryTiming({ visibilityTimeoutMs: 30_000, maxReceiveCount: 5 })).toThrow(
      /must be longer than the claim lease/,
    );
  });

  it('refuses a lease a live send could outlast, and a receive limit with no retry', () => {
    expect(() =>
      checkDeliveryTiming({
        visibilityTimeoutMs: VISIBILITY_TIMEOUT_MS,
        maxReceiveCount: 5,
        claimLeaseMs: 30_000,
      }),
    ).toThrow(/longer than the consumer timeout/);
    expect(() =>
      checkDeliveryTiming({ visibilityTimeoutMs: VISIBILITY_TIMEOUT_MS, maxReceiveCount: 1 }),
    ).toThrow(/at least 2/);
  });
});
