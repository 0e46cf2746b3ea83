/**
 * The control socket of a running stack, in-process: where it lives, who may
 * connect, what it does with a stale socket file and with bad requests.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ControlServer,
  controlClient,
  controlSocketPath,
  startControlServer,
} from '../../cli/local/control-socket.ts';
import { queueDeadLetters } from '../../cli/local/dead-letters.ts';
import { DeadLetterNotFoundError, LocalQueue } from '../../shared/adapters/local-queue.ts';
import { silentLogger } from '../../shared/ports.ts';

let dataDir: string;
let server: ControlServer | undefined;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'wirewatch-control-'));
});

afterEach(async () => {
  await server?.stop();
  server = undefined;
  await rm(dataDir, { recursive: true, force: true });
});

/** Serves in-memory queues, the alerts one holding one dead letter; resolves to its id. */
async function serve(): Promise<string> {
  const items = await LocalQueue.open<unknown>({ name: 'items' });
  const alerts = await LocalQueue.open<unknown>({ name: 'alerts' });
  await alerts.deadLetter('{"poison":true}', 'placed by the test');
  server = await startControlServer({
    dataDir,
    deadLetters: queueDeadLetters({ items, alerts }),
    logger: silentLogger,
  });
  return alerts.listDeadLetters()[0]?.id ?? '';
}

function post(path: string, url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: path, method: 'POST', path: url }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the control socket path', () => {
  it('is control.sock in the data directory when that path is short enough', () => {
    expect(controlSocketPath('/srv/ww')).toBe('/srv/ww/control.sock');
  });

  it('falls back to a file in the temp directory named from the data directory when too long', () => {
    const long = `/srv/${'deep/'.repeat(30)}ww`;

    const path = controlSocketPath(long);

    expect(path.startsWith(tmpdir())).toBe(true);
    expect(Buffer.byteLength(path)).toBeLessThanOrEqual(100);
    expect(controlSocketPath(`${long}/`)).toBe(path);
    expect(controlSocketPath(`${long}2`)).not.toBe(path);
  });
});

describe('the control server', () => {
  it('serves the dead letters on a socket only its owner may open', async () => {
    const id = await serve();

    const mode = (await stat(controlSocketPath(dataDir))).mode & 0o777;
    const queues = await controlClient(dataDir).list();

    expect(mode).toBe(0o600);
    expect(queues.map((q) => [q.queue, q.deadLetters.map((d) => d.id)])).toEqual([
      ['items', []],
      ['alerts', [id]],
    ]);
  });

  it('replaces a socket file left behind by an owner that died', async () => {
    await writeFile(controlSocketPath(dataDir), 'left by a killed process');

    await serve();

    expect((await controlClient(dataDir).list()).length).toBe(2);
  });

  it('answers an unknown id with the queue error, moving nothing', async () => {
    await serve();

    const redrive = controlClient(dataDir).redrive({ ids: ['nope'] });

    await expect(redrive).rejects.toBeInstanceOf(DeadLetterNotFoundError);
    await expect(redrive).rejects.toThrow('No dead letter with id nope in queue items or alerts');
    expect((await controlClient(dataDir).list())[1]?.deadLetters).toHaveLength(1);
  });

  it('refuses a redrive request that does not match the schema, saying which field', async () => {
    await serve();

    const answer = await post(controlSocketPath(dataDir), '/redrive', '{"queue":"outbox"}');

    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toMatchObject({ kind: 'bad-request' });
    expect(JSON.parse(answer.text).error).toContain('queue');
  });

  it('redrives through the socket and removes the socket when stopped', async () => {
    const id = await serve();

    const redriven = await controlClient(dataDir).redrive({ queue: 'alerts', ids: [id] });
    await server?.stop();

    expect(redriven).toEqual([{ queue: 'alerts', moved: 1 }]);
    await expect(stat(controlSocketPath(dataDir))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
