/**
 * The messages on the items and alerts queues. Each carries a schema version
 * and is validated where it is sent and where it is received; a message that
 * fails validation is a poison message and goes to the dead-letter queue with
 * the reason, never retried.
 */
import { z } from 'zod';
import { ITEM_BOUNDS } from './feeds/item.ts';

/** An item, within the bounds normalisation keeps it to (so its message fits a queue). */
const ItemSchema = z.object({
  id: z.string().min(1).max(1024),
  feed: z.string().min(1),
  title: z.string().max(ITEM_BOUNDS.titleChars),
  summary: z.string().max(ITEM_BOUNDS.summaryChars),
  summaryHtml: z.string().max(ITEM_BOUNDS.summaryHtmlChars).optional(),
  link: z.string().max(ITEM_BOUNDS.linkChars).optional(),
  published: z.string().optional(),
  lang: z.string().optional(),
});

/**
 * Follows one item through the pipeline: the poller gives each item it queues
 * one, the classifier copies it into the item's alerts, and every log line
 * written for the item or its alerts carries it as `correlationId`. Optional,
 * so that messages queued before it existed still validate.
 */
const CorrelationIdSchema = z.string().min(1).max(128);

/** items queue: one new item, from the poller to the classifier. */
export const ItemMessageSchema = z.object({
  type: z.literal('item'),
  version: z.literal(1),
  item: ItemSchema,
  polledAt: z.string(),
  correlationId: CorrelationIdSchema.optional(),
});
export type ItemMessage = z.infer<typeof ItemMessageSchema>;

const MatchedTermSchema = z.object({
  term: z.string(),
  field: z.enum(['title', 'summary']),
  start: z.number().int().nonnegative(),
  end: z.number().int().nonnegative(),
});

/** alerts queue: one (subscriber, watch, story) alert, from the classifier to the notifier. */
export const AlertMessageSchema = z.object({
  type: z.literal('alert'),
  version: z.literal(1),
  alertId: z.string().min(1),
  subscriberId: z.string().min(1),
  watchId: z.string().min(1),
  watchName: z.string(),
  severity: z.string(),
  storyId: z.string().min(1),
  item: ItemSchema,
  matchedTerms: z.array(MatchedTermSchema),
  ruleVersion: z.string().optional(),
  createdAt: z.string(),
  /** Set on a dead-lettered alert so that its redrive tries destinations that rejected it. */
  retryRejected: z.boolean().optional(),
  /**
   * Where the item stands in its story: its first report, a later report
   * (an "also reported by" follow-up once alerted) or an update with new facts
   * that the watch asked to be alerted to again. Absent means `first`.
   */
  storyReport: z.enum(['first', 'later', 'update']).optional(),
  /** Set when quiet hours held the alert and it is now released: send it now. */
  released: z.boolean().optional(),
  /** That of the item message the alert was made for. */
  correlationId: CorrelationIdSchema.optional(),
});
export type AlertMessage = z.infer<typeof AlertMessageSchema>;

/**
 * Largest message body a queue accepts, in bytes: SQS's limit, which the
 * embedded queue enforces too. A sender checks a message against it before it
 * sends, so that one message too large is refused on its own.
 */
export const MAX_MESSAGE_BYTES = 256 * 1024;

/** Thrown for a message body that is not a valid message; the text is the DLQ reason. */
export class InvalidMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidMessageError';
  }
}

/** Parses and validates a queue message body against `schema`. */
export function decodeMessage<T>(schema: z.ZodType<T>, body: string): T {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new InvalidMessageError('body is not JSON');
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new InvalidMessageError(
      `invalid message: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'does not match the schema'}`,
    );
  }
  return result.data;
}

/**
 * The correlation id of a queue message body, read without validating the
 * rest, so that the log lines of a message that turns out invalid carry it too.
 */
export function correlationIdOf(body: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || !('correlationId' in value)) return undefined;
  const result = CorrelationIdSchema.safeParse(value.correlationId);
  return result.success ? result.data : undefined;
}

/**
 * When the message in `body` was first queued: an item message's `polledAt`,
 * an alert message's `createdAt` (copies queued again keep them).
 */
export function firstQueuedAtOf(body: string): Date | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const stamp =
    'createdAt' in value ? value.createdAt : 'polledAt' in value ? value.polledAt : undefined;
  const at = typeof stamp === 'string' ? Date.parse(stamp) : Number.NaN;
  return Number.isNaN(at) ? undefined : new Date(at);
}

/** Validates a message before it is sent, so a bug never puts a bad message on a queue. */
export function encodeMessage<T>(schema: z.ZodType<T>, message: T): T {
  const result = schema.safeParse(message);
  if (!result.success) {
    throw new InvalidMessageError(
      `refusing to send an invalid message: ${result.error.issues[0]?.message}`,
    );
  }
  return result.data;
}
