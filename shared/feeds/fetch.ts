/**
 * Fetches a feed over HTTP(S) the way an untrusted, unreliable server
 * requires: one deadline for the whole exchange, a size cap measured after
 * decompression, redirects followed by hand and re-checked at every hop, the
 * SSRF guard on every address connected to, a conditional GET, and error
 * statuses classified so the poller can back off sensibly.
 *
 * Node's `fetch` is not used: its `redirect: 'follow'` cannot re-check hops,
 * and its connector takes no per-request `lookup`.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import packageJson from '../../package.json' with { type: 'json' };
import {
  type AddressGuard,
  BlockedAddressError,
  createAddressGuard,
  guardedLookup,
  type HostResolver,
  systemResolver,
} from './address-guard.ts';
import { decodeFeedBody } from './charset.ts';

/** The `User-Agent` wirewatch sends, so that publishers can tell who polls them. */
export const USER_AGENT = `wirewatch/${packageJson.version} (+https://github.com/wirewatch/wirewatch)`;

const ACCEPT =
  'application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.8, application/json;q=0.5, */*;q=0.1';

/** Defaults of the fetch limits. */
export const FETCH_DEFAULTS = {
  timeoutMs: 20_000,
  maxBytes: 10 * 2 ** 20,
  maxRedirects: 5,
} as const;

/** Validators remembered from the previous successful fetch of the feed. */
export interface ConditionalRequest {
  etag?: string;
  lastModified?: string;
}

export interface FetchFeedOptions {
  /** Deadline for the whole fetch: every hop's connect, headers and body. Default 20000. */
  timeoutMs?: number;
  /** Largest body accepted, in bytes after decompression. Default 10 MiB. */
  maxBytes?: number;
  /** Redirects followed at most. Default 5. */
  maxRedirects?: number;
  /** Connect to loopback, private, link-local and other internal addresses. Default false. */
  allowPrivateNetworks?: boolean;
  /** Internal networks (CIDRs) allowed even with `allowPrivateNetworks` off. */
  allowedNetworks?: readonly string[];
  /** Resolves host names; default the system resolver. Tests inject their own. */
  resolver?: HostResolver;
}

/** What the fetch learnt about where the feed lives and how long it may be cached. */
interface FetchMeta {
  /** The URL after redirects. */
  finalUrl: string;
  /**
   * What relative links in the document resolve against: the response's
   * `Content-Location` when it is an http(s) URL, else `finalUrl`.
   */
  baseUrl: string;
  /**
   * Set when every redirect followed was permanent (301/308): the URL to store
   * instead of the old one. Only returned once the new target has answered.
   */
  permanentUrl?: string;
  /** `Cache-Control: max-age` (or `Expires`) of the response, in seconds. */
  maxAgeSeconds?: number;
}

/** The feed has not changed since the validators were issued. */
export interface FeedNotModified extends FetchMeta {
  status: 'not-modified';
}

/** A fresh copy of the feed. */
export interface FetchedFeed extends FetchMeta {
  status: 'ok';
  /** The body decoded to text with the charset of highest precedence. */
  body: string;
  /** The charset used and where it was declared. */
  charset: string;
  /** Size of the body after decompression, in bytes. */
  bytes: number;
  etag?: string;
  lastModified?: string;
  contentType?: string;
}

export type FetchFeedResult = FeedNotModified | FetchedFeed;

/** What the poller calls; `fetchFeed` is the default implementation. */
export type FeedFetcher = (
  url: string,
  conditional: ConditionalRequest,
  options?: FetchFeedOptions,
) => Promise<FetchFeedResult>;

/**
 * Why a fetch failed. The HTTP kinds: `not-found` (404), `gone` (410),
 * `unauthorized` (401), `forbidden` (403), `rate-limited` (429),
 * `unavailable` (503), `http` (any other error status).
 */
