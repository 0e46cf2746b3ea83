/**
 * The control endpoint of a running embedded stack: HTTP with JSON bodies on
 * a Unix domain socket beside its data, so that `wirewatch dlq` run while
 * `wirewatch run` owns the data directory asks the owner instead of opening
 * the queue files behind its back.
 *
 *   GET  /dead-letters  → { queues: [{ queue, deadLetters }] }
 *   POST /redrive       { queue?, ids? } → { redriven: [{ queue, moved }] }
 *
 * Errors answer `{ error, kind, ... }` with a 4xx or 5xx status.
 */
import { createHash } from 'node:crypto';
import { chmod, rm } from 'node:fs/promises';
import {
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { DeadLetterNotFoundError, deadLetterSchema } from '../../shared/adapters/local-queue.ts';
import type { Logger } from '../../shared/ports.ts';
import {
  type DeadLetterQueues,
  QUEUE_NAMES,
  type QueueDeadLetters,
  type Redriven,
  redriveRequestSchema,
} from './dead-letters.ts';

/** Longest socket path used as it is; Unix socket paths end at 104 (macOS) or 108 (Linux) bytes. */
const MAX_SOCKET_PATH_BYTES = 100;
const MAX_REQUEST_BYTES = 1024 * 1024;

/**
 * Where the owner of `dataDir` serves its control endpoint: `<dataDir>/control.sock`,
 * or, when that path is too long for a socket, a file in the OS temp directory
 * named from a hash of the resolved data directory. Server and clients compute
 * the same path.
 */
export function controlSocketPath(dataDir: string): string {
  const absolute = resolve(dataDir);
  const beside = join(absolute, 'control.sock');
  if (Buffer.byteLength(beside, 'utf8') <= MAX_SOCKET_PATH_BYTES) return beside;
  const hash = createHash('sha256').update(absolute).digest('hex').slice(0, 24);
  return join(tmpdir(), `wirewatch-${hash}.sock`);
}

/** A control endpoint being served. */
export interface ControlServer {
  readonly path: string;
  /** Stops accepting requests, finishes those under way, removes the socket; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Serves the control endpoint of `dataDir`. Only the data directory's lock
 * holder may call this: a socket file already there was left by a holder that
 * died, and is replaced.
 */
export async function startControlServer(options: {
  dataDir: string;
  deadLetters: DeadLetterQueues;
  logger: Logger;
}): Promise<ControlServer> {
  const path = controlSocketPath(options.dataDir);
  const server = createServer((req, res) => {
    route(req, options.deadLetters).then(
      ({ status, body }) => answer(res, status, body),
      (error: unknown) => {
        options.logger.error('control request failed', {
          path: req.url,
          error: error instanceof Error ? error.message : String(error),
        });
        answer(res, 500, { error: 'internal error; see the wirewatch run log', kind: 'internal' });
      },
    );
  });
  await rm(path, { force: true });
  await listenOwnerOnly(server, path);
  let stopped: Promise<void> | undefined;
  return {
    path,
    stop: () => {
      stopped ??= (async () => {
        await new Promise<void>((done, fail) => {
          server.close((error) => (error ? fail(error) : done()));
          server.closeIdleConnections();
        });
        await rm(path, { force: true });
      })();
      return stopped;
    },
  };
}

type Answer = { status: number; body: unknown };

async function route(req: IncomingMessage, deadLetters: DeadLetterQueues): Promise<Answer> {
  if (req.method === 'GET' && req.url === '/dead-letters') {
    return { status: 200, body: { queues: await deadLetters.list() } };
  }
  if (req.method === 'POST' && req.url === '/redrive') {
    const parsed = redriveRequestSchema.safeParse(await readJson(req));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.join('.') || '(body)';
      return {
        status: 400,
        body: { error: `bad redrive request: ${where}: ${issue?.message}`, kind: 'bad-request' },
      };
    }
    try {
      return { status: 200, body: { redriven: await deadLetters.redrive(parsed.data) } };
    } catch (error) {
      if (!(error instanceof DeadLetterNotFoundError)) throw error;
      return {
        status: 404,
        body: {
          error: error.message,
          kind: 'dead-letter-not-found',
          queue: error.queueName,
          ids: error.ids,
        },
      };
    }
  }
  return { status: 404, body: { error: `no route ${req.method} ${req.url}`, kind: 'no-route' } };
}

/** The request body as JSON; `undefined` when it is not JSON (the schema then says so). */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > MAX_REQUEST_BYTES) return undefined;
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * Listens on `path` with a socket only this user can connect to: created
 * under an owner-only umask where the process may set one (the bind happens
 * within `listen`), and set to 0600 before the first request is served.
 */
