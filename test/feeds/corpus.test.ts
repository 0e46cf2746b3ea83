/**
 * The real-world corpus (every input file up to 256 KiB of the 2,196 from
 * rss-parser's, feedparser's and node-feedparser's test suites, copied to
 * test/fixtures/feeds), served over local HTTP with its recorded headers: every file ends in items or a named error, never a crash or a
 * hang; non-feeds never yield items; titles and links agree with
 * feedparser's `Expect` lines except for the documented differences.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ACCEPTED_DIFFERENCES,
  type CorpusResult,
  FIXTURE_CORPUS_DIR,
  readCorpusIndex,
  runCorpus,
} from './corpus.ts';

describe('the real-world feed corpus', () => {
  let results: CorpusResult[];

  beforeAll(async () => {
    results = await runCorpus(FIXTURE_CORPUS_DIR, { concurrency: 8 });
  }, 120_000);

  it('covers every input file of the index', async () => {
    const index = await readCorpusIndex(FIXTURE_CORPUS_DIR);

    expect(results.length).toBe(index.length);
    expect(results.length).toBeGreaterThan(2_100);
  });

  it('ends every file in items or a named error, with the right titles and links', () => {
    const wrong = results
      .filter((r) => r.outcome.kind === 'wrong')
      .map((r) => `${r.entry.path}: ${r.outcome.kind === 'wrong' ? r.outcome.reason : ''}`);

    expect(wrong).toEqual([]);
  });

  it('parses every well-formed RSS and Atom file that is a feed', () => {
    const failed = results.filter(
      (r) =>
        r.entry.category === 'wellformed' &&
        r.entry.xml_wellformed === true &&
        (r.entry.format === 'atom' || r.entry.format === 'rss') &&
        r.entry.path.includes('/wellformed/atom') &&
        r.outcome.kind !== 'parsed',
    );

    expect(failed.map((r) => r.entry.path)).toEqual([]);
  });

  it('reports the pages that are not feeds as named errors', () => {
    const notFeeds = results.filter((r) => r.entry.flags.includes('html_not_feed'));

    expect(notFeeds.length).toBeGreaterThan(0);
    expect(notFeeds.every((r) => r.outcome.kind === 'named-error')).toBe(true);
  });

  it('keeps the list of accepted differences short and current', () => {
    const paths = new Set(results.map((r) => r.entry.path));

    expect(Object.keys(ACCEPTED_DIFFERENCES).filter((p) => !paths.has(p))).toEqual([]);
  });
});