export type FeedFetchErrorKind =
  | 'invalid-url'
  | 'blocked'
  | 'network'
  | 'timeout'
  | 'too-large'
  | 'redirect'
  | 'decoding'
  | 'not-found'
  | 'gone'
  | 'unauthorized'
  | 'forbidden'
  | 'rate-limited'
  | 'unavailable'
  | 'http';

/** A feed could not be fetched; names the URL and says why. */
export class FeedFetchError extends Error {
  override readonly name = 'FeedFetchError';

  constructor(
    readonly kind: FeedFetchErrorKind,
    readonly url: string,
    message: string,
    /** HTTP status, for the HTTP kinds. */
    readonly status?: number,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }

  /** How long the server asked us to wait (`Retry-After`), in milliseconds. */
  readonly retryAfterMs?: number;
}

/** A fetcher with its own connection pools; `close()` frees the idle sockets. */
export interface ClosableFeedFetcher extends FeedFetcher {
  close(): void;
}

/**
 * Creates a fetcher whose limits default to `defaults` (each call may override
 * them). Connections are kept alive per fetcher, so one fetcher per process.
 */
export function createFeedFetcher(defaults: FetchFeedOptions = {}): ClosableFeedFetcher {
  // Pools are per (scheme, guard, resolver): a pooled socket was checked when it
  // connected, so a pool must never be shared by two policies.
  const agents = new Map<string, http.Agent>();
  const guards = new Map<string, AddressGuard>();
  const resolverIds = new Map<HostResolver, number>();
  const agentFor: AgentFor = (protocol, options) => {
    const resolver = options.resolver ?? systemResolver;
    let resolverId = resolverIds.get(resolver);
    if (resolverId === undefined) {
      resolverId = resolverIds.size;
      resolverIds.set(resolver, resolverId);
    }
    const policyKey = JSON.stringify([
      options.allowPrivateNetworks ?? false,
      options.allowedNetworks ?? [],
    ]);
    let guard = guards.get(policyKey);
    if (guard === undefined) {
      guard = createAddressGuard({
        allowPrivateNetworks: options.allowPrivateNetworks ?? false,
        allowedNetworks: options.allowedNetworks ?? [],
      });
      guards.set(policyKey, guard);
    }
    const key = `${protocol} ${resolverId} ${policyKey}`;
    let agent = agents.get(key);
    if (agent === undefined) {
      const agentOptions = {
        keepAlive: true,
        maxSockets: 16,
        lookup: guardedLookup(resolver, guard),
      };
      agent = protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
      agents.set(key, agent);
    }
    return { agent, guard };
  };
  const fetcher = (async (url, conditional, options = {}) => {
    const merged = { ...defaults, ...options };
    return fetchWithLimits(url, conditional, merged, agentFor);
  }) as ClosableFeedFetcher;
  fetcher.close = () => {
    for (const agent of agents.values()) agent.destroy();
    agents.clear();
  };
  return fetcher;
}

/**
 * The process-wide fetcher with the default limits and the SSRF guard on.
 *
 * @throws FeedFetchError naming the URL and the reason (see `FeedFetchErrorKind`).
 */
export const fetchFeed: ClosableFeedFetcher = createFeedFetcher();

type AgentFor = (
  protocol: string,
  options: FetchFeedOptions,
) => { agent: http.Agent; guard: AddressGuard };

