/**
 * An in-process queue with the semantics of an SQS standard queue and its
 * dead-letter queue, for the embedded stack: batches, a visibility timeout, a
 * receive count per message, redrive to the dead letters after
 * `maxReceiveCount` receives, and partial batch responses. It hands the same
 * `SQSEvent` shapes to the same handlers Lambda would, and can persist itself
 * to a JSON file so that queued messages and dead letters outlive the process.
 */
import { createHash, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { MAX_MESSAGE_BYTES } from '../messages.ts';
import {
  type Clock,
  type DeadLetterSender,
  type Logger,
  type QueueSender,
  silentLogger,
  systemClock,
} from '../ports.ts';

export type { DeadLetterSender };

// Largest message body SQS accepts, defined with the messages; both queue implementations enforce it.
export { MAX_MESSAGE_BYTES };

/** Thrown by `send` for a message whose JSON body is larger than `MAX_MESSAGE_BYTES`. */
export class MessageTooLargeError extends Error {
  constructor(
    readonly queueName: string,
    readonly bytes: number,
  ) {
    super(
      `Message of ${bytes} bytes exceeds the ${MAX_MESSAGE_BYTES}-byte limit of queue ${queueName}`,
    );
    this.name = 'MessageTooLargeError';
  }
}

/** Thrown by `redriveDeadLetters` when asked for dead letters the queue does not hold. */
export class DeadLetterNotFoundError extends Error {
  constructor(
    readonly queueName: string,
    readonly ids: string[],
  ) {
    super(`No dead letter with id ${ids.join(', ')} in queue ${queueName}`);
    this.name = 'DeadLetterNotFoundError';
  }
}

/** Thrown when a persisted queue file cannot be read back; names the file. */
export class QueueFileError extends Error {
  constructor(
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`Queue file ${file} is not valid: ${detail}`, options);
    this.name = 'QueueFileError';
  }
}

/**
 * Thrown when the disk is full while the queue writes its journal or snapshot.
 * The queue's files are left as they were before the write (a torn record is
 * cut off), so whatever was acknowledged is still there.
 */
export class QueueFullDiskError extends Error {
  constructor(
    readonly queueName: string,
    readonly kind: 'journal' | 'snapshot',
    readonly file: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(
      `cannot write queue ${queueName} ${kind} ${file}: the disk is full (${code}); free space and run again: nothing acknowledged was lost`,
      options,
    );
    this.name = 'QueueFullDiskError';
  }
}

/** A failed write as a `QueueFullDiskError` when the disk (or the quota) is full; any other error as it is. */
export function queueWriteError(
  error: unknown,
  queueName: string,
  kind: 'journal' | 'snapshot',
  file: string,
): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return error;
  return new QueueFullDiskError(queueName, kind, file, code, { cause: error });
}

/**
 * The journal file as the queue uses it: whole writes at a position it keeps
 * itself, so that after a failed write it can cut the torn bytes off and the
 * next record starts where the last whole one ended.
 */
export interface JournalFile {
  /** Length of the file in bytes. */
  size(): Promise<number>;
  /** Writes all of `data` at `position`, or throws. */
  write(data: Uint8Array, position: number): Promise<void>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

/** Opens (creating it and its folder if needed) a journal file. */
export type OpenJournalFile = (path: string) => Promise<JournalFile>;

/** The journal file on the local file system. */
export const openJournalFile: OpenJournalFile = async (path) => {
  await mkdir(dirname(path), { recursive: true });
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT);
  return {
    size: async () => (await handle.stat()).size,
    write: async (data, position) => {
      let written = 0;
      while (written < data.length) {
        const { bytesWritten } = await handle.write(
          data,
          written,
          data.length - written,
          position + written,
        );
        written += bytesWritten;
      }
    },
    sync: () => handle.sync(),
    truncate: (length) => handle.truncate(length),
    close: () => handle.close(),
  };
};

/**
 * A batch item failure that may say why the item failed. Lambda reads only
 * `itemIdentifier` and ignores the rest; the local queue records `reason` as
 * the message's last error, shown if it ends up in the dead letters.
 */
export interface SQSBatchItemFailureWithReason extends SQSBatchItemFailure {
  reason?: string;
}

/** The handler the queue delivers to: the same signature as an SQS Lambda handler. */
export type LocalQueueHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

