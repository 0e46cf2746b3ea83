import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EmbeddedDynamo,
  startEmbeddedDynamo,
} from '../../shared/adapters/embedded-dynamodb.ts';
import { DynamoRuleStore } from '../../shared/adapters/rule-store.ts';
import type { AlertMessage, ItemMessage } from '../../shared/messages.ts';
import { classifyItem } from '../../shared/pipeline/classify.ts';
import type { Logger, RuleStore, RuleVersion, Subscriber } from '../../shared/ports.ts';
import {
  compileVersion,
  NoRulesError,
  TableWatchSource,
} from '../../shared/rules/table-watch-source.ts';
import { manualClock } from '../support/manual-clock.ts';

/** A clock the test moves by hand. */

/** A logger that keeps what it is given. */
function recordingLogger(): Logger & { errors: { message: string; fields?: unknown }[] } {
  const errors: { message: string; fields?: unknown }[] = [];
  return {
    errors,
    info() {},
    warn() {},
    error(message, fields) {
      errors.push({ message, fields });
    },
  };
}

function watchFile(id: string, query: string): string {
  return `watches:\n  - id: ${id}\n    name: ${id}\n    query: '${query}'\n`;
}

const TROOPS = watchFile('troops', 'troops');
const PATRIOT = watchFile('patriot', 'patriot');
/** Valid YAML that does not compile: two words with no operator. */
const BROKEN = watchFile('broken', 'north korea');

const item: ItemMessage = {
  type: 'item',
  version: 1,
  polledAt: '2025-03-01T10:00:00Z',
  item: {
    id: 'item-1',
    feed: 'wire-a',
    title: 'Patriot battery and troops arrive',
    summary: 'Soldiers unloaded it.',
  },
};

let ruleSetSequence = 0;

function stored(source: string): RuleVersion {
  return {
    version: 1,
    source,
    sha256: '',
    author: 'a',
    message: 'm',
    createdAt: '',
    watchCount: 1,
  };
}

