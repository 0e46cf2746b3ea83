import { describe, expect, it } from 'vitest';
import { diffWatchFiles, isEmptyDiff } from '../../shared/rules/rule-versions.ts';
import { parseWatchFile, type WatchFile } from '../../shared/rules/watch-file.ts';

function parse(lines: string[]): WatchFile {
  const file = parseWatchFile(`${lines.join('\n')}\n`, 'watches.yaml');
  expect(file.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return file;
}

const LIVE = parse([
  'lists:',
  `  dprk: ['"north korea"', DPRK]`,
  'watches:',
  '  - id: dprk-troops',
  '    name: DPRK troops',
  `    query: '@dprk NEAR/8 troops'`,
  '  - id: patriot',
  '    name: Patriot',
  '    query: patriot',
  '  - id: old',
  '    name: Old watch',
  '    query: old',
]);

describe('diffWatchFiles', () => {
  it('lists every watch as added before the first push', () => {
    const diff = diffWatchFiles(undefined, LIVE);

    expect(diff.added.map((w) => w.id)).toEqual(['dprk-troops', 'patriot', 'old']);
    expect(diff.removed).toEqual([]);
    expect(diff.listsAdded).toEqual(['dprk']);
  });

  it('compares watches by id: added, removed, and changed with each field old and new', () => {
    const next = parse([
      'lists:',
      `  dprk: ['"north korea"', DPRK]`,
      'watches:',
      '  - id: dprk-troops',
      '    name: DPRK troops',
      `    query: '@dprk NEAR/5 troops'`,
      '    severity: high',
      '  - id: patriot',
      '    name: Patriot',
      '    query: patriot',
      '  - id: taiwan',
      '    name: Taiwan arms',
      '    query: taiwan',
    ]);

    const diff = diffWatchFiles(LIVE, next);

    expect(diff.added.map((w) => w.id)).toEqual(['taiwan']);
    expect(diff.removed.map((w) => w.id)).toEqual(['old']);
    expect(diff.changed).toEqual([
      {
        id: 'dprk-troops',
        name: 'DPRK troops',
        changes: [
          { field: 'query', before: '@dprk NEAR/8 troops', after: '@dprk NEAR/5 troops' },
          { field: 'severity', before: 'normal', after: 'high' },
        ],
      },
    ]);
  });

  it('reports a watch whose list changed, and the list entries added and removed', () => {
    const next = parse([
      'lists:',
      `  dprk: ['"north korea"', Pyongyang]`,
      'watches:',
      '  - id: dprk-troops',
      '    name: DPRK troops',
      `    query: '@dprk NEAR/8 troops'`,
      '  - id: patriot',
      '    name: Patriot',
      '    query: patriot',
      '  - id: old',
      '    name: Old watch',
      '    query: old',
    ]);

    const diff = diffWatchFiles(LIVE, next);

    expect(diff.listsChanged).toEqual([{ name: 'dprk', added: ['Pyongyang'], removed: ['DPRK'] }]);
    expect(diff.changed).toEqual([
      { id: 'dprk-troops', name: 'DPRK troops', changes: [{ field: 'lists', after: '@dprk' }] },
    ]);
  });

  it('finds no change when only comments and formatting differ', () => {
    const next = parse([
      '# reformatted',
      'lists: { dprk: ["\\"north korea\\"", DPRK] }',
      'watches:',
      '  - { id: dprk-troops, name: DPRK troops, query: "@dprk NEAR/8 troops" }',
      '  - { id: patriot, name: Patriot, query: patriot }',
      '  - { id: old, name: Old watch, query: old }',
    ]);

    expect(isEmptyDiff(diffWatchFiles(LIVE, next))).toBe(true);
  });
});
