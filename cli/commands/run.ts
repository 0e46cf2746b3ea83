/** `wirewatch run`: the pipeline on the embedded stack. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import pc from 'picocolors';
import { QueueFullDiskError } from '../../shared/adapters/local-queue.ts';
import { formatInTimeZone } from '../../shared/alerts/render.ts';
import { ConfigError, loadConfig } from '../../shared/config/config.ts';
import { formatDiagnostic, WatchFileError } from '../../shared/rules/diagnostics.ts';
import { createCliLogger } from '../local/cli-logger.ts';
import {
  type CycleSummary,
  DEFAULT_LOCAL_UNSUBSCRIBE_URL,
  LocalStack,
  type WaitingDeliveries,
} from '../local/local-stack.ts';

export const DEFAULT_CONFIG = 'samples/wirewatch.yaml';
export const DEFAULT_DATA_DIR = '.wirewatch';

interface RunOptions {
  once?: boolean;
  watch?: boolean;
  config: string;
  dataDir: string;
  verbose?: boolean;
  tick: string;
}

export function registerRunCommands(program: Command): void {
  program
    .command('run')
    .description('poll the feeds, match the watches and deliver alerts on the embedded stack')
    .option(
      '--once',
      'poll every feed once, process until the queues are empty, print a summary, exit',
    )
    .option(
      '--watch',
      'keep polling each feed on its interval, send digests when due and serve the unsubscribe links, until interrupted (Ctrl-C)',
    )
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG)
    .option(
      '-d, --data-dir <dir>',
      'where tables, queues and the outbox are kept',
      DEFAULT_DATA_DIR,
    )
    .option('--tick <seconds>', 'with --watch: how often to look for due feeds', '10')
    .option('-v, --verbose', 'log every warning (skipped entries, retries)')
    .action(async (options: RunOptions) => {
      if (options.once === options.watch) {
        console.error('wirewatch run needs --once or --watch (see wirewatch run --help)');
        process.exitCode = 2;
        return;
      }
      const stack = await startStack(options);
      if (!stack) return;
      let fullDisk: QueueFullDiskError | undefined;
      try {
        try {
          if (options.once) await runOnce(stack, options);
          else await runWatch(stack, options);
        } finally {
          await stack.stop();
        }
      } catch (error) {
        if (!(error instanceof QueueFullDiskError)) throw error;
        fullDisk = error;
      }
      // A full disk, met anywhere in the run: the one line that says what to do.
      fullDisk ??= stack.itemsQueue.lastFullDisk ?? stack.alertsQueue.lastFullDisk;
      if (fullDisk) {
        console.error(pc.red(fullDisk.message));
        process.exitCode = 1;
      }
    });
}

/** The port to serve unsubscribe links on while watching: that of a loopback base URL. */
function unsubscribePort(baseUrl: string | undefined): number | undefined {
  const url = new URL(baseUrl ?? DEFAULT_LOCAL_UNSUBSCRIBE_URL);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) return undefined;
  return Number(url.port || (url.protocol === 'https:' ? 443 : 80));
}

async function startStack(options: RunOptions): Promise<LocalStack | undefined> {
  try {
    const config = await loadConfig(options.config);
    for (const notice of config.notices) console.error(pc.yellow(`note: ${notice}`));
    const port = options.watch ? unsubscribePort(config.unsubscribe.baseUrl) : undefined;
    const stack = await LocalStack.start(config, {
      dataDir: resolve(options.dataDir),
      logger: createCliLogger({ verbose: options.verbose ?? false }),
      ...(port !== undefined ? { unsubscribePort: port } : {}),
    });
    if (stack.unsubscribeUrl) console.log(`unsubscribe links served at ${stack.unsubscribeUrl}`);
    return stack;
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.problems.join('\n'));
    } else if (error instanceof WatchFileError) {
      console.error(error.diagnostics.map(formatDiagnostic).join('\n'));
    } else {
      console.error(pc.red(error instanceof Error ? error.message : String(error)));
    }
    process.exitCode = 1;
    return undefined;
  }
}

async function runOnce(stack: LocalStack, options: RunOptions): Promise<void> {
  const progress = feedProgress(stack.feedList.length);
  const summary = await stack.runCycle({ all: true, onFeed: progress });
  progress.done();
  printSummary(summary, resolve(options.dataDir), await stack.waiting());
}

