/**
 * The first start of the embedded DynamoDB builds its tables. dynalite marks a
 * table ACTIVE in a write after CreateTable answers; a process killed between
 * the two used to leave a table CREATING for good, and the data directory
 * never opened again (found by the fault bench). The database is now built
 * beside its place and renamed in whole.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedDynamo } from '../../shared/adapters/embedded-dynamodb.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wirewatch-first-start-'));
  dirs.push(dir);
  return dir;
}

const STARTER = `
import { startEmbeddedDynamo } from './shared/adapters/embedded-dynamodb.ts';
process.stdout.write('starting\\n');
await startEmbeddedDynamo({ dataDir: process.argv[1] });
process.stdout.write('started\\n');
setInterval(() => {}, 1000);
`;

/** Starts the embedded DynamoDB in a child process and kills it `delayMs` after it begins. */
function startAndKill(dataDir: string, delayMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', STARTER, dataDir],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('starting')) {
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.on('error', reject);
    child.on('close', () => resolve());
  });
}

describe('the first start of the embedded DynamoDB', () => {
  it('leaves, when killed at any moment, a data directory the next start opens', {
    timeout: 120_000,
  }, async () => {
    for (const delayMs of [0, 20, 40, 80, 120, 160, 220, 300, 400]) {
      const dataDir = await tempDir();
      await startAndKill(dataDir, delayMs);
      const dynamo = await startEmbeddedDynamo({ dataDir });
      try {
        expect(Object.keys(dynamo.tableNames).length, `killed after ${delayMs} ms`).toBeGreaterThan(
          0,
        );
      } finally {
        await dynamo.stop();
      }
    }
  });

  it('clears what a killed build left beside the database', async () => {
    const dataDir = await tempDir();
    await mkdir(join(dataDir, 'dynamodb.new-0123456789ab'), { recursive: true });
    await writeFile(join(dataDir, 'dynamodb.new-0123456789ab', 'LOG'), 'half-built');
    const dynamo = await startEmbeddedDynamo({ dataDir });
    await dynamo.stop();
    expect((await readdir(dataDir)).filter((entry) => entry.startsWith('dynamodb'))).toEqual([
      'dynamodb',
    ]);
  });
});
