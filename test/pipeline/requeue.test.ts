/**
 * An outage longer than a queue's retries (5 receives, 6 minutes apart: 24
 * minutes) must not put messages in the dead-letter queue, where they wait
 * for a person: the consumer queues a message again on its last receive, for
 * up to `RETRY_FOR_MS`, and only then leaves it to the dead letters with its
 * last error. Found by the fault bench: a Slack channel rate-limiting for
 * longer than the retries dead-lettered an alert.
 */
import { describe, expect, it } from 'vitest';
import { LocalQueue } from '../../shared/adapters/local-queue.ts';
import {
  MAX_RECEIVE_COUNT,
  RETRY_FOR_MS,
  VISIBILITY_TIMEOUT_MS,
} from '../../shared/pipeline/delivery-timing.ts';
import { processSqsBatch } from '../../shared/pipeline/sqs-batch.ts';
import { silentLogger } from '../../shared/ports.ts';
import { ManualClock } from '../support/manual-clock.ts';

const START = '2026-06-01T10:00:00.000Z';
const HOUR_MS = 3_600_000;

/** A queue as the stack opens it, on a clock that moves when the queue waits. */
async function queueOn(clock: ManualClock): Promise<LocalQueue<{ createdAt: string; n: number }>> {
  return LocalQueue.open({
    name: 'alerts',
    clock,
    visibilityTimeoutMs: VISIBILITY_TIMEOUT_MS,
    maxReceiveCount: MAX_RECEIVE_COUNT,
    sleep: async (ms) => clock.advance(ms),
  });
}

/** What the notifier throws when a channel failed for now. */
function outage(): Error {
  return Object.assign(new Error('Slack incoming webhook: HTTP 429 rate_limited'), {
    name: 'DeliveryRetryError',
  });
}

/** A consumer whose destination is down until `upAt`, counting deliveries. */
function consumer(
  queue: LocalQueue<{ createdAt: string; n: number }>,
  clock: ManualClock,
  upAt: number,
  requeue: boolean,
) {
  const delivered: number[] = [];
  const handler = (event: Parameters<Parameters<typeof queue.drain>[0]>[0]) =>
    processSqsBatch(
      event,
      async (body) => {
        if (clock.now().getTime() < upAt) throw outage();
        delivered.push((JSON.parse(body) as { n: number }).n);
      },
      {
        deadLetters: queue,
        logger: silentLogger,
        ...(requeue
          ? {
              requeue: {
                queue,
                maxReceiveCount: MAX_RECEIVE_COUNT,
                retryForMs: RETRY_FOR_MS,
                clock,
              },
            }
          : {}),
      },
    );
  return { delivered, handler };
}

describe('a message failing for longer than its queue retries', () => {
  it('was dead-lettered after 24 minutes of an outage without being queued again', async () => {
    const clock = new ManualClock(START);
    const queue = await queueOn(clock);
    await queue.send([{ createdAt: START, n: 1 }]);
    const { delivered, handler } = consumer(queue, clock, Date.parse(START) + 2 * HOUR_MS, false);
    await queue.drain(handler, { waitForRetries: true });
    expect(delivered).toEqual([]);
    expect(queue.listDeadLetters()).toHaveLength(1);
  });

  it('is queued again on its last receive and delivered once the outage ends, hours later', async () => {
    const clock = new ManualClock(START);
    const queue = await queueOn(clock);
    await queue.send([{ createdAt: START, n: 1 }]);
    const { delivered, handler } = consumer(queue, clock, Date.parse(START) + 5 * HOUR_MS, true);
    await queue.drain(handler, { waitForRetries: true });
    expect(delivered).toEqual([1]);
    expect(queue.listDeadLetters()).toEqual([]);
    expect(queue.depth()).toEqual({ visible: 0, notVisible: 0, deadLetters: 0 });
    expect(clock.now().getTime() - Date.parse(START)).toBeGreaterThanOrEqual(5 * HOUR_MS);
  });

  it('is left to the dead letters, with its last error, once it has failed for RETRY_FOR_MS', async () => {
    const clock = new ManualClock(START);
    const queue = await queueOn(clock);
    await queue.send([{ createdAt: START, n: 1 }]);
    const { delivered, handler } = consumer(queue, clock, Number.POSITIVE_INFINITY, true);
    await queue.drain(handler, { waitForRetries: true });
    expect(delivered).toEqual([]);
    const [dead] = queue.listDeadLetters();
    expect(dead?.reason).toMatch(/exceeded maxReceiveCount \(5\); last error: .*429 rate_limited/);
    const failedFor = clock.now().getTime() - Date.parse(START);
    expect(failedFor).toBeGreaterThanOrEqual(RETRY_FOR_MS);
    expect(failedFor).toBeLessThan(RETRY_FOR_MS + MAX_RECEIVE_COUNT * VISIBILITY_TIMEOUT_MS);
  });

  it('is left to the dead letters after its receives when waiting cannot help (a denied permission)', async () => {
    const clock = new ManualClock(START);
    const queue = await queueOn(clock);
    await queue.send([{ createdAt: START, n: 1 }]);
    const denied = Object.assign(new Error('User is not authorized to perform: dynamodb:PutItem'), {
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    await queue.drain(
      (event) =>
        processSqsBatch(
          event,
          async () => {
            throw denied;
          },
          {
            deadLetters: queue,
            logger: silentLogger,
            requeue: { queue, maxReceiveCount: MAX_RECEIVE_COUNT, retryForMs: RETRY_FOR_MS, clock },
          },
        ),
      { waitForRetries: true },
    );
    expect(queue.listDeadLetters()[0]?.reason).toMatch(/not authorized/);
    expect(clock.now().getTime() - Date.parse(START)).toBeLessThan(HOUR_MS);
  });
});
