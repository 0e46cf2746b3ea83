import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FeedServer, startFeedServer } from '../../shared/adapters/local-feed-server.ts';
import { createFeedFetcher, FeedFetchError, USER_AGENT } from '../../shared/feeds/fetch.ts';

// The servers of these tests listen on loopback, which the SSRF guard refuses by default.
const fetchFeed = createFeedFetcher({ allowPrivateNetworks: true });
afterAll(() => fetchFeed.close());

const FEED = `<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>`;

/** A server on 127.0.0.1 whose every request gets `respond`; it records the request headers. */
async function startServer(
  respond: (url: string, reply: (status: number, body?: string) => void) => void,
): Promise<{ server: Server; baseUrl: string; requests: IncomingHttpHeaders[] }> {
  const requests: IncomingHttpHeaders[] = [];
  const server = createServer((request, response) => {
    requests.push(request.headers);
    respond(request.url ?? '/', (status, body) => {
      response.writeHead(status, { 'Content-Type': 'text/plain' });
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, baseUrl: `http://127.0.0.1:${port}`, requests };
}

async function stopServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  );
  server.closeAllConnections();
  await closed;
}

async function fetchError(promise: Promise<unknown>): Promise<FeedFetchError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof FeedFetchError))
    throw new Error(`expected a FeedFetchError, got ${error}`);
  return error;
}

describe('fetchFeed against the local feed server', () => {
  let dir: string;
  let feeds: FeedServer;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'wirewatch-fetch-'));
    await writeFile(path.join(dir, 'wire.xml'), FEED);
    feeds = await startFeedServer({ dir });
  });

  afterAll(async () => {
    await feeds.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('returns the body with its validators, then not-modified when they are sent back', async () => {
    const first = await fetchFeed(feeds.url('wire.xml'), {});
    if (first.status !== 'ok') throw new Error('expected a 200 on the first fetch');

    const second = await fetchFeed(feeds.url('wire.xml'), {
      etag: first.etag,
      lastModified: first.lastModified,
    });

    expect(first.body).toBe(FEED);
    expect(first.etag).toMatch(/^".+"$/);
    expect(first.lastModified).toMatch(/GMT$/);
    expect(first.contentType).toBe('application/xml');
    expect(first.finalUrl).toBe(feeds.url('wire.xml'));
    expect(second.status).toBe('not-modified');
  });

  it('returns the new body when the feed changed since the validators were issued', async () => {
    await writeFile(path.join(dir, 'changing.xml'), FEED);
    const first = await fetchFeed(feeds.url('changing.xml'), {});
    if (first.status !== 'ok') throw new Error('expected a 200 on the first fetch');
    const updated = FEED.replace('<title>t</title>', '<title>updated</title>');
    await writeFile(path.join(dir, 'changing.xml'), updated);

    const second = await fetchFeed(feeds.url('changing.xml'), { etag: first.etag });

    expect(second.status).toBe('ok');
    expect(second.status === 'ok' && second.body).toBe(updated);
    expect(second.status === 'ok' && second.etag).not.toBe(first.etag);
  });

  it('reports a missing feed as not-found, naming the URL', async () => {
    const url = feeds.url('missing.xml');

    const error = await fetchError(fetchFeed(url, {}));

    expect(error.kind).toBe('not-found');
    expect(error.status).toBe(404);
    expect(error.url).toBe(url);
    expect(error.message).toContain(url);
  });
});

describe('fetchFeed against a scripted server', () => {
  let scripted: Awaited<ReturnType<typeof startServer>>;

  beforeAll(async () => {
    scripted = await startServer((url, reply) => {
      if (url === '/broken') reply(500, 'boom');
      else if (url === '/silent')
        return; // never answers
      else reply(200, FEED);
    });
  });

  afterAll(async () => {
    await stopServer(scripted.server);
  });

  it('sends a polite User-Agent, an Accept for feeds and the conditional headers', async () => {
    scripted.requests.length = 0;

    await fetchFeed(`${scripted.baseUrl}/feed`, {
      etag: '"abc"',
      lastModified: 'Wed, 04 Mar 2026 06:12:00 GMT',
    });

    const [headers] = scripted.requests;
    expect(headers?.['user-agent']).toBe(USER_AGENT);
    expect(USER_AGENT).toMatch(
      /^wirewatch\/\d+\.\d+\.\d+ \(\+https:\/\/github\.com\/wirewatch\/wirewatch\)$/,
    );
    expect(headers?.accept).toContain('application/rss+xml');
    expect(headers?.accept).toContain('application/atom+xml');
    expect(headers?.['if-none-match']).toBe('"abc"');
    expect(headers?.['if-modified-since']).toBe('Wed, 04 Mar 2026 06:12:00 GMT');
  });

  it('sends no conditional headers when it has no validators', async () => {
    scripted.requests.length = 0;

    await fetchFeed(`${scripted.baseUrl}/feed`, {});

    expect(scripted.requests[0]?.['if-none-match']).toBeUndefined();
    expect(scripted.requests[0]?.['if-modified-since']).toBeUndefined();
  });

  it('reports a server error as an http error with its status', async () => {
    const error = await fetchError(fetchFeed(`${scripted.baseUrl}/broken`, {}));

    expect(error.kind).toBe('http');
    expect(error.status).toBe(500);
    expect(error.message).toContain(`${scripted.baseUrl}/broken`);
  });

  it('gives up on a server that never answers with a timeout error', async () => {
    const error = await fetchError(fetchFeed(`${scripted.baseUrl}/silent`, {}, { timeoutMs: 150 }));

    expect(error.kind).toBe('timeout');
    expect(error.message).toContain(`${scripted.baseUrl}/silent`);
  });
});

describe('fetchFeed without a server', () => {
  it('reports a refused connection as a network error', async () => {
    const closed = await startServer((_url, reply) => reply(200));
    await stopServer(closed.server);

    const error = await fetchError(fetchFeed(`${closed.baseUrl}/feed`, {}));

    expect(error.kind).toBe('network');
    expect(error.message).toContain(closed.baseUrl);
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('refuses a URL that is not http(s)', async () => {
    const error = await fetchError(fetchFeed('file:///etc/passwd', {}));

    expect(error.kind).toBe('invalid-url');
  });
});
