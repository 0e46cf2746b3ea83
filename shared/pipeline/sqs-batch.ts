/**
 * The batch half of an SQS consumer: runs one record at a time, reports the
 * records that failed (partial batch response), and sends poison messages
 * straight to the dead-letter queue with the reason, since retrying them
 * cannot help.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { InvalidMessageError } from '../messages.ts';
import type { DeadLetterSender, Logger } from '../ports.ts';

export interface BatchDeps {
  deadLetters: DeadLetterSender;
  logger: Logger;
}

/**
 * Processes every record of `event` with `handleRecord`. Records that throw are
 * returned as batch item failures (retried by the queue); records that are
 * invalid are dead-lettered and count as handled.
 */
export async function processSqsBatch(
  event: SQSEvent,
  handleRecord: (body: string, record: SQSRecord) => Promise<void>,
  deps: BatchDeps,
): Promise<SQSBatchResponse> {
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      await handleRecord(record.body, record);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (error instanceof InvalidMessageError) {
        try {
          await deps.deadLetters.deadLetter(record.body, reason);
          deps.logger.error('message dead-lettered', { messageId: record.messageId, reason });
          continue;
        } catch (dlqError) {
          deps.logger.error('could not dead-letter message', {
            messageId: record.messageId,
            reason,
            error: (dlqError as Error).message,
          });
        }
      } else {
        deps.logger.warn('message failed, will be retried', {
          messageId: record.messageId,
          reason,
        });
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
