/**
 * The embedded DynamoDB of the local stack: dynalite (the DynamoDB API on
 * LevelDB) in-process on a free loopback port, with every table of `TABLES`
 * created. The DynamoDB adapter talks to it exactly as it talks to AWS.
 */

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { access, mkdir, readdir, rename, rm } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { lockDataDir } from './data-dir-lock.ts';
import { toDocumentClient } from './dynamodb.ts';
import { TABLES, type TableId, type TableNames, toCreateTableInput } from './tables.ts';

/** Options of `startEmbeddedDynamo`. */
export interface EmbeddedDynamoOptions {
  /**
   * Persist the tables under `<dataDir>/dynamodb`; in memory when absent. The
   * data directory's lock is taken first (`DataDirInUseError` when another
   * owner holds it) and held until `stop`.
   */
  dataDir?: string;
}

/** A running embedded DynamoDB with its tables created. */
export interface EmbeddedDynamo {
  /** `http://127.0.0.1:PORT`, usable as an SDK endpoint override. */
  endpoint: string;
  client: DynamoDBClient;
  documentClient: DynamoDBDocumentClient;
  /** The name of every table of `TABLES` in this instance. */
  tableNames: TableNames;
  /** Closes the clients, the server and the database; safe to call twice. */
  stop(): Promise<void>;
}

/** Thrown when the embedded DynamoDB cannot start; says what to do about it. */
export class EmbeddedDynamoError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EmbeddedDynamoError';
  }
}

interface DynaliteOptions {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}

// dynalite ships no type declarations; these describe the parts used here.
const requireFromHere = createRequire(import.meta.url);
const dynalite = requireFromHere('dynalite') as (options: DynaliteOptions) => Server;

/** Region and credentials the embedded stack uses, so no AWS configuration is needed. */
const LOCAL_REGION = 'us-east-1';
const LOCAL_CREDENTIALS = { accessKeyId: 'wirewatch-local', secretAccessKey: 'wirewatch-local' };
const TABLE_ACTIVE_TIMEOUT_MS = 10_000;