async function fetchWithLimits(
  url: string,
  conditional: ConditionalRequest,
  options: FetchFeedOptions,
  agentFor: AgentFor,
): Promise<FetchFeedResult> {
  const timeoutMs = options.timeoutMs ?? FETCH_DEFAULTS.timeoutMs;
  const maxBytes = options.maxBytes ?? FETCH_DEFAULTS.maxBytes;
  const maxRedirects = options.maxRedirects ?? FETCH_DEFAULTS.maxRedirects;

  let current = checkedUrl(url, url, agentFor('http:', options).guard);
  let allPermanent = true;
  const deadline = new Deadline(timeoutMs, url);
  try {
    for (let hop = 0; ; hop++) {
      const response = await deadline.race(
        request(current, conditional, agentFor(current.protocol, options), deadline),
      );
      const status = response.statusCode ?? 0;
      const { headers } = response;
      if (isRedirect(status)) {
        response.destroy();
        const location = headers.location;
        if (location === undefined || location === '') {
          throw new FeedFetchError(
            'redirect',
            url,
            `Feed ${url} answered HTTP ${status} without a Location`,
            status,
          );
        }
        if (hop >= maxRedirects) {
          throw new FeedFetchError(
            'redirect',
            url,
            `Feed ${url} redirected more than ${maxRedirects} times (last to ${current.href})`,
            status,
          );
        }
        let next: URL;
        try {
          next = new URL(location, current);
        } catch (error) {
          throw new FeedFetchError(
            'redirect',
            url,
            `Feed ${url} redirected to an invalid URL: ${location}`,
            status,
            { cause: error },
          );
        }
        current = checkedUrl(next.href, url, agentFor(next.protocol, options).guard);
        allPermanent &&= status === 301 || status === 308;
        continue;
      }
      const meta: FetchMeta = {
        finalUrl: current.href,
        baseUrl: contentLocation(header(headers, 'content-location'), current),
      };
      if (hop > 0 && allPermanent) meta.permanentUrl = current.href;
      const maxAge = maxAgeSeconds(headers);
      if (maxAge !== undefined) meta.maxAgeSeconds = maxAge;

      if (status === 304) {
        response.destroy();
        return { status: 'not-modified', ...meta };
      }
      if (status < 200 || status >= 300) {
        response.destroy();
        throw statusError(url, current.href, status, response.statusMessage, headers);
      }
      const bytes = await deadline.race(readBody(response, url, maxBytes));
      const contentType = header(headers, 'content-type');
      const decoded = decodeFeedBody(bytes, contentType);
      const fetched: FetchedFeed = {
        status: 'ok',
        body: decoded.text,
        charset: decoded.charset,
        bytes: bytes.length,
        ...meta,
      };
      const etag = header(headers, 'etag');
      const lastModified = header(headers, 'last-modified');
      if (etag) fetched.etag = etag;
      if (lastModified) fetched.lastModified = lastModified;
      if (contentType) fetched.contentType = contentType;
      return fetched;
    }
  } catch (error) {
    throw asFetchError(error, url, current.href, deadline);
  } finally {
    deadline.clear();
  }
}

/**
 * One deadline shared by every hop: when it passes, the live request and its
 * socket are destroyed, which ends whatever is waiting on them.
 */
class Deadline {
  private readonly timer: NodeJS.Timeout;
  private readonly live = new Set<{ destroy(error?: Error): void }>();
  private rejectors = new Set<(error: Error) => void>();
  expired = false;

  constructor(
    readonly timeoutMs: number,
    private readonly url: string,
  ) {
    this.timer = setTimeout(() => {
      this.expired = true;
      const error = this.error();
      for (const thing of this.live) thing.destroy(error);
      for (const reject of this.rejectors) reject(error);
    }, timeoutMs);
  }

  error(): FeedFetchError {
    return new FeedFetchError(
      'timeout',
      this.url,
      `Feed ${this.url} did not answer in full within ${this.timeoutMs} ms`,
    );
  }

  /** Tracks something to destroy when the deadline passes. */
  track(thing: { destroy(error?: Error): void }): void {
    if (this.expired) thing.destroy(this.error());
    else this.live.add(thing);
  }

  /** `promise`, or the timeout error once the deadline has passed. */
  race<T>(promise: Promise<T>): Promise<T> {
    if (this.expired) return Promise.reject(this.error());
    return new Promise<T>((resolve, reject) => {
      this.rejectors.add(reject);
      promise.then(
        (value) => {
          this.rejectors.delete(reject);
          resolve(value);
        },
        (error: unknown) => {
          this.rejectors.delete(reject);
          reject(error);
        },
      );
    });
  }

