/**
 * Lambda's SQS pollers, as the rehearsal runs them: each event source
 * mapping receives batches with the function's role (batch size, batching
 * window, maximum concurrency), invokes the function with a real `SQSEvent`,
 * and deletes what succeeded, reading `batchItemFailures` when the mapping
 * reports them (a response it cannot read fails the whole batch, as Lambda
 * does). Failed messages come back after their visibility timeout.
 */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { AwsEndpoint, KnownCaller } from './aws-endpoint.ts';
import { REGION } from './cloudformation.ts';
import type { RehearsalFunction } from './lambda-functions.ts';
import type { QueueMessage, RehearsalQueue, RehearsalQueues } from './sqs-queues.ts';

/** One `AWS::Lambda::EventSourceMapping` of an SQS queue, and its state. */
export interface EventSourceMapping {
  function: RehearsalFunction;
  caller: KnownCaller;
  queue: RehearsalQueue;
  batchSize: number;
  windowMs: number;
  reportFailures: boolean;
  maxConcurrency: number;
  running: number;
  waitingSince?: number;
  disabled?: string;
}

export class EventSourceMappings {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    readonly mappings: EventSourceMapping[],
    private readonly queues: RehearsalQueues,
    private readonly endpoint: AwsEndpoint,
  ) {}

  /**
   * Runs the event source mappings until nothing is left to do: every queue
   * with a mapping is empty or holds only messages that failed for good.
   * When only messages hidden by their visibility timeout remain, the queues'
   * clock moves to when the next one shows again.
   */
  async settle(): Promise<void> {
    for (;;) {
      let started = false;
      for (const esm of this.mappings) {
        if (esm.disabled) continue;
        while (esm.running < esm.maxConcurrency) {
          const visible = this.queues.visible(esm.queue).length;
          if (visible === 0) {
            esm.waitingSince = undefined;
            break;
          }
          if (visible < esm.batchSize && esm.windowMs > 0) {
            esm.waitingSince ??= Date.now();
            if (Date.now() - esm.waitingSince < esm.windowMs) break;
          }
          esm.waitingSince = undefined;
          const messages = this.receive(esm);
          if (messages.length === 0) break;
          started = true;
          this.track(this.deliver(esm, messages));
        }
      }
      if (this.pending.size > 0) {
        await Promise.race([...this.pending, sleep(50)]);
        continue;
      }
      if (started) continue;
      if (this.mappings.some((esm) => !esm.disabled && esm.waitingSince !== undefined)) {
        await sleep(50);
        continue;
      }
      const mapped = new Set(this.mappings.filter((m) => !m.disabled).map((m) => m.queue));
      const hidden = [...mapped].some((q) =>
        q.messages.some((m) => m.visibleAt > this.queues.now()),
      );
      if (hidden && this.queues.skipToNextVisible()) continue;
      return;
    }
  }

  private track(promise: Promise<unknown>): void {
    this.pending.add(promise);
    promise.finally(() => this.pending.delete(promise)).catch(() => undefined);
  }

  private receive(esm: EventSourceMapping): QueueMessage[] {
    try {
      this.endpoint.check(esm.caller, {
        action: 'sqs:ReceiveMessage',
        resource: esm.queue.settings.arn,
      });
    } catch (error) {
      esm.disabled = (error as Error).message;
      return [];
    }
    return this.queues.receive(esm.queue, esm.batchSize);
  }

  private async deliver(esm: EventSourceMapping, messages: QueueMessage[]): Promise<void> {
    esm.running += 1;
    try {
      const event: SQSEvent = { Records: messages.map((m) => toRecord(m, esm.queue.settings.arn)) };
      const result = await esm.function.invoke(
        event,
        `queue ${esm.queue.settings.name}`,
        esm.maxConcurrency,
      );
      if (!result.ok) return;
      let failed = new Set<string>();
      if (esm.reportFailures) {
        const failures =
          (result.result as { batchItemFailures?: Array<{ itemIdentifier?: string }> } | null)
            ?.batchItemFailures ?? [];
        const ids = failures.map((f) => f.itemIdentifier);
        // Lambda fails the whole batch on a response it cannot read.
        if (ids.some((id) => !id || !messages.some((m) => m.messageId === id))) {
          failed = new Set(messages.map((m) => m.messageId));
        } else {
          failed = new Set(ids as string[]);
        }
      }
      const done = messages.filter((m) => !failed.has(m.messageId));
      if (done.length === 0) return;
      try {
        this.endpoint.check(esm.caller, {
          action: 'sqs:DeleteMessage',
          resource: esm.queue.settings.arn,
        });
        for (const message of done) this.queues.delete(esm.queue, message.receiptHandle);
      } catch {
        // Denied: the messages come back after their visibility timeout, as on AWS.
      }
    } finally {
      esm.running -= 1;
    }
  }
}

function toRecord(message: QueueMessage, queueArn: string): SQSRecord {
  return {
    messageId: message.messageId,
    receiptHandle: message.receiptHandle,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentAt),
      SenderId: 'AROAREHEARSAL',
      ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? message.sentAt),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.messageAttributes).map(([name, value]) => [
        name,
        {
          dataType: value.DataType,
          stringValue: value.StringValue,
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: message.md5OfBody,
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: REGION,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