async function listenOwnerOnly(server: Server, path: string): Promise<void> {
  const listening = new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.once('listening', () => {
      server.off('error', fail);
      done();
    });
  });
  let previousUmask: number | undefined;
  try {
    previousUmask = process.umask(0o177);
  } catch {
    // Worker threads may not change the umask; the chmod below still applies before serving.
  }
  try {
    server.listen(path);
  } finally {
    if (previousUmask !== undefined) process.umask(previousUmask);
  }
  await listening;
  await chmod(path, 0o600);
}

/** Thrown when nothing answers on the control socket (the owner is starting, stopping, or serves none). */
export class ControlUnavailableError extends Error {
  constructor(
    readonly path: string,
    readonly code: string,
  ) {
    super(`no wirewatch process answers on ${path} (${code})`);
    this.name = 'ControlUnavailableError';
  }
}

/** Thrown when the owner answered with an error this client cannot turn into its own. */
export class ControlRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlRequestError';
  }
}

const errorSchema = z.object({
  error: z.string(),
  kind: z.string(),
  queue: z.string().optional(),
  ids: z.array(z.string()).optional(),
});
const listAnswerSchema = z.object({
  queues: z.array(z.object({ queue: z.enum(QUEUE_NAMES), deadLetters: z.array(deadLetterSchema) })),
});
const redriveAnswerSchema = z.object({
  redriven: z.array(z.object({ queue: z.enum(QUEUE_NAMES), moved: z.number().int() })),
});

/** The dead letters of the process that owns `dataDir`, through its control socket. */
export function controlClient(dataDir: string): DeadLetterQueues {
  const path = controlSocketPath(dataDir);
  return {
    list: async (): Promise<QueueDeadLetters[]> =>
      listAnswerSchema.parse(await call(path, 'GET', '/dead-letters')).queues,
    redrive: async (redrive): Promise<Redriven[]> =>
      redriveAnswerSchema.parse(await call(path, 'POST', '/redrive', redrive)).redriven,
  };
}

/** Connection failures that mean nobody serves the socket now: worth waiting for. */
const UNAVAILABLE = new Set(['ENOENT', 'ECONNREFUSED']);

function call(path: string, method: string, url: string, body?: unknown): Promise<unknown> {
  return new Promise((done, fail) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath: path,
        // One request per connection: nothing left open to hold the owner's close or this process.
        agent: false,
        method,
        path: url,
        headers: text === undefined ? {} : { 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', fail);
        res.on('end', () => {
          try {
            const json: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            if (res.statusCode === 200) done(json);
            else fail(answerError(json, res.statusCode));
          } catch (error) {
            fail(error);
          }
        });
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      fail(
        error.code && UNAVAILABLE.has(error.code)
          ? new ControlUnavailableError(path, error.code)
          : error,
      );
    });
    req.end(text);
  });
}

function answerError(json: unknown, status: number | undefined): Error {
  const parsed = errorSchema.safeParse(json);
  if (!parsed.success) return new ControlRequestError(`the wirewatch process answered ${status}`);
  const { error, kind, queue, ids } = parsed.data;
  if (kind === 'dead-letter-not-found' && queue !== undefined && ids !== undefined) {
    return new DeadLetterNotFoundError(queue, ids);
  }
  return new ControlRequestError(error);
}
