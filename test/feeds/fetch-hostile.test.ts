/**
 * The fetcher and parser against a misbehaving feed server on 127.0.0.1:
 * every case must end in its documented outcome within the deadline, with
 * memory bounded by the size cap.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFeedFetcher, FeedFetchError, type FetchedFeed } from '../../shared/feeds/fetch.ts';
import { normaliseEntries } from '../../shared/feeds/normalise.ts';
import { FeedParseError, parseFeed } from '../../shared/feeds/parse.ts';

const RSS = (title: string) =>
  `<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>c</title><item><title>${title}</title><link>https://wire.example/1</link></item></channel></rss>`;
const CAP = 256 * 1024;
// Zeros compress about 1000:1, so this is 50 MiB once decoded.
const GZIP_BOMB = gzipSync(Buffer.alloc(50 * 2 ** 20));

let baseUrl = '';
const sentBytes = new Map<string, number>();
const requested: string[] = [];
const openResponses = new Set<ServerResponse>();
const timers = new Set<NodeJS.Timeout>();

const server = createServer((request, response) => {
  const path = request.url ?? '/';
  requested.push(path);
  openResponses.add(response);
  response.on('close', () => openResponses.delete(response));
  const count = (n: number) => sentBytes.set(path, (sentBytes.get(path) ?? 0) + n);
  switch (path) {
    case '/never':
      return;
    case '/trickle': {
      response.writeHead(200, { 'Content-Type': 'application/rss+xml' });
      const timer = setInterval(() => response.write('<'), 20);
      timers.add(timer);
      response.on('close', () => clearInterval(timer));
      return;
    }
    case '/endless': {
      response.writeHead(200, { 'Content-Type': 'application/rss+xml' });
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const pump = (): void => {
        while (!response.destroyed && response.write(chunk)) count(chunk.length);
        if (!response.destroyed) response.once('drain', pump);
      };
      pump();
      return;
    }
    case '/gzip-bomb':
      response.writeHead(200, {
        'Content-Type': 'application/rss+xml',
        'Content-Encoding': 'gzip',
      });
      response.end(GZIP_BOMB);
      return;
    case '/declared-50mb':
      response.writeHead(200, {
        'Content-Type': 'application/rss+xml',
        'Content-Length': 50 * 2 ** 20,
      });
      response.write(Buffer.alloc(1024));
      return;
    case '/loop':
      response.writeHead(302, { Location: '/loop' }).end();
      return;
    case '/to-metadata':
      response.writeHead(301, { Location: 'http://169.254.169.254/latest/meta-data/' }).end();
      return;
    case '/to-file':
      response.writeHead(302, { Location: 'file:///etc/passwd' }).end();
      return;
    case '/moved':
      response.writeHead(301, { Location: '/feed' }).end();
      return;
    case '/moved-temporarily':
      response.writeHead(302, { Location: '/feed' }).end();
      return;
    case '/rate-limited':
      response.writeHead(429, { 'Retry-After': '120' }).end();
      return;
    case '/unavailable':
      response
        .writeHead(503, { 'Retry-After': new Date(Date.now() + 3_600_000).toUTCString() })
        .end();
      return;
    case '/error':
      response.writeHead(500).end('boom');
      return;
    case '/gone':
      response.writeHead(410).end();
      return;
    case '/forbidden':
      response.writeHead(403).end();
      return;
    case '/html':
      response
        .writeHead(200, { 'Content-Type': 'text/html' })
        .end('<!doctype html><html><body>Moved</body></html>');
      return;
    case '/feed':
      response.writeHead(200, { 'Content-Type': 'application/rss+xml' }).end(RSS('Plain'));
      return;
    case '/gzip-feed':
      response.writeHead(200, {
        'Content-Type': 'application/rss+xml',
        'Content-Encoding': 'gzip',
      });
      response.end(gzipSync(RSS('Compressed')));
      return;
    case '/header-charset':
      // The prolog claims UTF-8, the header says windows-1251: the header wins.
      response.writeHead(200, { 'Content-Type': 'text/xml; charset=windows-1251' });
      response.end(iconv.encode(RSS('Новости'), 'windows-1251'));
      return;
    case '/prolog-charset':
      response.writeHead(200, { 'Content-Type': 'text/xml' });
      response.end(iconv.encode(RSS('Café').replace('utf-8', 'iso-8859-1'), 'latin1'));
      return;
    case '/secret':
      response.writeHead(200).end('TOP-SECRET');
      return;
    default:
      response.writeHead(404).end();
  }
});

const fetcher = createFeedFetcher({ allowPrivateNetworks: true, timeoutMs: 2_000, maxBytes: CAP });

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  fetcher.close();
  for (const timer of timers) clearInterval(timer);
  for (const response of openResponses) response.destroy();
  await new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
});

async function fetchError(path: string, options = {}): Promise<FeedFetchError> {
  const outcome = await fetcher(`${baseUrl}${path}`, {}, options).then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof FeedFetchError))
    throw new Error(`expected a FeedFetchError, got ${outcome}`);
  return outcome;
}

async function fetchOk(path: string): Promise<FetchedFeed> {
  const result = await fetcher(`${baseUrl}${path}`, {});
  if (result.status !== 'ok') throw new Error(`expected a 200 for ${path}`);
  return result;
}

describe('a misbehaving feed server', () => {
  it('times out a server that never answers, naming the URL and the deadline', async () => {
    const error = await fetchError('/never', { timeoutMs: 150 });

    expect(error.kind).toBe('timeout');
    expect(error.message).toContain(`${baseUrl}/never`);
    expect(error.message).toContain('150 ms');
  });

  it('times out a body that trickles in, because the deadline covers the body too', async () => {
    const error = await fetchError('/trickle', { timeoutMs: 200 });

    expect(error.kind).toBe('timeout');
  });

  it('stops reading an endless body at the size cap', async () => {
    const error = await fetchError('/endless');

    expect(error.kind).toBe('too-large');
    expect(error.message).toContain(String(CAP));
    // Aborted early: the server got to send little more than the cap (socket buffers aside).
    expect(sentBytes.get('/endless') ?? 0).toBeLessThan(CAP + 8 * 2 ** 20);
  });

  it('measures the cap after decompression, so a gzip bomb is refused', async () => {
    const error = await fetchError('/gzip-bomb');

    expect(error.kind).toBe('too-large');
    expect(error.message).toContain('once decoded');
  });

  it('refuses a body whose declared length is over the cap without reading it', async () => {
    const error = await fetchError('/declared-50mb');

    expect(error.kind).toBe('too-large');
    expect(error.message).toContain(`declares ${50 * 2 ** 20} bytes`);
  });

  it('gives up on a redirect loop after five redirects', async () => {
    const error = await fetchError('/loop');

    expect(error.kind).toBe('redirect');
    expect(error.message).toContain('more than 5 times');
  });

  it('refuses a redirect to the metadata service even when private networks are allowed elsewhere', async () => {
    const guarded = createFeedFetcher({ allowedNetworks: ['127.0.0.1/32'] });
    try {
      const outcome = await guarded(`${baseUrl}/to-metadata`, {}).catch((e: unknown) => e);

      expect(outcome).toBeInstanceOf(FeedFetchError);
      expect((outcome as FeedFetchError).kind).toBe('blocked');
      expect((outcome as FeedFetchError).message).toContain('169.254.169.254');
      expect((outcome as FeedFetchError).message).toContain('link-local');
    } finally {
      guarded.close();
    }
  });

  it('refuses a redirect to a scheme other than http(s)', async () => {
    const error = await fetchError('/to-file');

    expect(error.kind).toBe('invalid-url');
    expect(error.message).toContain('file:///etc/passwd');
  });

  it('reports a permanent redirect as the URL to store, and a temporary one not', async () => {
    const moved = await fetchOk('/moved');
    const temporary = await fetchOk('/moved-temporarily');

    expect(moved.permanentUrl).toBe(`${baseUrl}/feed`);
    expect(moved.finalUrl).toBe(`${baseUrl}/feed`);
    expect(temporary.permanentUrl).toBeUndefined();
    expect(temporary.finalUrl).toBe(`${baseUrl}/feed`);
  });

  it('honours Retry-After in seconds on a 429', async () => {
    const error = await fetchError('/rate-limited');

    expect(error.kind).toBe('rate-limited');
    expect(error.status).toBe(429);
    expect(error.retryAfterMs).toBe(120_000);
  });

  it('honours Retry-After as an HTTP date on a 503', async () => {
    const error = await fetchError('/unavailable');

    expect(error.kind).toBe('unavailable');
    expect(error.retryAfterMs).toBeGreaterThan(3_500_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(3_600_000);
  });

  it.each([
    ['/error', 'http', 500],
    ['/gone', 'gone', 410],
    ['/forbidden', 'forbidden', 403],
    ['/nowhere', 'not-found', 404],
  ])('classifies %s as %s', async (path, kind, status) => {
    const error = await fetchError(path);

    expect(error.kind).toBe(kind);
    expect(error.status).toBe(status);
  });

  it('reports an HTML page instead of a feed as a parse error naming the root element', async () => {
    const fetched = await fetchOk('/html');

    const outcome = await parseFeed(fetched.body, fetched.finalUrl).catch((e: unknown) => e);

    expect(outcome).toBeInstanceOf(FeedParseError);
    expect((outcome as FeedParseError).message).toContain('<html>');
  });

  it('decodes a gzip-encoded feed', async () => {
    const fetched = await fetchOk('/gzip-feed');

    expect((await parseFeed(fetched.body, fetched.finalUrl)).entries[0]?.title).toBe('Compressed');
  });

  it('takes the charset from the HTTP header over the XML declaration', async () => {
    const fetched = await fetchOk('/header-charset');

    expect(fetched.charset).toBe('windows-1251');
    expect((await parseFeed(fetched.body, fetched.finalUrl)).entries[0]?.title).toBe('Новости');
  });

  it('takes the charset from the XML declaration when the header has none', async () => {
    const fetched = await fetchOk('/prolog-charset');

    expect(fetched.charset).toBe('iso-8859-1');
    expect((await parseFeed(fetched.body, fetched.finalUrl)).entries[0]?.title).toBe('Café');
  });
});

describe('hostile documents', () => {
  it('refuses a billion-laughs entity bomb quickly with a named parse error', async () => {
    const levels = Array.from(
      { length: 9 },
      (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`,
    ).join('');
    const bomb = `<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">${levels}]><rss version="2.0"><channel><title>c</title><item><title>&lol9;</title></item></channel></rss>`;

    const outcome = await parseFeed(bomb, 'https://bomb.example/feed').catch((e: unknown) => e);

    expect(outcome).toBeInstanceOf(FeedParseError);
    expect((outcome as FeedParseError).message).toContain('entity');
  });

  it('expands a small internal entity, as the XML spec requires', async () => {
    const xml = `<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY wire "Wire Service">]><rss version="2.0"><channel><title>c</title><item><title>&wire; report</title></item></channel></rss>`;

    const parsed = await parseFeed(xml, 'https://wire.example/feed');

    expect(parsed.entries[0]?.title).toBe('Wire Service report');
  });

  it('never fetches an external entity or DTD', async () => {
    requested.length = 0;
    const xml = `<?xml version="1.0"?><!DOCTYPE rss SYSTEM "${baseUrl}/secret" [<!ENTITY xxe SYSTEM "${baseUrl}/secret">]><rss version="2.0"><channel><title>c</title><item><title>A &xxe; B</title></item></channel></rss>`;

    const parsed = await parseFeed(xml, 'https://xxe.example/feed');

    expect(parsed.entries[0]?.title).toBe('A  B');
    expect(requested).not.toContain('/secret');
  });

  it('keeps __proto__ and constructor elements harmless', async () => {
    const xml = `<rss version="2.0"><channel><title>c</title><__proto__><polluted>yes</polluted></__proto__><item><constructor>x</constructor><__proto__><polluted>yes</polluted></__proto__><title>Safe</title><link>https://wire.example/1</link></item></channel></rss>`;

    const parsed = await parseFeed(xml, 'https://proto.example/feed');
    const { items } = normaliseEntries('proto', 'https://proto.example/feed', parsed);

    expect(items.map((i) => i.title)).toEqual(['Safe']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reads a JSON Feed, ignoring a __proto__ key', async () => {
    const json = JSON.stringify({
      version: 'https://jsonfeed.org/version/1.1',
      title: 'J',
      items: [{ id: '1', url: 'https://j.example/1', title: 'First', content_text: 'a < b' }],
    }).replace('"title":"J"', '"title":"J","__proto__":{"polluted":"yes"}');

    const parsed = await parseFeed(json, 'https://j.example/feed.json');

    expect(parsed.format).toBe('json');
    expect(parsed.entries).toEqual([
      { guid: '1', link: 'https://j.example/1', title: 'First', contentHtml: 'a &lt; b' },
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
