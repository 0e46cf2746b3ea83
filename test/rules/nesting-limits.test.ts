import { describe, expect, it } from 'vitest';
import type { Diagnostic, QueryProblem } from '../../shared/rules/diagnostics.ts';
import { compileWatches } from '../../shared/rules/matcher.ts';
import { MAX_QUERY_NESTING, parseQuery } from '../../shared/rules/parser.ts';
import { MAX_LIST_NESTING } from '../../shared/rules/validate.ts';
import { parseWatchFile, requireWatches } from '../../shared/rules/watch-file.ts';

const PATH = 'watches.yaml';

/** Every error the query has, from parsing through the watch-file checks. */
function queryErrors(query: string): QueryProblem[] {
  return parseQuery(query).problems.filter((p) => p.severity === 'error');
}

/** A file with one watch whose query is `query` (single-quoted YAML, on line 4). */
function fileWithQuery(query: string, lists: string[] = []): string {
  const head = lists.length > 0 ? ['lists:', ...lists] : [];
  return [...head, 'watches:', '  - id: w', '    name: W', `    query: '${query}'`, ''].join('\n');
}

/** Lists `l0` … `l<n-1>`, each using the next and holding a word of its own. */
function listChain(n: number): string[] {
  return Array.from(
    { length: n },
    (_, i) => `  l${i}: [${i + 1 < n ? `'@l${i + 1}', ` : ''}w${i}]`,
  );
}

function errorsOf(source: string): Diagnostic[] {
  return parseWatchFile(source, PATH).diagnostics.filter((d) => d.severity === 'error');
}

describe('query nesting limit', () => {
  it('reports 1,800 nested parentheses with their depth instead of overflowing the stack', () => {
    const query = `${'('.repeat(1800)}troops${')'.repeat(1800)}`;

    const errors = queryErrors(query);

    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toBe(
      `query nests 1800 levels deep; at most ${MAX_QUERY_NESTING} are allowed`,
    );
    // The parenthesis that goes one level past the limit.
    expect(errors[0]?.offset).toBe(MAX_QUERY_NESTING);
  });

  it(`accepts ${MAX_QUERY_NESTING} nested parentheses`, () => {
    const query = `${'('.repeat(MAX_QUERY_NESTING - 1)}troops OR army${')'.repeat(MAX_QUERY_NESTING - 1)}`;

    expect(queryErrors(query)).toEqual([]);
  });

  it('reports a NEAR chain of 10,000 terms as too deep', () => {
    const query = Array.from({ length: 10_000 }, (_, i) => `w${i}`).join(' NEAR/5 ');

    const errors = queryErrors(query);

    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toBe(
      `query nests more than ${MAX_QUERY_NESTING} levels deep; at most ${MAX_QUERY_NESTING} are allowed`,
    );
  });

  it('reports 5,000 NOTs in a row and 5,000 title: prefixes as too deep', () => {
    const nots = `troops AND ${'NOT '.repeat(5000)}parade`;
    const titles = `${'title:'.repeat(5000)}troops`;

    expect(queryErrors(nots).map((p) => p.message)).toEqual([
      expect.stringContaining('levels deep'),
    ]);
    expect(queryErrors(titles).map((p) => p.message)).toEqual([
      expect.stringContaining('levels deep'),
    ]);
  });

  it('names the file, line and column of a query nested too deep', () => {
    const source = fileWithQuery(`${'('.repeat(1800)}troops${')'.repeat(1800)}`);

    const errors = errorsOf(source);

    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      file: PATH,
      line: 4,
      // `    query: '` is 12 characters; the 101st parenthesis follows 100 more.
      column: 13 + MAX_QUERY_NESTING,
      message: `query nests 1800 levels deep; at most ${MAX_QUERY_NESTING} are allowed`,
    });
  });

  it('reports a NEAR chain of 10,000 terms in a watch file as an error, not a crash', () => {
    const source = fileWithQuery(
      Array.from({ length: 10_000 }, (_, i) => `w${i}`).join(' NEAR/5 '),
    );

    expect(errorsOf(source).map((d) => [d.line, d.message])).toEqual([
      [4, expect.stringContaining('levels deep')],
    ]);
  });
});

