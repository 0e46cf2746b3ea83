/**
 * SQS implementations of the queue ports: a batching sender for the pipeline
 * queues and a sender for dead-letter queues that keeps the reason with the
 * message.
 */
import {
  type BatchResultErrorEntry,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DeadLetterSender, QueueSender } from '../ports.ts';
import { MAX_MESSAGE_BYTES, MessageTooLargeError } from './local-queue.ts';

/** SendMessageBatch accepts at most this many entries. */
const MAX_BATCH_ENTRIES = 10;

/** Thrown when some messages could not be sent after the retries; says which and why. */
export class QueueSendError extends Error {
  constructor(
    readonly queueUrl: string,
    readonly failures: Array<{ code: string; message: string; senderFault: boolean }>,
  ) {
    const first = failures[0];
    super(
      `${failures.length} message(s) could not be sent to ${queueUrl}` +
        (first ? `: ${first.code}: ${first.message}` : ''),
    );
    this.name = 'QueueSendError';
  }
}

/** Options of `SqsQueueSender`. */
export interface SqsQueueSenderOptions {
  /** Attempts per entry that SQS reports as failed without sender fault. Default 3. */
  maxAttempts?: number;
  /** Waits between attempts; inject to test without waiting. */
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `QueueSender` on an SQS queue: JSON bodies, sent with SendMessageBatch in
 * batches of at most 10 entries and `MAX_MESSAGE_BYTES` in total. Entries SQS
 * reports as failed are retried (unless the failure is the sender's fault);
 * `send` rejects with `QueueSendError` if some still fail.
 */
export class SqsQueueSender<T> implements QueueSender<T> {
  private readonly maxAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    options: SqsQueueSenderOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 3;
    this.sleep = options.sleep ?? realSleep;
  }

  async send(messages: T[]): Promise<void> {
    const bodies = messages.map((message) => JSON.stringify(message));
    for (const body of bodies) {
      const bytes = Buffer.byteLength(body, 'utf8');
      if (bytes > MAX_MESSAGE_BYTES) throw new MessageTooLargeError(this.queueUrl, bytes);
    }
    const failures: BatchResultErrorEntry[] = [];
    for (const batch of toBatches(bodies)) {
      failures.push(...(await this.sendBatch(batch)));
    }
    if (failures.length > 0) {
      throw new QueueSendError(
        this.queueUrl,
        failures.map((failure) => ({
          code: failure.Code ?? 'Unknown',
          message: failure.Message ?? '',
          senderFault: failure.SenderFault ?? false,
        })),
      );
    }
  }

  /** Sends one batch, retrying the entries SQS failed; returns those that still failed. */
  private async sendBatch(bodies: string[]): Promise<BatchResultErrorEntry[]> {
    let pending: SendMessageBatchRequestEntry[] = bodies.map((body, index) => ({
      Id: String(index),
      MessageBody: body,
    }));
    const lasting: BatchResultErrorEntry[] = [];
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const result = await this.client.send(
        new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: pending }),
      );
      const failed = result.Failed ?? [];
      const retryable = failed.filter((failure) => !failure.SenderFault);
      lasting.push(...failed.filter((failure) => failure.SenderFault));
      if (retryable.length === 0) break;
      if (attempt >= this.maxAttempts) {
        lasting.push(...retryable);
        break;
      }
      const retryIds = new Set(retryable.map((failure) => failure.Id));
      pending = pending.filter((entry) => retryIds.has(entry.Id));
      await this.sleep(100 * 2 ** (attempt - 1));
    }
    return lasting;
  }
}

/** Splits bodies into batches within SendMessageBatch's entry and size limits, in order. */
export function toBatches(bodies: string[]): string[][] {
  const batches: string[][] = [];
  let current: string[] = [];
  let currentBytes = 0;
  for (const body of bodies) {
    const bytes = Buffer.byteLength(body, 'utf8');
    const full = current.length === MAX_BATCH_ENTRIES || currentBytes + bytes > MAX_MESSAGE_BYTES;
    if (current.length > 0 && full) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(body);
    currentBytes += bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Longest reason kept on a dead letter; message attributes count toward the message size. */
const MAX_REASON_LENGTH = 4096;

/**
 * `DeadLetterSender` on an SQS dead-letter queue: the body as it was, the
 * reason in a `reason` string message attribute (cut to 4096 characters).
 */
export class SqsDeadLetterSender implements DeadLetterSender {
  constructor(
    private readonly client: SQSClient,
    private readonly deadLetterQueueUrl: string,
  ) {}

  async deadLetter(body: string, reason: string): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.deadLetterQueueUrl,
        MessageBody: body,
        MessageAttributes: {
          // SQS rejects an empty string attribute value.
          reason: {
            DataType: 'String',
            StringValue: reason.slice(0, MAX_REASON_LENGTH) || 'unknown',
          },
        },
      }),
    );
  }
}
