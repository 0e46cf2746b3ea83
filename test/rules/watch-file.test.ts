import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Diagnostic,
  formatDiagnostic,
  WatchFileError,
} from '../../shared/rules/diagnostics.ts';
import { loadWatchFile, parseWatchFile, requireWatches } from '../../shared/rules/watch-file.ts';

const PATH = 'watches.yaml';

/** The text of `source` from where the diagnostic points, to the end of that line. */
function textAt(source: string, d: Diagnostic): string {
  const line = source.split('\n')[d.line - 1] ?? '';
  return line.slice(d.column - 1);
}

/** The file's single diagnostic. */
function onlyDiagnostic(source: string): Diagnostic {
  const { diagnostics } = parseWatchFile(source, PATH);
  expect(diagnostics).toHaveLength(1);
  return diagnostics[0] as Diagnostic;
}

/** A file with one watch whose `query:` line is `queryLine`, indented as a watch key. */
function fileWithQuery(...queryLines: string[]): string {
  return ['watches:', '  - id: w', '    name: W', ...queryLines.map((l) => `    ${l}`), ''].join(
    '\n',
  );
}

describe('parseWatchFile: a file with several errors', () => {
  const source = [
    'lists:',
    `  dprk: [Pyongyang, '"north korea"', '@leaders']`,
    `  leaders: ['{Kim}', '@dprk']`,
    '  forces: [troops, army OR navy]',
    'watches:',
    '  - id: plain-query',
    '    name: Plain',
    '    query: troops NEAR/3 de*',
    '  - id: single-quoted',
    '    name: Single',
    `    query: '@dprk AND troops deploy*'`,
    '  - id: double-quoted',
    '    name: Double',
    '    query: "\\"north korea\\"\\tAND troops tanks"',
    '  - id: literal-block',
    '    name: Literal',
    '    query: |',
    '      title:(troops OR soldiers)',
    '        AND (border river)',
    '  - id: folded-block',
    '    name: Folded',
    '    query: >-',
    '      troops AND',
    '      @dprkk',
    '    severity: urgent',
    '  - id: plain-query',
    '    name: Again',
    '    query: a AND b OR c',
    '    colour: red',
    '',
  ].join('\n');

  it('reports every error, in file order, as path:line:column: message with its hint', () => {
    const { diagnostics } = parseWatchFile(source, PATH);

    expect(diagnostics.map(formatDiagnostic)).toEqual([
      'watches.yaml:3:23: list @leaders uses @dprk, which leads back to @leaders (a cycle)\n' +
        '  hint: a list may use other lists, but not itself',
      'watches.yaml:4:20: a list entry is one word, "phrase", wildcard* or @list\n' +
        '  hint: operators belong in the watch query; put each alternative in its own entry',
      'watches.yaml:8:26: "de*": a wildcard needs at least 3 letters before *\n' +
        '  hint: short prefixes match too many words; list the words with OR instead',
      'watches.yaml:11:30: missing operator before "deploy*"\n' +
        '  hint: write troops AND deploy*, or troops OR deploy*',
      'watches.yaml:14:41: missing operator between "troops" and "tanks"\n' +
        '  hint: for the phrase write "troops tanks"; for both words anywhere write troops AND tanks',
      'watches.yaml:19:21: missing operator between "border" and "river"\n' +
        '  hint: for the phrase write "border river"; for both words anywhere write border AND river',
      'watches.yaml:24:7: unknown list @dprkk\n  hint: did you mean @dprk?',
      'watches.yaml:25:15: unknown severity "urgent"\n  hint: use one of low, normal, high, critical',
      'watches.yaml:26:9: duplicate watch id "plain-query"\n' +
        '  hint: it is first used on line 6; ids must be unique',
      'watches.yaml:28:12: warning: AND and OR mixed without parentheses (AND binds first)\n' +
        '  hint: add parentheses to say which you mean: (a AND b) OR c, or a AND (b OR c)',
      'watches.yaml:29:5: unknown key "colour" in watch\n' +
        '  hint: known keys: id, name, query, description, severity, sources, lang, updates',
    ]);
  });

  it('points each query error at the offending text, whatever the scalar style', () => {
    const { diagnostics } = parseWatchFile(source, PATH);

    const pointedAt = diagnostics.map((d) => textAt(source, d).split(/[\s'"\])]/)[0]);

    expect(pointedAt).toEqual([
      '@dprk',
      'army',
      'de*',
      'deploy*',
      'tanks',
      'river',
      '@dprkk',
      'urgent',
      'plain-query',
      'a',
      'colour:',
    ]);
  });

  it('keeps no watch that has an error', () => {
    const { watches } = parseWatchFile(source, PATH);

    expect(watches).toEqual([]);
  });

  it('refuses the file with every error in the exception', () => {
    const file = parseWatchFile(source, PATH);

    const refuse = (): unknown => requireWatches(file);

    expect(refuse).toThrow(WatchFileError);
    expect(refuse).toThrow(/^10 errors in watch file:\nwatches\.yaml:3:23: list @leaders/);
  });
});

describe('parseWatchFile: columns inside queries', () => {
  it('maps a column in a plain query', () => {
    const source = fileWithQuery('query: troops AND (a b)');

    expect(textAt(source, onlyDiagnostic(source))).toBe('b)');
  });

  it("maps a column in a single-quoted query past a doubled ''", () => {
    const source = fileWithQuery(`query: 'don''t AND x y'`);

    expect(textAt(source, onlyDiagnostic(source))).toBe(`y'`);
  });

  it('maps a column in a double-quoted query past escaped quotes', () => {
    const source = fileWithQuery('query: "\\"north korea\\" AND x y"');

    expect(textAt(source, onlyDiagnostic(source))).toBe('y"');
  });

  it('maps a column in a double-quoted query past an escaped tab', () => {
    const source = fileWithQuery('query: "one\\ttwo AND three"');

    const d = onlyDiagnostic(source);

    expect(d.message).toBe('missing operator between "one" and "two"');
    expect(textAt(source, d)).toBe('two AND three"');
  });

  it('maps a column in a double-quoted query past a \\u escape', () => {
    const source = fileWithQuery('query: "caf\\u00e9 AND x y"');

    expect(textAt(source, onlyDiagnostic(source))).toBe('y"');
  });

  it('maps a column in a double-quoted query continued on the next line', () => {
    const source = fileWithQuery('query: "troops AND', '  (border river)"');

    const d = onlyDiagnostic(source);

    expect(d.line).toBe(5);
    expect(textAt(source, d)).toBe('river)"');
  });

  it('maps a column in a plain query that runs over several lines', () => {
    const source = fileWithQuery('query:', '  troops AND', '  deploy NEAR/3', '  a b');

    const d = onlyDiagnostic(source);

    expect(d.line).toBe(7);
    expect(textAt(source, d)).toBe('b');
  });

  it('maps a column in a literal block query', () => {
    const source = fileWithQuery('query: |', '  troops AND', '    (a b)');

    const d = onlyDiagnostic(source);

    expect(d.line).toBe(6);
    expect(textAt(source, d)).toBe('b)');
  });

  it('maps a column in a folded block query', () => {
    const source = fileWithQuery('query: >', '  troops AND', '', '  a b');

    const d = onlyDiagnostic(source);

    expect(d.line).toBe(7);
    expect(textAt(source, d)).toBe('b');
  });

  it('maps a column in a query of a flow mapping', () => {
    const source = 'watches:\n  - {id: w, name: W, query: "x AND y z"}\n';

    expect(textAt(source, onlyDiagnostic(source))).toBe('z"}');
  });

  it('maps a column in a file with CRLF line ends', () => {
    const source = fileWithQuery('query: |', '  troops AND', '  x y').replace(/\n/g, '\r\n');

    expect(textAt(source, onlyDiagnostic(source))).toBe('y\r');
  });

  it('points an error at the end of a query just past its last character', () => {
    const source = fileWithQuery('query: "troops AND"');

    const d = onlyDiagnostic(source);

    expect(d.message).toBe('the query ends after "AND" where a term is needed');
    expect(textAt(source, d)).toBe('"');
  });
});

describe('parseWatchFile: lists', () => {
  it('expands a list in a query into an OR of its entries, nested lists flattened', () => {
    const source = [
      'lists:',
      `  dprk: [Pyongyang, '"north korea"', '@leaders']`,
      `  leaders: ['{Kim}', kim*]`,
      'watches:',
      '  - id: w',
      '    name: W',
      '    query: troops NEAR/5 @dprk',
      '',
    ].join('\n');

    const file = parseWatchFile(source, PATH);

    expect(file.diagnostics).toEqual([]);
    expect(file.lists.get('dprk')?.map((t) => t.kind)).toEqual([
      'word',
      'phrase',
      'exact',
      'prefix',
    ]);
    expect(file.watches[0]?.expr).toMatchObject({
      kind: 'near',
      right: { kind: 'or', list: 'dprk', children: [{ token: 'pyongyang' }, {}, {}, {}] },
    });
  });

  it('reports a list that uses itself', () => {
    const source = `lists:\n  loop: [a, '@loop']\nwatches:\n  - {id: w, name: W, query: a}\n`;

    const d = onlyDiagnostic(source);

    expect(d.message).toBe('list @loop uses @loop, which leads back to @loop (a cycle)');
    expect(textAt(source, d)).toBe(`@loop']`);
  });

  it('reports an unknown list used in a list, with the closest name', () => {
    const source = `lists:\n  forces: [troops]\n  all: ['@force']\nwatches:\n  - {id: w, name: W, query: a}\n`;

    const d = onlyDiagnostic(source);

    expect(formatDiagnostic(d)).toBe(
      'watches.yaml:3:10: unknown list @force\n  hint: did you mean @forces?',
    );
  });

  it('lists the known names when an unknown list is not close to any', () => {
    const source = `lists:\n  forces: [troops]\nwatches:\n  - {id: w, name: W, query: '@zzz'}\n`;

    expect(onlyDiagnostic(source)).toMatchObject({
      message: 'unknown list @zzz',
      hint: 'known lists: @forces',
    });
  });

  it('reports a list name that is not a name', () => {
    const source = 'lists:\n  bad name: [x]\nwatches:\n  - {id: w, name: W, query: a}\n';

    expect(formatDiagnostic(onlyDiagnostic(source))).toBe(
      'watches.yaml:2:3: "bad name" is not a list name\n  hint: use letters, digits, - and _',
    );
  });

  it('reports a list that is not a sequence, at its value', () => {
    const source = 'lists:\n  forces: troops\nwatches:\n  - {id: w, name: W, query: a}\n';

    expect(onlyDiagnostic(source)).toMatchObject({
      line: 2,
      column: 11,
      message: 'list "forces" must be a sequence of entries',
    });
  });

  it('reports a list entry that is not text', () => {
    const source = 'lists:\n  forces: [[a, b]]\nwatches:\n  - {id: w, name: W, query: a}\n';

    expect(onlyDiagnostic(source)).toMatchObject({
      line: 2,
      column: 12,
      message: 'each entry of list "forces" is a word, phrase or wildcard',
    });
  });

  it('reports a syntax error inside a list entry at its column', () => {
    const source = `lists:\n  forces: [troops, '"tank units']\nwatches:\n  - {id: w, name: W, query: a}\n`;

    const d = onlyDiagnostic(source);

    expect(d.message).toBe('unterminated phrase: this quote is never closed');
    expect(textAt(source, d)).toBe(`"tank units']`);
  });
});

describe('parseWatchFile: watch fields', () => {
  it('reads a watch with every field', () => {
    const source = [
      'watches:',
      '  - id: korea-troops',
      '    name: Korea troop deployments',
      '    description: North Korean troops abroad',
      '    query: troops AND korea',
      '    severity: high',
      '    sources: [wire-a, wire-b]',
      '    lang: EN',
      '',
    ].join('\n');

    const file = parseWatchFile(source, PATH);

    expect(file.diagnostics).toEqual([]);
    expect(file.watches).toEqual([
      {
        id: 'korea-troops',
        name: 'Korea troop deployments',
        description: 'North Korean troops abroad',
        query: 'troops AND korea',
        severity: 'high',
        updates: false,
        sources: ['wire-a', 'wire-b'],
        lang: 'en',
        expr: {
          kind: 'and',
          offset: 0,
          children: [
            { kind: 'word', offset: 0, token: 'troops', text: 'troops' },
            { kind: 'word', offset: 11, token: 'korea', text: 'korea' },
          ],
        },
      },
    ]);
  });

  it('gives a watch without severity the normal severity', () => {
    const file = parseWatchFile('watches:\n  - {id: w, name: W, query: a}\n', PATH);

    expect(file.watches[0]?.severity).toBe('normal');
  });

  it('reports a watch id that is not kebab-case, suggesting one', () => {
    const source = 'watches:\n  - id: NorthKorea_Troops\n    name: W\n    query: a\n';

    expect(formatDiagnostic(onlyDiagnostic(source))).toBe(
      'watches.yaml:2:9: watch id "NorthKorea_Troops" is not kebab-case\n  hint: write north-korea-troops',
    );
  });

  it('reports an unknown key in a watch, suggesting the close one', () => {
    const source = 'watches:\n  - id: w\n    name: W\n    query: a\n    sevrity: high\n';

    expect(onlyDiagnostic(source)).toMatchObject({
      line: 5,
      column: 5,
      message: 'unknown key "sevrity" in watch',
      hint: 'did you mean severity:? known keys: id, name, query, description, severity, sources, lang, updates',
    });
  });

  it('reports an unknown top-level key', () => {
    const source = 'watches:\n  - {id: w, name: W, query: a}\nlist:\n  x: [a]\n';

    expect(onlyDiagnostic(source)).toMatchObject({
      line: 3,
      column: 1,
      message: 'unknown key "list"',
    });
  });

  it('reports each missing required key at the watch', () => {
    const source = 'watches:\n  - description: nothing else\n';

    const { diagnostics } = parseWatchFile(source, PATH);

    expect(diagnostics.map(formatDiagnostic)).toEqual([
      'watches.yaml:2:5: the watch has no id:',
      'watches.yaml:2:5: the watch has no name:',
      'watches.yaml:2:5: the watch has no query:',
    ]);
  });

  it('reports an id that is not a string', () => {
    const source = 'watches:\n  - id: 42\n    name: W\n    query: a\n';

    expect(onlyDiagnostic(source)).toMatchObject({
      line: 2,
      column: 9,
      message: 'id: must be a non-empty string',
    });
  });

  it('reports an empty query', () => {
    const source = `watches:\n  - id: w\n    name: W\n    query: ''\n`;

    expect(onlyDiagnostic(source)).toMatchObject({
      line: 4,
      column: 12,
      message: 'query: must be a non-empty string',
    });
  });

  it('reports sources that are not a list', () => {
    const source = 'watches:\n  - {id: w, name: W, query: a, sources: wire-a}\n';

    expect(onlyDiagnostic(source)).toMatchObject({
      message: 'sources: must be a list of feed ids',
      hint: 'write sources: [wire-a, wire-b]',
    });
  });

  it('reports a lang that is not a language code', () => {
    const source = 'watches:\n  - {id: w, name: W, query: a, lang: english}\n';

    expect(onlyDiagnostic(source)).toMatchObject({
      message: 'lang "english" is not a language code',
      hint: 'write a code such as en, fr or ko',
    });
  });

  it('reports a duplicate id at the second watch, naming the line of the first', () => {
    const source = 'watches:\n  - {id: w, name: One, query: a}\n  - {id: w, name: Two, query: b}\n';

    const file = parseWatchFile(source, PATH);

    expect(file.diagnostics.map(formatDiagnostic)).toEqual([
      'watches.yaml:3:10: duplicate watch id "w"\n  hint: it is first used on line 2; ids must be unique',
    ]);
    expect(file.watches.map((w) => w.name)).toEqual(['One']);
  });

  it('reports an item of watches: that is not a map', () => {
    const source = 'watches:\n  - just text\n  - {id: w, name: W, query: a}\n';

    expect(onlyDiagnostic(source)).toMatchObject({
      line: 2,
      column: 5,
      message: 'a watch is a map with id, name and query',
    });
  });

  it('reports watches: that is not a sequence', () => {
    expect(onlyDiagnostic('watches: {id: w}\n')).toMatchObject({
      line: 1,
      column: 10,
      message: 'watches: is a sequence of watches',
    });
  });

  it('reports a file without watches:', () => {
    expect(onlyDiagnostic('lists:\n  a: [b]\n')).toMatchObject({
      line: 1,
      column: 1,
      message: 'the file has no watches:',
    });
  });

  it('reports a file that is not a map', () => {
    expect(onlyDiagnostic('- id: w\n').message).toBe(
      'a watch file is a map with lists: and watches:',
    );
  });
});

describe('parseWatchFile: YAML errors', () => {
  it('reports a YAML syntax error at its place', () => {
    const source = 'watches:\n  - id: w\n    name: W: x\n    query: a\n';

    expect(formatDiagnostic(onlyDiagnostic(source))).toBe(
      'watches.yaml:3:11: Nested mappings are not allowed in compact mappings',
    );
  });

  it('reports a repeated key and still checks the rest of the file', () => {
    const source = [
      'watches:',
      '  - id: w',
      '    name: W',
      '    query: a',
      '    query: b',
      '  - id: v',
      '    name: V',
      '    query: x y',
      '',
    ].join('\n');

    const { diagnostics } = parseWatchFile(source, PATH);

    expect(diagnostics.map((d) => [d.line, d.column, d.message])).toEqual([
      [5, 5, 'Map keys must be unique'],
      [8, 14, 'missing operator between "x" and "y"'],
    ]);
  });
});

describe('loadWatchFile', () => {
  let dir: string | undefined;

  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('reads the file and names it in its diagnostics', async () => {
    dir = await mkdtemp(join(tmpdir(), 'wirewatch-rules-'));
    const path = join(dir, 'watches.yaml');
    await writeFile(path, 'watches:\n  - {id: w, name: W, query: a b}\n');

    const file = await loadWatchFile(path);

    expect(file.diagnostics.map(formatDiagnostic)[0]).toMatch(
      new RegExp(`^${path.replace(/[.\\]/g, '\\$&')}:2:31: missing operator`),
    );
  });
});

describe('requireWatches', () => {
  it('returns the watches of a file with only warnings', () => {
    const file = parseWatchFile('watches:\n  - {id: w, name: W, query: a AND b OR c}\n', PATH);

    expect(requireWatches(file).map((w) => w.id)).toEqual(['w']);
    expect(file.diagnostics.map((d) => d.severity)).toEqual(['warning']);
  });
});