describe('list nesting limit', () => {
  it('reports a chain of 10,000 lists where it passes the limit, and the watch that uses it', () => {
    const source = fileWithQuery('@l0', listChain(10_000));

    const errors = errorsOf(source);

    const boundary = 10_000 - MAX_LIST_NESTING - 1;
    expect(errors.map((d) => [d.line, d.message])).toEqual([
      [2 + boundary, `list @l${boundary} expands through more than ${MAX_LIST_NESTING} lists`],
      [10_005, `list @l0 expands through more than ${MAX_LIST_NESTING} lists`],
    ]);
    // At the @ of the entry that goes one list too far.
    expect(errors[0]?.column).toBe(`  l${boundary}: ['`.length + 1);
    expect(errors[1]?.column).toBe('    query: '.length + 2);
  });

  // A timeout to spare: parsing the 3 MB of YAML alone takes seconds on a busy machine.
  it('fails a chain of 100,000 lists without expanding it', () => {
    const source = fileWithQuery('@l0', listChain(100_000));

    const file = parseWatchFile(source, PATH);

    expect(file.diagnostics.filter((d) => d.severity === 'error')).toHaveLength(2);
    // Only the lists within the limit are expanded, each to at most as many terms as lists.
    expect(file.lists.size).toBe(MAX_LIST_NESTING);
    expect(file.lists.get(`l${100_000 - MAX_LIST_NESTING}`)).toHaveLength(MAX_LIST_NESTING);
  }, 60_000);

  it(`accepts a chain of ${MAX_LIST_NESTING} lists and matches the word at its end`, () => {
    const source = fileWithQuery('@l0', listChain(MAX_LIST_NESTING));

    const watches = requireWatches(parseWatchFile(source, PATH));
    const matcher = compileWatches(watches);

    expect(watches[0]?.expr).toMatchObject({ kind: 'or', list: 'l0' });
    expect(matcher.match({ title: `w${MAX_LIST_NESTING - 1} seen`, summary: '' })).toHaveLength(1);
  });

  it('expands a list used twice over many levels once, not exponentially', () => {
    // Each list uses the next one twice: 2^60 terms if expanded path by path.
    const lists = Array.from(
      { length: 60 },
      (_, i) => `  d${i}: [${i + 1 < 60 ? `'@d${i + 1}', '@d${i + 1}'` : 'bottom'}]`,
    );

    const watches = requireWatches(parseWatchFile(fileWithQuery('@d0', lists), PATH));

    expect(watches[0]?.expr).toMatchObject({ kind: 'or', children: [{ token: 'bottom' }] });
  });

  it('still reports a cycle at the entry that closes it', () => {
    const source = fileWithQuery('@a', ["  a: [x, '@b']", "  b: [y, '@a']"]);

    expect(errorsOf(source).map((d) => d.message)).toEqual([
      'list @b uses @a, which leads back to @b (a cycle)',
    ]);
  });
});

describe('unknown lists in bulk', () => {
  it('keeps every hint short when 2,000 lists each use an unknown list', () => {
    const lists = Array.from({ length: 2000 }, (_, i) => `  l${i}: ['@unknown-${i}', w]`);

    const errors = errorsOf(fileWithQuery('w', lists));

    expect(errors).toHaveLength(2000);
    expect(errors[0]?.message).toBe('unknown list @unknown-0');
    for (const d of errors) expect(d.hint?.length ?? 0).toBeLessThan(200);
  });

  it('still suggests the closest name for a misspelt list', () => {
    const lists = [...Array.from({ length: 50 }, (_, i) => `  list${i}: [w]`), '  dprk: [x]'];

    const errors = errorsOf(fileWithQuery('@dprkk', lists));

    expect(errors.map((d) => d.hint)).toEqual(['did you mean @dprk?']);
  });
});
