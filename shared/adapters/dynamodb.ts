/**
 * DynamoDB implementations of the stores in `shared/ports.ts`. They use only
 * single-item conditional writes (no transactions), so the same code runs on
 * DynamoDB and on dynalite, and they treat an item whose TTL has passed as
 * absent in every read and every condition, because neither DynamoDB (which
 * deletes expired items eventually) nor dynalite (which never does) removes it
 * on time.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type {
  AlertKey,
  AlertLedger,
  ClaimResult,
  Clock,
  FeedError,
  FeedState,
  FeedStateStore,
  FirstReport,
  PendingAlertStore,
  PendingEntry,
  SeenItemsStore,
  SentDetail,
} from '../ports.ts';
import { TTL_ATTRIBUTE } from './tables.ts';

/** Wraps a low-level client in a document client with the marshalling wirewatch relies on. */
export function toDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    // Optional fields of FeedState and the ledger are left undefined, not stored as NULL.
    marshallOptions: { removeUndefinedValues: true },
  });
}

/** What `countDynamoRequests` has counted so far. */
export interface DynamoRequestCounter {
  /** Requests sent, retries not included (one per command). */
  readonly total: number;
  /** Requests per operation name, e.g. `{ PutItem: 3, GetItem: 1 }`. */
  readonly byOperation: Readonly<Record<string, number>>;
  /** Write request units the requests cost on-demand (1 per KiB of each item written). */
  readonly writeUnits: number;
  /** Read request units (strongly consistent: 1 per 4 KiB read). */
  readonly readUnits: number;
  reset(): void;
}

function kib(value: unknown, unit: number): number {
  return Math.max(1, Math.ceil(Buffer.byteLength(JSON.stringify(value ?? {})) / unit));
}

/**
 * Counts the requests a client sends from now on, by adding a middleware to
 * its stack. A document client shares the stack of the client it wraps, so
 * either can be passed. Meant for benchmarks (requests per new item).
 */
export function countDynamoRequests(
  client: DynamoDBClient | DynamoDBDocumentClient,
): DynamoRequestCounter {
  let total = 0;
  let byOperation: Record<string, number> = {};
  let writeUnits = 0;
  let readUnits = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      total += 1;
      byOperation[operation] = (byOperation[operation] ?? 0) + 1;
      const input = args.input as Record<string, unknown>;
      if (operation === 'PutItem') writeUnits += kib(input.Item, 1024);
      else if (operation === 'UpdateItem' || operation === 'DeleteItem') writeUnits += 1;
      else if (operation === 'BatchWriteItem') {
        for (const requests of Object.values(
          (input.RequestItems ?? {}) as Record<string, unknown[]>,
        )) {
          for (const request of requests) writeUnits += kib(request, 1024);
        }
      }
      const result = await next(args);
      if (operation === 'GetItem' || operation === 'Scan' || operation === 'Query') {
        const output = result.output as { Item?: unknown; Items?: unknown[] };
        readUnits += kib(output.Items ?? output.Item, 4096);
      }
      return result;
    },
    { step: 'initialize', name: 'wirewatchCountDynamoRequests', override: true },
  );
  return {
    get total() {
      return total;
    },
    get byOperation() {
      return { ...byOperation };
    },
    get writeUnits() {
      return writeUnits;
    },
    get readUnits() {
      return readUnits;
    },
    reset() {
      total = 0;
      byOperation = {};
      writeUnits = 0;
      readUnits = 0;
    },
  };
}

/** True when the error is DynamoDB's answer to a failed condition expression. */
export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** DynamoDB TTL granularity: whole seconds since the epoch. */
function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** True when an item's TTL attribute says it has expired at `now` (DynamoDB: TTL < now). */
function hasExpired(item: Record<string, unknown>, now: Date): boolean {
  const expiresAt = item[TTL_ATTRIBUTE];
  return typeof expiresAt === 'number' && expiresAt < epochSeconds(now);
}

/** Condition fragment: the TTL attribute exists and is in the past (`#ttl`, `:nowSeconds`). */
const EXPIRED = '#ttl < :nowSeconds';

/** Most keys one BatchGetItem takes. */
const BATCH_GET_LIMIT = 100;
/** Most put requests one BatchWriteItem takes. */
const BATCH_WRITE_LIMIT = 25;
/** Tries of a batch whose items DynamoDB left unprocessed (throttling). */
const BATCH_WRITE_ATTEMPTS = 5;
type BatchWriteRequests = NonNullable<BatchWriteCommandInput['RequestItems']>[string];

