/**
 * Runs seeded random fault schedules over the real code path and checks each
 * against a fault-free run of the same workload (see `check.ts`).
 *
 * A schedule: a fresh data directory; the workload's feeds, SMTP server and
 * Slack endpoint (`sinks.ts`) failing at the schedule's rates; worker
 * processes (`worker.ts`, bundled once with esbuild) running the embedded
 * stack with their own faults, each killed with SIGKILL at a random moment
 * while kills remain and restarted after a kill, a crash or a full disk; then,
 * every fault off, a settling process that runs to quiescence. The data
 * directory must reopen every time.
 *
 * To look into a schedule: `--replay SEED`, with WIREWATCH_FAULT_BENCH_DEBUG=1
 * (workers' stderr and each process's run time), WIREWATCH_FAULT_BENCH_KEEP=1
 * (the schedule's directory is kept: config, data, trace.jsonl) and
 * WIREWATCH_FAULT_WORKER_NODE_ARGS (e.g. `--cpu-prof`) for the workers.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { storyIdOf } from '../../shared/stories/assign.ts';
import { Random } from '../synthetic/random.ts';
import {
  type CheckInput,
  checkSchedule,
  type Incarnation,
  type TraceLine,
  type Verdict,
} from './check.ts';
import {
  countFault,
  type FaultCounts,
  type NetworkFaultRates,
  NO_NETWORK_FAULTS,
  type Receipt,
  Sinks,
} from './sinks.ts';
import {
  KILL_OPERATIONS,
  type KillPoint,
  NO_WORKER_FAULTS,
  type SettleReport,
  type WorkerFaultRates,
  type WorkerSpec,
} from './spec.ts';
import {
  feedDocument,
  generateWorkload,
  storyLinksIn,
  type Workload,
  workloadFiles,
} from './workload.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Inside the repository, so that the bundle's bare imports resolve from its node_modules. */
const BUNDLE = join(REPO_ROOT, 'node_modules', '.cache', 'wirewatch-fault-bench', 'worker.mjs');
const FAULTY_CYCLES = 2;
/** Processes a schedule may start before it settles, kills and crashes included. */
const MAX_INCARNATIONS = 6;
const WORKLOADS = 4;

export interface FaultBenchOptions {
  schedules: number;
  seed: number;
  /** Run exactly these schedule seeds (as a violation reports them) instead of drawing them from `seed`. */
  replay?: number[];
  /** Schedules run at once. Default 2. */
  parallel?: number;
  /** Told after each schedule. */
  onSchedule?: (result: ScheduleResult) => void;
}

/** What one schedule injected and what its check found. */
export interface ScheduleResult {
  seed: number;
  faults: FaultCounts;
  kills: number;
  crashes: number;
  verdict: Verdict;
}

export interface FaultBenchReport {
  schedules: number;
  faults: FaultCounts;
  lost: number;
  duplicates: number;
  duplicates_explained: Verdict['explained'];
  duplicates_unexplained: number;
  stuck: number;
  unreadable: number;
  dead_letters_unexplained: number;
  /** Schedule seeds that reproduce a violation (`--replay SEED`), with what was found. */
  violations: { seed: number; found: string[] }[];
}

/** The plan of one schedule, drawn from its seed. */
interface Plan {
  network: NetworkFaultRates;
  worker: WorkerFaultRates;
  /**
   * How the n-th process dies, while there are entries: this long after it
   * started; as soon as a subscriber has received this many more messages
   * (between a send and its ledger record, where a duplicate is admitted); or
   * this long after the n-th feed document went out (while the poller records
   * and queues its items); or, killing itself, at an I/O operation of one
   * kind (every kind as likely, so that rare writes are hit as often as
   * common reads).
   */
  kills: (
    | { afterMs: number }
    | { onDelivery: number }
    | { onFeed: number; delayMs: number }
    | { at: KillPoint }
  )[];
}

/**
 * The first schedules sweep every kill point: each kind of I/O operation,
 * before and after, at its first and its third occurrence; their seeds are
 * their numbers (0 to 31). Random kill points alone hit a rare window (after
 * the seen-items write and before the queue write, say) once in dozens of
 * schedules. Other seeds are drawn above `SWEEP.length`.
 */
export const SWEEP: readonly KillPoint[] = KILL_OPERATIONS.flatMap((operation) =>
  [1, 3].flatMap((occurrence) =>
    (['before', 'after'] as const).map((when) => ({ operation, occurrence, when })),
  ),
);

