import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/wirewatch.js');

async function wirewatch(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec('node', [BIN, ...args], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('wirewatch rules', () => {
  let dir: string;
  let watches: string;
  let broken: string;
  let items: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wirewatch-cli-'));
    watches = join(dir, 'watches.yaml');
    broken = join(dir, 'broken.yaml');
    items = join(dir, 'items.jsonl');
    await writeFile(
      watches,
      [
        'lists:',
        `  dprk: ['"north korea"', '"north korean"', DPRK, Pyongyang]`,
        'watches:',
        '  - id: dprk-troops',
        '    name: North Korean troops abroad',
        `    query: '@dprk NEAR/10 (troop* OR soldiers) AND NOT parade'`,
        '  - id: patriot',
        '    name: Patriot',
        `    query: 'title:patriot AND NOT (nfl OR football)'`,
        '',
      ].join('\n'),
    );
    await writeFile(
      broken,
      [
        'watches:',
        '  - id: one',
        '    name: One',
        '    query: north korea',
        '  - id: two',
        '    name: Two',
        `    query: '@missing AND troops'`,
        '',
      ].join('\n'),
    );
    await writeFile(
      items,
      [
        {
          id: 'b',
          title: 'North-Korean troops deployed to Kursk',
          summary: 'Pyongyang sent soldiers.',
          feed: 'wire-a',
        },
        {
          id: 'a',
          title: 'Patriot battery arrives in Poland',
          summary: 'Polish soldiers unloaded it.',
          feed: 'wire-b',
        },
        { id: 'c', title: 'Patriots win', summary: 'NFL football', feed: 'sports' },
      ]
        .map((i) => JSON.stringify(i))
        .join('\n'),
    );
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('check exits 0 for a valid file', async () => {
    const result = await wirewatch('rules', 'check', watches);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('2 watches');
  });

  it('check prints every error with path:line:column and exits 1', async () => {
    const result = await wirewatch('rules', 'check', broken);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${broken}:4:18: missing operator between "north" and "korea"`);
    expect(result.stderr).toContain(`${broken}:7:13: unknown list @missing`);
  });

  it('check reports queries and lists nested too deep and exits 1, without a stack trace', async () => {
    const deep = join(dir, 'deep.yaml');
    const lists = Array.from({ length: 10_000 }, (_, i) => `  l${i}: ['@l${i + 1}']`);
    await writeFile(
      deep,
      [
        'lists:',
        ...lists,
        '  l10000: [end]',
        'watches:',
        '  - id: parens',
        '    name: Parens',
        `    query: '${'('.repeat(1800)}troops${')'.repeat(1800)}'`,
        '  - id: chain',
        '    name: Chain',
        `    query: '@l0'`,
        '',
      ].join('\n'),
    );

    const result = await wirewatch('rules', 'check', deep);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `${deep}:10006:113: query nests 1800 levels deep; at most 100 are allowed`,
    );
    expect(result.stderr).toContain(
      `${deep}:10009:13: list @l0 expands through more than 100 lists`,
    );
    expect(result.stderr).not.toContain('RangeError');
  });

  it('test --format tsv prints one sorted line per match and nothing else', async () => {
    const result = await wirewatch('rules', 'test', watches, '--items', items, '--format', 'tsv');

    expect(result.code).toBe(0);
    expect(result.stdout).toBe('a\tpatriot\nb\tdprk-troops\n');
  });

  it('test --format json gives the hits with offsets', async () => {
    const result = await wirewatch('rules', 'test', watches, '--items', items, '--format', 'json');
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));

    const patriot = lines.find((l) => l.watchId === 'patriot');
    expect(patriot.hits).toEqual([{ term: 'patriot', field: 'title', start: 0, end: 7 }]);
  });

  it('explain says which required part was missing', async () => {
    const result = await wirewatch(
      'rules',
      'explain',
      watches,
      '--watch',
      'dprk-troops',
      '--items',
      items,
    );

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/MATCH\s+b /);
    expect(result.stdout).toMatch(/NO MATCH c[\s\S]*missing: @dprk/);
  });

  it('explain names an unknown watch and exits 2', async () => {
    const result = await wirewatch(
      'rules',
      'explain',
      watches,
      '--watch',
      'nope',
      '--items',
      items,
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no watch "nope"');
  });

  it('test reports a bad items line with its line number', async () => {
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, '{"id":"x","title":"ok"}\nnot json\n');

    const result = await wirewatch('rules', 'test', watches, '--items', bad);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${bad}:2: not a JSON object`);
  });
});
