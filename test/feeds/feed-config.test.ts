/**
 * A feed's `maxInterval` in the config file: read as seconds, checked against
 * the feed's interval (or the default one), and handed to the poller's feed
 * list; a bad value names the line, column and key.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../shared/config/config.ts';

function problemsOf(text: string): string[] {
  try {
    parseConfig(text, '/cfg/wirewatch.yaml', {});
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('feed maxInterval', () => {
  it('is read as seconds, and left out when the feed does not set it', () => {
    const config = parseConfig(
      `defaultInterval: 5m
feeds:
  - id: wire-a
    url: https://example.org/a.rss
    interval: 10m
    maxInterval: 6h
  - id: wire-b
    url: https://example.org/b.rss
`,
      '/cfg/wirewatch.yaml',
      {},
    );

    expect(config.feeds).toEqual([
      {
        id: 'wire-a',
        url: 'https://example.org/a.rss',
        intervalSeconds: 600,
        maxIntervalSeconds: 21_600,
        tags: [],
      },
      { id: 'wire-b', url: 'https://example.org/b.rss', intervalSeconds: 300, tags: [] },
    ]);
  });

  it('names the line and column of a maxInterval shorter than the interval', () => {
    const problems = problemsOf(`feeds:
  - id: wire-a
    url: https://example.org/a.rss
    interval: 1h
    maxInterval: 30m
`);

    expect(problems).toEqual([
      '/cfg/wirewatch.yaml:5:18: feeds.0.maxInterval: must be at least the interval (1h)',
    ]);
  });

  it('compares with the default interval when the feed has none', () => {
    const problems = problemsOf(`defaultInterval: 2h
feeds:
  - id: wire-a
    url: https://example.org/a.rss
    maxInterval: 1h
`);

    expect(problems).toEqual([
      '/cfg/wirewatch.yaml:5:18: feeds.0.maxInterval: must be at least the interval (defaultInterval 2h)',
    ]);
  });

  it('names the line and column of a maxInterval that is not a duration', () => {
    const problems = problemsOf(`feeds:
  - id: wire-a
    url: https://example.org/a.rss
    maxInterval: soon
`);

    expect(problems).toEqual([
      expect.stringMatching(/^\/cfg\/wirewatch\.yaml:4:18: feeds\.0\.maxInterval: /),
    ]);
  });
});
