/**
 * The batch half of an SQS consumer: runs one record at a time, reports the
 * records that failed (partial batch response), and sends poison messages
 * straight to the dead-letter queue with the reason, since retrying them
 * cannot help. A message that keeps failing for a reason that may pass is
 * queued again before its queue would dead-letter it (see `RequeuePolicy`).
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { correlationIdOf, firstQueuedAtOf, InvalidMessageError } from '../messages.ts';
import {
  type Clock,
  type DeadLetterSender,
  type Logger,
  type QueueSender,
  withLogFields,
} from '../ports.ts';

export interface BatchDeps {
  deadLetters: DeadLetterSender;
  logger: Logger;
  /** Keeps messages that fail for a while out of the dead-letter queue; without it the queue's redrive policy decides. */
  requeue?: RequeuePolicy;
}

/**
 * How a consumer outlasts an outage (of Slack, SMTP, DynamoDB) longer than
 * its queue's retries: a message that fails, for a reason that may pass
 * (`isPassingFailure`), on the receive after which the
 * queue would move it to the dead-letter queue is sent to the queue again, as
 * a new message, and that receive counts as handled. A message still failing
 * `retryForMs` after it was first queued is left to the dead-letter queue,
 * with its last error. The consumers are idempotent to the copy (the ledger,
 * the seen items), as they are to any redelivery.
 */
export interface RequeuePolicy {
  /** The queue the records come from. */
  queue: QueueSender<unknown>;
  /** The queue's receive limit (its redrive policy's maxReceiveCount). */
  maxReceiveCount: number;
  retryForMs: number;
  clock: Clock;
}

/** What the handling of one record is given besides the record. */
export interface RecordContext {
  /** The message's correlation id; a message without one (queued before they existed) is followed by its SQS message id. */
  correlationId: string;
  /** The batch's logger with the record's `messageId` and `correlationId` on every line. */
  logger: Logger;
}

/**
 * Processes every record of `event` with `handleRecord`. Records that throw are
 * returned as batch item failures (retried by the queue); records that are
 * invalid are dead-lettered and count as handled.
 */
export async function processSqsBatch(
  event: SQSEvent,
  handleRecord: (body: string, record: SQSRecord, context: RecordContext) => Promise<void>,
  deps: BatchDeps,
): Promise<SQSBatchResponse> {
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const correlationId = correlationIdOf(record.body) ?? record.messageId;
    const logger = withLogFields(deps.logger, { messageId: record.messageId, correlationId });
    try {
      await handleRecord(record.body, record, { correlationId, logger });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (error instanceof InvalidMessageError) {
        try {
          await deps.deadLetters.deadLetter(record.body, reason);
          logger.error('message dead-lettered', { reason });
          continue;
        } catch (dlqError) {
          logger.error('could not dead-letter message', {
            reason,
            error: (dlqError as Error).message,
          });
        }
      } else if (
        deps.requeue &&
        isPassingFailure(error) &&
        (await requeue(record, deps.requeue, logger, reason))
      ) {
        continue;
      } else {
        logger.warn('message failed, will be retried', { reason });
      }
      // Lambda reads only itemIdentifier; the local queue also records the reason.
      failures.push({
        itemIdentifier: record.messageId,
        reason,
      } as SQSBatchResponse['batchItemFailures'][number]);
    }
  }
  return { batchItemFailures: failures };
}

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'TransactionConflictException',
]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENOSPC',
]);

/**
 * Whether a failure may pass by itself: a delivery that failed for now
 * (`DeliveryRetryError`, Slack or SMTP unavailable), a service that throttles,
 * answers 5xx or times out, the network, a full disk. A denied permission, a
 * missing table or a bug does not pass by waiting: such a message goes to the
 * dead-letter queue after its receives, where a person sees it.
 */
export function isPassingFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'DeliveryRetryError' || error.name === 'QueueFullDiskError') return true;
  const e = error as Error & {
    code?: string;
    $retryable?: unknown;
    $fault?: string;
    $metadata?: { httpStatusCode?: number };
  };
  if (THROTTLING.has(e.name) || e.name === 'TimeoutError' || e.$retryable) return true;
  if (e.$fault === 'server' || (e.$metadata?.httpStatusCode ?? 0) >= 500) return true;
  return NETWORK_CODES.has(e.code ?? '');
}

/** Queues `record` again when it is on its last receive and not too old; `true` when it was. */
async function requeue(
  record: SQSRecord,
  policy: RequeuePolicy,
  logger: Logger,
  reason: string,
): Promise<boolean> {
  const receives = Number(record.attributes?.ApproximateReceiveCount ?? '1');
  if (!(receives >= policy.maxReceiveCount)) return false;
  const queuedAt =
    firstQueuedAtOf(record.body) ?? new Date(Number(record.attributes?.SentTimestamp ?? '0'));
  const failingForMs = policy.clock.now().getTime() - queuedAt.getTime();
  if (!(failingForMs < policy.retryForMs)) {
    logger.error('message failed on its last receive, too old to queue again: dead-lettered', {
      reason,
      receives,
      queuedAt: queuedAt.toISOString(),
    });
    return false;
  }
  try {
    await policy.queue.send([JSON.parse(record.body)]);
  } catch (error) {
    logger.error('could not queue a failing message again', {
      reason,
      error: error instanceof Error ? error.message : String(error),
    });
    return false;
  }
  logger.warn('message failed on its last receive, queued again', {
    reason,
    receives,
    queuedAt: queuedAt.toISOString(),
  });
  return true;
}
