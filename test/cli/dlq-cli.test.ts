/**
 * `wirewatch dlq` as a user runs it (the real CLI in a child process) while a
 * LocalStack, as `wirewatch run` starts it, owns the data directory: the
 * commands go through the stack instead of rewriting its queue files.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalStack } from '../../cli/local/local-stack.ts';
import { lockDataDir } from '../../shared/adapters/data-dir-lock.ts';
import { LocalQueue } from '../../shared/adapters/local-queue.ts';
import { silentLogger } from '../../shared/ports.ts';
import { CLI_ENV, Cleanups, REPO_ROOT, tempDir, writeConfig } from '../integration/harness.ts';

const execFileAsync = promisify(execFile);

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function wirewatch(args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      ['bin/wirewatch.js', ...args],
      {
        cwd: REPO_ROOT,
        env: CLI_ENV,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const cleanups = new Cleanups();
afterEach(() => cleanups.release());

/** A data directory whose alerts queue holds one dead letter; resolves to it and the letter's id. */
async function dataDirWithDeadLetter(dir: string): Promise<{ dataDir: string; id: string }> {
  const dataDir = join(dir, 'data');
  const alerts = await LocalQueue.open<unknown>({ name: 'alerts', dataDir });
  await alerts.deadLetter('{"poison":true}', 'placed by the test');
  const [deadLetter] = alerts.listDeadLetters();
  await alerts.close();
  if (!deadLetter) throw new Error('no dead letter placed');
  return { dataDir, id: deadLetter.id };
}

async function startStack(dir: string, dataDir: string): Promise<LocalStack> {
  const config = await writeConfig(dir, {
    feeds: [{ id: 'wire', url: 'http://127.0.0.1:9/wire.xml' }],
    subscribers: [{ id: 'desk', watches: ['korea'], channels: [{ type: 'outbox' }] }],
  });
  const stack = await LocalStack.start(config, { dataDir, logger: silentLogger });
  cleanups.defer(() => stack.stop());
  return stack;
}

/** What a crash of the stack now would leave: its queue files, opened by the next process. */
async function queueAfterCrash(dataDir: string, name: string): Promise<LocalQueue<unknown>> {
  const image = join(dataDir, '..', `crash-${Date.now()}`);
  await cp(join(dataDir, 'queues'), join(image, 'queues'), { recursive: true });
  return LocalQueue.open<unknown>({ name, dataDir: image });
}

/** Drains the queue, resolving to the bodies it held, and closes it. */
async function bodiesOf(queue: LocalQueue<unknown>): Promise<string[]> {
  const bodies: string[] = [];
  await queue.drain(async (event) => {
    bodies.push(...event.Records.map((r) => r.body));
    return { batchItemFailures: [] };
  });
  await queue.close();
  return bodies;
}

describe('wirewatch dlq while wirewatch run owns the data directory', () => {
  it('lists the dead letters through the running stack, and what it queues afterwards survives its crash', async () => {
    const dir = await tempDir(cleanups);
    const { dataDir, id } = await dataDirWithDeadLetter(dir);
    const stack = await startStack(dir, dataDir);
    const items = stack.itemsQueue as LocalQueue<unknown>;
    await items.send([{ probe: 'before dlq list' }]);

    const listed = await wirewatch(['dlq', 'list', '--data-dir', dataDir]);
    await items.send([{ probe: 'after dlq list' }]);

    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`alerts ${id}`);
    expect(listed.stdout).toContain('reason: placed by the test');
    expect(listed.stdout).toContain('1 dead letter');
    expect((await bodiesOf(await queueAfterCrash(dataDir, 'items'))).sort()).toEqual([
      '{"probe":"after dlq list"}',
      '{"probe":"before dlq list"}',
    ]);
    await stack.stop();
    expect(
      (await bodiesOf(await LocalQueue.open<unknown>({ name: 'items', dataDir }))).sort(),
    ).toEqual(['{"probe":"after dlq list"}', '{"probe":"before dlq list"}']);
  });

  it('redrives through the running stack, and the redrive holds after the stack stops', async () => {
    const dir = await tempDir(cleanups);
    const { dataDir, id } = await dataDirWithDeadLetter(dir);
    const stack = await startStack(dir, dataDir);

    const redriven = await wirewatch(['dlq', 'redrive', '--data-dir', dataDir, '--id', id]);

    expect(redriven.code).toBe(0);
    expect(redriven.stdout).toContain('alerts: 1 message moved back');
    expect(stack.alertsQueue.listDeadLetters()).toEqual([]);
    await stack.stop();
    const alerts = await LocalQueue.open<unknown>({ name: 'alerts', dataDir });
    expect(alerts.listDeadLetters()).toEqual([]);
    expect(await bodiesOf(alerts)).toEqual(['{"poison":true}']);
  });

  it('says which id the running stack does not hold, with exit code 1 and no stack trace', async () => {
    const dir = await tempDir(cleanups);
    const { dataDir } = await dataDirWithDeadLetter(dir);
    const stack = await startStack(dir, dataDir);

    const redriven = await wirewatch(['dlq', 'redrive', '--data-dir', dataDir, '--id', 'nope']);

    expect(redriven.code).toBe(1);
    expect(redriven.stderr).toContain('No dead letter with id nope in queue items or alerts');
    expect(redriven.stderr).not.toMatch(/\n\s+at /);
    expect(stack.alertsQueue.listDeadLetters()).toHaveLength(1);
  });

  it('waits for an owner that serves no socket, and works on the files once it lets go', async () => {
    const dir = await tempDir(cleanups);
    const { dataDir, id } = await dataDirWithDeadLetter(dir);
    const lock = await lockDataDir(dataDir);
    cleanups.defer(() => lock.release());

    const command: ChildProcess = spawn(
      process.execPath,
      ['bin/wirewatch.js', 'dlq', 'list', '--data-dir', dataDir],
      { cwd: REPO_ROOT, env: CLI_ENV },
    );
    let stdout = '';
    let stderr = '';
    command.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const exited = once(command, 'exit') as Promise<[number]>;
    const waiting = new Promise<void>((resolve) => {
      command.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('waiting for the wirewatch process using')) resolve();
      });
    });
    await Promise.race([waiting, exited]);
    await lock.release();
    const [code] = await exited;

    expect(stderr).toContain(`waiting for the wirewatch process using ${dataDir}…`);
    expect(code).toBe(0);
    expect(stdout).toContain(`alerts ${id}`);
  });

  it('gives up with exit code 1 when the owner never answers', async () => {
    const dir = await tempDir(cleanups);
    const { dataDir } = await dataDirWithDeadLetter(dir);
    const lock = await lockDataDir(dataDir);
    cleanups.defer(() => lock.release());

    const listed = await wirewatch(['dlq', 'list', '--data-dir', dataDir, '--wait', '0.5']);

    expect(listed.code).toBe(1);
    expect(listed.stderr).toContain('gave up after 0.5 s');
    expect(listed.stderr).toContain(
      `Data directory ${dataDir} is in use by another wirewatch process (pid ${process.pid})`,
    );
    expect(listed.stderr).not.toMatch(/\n\s+at /);
  });
});
