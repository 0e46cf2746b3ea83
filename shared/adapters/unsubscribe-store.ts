/**
 * `UnsubscribeStore` on the unsubscribes table (`TABLES.unsubscribes`), keyed
 * by (`subscriberId`, `watchId`), `watchId` being `*` for every watch.
 *
 * An unsubscription is one conditional put: the first one is kept with its
 * time, a repeat (a second click, a retried POST) changes nothing. Reading a
 * subscriber's unsubscriptions is one Query on its partition.
 */
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { UnsubscribeStore } from '../ports.ts';
import { isConditionalCheckFailed } from './dynamodb.ts';

export class DynamoUnsubscribeStore implements UnsubscribeStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async unsubscribe(subscriberId: string, watchId: string, at: Date): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { subscriberId, watchId, unsubscribedAt: at.toISOString() },
          ConditionExpression: 'attribute_not_exists(subscriberId)',
        }),
      );
    } catch (error) {
      // Already unsubscribed: the first record (and its time) stands.
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async unsubscribedFrom(subscriberId: string): Promise<Set<string>> {
    const watchIds = new Set<string>();
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'subscriberId = :subscriberId',
          ExpressionAttributeValues: { ':subscriberId': subscriberId },
          ProjectionExpression: 'watchId',
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        if (typeof item.watchId === 'string') watchIds.add(item.watchId);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return watchIds;
  }
}