/** Options of `LocalQueue.open`. */
export interface LocalQueueOptions {
  /** Queue name (`[A-Za-z0-9_-]`, as SQS allows); also the name of its file. */
  name: string;
  /** Persist to `<dataDir>/queues/<name>.json`; in memory only when absent. */
  dataDir?: string;
  /** How long a received message stays invisible before it can be received again. Default 30 s. */
  visibilityTimeoutMs?: number;
  /** Receives after which a failing message moves to the dead letters. Default 5. */
  maxReceiveCount?: number;
  clock?: Clock;
  /** How `drain` waits for messages to become visible again; inject one that moves a test clock. */
  sleep?: (ms: number) => Promise<void>;
  /** Region and account that appear in the event's ARN. */
  region?: string;
  accountId?: string;
  /** Told when a torn journal record is dropped on open, or a compaction fails. */
  logger?: Logger;
  /** How the journal file is opened; inject one that fails like a full disk. Default `openJournalFile`. */
  openJournal?: OpenJournalFile;
  /** Departures from the happy path that SQS's standard queues allow, for fault injection. None by default. */
  faults?: QueueFaults;
}

/**
 * What a standard SQS queue may do and a healthy local queue does not: the
 * fault bench (`npm run bench -- faults`) turns these on so that consumers
 * are shown to cope with every one of them.
 */
export interface QueueFaults {
  /** Store this sent message twice (a send retried after its reply was lost). */
  duplicate(): boolean;
  /** Lose the deletion of this processed message: it is delivered again after its visibility timeout. */
  keepAfterSuccess(): boolean;
  /** Reorders a received batch in place (standard queues keep no order). */
  reorder<T>(batch: T[]): void;
}

/** Options of `drain`. */
export interface DrainOptions {
  /** Messages per event, 1 to 10 000 as for an SQS event source. Default 10. */
  batchSize?: number;
  /**
   * Keep going until the queue is empty, sleeping until failed messages are
   * visible again (each ends up processed or dead-lettered). By default `drain`
   * stops when no message is visible, leaving failed ones queued for later.
   */
  waitForRetries?: boolean;
}

/** What one `drain` did. */
export interface DrainReport {
  batches: number;
  /** Records delivered, counting a redelivered message each time. */
  delivered: number;
  succeeded: number;
  failed: number;
  deadLettered: number;
}

/** A message in the dead-letter queue. */
export interface DeadLetter {
  id: string;
  body: string;
  reason: string;
  /** How many times the message had been received when it was dead-lettered. */
  receiveCount: number;
  /** When it was dead-lettered (ISO 8601). */
  deadLetteredAt: string;
  /** When it was first sent to the source queue (ISO 8601). */
  sentAt: string;
}

/** Message counts, as SQS's ApproximateNumberOfMessages* attributes. */
export interface QueueDepth {
  /** Receivable now. */
  visible: number;
  /** Being processed, or failed and waiting out their visibility timeout. */
  notVisible: number;
  deadLetters: number;
}

const storedMessageSchema = z.object({
  messageId: z.string(),
  body: z.string(),
  sentTimestamp: z.number(),
  receiveCount: z.number().int().nonnegative(),
  firstReceiveTimestamp: z.number().optional(),
  visibleAt: z.number(),
  inFlight: z.boolean(),
  lastError: z.string().optional(),
});

/** A dead letter as stored, and as the embedded stack's control endpoint sends it. */
export const deadLetterSchema = z.object({
  id: z.string(),
  body: z.string(),
  reason: z.string(),
  receiveCount: z.number().int().nonnegative(),
  deadLetteredAt: z.string(),
  sentAt: z.string(),
});

const queueFileSchema = z.object({
  version: z.literal(1),
  messages: z.array(storedMessageSchema),
  deadLetters: z.array(deadLetterSchema),
});

type StoredMessage = z.infer<typeof storedMessageSchema>;
type QueueFile = z.infer<typeof queueFileSchema>;

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const MAX_BATCH_SIZE = 10_000;

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An SQS-like standard queue living in this process. One process at a time
 * should own a queue's files. State is kept as a snapshot (`<name>.json`) plus
 * an append-only journal (`<name>.journal`) of every change since: a send or a
 * dead letter is flushed to disk before the call returns, receives and
 * deletions are appended without a flush (losing one in a crash only means a
 * redelivery, which consumers are idempotent to). Opening replays the journal
 * and folds it into a new snapshot; so does `close` and a journal grown large.
 *
 * Each journal line is `<bytes>:<crc32>:<entry as JSON>` (see `journalLine`),
 * so a record cut short by a crash or a full disk is told from a whole one: a
 * bad last record is dropped with a warning (its write never completed, so it
 * was never acknowledged), a bad record before it is damage and an error. A
 * write that fails is cut off the file again, and a call whose write failed
 * is undone in memory, so the file only ever holds whole records.
 */
