/**
 * The data-directory lock against real processes: a second owner in this
 * process, a child process holding it, and that child killed with SIGKILL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DataDirInUseError,
  lockDataDir,
  tryLockDataDir,
} from '../../shared/adapters/data-dir-lock.ts';

const lockModule = fileURLToPath(
  new URL('../../shared/adapters/data-dir-lock.ts', import.meta.url),
);

let dataDir: string;
let child: ChildProcess | undefined;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'wirewatch-lock-'));
});

afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  child = undefined;
  await rm(dataDir, { recursive: true, force: true });
});

/** A child process that takes the lock and holds it until killed; resolves once it holds it. */
async function holdInChild(dir: string): Promise<ChildProcess> {
  const script =
    `import { lockDataDir } from ${JSON.stringify(lockModule)};` +
    `await lockDataDir(${JSON.stringify(dir)});` +
    `console.log('locked');` +
    'setInterval(() => {}, 60_000);';
  const holder = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = (await once(holder.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
  expect(chunk.toString()).toBe('locked\n');
  return holder;
}

describe('the data-directory lock', () => {
  it('refuses a second holder in the same process, naming the directory, until released', async () => {
    const first = await lockDataDir(dataDir);

    const second = lockDataDir(dataDir);

    await expect(second).rejects.toBeInstanceOf(DataDirInUseError);
    await expect(second).rejects.toThrow(`Data directory ${dataDir} is in use by this process`);
    await first.release();
    const third = await lockDataDir(dataDir);
    await third.release();
  });

  it('refuses a holder while a child process holds it, naming the child', async () => {
    child = await holdInChild(dataDir);

    const attempt = lockDataDir(dataDir);

    await expect(attempt).rejects.toThrow(
      `Data directory ${dataDir} is in use by another wirewatch process (pid ${child.pid})`,
    );
    expect(await tryLockDataDir(dataDir)).toBeUndefined();
  });

  it('is free again once the holding child is killed with SIGKILL', async () => {
    child = await holdInChild(dataDir);
    expect(await tryLockDataDir(dataDir)).toBeUndefined();

    child.kill('SIGKILL');
    await once(child, 'exit');
    const lock = await tryLockDataDir(dataDir);

    expect(lock).toBeDefined();
    await lock?.release();
  });
});
