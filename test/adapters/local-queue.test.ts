import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeadLetterNotFoundError,
  LocalQueue,
  type LocalQueueOptions,
  MAX_MESSAGE_BYTES,
  MessageTooLargeError,
  type OpenJournalFile,
  openJournalFile,
  QueueFileError,
  QueueFullDiskError,
  type SQSBatchItemFailureWithReason,
} from '../../shared/adapters/local-queue.ts';
import type { Logger } from '../../shared/ports.ts';

interface Job {
  n: number;
}

const VISIBILITY_MS = 30_000;

/** A clock that only moves when the queue sleeps or the test says so. */
function testTime() {
  let now = Date.parse('2025-03-01T10:00:00Z');
  return {
    clock: { now: () => new Date(now) },
    sleep: async (ms: number) => {
      now += ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

function openQueue(options: Partial<LocalQueueOptions> = {}, time = testTime()) {
  return LocalQueue.open<Job>({
    name: 'items',
    visibilityTimeoutMs: VISIBILITY_MS,
    maxReceiveCount: 3,
    clock: time.clock,
    sleep: time.sleep,
    ...options,
  });
}

/** A handler that records what it received and fails the messages `fail` picks. */
function recordingHandler(fail: (job: Job) => string | undefined = () => undefined) {
  const received: Array<{ job: Job; receiveCount: number }> = [];
  const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const batchItemFailures: SQSBatchItemFailureWithReason[] = [];
    for (const record of event.Records) {
      const job = JSON.parse(record.body) as Job;
      received.push({ job, receiveCount: Number(record.attributes.ApproximateReceiveCount) });
      const reason = fail(job);
      if (reason !== undefined)
        batchItemFailures.push({ itemIdentifier: record.messageId, reason });
    }
    return { batchItemFailures };
  };
  return { handler, received };
}

describe('LocalQueue', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'wirewatch-queue-'));
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('delivers real SQSEvent records', async () => {
    const queue = await openQueue({ region: 'eu-west-1', accountId: '123456789012' });
    await queue.send([{ n: 1 }]);
    let event: SQSEvent | undefined;

    await queue.drain(async (received) => {
      event = received;
      return { batchItemFailures: [] };
    });

    const record = event?.Records[0];
    expect(event?.Records).toHaveLength(1);
    expect(record).toMatchObject({
      body: '{"n":1}',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:items',
      awsRegion: 'eu-west-1',
      messageAttributes: {},
      md5OfBody: createHash('md5').update('{"n":1}').digest('hex'),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.parse('2025-03-01T10:00:00Z')),
        ApproximateFirstReceiveTimestamp: String(Date.parse('2025-03-01T10:00:00Z')),
        SenderId: '123456789012',
      },
    });
    expect(record?.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(record?.receiptHandle).toBeTruthy();
  });

  it('delivers in batches of at most batchSize', async () => {
    const queue = await openQueue();
    await queue.send(Array.from({ length: 25 }, (_, n) => ({ n })));
    const sizes: number[] = [];

    const report = await queue.drain(
      async (event) => {
        sizes.push(event.Records.length);
        return { batchItemFailures: [] };
      },
      { batchSize: 10 },
    );

    expect(sizes).toEqual([10, 10, 5]);
    expect(report).toMatchObject({ batches: 3, delivered: 25, succeeded: 25, failed: 0 });
    expect(queue.depth()).toEqual({ visible: 0, notVisible: 0, deadLetters: 0 });
  });

  it('redelivers only the failed message of a partial batch failure, after the visibility timeout', async () => {
    const time = testTime();
    const queue = await openQueue({}, time);
    await queue.send([{ n: 1 }, { n: 2 }, { n: 3 }]);
    let failNext = true;
    const { handler, received } = recordingHandler((job) => {
      if (job.n !== 2 || !failNext) return undefined;
      failNext = false;
      return 'SMTP 421';
    });

    await queue.drain(handler);
    const afterFirstDrain = queue.depth();
    time.advance(VISIBILITY_MS);
    await queue.drain(handler);

    expect(afterFirstDrain).toEqual({ visible: 0, notVisible: 1, deadLetters: 0 });
    expect(received).toEqual([
      { job: { n: 1 }, receiveCount: 1 },
      { job: { n: 2 }, receiveCount: 1 },
      { job: { n: 3 }, receiveCount: 1 },
      { job: { n: 2 }, receiveCount: 2 },
    ]);
    expect(queue.depth()).toEqual({ visible: 0, notVisible: 0, deadLetters: 0 });
  });

  it('redelivers the whole batch when the handler throws', async () => {
    const queue = await openQueue();
    await queue.send([{ n: 1 }, { n: 2 }]);
    let calls = 0;
    const received: number[][] = [];

    await queue.drain(
      async (event) => {
        calls += 1;
        received.push(event.Records.map((record) => (JSON.parse(record.body) as Job).n));
        if (calls === 1) throw new Error('table unavailable');
        return { batchItemFailures: [] };
      },
      { waitForRetries: true },
    );

    expect(received).toEqual([
      [1, 2],
      [1, 2],
    ]);
    expect(queue.depth()).toEqual({ visible: 0, notVisible: 0, deadLetters: 0 });
  });

  it('fails the whole batch when the response names a message not in the batch', async () => {
    const queue = await openQueue();
    await queue.send([{ n: 1 }, { n: 2 }]);

    const report = await queue.drain(async () => ({
      batchItemFailures: [{ itemIdentifier: 'not-a-message-id' }],
    }));

    expect(report).toMatchObject({ succeeded: 0, failed: 2 });
    expect(queue.depth().notVisible).toBe(2);
  });

  it('moves a message to the dead letters after maxReceiveCount receives, with the last error', async () => {
    const queue = await openQueue({ maxReceiveCount: 3 });
    await queue.send([{ n: 1 }, { n: 2 }]);
    const { handler, received } = recordingHandler((job) =>
      job.n === 2 ? 'rule set failed to compile' : undefined,
    );

    const report = await queue.drain(handler, { waitForRetries: true });
    const deadLetters = queue.listDeadLetters();

    expect(received.filter(({ job }) => job.n === 2).map((r) => r.receiveCount)).toEqual([1, 2, 3]);
    expect(report.deadLettered).toBe(1);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]).toMatchObject({
      body: '{"n":2}',
      receiveCount: 3,
      reason: 'exceeded maxReceiveCount (3); last error: rule set failed to compile',
      sentAt: '2025-03-01T10:00:00.000Z',
    });
    expect(queue.depth()).toEqual({ visible: 0, notVisible: 0, deadLetters: 1 });
  });

  it('records the thrown error as the reason when a throwing handler exhausts the receives', async () => {
    const queue = await openQueue({ maxReceiveCount: 2 });
    await queue.send([{ n: 1 }]);

    await queue.drain(
      async () => {
        throw new Error('connection refused');
      },
      { waitForRetries: true },
    );

    expect(queue.listDeadLetters()[0]?.reason).toBe(
      'exceeded maxReceiveCount (2); last error: handler threw: connection refused',
    );
  });

  it('keeps failed messages queued when not waiting for retries', async () => {
    const queue = await openQueue({ maxReceiveCount: 3 });
    await queue.send([{ n: 1 }]);
    const { handler } = recordingHandler(() => 'SMTP unreachable');

    const report = await queue.drain(handler);

    expect(report).toMatchObject({ batches: 1, failed: 1, deadLettered: 0 });
    expect(queue.depth()).toEqual({ visible: 0, notVisible: 1, deadLetters: 0 });
  });

  it('lets a consumer send a poison message straight to the dead letters with its reason', async () => {
    const queue = await openQueue();
    await queue.send([{ n: 1 }]);

    await queue.drain(async (event) => {
      for (const record of event.Records) {
        await queue.deadLetter(record.body, 'body is not a valid Alert: missing storyId');
      }
      return { batchItemFailures: [] };
    });

    expect(queue.listDeadLetters()).toEqual([
      expect.objectContaining({
        body: '{"n":1}',
        reason: 'body is not a valid Alert: missing storyId',
        receiveCount: 0,
        deadLetteredAt: '2025-03-01T10:00:00.000Z',
      }),
    ]);
    expect(queue.depth()).toEqual({ visible: 0, notVisible: 0, deadLetters: 1 });
  });

  it('redrives chosen dead letters back to the queue with a fresh receive count', async () => {
    const queue = await openQueue();
    await queue.deadLetter('{"n":1}', 'poison');
    await queue.deadLetter('{"n":2}', 'poison');
    const [first] = queue.listDeadLetters();
    if (!first) throw new Error('expected a dead letter');

    const moved = await queue.redriveDeadLetters([first.id]);
    const { handler, received } = recordingHandler();
    await queue.drain(handler);

    expect(moved).toBe(1);
    expect(received).toEqual([{ job: { n: 1 }, receiveCount: 1 }]);
    expect(queue.listDeadLetters().map((deadLetter) => deadLetter.body)).toEqual(['{"n":2}']);
  });

  it('redrives every dead letter when no id is given', async () => {
    const queue = await openQueue();
    await queue.deadLetter('{"n":1}', 'poison');
    await queue.deadLetter('{"n":2}', 'poison');

    const moved = await queue.redriveDeadLetters();

    expect(moved).toBe(2);
    expect(queue.depth()).toEqual({ visible: 2, notVisible: 0, deadLetters: 0 });
  });

  it('refuses to redrive an unknown dead letter and moves nothing', async () => {
    const queue = await openQueue();
    await queue.deadLetter('{"n":1}', 'poison');
    const [known] = queue.listDeadLetters();

    const attempt = queue.redriveDeadLetters([known?.id ?? '', 'no-such-id']);

    await expect(attempt).rejects.toBeInstanceOf(DeadLetterNotFoundError);
    expect(queue.depth().deadLetters).toBe(1);
  });

  it('rejects a message larger than SQS accepts', async () => {
    const queue = await LocalQueue.open<string>({ name: 'big' });

    const attempt = queue.send(['x'.repeat(MAX_MESSAGE_BYTES)]);

    await expect(attempt).rejects.toBeInstanceOf(MessageTooLargeError);
    expect(queue.depth().visible).toBe(0);
  });

  it('keeps pending messages and dead letters across instances on the same data directory', async () => {
    const time = testTime();
    const options = { name: 'alerts', dataDir };
    const first = await openQueue(options, time);
    await first.send([{ n: 1 }, { n: 2 }]);
    await first.deadLetter('{"n":0}', 'poison');
    await first.drain(recordingHandler((job) => (job.n === 1 ? 'SMTP down' : undefined)).handler);

    const second = await openQueue(options, time);
    const depthBeforeTimeout = second.depth();
    time.advance(VISIBILITY_MS);
    const { handler, received } = recordingHandler();
    await second.drain(handler);

    expect(depthBeforeTimeout).toEqual({ visible: 0, notVisible: 1, deadLetters: 1 });
    expect(received).toEqual([{ job: { n: 1 }, receiveCount: 2 }]);
    expect(second.listDeadLetters()).toMatchObject([{ body: '{"n":0}', reason: 'poison' }]);
    const third = await openQueue(options, time);
    expect(third.depth()).toEqual({ visible: 0, notVisible: 0, deadLetters: 1 });
  });

  it('makes messages that were in flight when the process died visible to the next instance', async () => {
    const time = testTime();
    const options = { name: 'crashed', dataDir };
    const first = await openQueue(options, time);
    await first.send([{ n: 1 }]);
    let next: LocalQueue<Job> | undefined;

    await first.drain(async () => {
      // The handler is still running when another process opens the file: as after a crash.
      next = await openQueue(options, time);
      return { batchItemFailures: [] };
    });

    expect(next?.depth()).toEqual({ visible: 1, notVisible: 0, deadLetters: 0 });
  });

  it('writes the queue as JSON under <dataDir>/queues/<name>.json when closed', async () => {
    const queue = await openQueue({ name: 'on-disk', dataDir });

    await queue.send([{ n: 7 }]);
    await queue.close();

    const stored = JSON.parse(await readFile(join(dataDir, 'queues', 'on-disk.json'), 'utf8'));
    expect(stored).toMatchObject({ version: 1, messages: [{ body: '{"n":7}' }], deadLetters: [] });
  });

  it('keeps sends journaled before a close, as after a crash', async () => {
    const first = await openQueue({ name: 'journaled', dataDir });
    await first.send([{ n: 1 }, { n: 2 }]);
    await first.drain(recordingHandler((job) => (job.n === 2 ? 'try later' : undefined)).handler);

    const second = await openQueue({ name: 'journaled', dataDir });

    expect(second.depth()).toEqual({ visible: 0, notVisible: 1, deadLetters: 0 });
  });

  it('ignores a torn last journal line, as a crash mid-append leaves it', async () => {
    const first = await openQueue({ name: 'torn', dataDir });
    await first.send([{ n: 1 }]);
    await writeFile(join(dataDir, 'queues', 'torn.journal'), '{"op":"delete","i', { flag: 'a' });

    const second = await openQueue({ name: 'torn', dataDir });

    expect(second.depth().visible).toBe(1);
  });

  it('names the file when a queue file is damaged', async () => {
    const queue = await openQueue({ name: 'damaged', dataDir });
    await queue.send([{ n: 1 }]);
    const file = join(dataDir, 'queues', 'damaged.json');
    await writeFile(file, '{"version":1,"messages":');

    const attempt = openQueue({ name: 'damaged', dataDir });

    await expect(attempt).rejects.toBeInstanceOf(QueueFileError);
    await expect(attempt).rejects.toThrow(file);
  });
});

