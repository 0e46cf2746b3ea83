/**
 * `StoryStore` on the story fingerprints table (`TABLES.storyFingerprints`),
 * keyed by (`fingerprintKey`, `reportKey` = `<publishedAt>#<reportId>`).
 *
 * A look-up is one Query per fingerprint key, bounded to the time window by
 * the sort key (no scans, no filter over other stories). A first report is
 * written as one conditional put per key, so a redelivered item writes nothing
 * new. Records expire with the window (`expiresAt`, epoch seconds); since
 * neither DynamoDB nor dynalite deletes them on time, expired ones are skipped
 * on read.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import type { Clock, StoryClaim, StoryReport, StoryStore } from '../ports.ts';
import { systemClock } from '../ports.ts';
import { isConditionalCheckFailed, putAll } from './dynamodb.ts';
import { TTL_ATTRIBUTE } from './tables.ts';

/** Requests a store sends at once for one item (its keys' queries or puts). */
const CONCURRENCY = 8;
/** Sorts after every report id in a `reportKey`, closing a time range. */
const AFTER_ANY_ID = '#\uffff';
/**
 * A claim is stored beside the fingerprint records, under `claim:<key>`
 * with this sort key; look-ups never read it, as no fingerprint key starts so.
 */
const CLAIM_PREFIX = 'claim:';
const CLAIM_SORT_KEY = 'claim';

function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** Runs `task` over `inputs`, at most `limit` at a time, keeping the order of results. */
async function mapLimited<T, R>(
  inputs: readonly T[],
  limit: number,
  task: (input: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(inputs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < inputs.length; i = next++) {
      results[i] = await task(inputs[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, inputs.length) }, worker));
  return results;
}

/** Reads a stored record back into a `StoryReport`; `undefined` when it is not one. */
function toStoryReport(item: Record<string, unknown>): StoryReport | undefined {
  const text = (name: string): string | undefined =>
    typeof item[name] === 'string' ? (item[name] as string) : undefined;
  const storyId = text('storyId');
  const reportId = text('reportId');
  const publishedAt = text('publishedAt');
  if (!storyId || !reportId || !publishedAt) return undefined;
  return {
    storyId,
    reportId,
    feed: text('feed') ?? '',
    publishedAt,
    title: text('title') ?? '',
    lede: text('lede') ?? '',
    fingerprintVersion: typeof item.fingerprintVersion === 'number' ? item.fingerprintVersion : 0,
  };
}

/** `StoryStore` on the DynamoDB (or embedded dynalite) story fingerprints table. */
export class DynamoStoryStore implements StoryStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock = systemClock,
  ) {}

  async findFirstReports(keys: readonly string[], from: Date, to: Date): Promise<StoryReport[]> {
    const nowSeconds = epochSeconds(this.clock.now());
    const pages = await mapLimited([...new Set(keys)], CONCURRENCY, (key) =>
      this.query(key, from.toISOString(), `${to.toISOString()}${AFTER_ANY_ID}`),
    );
    const reports = new Map<string, StoryReport>();
    for (const items of pages) {
      for (const item of items) {
        const expiresAt = item[TTL_ATTRIBUTE];
        if (typeof expiresAt === 'number' && expiresAt < nowSeconds) continue;
        const report = toStoryReport(item);
        if (report && !reports.has(report.reportId)) reports.set(report.reportId, report);
      }
    }
    return [...reports.values()];
  }

  async recordFirstReport(
    report: StoryReport,
    keys: readonly string[],
    expiresAt: Date,
  ): Promise<void> {
    // One batched write for every key. The records are derived from the report
    // alone, so writing them again (a redelivery) stores the same records.
    await putAll(
      this.client,
      this.tableName,
      [...new Set(keys)].map((fingerprintKey) => ({
        fingerprintKey,
        reportKey: `${report.publishedAt}#${report.reportId}`,
        ...report,
        [TTL_ATTRIBUTE]: epochSeconds(expiresAt),
      })),
      'story fingerprints',
    );
  }

  async claimStory(
    key: string,
    report: StoryReport,
    expiresAt: Date,
    replacing?: StoryReport,
    attempt = 1,
  ): Promise<StoryClaim> {
    const now = epochSeconds(this.clock.now());
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            fingerprintKey: `${CLAIM_PREFIX}${key}`,
            reportKey: CLAIM_SORT_KEY,
            ...report,
            [TTL_ATTRIBUTE]: epochSeconds(expiresAt),
          },
          // Free, expired, already ours (a redelivery), or held by the report we were told to replace.
          ConditionExpression:
            'attribute_not_exists(fingerprintKey) OR #ttl < :now OR (reportId = :self AND feed = :feed)' +
            (replacing ? ' OR (reportId = :replacing AND feed = :replacingFeed)' : ''),
          ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: {
            ':now': now,
            ':self': report.reportId,
            ':feed': report.feed,
            ...(replacing
              ? { ':replacing': replacing.reportId, ':replacingFeed': replacing.feed }
              : {}),
          },
        }),
      );
      return { won: true };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    const held = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { fingerprintKey: `${CLAIM_PREFIX}${key}`, reportKey: CLAIM_SORT_KEY },
        ConsistentRead: true,
      }),
    );
    const holder = held.Item ? toStoryReport(held.Item) : undefined;
    if (holder) return { won: false, holder };
    // The claim vanished between the write and the read: try again, a few times.
    if (attempt >= 3) throw new Error(`story claim on "${key}" neither held nor writable`);
    return this.claimStory(key, report, expiresAt, replacing, attempt + 1);
  }

  /** All records under one key whose `reportKey` lies in [`from`, `to`]. */
  private async query(
    fingerprintKey: string,
    from: string,
    to: string,
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'fingerprintKey = :key AND reportKey BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':key': fingerprintKey, ':from': from, ':to': to },
          // A report recorded by the previous item must be seen by the next one.
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }
}
