/**
 * The unsubscribe endpoint of the local run: `handleUnsubscribeRequest` on a
 * node:http server at `<url>` (path `/unsubscribe`), as the Lambda function
 * URL serves it on AWS. Use its `url` as the links' `baseUrl`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  handleUnsubscribeRequest,
  type UnsubscribeDeps,
  type UnsubscribeResponse,
} from '../alerts/unsubscribe.ts';

/** The path the endpoint answers on; every other path is a 404. */
export const UNSUBSCRIBE_PATH = '/unsubscribe';
/** Bodies larger than this are refused (a One-Click POST is a few dozen bytes). */
export const MAX_BODY_BYTES = 8 * 1024;

/** Options of `startUnsubscribeServer`. */
export interface UnsubscribeServerOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on; the loopback one by default. */
  host?: string;
  deps: UnsubscribeDeps;
}

export interface UnsubscribeServer {
  /** `http://<host>:<port>/unsubscribe`: the base URL of the links. */
  url: string;
  /** Stops listening and closes open connections. */
  stop(): Promise<void>;
}

/** Thrown while reading a body that exceeds `MAX_BODY_BYTES`. */
class BodyTooLargeError extends Error {
  constructor() {
    super(`request body exceeds ${MAX_BODY_BYTES} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/** Starts the endpoint; resolves once it listens. */
export async function startUnsubscribeServer(
  options: UnsubscribeServerOptions,
): Promise<UnsubscribeServer> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer((request, response) => {
    serve(request, response, options.deps).catch((error: unknown) => {
      options.deps.logger?.error('unsubscribe server failed', {
        error: error instanceof Error ? error.message : String(error),
      });
      if (!response.headersSent) {
        response.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      }
      response.end('Internal error\n');
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const { port } = server.address() as AddressInfo;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${hostInUrl}:${port}${UNSUBSCRIBE_PATH}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive connections (fetch keeps them) would hold close() open.
        server.closeAllConnections();
      }),
  };
}

async function serve(
  request: IncomingMessage,
  response: ServerResponse,
  deps: UnsubscribeDeps,
): Promise<void> {
  const target = new URL(request.url ?? '/', 'http://localhost');
  if (target.pathname !== UNSUBSCRIBE_PATH) {
    sendText(response, 404, 'Not found');
    return;
  }
  let body: string;
  try {
    body = await readBody(request);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    sendText(response, 413, 'Request body too large', { Connection: 'close' });
    return;
  }
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  send(
    response,
    await handleUnsubscribeRequest(
      { method: request.method ?? 'GET', query: target.search, headers, body },
      deps,
    ),
  );
}

async function readBody(request: IncomingMessage): Promise<string> {
  const declared = Number(request.headers['content-length']);
  if (declared > MAX_BODY_BYTES) throw new BodyTooLargeError();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, answer: UnsubscribeResponse): void {
  response.writeHead(answer.status, {
    ...answer.headers,
    'Content-Length': Buffer.byteLength(answer.body),
  });
  response.end(answer.body);
}

function sendText(
  response: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  response.end(`${text}\n`);
}