export class LocalQueue<T> implements QueueSender<T>, DeadLetterSender {
  /** The ARN the events carry as `eventSourceARN`. */
  readonly arn: string;
  /** Where the queue is persisted, when it is. */
  readonly file: string | undefined;

  private readonly visibilityTimeoutMs: number;
  private readonly maxReceiveCount: number;
  private readonly clock: Clock;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly region: string;
  private readonly accountId: string;
  private readonly logger: Logger;
  private readonly openJournal: OpenJournalFile;
  private readonly faults: QueueFaults | undefined;
  private messages: StoredMessage[] = [];
  private deadLetters: DeadLetter[] = [];
  private readonly journalFile: string | undefined;
  private journal: JournalFile | undefined;
  /** Bytes of whole records in the journal: where the next record is written. */
  private journalSize = 0;
  /** A failed write may have left bytes past `journalSize` that could not be cut off yet. */
  private journalTorn = false;
  private journalLines = 0;
  private writing: Promise<void> = Promise.resolve();
  private fullDisk: QueueFullDiskError | undefined;

  private constructor(
    readonly name: string,
    options: LocalQueueOptions,
  ) {
    this.file = options.dataDir ? join(options.dataDir, 'queues', `${name}.json`) : undefined;
    this.journalFile = this.file ? this.file.replace(/\.json$/, '.journal') : undefined;
    this.visibilityTimeoutMs = options.visibilityTimeoutMs ?? 30_000;
    this.maxReceiveCount = options.maxReceiveCount ?? 5;
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? realSleep;
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '000000000000';
    this.logger = options.logger ?? silentLogger;
    this.openJournal = options.openJournal ?? openJournalFile;
    this.faults = options.faults;
    this.arn = `arn:aws:sqs:${this.region}:${this.accountId}:${name}`;
  }

  /**
   * Opens a queue, loading its file when `dataDir` is given. Messages that
   * were being processed when the previous process ended are visible at once:
   * nobody can still be working on them.
   */
  static async open<T>(options: LocalQueueOptions): Promise<LocalQueue<T>> {
    if (!QUEUE_NAME.test(options.name)) {
      throw new Error(
        `Queue name "${options.name}" is not valid: use 1 to 80 letters, digits, - or _`,
      );
    }
    if (options.maxReceiveCount !== undefined && options.maxReceiveCount < 1) {
      throw new Error(`maxReceiveCount of queue ${options.name} must be at least 1`);
    }
    const queue = new LocalQueue<T>(options.name, options);
    if (queue.file && queue.journalFile) {
      const stored = await readQueueFile(queue.file);
      queue.messages = stored.messages;
      queue.deadLetters = stored.deadLetters;
      await queue.replay(queue.journalFile);
      const now = queue.now();
      queue.messages = queue.messages.map((message) =>
        message.inFlight ? { ...message, inFlight: false, visibleAt: now } : message,
      );
      await queue.compact();
    }
    return queue;
  }

  /** Sends messages as JSON bodies, like SQS SendMessageBatch. */
  async send(messages: T[]): Promise<void> {
    const bodies = messages.map((message) => JSON.stringify(message));
    for (const body of bodies) {
      const bytes = Buffer.byteLength(body, 'utf8');
      if (bytes > MAX_MESSAGE_BYTES) throw new MessageTooLargeError(this.name, bytes);
    }
    if (bodies.length === 0) return;
    const now = this.now();
    const added = bodies.flatMap((body) =>
      this.faults?.duplicate()
        ? [newMessage(body, now), newMessage(body, now)]
        : [newMessage(body, now)],
    );
    this.messages.push(...added);
    try {
      await this.append(
        added.map((m) => ({ op: 'send', message: m })),
        true,
      );
    } catch (error) {
      this.forgetMessages(added);
      throw error;
    }
  }

