/**
 * The batch half of an SQS consumer: runs one record at a time, reports the
 * records that failed (partial batch response), and sends poison messages
 * straight to the dead-letter queue with the reason, since retrying them
 * cannot help.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { correlationIdOf, InvalidMessageError } from '../messages.ts';
import { type DeadLetterSender, type Logger, withLogFields } from '../ports.ts';

export interface BatchDeps {
  deadLetters: DeadLetterSender;
  logger: Logger;
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
