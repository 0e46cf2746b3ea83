/**
 * One process of a fault schedule: the embedded stack, exactly as
 * `wirewatch run` builds it, on the schedule's data directory. In `faulty`
 * mode it runs a few cycles while its own faults strike (DynamoDB errors and
 * throttling through a client middleware, queue duplication, redelivery and
 * reordering, clock jumps, a disk that fills up); the bench may kill it with
 * SIGKILL at any moment. In `settle` mode, with every fault off, it runs
 * cycles, moving its clock past visibility timeouts, leases and digest times,
 * until nothing is left to do, and prints what is left as one JSON line.
 *
 * Everything it logs goes, synchronously, to a trace file that survives a
 * kill: the bench reads there which sends were recorded before a process died.
 *
 * Spec: JSON in WIREWATCH_FAULT_WORKER. Exit codes: 0 done, 1 a cycle threw,
 * 3 the disk filled up, 4 the data directory could not be opened.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import {
  InternalServerError,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { LocalStack } from '../../cli/local/local-stack.ts';
import {
  type JournalFile,
  type OpenJournalFile,
  openJournalFile,
  type QueueFaults,
  QueueFullDiskError,
} from '../../shared/adapters/local-queue.ts';
import { loadConfig } from '../../shared/config/config.ts';
import { VISIBILITY_TIMEOUT_MS } from '../../shared/pipeline/delivery-timing.ts';
import type { Clock, Logger } from '../../shared/ports.ts';
import { Random } from '../synthetic/random.ts';
import type { KillPoint, SettleReport, WorkerFaultRates, WorkerSpec } from './spec.ts';

const MAX_SETTLE_ROUNDS = 60;
const MINUTE_MS = 60_000;

/** Real time plus an offset that jumps, kept in a file so that a restarted process goes on from it. */
class JumpingClock implements Clock {
  private offsetMs: number;

  constructor(private readonly file: string) {
    try {
      this.offsetMs = (JSON.parse(readFileSync(file, 'utf8')) as { offsetMs: number }).offsetMs;
    } catch {
      this.offsetMs = 0;
    }
  }

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  jump(ms: number): void {
    this.offsetMs += ms;
    writeFileSync(this.file, JSON.stringify({ offsetMs: this.offsetMs }));
  }
}

function traceLogger(spec: WorkerSpec): Logger & { trace(fields: Record<string, unknown>): void } {
  const write = (level: string, message: string, fields?: Record<string, unknown>): void => {
    appendFileSync(
      spec.tracePath,
      `${JSON.stringify({ t: Date.now(), incarnation: spec.incarnation, level, message, ...fields })}\n`,
    );
  };
  return {
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
    trace: (fields) => write('fault', 'fault injected', fields),
  };
}

/** Counts operations by kind and kills this process (SIGKILL, as `kill -9`) at the planned one. */
class KillSwitch {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly point: KillPoint | undefined,
    private readonly trace: (fields: Record<string, unknown>) => void,
  ) {}

  /** Runs `operation` of kind `kind`, dying before or after it when it is the planned one. */
  async around<T>(kind: string, operation: () => Promise<T>): Promise<T> {
    const n = (this.seen.get(kind) ?? 0) + 1;
    this.seen.set(kind, n);
    const planned = this.point?.operation === kind && this.point.occurrence === n;
    if (planned && this.point?.when === 'before') this.die(kind);
    const result = await operation();
    if (planned && this.point?.when === 'after') this.die(kind);
    return result;
  }

  private die(kind: string): void {
    this.trace({ fault: 'kill-at-operation', operation: kind, when: this.point?.when });
    process.kill(process.pid, 'SIGKILL');
  }
}

function enospc(): Error {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), {
    code: 'ENOSPC',
    errno: -28,
    syscall: 'write',
  });
}

/**
 * Journal files through the kill switch, on a disk that fills up `fullAfterMs`
 * after start (never when undefined): a write then lands half and fails.
 */
function faultyJournals(
  fullAfterMs: number | undefined,
  kills: KillSwitch,
  onFull: () => void,
): OpenJournalFile {
  const fullAt = fullAfterMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + fullAfterMs;
  return async (path) => {
    const file = await openJournalFile(path);
    const disk: JournalFile = {
      ...file,
      write: (data, position) =>
        kills.around('journal-write', async () => {
          if (Date.now() < fullAt) return file.write(data, position);
          onFull();
          await file.write(data.subarray(0, Math.floor(data.length / 2)), position);
          throw enospc();
        }),
    };
    return disk;
  };
}

function queueFaults(
  random: Random,
  rates: WorkerFaultRates,
  trace: (fields: Record<string, unknown>) => void,
): QueueFaults {
  return {
    duplicate: () => {
      const hit = random.chance(rates.duplicate);
      if (hit) trace({ fault: 'queue-duplicate' });
      return hit;
    },
    keepAfterSuccess: () => {
      const hit = random.chance(rates.redeliver);
      if (hit) trace({ fault: 'queue-redeliver' });
      return hit;
    },
    reorder: (batch) => {
      if (batch.length > 1 && random.chance(rates.reorder)) {
        trace({ fault: 'queue-reorder' });
        random.shuffle(batch);
      }
    },
  };
}

/**
 * Fails DynamoDB requests inside the SDK's retries, as the service does when
 * it throttles or has a bad moment, and runs each through the kill switch.
 */
