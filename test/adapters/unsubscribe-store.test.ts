import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countDynamoRequests } from '../../shared/adapters/dynamodb.ts';
import {
  type EmbeddedDynamo,
  startEmbeddedDynamo,
} from '../../shared/adapters/embedded-dynamodb.ts';
import { DynamoUnsubscribeStore } from '../../shared/adapters/unsubscribe-store.ts';

describe('DynamoUnsubscribeStore on the embedded DynamoDB', () => {
  let dataDir: string;
  let dynamo: EmbeddedDynamo;
  let store: DynamoUnsubscribeStore;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'wirewatch-unsubscribes-'));
    dynamo = await startEmbeddedDynamo({ dataDir });
    store = new DynamoUnsubscribeStore(dynamo.documentClient, dynamo.tableNames.unsubscribes);
  });

  afterAll(async () => {
    await dynamo.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('returns an empty set for a subscriber who never unsubscribed', async () => {
    expect(await store.unsubscribedFrom('never-unsubscribed')).toEqual(new Set());
  });

  it("returns the subscriber's watches and * and nobody else's", async () => {
    const at = new Date('2025-03-05T14:00:00Z');
    await store.unsubscribe('analyst-a', 'dprk-troops', at);
    await store.unsubscribe('analyst-a', 'patriot-transfers', at);
    await store.unsubscribe('analyst-b', '*', at);

    expect(await store.unsubscribedFrom('analyst-a')).toEqual(
      new Set(['dprk-troops', 'patriot-transfers']),
    );
    expect(await store.unsubscribedFrom('analyst-b')).toEqual(new Set(['*']));
  });

  it('keeps the first unsubscription time when the same unsubscription is repeated', async () => {
    await store.unsubscribe('analyst-c', 'dprk-troops', new Date('2025-03-05T14:00:00Z'));

    await store.unsubscribe('analyst-c', 'dprk-troops', new Date('2025-03-06T09:30:00Z'));

    const { Item } = await dynamo.documentClient.send(
      new GetCommand({
        TableName: dynamo.tableNames.unsubscribes,
        Key: { subscriberId: 'analyst-c', watchId: 'dprk-troops' },
      }),
    );
    expect(Item?.unsubscribedAt).toBe('2025-03-05T14:00:00.000Z');
    expect(await store.unsubscribedFrom('analyst-c')).toEqual(new Set(['dprk-troops']));
  });

  it('reads a subscriber with one Query and writes each unsubscription with one Put', async () => {
    const counter = countDynamoRequests(dynamo.documentClient);
    await store.unsubscribe('analyst-d', 'dprk-troops', new Date('2025-03-05T14:00:00Z'));
    await store.unsubscribe('analyst-d', '*', new Date('2025-03-05T14:00:00Z'));

    await store.unsubscribedFrom('analyst-d');

    expect(counter.byOperation).toEqual({ PutItem: 2, Query: 1 });
  });

  it('keeps unsubscriptions across a restart of the embedded stack', async () => {
    await store.unsubscribe('analyst-e', 'dprk-troops', new Date('2025-03-05T14:00:00Z'));
    await dynamo.stop();

    dynamo = await startEmbeddedDynamo({ dataDir });
    store = new DynamoUnsubscribeStore(dynamo.documentClient, dynamo.tableNames.unsubscribes);

    expect(await store.unsubscribedFrom('analyst-e')).toEqual(new Set(['dprk-troops']));
  });
});