  clear(): void {
    clearTimeout(this.timer);
    for (const thing of this.live) thing.destroy();
    this.live.clear();
    this.rejectors.clear();
  }
}

/** Parses and checks one URL of the chain: http(s), no credentials, no refused IP literal. */
function checkedUrl(href: string, feedUrl: string, guard: AddressGuard): URL {
  let parsed: URL;
  try {
    parsed = new URL(href);
  } catch (error) {
    throw new FeedFetchError(
      'invalid-url',
      feedUrl,
      `Feed URL ${href} is not a valid URL`,
      undefined,
      {
        cause: error,
      },
    );
  }
  const where =
    href === feedUrl ? `Feed URL ${href}` : `Feed ${feedUrl} redirected to ${href}, which`;
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new FeedFetchError('invalid-url', feedUrl, `${where} is not an http(s) URL`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new FeedFetchError(
      'invalid-url',
      feedUrl,
      `${where} carries credentials; feeds are fetched without them`,
    );
  }
  // The URL parser has already turned decimal, octal and hex IPv4 spellings into dotted form.
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) {
    try {
      guard.check(host, host);
    } catch (error) {
      throw new FeedFetchError(
        'blocked',
        feedUrl,
        `Feed ${feedUrl}${href === feedUrl ? '' : ` redirected to ${href}`}: ${(error as Error).message}`,
        undefined,
        { cause: error },
      );
    }
  }
  return parsed;
}

function request(
  url: URL,
  conditional: ConditionalRequest,
  { agent, guard }: { agent: http.Agent; guard: AddressGuard },
  deadline: Deadline,
): Promise<IncomingMessage> {
  const headers: Record<string, string> = {
    'User-Agent': USER_AGENT,
    Accept: ACCEPT,
    'Accept-Encoding': 'gzip, deflate, br',
  };
  if (conditional.etag !== undefined) headers['If-None-Match'] = conditional.etag;
  if (conditional.lastModified !== undefined) {
    headers['If-Modified-Since'] = conditional.lastModified;
  }
  const module = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = module.request(url, { agent, headers, method: 'GET' }, resolve);
    deadline.track(req);
    req.on('error', reject);
    req.on('socket', (socket) => {
      // The lookup refuses before connecting; this checks the address actually
      // connected to, so that no path (a literal, a proxy-less connect) escapes
      // the guard. A pooled socket was checked when it connected.
      if (!socket.connecting) return;
      socket.once('connect', () => {
        const remote = socket.remoteAddress;
        try {
          if (remote !== undefined) guard.check(url.hostname, remote);
        } catch (error) {
          req.destroy(error as Error);
        }
      });
    });
    req.end();
  });
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** Reads the body through its decoder, failing once `maxBytes` decoded bytes are exceeded. */
function readBody(response: IncomingMessage, url: string, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers['content-length']);
  const encoding = (header(response.headers, 'content-encoding') ?? 'identity')
    .trim()
    .toLowerCase();
  if ((encoding === 'identity' || encoding === '') && declared > maxBytes) {
    response.destroy();
    return Promise.reject(tooLarge(url, maxBytes, `declares ${declared} bytes`));
  }
  let decoded: Readable;
  try {
    decoded = decoderFor(encoding, response, url);
  } catch (error) {
    response.destroy();
    return Promise.reject(error);
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    // Destroying the response emits 'aborted' synchronously: settle first, so
    // the reason the body was abandoned is the one reported.
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      reject(error);
      response.destroy();
      if (decoded !== response) decoded.destroy();
    };
    decoded.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) {
        fail(tooLarge(url, maxBytes, 'is larger once decoded'));
        return;
      }
      chunks.push(chunk);
    });
    decoded.on('end', () => {
      settled = true;
      resolve(Buffer.concat(chunks, total));
    });
    decoded.on('error', (error) => {
      fail(
        error instanceof FeedFetchError || !(decoded !== response)
          ? error
          : new FeedFetchError(
              'decoding',
              url,
              `Feed ${url} sent a body that is not valid ${encoding}: ${error.message}`,
              undefined,
              { cause: error },
            ),
      );
    });
    if (decoded !== response) response.on('error', fail);
    response.on('aborted', () => fail(new Error('the server closed the connection mid-body')));
  });
}

