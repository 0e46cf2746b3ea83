/**
 * The rehearsal's SQS: standard queues made from the template's
 * `AWS::SQS::Queue` resources, with their visibility timeout and redrive
 * policy (a message received `maxReceiveCount` times moves to the dead-letter
 * queue on its next receive, as SQS does). It keeps time on its own clock,
 * which the rehearsal moves forward when every message left is waiting out
 * its visibility timeout, so that five receives of a failing message take
 * seconds instead of half an hour.
 */
import { createHash, randomUUID } from 'node:crypto';

export interface QueueMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  md5OfBody: string;
  messageAttributes: Record<
    string,
    { DataType: string; StringValue?: string; BinaryValue?: string }
  >;
  sentAt: number;
  firstReceivedAt?: number;
  receiveCount: number;
  visibleAt: number;
}

export interface QueueSettings {
  name: string;
  arn: string;
  url: string;
  visibilityTimeoutSeconds: number;
  redrive?: { deadLetterTargetArn: string; maxReceiveCount: number };
}

export class RehearsalQueue {
  readonly messages: QueueMessage[] = [];
  constructor(readonly settings: QueueSettings) {}
}

/** Thrown for a queue that does not exist (`QueueDoesNotExist`). */
export class QueueNotFoundError extends Error {
  constructor(what: string) {
    super(`The specified queue does not exist: ${what}`);
    this.name = 'QueueDoesNotExist';
  }
}

export function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

export class RehearsalQueues {
  private readonly byArn = new Map<string, RehearsalQueue>();
  /** Milliseconds the queues' clock is ahead of the wall clock. */
  private skewMs = 0;

  create(settings: QueueSettings): RehearsalQueue {
    const queue = new RehearsalQueue(settings);
    this.byArn.set(settings.arn, queue);
    return queue;
  }

  now(): number {
    return Date.now() + this.skewMs;
  }

  /** How far the queues' clock was moved ahead, in ms. */
  get skippedMs(): number {
    return this.skewMs;
  }

  all(): RehearsalQueue[] {
    return [...this.byArn.values()];
  }

  byUrl(url: string): RehearsalQueue {
    const path = new URL(url).pathname;
    const queue = this.all().find((q) => new URL(q.settings.url).pathname === path);
    if (!queue) throw new QueueNotFoundError(url);
    return queue;
  }

  byName(name: string): RehearsalQueue {
    const queue = this.all().find((q) => q.settings.name === name);
    if (!queue) throw new QueueNotFoundError(name);
    return queue;
  }

  get(arn: string): RehearsalQueue {
    const queue = this.byArn.get(arn);
    if (!queue) throw new QueueNotFoundError(arn);
    return queue;
  }

  send(
    queue: RehearsalQueue,
    body: string,
    messageAttributes: QueueMessage['messageAttributes'] = {},
  ): QueueMessage {
    const message: QueueMessage = {
      messageId: randomUUID(),
      receiptHandle: '',
      body,
      md5OfBody: md5(body),
      messageAttributes,
      sentAt: this.now(),
      receiveCount: 0,
      visibleAt: this.now(),
    };
    queue.messages.push(message);
    return message;
  }

  visible(queue: RehearsalQueue): QueueMessage[] {
    const now = this.now();
    return queue.messages.filter((m) => m.visibleAt <= now);
  }

  /**
   * Receives up to `max` visible messages and hides them for the visibility
   * timeout. A message already received `maxReceiveCount` times moves to the
   * dead-letter queue instead.
   */
  receive(queue: RehearsalQueue, max: number): QueueMessage[] {
    const received: QueueMessage[] = [];
    const now = this.now();
    for (const message of [...queue.messages]) {
      if (received.length >= max) break;
      if (message.visibleAt > now) continue;
      const redrive = queue.settings.redrive;
      if (redrive && message.receiveCount >= redrive.maxReceiveCount) {
        this.remove(queue, message);
        const target = this.get(redrive.deadLetterTargetArn);
        target.messages.push({ ...message, visibleAt: now, receiptHandle: '' });
        continue;
      }
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + queue.settings.visibilityTimeoutSeconds * 1000;
      message.receiptHandle = randomUUID();
      received.push(message);
    }
    return received;
  }

  /** Deletes by receipt handle; an unknown or stale handle is ignored, as SQS does. */
  delete(queue: RehearsalQueue, receiptHandle: string): void {
    const message = queue.messages.find((m) => m.receiptHandle === receiptHandle);
    if (message) this.remove(queue, message);
  }

  changeVisibility(queue: RehearsalQueue, receiptHandle: string, seconds: number): void {
    const message = queue.messages.find((m) => m.receiptHandle === receiptHandle);
    if (message) message.visibleAt = this.now() + seconds * 1000;
  }

  /** Moves the clock to when the next hidden message becomes visible; false when none is hidden. */
  skipToNextVisible(): boolean {
    const now = this.now();
    const next = Math.min(
      ...this.all().flatMap((q) =>
        q.messages.filter((m) => m.visibleAt > now).map((m) => m.visibleAt),
      ),
    );
    if (!Number.isFinite(next)) return false;
    this.skewMs += next - now;
    return true;
  }

  private remove(queue: RehearsalQueue, message: QueueMessage): void {
    const index = queue.messages.indexOf(message);
    if (index >= 0) queue.messages.splice(index, 1);
  }
}