  /** Moves a message body straight to the dead letters, with the reason a person will read. */
  async deadLetter(body: string, reason: string): Promise<void> {
    const now = this.now();
    const deadLetter: DeadLetter = {
      id: randomUUID(),
      body,
      reason,
      receiveCount: 0,
      deadLetteredAt: new Date(now).toISOString(),
      sentAt: new Date(now).toISOString(),
    };
    this.deadLetters.push(deadLetter);
    try {
      await this.append([{ op: 'dead', deadLetter }], true);
    } catch (error) {
      this.deadLetters = this.deadLetters.filter((d) => d !== deadLetter);
      throw error;
    }
  }

  /**
   * Delivers visible messages to `handler` in batches until none is visible
   * (or, with `waitForRetries`, until the queue is empty). Honours partial
   * batch responses; a handler that throws, or names a message not in the
   * batch, fails the whole batch, as Lambda does.
   */
  async drain(handler: LocalQueueHandler, options: DrainOptions = {}): Promise<DrainReport> {
    const batchSize = options.batchSize ?? 10;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
      throw new Error(`batchSize must be an integer from 1 to ${MAX_BATCH_SIZE}, got ${batchSize}`);
    }
    const report: DrainReport = {
      batches: 0,
      delivered: 0,
      succeeded: 0,
      failed: 0,
      deadLettered: 0,
    };
    for (;;) {
      const now = this.now();
      const batch = this.receive(batchSize, now);
      if (batch.length === 0) {
        const nextVisibleAt = options.waitForRetries ? this.nextVisibleAt() : undefined;
        if (nextVisibleAt === undefined) return report;
        await this.sleep(Math.max(0, nextVisibleAt - now));
        continue;
      }
      // Record the receive before delivering, so that a message that crashes the process still counts it.
      await this.append(
        batch.map(({ message }) => ({ op: 'update', message })),
        false,
      );
      const failures = await this.deliver(handler, batch);
      await this.append(this.settle(batch, failures, report), false);
      report.batches += 1;
      report.delivered += batch.length;
    }
  }

  /** The dead letters, oldest first. */
  listDeadLetters(): DeadLetter[] {
    return this.deadLetters.map((deadLetter) => ({ ...deadLetter }));
  }

  /**
   * Moves dead letters (those with the given ids, else all) back to the queue
   * as new messages with a receive count of zero. Resolves to how many moved.
   */
  async redriveDeadLetters(ids?: string[]): Promise<number> {
    const wanted = ids ? new Set(ids) : undefined;
    if (wanted) {
      const known = new Set(this.deadLetters.map((deadLetter) => deadLetter.id));
      const missing = [...wanted].filter((id) => !known.has(id));
      if (missing.length > 0) throw new DeadLetterNotFoundError(this.name, missing);
    }
    const now = this.now();
    const before = this.deadLetters;
    const moving = before.filter((deadLetter) => !wanted || wanted.has(deadLetter.id));
    this.deadLetters = before.filter((deadLetter) => !moving.includes(deadLetter));
    const added = moving.map((deadLetter) => newMessage(deadLetter.body, now));
    this.messages.push(...added);
    if (moving.length > 0) {
      try {
        await this.append(
          [
            { op: 'undead', ids: moving.map((d) => d.id) },
            ...added.map((message) => ({ op: 'send', message }) as const),
          ],
          true,
        );
      } catch (error) {
        const kept = new Set(before);
        this.deadLetters = [...before, ...this.deadLetters.filter((d) => !kept.has(d))];
        this.forgetMessages(added);
        throw error;
      }
    }
    return moving.length;
  }

  /** How many messages are visible, not visible and dead-lettered now. */
  depth(): QueueDepth {
    const now = this.now();
    const visible = this.messages.filter((message) => isVisible(message, now)).length;
    return {
      visible,
      notVisible: this.messages.length - visible,
      deadLetters: this.deadLetters.length,
    };
  }

  private now(): number {
    return this.clock.now().getTime();
  }

  /** Takes back messages whose send failed: the caller was told they were not sent. */
  private forgetMessages(messages: StoredMessage[]): void {
    const gone = new Set(messages);
    this.messages = this.messages.filter((message) => !gone.has(message));
  }

  private receive(
    batchSize: number,
    now: number,
  ): Array<{ message: StoredMessage; record: SQSRecord }> {
    const batch: Array<{ message: StoredMessage; record: SQSRecord }> = [];
    for (const message of this.messages) {
      if (batch.length >= batchSize) break;
      if (!isVisible(message, now)) continue;
      message.receiveCount += 1;
      message.firstReceiveTimestamp ??= now;
      message.visibleAt = now + this.visibilityTimeoutMs;
      message.inFlight = true;
      batch.push({ message, record: this.toRecord(message) });
    }
    this.faults?.reorder(batch);
    return batch;
  }

  private toRecord(message: StoredMessage): SQSRecord {
    return {
      messageId: message.messageId,
      receiptHandle: randomUUID(),
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentTimestamp),
        SenderId: this.accountId,
        ApproximateFirstReceiveTimestamp: String(
          message.firstReceiveTimestamp ?? message.sentTimestamp,
        ),
      },
      messageAttributes: {},
      md5OfBody: createHash('md5').update(message.body, 'utf8').digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: this.arn,
      awsRegion: this.region,
    };
  }

  /** Runs the handler and returns the failed message ids, each with its reason when known. */
  private async deliver(
    handler: LocalQueueHandler,
    batch: Array<{ message: StoredMessage; record: SQSRecord }>,
  ): Promise<Map<string, string | undefined>> {
    const ids = batch.map(({ message }) => message.messageId);
    const failAll = (reason: string) => new Map(ids.map((id) => [id, reason]));
    let response: SQSBatchResponse | undefined;
    try {
      response = await handler({ Records: batch.map(({ record }) => record) });
    } catch (error) {
      return failAll(`handler threw: ${error instanceof Error ? error.message : String(error)}`);
    }
    const failures = new Map<string, string | undefined>();
    for (const failure of (response?.batchItemFailures ?? []) as SQSBatchItemFailureWithReason[]) {
      if (!ids.includes(failure.itemIdentifier)) {
        return failAll(
          `batch response names itemIdentifier "${failure.itemIdentifier}", which is not in the batch`,
        );
      }
      failures.set(
        failure.itemIdentifier,
        typeof failure.reason === 'string' ? failure.reason : undefined,
      );
    }
    return failures;
  }

  private settle(
    batch: Array<{ message: StoredMessage; record: SQSRecord }>,
    failures: Map<string, string | undefined>,
    report: DrainReport,
  ): JournalEntry[] {
    const now = this.now();
    const done = new Set<StoredMessage>();
    const entries: JournalEntry[] = [];
    for (const { message } of batch) {
      message.inFlight = false;
      if (!failures.has(message.messageId) && this.faults?.keepAfterSuccess()) {
        report.succeeded += 1;
        entries.push({ op: 'update', message });
        continue;
      }
      if (!failures.has(message.messageId)) {
        done.add(message);
        entries.push({ op: 'delete', id: message.messageId });
        report.succeeded += 1;
        continue;
      }
      report.failed += 1;
      const reason = failures.get(message.messageId);
      if (reason !== undefined) message.lastError = reason;
      // SQS moves the message when it would be received once more; moving it now has the same end.
      if (message.receiveCount >= this.maxReceiveCount) {
        done.add(message);
        report.deadLettered += 1;
        const deadLetter: DeadLetter = {
          id: message.messageId,
          body: message.body,
          reason:
            `exceeded maxReceiveCount (${this.maxReceiveCount})` +
            (message.lastError ? `; last error: ${message.lastError}` : ''),
          receiveCount: message.receiveCount,
          deadLetteredAt: new Date(now).toISOString(),
          sentAt: new Date(message.sentTimestamp).toISOString(),
        };
        this.deadLetters.push(deadLetter);
        entries.push({ op: 'delete', id: message.messageId }, { op: 'dead', deadLetter });
        continue;
      }
      entries.push({ op: 'update', message });
    }
    // Received messages sit near the front (receive takes the first visible
    // ones): removing them one by one is cheap, where filtering copied the whole
    // queue once per batch.
    for (const message of done) {
      const index = this.messages.indexOf(message);
      if (index >= 0) this.messages.splice(index, 1);
    }
    return entries;
  }

  private nextVisibleAt(): number | undefined {
    let next: number | undefined;
    for (const message of this.messages) {
      if (!message.inFlight && (next === undefined || message.visibleAt < next)) {
        next = message.visibleAt;
      }
    }
    return next;
  }

  /**
   * The last full disk this queue met, if any: a caller that carries on after
   * one (as `close` does) can still say so.
   */
  get lastFullDisk(): QueueFullDiskError | undefined {
    return this.fullDisk;
  }

  /**
   * Folds the journal into the snapshot and releases the journal file; the
   * queue stays usable. On a full disk the journal stays as it is, whole, and
   * is folded in when the queue is next opened: `lastFullDisk` tells.
   */
  async close(): Promise<void> {
    // A failed write has already rejected for its caller.
    await this.writing.catch(() => undefined);
    if (!this.file) return;
    try {
      await this.compact();
    } catch (error) {
      if (!(error instanceof QueueFullDiskError)) throw error;
      await this.journal?.close();
      this.journal = undefined;
      this.logger.warn('queue journal not folded into the snapshot: the disk is full', {
        queue: this.name,
        error: error.message,
      });
    }
  }

  /**
   * Appends entries to the journal; `durable` flushes them to disk before
   * resolving. Rejects with `QueueFullDiskError` when the disk is full, the
   * journal left without any of `entries`.
   */
  private append(entries: JournalEntry[], durable: boolean): Promise<void> {
    const file = this.journalFile;
    if (!file || entries.length === 0) return Promise.resolve();
    const data = Buffer.from(entries.map(journalLine).join(''), 'utf8');
    const write = async (): Promise<void> => {
      try {
        await this.writeJournal(file, data, durable);
      } catch (error) {
        throw this.noteFullDisk(queueWriteError(error, this.name, 'journal', file));
      }
      this.journalLines += entries.length;
      if (
        this.journalLines >
        COMPACT_AFTER_LINES + 4 * (this.messages.length + this.deadLetters.length)
      ) {
        await this.compactInPassing();
      }
    };
    // A failed write rejects for its caller; the next write must still run.
    this.writing = this.writing.then(write, write);
    return this.writing;
  }

  private noteFullDisk(error: unknown): unknown {
    if (error instanceof QueueFullDiskError) this.fullDisk = error;
    return error;
  }

  /** Writes `data` after the last whole record; on failure cuts the file back to it. */
  private async writeJournal(file: string, data: Uint8Array, durable: boolean): Promise<void> {
    if (!this.journal) {
      this.journal = await this.openJournal(file);
      // Torn bytes not yet cut off make the file longer than its whole records.
      if (!this.journalTorn) this.journalSize = await this.journal.size();
    }
    const journal = this.journal;
    if (this.journalTorn) {
      await journal.truncate(this.journalSize);
      this.journalTorn = false;
    }
    try {
      await journal.write(data, this.journalSize);
      if (durable) await journal.sync();
    } catch (error) {
      this.journalTorn = true;
      // Cutting a file shorter needs no free space; should it fail all the same,
      // the next write tries again before writing anything.
      await journal.truncate(this.journalSize).then(
        () => {
          this.journalTorn = false;
        },
        () => undefined,
      );
      throw error;
    }
    this.journalSize += data.length;
  }

  /**
   * Compacts a grown journal after a write that succeeded: that write is on
   * disk whatever happens here, so a full disk is only logged (the caller's
   * records are safe) and the journal keeps growing until the next try.
   */
  private async compactInPassing(): Promise<void> {
    try {
      await this.compact();
    } catch (error) {
      if (!(error instanceof QueueFullDiskError)) throw error;
      this.journalLines = 0;
      this.logger.warn('queue journal not folded into the snapshot; will try again later', {
        queue: this.name,
        error: error.message,
      });
    }
  }

  /** Writes the whole state as the snapshot, then empties the journal. */
  private async compact(): Promise<void> {
    if (!this.file || !this.journalFile) return;
    const content: QueueFile = {
      version: 1,
      messages: this.messages,
      deadLetters: this.deadLetters,
    };
    try {
      await writeFileAtomically(this.file, JSON.stringify(content));
    } catch (error) {
      throw this.noteFullDisk(queueWriteError(error, this.name, 'snapshot', this.file));
    }
    await this.journal?.close();
    this.journal = undefined;
    await rm(this.journalFile, { force: true });
    this.journalLines = 0;
    this.journalSize = 0;
    this.journalTorn = false;
  }

  /** Applies the journal written after the snapshot; every entry is idempotent. */
  private async replay(journalFile: string): Promise<void> {
    let text: string;
    try {
      text = await readFile(journalFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const byId = new Map(this.messages.map((m) => [m.messageId, m]));
    const deadIds = new Set(this.deadLetters.map((d) => d.id));
    const lines = text.split('\n');
    const last = lines.at(-1) === '' ? lines.length - 2 : lines.length - 1;
    for (const [index, line] of lines.entries()) {
      if (line === '') continue;
      let entry: JournalEntry;
      try {
        entry = parseJournalLine(line);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        // A bad last record is a write cut short (a crash, a full disk), never
        // acknowledged; a bad record with whole ones after it is damage.
        if (index === last) {
          this.logger.warn(
            'queue journal ends in a torn record, dropped: its write never completed',
            {
              queue: this.name,
              file: journalFile,
              line: index + 1,
              bytes: Buffer.byteLength(line, 'utf8'),
              reason,
            },
          );
          break;
        }
        throw new QueueFileError(
          journalFile,
          `line ${index + 1} is not a journal entry: ${reason}`,
          {
            cause: error,
          },
        );
      }
      switch (entry.op) {
        case 'send':
        case 'update':
          if (entry.op === 'send' && byId.has(entry.message.messageId)) break;
          if (entry.op === 'update' && !byId.has(entry.message.messageId)) break;
          byId.set(entry.message.messageId, entry.message);
          break;
        case 'delete':
          byId.delete(entry.id);
          break;
        case 'dead':
          if (!deadIds.has(entry.deadLetter.id)) {
            deadIds.add(entry.deadLetter.id);
            this.deadLetters.push(entry.deadLetter);
          }
          break;
        case 'undead': {
          const ids = new Set(entry.ids);
          this.deadLetters = this.deadLetters.filter((d) => !ids.has(d.id));
          for (const id of ids) deadIds.delete(id);
          break;
        }
      }
    }
    this.messages = [...byId.values()];
  }
}

/** Journal lines tolerated beyond four per live message before the journal is folded in. */
const COMPACT_AFTER_LINES = 5_000;

const journalEntrySchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('send'), message: storedMessageSchema }),
  z.object({ op: z.literal('update'), message: storedMessageSchema }),
  z.object({ op: z.literal('delete'), id: z.string() }),
  z.object({ op: z.literal('dead'), deadLetter: deadLetterSchema }),
  z.object({ op: z.literal('undead'), ids: z.array(z.string()) }),
]);
type JournalEntry = z.infer<typeof journalEntrySchema>;

