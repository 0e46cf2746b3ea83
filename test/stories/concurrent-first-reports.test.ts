/**
 * Wires publish one event within seconds, and several classifier instances
 * run at once: four classifiers, each with its own story store on one
 * embedded DynamoDB table, receive copies of one story at the same moment.
 * The claim on the strongest fingerprint key must make them one story and
 * one alert per subscriber; templated reports of two events at once must
 * still make two.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EmbeddedDynamo,
  startEmbeddedDynamo,
} from '../../shared/adapters/embedded-dynamodb.ts';
import { DynamoStoryStore } from '../../shared/adapters/story-store.ts';
import type { AlertMessage } from '../../shared/messages.ts';
import { type ClassifierDeps, classifyItem } from '../../shared/pipeline/classify.ts';
import type { Item, Subscriber } from '../../shared/ports.ts';
import { compileVersion } from '../../shared/rules/table-watch-source.ts';
import { RecordingLogger } from '../pipeline/recording-logger.ts';
import { manualClock } from '../support/manual-clock.ts';

const NOW = '2026-07-12T06:00:30Z';
const DAY_MS = 24 * 60 * 60 * 1000;

const ANALYST: Subscriber = {
  id: 'analyst',
  channels: [{ type: 'console' }],
  watches: ['diplomacy'],
  timezone: 'UTC',
  mode: 'immediate',
  digestSchedule: '0 8 * * *',
  minSeverity: 'low',
};

const RULE_SET = compileVersion({
  version: 1,
  sha256: '',
  author: 'test',
  message: 'test',
  createdAt: NOW,
  watchCount: 1,
  source:
    'watches:\n  - id: diplomacy\n    name: Russia–DPRK diplomacy\n    query: Lavrov OR Shoigu OR ambassador\n',
});

let sequence = 0;
/**
 * Copies of one event as four outlets carry it, with ids no other test uses,
 * published within seconds on `day` (days apart: beyond each other's story window).
 */
function copiesOfOneEvent(day: number): Item[] {
  sequence += 1;
  const lede =
    'Russian Foreign Minister Sergei Lavrov arrived in Wonsan on Friday for talks with his North Korean counterpart Choe Son Hui, the second such visit in a year, state media KCNA said.';
  return [
    {
      feed: 'wire-a',
      title: 'Lavrov arrives in Wonsan for talks with Choe Son Hui',
      summary: lede,
    },
    {
      feed: 'wire-b',
      title: 'Lavrov arrives in Wonsan for talks with Choe Son Hui - Wire B',
      summary: `WONSAN, July 12 (Wire B) — ${lede}`,
    },
    {
      feed: 'aggregator',
      title: 'Lavrov in Wonsan for talks with Choe',
      summary: `${lede} (Wire A) Read more at wire-a.example`,
    },
    {
      feed: 'regional-asia',
      title: 'UPDATE 1-Lavrov arrives in Wonsan for talks with Choe Son Hui',
      summary: lede,
    },
  ].map((copy, i) => ({
    ...copy,
    id: `concurrent-${sequence}-${i}`,
    link: `https://${copy.feed}.example/${sequence}`,
    published: new Date(Date.parse('2026-07-12T06:00:00Z') + day * DAY_MS + i * 1000).toISOString(),
  }));
}

describe('concurrent first reports on the embedded DynamoDB', () => {
  let dynamo: EmbeddedDynamo;

  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
  });

  afterAll(async () => {
    await dynamo.stop();
  });

  /** One classifier instance: its own story store (and client state), the shared table. */
  function classifier(sent: AlertMessage[], now = NOW): ClassifierDeps {
    const clock = manualClock(now);
    return {
      watches: { current: async () => RULE_SET },
      subscriptions: { subscribersOf: async () => [ANALYST], get: async () => ANALYST },
      alertsQueue: { send: async (messages) => void sent.push(...messages) },
      deadLetters: { deadLetter: async () => {} },
      stories: new DynamoStoryStore(
        dynamo.documentClient,
        dynamo.tableNames.storyFingerprints,
        clock,
      ),
      clock,
      logger: new RecordingLogger(),
    };
  }

  it('makes four copies classified at the same moment one story with one alert per subscriber', async () => {
    for (let round = 0; round < 5; round++) {
      const sent: AlertMessage[] = [];
      const day = 10 + round * 5;
      const now = new Date(Date.parse(NOW) + day * DAY_MS).toISOString();
      const classifiers = [0, 1, 2, 3].map(() => classifier(sent, now));
      const copies = copiesOfOneEvent(day);

      const results = await Promise.all(
        copies.map((item, i) =>
          classifyItem(
            { type: 'item', version: 1, item, polledAt: now },
            classifiers[i] as ClassifierDeps,
          ),
        ),
      );

      expect(new Set(results.map((result) => result.storyId)).size).toBe(1);
      expect(results.filter((result) => result.storyReport === 'first')).toHaveLength(1);
      expect(new Set(sent.map((alert) => alert.alertId)).size).toBe(1);
    }
  });

  it('still starts two stories for templated reports of two events classified at once', async () => {
    sequence += 1;
    const event = (place: string, envoy: string, i: number): Item => ({
      id: `concurrent-template-${sequence}-${i}`,
      feed: i % 2 === 0 ? 'wire-a' : 'wire-b',
      title: `New ${place} ambassador presents credentials in Pyongyang`,
      summary: `The new ${place} ambassador ${envoy} presented his credentials to Choe Ryong Hae in Pyongyang on Monday, KCNA said.`,
      link: `https://wire.example/${sequence}/${i}`,
      published: `2026-07-12T06:00:0${i}Z`,
    });
    const items = [
      event('Russian', 'Pavel Volkov', 0),
      event('Belarusian', 'Igor Lutsky', 1),
      event('Russian', 'Pavel Volkov', 2),
      event('Belarusian', 'Igor Lutsky', 3),
    ];
    const sent: AlertMessage[] = [];

    const results = await Promise.all(
      items.map((item) =>
        classifyItem({ type: 'item', version: 1, item, polledAt: NOW }, classifier(sent)),
      ),
    );

    expect(results[0]?.storyId).toBe(results[2]?.storyId);
    expect(results[1]?.storyId).toBe(results[3]?.storyId);
    expect(results[0]?.storyId).not.toBe(results[1]?.storyId);
  });
});