function decoderFor(encoding: string, response: IncomingMessage, url: string): Readable {
  switch (encoding) {
    case 'identity':
    case '':
      return response;
    case 'gzip':
    case 'x-gzip':
      return response.pipe(zlib.createGunzip());
    case 'br':
      return response.pipe(zlib.createBrotliDecompress());
    case 'deflate':
      // Servers send either zlib-wrapped (the standard) or raw deflate.
      return response.pipe(zlib.createUnzip({ finishFlush: zlib.constants.Z_SYNC_FLUSH }));
    default:
      throw new FeedFetchError(
        'decoding',
        url,
        `Feed ${url} sent an unsupported Content-Encoding: ${encoding}`,
      );
  }
}

function tooLarge(url: string, maxBytes: number, detail: string): FeedFetchError {
  return new FeedFetchError(
    'too-large',
    url,
    `Feed ${url} is larger than the ${maxBytes}-byte limit (the body ${detail})`,
  );
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function contentLocation(value: string | undefined, base: URL): string {
  if (value === undefined) return base.href;
  try {
    const resolved = new URL(value, base);
    return resolved.protocol === 'http:' || resolved.protocol === 'https:'
      ? resolved.href
      : base.href;
  } catch {
    return base.href;
  }
}

/** The freshness lifetime the response declares, from `Cache-Control` or `Expires`. */
function maxAgeSeconds(headers: IncomingHttpHeaders): number | undefined {
  const cacheControl = header(headers, 'cache-control') ?? '';
  const maxAge = /(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*"?(\d+)"?/i.exec(cacheControl)?.[1];
  if (maxAge !== undefined) return Number(maxAge);
  const expires = Date.parse(header(headers, 'expires') ?? '');
  const date = Date.parse(header(headers, 'date') ?? '');
  if (Number.isNaN(expires)) return undefined;
  const base = Number.isNaN(date) ? Date.now() : date;
  return Math.max(0, Math.round((expires - base) / 1000));
}

/** `Retry-After` in milliseconds from now: delay-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  const text = value?.trim() ?? '';
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const STATUS_KINDS: Record<number, FeedFetchErrorKind> = {
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  410: 'gone',
  429: 'rate-limited',
  503: 'unavailable',
};

function statusError(
  url: string,
  finalUrl: string,
  status: number,
  statusText: string | undefined,
  headers: IncomingHttpHeaders,
): FeedFetchError {
  const kind = STATUS_KINDS[status] ?? 'http';
  const retryAfterMs = parseRetryAfter(header(headers, 'retry-after'));
  const via = finalUrl === url ? '' : ` (redirected to ${finalUrl})`;
  const text = statusText ? ` ${statusText}` : '';
  const retry =
    retryAfterMs === undefined ? '' : `; asked to retry after ${Math.round(retryAfterMs / 1000)} s`;
  return new FeedFetchError(
    kind,
    url,
    `Feed ${url}${via} answered HTTP ${status}${text}${retry}`,
    status,
    {
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    },
  );
}

function asFetchError(
  error: unknown,
  url: string,
  currentUrl: string,
  deadline: Deadline,
): FeedFetchError {
  if (error instanceof FeedFetchError) return error;
  if (deadline.expired) return deadline.error();
  if (error instanceof BlockedAddressError) {
    const via = currentUrl === url ? '' : ` redirected to ${currentUrl}`;
    return new FeedFetchError('blocked', url, `Feed ${url}${via}: ${error.message}`, undefined, {
      cause: error,
    });
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return new FeedFetchError(
    'network',
    url,
    `Could not fetch feed ${url}: ${code === undefined ? message : `${code} (${message})`}`,
    undefined,
    { cause: error },
  );
}
