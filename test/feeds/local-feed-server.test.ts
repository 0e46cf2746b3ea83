import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FeedServer, startFeedServer } from '../../shared/adapters/local-feed-server.ts';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http rather than fetch, because fetch would normalise `..` out of the path. */
function rawRequest(
  baseUrl: string,
  requestPath: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        hostname,
        port,
        path: requestPath,
        method: options.method ?? 'GET',
        headers: options.headers,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('startFeedServer', () => {
  let parent: string;
  let dir: string;
  let feeds: FeedServer;
  const rss = '<rss version="2.0"><channel><title>A</title></channel></rss>';
  const modified = new Date('2026-03-04T06:12:00Z');

  beforeAll(async () => {
    parent = await mkdtemp(path.join(tmpdir(), 'wirewatch-feed-server-'));
    dir = path.join(parent, 'feeds');
    await mkdir(path.join(dir, 'desk'), { recursive: true });
    await writeFile(path.join(parent, 'secret.txt'), 'outside the served directory');
    await writeFile(path.join(dir, 'wire-a.xml'), rss);
    await utimes(path.join(dir, 'wire-a.xml'), modified, modified);
    await writeFile(
      path.join(dir, 'desk', 'europe.atom'),
      '<feed xmlns="http://www.w3.org/2005/Atom"/>',
    );
    await symlink(path.join(parent, 'secret.txt'), path.join(dir, 'escape.txt'));
    feeds = await startFeedServer({ dir });
  });

  afterAll(async () => {
    await feeds.stop();
    await rm(parent, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 and builds file URLs from it', () => {
    expect(feeds.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(feeds.url('desk/europe.atom')).toBe(`${feeds.baseUrl}/desk/europe.atom`);
  });

  it('serves a file with its content type, ETag and Last-Modified', async () => {
    const response = await rawRequest(feeds.baseUrl, '/wire-a.xml');

    expect(response.status).toBe(200);
    expect(response.body).toBe(rss);
    expect(response.headers['content-type']).toBe('application/xml');
    expect(response.headers.etag).toMatch(/^".+"$/);
    expect(response.headers['last-modified']).toBe(modified.toUTCString());
  });

  it('serves files in subdirectories with the type their extension says', async () => {
    const response = await rawRequest(feeds.baseUrl, '/desk/europe.atom');

    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/atom+xml');
  });

  it('answers 304 to a matching If-None-Match', async () => {
    const { headers } = await rawRequest(feeds.baseUrl, '/wire-a.xml');

    const response = await rawRequest(feeds.baseUrl, '/wire-a.xml', {
      headers: { 'If-None-Match': `"other", ${String(headers.etag)}` },
    });

    expect(response.status).toBe(304);
    expect(response.body).toBe('');
    expect(response.headers.etag).toBe(headers.etag);
  });

  it('answers 200 to an If-None-Match that does not match, whatever If-Modified-Since says', async () => {
    const response = await rawRequest(feeds.baseUrl, '/wire-a.xml', {
      headers: { 'If-None-Match': '"stale"', 'If-Modified-Since': modified.toUTCString() },
    });

    expect(response.status).toBe(200);
  });

  it('answers 304 to If-Modified-Since at or after the modification time, 200 before it', async () => {
    const notModified = await rawRequest(feeds.baseUrl, '/wire-a.xml', {
      headers: { 'If-Modified-Since': modified.toUTCString() },
    });
    const modifiedSince = await rawRequest(feeds.baseUrl, '/wire-a.xml', {
      headers: { 'If-Modified-Since': new Date(modified.getTime() - 1000).toUTCString() },
    });

    expect(notModified.status).toBe(304);
    expect(modifiedSince.status).toBe(200);
  });

  it('answers HEAD with the headers and no body', async () => {
    const response = await rawRequest(feeds.baseUrl, '/wire-a.xml', { method: 'HEAD' });

    expect(response.status).toBe(200);
    expect(response.headers['content-length']).toBe(String(Buffer.byteLength(rss)));
    expect(response.body).toBe('');
  });

  it('refuses methods other than GET and HEAD', async () => {
    const response = await rawRequest(feeds.baseUrl, '/wire-a.xml', { method: 'POST' });

    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD');
  });

  it.each([
    ['a missing file', '/missing.xml'],
    ['a directory', '/desk'],
    ['a path climbing out with ..', '/../secret.txt'],
    ['a path climbing out with encoded ..', '/%2e%2e/secret.txt'],
    ['a path climbing out with an encoded slash', '/desk%2f..%2f..%2fsecret.txt'],
    ['a symbolic link leading out', '/escape.txt'],
    ['a malformed escape', '/%E0%A4%A.xml'],
    ['a NUL byte', '/wire-a.xml%00.txt'],
  ])('answers 404 to %s', async (_what, requestPath) => {
    const response = await rawRequest(feeds.baseUrl, requestPath);

    expect(response.status).toBe(404);
    expect(response.body).not.toContain('outside the served directory');
  });
});