function drawPlan(seed: number, faultFreeMs: number): Plan {
  const random = new Random(seed);
  const on = (p: number, rate: () => number): number => (random.chance(p) ? rate() : 0);
  const plan: Plan = {
    network: {
      feed: on(0.5, () => random.between(0.1, 0.4)),
      smtpTemporary: on(0.5, () => random.between(0.1, 0.3)),
      smtpPermanent: on(0.2, () => random.between(0.02, 0.08)),
      smtpDrop: on(0.4, () => random.between(0.05, 0.2)),
      slack: on(0.5, () => random.between(0.1, 0.4)),
    },
    worker: {
      dynamo: on(0.5, () => random.between(0.01, 0.06)),
      duplicate: on(0.4, () => random.between(0.05, 0.3)),
      redeliver: on(0.4, () => random.between(0.05, 0.3)),
      reorder: on(0.5, () => random.between(0.3, 1)),
      clockJump: on(0.3, () => random.between(0.3, 1)),
      ...(random.chance(0.15) ? { fullDiskAfterMs: random.int(0, faultFreeMs) } : {}),
    },
    kills: Array.from({ length: random.int(0, 3) }, () => {
      const roll = random.next();
      if (roll < 0.2) return { onDelivery: random.int(1, 4) };
      if (roll < 0.3) return { onFeed: random.int(1, 3), delayMs: random.int(0, 40) };
      if (roll < 0.7) {
        return {
          at: {
            operation: random.pick(KILL_OPERATIONS),
            occurrence: random.int(1, 4),
            when: random.pick(['before', 'after'] as const),
          },
        };
      }
      return { afterMs: random.int(0, Math.round(faultFreeMs * 1.2)) };
    }),
  };
  const swept = SWEEP[seed];
  if (swept) plan.kills = [{ at: swept }, ...plan.kills.slice(1)];
  return plan;
}

/**
 * Bundles the worker with its dependencies (dynalite aside: it loads LevelDB's
 * native build): a process starts in a third of the time it takes through tsx.
 */
