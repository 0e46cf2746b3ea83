/**
 * The DynamoDB tables of wirewatch, defined once. The CDK stack and the
 * embedded bootstrap both build their tables from `TABLES`, so keys, indexes
 * and TTL attributes cannot drift between AWS and a laptop.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/** A DynamoDB scalar type usable in a key: string, number or binary. */
export type KeyAttributeType = 'S' | 'N' | 'B';

/** One key attribute: its name and scalar type. */
export interface KeyAttribute {
  name: string;
  type: KeyAttributeType;
}

/** A global secondary index, always projecting what `projection` says (default `ALL`). */
export interface GlobalSecondaryIndexDefinition {
  indexName: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  projection?: 'ALL' | 'KEYS_ONLY';
}

/** Everything that defines one table, independent of where it is deployed. */
export interface TableDefinition {
  /** PascalCase id: the CDK construct id of the table. */
  logicalId: string;
  /** Environment variable a function reads the deployed table name from. */
  envVar: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  /**
   * Attribute holding the expiry time as epoch seconds. DynamoDB deletes
   * expired items only eventually (dynalite never does), so readers treat an
   * item whose TTL lies in the past as absent.
   */
  ttlAttribute?: string;
  globalSecondaryIndexes?: GlobalSecondaryIndexDefinition[];
}

/** Name of the TTL attribute every table with a TTL uses. */
export const TTL_ATTRIBUTE = 'expiresAt';

/**
 * The tables of wirewatch. Add a table here and both the CDK stack and the
 * embedded bootstrap pick it up.
 */
export const TABLES = {
  /** What the poller remembers about each feed (`FeedState`). */
  feedState: {
    logicalId: 'FeedStateTable',
    envVar: 'FEED_STATE_TABLE_NAME',
    partitionKey: { name: 'feedId', type: 'S' },
  },
  /** One record per (feed, item) seen by the poller, expiring after the feed's retention. */
  seenItems: {
    logicalId: 'SeenItemsTable',
    envVar: 'SEEN_ITEMS_TABLE_NAME',
    partitionKey: { name: 'feedId', type: 'S' },
    sortKey: { name: 'itemId', type: 'S' },
    ttlAttribute: TTL_ATTRIBUTE,
  },
  /**
   * One record per (subscriber, watch, story): the claim and the send of one
   * alert. The sort key is `alertKey`, built by `alertSortKey` in the adapter.
   */
  alertLedger: {
    logicalId: 'AlertLedgerTable',
    envVar: 'ALERT_LEDGER_TABLE_NAME',
    partitionKey: { name: 'subscriberId', type: 'S' },
    sortKey: { name: 'alertKey', type: 'S' },
    ttlAttribute: TTL_ATTRIBUTE,
  },
  /**
   * The versions of the watch file pushed to a deployment. Each rule set
   * (`ruleSet`, normally `default`) holds one item per version (1, 2, ...)
   * with the YAML, and a pointer item at version 0 whose `current` names the
   * live version. Written by `DynamoRuleStore` with single-item conditional writes.
   */
  rules: {
    logicalId: 'RulesTable',
    envVar: 'RULES_TABLE_NAME',
    partitionKey: { name: 'ruleSet', type: 'S' },
    sortKey: { name: 'version', type: 'N' },
  },
  /**
   * Story fingerprints: one record per (fingerprint key, first report), the
   * sort key `reportKey` being `<publishedAt>#<reportId>` so that a look-up
   * reads only the reports of the time window. Each record carries the first
   * report's normalised text. Written by `DynamoStoryStore` with conditional puts.
   */
  storyFingerprints: {
    logicalId: 'StoryFingerprintsTable',
    envVar: 'STORY_FINGERPRINTS_TABLE_NAME',
    partitionKey: { name: 'fingerprintKey', type: 'S' },
    sortKey: { name: 'reportKey', type: 'S' },
    ttlAttribute: TTL_ATTRIBUTE,
  },
  /**
   * What waits to be delivered later, per subscriber: alerts held by quiet
   * hours (sort key `held#...`) and entries of the next digest (`digest#...`).
   * Written by `DynamoPendingAlertStore` with conditional puts, so a
   * redelivered alert is queued once.
   */
  pendingAlerts: {
    logicalId: 'PendingAlertsTable',
    envVar: 'PENDING_ALERTS_TABLE_NAME',
    partitionKey: { name: 'subscriberId', type: 'S' },
    sortKey: { name: 'entryKey', type: 'S' },
    ttlAttribute: TTL_ATTRIBUTE,
  },
  /**
   * Unsubscriptions made with the one-click link in an alert: one record per
   * (subscriber, watch id or `*`). The config file stays the list of
   * subscriptions; this table removes from it.
   */
  unsubscribes: {
    logicalId: 'UnsubscribesTable',
    envVar: 'UNSUBSCRIBES_TABLE_NAME',
    partitionKey: { name: 'subscriberId', type: 'S' },
    sortKey: { name: 'watchId', type: 'S' },
  },
} as const satisfies Record<string, TableDefinition>;

