/**
 * Serves the files of a directory over HTTP on 127.0.0.1, with the validators
 * and conditional responses a real feed server gives. The embedded run serves
 * the sample feeds with it, so that the sample config works with no internet;
 * tests use it as a real server to poll.
 */
import { createHash } from 'node:crypto';
import { readFile, realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface FeedServerOptions {
  /** Directory whose files are served. */
  dir: string;
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
}

export interface FeedServer {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  baseUrl: string;
  /** URL of a file of the directory, by its path relative to it (`wire-a.xml`). */
  url(name: string): string;
  /** Stops listening and closes open connections. */
  stop(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.xml': 'application/xml',
  '.rss': 'application/rss+xml',
  '.atom': 'application/atom+xml',
  '.rdf': 'application/rdf+xml',
  '.json': 'application/json',
  '.html': 'text/html; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** Starts serving `dir`; resolves once the server listens. */
export async function startFeedServer(options: FeedServerOptions): Promise<FeedServer> {
  const root = await realpath(options.dir);
  const server = createServer((request, response) => {
    handle(root, request, response).catch((error: unknown) => {
      if (!response.headersSent) {
        response.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      }
      response.end(`Internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });

  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    url: (name) => `${baseUrl}/${name.split('/').map(encodeURIComponent).join('/')}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive connections (fetch keeps them) would hold close() open.
        server.closeAllConnections();
      }),
  };
}

async function handle(root: string, request: IncomingMessage, response: ServerResponse) {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    sendText(response, 405, 'Method not allowed', { Allow: 'GET, HEAD' });
    return;
  }
  const file = await resolveFile(root, request.url ?? '/');
  if (file === undefined) {
    sendText(response, 404, 'Not found');
    return;
  }

  const body = await readFile(file.path);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  const lastModified = new Date(Math.floor(file.mtimeMs / 1000) * 1000);
  const headers = {
    ETag: etag,
    'Last-Modified': lastModified.toUTCString(),
    'Cache-Control': 'no-cache',
  };

  if (isNotModified(request, etag, lastModified)) {
    response.writeHead(304, headers);
    response.end();
    return;
  }
  response.writeHead(200, {
    ...headers,
    'Content-Type':
      CONTENT_TYPES[path.extname(file.path).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': body.length,
  });
  response.end(request.method === 'HEAD' ? undefined : body);
}

/**
 * Maps the request path to a regular file inside `root`, or `undefined`. The
 * real path is checked too, so neither `..` nor a symbolic link leads outside.
 */
async function resolveFile(
  root: string,
  requestUrl: string,
): Promise<{ path: string; mtimeMs: number } | undefined> {
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(requestUrl, 'http://localhost').pathname);
  } catch {
    return undefined;
  }
  if (pathname.includes('\0')) return undefined;

  const candidate = path.resolve(root, `.${pathname}`);
  if (!isInside(root, candidate)) return undefined;
  try {
    const real = await realpath(candidate);
    if (!isInside(root, real)) return undefined;
    const info = await stat(real);
    return info.isFile() ? { path: real, mtimeMs: info.mtimeMs } : undefined;
  } catch (error) {
    if (isMissingFileError(error)) return undefined;
    throw error;
  }
}

function isMissingFileError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'ENAMETOOLONG';
}

function isInside(root: string, candidate: string): boolean {
  return candidate.startsWith(`${root}${path.sep}`);
}

/** RFC 9110: `If-None-Match` decides when present; else `If-Modified-Since`. */
function isNotModified(request: IncomingMessage, etag: string, lastModified: Date): boolean {
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    return ifNoneMatch
      .split(',')
      .map((tag) => tag.trim().replace(/^W\//, ''))
      .some((tag) => tag === '*' || tag === etag);
  }
  const ifModifiedSince = request.headers['if-modified-since'];
  if (ifModifiedSince === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  return !Number.isNaN(since) && lastModified.getTime() <= since;
}

function sendText(
  response: ServerResponse,
  status: number,
  text: string,
  extraHeaders: Record<string, string> = {},
) {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...extraHeaders });
  response.end(`${text}\n`);
}
