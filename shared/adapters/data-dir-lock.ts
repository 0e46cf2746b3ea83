/**
 * The lock that makes one process at a time the owner of a data directory
 * (its tables, queues and control socket). It is a tiny LevelDB held open at
 * `<dataDir>/lock`: LevelDB takes an fcntl lock on its LOCK file, which the
 * kernel drops when the process ends however it ends (kill -9 included), and
 * it refuses a second opener in the same process too. Nothing is ever written
 * to that database; the owner's pid sits beside it in `lock.pid` so that a
 * refused process can say who holds the directory.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** Thrown when another process (or another owner in this one) holds the data directory. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    /** The holder's pid, when it could be read. */
    readonly pid: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      `Data directory ${dataDir} is in use by ${holderOf(pid)}: ` +
        'stop it, wait for it to finish, or use another data directory (--data-dir).',
      options,
    );
    this.name = 'DataDirInUseError';
  }
}

/** A held data-directory lock. */
export interface DataDirLock {
  readonly dataDir: string;
  /** Releases the lock; safe to call twice. */
  release(): Promise<void>;
}

interface LevelDatabase {
  open(): Promise<void>;
  close(): Promise<void>;
}

// `level` as dynalite resolves it (classic-level): the LevelDB build the project already ships.
const requireFromHere = createRequire(import.meta.url);
const { Level } = createRequire(requireFromHere.resolve('dynalite'))('level') as {
  Level: new (path: string) => LevelDatabase;
};

/** Takes the lock of `dataDir` (creating the directory), or throws `DataDirInUseError`. */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const lock = await tryLockDataDir(dataDir);
  if (!lock) throw new DataDirInUseError(dataDir, await holderPid(dataDir));
  return lock;
}

/** Takes the lock of `dataDir` when it is free; `undefined` when another owner holds it. */
export async function tryLockDataDir(dataDir: string): Promise<DataDirLock | undefined> {
  await mkdir(dataDir, { recursive: true });
  const database = new Level(join(dataDir, 'lock'));
  try {
    await database.open();
  } catch (error) {
    if (isLocked(error)) return undefined;
    throw error;
  }
  const pidFile = join(dataDir, 'lock.pid');
  await writeFile(pidFile, `${process.pid}\n`);
  let released: Promise<void> | undefined;
  return {
    dataDir,
    release() {
      released ??= (async () => {
        // Another owner may already have written its pid if this one was
        // killed; this one's own release only clears its own pid.
        if ((await holderPid(dataDir)) === process.pid) await rm(pidFile, { force: true });
        await database.close();
      })();
      return released;
    },
  };
}

/** The pid recorded by the lock's current holder, when there is one to read. */
async function holderPid(dataDir: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(join(dataDir, 'lock.pid'), 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function holderOf(pid: number | undefined): string {
  if (pid === process.pid) return 'this process (another embedded stack or command in it)';
  return pid === undefined ? 'another wirewatch process' : `another wirewatch process (pid ${pid})`;
}

/** classic-level reports a LevelDB lock held elsewhere as LEVEL_LOCKED, the cause of its open error. */
function isLocked(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if ((e as NodeJS.ErrnoException).code === 'LEVEL_LOCKED') return true;
  }
  return false;
}
