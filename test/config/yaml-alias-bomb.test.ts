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

/** A "billion laughs" in YAML: each level aliases the one before ten times. */
const ALIAS_BOMB = `feeds:
  - id: wire-a
    url: https://example.org/a.rss
a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
`;

describe('YAML aliases in the config file', () => {
  it('reports an alias bomb as a config error naming the file, line and column of the alias', () => {
    const problems = problemsOf(ALIAS_BOMB);

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^\/cfg\/wirewatch\.yaml:\d+:\d+: .*(?:alias|Alias).*resource exhaustion/,
    );
    const [, line, column] = /^[^:]+:(\d+):(\d+):/.exec(problems[0] ?? '') ?? [];
    const text = ALIAS_BOMB.split('\n')[Number(line) - 1] ?? '';
    expect(text.slice(Number(column) - 1)).toMatch(/^\*[a-d]\b/);
  });

  it('names the line of an alias to an anchor that is never defined', () => {
    const problems = problemsOf(`feeds:
  - id: wire-a
    url: https://example.org/a.rss
    name: *nowhere
`);

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^\/cfg\/wirewatch\.yaml:4:11: /);
  });

  it('still reads a config that uses a few aliases', () => {
    const config = parseConfig(
      `feeds:
  - id: wire-a
    url: &url https://example.org/a.rss
  - id: wire-b
    url: *url
`,
      '/cfg/wirewatch.yaml',
      {},
    );

    expect(config.feeds.map((f) => f.url)).toEqual([
      'https://example.org/a.rss',
      'https://example.org/a.rss',
    ]);
  });
});