/**
 * Sends `requests` (puts or deletes) with BatchWriteItem, 25 a request,
 * retrying what DynamoDB leaves unprocessed (throttling) with back-off; `what`
 * names them in the error.
 */
async function writeAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  requests: BatchWriteRequests,
  what: string,
): Promise<void> {
  for (let i = 0; i < requests.length; i += BATCH_WRITE_LIMIT) {
    let batch = requests.slice(i, i + BATCH_WRITE_LIMIT);
    for (let attempt = 0; batch.length > 0; attempt++) {
      if (attempt >= BATCH_WRITE_ATTEMPTS) {
        throw new Error(`could not write ${batch.length} ${what} to ${tableName} (throttled)`);
      }
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      const { UnprocessedItems } = await client.send(
        new BatchWriteCommand({ RequestItems: { [tableName]: batch } }),
      );
      batch = UnprocessedItems?.[tableName] ?? [];
    }
  }
}

/** Puts `items` in batches (see `writeAll`). */
export function putAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  items: Record<string, unknown>[],
  what: string,
): Promise<void> {
  return writeAll(
    client,
    tableName,
    items.map((item) => ({ PutRequest: { Item: item } })),
    what,
  );
}

/** `FeedStateStore` on a table keyed by `feedId` (`TABLES.feedState`). */
export class DynamoFeedStateStore implements FeedStateStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(feedId: string): Promise<FeedState | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { feedId }, ConsistentRead: true }),
    );
    return Item ? toFeedState(Item) : undefined;
  }

  async put(state: FeedState): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...state } }));
  }

  async putMany(states: FeedState[]): Promise<void> {
    await putAll(
      this.client,
      this.tableName,
      states.map((state) => ({ ...state })),
      'feed states',
    );
  }

  async list(): Promise<FeedState[]> {
    const states: FeedState[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) states.push(toFeedState(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return states.sort((a, b) => a.feedId.localeCompare(b.feedId));
  }
}

/** Reads a stored item back into a `FeedState`, keeping only its known fields. */
function toFeedState(item: Record<string, unknown>): FeedState {
  const text = (name: string): string | undefined =>
    typeof item[name] === 'string' ? (item[name] as string) : undefined;
  const count = (name: string): number =>
    typeof item[name] === 'number' ? (item[name] as number) : 0;
  const state: FeedState = {
    feedId: text('feedId') ?? '',
    url: text('url') ?? '',
    consecutiveFailures: count('consecutiveFailures'),
    itemsSeenTotal: count('itemsSeenTotal'),
  };
  for (const name of [
    'etag',
    'lastModified',
    'lastPolledAt',
    'lastSuccessAt',
    'nextPollAt',
    'configuredUrl',
    'failingSince',
    'backoffUntil',
    'lastNewItemAt',
    'lastItemPublishedAt',
    'itemsPerDayAt',
    'statsSince',
    'recentItems',
  ] as const) {
    const value = text(name);
    if (value !== undefined) state[name] = value;
  }
  for (const name of ['itemsPerDay', 'cadenceSeconds', 'ttlMinutes', 'maxAgeSeconds'] as const) {
    const value = item[name];
    if (typeof value === 'number' && Number.isFinite(value)) state[name] = value;
  }
  if (Array.isArray(item.skipHours)) {
    state.skipHours = item.skipHours.filter((h): h is number => typeof h === 'number');
  }
  const lastError = item.lastError;
  if (lastError && typeof lastError === 'object') {
    const error = lastError as Partial<FeedError>;
    state.lastError = {
      kind: String(error.kind ?? ''),
      message: String(error.message ?? ''),
      at: String(error.at ?? ''),
    };
  }
  return state;
}

/** `SeenItemsStore` on a table keyed by (`feedId`, `itemId`) with a TTL (`TABLES.seenItems`). */
export class DynamoSeenItemsStore implements SeenItemsStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock,
  ) {}

  async markSeen(feedId: string, itemId: string, expiresAt: Date): Promise<boolean> {
    const now = this.clock.now();
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            feedId,
            itemId,
            seenAt: now.toISOString(),
            [TTL_ATTRIBUTE]: epochSeconds(expiresAt),
          },
          ConditionExpression: `attribute_not_exists(feedId) OR ${EXPIRED}`,
          ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':nowSeconds': epochSeconds(now) },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async whichSeen(feedId: string, keys: readonly string[]): Promise<Set<string>> {
    const seen = new Set<string>();
    const now = this.clock.now();
    const unique = [...new Set(keys)];
    for (let i = 0; i < unique.length; i += BATCH_GET_LIMIT) {
      let pending: Record<string, unknown>[] = unique
        .slice(i, i + BATCH_GET_LIMIT)
        .map((itemId) => ({ feedId, itemId }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= BATCH_WRITE_ATTEMPTS) {
          throw new Error(
            `could not read ${pending.length} seen items from ${this.tableName} (throttled)`,
          );
        }
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        const { Responses, UnprocessedKeys } = await this.client.send(
          new BatchGetCommand({
            RequestItems: {
              [this.tableName]: {
                Keys: pending,
                ConsistentRead: true,
                ProjectionExpression: 'itemId, #ttl',
                ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
              },
            },
          }),
        );
        for (const item of Responses?.[this.tableName] ?? []) {
          if (!hasExpired(item, now)) seen.add(String(item.itemId));
        }
        pending = UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return seen;
  }

  async markSeenMany(feedId: string, keys: readonly string[], expiresAt: Date): Promise<void> {
    const seenAt = this.clock.now().toISOString();
    const items = keys.map((itemId) => ({
      feedId,
      itemId,
      seenAt,
      [TTL_ATTRIBUTE]: epochSeconds(expiresAt),
    }));
    await putAll(this.client, this.tableName, items, 'seen items');
  }

  async forget(feedId: string, itemId: string): Promise<void> {
    await this.client.send(
      new DeleteCommand({ TableName: this.tableName, Key: { feedId, itemId } }),
    );
  }
}

/** Thrown when `markSent` or `release` is called with a token that no longer holds the claim. */
export class ClaimLostError extends Error {
  constructor(
    readonly key: AlertKey,
    readonly operation: 'markSent' | 'markRejected' | 'release',
  ) {
    super(
      `${operation} failed: the claim on alert (subscriber ${key.subscriberId}, watch ${key.watchId}, ` +
        `story ${key.storyId}, channel ${key.channel}) is no longer held by this token (lease taken over, released or expired)`,
    );
    this.name = 'ClaimLostError';
  }
}

/**
 * Sort key of an alert within its subscriber's partition. Each part is
 * URI-encoded so that a `#` inside an id cannot make two keys collide.
 */
export function alertSortKey(key: Pick<AlertKey, 'watchId' | 'storyId' | 'channel'>): string {
  return [key.watchId, key.storyId, key.channel].map(encodeURIComponent).join('#');
}

/** How many times `claim` re-reads and retries when the record changes under it. */
const CLAIM_ATTEMPTS = 3;

/**
 * `AlertLedger` on a table keyed by (`subscriberId`, `alertKey`) with a TTL
 * (`TABLES.alertLedger`). A record is `claimed` (with a token and the claim
 * time in epoch milliseconds) or `sent`.
 */
export class DynamoAlertLedger implements AlertLedger {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock,
  ) {}

  async claim(
    key: AlertKey,
    leaseMs: number,
    expiresAt: Date,
    options: { retryRejected?: boolean } = {},
  ): Promise<ClaimResult> {
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt += 1) {
      const now = this.clock.now();
      const token = randomUUID();
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              ...this.key(key),
              watchId: key.watchId,
              storyId: key.storyId,
              status: 'claimed',
              token,
              claimedAt: now.getTime(),
              [TTL_ATTRIBUTE]: epochSeconds(expiresAt),
            },
            ConditionExpression:
              `attribute_not_exists(subscriberId) OR ${EXPIRED}` +
              ' OR (#status = :claimed AND #claimedAt < :staleBefore)' +
              (options.retryRejected ? ' OR #status = :rejected' : ''),
            ExpressionAttributeNames: {
              '#ttl': TTL_ATTRIBUTE,
              '#status': 'status',
              '#claimedAt': 'claimedAt',
            },
            ExpressionAttributeValues: {
              ':nowSeconds': epochSeconds(now),
              ':claimed': 'claimed',
              ':staleBefore': now.getTime() - leaseMs,
              ...(options.retryRejected ? { ':rejected': 'rejected' } : {}),
            },
          }),
        );
        return { outcome: 'claimed', token };
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
      // dynalite does not support ReturnValuesOnConditionCheckFailure, hence the read.
      const held = await this.peek(key);
      if (held) return held;
      // The record was released or expired between the write and the read: try again.
    }
    return { outcome: 'in-progress' };
  }

  async peek(key: AlertKey): Promise<Exclude<ClaimResult, { outcome: 'claimed' }> | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: this.key(key), ConsistentRead: true }),
    );
    if (!Item || hasExpired(Item, this.clock.now())) return undefined;
    if (Item.status === 'sent') {
      return {
        outcome: 'already-sent',
        sentAt: String(Item.sentAt),
        ...(isFirstReport(Item.first) ? { first: Item.first } : {}),
        ...(typeof Item.ref === 'string' ? { ref: Item.ref } : {}),
      };
    }
    if (Item.status === 'rejected') {
      return { outcome: 'rejected', reason: String(Item.rejectedReason ?? 'rejected') };
    }
    return { outcome: 'in-progress' };
  }

  async markRejected(
    key: AlertKey,
    token: string,
    detail: { reason: string; at: string },
  ): Promise<void> {
    await this.closeClaim(key, token, 'markRejected', {
      status: 'rejected',
      rejectedReason: detail.reason,
      rejectedAt: detail.at,
    });
  }

  async markSent(key: AlertKey, token: string, detail: SentDetail): Promise<void> {
    await this.closeClaim(key, token, 'markSent', {
      status: 'sent',
      sentAt: detail.sentAt,
      channel: detail.channel,
      ...(detail.first ? { first: detail.first } : {}),
      ...(detail.ref !== undefined ? { ref: detail.ref } : {}),
    });
  }

  /** Sets `fields` on a claimed record, only for the holder of `token`. */
  private async closeClaim(
    key: AlertKey,
    token: string,
    operation: 'markSent' | 'markRejected',
    fields: Record<string, unknown>,
  ): Promise<void> {
    const names = Object.keys(fields);
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(key),
          UpdateExpression: `SET ${names.map((_, i) => `#f${i} = :f${i}`).join(', ')}`,
          ConditionExpression: '#token = :token',
          ExpressionAttributeNames: {
            '#token': 'token',
            ...Object.fromEntries(names.map((name, i) => [`#f${i}`, name])),
          },
          ExpressionAttributeValues: {
            ':token': token,
            ...Object.fromEntries(names.map((name, i) => [`:f${i}`, fields[name]])),
          },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new ClaimLostError(key, operation);
      throw error;
    }
  }

  async release(key: AlertKey, token: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: this.key(key),
          ConditionExpression: '#token = :token AND #status = :claimed',
          ExpressionAttributeNames: { '#status': 'status', '#token': 'token' },
          ExpressionAttributeValues: { ':token': token, ':claimed': 'claimed' },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new ClaimLostError(key, 'release');
      throw error;
    }
  }

  private key(key: AlertKey): { subscriberId: string; alertKey: string } {
    return { subscriberId: key.subscriberId, alertKey: alertSortKey(key) };
  }
}

