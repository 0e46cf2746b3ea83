/**
 * The SSRF guard with allowPrivateNetworks off: every internal address is
 * refused, whatever its spelling, whether it is in the URL, behind a host
 * name, behind a redirect, or behind a DNS answer that changes between
 * connections. Host names are resolved by a resolver the test injects.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HostResolver, refusalRule } from '../../shared/feeds/address-guard.ts';
import { createFeedFetcher, FeedFetchError } from '../../shared/feeds/fetch.ts';

const FEED = '<rss version="2.0"><channel><title>t</title></channel></rss>';

let port = 0;
const server = createServer((request, response) => {
  if (request.url === '/to-internal') {
    response.writeHead(302, { Location: `http://internal.example:${port}/feed` }).end();
  } else {
    response.writeHead(200, { 'Content-Type': 'application/rss+xml' }).end(FEED);
  }
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
});

/** A resolver from a table; each name's answers are used in turn, the last one repeated. */
function resolverOf(table: Record<string, string[][]>): HostResolver {
  const calls = new Map<string, number>();
  return async (hostname) => {
    const answers = table[hostname];
    if (answers === undefined)
      throw Object.assign(new Error(`no such host ${hostname}`), { code: 'ENOTFOUND' });
    const n = calls.get(hostname) ?? 0;
    calls.set(hostname, n + 1);
    const addresses = answers[Math.min(n, answers.length - 1)] ?? [];
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

async function refusal(
  url: string,
  options: Parameters<typeof createFeedFetcher>[0] = {},
): Promise<FeedFetchError> {
  const fetcher = createFeedFetcher({ timeoutMs: 2_000, ...options });
  try {
    const outcome = await fetcher(url, {}).catch((error: unknown) => error);
    if (!(outcome instanceof FeedFetchError)) throw new Error(`expected ${url} to be refused`);
    return outcome;
  } finally {
    fetcher.close();
  }
}

describe('the SSRF guard', () => {
  it.each([
    ['http://127.0.0.1/', 'loopback'],
    ['http://127.1.2.3/', 'loopback'],
    ['http://2130706433/', 'loopback'],
    ['http://0x7f000001/', 'loopback'],
    ['http://0177.0.0.1/', 'loopback'],
    ['http://0x7f.0.0.1/', 'loopback'],
    ['http://[::1]/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'IPv4-mapped loopback'],
    ['http://[::ffff:7f00:1]/', 'IPv4-mapped loopback'],
    ['http://169.254.169.254/latest/meta-data/', 'link-local'],
    ['http://[::ffff:169.254.169.254]/', 'IPv4-mapped link-local'],
    ['http://[fd00:ec2::254]/', 'unique-local'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://10.0.0.1/', 'private'],
    ['http://172.16.5.4/', 'private'],
    ['http://192.168.1.1/', 'private'],
    ['http://100.64.0.1/', 'carrier-grade NAT'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://0/', 'unspecified'],
    ['http://[::]/', 'unspecified'],
    ['http://224.0.0.1/', 'multicast'],
    ['http://[ff02::1]/', 'multicast'],
    ['http://255.255.255.255/', 'broadcast'],
    ['http://[64:ff9b::a00:1]/', 'NAT64-embedded private'],
  ])('refuses %s as %s, naming the address', async (url, rule) => {
    const error = await refusal(url);

    expect(error.kind).toBe('blocked');
    expect(error.message).toContain(rule);
    expect(error.message).toContain('allowPrivateNetworks');
  });

  it.each([
    'file:///etc/passwd',
    'ftp://feeds.example/rss',
    'gopher://feeds.example/',
    'javascript:alert(1)',
  ])('refuses the scheme of %s', async (url) => {
    const error = await refusal(url);

    expect(error.kind).toBe('invalid-url');
  });

  it('refuses credentials in the URL', async () => {
    const error = await refusal('http://user:secret@feeds.example/rss');

    expect(error.kind).toBe('invalid-url');
    expect(error.message).toContain('credentials');
  });

  it('refuses a host name that resolves to a private address, naming both', async () => {
    const error = await refusal(`http://feeds.example:${port}/feed`, {
      resolver: resolverOf({ 'feeds.example': [['10.1.2.3']] }),
    });

    expect(error.kind).toBe('blocked');
    expect(error.message).toContain('feeds.example (10.1.2.3)');
    expect(error.message).toContain('private network address');
  });

  it('refuses a host name with one public and one private address', async () => {
    const error = await refusal(`http://mixed.example:${port}/feed`, {
      resolver: resolverOf({ 'mixed.example': [['93.184.215.14', '127.0.0.1']] }),
    });

    expect(error.kind).toBe('blocked');
    expect(error.message).toContain('127.0.0.1');
  });

  it('refuses a redirect from an allowed host to a name that resolves to a private address', async () => {
    const error = await refusal(`http://public.example:${port}/to-internal`, {
      // 127.0.0.1 stands in for a public address: the only one this test can serve from.
      allowedNetworks: ['127.0.0.1/32'],
      resolver: resolverOf({
        'public.example': [['127.0.0.1']],
        'internal.example': [['127.0.0.2']],
      }),
    });

    expect(error.kind).toBe('blocked');
    expect(error.message).toContain('redirected');
    expect(error.message).toContain('internal.example (127.0.0.2)');
  });

  it('checks the address of every connection, so DNS rebinding after a first good answer is refused', async () => {
    const resolver = resolverOf({ 'rebind.example': [['127.0.0.1'], ['127.0.0.2']] });
    const options = { allowedNetworks: ['127.0.0.1/32'], resolver };
    const first = createFeedFetcher(options);
    const firstResult = await first(`http://rebind.example:${port}/feed`, {});
    first.close();

    const error = await refusal(`http://rebind.example:${port}/feed`, options);

    expect(firstResult.status).toBe('ok');
    expect(error.kind).toBe('blocked');
    expect(error.message).toContain('127.0.0.2');
  });

  it('connects to loopback only when allowPrivateNetworks is set', async () => {
    const allowed = createFeedFetcher({ allowPrivateNetworks: true });
    try {
      const result = await allowed(`http://127.0.0.1:${port}/feed`, {});

      expect(result.status).toBe('ok');
    } finally {
      allowed.close();
    }
  });

  it('lets public unicast addresses through', () => {
    expect(refusalRule('93.184.215.14')).toBeUndefined();
    expect(refusalRule('2606:4700::6810:84e5')).toBeUndefined();
    expect(refusalRule('::ffff:93.184.215.14')).toBeUndefined();
  });
});
