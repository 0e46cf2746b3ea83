/** What the fault bench and its worker processes tell each other. */

/** What the bench asks one worker process to do. */
export interface WorkerSpec {
  mode: 'faulty' | 'settle';
  incarnation: number;
  dataDir: string;
  configPath: string;
  tracePath: string;
  /** Where the clock's offset from real time is kept across restarts. */
  clockPath: string;
  seed: number;
  /** Cycles a faulty process runs before it exits. */
  cycles: number;
  faults: WorkerFaultRates;
}

/** The faults a worker injects itself, as probabilities (0: off). */
export interface WorkerFaultRates {
  /** Per DynamoDB request: throttling, 500, a timeout before or after the write applies. */
  dynamo: number;
  /** Per sent message: stored twice. */
  duplicate: number;
  /** Per processed message: its deletion lost. */
  redeliver: number;
  /** Per received batch: reordered. */
  reorder: number;
  /** Per cycle: the clock jumps (back up to 15 minutes, forward up to 3 hours). */
  clockJump: number;
  /** The disk fills up this long after start (ms); never when absent. */
  fullDiskAfterMs?: number;
  /** The process kills itself (SIGKILL) at this point of its I/O; never when absent. */
  killAt?: KillPoint;
}

/** The I/O operations a process can be killed at, one kind as likely as another. */
export const KILL_OPERATIONS = [
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'BatchGetItem',
  'BatchWriteItem',
  'journal-write',
] as const;

/** Just before or just after the n-th operation of a kind. */
export interface KillPoint {
  operation: (typeof KILL_OPERATIONS)[number];
  occurrence: number;
  when: 'before' | 'after';
}

/** What a settled data directory still holds. */
export interface SettleReport {
  quiescent: boolean;
  rounds: number;
  pending: { items: number; alerts: number };
  waiting: number;
  deadLetters: { queue: 'items' | 'alerts'; reason: string; body: string }[];
}

export const NO_WORKER_FAULTS: WorkerFaultRates = {
  dynamo: 0,
  duplicate: 0,
  redeliver: 0,
  reorder: 0,
  clockJump: 0,
};