function injectDynamoFaults(
  stack: LocalStack,
  random: Random,
  rate: number,
  kills: KillSwitch,
  trace: (fields: Record<string, unknown>) => void,
): void {
  stack.dynamo.client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      return kills.around(operation, async () => {
        if (!random.chance(rate)) return next(args);
        const kind = random.pick(['throttle', '500', 'timeout', 'timeout-after-write'] as const);
        trace({ fault: `dynamodb-${kind}`, operation });
        const $metadata = { httpStatusCode: kind === 'throttle' ? 400 : 500 };
        if (kind === 'throttle') {
          throw new ProvisionedThroughputExceededException({
            message: 'The level of configured provisioned throughput for the table was exceeded',
            $metadata,
          });
        }
        if (kind === '500') {
          throw new InternalServerError({ message: 'Internal server error', $metadata });
        }
        // A request that times out may have been applied or not.
        if (kind === 'timeout-after-write') await next(args);
        throw Object.assign(new Error('Request timed out'), { name: 'TimeoutError' });
      });
    },
    { step: 'finalizeRequest', priority: 'low', name: 'faultBenchDynamoFaults' },
  );
}

async function settle(stack: LocalStack, clock: JumpingClock): Promise<SettleReport> {
  let rounds = 0;
  let quiescent = false;
  while (rounds < MAX_SETTLE_ROUNDS) {
    rounds++;
    await stack.runCycle({ all: true });
    const items = stack.itemsQueue.depth();
    const alerts = stack.alertsQueue.depth();
    const waiting = await stack.waiting();
    const queued = items.visible + items.notVisible + alerts.visible + alerts.notVisible;
    if (queued === 0 && waiting.length === 0) {
      quiescent = true;
      break;
    }
    if (items.visible + alerts.visible > 0) continue;
    if (queued > 0) {
      // Past the visibility timeout, hence past every claim's lease too.
      clock.jump(VISIBILITY_TIMEOUT_MS + MINUTE_MS);
      continue;
    }
    const next = Math.min(
      ...waiting.flatMap((w) =>
        [w.nextDigest, w.nextRelease].flatMap((d) => (d ? [d.getTime()] : [])),
      ),
    );
    const now = clock.now().getTime();
    clock.jump(
      Number.isFinite(next) ? Math.max(MINUTE_MS, next - now + MINUTE_MS) : 60 * MINUTE_MS,
    );
  }
  const items = stack.itemsQueue.depth();
  const alerts = stack.alertsQueue.depth();
  return {
    quiescent,
    rounds,
    pending: {
      items: items.visible + items.notVisible,
      alerts: alerts.visible + alerts.notVisible,
    },
    waiting: (await stack.waiting()).length,
    deadLetters: [
      ...stack.itemsQueue.listDeadLetters().map((d) => ({ queue: 'items' as const, ...d })),
      ...stack.alertsQueue.listDeadLetters().map((d) => ({ queue: 'alerts' as const, ...d })),
    ].map(({ queue, reason, body }) => ({ queue, reason, body })),
  };
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.WIREWATCH_FAULT_WORKER ?? '') as WorkerSpec;
  const logger = traceLogger(spec);
  const random = new Random(spec.seed);
  const clock = new JumpingClock(spec.clockPath);
  const faulty = spec.mode === 'faulty';
  let diskFull = false;
  const kills = new KillSwitch(faulty ? spec.faults.killAt : undefined, logger.trace);
  let stack: LocalStack;
  try {
    const config = await loadConfig(spec.configPath);
    stack = await LocalStack.start(config, {
      dataDir: spec.dataDir,
      logger,
      clock,
      consoleStream: new Writable({ write: (_chunk, _encoding, done) => done() }),
      ...(faulty
        ? {
            queueFaults: queueFaults(random.fork(), spec.faults, logger.trace),
            openJournal: faultyJournals(spec.faults.fullDiskAfterMs, kills, () => {
              if (!diskFull) logger.trace({ fault: 'disk-full' });
              diskFull = true;
            }),
          }
        : {}),
    });
  } catch (error) {
    logger.error('worker could not open the data directory', { error: String(error) });
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(4);
  }
  if (faulty) injectDynamoFaults(stack, random.fork(), spec.faults.dynamo, kills, logger.trace);
  try {
    if (faulty) {
      for (let cycle = 0; cycle < spec.cycles; cycle++) {
        if (random.chance(spec.faults.clockJump)) {
          const jump = random.chance(0.3)
            ? -random.int(1, 15) * MINUTE_MS
            : random.int(1, 180) * MINUTE_MS;
          logger.trace({ fault: 'clock-jump', ms: jump });
          clock.jump(jump);
        }
        await stack.runCycle({ all: true });
        if (stack.itemsQueue.lastFullDisk || stack.alertsQueue.lastFullDisk) break;
      }
    } else {
      const report = await settle(stack, clock);
      process.stdout.write(`${JSON.stringify(report)}\n`);
    }
  } catch (error) {
    if (error instanceof QueueFullDiskError) {
      logger.error('disk full', { error: error.message });
      process.exit(3);
    }
    logger.error('worker cycle threw', {
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    process.exit(1);
  }
  await stack.stop().catch((error: unknown) => {
    logger.error('worker stop threw', { error: String(error) });
  });
  if (stack.itemsQueue.lastFullDisk || stack.alertsQueue.lastFullDisk) process.exit(3);
  process.exit(0);
}

await main();