/** The embedded name of a table: its logical id in kebab case, e.g. `wirewatch-feed-state`. */
export function embeddedTableName(logicalId: string): string {
  const kebab = logicalId
    .replace(/Table$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();
  return `wirewatch-${kebab}`;
}

/**
 * Starts dynalite on 127.0.0.1 on a free port and creates the tables that are
 * missing (tables already persisted under `dataDir` are kept with their data).
 * Resolves once every table is ACTIVE.
 */
export async function startEmbeddedDynamo(
  options: EmbeddedDynamoOptions = {},
): Promise<EmbeddedDynamo> {
  // LevelDB allows one opener per directory, and dynalite reports a second one
  // only as an unhandled stream error that kills the process: the data
  // directory's lock, held until stop, keeps any second opener out.
  const lock = options.dataDir ? await lockDataDir(options.dataDir) : undefined;
  const path = options.dataDir ? join(options.dataDir, 'dynamodb') : undefined;
  let opened: OpenDynalite;
  try {
    if (path) await createDatabaseOnce(path);
    opened = await openDynalite(path);
  } catch (error) {
    await lock?.release();
    throw error;
  }
  const { server, endpoint, client } = opened;
  const documentClient = toDocumentClient(client);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      client.destroy();
      try {
        await closeServer(server);
      } finally {
        await lock?.release();
      }
    })();
    return stopped;
  };

  try {
    const tableNames = await createMissingTables(client);
    return { endpoint, client, documentClient, tableNames, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

interface OpenDynalite {
  server: Server;
  endpoint: string;
  client: DynamoDBClient;
}

/** dynalite on a free loopback port (persisted at `path`, in memory without), with a client handing it requests in-process. */
async function openDynalite(path: string | undefined): Promise<OpenDynalite> {
  const server = dynalite({
    ...(path ? { path } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await listen(server);
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    requestHandler: inProcessHandler(server),
  });
  return { server, endpoint, client };
}

function bytesOf(body: Uint8Array): Buffer {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

type RequestHandler = Exclude<DynamoDBClientConfig['requestHandler'], undefined>;
type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * Hands each SDK request straight to dynalite's request listener in this
 * process instead of through a loopback socket: the same signed request and
 * the same response bytes, without HTTP framing, socket buffers and a
 * round trip through the event loop per request (about a seventh of the
 * CPU of a pipeline run went to them). The server still listens on
 * `endpoint` for other clients.
 */
function inProcessHandler(server: Server): RequestHandler {
  const listener = server.listeners('request')[0] as RequestListener | undefined;
  if (!listener) throw new EmbeddedDynamoError('dynalite started without a request listener');
  const handler = {
    metadata: { handlerProtocol: 'http/1.1' },
    handle(request: {
      method: string;
      path: string;
      query?: Record<string, string | string[] | null>;
      headers: Record<string, string>;
      body?: unknown;
    }): Promise<{
      response: { statusCode: number; headers: Record<string, string>; body: Uint8Array };
    }> {
      return new Promise((resolve, reject) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(request.headers)) {
          headers[name.toLowerCase()] = value;
        }
        const body =
          request.body === undefined || request.body === null
            ? undefined
            : typeof request.body === 'string'
              ? Buffer.from(request.body, 'utf8')
              : // A view of the bytes: Buffer.from(body) would call the SDK body's
                // valueOf(), which turns it into a string and logs a warning.
                bytesOf(request.body as Uint8Array);
        const incoming = Object.assign(new EventEmitter(), {
          method: request.method,
          url: request.path || '/',
          headers,
        });
        const responseHeaders: Record<string, string> = {};
        const outgoing = {
          statusCode: 200,
          setHeader(name: string, value: string | number) {
            responseHeaders[name.toLowerCase()] = String(value);
          },
          end(chunk?: string | Uint8Array) {
            resolve({
              response: {
                statusCode: outgoing.statusCode,
                headers: responseHeaders,
                body:
                  chunk === undefined
                    ? new Uint8Array()
                    : typeof chunk === 'string'
                      ? Buffer.from(chunk, 'utf8')
                      : chunk,
              },
            });
          },
        };
        try {
          listener(incoming as unknown as IncomingMessage, outgoing as unknown as ServerResponse);
          if (body && body.length > 0) incoming.emit('data', body);
          incoming.emit('end');
        } catch (error) {
          // A request dynalite throws on must fail the SDK call, not leave it waiting.
          reject(error);
        }
      });
    },
    updateHttpClientConfig(): void {},
    httpHandlerConfigs(): Record<string, never> {
      return {};
    },
    destroy(): void {},
  };
  return handler as unknown as RequestHandler;
}

/**
 * Builds a new database beside its place and renames it into place once every
 * table is ACTIVE. dynalite makes a table ACTIVE with a second write after
 * CreateTable has answered: a process killed between the two (`kill -9` during
 * the first `wirewatch run`) would leave a table CREATING for good, which no
 * later process can use or delete. A database that exists is left as it is.
 * The caller holds the data directory's lock.
 */
async function createDatabaseOnce(path: string): Promise<void> {
  try {
    await access(join(path, 'CURRENT'));
    return;
  } catch {
    // No database yet: build one.
  }
  const parent = dirname(path);
  await mkdir(parent, { recursive: true });
  // Left by a process killed while building: never renamed, so never used.
  for (const entry of await readdir(parent)) {
    if (entry.startsWith(`${basename(path)}.new-`)) {
      await rm(join(parent, entry), { recursive: true, force: true });
    }
  }
  const staging = `${path}.new-${randomBytes(6).toString('hex')}`;
  const { server, client } = await openDynalite(staging);
  try {
    await createMissingTables(client);
  } finally {
    client.destroy();
    await closeServer(server);
  }
  // An empty directory (made by an older version's lock probe) gives way.
  await rm(path, { recursive: true, force: true });
  await rename(staging, path);
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // The SDK keeps connections alive; close them so that close() does not wait for their timeout.
    server.closeAllConnections();
  });
}

async function createMissingTables(client: DynamoDBClient): Promise<TableNames> {
  const existing = new Set<string>();
  let startName: string | undefined;
  do {
    const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName: startName }));
    for (const name of page.TableNames ?? []) existing.add(name);
    startName = page.LastEvaluatedTableName;
  } while (startName);

  const entries = Object.entries(TABLES) as [TableId, (typeof TABLES)[TableId]][];
  const tableNames = Object.fromEntries(
    entries.map(([id, definition]) => [id, embeddedTableName(definition.logicalId)]),
  ) as TableNames;

  for (const [id, definition] of entries) {
    const tableName = tableNames[id];
    if (!existing.has(tableName)) {
      try {
        await client.send(new CreateTableCommand(toCreateTableInput(definition, tableName)));
      } catch (error) {
        // Another starter created it in the meantime: fine, it is what we wanted.
        if (!(error instanceof Error && error.name === 'ResourceInUseException')) throw error;
      }
    }
    await waitUntilActive(client, tableName);
  }
  return tableNames;
}

async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  const deadline = Date.now() + TABLE_ACTIVE_TIMEOUT_MS;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    if (Date.now() > deadline) {
      throw new EmbeddedDynamoError(
        `Embedded table ${tableName} is still ${Table?.TableStatus ?? 'missing'} after ` +
          `${TABLE_ACTIVE_TIMEOUT_MS} ms; the data directory may be damaged (delete it to start afresh).`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