/**
 * One journal record as a line: `<bytes>:<crc32>:<entry as JSON>\n`, the byte
 * length and the CRC-32 (8 hex digits) both of the JSON text, which holds no
 * raw line break.
 */
function journalLine(entry: JournalEntry): string {
  const json = JSON.stringify(entry);
  return `${Buffer.byteLength(json, 'utf8')}:${checksum(json)}:${json}\n`;
}

const FRAMED_LINE = /^(\d+):([0-9a-f]{8}):/;

/**
 * Reads a journal line back; throws saying what is wrong with it. A line in the
 * first format, the bare JSON entry (journals written before records carried a
 * length and checksum), is read as it is.
 */
function parseJournalLine(line: string): JournalEntry {
  const framed = FRAMED_LINE.exec(line);
  let json = line;
  if (framed) {
    json = line.slice(framed[0].length);
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes !== Number(framed[1])) {
      throw new Error(`${bytes} bytes where the record says ${framed[1]}`);
    }
    if (checksum(json) !== framed[2]) throw new Error('its checksum does not match');
  } else if (!line.startsWith('{')) {
    throw new Error('not a record');
  }
  return journalEntrySchema.parse(JSON.parse(json));
}

function checksum(json: string): string {
  return crc32(json).toString(16).padStart(8, '0');
}

function newMessage(body: string, now: number): StoredMessage {
  return {
    messageId: randomUUID(),
    body,
    sentTimestamp: now,
    receiveCount: 0,
    visibleAt: now,
    inFlight: false,
  };
}

function isVisible(message: StoredMessage, now: number): boolean {
  return !message.inFlight && message.visibleAt <= now;
}

async function readQueueFile(file: string): Promise<QueueFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { version: 1, messages: [], deadLetters: [] };
    }
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new QueueFileError(file, 'not JSON', { cause: error });
  }
  const parsed = queueFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new QueueFileError(
      file,
      issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unexpected content',
    );
  }
  return parsed.data;
}

/** Writes to a temporary file, flushes it and renames it over the target, so readers never see half a file. */
async function writeFileAtomically(file: string, content: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${randomUUID()}.tmp`;
  try {
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
