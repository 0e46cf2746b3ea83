/**
 * Two `wirewatch run --once` started at the same instant on one data
 * directory, as a user (or two cron entries) would: one runs, the other is
 * refused with the one clear line, never a LevelDB error from the middle of
 * dynalite.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CLI_ENV,
  Cleanups,
  REPO_ROOT,
  rssDocument,
  TROOPS_ENTRY,
  tempDir,
  writeConfigFiles,
} from '../integration/harness.ts';

const ROUNDS = 6;
/** How long the feed takes to answer: the winner holds the directory at least this long. */
const FEED_DELAY_MS = 1_500;

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function wirewatch(args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/wirewatch.js', ...args],
      { cwd: REPO_ROOT, env: CLI_ENV },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A feed that answers after `FEED_DELAY_MS`, so that both runs overlap. */
async function slowFeed(cleanups: Cleanups): Promise<string> {
  const server: Server = createServer((_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/rss+xml' });
      res.end(rssDocument('Slow wire', [TROOPS_ENTRY]));
    }, FEED_DELAY_MS);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  cleanups.defer(
    () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/wire.xml`;
}

const cleanups = new Cleanups();
afterEach(() => cleanups.release());

describe('two wirewatch run --once on one data directory at the same instant', () => {
  it('lets one run and refuses the other with a clear error, round after round', async () => {
    const dir = await tempDir(cleanups);
    const { path: configPath } = await writeConfigFiles(dir, {
      feeds: [{ id: 'wire', url: await slowFeed(cleanups) }],
      subscribers: [{ id: 'desk', watches: ['korea'], channels: [{ type: 'outbox' }] }],
    });

    const rounds = await Promise.all(
      Array.from({ length: ROUNDS }, (_, round) => {
        const args = [
          'run',
          '--once',
          '--config',
          configPath,
          '--data-dir',
          join(dir, `data-${round}`),
        ];
        return Promise.all([wirewatch(args), wirewatch(args)]);
      }),
    );

    for (const [round, outcomes] of rounds.entries()) {
      const ran = outcomes.filter((o) => o.code === 0);
      const refused = outcomes.filter((o) => o.code !== 0);
      const context = `round ${round}: ${JSON.stringify(outcomes, null, 2)}`;
      expect(ran, context).toHaveLength(1);
      expect(ran[0]?.stdout, context).toContain('wirewatch run summary');
      expect(refused, context).toHaveLength(1);
      expect(refused[0]?.stderr, context).not.toContain('LEVEL_');
      expect(refused[0]?.stderr, context).not.toMatch(/\n\s+at /);
      expect(refused[0]?.code, context).toBe(1);
      expect(refused[0]?.stderr, context).toContain(
        `Data directory ${join(dir, `data-${round}`)} is in use by another wirewatch process`,
      );
    }
  });
});