/** Key of a table in `TABLES`. */
export type TableId = keyof typeof TABLES;

/** The deployed (or embedded) name of every table. */
export type TableNames = Record<TableId, string>;

/** Lists the attribute definitions a table needs: its keys and its index keys, once each. */
function attributeDefinitions(definition: TableDefinition): KeyAttribute[] {
  const keys: KeyAttribute[] = [definition.partitionKey];
  if (definition.sortKey) keys.push(definition.sortKey);
  for (const index of definition.globalSecondaryIndexes ?? []) {
    keys.push(index.partitionKey);
    if (index.sortKey) keys.push(index.sortKey);
  }
  const byName = new Map<string, KeyAttribute>();
  for (const key of keys) {
    const known = byName.get(key.name);
    if (known && known.type !== key.type) {
      throw new Error(
        `Table ${definition.logicalId}: attribute ${key.name} is used as ${known.type} and as ${key.type}`,
      );
    }
    byName.set(key.name, key);
  }
  return [...byName.values()];
}

function keySchema(partitionKey: KeyAttribute, sortKey: KeyAttribute | undefined) {
  return [
    { AttributeName: partitionKey.name, KeyType: 'HASH' as const },
    ...(sortKey ? [{ AttributeName: sortKey.name, KeyType: 'RANGE' as const }] : []),
  ];
}

/**
 * Builds the `CreateTable` input for a definition (on-demand billing). The TTL
 * attribute is not part of it: TTL is switched on separately (`UpdateTimeToLive`
 * on AWS, by the CDK `timeToLiveAttribute` prop).
 */
export function toCreateTableInput(
  definition: TableDefinition,
  tableName: string,
): CreateTableCommandInput {
  const indexes = definition.globalSecondaryIndexes ?? [];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: attributeDefinitions(definition).map((key) => ({
      AttributeName: key.name,
      AttributeType: key.type,
    })),
    KeySchema: keySchema(definition.partitionKey, definition.sortKey),
    ...(indexes.length > 0
      ? {
          GlobalSecondaryIndexes: indexes.map((index) => ({
            IndexName: index.indexName,
            KeySchema: keySchema(index.partitionKey, index.sortKey),
            Projection: { ProjectionType: index.projection ?? 'ALL' },
          })),
        }
      : {}),
  };
}

/**
 * CloudFormation output key under which a stack publishes a table's deployed
 * name: the logical id plus `Name`, e.g. `RulesTableName`. The CLI reads it
 * with `--stack`.
 */
export function tableNameOutputKey(tableId: TableId): string {
  return `${TABLES[tableId].logicalId}Name`;
}

/**
 * SSM parameter that holds a table's deployed name for a stage, e.g.
 * `/wirewatch/prod/tables/rules` or `/wirewatch/prod/tables/feed-state`. The
 * CLI reads it with `--stage`.
 */
export function tableNameParameter(stage: string, tableId: TableId): string {
  return `/wirewatch/${stage}/tables/${tableId.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}
