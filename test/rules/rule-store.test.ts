import { randomBytes } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EmbeddedDynamo,
  startEmbeddedDynamo,
} from '../../shared/adapters/embedded-dynamodb.ts';
import { DynamoRuleStore } from '../../shared/adapters/rule-store.ts';
import type { Clock, RuleDraft } from '../../shared/ports.ts';
import {
  RuleSetTooLargeError,
  RuleVersionConflictError,
  sourceSha256,
} from '../../shared/rules/rule-versions.ts';

const clock: Clock = { now: () => new Date('2025-03-01T10:00:00.000Z') };
let ruleSetSequence = 0;

function draft(source: string, author = 'alice', message = 'a change'): RuleDraft {
  return { source, author, message, watchCount: 1 };
}

const V1 = 'watches:\n  - id: troops\n    name: Troops\n    query: troops\n';
const V2 = 'watches:\n  - id: troops\n    name: Troops\n    query: troops AND deploy*\n';

describe('DynamoRuleStore on the embedded DynamoDB', () => {
  let dynamo: EmbeddedDynamo;

  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
  });

  afterAll(async () => {
    await dynamo.stop();
  });

  /** A store on its own rule set, so tests sharing the table never meet. */
  function newStore(): DynamoRuleStore {
    ruleSetSequence += 1;
    return new DynamoRuleStore(dynamo.documentClient, dynamo.tableNames.rules, {
      ruleSet: `test-${ruleSetSequence}`,
      clock,
    });
  }

  it('has no current version and an empty history before the first push', async () => {
    const store = newStore();

    expect(await store.currentVersion()).toBeUndefined();
    expect(await store.current()).toBeUndefined();
    expect(await store.history(10)).toEqual([]);
  });

  it('stores the first push as version 1 with its source, hash, author, message and time', async () => {
    const store = newStore();

    const pushed = await store.push(draft(V1, 'alice', 'first rules'), undefined);

    expect(pushed.version).toBe(1);
    expect(await store.current()).toEqual({
      version: 1,
      source: V1,
      sha256: sourceSha256(V1),
      author: 'alice',
      message: 'first rules',
      createdAt: '2025-03-01T10:00:00.000Z',
      watchCount: 1,
    });
  });

  it('moves the pointer to each new version and lists the history newest first', async () => {
    const store = newStore();
    await store.push(draft(V1, 'alice', 'first'), undefined);

    await store.push(draft(V2, 'bob', 'second'), 1);

    expect(await store.currentVersion()).toBe(2);
    expect((await store.get(1))?.source).toBe(V1);
    const history = await store.history(10);
    expect(history.map((v) => [v.version, v.author, v.message])).toEqual([
      [2, 'bob', 'second'],
      [1, 'alice', 'first'],
    ]);
    expect(await store.history(1)).toHaveLength(1);
  });

  it('refuses a push that expects a version which is no longer live, writing nothing', async () => {
    const store = newStore();
    await store.push(draft(V1), undefined);
    await store.push(draft(V2), 1);

    const stale = store.push(draft('watches: []\n'), 1);

    await expect(stale).rejects.toThrow(RuleVersionConflictError);
    await expect(stale).rejects.toMatchObject({ expected: 1, actual: 2 });
    expect((await store.history(10)).map((v) => v.version)).toEqual([2, 1]);
  });

  it('lets exactly one of several concurrent pushes from the same version win', async () => {
    const store = newStore();
    await store.push(draft(V1), undefined);

    const results = await Promise.allSettled(
      ['a', 'b', 'c', 'd', 'e'].map((who) => store.push(draft(`${V2}# ${who}\n`, who), 1)),
    );

    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.every((r) => r.reason instanceof RuleVersionConflictError)).toBe(true);
    const winner = (won[0] as PromiseFulfilledResult<{ version: number; author: string }>).value;
    expect(await store.currentVersion()).toBe(winner.version);
    const history = await store.history(10);
    expect(history.map((v) => v.version)).toEqual([winner.version, 1]);
    expect(history[0]?.author).toBe(winner.author);
  });

  it('skips the number of a version that never went live (a pusher died between its writes)', async () => {
    const ruleSet = `orphan-${++ruleSetSequence}`;
    const store = new DynamoRuleStore(dynamo.documentClient, dynamo.tableNames.rules, { ruleSet });
    await store.push(draft(V1), undefined);
    await dynamo.documentClient.send(
      new PutCommand({
        TableName: dynamo.tableNames.rules,
        Item: { ruleSet, version: 2, source: 'watches: []\n', author: 'crashed' },
      }),
    );

    const pushed = await store.push(draft(V2), 1);

    expect(pushed.version).toBe(3);
    expect(await store.currentVersion()).toBe(3);
  });

  it('stores a large watch file compressed and returns it byte for byte', async () => {
    const store = newStore();
    const watches = Array.from(
      { length: 6000 },
      (_, i) =>
        `  - id: watch-${i}\n    name: Watch ${i} — Pyongyang, Kyïv\n    query: troops${i}\n`,
    );
    const large = `watches:\n${watches.join('')}`;
    expect(Buffer.byteLength(large)).toBeGreaterThan(400 * 1024);

    await store.push(draft(large), undefined);

    const stored = await store.current();
    expect(stored?.source).toBe(large);
    expect(stored?.sha256).toBe(sourceSha256(large));
  });

  it('rejects a watch file too large even compressed, writing nothing', async () => {
    const store = newStore();
    const incompressible = `# ${randomBytes(400 * 1024).toString('base64')}\nwatches: []\n`;

    await expect(store.push(draft(incompressible), undefined)).rejects.toThrow(
      RuleSetTooLargeError,
    );
    expect(await store.history(10)).toEqual([]);
    expect(await store.currentVersion()).toBeUndefined();
  });

  it('returns undefined for a version that does not exist', async () => {
    const store = newStore();
    await store.push(draft(V1), undefined);

    expect(await store.get(7)).toBeUndefined();
    expect(await store.get(0)).toBeUndefined();
  });
});
