import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type EmbeddedDynamo,
  startEmbeddedDynamo,
} from '../../shared/adapters/embedded-dynamodb.ts';
import { DynamoRuleStore } from '../../shared/adapters/rule-store.ts';

const exec = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/wirewatch.js');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a machine with no AWS configuration at all: no AWS
 * variables, no profile files, no instance metadata. Nothing the CLI does
 * against a local endpoint may need more.
 */
function withoutAws(env: NodeJS.ProcessEnv, dir: string): NodeJS.ProcessEnv {
  const kept = Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('AWS_')));
  return {
    ...kept,
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'wirewatch-no-aws-credentials'),
    AWS_CONFIG_FILE: join(dir, 'wirewatch-no-aws-config'),
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** Runs the real CLI with no AWS configuration; stdin is a pipe, not a terminal. */
async function wirewatch(...args: string[]): Promise<CliResult> {
  return wirewatchWith({}, ...args);
}

async function wirewatchWith(extraEnv: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await exec('node', [BIN, ...args], {
      env: { ...withoutAws(process.env, tmpdir()), NO_COLOR: '1', ...extraEnv },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as CliResult;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const V1 = [
  '# the first rules',
  'lists:',
  `  dprk: ['"north korea"', '"north korean"', DPRK, Pyongyang]`,
  'watches:',
  '  - id: dprk-troops',
  '    name: North Korean troops abroad',
  `    query: '@dprk NEAR/10 (troop* OR soldiers)'`,
  '  - id: patriot',
  '    name: Patriot',
  `    query: 'title:patriot AND NOT nfl'`,
  '',
].join('\n');

const V2 = [
  'lists:',
  `  dprk: ['"north korea"', '"north korean"', DPRK, Pyongyang]`,
  'watches:',
  '  - id: dprk-troops',
  '    name: North Korean troops abroad',
  `    query: '@dprk NEAR/5 (troop* OR soldiers)'`,
  '    severity: high',
  '  - id: taiwan-arms',
  '    name: Arms for Taiwan',
  `    query: 'taiwan AND (arms OR weapons)'`,
  '',
].join('\n');

const BROKEN = ['watches:', '  - id: one', '    name: One', '    query: north korea', ''].join(
  '\n',
);

describe('wirewatch rules push, pull and history', () => {
  let dir: string;
  let dynamo: EmbeddedDynamo;
  let store: DynamoRuleStore;
  let target: string[];
  const files: Record<'v1' | 'v2' | 'broken', string> = { v1: '', v2: '', broken: '' };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wirewatch-push-'));
    for (const [name, text] of [
      ['v1', V1],
      ['v2', V2],
      ['broken', BROKEN],
    ] as const) {
      files[name] = join(dir, `${name}.yaml`);
      await writeFile(files[name], text);
    }
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    // A fresh table per test; the CLI reaches it as it would a deployed one, by name and endpoint.
    dynamo = await startEmbeddedDynamo();
    store = new DynamoRuleStore(dynamo.documentClient, dynamo.tableNames.rules);
    target = ['--table', dynamo.tableNames.rules, '--endpoint', dynamo.endpoint];
  });

  afterEach(async () => {
    await dynamo.stop();
  });

  /** Arranges a live version directly in the table, as an earlier push would have. */
  async function seed(source: string, author = 'alice', message = 'seeded'): Promise<void> {
    const current = await store.currentVersion();
    await store.push({ source, author, message, watchCount: 2 }, current);
  }

  async function push(file: string, ...extra: string[]): Promise<CliResult> {
    return wirewatch('rules', 'push', file, ...target, '--yes', ...extra);
  }

  it('pushes the first version with its author and message', async () => {
    const result = await push(files.v1, '--author', 'alice', '-m', 'first rules');

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('nothing is live yet');
    expect(result.stdout).toContain('+ dprk-troops  North Korean troops abroad');
    expect(result.stdout).toContain('pushed version 1 (2 watches, by alice)');
    const live = await store.current();
    expect(live).toMatchObject({ version: 1, author: 'alice', message: 'first rules', source: V1 });
  });

  it('shows the watches added, removed and changed against the live version', async () => {
    await seed(V1, 'alice', 'first');

    const result = await push(files.v2, '--author', 'bob', '-m', 'second');

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('live is version 1 (2 watches, by alice');
    expect(result.stdout).toContain('+ taiwan-arms  Arms for Taiwan');
    expect(result.stdout).toContain('- patriot  Patriot');
    expect(result.stdout).toContain('~ dprk-troops  North Korean troops abroad');
    expect(result.stdout).toContain(
      `query: '@dprk NEAR/10 (troop* OR soldiers)' → '@dprk NEAR/5 (troop* OR soldiers)'`,
    );
    expect(result.stdout).toContain(`severity: 'normal' → 'high'`);
    expect(result.stdout).toContain('1 added, 1 removed, 1 changed');
    expect(result.stdout).toContain('pushed version 2');
    expect(await store.currentVersion()).toBe(2);
  });

  it('pulls the exact YAML of the live version, or of an older one into a file', async () => {
    await seed(V1);
    await seed(V2);
    const out = join(dir, 'pulled.yaml');

    const live = await wirewatch('rules', 'pull', ...target);
    const old = await wirewatch('rules', 'pull', ...target, '--version', '1', '--out', out);

    expect(live.code).toBe(0);
    expect(live.stdout).toBe(V2);
    expect(old.code).toBe(0);
    expect(old.stdout).toContain('wrote version 1');
    expect(await readFile(out, 'utf8')).toBe(V1);
  });

  it('lists the history newest first with who, when, watches, message and the live marker', async () => {
    await seed(V1, 'alice', 'first rules');
    await seed(V2, 'bob', 'tighten dprk');

    const result = await wirewatch('rules', 'history', ...target);

    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/version\s+pushed\s+by\s+watches\s+message/);
    expect(lines[1]).toMatch(
      /^\*\s+2\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\s+bob\s+2\s+tighten dprk$/,
    );
    expect(lines[2]).toMatch(/^\s+1\s+\S+ \S+ UTC\s+alice\s+2\s+first rules$/);
  });

  it('writes nothing and exits 1 for a file with errors, printing where they are', async () => {
    await seed(V1);

    const result = await push(files.broken, '-m', 'broken');

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${files.broken}:4:18: missing operator`);
    expect(result.stderr).toContain('nothing pushed');
    expect((await store.history(10)).map((v) => v.version)).toEqual([1]);
  });

  it('refuses to push without --yes when stdin is not a terminal', async () => {
    await seed(V1);

    const result = await wirewatch('rules', 'push', files.v2, ...target, '-m', 'second');

    expect(result.code).toBe(2);
    expect(result.stdout).toContain('+ taiwan-arms');
    expect(result.stderr).toContain('not a terminal');
    expect(await store.currentVersion()).toBe(1);
  });

  it('pushes nothing when the file is identical to the live version', async () => {
    await seed(V1);

    const result = await push(files.v1, '-m', 'again');

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('identical to live version 1; nothing to push');
    expect((await store.history(10)).map((v) => v.version)).toEqual([1]);
  });

  it('lets concurrent pushes each win a distinct version or fail with a conflict', async () => {
    await seed(V1);
    const variants = await Promise.all(
      ['a', 'b', 'c', 'd'].map(async (who) => {
        const file = join(dir, `concurrent-${who}.yaml`);
        await writeFile(file, `${V2}# ${who}\n`);
        return { who, file };
      }),
    );

    const results = await Promise.all(
      variants.map(({ who, file }) => push(file, '--author', who, '-m', `by ${who}`)),
    );

    const won = results.filter((r) => r.code === 0);
    const lost = results.filter((r) => r.code !== 0);
    expect(won.length).toBeGreaterThanOrEqual(1);
    for (const r of lost) {
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('the live rules changed while you pushed');
    }
    const versions = won.map((r) => Number(/pushed version (\d+)/.exec(r.stdout)?.[1]));
    expect(new Set(versions).size).toBe(won.length);
    const history = await store.history(10);
    expect(history).toHaveLength(1 + won.length);
    expect(history.map((v) => v.version).sort()).toEqual([1, ...versions].sort());
  });

  it('says so in one line when the table does not exist', async () => {
    const result = await wirewatch(
      'rules',
      'history',
      '--table',
      'no-such-table',
      '--endpoint',
      dynamo.endpoint,
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the rules table does not exist');
    expect(result.stderr).not.toContain('    at ');
  });

  it('still asks for AWS credentials for a table in AWS, without --endpoint', async () => {
    const result = await wirewatchWith(
      { AWS_REGION: 'eu-west-1' },
      'rules',
      'history',
      '--table',
      dynamo.tableNames.rules,
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no AWS credentials');
  });

  it('asks which deployment when no table is named', async () => {
    const result = await wirewatch('rules', 'history');

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('say which deployment: --stack <name>');
  });
});

describe('wirewatch rules push --data-dir', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'wirewatch-push-data-'));
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('pushes to and pulls from the embedded stack of a data directory', async () => {
    const file = join(dataDir, 'watches.yaml');
    await writeFile(file, V1);

    const pushed = await wirewatch('rules', 'push', file, '-d', dataDir, '--yes', '-m', 'local');
    const pulled = await wirewatch('rules', 'pull', '-d', dataDir);

    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toContain('wirewatch-rules (data dir');
    expect(pushed.stdout).toContain('pushed version 1');
    expect(pulled.stdout).toBe(V1);
  });
});