describe('LocalQueue journal on a torn write or a full disk', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'wirewatch-queue-journal-'));
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  function journalOf(name: string): string {
    return join(dataDir, 'queues', `${name}.journal`);
  }

  function warningLogger() {
    const warnings: Array<{ message: string; fields: Record<string, unknown> | undefined }> = [];
    const logger: Logger = {
      info() {},
      error() {},
      warn(message, fields) {
        warnings.push({ message, fields });
      },
    };
    return { logger, warnings };
  }

  /** Opens journals through a wrapper that, while `full` is set, writes half of what it is given and fails with ENOSPC. */
  function fillableDisk() {
    const disk = { full: false, tornWrites: 0 };
    const openJournal: OpenJournalFile = async (path) => {
      const file = await openJournalFile(path);
      return {
        ...file,
        write: async (data, position) => {
          if (!disk.full) return file.write(data, position);
          disk.tornWrites += 1;
          await file.write(data.subarray(0, Math.floor(data.length / 2)), position);
          throw Object.assign(new Error(`ENOSPC: no space left on device, write`), {
            code: 'ENOSPC',
          });
        },
      };
    };
    return { disk, openJournal };
  }

  async function bodiesAfterReopen(name: string): Promise<string[]> {
    const reopened = await openQueue({ name, dataDir });
    const { handler, received } = recordingHandler();
    await reopened.drain(handler);
    return received.map(({ job }) => JSON.stringify(job));
  }

  it('drops a journal record torn in the middle of the last line, keeps the ones before it and warns', async () => {
    const first = await openQueue({ name: 'torn-tail', dataDir });
    await first.send([{ n: 1 }]);
    await first.send([{ n: 2 }]);
    const text = await readFile(journalOf('torn-tail'), 'utf8');
    await truncate(journalOf('torn-tail'), text.lastIndexOf('"n') + 1);
    const { logger, warnings } = warningLogger();

    const second = await openQueue({ name: 'torn-tail', dataDir, logger });

    expect(second.depth().visible).toBe(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain('torn');
    expect(warnings[0]?.fields).toMatchObject({ file: journalOf('torn-tail'), line: 2 });
  });

  it('refuses a journal damaged in the middle, naming the file and the line', async () => {
    const first = await openQueue({ name: 'damaged-middle', dataDir });
    for (const n of [1, 2, 3]) await first.send([{ n }]);
    const lines = (await readFile(journalOf('damaged-middle'), 'utf8')).split('\n');
    lines[1] = (lines[1] ?? '').replace('\\"n\\":2', '\\"n\\":5');
    await writeFile(journalOf('damaged-middle'), lines.join('\n'));

    const attempt = openQueue({ name: 'damaged-middle', dataDir });

    await expect(attempt).rejects.toBeInstanceOf(QueueFileError);
    await expect(attempt).rejects.toThrow(`${journalOf('damaged-middle')} is not valid: line 2`);
  });

  it('rejects a send cut short by a full disk with a clear error, and loses no acknowledged send once space is freed', async () => {
    const { disk, openJournal } = fillableDisk();
    const queue = await openQueue({ name: 'full-disk', dataDir, openJournal });
    await queue.send([{ n: 1 }]);

    disk.full = true;
    const rejected = queue.send([{ n: 2 }, { n: 3 }]);
    await expect(rejected).rejects.toBeInstanceOf(QueueFullDiskError);
    await expect(rejected).rejects.toThrow(
      `cannot write queue full-disk journal ${journalOf('full-disk')}: the disk is full (ENOSPC); free space and run again: nothing acknowledged was lost`,
    );
    disk.full = false;
    await queue.send([{ n: 4 }]);
    await queue.send([{ n: 5 }]);

    expect(disk.tornWrites).toBe(1);
    expect(queue.depth().visible).toBe(3);
    expect(await bodiesAfterReopen('full-disk')).toEqual(['{"n":1}', '{"n":4}', '{"n":5}']);
  });

  it('closes after a send failed on a full disk, and remembers the full disk for the caller', async () => {
    const { disk, openJournal } = fillableDisk();
    const queue = await openQueue({ name: 'full-then-close', dataDir, openJournal });
    await queue.send([{ n: 1 }]);
    disk.full = true;
    await expect(queue.send([{ n: 2 }])).rejects.toBeInstanceOf(QueueFullDiskError);
    disk.full = false;

    await queue.close();

    expect(queue.lastFullDisk?.file).toBe(journalOf('full-then-close'));
    expect(await bodiesAfterReopen('full-then-close')).toEqual(['{"n":1}']);
  });

  it('keeps an acknowledged send made after torn bytes were left at the end of the journal', async () => {
    const queue = await openQueue({ name: 'torn-then-send', dataDir });
    await queue.send([{ n: 1 }]);
    await writeFile(journalOf('torn-then-send'), '{"op":"send","message":{"mess', { flag: 'a' });

    await queue.send([{ n: 2 }]);
    await queue.send([{ n: 3 }]);

    expect(await bodiesAfterReopen('torn-then-send')).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
  });

  it('reads a journal written in the first format, one JSON entry a line', async () => {
    const message = {
      messageId: 'm-1',
      body: '{"n":1}',
      sentTimestamp: Date.parse('2025-03-01T10:00:00Z'),
      receiveCount: 0,
      visibleAt: Date.parse('2025-03-01T10:00:00Z'),
      inFlight: false,
    };
    await mkdir(join(dataDir, 'queues'), { recursive: true });
    await writeFile(
      journalOf('first-format'),
      `${JSON.stringify({ op: 'send', message })}\n${JSON.stringify({ op: 'send', message: { ...message, messageId: 'm-2', body: '{"n":2}' } })}\n${JSON.stringify({ op: 'delete', id: 'm-1' })}\n`,
    );

    expect(await bodiesAfterReopen('first-format')).toEqual(['{"n":2}']);
  });
});
