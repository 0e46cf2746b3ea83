/**
 * `RuleStore` on the rules table (`TABLES.rules`), keyed by (`ruleSet`, `version`).
 *
 * - Version items, `version` 1, 2, ...: the watch file's text, its SHA-256,
 *   author, message, time and number of watches. Large files are stored
 *   gzip-compressed (`sourceGzip`, binary) to stay under the 400 KB item limit.
 * - The pointer item, `version` 0: `current` is the number of the live version.
 *
 * A push is two single-item conditional writes (dynalite has no transactions):
 * a put of the new version that fails if the number is taken, then an update
 * of the pointer that fails unless it still names the version the pusher saw.
 * Of two concurrent pushes at most one moves the pointer; the loser deletes the
 * version item it wrote and reports a conflict.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Clock, RuleDraft, RuleStore, RuleVersion, RuleVersionSummary } from '../ports.ts';
import { systemClock } from '../ports.ts';
import {
  RuleSetTooLargeError,
  RuleVersionConflictError,
  sourceSha256,
} from '../rules/rule-versions.ts';
import { isConditionalCheckFailed, toDocumentClient } from './dynamodb.ts';

/** The rule set every deployment uses unless told otherwise. */
export const DEFAULT_RULE_SET = 'default';

/** Sort key of the pointer item; versions start at 1. */
const POINTER_VERSION = 0;
/** Sources larger than this are stored compressed. */
const COMPRESS_ABOVE_BYTES = 32 * 1024;
/** Most bytes of (possibly compressed) source a version stores; the rest of 400 KB is headroom. */
export const MAX_STORED_SOURCE_BYTES = 350 * 1024;

const SUMMARY_ATTRIBUTES = ['version', 'sha256', 'author', 'message', 'createdAt', 'watchCount'];

/** Options of `DynamoRuleStore`. */
export interface DynamoRuleStoreOptions {
  /** Partition of the table this store reads and writes. Default `default`. */
  ruleSet?: string;
  clock?: Clock;
}

/** `RuleStore` on the DynamoDB (or embedded dynalite) rules table. */
export class DynamoRuleStore implements RuleStore {
  private readonly ruleSet: string;
  private readonly clock: Clock;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoRuleStoreOptions = {},
  ) {
    this.ruleSet = options.ruleSet ?? DEFAULT_RULE_SET;
    this.clock = options.clock ?? systemClock;
  }

  async currentVersion(): Promise<number | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: this.key(POINTER_VERSION),
        ConsistentRead: true,
        ProjectionExpression: '#current',
        ExpressionAttributeNames: { '#current': 'current' },
      }),
    );
    return typeof Item?.current === 'number' ? Item.current : undefined;
  }

  async current(): Promise<RuleVersion | undefined> {
    const version = await this.currentVersion();
    return version === undefined ? undefined : this.get(version);
  }

  async get(version: number): Promise<RuleVersion | undefined> {
    if (!Number.isInteger(version) || version <= POINTER_VERSION) return undefined;
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: this.key(version), ConsistentRead: true }),
    );
    return Item ? { ...toSummary(Item), source: decodeSource(Item) } : undefined;
  }

  async history(limit: number): Promise<RuleVersionSummary[]> {
    const summaries: RuleVersionSummary[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#ruleSet = :ruleSet AND #version > :pointer',
          ProjectionExpression: SUMMARY_ATTRIBUTES.map((a) => `#${a}`).join(', '),
          ExpressionAttributeNames: Object.fromEntries(
            ['ruleSet', ...SUMMARY_ATTRIBUTES].map((a) => [`#${a}`, a]),
          ),
          ExpressionAttributeValues: { ':ruleSet': this.ruleSet, ':pointer': POINTER_VERSION },
          ScanIndexForward: false,
          ConsistentRead: true,
          Limit: limit - summaries.length,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) summaries.push(toSummary(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey && summaries.length < limit);
    return summaries;
  }

  async push(draft: RuleDraft, expectedCurrent: number | undefined): Promise<RuleVersion> {
    const stored = encodeSource(draft.source);
    const live = await this.currentVersion();
    if (live !== expectedCurrent) throw new RuleVersionConflictError(expectedCurrent, live);
    // Above the newest version, not just the pointer: a pusher that died between
    // its two writes leaves a version that never went live, and its number stays taken.
    const version = Math.max((await this.newestVersion()) ?? 0, expectedCurrent ?? 0) + 1;
    const pushed: RuleVersion = {
      version,
      sha256: sourceSha256(draft.source),
      author: draft.author,
      message: draft.message,
      createdAt: this.clock.now().toISOString(),
      watchCount: draft.watchCount,
      source: draft.source,
    };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...this.key(version), ...toSummaryItem(pushed), ...stored },
          ConditionExpression: 'attribute_not_exists(#version)',
          ExpressionAttributeNames: { '#version': 'version' },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      throw new RuleVersionConflictError(expectedCurrent, await this.currentVersion());
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(POINTER_VERSION),
          UpdateExpression: 'SET #current = :version, updatedAt = :at, updatedBy = :author',
          ConditionExpression:
            expectedCurrent === undefined
              ? 'attribute_not_exists(#current)'
              : '#current = :expected',
          ExpressionAttributeNames: { '#current': 'current' },
          ExpressionAttributeValues: {
            ':version': version,
            ':at': pushed.createdAt,
            ':author': draft.author,
            ...(expectedCurrent === undefined ? {} : { ':expected': expectedCurrent }),
          },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // This version never went live and no pointer can name it: remove it from the history.
      await this.client.send(
        new DeleteCommand({ TableName: this.tableName, Key: this.key(version) }),
      );
      throw new RuleVersionConflictError(expectedCurrent, await this.currentVersion());
    }
    return pushed;
  }

  private async newestVersion(): Promise<number | undefined> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#ruleSet = :ruleSet AND #version > :pointer',
        ProjectionExpression: '#version',
        ExpressionAttributeNames: { '#ruleSet': 'ruleSet', '#version': 'version' },
        ExpressionAttributeValues: { ':ruleSet': this.ruleSet, ':pointer': POINTER_VERSION },
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: 1,
      }),
    );
    const newest = Items?.[0]?.version;
    return typeof newest === 'number' ? newest : undefined;
  }

  private key(version: number): { ruleSet: string; version: number } {
    return { ruleSet: this.ruleSet, version };
  }
}

