/**
 * The timings that decide what happens to an alert whose notifier dies
 * mid-send, in one place for the embedded stack and the CDK alike.
 *
 * A send is claimed in the alert ledger for `CLAIM_LEASE_MS` before it goes
 * out. A notifier that dies after sending and before recording it leaves the
 * claim to lapse; its message comes back after `VISIBILITY_TIMEOUT_MS`,
 * finds the claim lapsed and sends again: one duplicate, never a loss. For
 * that, the three must be ordered:
 *
 *   CONSUMER_TIMEOUT_MS < CLAIM_LEASE_MS < VISIBILITY_TIMEOUT_MS
 *
 * - a live notifier finishes (or is stopped) within its timeout, so a claim
 *   never lapses under a send still running;
 * - the first redelivery after a crash comes after the claim lapsed, so it
 *   does not count a receive against a claim nobody holds any more ("another
 *   worker is sending it") and the dead-letter queue is reached only by
 *   messages that failed `MAX_RECEIVE_COUNT` times for real, after
 *   (MAX_RECEIVE_COUNT - 1) visibility timeouts of retries.
 */

/** The longest a consumer invocation runs: the Lambda timeout of the classifier, notifier and digest. */
export const CONSUMER_TIMEOUT_MS = 60_000;

/** How long a received message stays hidden: 6x the consumer timeout, as Lambda advises for SQS. */
export const VISIBILITY_TIMEOUT_MS = 6 * CONSUMER_TIMEOUT_MS;

/** How long a ledger claim protects a send (or a digest) before another worker may take it over. */
export const CLAIM_LEASE_MS = 5 * 60_000;

/** Receives of a message before it goes to its dead-letter queue. */
export const MAX_RECEIVE_COUNT = 5;

/**
 * How long the consumers keep a message that fails for a reason that may pass
 * (an outage) out of the dead-letter queue, by queueing it again on its last
 * receive (see `RequeuePolicy` in `sqs-batch.ts`).
 */
export const RETRY_FOR_MS = 48 * 60 * 60_000;

/** Thrown for timings that could dead-letter a crashed send instead of re-sending it. */
export class DeliveryTimingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeliveryTimingError';
  }
}

/** Checks the ordering above for a queue's visibility timeout and receive limit. */
export function checkDeliveryTiming(timing: {
  visibilityTimeoutMs: number;
  maxReceiveCount: number;
  claimLeaseMs?: number;
  consumerTimeoutMs?: number;
}): void {
  const lease = timing.claimLeaseMs ?? CLAIM_LEASE_MS;
  const consumer = timing.consumerTimeoutMs ?? CONSUMER_TIMEOUT_MS;
  if (!(consumer < lease)) {
    throw new DeliveryTimingError(
      `the claim lease (${lease} ms) must be longer than the consumer timeout (${consumer} ms), or a claim can lapse under a send still running`,
    );
  }
  if (!(lease < timing.visibilityTimeoutMs)) {
    throw new DeliveryTimingError(
      `the visibility timeout (${timing.visibilityTimeoutMs} ms) must be longer than the claim lease (${lease} ms), or a message redelivered after a crash meets the dead worker's claim and is dead-lettered instead of sent`,
    );
  }
  if (timing.maxReceiveCount < 2) {
    throw new DeliveryTimingError(
      `maxReceiveCount (${timing.maxReceiveCount}) must be at least 2, so that a send cut short is tried again`,
    );
  }
}

checkDeliveryTiming({
  visibilityTimeoutMs: VISIBILITY_TIMEOUT_MS,
  maxReceiveCount: MAX_RECEIVE_COUNT,
});