export async function buildWorker(): Promise<string> {
  await mkdir(dirname(BUNDLE), { recursive: true });
  await build({
    entryPoints: [join(REPO_ROOT, 'bench', 'faults', 'worker.ts')],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['dynalite'],
    // CommonJS dependencies bundled into an ES module still call require.
    banner: {
      js: "import { createRequire as workerRequire } from 'node:module'; const require = workerRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
  return BUNDLE;
}

interface Run {
  receipts: Receipt[];
  rejections: Sinks['rejections'];
  faults: FaultCounts;
  incarnations: Incarnation[];
  trace: TraceLine[];
  settled: SettleReport | undefined;
  /** How long the faulty processes ran, together. */
  faultyMs: number;
}

function spawnWorker(
  bundle: string,
  spec: WorkerSpec,
  env: Record<string, string>,
): {
  child: ReturnType<typeof spawn>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>;
} {
  const nodeArgs = process.env.WIREWATCH_FAULT_WORKER_NODE_ARGS?.split(' ') ?? [];
  const child = spawn(process.execPath, [...nodeArgs, bundle], {
    env: { ...process.env, ...env, WIREWATCH_FAULT_WORKER: JSON.stringify(spec) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4_000);
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>(
    (resolve) => {
      child.on('close', (code, signal) => {
        if (code !== 0 && code !== null && process.env.WIREWATCH_FAULT_BENCH_DEBUG) {
          process.stderr.write(`worker exited ${code}: ${stderr}\n`);
        }
        resolve({ code, signal, stdout });
      });
    },
  );
  return { child, done };
}

async function outboxReceipts(dataDir: string): Promise<Receipt[]> {
  const outbox = join(dataDir, 'outbox');
  const receipts: Receipt[] = [];
  let subscribers: string[];
  try {
    subscribers = await readdir(outbox);
  } catch {
    return receipts;
  }
  for (const subscriberId of subscribers) {
    for (const file of await readdir(join(outbox, subscriberId))) {
      if (!file.endsWith('.json') || file.startsWith('.')) continue;
      const text = await readFile(join(outbox, subscriberId, file), 'utf8');
      const digest = file.startsWith('digest-');
      receipts.push({
        subscriberId,
        channel: 'outbox',
        kind: digest ? 'digest' : 'alert',
        links: digest ? storyLinksIn(text) : [(JSON.parse(text) as { link: string }).link],
        at: 0,
      });
    }
  }
  return receipts;
}

async function readTrace(path: string): Promise<TraceLine[]> {
  try {
    return (await readFile(path, 'utf8'))
      .split('\n')
      .filter((line) => line.trim() !== '')
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as TraceLine];
        } catch {
          return []; // a line cut by a kill
        }
      });
  } catch {
    return [];
  }
}

/** Runs one schedule of `plan` over `workload` in a fresh directory. */
async function runSchedule(
  bundle: string,
  workload: Workload,
  plan: Plan,
  random: Random,
): Promise<Run> {
  const dir = await mkdtemp(join(await scratchRoot(), 'wirewatch-faults-'));
  const sinks = await Sinks.start(random.fork());
  try {
    const files = workloadFiles(workload, {
      feedBaseUrl: sinks.feedBaseUrl,
      smtpPort: sinks.smtpPort,
      slackUrl: (id) => sinks.slackUrl(id),
    });
    await writeFile(join(dir, 'watches.yaml'), files.watches);
    await writeFile(join(dir, 'wirewatch.yaml'), files.config);
    sinks.serve(new Map(workload.feeds.map((id) => [`/${id}.xml`, feedDocument(workload, id)])));
    const base = {
      dataDir: join(dir, 'data'),
      configPath: join(dir, 'wirewatch.yaml'),
      tracePath: join(dir, 'trace.jsonl'),
      clockPath: join(dir, 'clock.json'),
      cycles: FAULTY_CYCLES,
    };
    const incarnations: Incarnation[] = [];
    const faults: FaultCounts = {};
    let faultyMs = 0;
    let kills = 0;
    let settled: SettleReport | undefined;
    for (let index = 0; index < MAX_INCARNATIONS; index++) {
      sinks.rates = plan.network;
      const startedAt = Date.now();
      const kill = plan.kills[kills];
      const { child, done } = spawnWorker(
        bundle,
        {
          ...base,
          mode: 'faulty',
          incarnation: index,
          seed: Math.floor(random.next() * 2 ** 32),
          faults: { ...plan.worker, ...(kill && 'at' in kill ? { killAt: kill.at } : {}) },
        },
        files.env,
      );
      let killed = false;
      const killNow = (): void => {
        killed = true;
        child.kill('SIGKILL');
      };
      const timer = kill && 'afterMs' in kill ? setTimeout(killNow, kill.afterMs) : undefined;
      const receivedBefore = sinks.receipts.length;
      sinks.onReceipt =
        kill && 'onDelivery' in kill
          ? () => {
              if (sinks.receipts.length - receivedBefore >= kill.onDelivery && !killed) killNow();
            }
          : undefined;
      let feedsServed = 0;
      let feedTimer: NodeJS.Timeout | undefined;
      sinks.onFeedServed =
        kill && 'onFeed' in kill
          ? () => {
              feedsServed++;
              if (feedsServed === kill.onFeed) feedTimer = setTimeout(killNow, kill.delayMs);
            }
          : undefined;
      const { code, signal } = await done;
      // By the bench, or by itself at its planned operation.
      killed = signal === 'SIGKILL';
      clearTimeout(timer);
      clearTimeout(feedTimer);
      sinks.onReceipt = undefined;
      sinks.onFeedServed = undefined;
      const endedAt = Date.now();
      faultyMs += endedAt - startedAt;
      incarnations.push({
        index,
        startedAt,
        endedAt,
        killed,
        exitCode: code,
      });
      if (killed) {
        kills++;
        countFault(faults, 'kill');
        continue;
      }
      if (code === 0) break;
      if (code === 4) break; // could not open: the settling process tells
      countFault(faults, code === 3 ? 'restart-after-full-disk' : 'restart-after-crash');
    }
    sinks.rates = NO_NETWORK_FAULTS;
    const index = incarnations.length;
    const startedAt = Date.now();
    const { done } = spawnWorker(
      bundle,
      { ...base, mode: 'settle', incarnation: index, seed: 0, faults: NO_WORKER_FAULTS },
      files.env,
    );
    const { code, stdout } = await done;
    incarnations.push({ index, startedAt, endedAt: Date.now(), killed: false, exitCode: code });
    if (process.env.WIREWATCH_FAULT_BENCH_DEBUG)
      console.error(
        incarnations.map((i) => i.endedAt - i.startedAt),
        JSON.stringify(plan),
      );
    if (code === 0) {
      const last = stdout.trim().split('\n').pop();
      if (last) settled = JSON.parse(last) as SettleReport;
    }
    const trace = await readTrace(base.tracePath);
    for (const line of trace) if (line.fault) countFault(faults, line.fault);
    for (const [kind, n] of Object.entries(sinks.faults)) countFault(faults, kind, n);
    return {
      receipts: [...sinks.receipts, ...(await outboxReceipts(base.dataDir))],
      rejections: sinks.rejections,
      faults,
      incarnations,
      trace,
      settled,
      faultyMs,
    };
  } finally {
    await sinks.stop();
    if (process.env.WIREWATCH_FAULT_BENCH_KEEP) console.error(dir);
    else await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Where schedules keep their data: memory-backed /dev/shm when there is one.
 * The faults are process deaths, not power cuts, so what a killed process
 * wrote is there either way; flushes are just cheaper.
 */
async function scratchRoot(): Promise<string> {
  try {
    await access('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

function storyIdsOf(workload: Workload): Map<string, string> {
  return new Map(
    workload.stories.flatMap((story) =>
      story.items.map((item) => [storyIdOf({ feed: item.feedId, id: item.guid }), story.id]),
    ),
  );
}

/** A schedule's own seed, from the bench seed and its number. */
export function scheduleSeed(seed: number, index: number): number {
  return (
    SWEEP.length +
    (createHash('sha256').update(`${seed}:${index}`).digest().readUInt32BE(0) % 2 ** 31)
  );
}

/** The fault-free run of a workload: what every schedule over it is checked against. */
interface Baseline {
  workload: Workload;
  receipts: Receipt[];
  faultyMs: number;
  storyIds: Map<string, string>;
}

async function baselineOf(bundle: string, workloadSeed: number): Promise<Baseline> {
  const workload = generateWorkload(new Random(workloadSeed), {
    stories: 6,
    feeds: 3,
    now: new Date(),
  });
  const plan: Plan = { network: NO_NETWORK_FAULTS, worker: NO_WORKER_FAULTS, kills: [] };
  const run = await runSchedule(bundle, workload, plan, new Random(workloadSeed));
  const storyIds = storyIdsOf(workload);
  const verdict = checkSchedule({
    baseline: run.receipts,
    receipts: run.receipts,
    rejections: [],
    incarnations: run.incarnations,
    trace: run.trace,
    storyIds,
    settled: run.settled,
  });
  if (verdict.violations.length > 0 || run.receipts.length === 0) {
    throw new Error(
      `the fault-free run of workload ${workloadSeed} is not clean: ${JSON.stringify(verdict.violations)} (${run.receipts.length} messages)`,
    );
  }
  return { workload, receipts: run.receipts, faultyMs: run.faultyMs, storyIds };
}

/** Runs `schedules` schedules from `seed`; resolves to the bench's report. */
export async function runFaultBench(options: FaultBenchOptions): Promise<FaultBenchReport> {
  const bundle = await buildWorker();
  const baselines = new Map<number, Promise<Baseline>>();
  // The workload is told by the schedule's seed alone, so that a seed reproduces its schedule.
  const baselineFor = (seed: number): Promise<Baseline> => {
    const w = seed % WORKLOADS;
    let baseline = baselines.get(w);
    if (!baseline) {
      baseline = baselineOf(bundle, scheduleSeed(0, -1 - w));
      baselines.set(w, baseline);
    }
    return baseline;
  };
  const report: FaultBenchReport = {
    schedules: 0,
    faults: {},
    lost: 0,
    duplicates: 0,
    duplicates_explained: { kill: 0, 'record-failed': 0 },
    duplicates_unexplained: 0,
    stuck: 0,
    unreadable: 0,
    dead_letters_unexplained: 0,
    violations: [],
  };
  const seeds =
    options.replay ??
    Array.from({ length: options.schedules }, (_, index) =>
      index < SWEEP.length ? index : scheduleSeed(options.seed, index),
    );
  let next = 0;
  const runOne = async (): Promise<void> => {
    for (let index = next++; index < seeds.length; index = next++) {
      const seed = seeds[index] as number;
      const baseline = await baselineFor(seed);
      const plan = drawPlan(seed, Math.max(500, baseline.faultyMs));
      const run = await runSchedule(bundle, baseline.workload, plan, new Random(seed).fork());
      const input: CheckInput = {
        baseline: baseline.receipts,
        receipts: run.receipts,
        rejections: run.rejections,
        incarnations: run.incarnations,
        trace: run.trace,
        storyIds: baseline.storyIds,
        settled: run.settled,
      };
      const verdict = checkSchedule(input);
      report.schedules++;
      for (const [kind, n] of Object.entries(run.faults)) countFault(report.faults, kind, n);
      report.lost += verdict.lost;
      report.duplicates += verdict.duplicates;
      report.duplicates_explained.kill += verdict.explained.kill;
      report.duplicates_explained['record-failed'] += verdict.explained['record-failed'];
      report.duplicates_unexplained += verdict.unexplained;
      report.stuck += verdict.stuck;
      report.unreadable += verdict.unreadable;
      report.dead_letters_unexplained += verdict.deadLettersUnexplained;
      if (verdict.violations.length > 0) {
        report.violations.push({
          seed,
          found: verdict.violations.map((v) => `${v.kind}: ${v.detail}`),
        });
      }
      options.onSchedule?.({
        seed,
        faults: run.faults,
        kills: run.faults.kill ?? 0,
        crashes: run.faults['restart-after-crash'] ?? 0,
        verdict,
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.parallel ?? 2) }, runOne));
  report.faults = Object.fromEntries(
    Object.entries(report.faults).sort(([a], [b]) => a.localeCompare(b)),
  );
  return report;
}
