/**
 * `wirewatch feeds status`: the health of every configured feed, from the
 * embedded stack's feed states. `wirewatch fetch <url>`: fetches and parses
 * one URL with the poller's own code and prints its items as JSON lines.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import pc from 'picocolors';
import { DataDirInUseError } from '../../shared/adapters/data-dir-lock.ts';
import { DynamoFeedStateStore } from '../../shared/adapters/dynamodb.ts';
import { startEmbeddedDynamo } from '../../shared/adapters/embedded-dynamodb.ts';
import { ConfigError, loadConfig } from '../../shared/config/config.ts';
import { createFeedFetcher, FeedFetchError } from '../../shared/feeds/fetch.ts';
import {
  type FeedHealthStatus,
  feedHealth,
  formatSeconds,
  usualGapSeconds,
} from '../../shared/feeds/health.ts';
import { normaliseEntries } from '../../shared/feeds/normalise.ts';
import { FeedParseError, parseFeed } from '../../shared/feeds/parse.ts';
import { DEFAULT_CONFIG, DEFAULT_DATA_DIR } from './run.ts';

const STATUS_COLOURS: Record<FeedHealthStatus, (text: string) => string> = {
  healthy: pc.green,
  'backing-off': pc.yellow,
  failing: pc.red,
  silent: pc.magenta,
  'never-polled': pc.dim,
};

export function registerFeedsCommands(program: Command): void {
  const feeds = program.command('feeds').description('feed health on the embedded stack');
  feeds
    .command('status')
    .description('show each feed: healthy, backing off, failing since, or silent longer than usual')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG)
    .option('-d, --data-dir <dir>', 'data directory of the embedded stack', DEFAULT_DATA_DIR)
    .action(async (options: { config: string; dataDir: string }) => {
      process.exitCode = await printStatus(options.config, resolve(options.dataDir));
    });

  program
    .command('fetch <url>')
    .description('fetch and parse one feed URL as the poller does; print its items as JSON lines')
    .option('--allow-private', 'allow loopback and private-network addresses (off by default)')
    .option('--timeout <seconds>', 'deadline for the whole fetch', '20')
    .action(async (url: string, options: { allowPrivate?: boolean; timeout: string }) => {
      process.exitCode = await fetchOne(
        url,
        options.allowPrivate ?? false,
        Number(options.timeout),
      );
    });
}

async function printStatus(configPath: string, dataDir: string): Promise<number> {
  let config: Awaited<ReturnType<typeof loadConfig>>;
  try {
    config = await loadConfig(configPath);
  } catch (error) {
    console.error(error instanceof ConfigError ? error.problems.join('\n') : String(error));
    return 1;
  }
  let dynamo: Awaited<ReturnType<typeof startEmbeddedDynamo>>;
  try {
    dynamo = await startEmbeddedDynamo({ dataDir });
  } catch (error) {
    if (!(error instanceof DataDirInUseError)) throw error;
    console.error(pc.red(error.message));
    return 1;
  }
  try {
    const store = new DynamoFeedStateStore(dynamo.documentClient, dynamo.tableNames.feedState);
    const states = new Map((await store.list()).map((s) => [s.feedId, s]));
    const now = new Date();
    const rows = config.feeds.map((feed) => {
      const state = states.get(feed.id);
      const health = feedHealth(state, now);
      const gap = state === undefined ? undefined : usualGapSeconds(state, now);
      return {
        feed: feed.id,
        status: health.status,
        lastSuccess: state?.lastSuccessAt ?? '-',
        perDay: state?.itemsPerDay === undefined ? '-' : state.itemsPerDay.toFixed(1),
        cadence: gap === undefined ? '-' : formatSeconds(gap),
        next: state?.nextPollAt ?? '-',
        detail: health.detail,
      };
    });
    const header = {
      feed: 'feed',
      status: 'status',
      lastSuccess: 'last success',
      perDay: 'items/day',
      cadence: 'cadence',
      next: 'next poll',
      detail: 'detail',
    };
    const columns = ['feed', 'status', 'lastSuccess', 'perDay', 'cadence', 'next'] as const;
    const widths = columns.map((c) => Math.max(header[c].length, ...rows.map((r) => r[c].length)));
    const line = (row: typeof header, colour = (t: string) => t): string =>
      `${columns
        .map((c, i) => {
          const cell = row[c].padEnd(widths[i] ?? 0);
          return c === 'status' ? colour(cell) : cell;
        })
        .join('  ')}  ${row.detail}`;
    console.log(pc.bold(line(header)));
    for (const row of rows) {
      console.log(line(row, STATUS_COLOURS[row.status as FeedHealthStatus]));
    }
    const unhealthy = rows.filter((r) => r.status !== 'healthy' && r.status !== 'never-polled');
    console.log(
      pc.dim(`${rows.length} feeds, ${unhealthy.length} need attention; data from ${dataDir}`),
    );
    return 0;
  } finally {
    await dynamo.stop();
  }
}

async function fetchOne(
  url: string,
  allowPrivate: boolean,
  timeoutSeconds: number,
): Promise<number> {
  const fetcher = createFeedFetcher({
    allowPrivateNetworks: allowPrivate,
    ...(Number.isFinite(timeoutSeconds) && timeoutSeconds > 0
      ? { timeoutMs: timeoutSeconds * 1000 }
      : {}),
  });
  try {
    const fetched = await fetcher(url, {});
    if (fetched.status !== 'ok') throw new Error(`${url} answered 304 to an unconditional GET`);
    const parsed = await parseFeed(fetched.body, fetched.finalUrl);
    const { items, skipped } = normaliseEntries('fetch', fetched.baseUrl, parsed);
    for (const item of items) process.stdout.write(`${JSON.stringify(item)}\n`);
    for (const entry of skipped)
      console.error(pc.dim(`entry ${entry.index} skipped: ${entry.reason}`));
    if (fetched.permanentUrl !== undefined) {
      console.error(pc.yellow(`note: ${url} has moved permanently to ${fetched.permanentUrl}`));
    }
    return 0;
  } catch (error) {
    const kind =
      error instanceof FeedFetchError
        ? error.kind
        : error instanceof FeedParseError
          ? 'parse'
          : 'error';
    const message = error instanceof Error ? error.message : String(error);
    console.error(`wirewatch fetch: ${kind}: ${message.replace(/\s+/g, ' ')}`);
    return 2;
  } finally {
    fetcher.close();
  }
}