function isFirstReport(value: unknown): value is FirstReport {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.itemId === 'string' &&
    typeof record.title === 'string' &&
    typeof record.feed === 'string'
  );
}

/** `PendingAlertStore` on `TABLES.pendingAlerts`: entries keyed (`subscriberId`, `entryKey`). */
export class DynamoPendingAlertStore implements PendingAlertStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock,
  ) {}

  async add(entry: PendingEntry, expiresAt: Date): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...entry, [TTL_ATTRIBUTE]: epochSeconds(expiresAt) },
          ConditionExpression: 'attribute_not_exists(subscriberId)',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async list(
    subscriberId: string,
    kind: 'held' | 'digest',
    channel?: string,
  ): Promise<PendingEntry[]> {
    const prefix = channel === undefined ? `${kind}#` : `${kind}#${channel}#`;
    const entries: PendingEntry[] = [];
    let startKey: Record<string, unknown> | undefined;
    const now = this.clock.now();
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'subscriberId = :s AND begins_with(entryKey, :prefix)',
          ExpressionAttributeValues: { ':s': subscriberId, ':prefix': prefix },
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        if (hasExpired(item, now)) continue;
        entries.push({
          subscriberId: String(item.subscriberId),
          entryKey: String(item.entryKey),
          kind: item.kind === 'held' ? 'held' : 'digest',
          queuedAt: String(item.queuedAt),
          body: String(item.body),
          ...(typeof item.releaseAt === 'string' ? { releaseAt: item.releaseAt } : {}),
          ...(typeof item.channel === 'string' ? { channel: item.channel } : {}),
        });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return entries.sort((a, b) =>
      a.queuedAt === b.queuedAt
        ? a.entryKey.localeCompare(b.entryKey)
        : a.queuedAt < b.queuedAt
          ? -1
          : 1,
    );
  }

  async remove(subscriberId: string, entryKeys: readonly string[]): Promise<void> {
    await writeAll(
      this.client,
      this.tableName,
      entryKeys.map((entryKey) => ({ DeleteRequest: { Key: { subscriberId, entryKey } } })),
      'pending alert removals',
    );
  }
}
