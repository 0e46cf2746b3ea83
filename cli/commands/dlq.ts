/**
 * `wirewatch dlq`: the embedded stack's dead letters. The command works on the
 * queue files itself when the data directory is free, and asks the process
 * that owns it (a running `wirewatch run`) through its control socket when
 * not, so that it never changes the files under that process's feet.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import pc from 'picocolors';
import { DataDirInUseError, lockDataDir } from '../../shared/adapters/data-dir-lock.ts';
import { DeadLetterNotFoundError, LocalQueue } from '../../shared/adapters/local-queue.ts';
import { CommandFailure, run } from '../command-failure.ts';
import {
  ControlRequestError,
  ControlUnavailableError,
  controlClient,
  controlSocketPath,
} from '../local/control-socket.ts';
import {
  ALERTS_QUEUE,
  type DeadLetterQueues,
  ITEMS_QUEUE,
  QUEUE_NAMES,
  queueDeadLetters,
} from '../local/dead-letters.ts';
import { DEFAULT_DATA_DIR } from './run.ts';

/** How long a dlq command waits, by default, for the owner of the data directory to answer. */
const DEFAULT_WAIT_SECONDS = 30;
const RETRY_MS = 250;

interface DlqOptions {
  dataDir: string;
  wait: string;
}

export function registerDlqCommands(program: Command): void {
  const dlq = program
    .command('dlq')
    .description(
      'inspect and redrive the embedded dead-letter queues (safe while wirewatch run is running: it goes through it)',
    );
  dlq
    .command('list')
    .description('list the dead letters of the items and alerts queues, with their reasons')
    .option('-d, --data-dir <dir>', 'data directory', DEFAULT_DATA_DIR)
    .option(
      '--wait <seconds>',
      'how long to wait for a busy wirewatch process using the data directory',
      String(DEFAULT_WAIT_SECONDS),
    )
    .action(
      run(async (options: DlqOptions) => {
        const queues = await withDeadLetterQueues(options, (q) => q.list());
        let total = 0;
        for (const { queue, deadLetters } of queues) {
          for (const d of deadLetters) {
            total++;
            console.log(
              `${pc.bold(queue)} ${d.id}  ${d.deadLetteredAt}  receives=${d.receiveCount}`,
            );
            console.log(`  reason: ${d.reason}`);
            console.log(
              pc.dim(`  body: ${d.body.length > 300 ? `${d.body.slice(0, 300)}…` : d.body}`),
            );
          }
        }
        console.log(
          total === 0 ? 'no dead letters' : `${total} dead letter${total === 1 ? '' : 's'}`,
        );
      }),
    );
  dlq
    .command('redrive')
    .description('move dead letters back to their queue to be processed on the next run')
    .option('-d, --data-dir <dir>', 'data directory', DEFAULT_DATA_DIR)
    .option(
      '--wait <seconds>',
      'how long to wait for a busy wirewatch process using the data directory',
      String(DEFAULT_WAIT_SECONDS),
    )
    .option('--queue <name>', 'items or alerts (default: both)')
    .option('--id <ids...>', 'only these dead letters')
    .action(
      run(async (options: DlqOptions & { queue?: string; id?: string[] }) => {
        const queue = QUEUE_NAMES.find((name) => name === options.queue);
        if (options.queue !== undefined && !queue) {
          throw new CommandFailure(`--queue must be ${ITEMS_QUEUE} or ${ALERTS_QUEUE}`, 2);
        }
        const redriven = await withDeadLetterQueues(options, (q) =>
          q.redrive({ ...(queue ? { queue } : {}), ...(options.id ? { ids: options.id } : {}) }),
        );
        for (const { queue: name, moved } of redriven) {
          console.log(
            `${name}: ${moved} message${moved === 1 ? '' : 's'} moved back; the next run processes them`,
          );
        }
      }),
    );
}

/**
 * Runs `use` on the dead letters of the data directory: on its queue files
 * when this process can take the directory's lock, else through the control
 * socket of the process that holds it. When that process does not answer (it
 * is starting, stopping, or is a command that serves no socket) this waits
 * and tries again, up to `--wait` seconds.
 */
async function withDeadLetterQueues<T>(
  options: DlqOptions,
  use: (queues: DeadLetterQueues) => Promise<T>,
): Promise<T> {
  const dataDir = resolve(options.dataDir);
  const waitSeconds = Number(options.wait);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0) {
    throw new CommandFailure(`--wait must be a number of seconds, got ${options.wait}`, 2);
  }
  const deadline = Date.now() + waitSeconds * 1000;
  let told = false;
  for (;;) {
    let inUse: DataDirInUseError;
    try {
      return await onQueueFiles(dataDir, use);
    } catch (error) {
      if (!(error instanceof DataDirInUseError)) throw failureOf(error);
      inUse = error;
    }
    try {
      return await use(controlClient(dataDir));
    } catch (error) {
      if (!(error instanceof ControlUnavailableError)) throw failureOf(error);
    }
    if (Date.now() >= deadline) {
      throw new CommandFailure(
        `gave up after ${waitSeconds} s waiting for the wirewatch process using ${dataDir} ` +
          `to answer on ${controlSocketPath(dataDir)}. ${inUse.message}`,
        1,
      );
    }
    if (!told) {
      console.error(pc.dim(`waiting for the wirewatch process using ${dataDir}…`));
      told = true;
    }
    await new Promise((done) => setTimeout(done, RETRY_MS));
  }
}

/** `use` on the queue files, holding the data directory's lock meanwhile. */
async function onQueueFiles<T>(
  dataDir: string,
  use: (queues: DeadLetterQueues) => Promise<T>,
): Promise<T> {
  const lock = await lockDataDir(dataDir);
  try {
    const items = await LocalQueue.open<unknown>({ name: ITEMS_QUEUE, dataDir });
    const alerts = await LocalQueue.open<unknown>({ name: ALERTS_QUEUE, dataDir });
    try {
      return await use(queueDeadLetters({ items, alerts }));
    } finally {
      await items.close();
      await alerts.close();
    }
  } finally {
    await lock.release();
  }
}

/** Errors a person acts on, as one line and exit code 1; anything else as it is. */
function failureOf(error: unknown): unknown {
  if (error instanceof DeadLetterNotFoundError || error instanceof ControlRequestError) {
    return new CommandFailure(error.message, 1);
  }
  return error;
}
