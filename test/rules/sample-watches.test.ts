/**
 * The sample watch file against the labelled developer corpus
 * (`test/fixtures/news`, copied from the shared news corpus): every item is matched
 * with the compiled sample watches and each watch is scored against the
 * item's true topics.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../shared/rules/diagnostics.ts';
import { compileWatches } from '../../shared/rules/matcher.ts';
import type { Watch } from '../../shared/rules/watch.ts';
import { loadWatchFile, requireWatches, type WatchFile } from '../../shared/rules/watch-file.ts';

const WATCHES_PATH = fileURLToPath(new URL('../../samples/watches.yaml', import.meta.url));
const CORPUS_DIR = new URL('../fixtures/news/', import.meta.url);
const MIN_SCORE = 0.9;

interface Topic {
  id: string;
  name: string;
}

interface LabelledItem {
  id: string;
  feed: string;
  title: string;
  summary: string;
  topics: string[];
}

interface TopicScore {
  topic: string;
  truePositives: number;
  falsePositives: string[];
  falseNegatives: string[];
  precision: number;
  recall: number;
}

async function readTopics(): Promise<Topic[]> {
  const raw: unknown = JSON.parse(await readFile(new URL('topics.json', CORPUS_DIR), 'utf8'));
  if (!Array.isArray(raw)) throw new Error('topics.json is not an array');
  return raw.map((entry: unknown, index) => {
    const { id, name } = (entry ?? {}) as Record<string, unknown>;
    if (typeof id !== 'string' || typeof name !== 'string') {
      throw new Error(`topics.json entry ${index} has no string id and name`);
    }
    return { id, name };
  });
}

async function readItems(): Promise<LabelledItem[]> {
  const text = await readFile(new URL('items.jsonl', CORPUS_DIR), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => {
      const raw = JSON.parse(line) as Record<string, unknown>;
      const { id, feed, title, summary, topics } = raw;
      if (
        typeof id !== 'string' ||
        typeof feed !== 'string' ||
        typeof title !== 'string' ||
        typeof summary !== 'string' ||
        !Array.isArray(topics) ||
        !topics.every((t) => typeof t === 'string')
      ) {
        throw new Error(`items.jsonl line ${index + 1} is not a labelled item`);
      }
      return { id, feed, title, summary, topics };
    });
}

function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

/** Scores every topic: which items each watch matched, against the labels. */
function scoreTopics(
  topics: readonly Topic[],
  watches: readonly Watch[],
  items: readonly LabelledItem[],
): TopicScore[] {
  const matcher = compileWatches(watches);
  const matched = new Map(
    items.map((item) => [
      item.id,
      new Set(
        matcher
          .match({ title: item.title, summary: item.summary, feed: item.feed })
          .map((m) => m.watchId),
      ),
    ]),
  );
  return topics.map(({ id: topic }) => {
    let truePositives = 0;
    const falsePositives: string[] = [];
    const falseNegatives: string[] = [];
    for (const item of items) {
      const predicted = matched.get(item.id)?.has(topic) ?? false;
      const labelled = item.topics.includes(topic);
      if (predicted && labelled) truePositives++;
      else if (predicted) falsePositives.push(item.id);
      else if (labelled) falseNegatives.push(item.id);
    }
    return {
      topic,
      truePositives,
      falsePositives,
      falseNegatives,
      precision: ratio(truePositives, truePositives + falsePositives.length),
      recall: ratio(truePositives, truePositives + falseNegatives.length),
    };
  });
}

function printScores(scores: readonly TopicScore[]): void {
  const rows = scores.map((s) => ({
    topic: s.topic,
    tp: s.truePositives,
    fp: s.falsePositives.length,
    fn: s.falseNegatives.length,
    precision: s.precision.toFixed(3),
    recall: s.recall.toFixed(3),
    misclassified: [...s.falsePositives, ...s.falseNegatives].join(' ') || '-',
  }));
  console.log(`sample watches on the developer corpus\n${formatTable(rows)}`);
}

function formatTable(rows: readonly Record<string, string | number>[]): string {
  const columns = Object.keys(rows[0] ?? {});
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]): string =>
    cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ');
  return [line(columns), ...rows.map((r) => line(columns.map((c) => String(r[c]))))].join('\n');
}

describe('sample watches (samples/watches.yaml)', () => {
  let file: WatchFile;
  let topics: Topic[];
  let scores: TopicScore[];

  beforeAll(async () => {
    file = await loadWatchFile(WATCHES_PATH);
    topics = await readTopics();
    const items = await readItems();
    scores = scoreTopics(topics, requireWatches(file), items);
    printScores(scores);
  });

  it('loads with no errors and no warnings', () => {
    expect(file.diagnostics.map(formatDiagnostic)).toEqual([]);
  });

  it('has one watch per corpus topic, with the topic id and name', () => {
    const watches = file.watches.map((w) => ({ id: w.id, name: w.name }));

    expect(watches).toEqual(topics.map((t) => ({ id: t.id, name: t.name })));
    expect(file.watches.every((w) => (w.description ?? '').trim() !== '')).toBe(true);
  });

  it.each([
    'dprk-deployment',
    'patriot-transfer',
    'russia-dprk-diplomacy',
    'sanctions-evasion',
    'taiwan-arms',
  ])(`finds %s with precision and recall of at least ${MIN_SCORE}`, (topic) => {
    const score = scores.find((s) => s.topic === topic);
    const errors = `false positives: ${score?.falsePositives.join(', ') || 'none'}; false negatives: ${score?.falseNegatives.join(', ') || 'none'}`;

    expect(score, `no score for ${topic}`).toBeDefined();
    expect(score?.truePositives, `no labelled item of ${topic} was found`).toBeGreaterThan(0);
    expect(score?.precision, errors).toBeGreaterThanOrEqual(MIN_SCORE);
    expect(score?.recall, errors).toBeGreaterThanOrEqual(MIN_SCORE);
  });
});
