/**
 * `wirewatch run --once` as a user runs it: the real CLI in a child process,
 * against a local feed server that honours ETags, with a temp data dir.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CLI_ENV,
  Cleanups,
  filesUnder,
  REPO_ROOT,
  SUMMIT_ENTRY,
  TestFeedServer,
  TROOPS_ENTRY,
  tempDir,
  WEATHER_ENTRY,
  writeConfigFiles,
} from './harness.ts';

const run = promisify(execFile);

async function wirewatch(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['bin/wirewatch.js', ...args], {
    cwd: REPO_ROOT,
    env: CLI_ENV,
    maxBuffer: 16 * 1024 * 1024,
  });
}

/** The `sent` line of the run summary as channel → count (`{}` for `0`). */
function sentLine(stdout: string): Record<string, number> {
  const line = /^ {2}sent {6}(.*)$/m.exec(stdout)?.[1];
  if (line === undefined) throw new Error(`no sent line in:\n${stdout}`);
  if (line === '0') return {};
  return Object.fromEntries(
    line.split(', ').map((part) => {
      const [channel, count] = part.split(' ');
      return [channel, Number(count)];
    }),
  );
}

const cleanups = new Cleanups();
afterEach(() => cleanups.release());

describe('wirewatch run --once', () => {
  it('sends nothing on a second run when the feed answers 304 Not Modified', async () => {
    const dir = await tempDir(cleanups);
    const feeds = await TestFeedServer.start(cleanups);
    feeds.route('/wire.xml', { kind: 'rss', entries: [TROOPS_ENTRY, SUMMIT_ENTRY, WEATHER_ENTRY] });
    const { path: configPath } = await writeConfigFiles(dir, {
      feeds: [{ id: 'wire', url: feeds.url('/wire.xml') }],
      subscribers: [
        { id: 'korea-desk', watches: ['troop-movements', 'korea'], channels: [{ type: 'outbox' }] },
        { id: 'analyst', watches: ['korea'], channels: [{ type: 'email', to: 'a@example.org' }] },
      ],
    });
    const dataDir = join(dir, 'data');
    const args = ['run', '--once', '--config', configPath, '--data-dir', dataDir];

    const first = await wirewatch(args);
    const outboxAfterFirst = await filesUnder(join(dataDir, 'outbox'));
    const second = await wirewatch(args);

    expect(sentLine(first.stdout)).toEqual({ outbox: 3, email: 2 });
    expect(first.stdout).not.toContain('nothing new');
    expect([...outboxAfterFirst.keys()].map((f) => f.split('.').pop()).sort()).toEqual([
      'eml',
      'eml',
      'json',
      'json',
      'json',
    ]);
    expect(sentLine(second.stdout)).toEqual({});
    expect(second.stdout).toContain('1 polled: 0 changed, 1 not modified, 0 failed');
    expect(second.stdout).toContain('nothing new since the last run: no alert sent again');
    expect(feeds.requests.map((r) => [r.answer, r.ifNoneMatch !== undefined])).toEqual([
      [200, false],
      [304, true],
    ]);
    expect(await filesUnder(join(dataDir, 'outbox'))).toEqual(outboxAfterFirst);
  });

  it('runs the sample config into a fresh data dir and writes complete outbox records', async () => {
    const dataDir = await tempDir(cleanups);

    const { stdout } = await wirewatch([
      'run',
      '--once',
      '--config',
      'samples/wirewatch.yaml',
      '--data-dir',
      dataDir,
    ]);

    expect(stdout).toContain('wirewatch run summary');
    const records = [...(await filesUnder(join(dataDir, 'outbox'))).entries()]
      .filter(([file]) => file.endsWith('.json'))
      .map(([, text]) => JSON.parse(text) as Record<string, unknown>);
    expect(records.length).toBeGreaterThan(0);
    for (const record of records) {
      expect(Object.keys(record)).toEqual(
        expect.arrayContaining([
          'subscriberId',
          'watchId',
          'itemId',
          'storyId',
          'title',
          'link',
          'feed',
          'matchedTerms',
          'sentAt',
        ]),
      );
      expect(record.matchedTerms).not.toEqual([]);
    }
  });
});