async function runWatch(stack: LocalStack, options: RunOptions): Promise<void> {
  const tickMs = Math.max(1, Number(options.tick) || 10) * 1000;
  let stopping = false;
  let wake: (() => void) | undefined;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    console.error('\nstopping after the current cycle…');
    wake?.();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  console.log(`watching ${stack.feedList.length} feeds; Ctrl-C to stop`);
  try {
    while (!stopping) {
      const summary = await stack.runCycle();
      if (summary.feedsDue > 0 || summary.alertsQueued > 0 || summary.pending.alerts > 0) {
        console.log(`${new Date().toISOString()} ${oneLine(summary)}`);
      }
      await new Promise<void>((done) => {
        wake = done;
        setTimeout(done, tickMs).unref();
      });
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

function feedProgress(
  total: number,
): ((r: { feedId: string; status: string }) => void) & { done(): void } {
  let n = 0;
  const tty = process.stderr.isTTY;
  const report = ((r: { feedId: string; status: string }) => {
    n++;
    if (tty)
      process.stderr.write(`\r${pc.dim(`polling feeds ${n}/${total}`)} ${r.feedId.padEnd(24)}`);
    else process.stderr.write(`polled ${r.feedId}: ${r.status} (${n}/${total})\n`);
  }) as ((r: { feedId: string; status: string }) => void) & { done(): void };
  report.done = () => {
    if (tty && n > 0) process.stderr.write('\r\x1b[2K');
  };
  return report;
}

function oneLine(s: CycleSummary): string {
  const sent = Object.values(s.sent).reduce((a, b) => a + (b ?? 0), 0);
  return `feeds ${s.feedsDue} due, ${s.feedsFailed.length} failed; items ${s.itemsNew} new; matches ${s.matches}; alerts sent ${sent}, pending ${s.pending.alerts}`;
}

function printSummary(s: CycleSummary, dataDir: string, waiting: WaitingDeliveries[]): void {
  const sentTotal = Object.values(s.sent).reduce((a, b) => a + (b ?? 0), 0);
  const lines = [
    '',
    pc.bold('wirewatch run summary'),
    `  feeds     ${s.feedsDue} polled: ${s.feedsPolled} changed, ${s.feedsNotModified} not modified, ${s.feedsFailed.length} failed`,
    ...s.feedsFailed.map((f) => pc.red(`            ✗ ${f.feedId} (${f.kind}): ${f.message}`)),
    `  items     ${s.itemsNew} new, ${s.itemsSeen} already seen`,
    `  matches   ${s.matches} (items × watches), ${s.alertsQueued} alerts queued`,
    `  sent      ${
      sentTotal === 0
        ? '0'
        : Object.entries(s.sent)
            .map(([channel, n]) => `${channel} ${n}`)
            .join(', ')
    }`,
  ];
  if (s.followUps > 0)
    lines.push(
      `  also      ${s.followUps} "also reported by" follow-ups sent under earlier alerts`,
    );
  if (s.queuedForDigest > 0 || s.digestsSent > 0)
    lines.push(
      `  digest    ${s.queuedForDigest} queued for digests, ${s.digestsSent} digest${s.digestsSent === 1 ? '' : 's'} sent`,
    );
  if (s.held > 0 || s.released > 0)
    lines.push(`  quiet     ${s.held} held for quiet hours, ${s.released} released`);
  for (const w of waiting) {
    const parts = [
      w.digestEntries > 0 && w.nextDigest
        ? `${w.digestEntries} for the digest of ${formatInTimeZone(w.nextDigest.toISOString(), w.timezone)}`
        : '',
      w.held > 0 && w.nextRelease
        ? `${w.held} held until ${formatInTimeZone(w.nextRelease.toISOString(), w.timezone)}`
        : '',
    ].filter(Boolean);
    lines.push(pc.dim(`  waiting   ${w.subscriberId}: ${parts.join('; ')}`));
  }
  if (s.alreadySent > 0)
    lines.push(
      `  skipped   ${s.alreadySent} deliveries already sent before, or other copies of a story's report (not sent again)`,
    );
  if (s.deliveryFailures > 0 || s.pending.alerts > 0) {
    lines.push(
      pc.yellow(
        `  retry     ${s.deliveryFailures} deliveries failed; ${s.pending.alerts} alerts stay queued for the next run`,
      ),
    );
  }
  if (s.deadLetters.items + s.deadLetters.alerts > 0) {
    lines.push(
      pc.red(
        `  dead      ${s.deadLetters.items} items, ${s.deadLetters.alerts} alerts in dead-letter queues (wirewatch dlq list)`,
      ),
    );
  }
  if (s.itemsNew === 0 && sentTotal === 0)
    lines.push('  nothing new since the last run: no alert sent again');
  lines.push(pc.dim(`  outbox    ${dataDir}/outbox`));
  console.log(lines.join('\n'));
}