describe('TableWatchSource', () => {
  let dynamo: EmbeddedDynamo;

  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
  });

  afterAll(async () => {
    await dynamo.stop();
  });

  function newStore(): RuleStore {
    ruleSetSequence += 1;
    return new DynamoRuleStore(dynamo.documentClient, dynamo.tableNames.rules, {
      ruleSet: `source-${ruleSetSequence}`,
    });
  }

  async function push(store: RuleStore, source: string): Promise<number> {
    const current = await store.currentVersion();
    return (await store.push({ source, author: 'test', message: 'm', watchCount: 1 }, current))
      .version;
  }

  it('runs the live version, its number as the rule set version', async () => {
    const store = newStore();
    await push(store, TROOPS);
    const source = new TableWatchSource(store, recordingLogger());

    const ruleSet = await source.current();

    expect(ruleSet.version).toBe('1');
    expect([...ruleSet.watches.keys()]).toEqual(['troops']);
  });

  it('picks up a new version after the refresh interval and not before', async () => {
    const store = newStore();
    await push(store, TROOPS);
    const clock = manualClock('2025-03-01T10:00:00Z');
    const source = new TableWatchSource(store, recordingLogger(), { refreshMs: 60_000, clock });
    await source.current();

    await push(store, PATRIOT);
    clock.advance(59_000);
    const before = await source.current();
    clock.advance(1_000);
    const after = await source.current();

    expect(before.version).toBe('1');
    expect(after.version).toBe('2');
    expect([...after.watches.keys()]).toEqual(['patriot']);
  });

  it('keeps the last good rule set when the pointer moves to a version that does not compile', async () => {
    const store = newStore();
    await push(store, TROOPS);
    const clock = manualClock('2025-03-01T10:00:00Z');
    const logger = recordingLogger();
    const source = new TableWatchSource(store, logger, { refreshMs: 60_000, clock });
    await source.current();

    await push(store, BROKEN);
    clock.advance(60_000);
    const kept = await source.current();
    clock.advance(60_000);
    await source.current();

    expect(kept.version).toBe('1');
    expect(logger.errors).toHaveLength(1);
    expect(logger.errors[0]?.message).toContain('has errors');
    expect(JSON.stringify(logger.errors[0]?.fields)).toContain('missing operator');

    await push(store, PATRIOT);
    clock.advance(60_000);
    expect((await source.current()).version).toBe('3');
  });

  it('starts on the newest earlier version that compiles when the live one does not', async () => {
    const store = newStore();
    await push(store, TROOPS);
    await push(store, BROKEN);
    const logger = recordingLogger();

    const ruleSet = await new TableWatchSource(store, logger).current();

    expect(ruleSet.version).toBe('1');
    expect(logger.errors).toHaveLength(1);
  });

  it('starts on the newest earlier version when the live one fails to load in any way', async () => {
    const store = newStore();
    await push(store, TROOPS);
    await push(store, PATRIOT);
    // A damaged row: the stored version has lost its source text.
    const damaged: RuleStore = {
      ...store,
      currentVersion: () => store.currentVersion(),
      get: async (version) => {
        const row = await store.get(version);
        return row && version === 2
          ? ({ ...row, source: undefined } as unknown as RuleVersion)
          : row;
      },
    };
    const logger = recordingLogger();

    const ruleSet = await new TableWatchSource(damaged, logger).current();

    expect(ruleSet.version).toBe('1');
    expect(logger.errors.map((e) => e.message)).toEqual([
      'rules version cannot be loaded; keeping the previous rules',
    ]);
  });

  it('keeps the last good rule set when the live version nests lists 10,000 deep', async () => {
    const store = newStore();
    await push(store, TROOPS);
    const clock = manualClock('2025-03-01T10:00:00Z');
    const logger = recordingLogger();
    const source = new TableWatchSource(store, logger, { refreshMs: 60_000, clock });
    await source.current();
    const lists = Array.from({ length: 10_000 }, (_, i) => `  l${i}: ['@l${i + 1}', w${i}]`);

    await push(store, ['lists:', ...lists, '  l10000: [end]', watchFile('deep', '@l0')].join('\n'));
    clock.advance(60_000);
    const kept = await source.current();

    expect(kept.version).toBe('1');
    expect(logger.errors.map((e) => e.message)).toEqual([
      'rules version has errors; keeping the previous rules',
    ]);
    expect(JSON.stringify(logger.errors[0]?.fields)).toContain('expands through more than');
  });

  it('says that nothing has been pushed when the table is empty', async () => {
    const source = new TableWatchSource(newStore(), recordingLogger());

    await expect(source.current()).rejects.toThrow(NoRulesError);
    await expect(source.current()).rejects.toThrow('nothing has been pushed');
  });

  it('runs the bundled rules until the first push, then the pushed version', async () => {
    const store = newStore();
    const clock = manualClock('2025-03-01T10:00:00Z');
    const bundled = { current: async () => compileVersion({ ...stored(PATRIOT), version: 0 }) };
    const source = new TableWatchSource(store, recordingLogger(), {
      clock,
      beforeFirstPush: bundled,
    });

    const before = await source.current();
    await push(store, TROOPS);
    clock.advance(60_000);
    const after = await source.current();

    expect([...before.watches.keys()]).toEqual(['patriot']);
    expect(after.version).toBe('1');
    expect([...after.watches.keys()]).toEqual(['troops']);
  });

  it('makes the classifier stamp every alert with the version that matched', async () => {
    const store = newStore();
    await push(store, TROOPS);
    await push(store, `${TROOPS}  - id: patriot\n    name: patriot\n    query: patriot\n`);
    const sent: AlertMessage[] = [];
    const subscriber: Subscriber = {
      id: 'analyst',
      channels: [],
      watches: ['troops', 'patriot'],
      timezone: 'UTC',
      mode: 'immediate',
      digestSchedule: '0 8 * * *',
      minSeverity: 'low',
    };

    const result = await classifyItem(item, {
      watches: new TableWatchSource(store, recordingLogger()),
      subscriptions: {
        subscribersOf: async () => [subscriber],
        get: async () => subscriber,
      },
      alertsQueue: { send: async (messages) => void sent.push(...messages) },
      deadLetters: { deadLetter: async () => {} },
      // Every item its own story: this test is about rule versions.
      stories: {
        findFirstReports: async () => [],
        recordFirstReport: async () => {},
        claimStory: async () => ({ won: true }),
      },
      clock: manualClock('2025-03-01T10:00:00Z'),
      logger: recordingLogger(),
    });

    expect(result.matched.sort()).toEqual(['patriot', 'troops']);
    expect(sent).toHaveLength(2);
    expect(sent.map((a) => a.ruleVersion)).toEqual(['2', '2']);
  });
});