/** Where `openDynamoRuleStore` connects; the AWS environment decides what is absent. */
export interface RuleStoreConnection {
  tableName: string;
  region?: string;
  /**
   * Endpoint override (a local DynamoDB or dynalite). With one, the region
   * defaults to `AWS_REGION`, else us-east-1, and the credentials to dummy ones
   * when the AWS environment has none.
   */
  endpoint?: string;
}

/**
 * What requests to a local endpoint are signed with when the AWS environment
 * has no credentials: DynamoDB Local and dynalite accept any.
 */
const LOCAL_ENDPOINT_CREDENTIALS = {
  accessKeyId: 'wirewatch-local',
  secretAccessKey: 'wirewatch-local',
};

/** A rule store with its own client, for a short-lived command; `close` releases the client. */
export function openDynamoRuleStore(connection: RuleStoreConnection): {
  store: DynamoRuleStore;
  close(): void;
} {
  const { endpoint } = connection;
  const region = connection.region ?? (endpoint ? defaultLocalRegion() : undefined);
  const config = { ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}) };
  const client = new DynamoDBClient(
    endpoint ? { ...config, credentials: credentialsOrLocal(config) } : config,
  );
  return {
    store: new DynamoRuleStore(toDocumentClient(client), connection.tableName),
    close: () => client.destroy(),
  };
}

function defaultLocalRegion(): string {
  return process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
}

/**
 * The credentials the SDK finds in the AWS environment (variables, profiles,
 * ...), so that a DynamoDB Local that keeps a database per access key shows
 * the same tables as the AWS CLI does; {@link LOCAL_ENDPOINT_CREDENTIALS} when
 * there are none.
 */
function credentialsOrLocal(config: DynamoDBClientConfig): DynamoDBClientConfig['credentials'] {
  // A client that is never sent anything, for its default credential chain.
  const fromEnvironment = new DynamoDBClient(config).config.credentials;
  return async () => {
    try {
      return await fromEnvironment();
    } catch (error) {
      if (error instanceof Error && error.name === 'CredentialsProviderError') {
        return LOCAL_ENDPOINT_CREDENTIALS;
      }
      throw error;
    }
  };
}

/** The source as stored: plain text when small, gzip otherwise; throws when too large. */
function encodeSource(source: string): { source: string } | { sourceGzip: Uint8Array } {
  const bytes = Buffer.byteLength(source, 'utf8');
  if (bytes <= COMPRESS_ABOVE_BYTES) return { source };
  const compressed = gzipSync(Buffer.from(source, 'utf8'), { level: 9 });
  if (compressed.length > MAX_STORED_SOURCE_BYTES) {
    throw new RuleSetTooLargeError(bytes, compressed.length, MAX_STORED_SOURCE_BYTES);
  }
  return { sourceGzip: new Uint8Array(compressed) };
}

function decodeSource(item: Record<string, unknown>): string {
  if (typeof item.source === 'string') return item.source;
  if (item.sourceGzip instanceof Uint8Array) {
    return gunzipSync(item.sourceGzip).toString('utf8');
  }
  throw new Error(`rules version ${String(item.version)} has no source`);
}

function toSummaryItem(version: RuleVersionSummary): Record<string, unknown> {
  return {
    sha256: version.sha256,
    author: version.author,
    message: version.message,
    createdAt: version.createdAt,
    watchCount: version.watchCount,
  };
}

function toSummary(item: Record<string, unknown>): RuleVersionSummary {
  const text = (name: string): string => (typeof item[name] === 'string' ? item[name] : '');
  const count = (name: string): number => (typeof item[name] === 'number' ? item[name] : 0);
  return {
    version: count('version'),
    sha256: text('sha256'),
    author: text('author'),
    message: text('message'),
    createdAt: text('createdAt'),
    watchCount: count('watchCount'),
  };
}
